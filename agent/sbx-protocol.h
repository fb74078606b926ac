/* sandboxd guest agent wire protocol, shared by the agent (guest, no GLib)
 * and the host-side client (core/). See docs/protocol.md for the tables.
 *
 * One byte stream (a virtio-serial port) carries many channels. Every message
 * is a frame: a fixed 12-byte little-endian header followed by `length`
 * payload bytes. Channel 0 is the control channel; every other channel is
 * one process, opened by the host with an EXEC frame on an unused id.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <stdint.h>

#define SBX_PROTO_MAGIC 0x50584253u /* "SBXP" little-endian */
#define SBX_PROTO_VERSION 1u

#define SBX_PROTO_HEADER_SIZE 12u
/* a frame's payload is never larger than this, in either direction */
#define SBX_PROTO_MAX_PAYLOAD (64u * 1024u)
/* default and maximum number of open channels per connection */
#define SBX_PROTO_MAX_CHANNELS 1024u
/* the host grants this much stdout/stderr credit up front, per stream */
#define SBX_PROTO_DEFAULT_WINDOW (256u * 1024u)
/* bounds on the contents of an EXEC request (checked on both sides) */
#define SBX_PROTO_MAX_ARGS 4096u
#define SBX_PROTO_MAX_ENV 4096u
#define SBX_PROTO_MAX_STRING (32u * 1024u)
/* IDENTITY: u64 wall clock (microseconds since the epoch), then four
 * u32-length-prefixed fields: entropy bytes (16..512), hostname (1..64, no
 * NUL), machine id (32 lower-case hex), network words (the kernel command
 * line's sbx.ip= sbx.gw= sbx.dns= sbx.mtu= sbx.mac=, may be empty), then u32
 * envc and envc KEY=VALUE strings (the base environment of every process) */
#define SBX_FEATURE_IDENTITY 0x1u /* HELLO_REPLY features: the agent applies IDENTITY */
#define SBX_FEATURE_FS_USER 0x2u  /* HELLO_REPLY features: fs requests take SBX_FS_AS_USER */
#define SBX_IDENTITY_ENTROPY_MIN 16u
#define SBX_IDENTITY_ENTROPY_MAX 512u
#define SBX_IDENTITY_HOSTNAME_MAX 64u
#define SBX_IDENTITY_NET_MAX 1024u
#define SBX_IDENTITY_ENV_MAX 256u

/* header: all fields little-endian */
typedef struct {
	uint16_t type;	  /* SbxMsgType */
	uint16_t flags;	  /* per type; for DATA/EOF/CREDIT the SbxStream */
	uint32_t channel; /* 0 = control */
	uint32_t length;  /* payload bytes following the header */
} SbxFrameHeader;

typedef enum {
	/* control channel (0) */
	SBX_MSG_HELLO = 1,	 /* host->guest: u32 magic, u32 min_version, u32 max_version */
	SBX_MSG_HELLO_REPLY = 2, /* guest->host: u32 magic, u32 version, u32 features, then
				    agent version string (rest of payload, no NUL) */
	SBX_MSG_PING = 3,	 /* either way: opaque payload (<= 64 bytes), echoed as PONG */
	SBX_MSG_PONG = 4,
	SBX_MSG_IDENTITY = 5,	    /* host->guest, after a restore: see SbxIdentity below */
	SBX_MSG_IDENTITY_REPLY = 6, /* guest->host: u32 errno (0 = all applied), message
				       string (rest) */

	/* process channels (!= 0) */
	SBX_MSG_EXEC = 16,	   /* host->guest: SbxExecRequest, opens the channel */
	SBX_MSG_EXEC_STARTED = 17, /* guest->host: u32 pid, u32 stdin_window */
	SBX_MSG_EXEC_FAILED = 18,  /* guest->host: i32 errno, message string (rest);
				      closes the channel */
	SBX_MSG_DATA = 19,	   /* either way: flags = stream, payload = bytes (>= 1) */
	SBX_MSG_EOF = 20,	   /* either way: flags = stream, no payload */
	SBX_MSG_CREDIT = 21,	   /* either way: flags = stream, u32 bytes granted */
	SBX_MSG_SIGNAL = 22,	   /* host->guest: i32 signal, u32 SbxSignalFlags */
	SBX_MSG_EXIT = 23,	   /* guest->host: i32 exit_code, i32 signal, u32 flags;
				      closes the channel (after all DATA/EOF) */

	/* either way, any channel: the peer broke the protocol; the sender
	 * drops the channel (or, on channel 0, the connection). payload: u32 code,
	 * message string (rest) */
	SBX_MSG_ERROR = 32,

	/* process control extensions (48-63) */
	SBX_MSG_RESIZE = 48, /* host->guest, process channel: u32 rows, u32 cols of
				the channel's pseudo-terminal (ignored without one) */

	/* filesystem (64-95), see docs/protocol.md. Requests open a channel.
	 * FS_READ/FS_WRITE are stream channels: the guest answers
	 * EXEC_STARTED (pid 0) or EXEC_FAILED (errno, message = path), then
	 * bytes move as DATA/EOF/CREDIT (file contents on stdout for READ,
	 * from stdin for WRITE) and EXIT ends the channel: exit_code 0 is
	 * success, else it is the errno that failed the operation. The other
	 * requests are answered by exactly one reply frame (80-95), which
	 * closes the channel. A string is u32 length + bytes (no NUL). */
	SBX_MSG_FS_READ = 64,	  /* u32 flags (0), u32 stdout_window, string path */
	SBX_MSG_FS_WRITE = 65,	  /* u32 SbxFsFlags, u32 mode, string path */
	SBX_MSG_FS_STAT = 66,	  /* u32 SbxFsFlags, string path -> FS_STAT_REPLY */
	SBX_MSG_FS_READDIR = 67,  /* u32 flags (0), u32 cookie_lo, u32 cookie_hi, string path
				     -> FS_DIRENTS */
	SBX_MSG_FS_MKDIR = 68,	  /* u32 SbxFsFlags, u32 mode, string path -> FS_OK */
	SBX_MSG_FS_REMOVE = 69,	  /* u32 SbxFsFlags, string path -> FS_OK */
	SBX_MSG_FS_RENAME = 70,	  /* u32 flags (0), string from, string to -> FS_OK */
	SBX_MSG_FS_CHMOD = 71,	  /* u32 flags (0), u32 mode, string path -> FS_OK */
	SBX_MSG_FS_SYMLINK = 72,  /* u32 flags (0), string target, string path -> FS_OK */
	SBX_MSG_FS_LINK = 73,	  /* u32 flags (0), string existing, string path -> FS_OK */
	SBX_MSG_FS_COPY = 74,	  /* u32 flags (0), string from, string to -> FS_OK (a file:
				     contents and mode; an existing "to" is replaced) */
	SBX_MSG_FS_TRUNCATE = 75, /* u32 flags (0), u32 len_lo, u32 len_hi, string path -> FS_OK */
	SBX_MSG_FS_CHOWN = 76,	  /* u32 flags (0), u32 uid, u32 gid, string path -> FS_OK
				     (0xffffffff: unchanged) */
	SBX_MSG_FS_UTIME = 77,	  /* u32 flags (0), u32 atime lo/hi, u32 mtime lo/hi (seconds),
				     string path -> FS_OK */
	SBX_MSG_FS_REALPATH = 78, /* u32 flags (0), string path -> FS_PATH_REPLY */
	SBX_MSG_FS_MKTEMP = 79,	  /* u32 flags (SBX_FS_MKTEMP_DIR), u32 suffix_len, string
				     template ending in XXXXXX + suffix -> FS_PATH_REPLY */
	SBX_MSG_FS_OK = 80,	  /* guest->host: no payload */
	SBX_MSG_FS_ERROR = 81,	  /* guest->host: i32 errno, the failing guest path (rest) */
	SBX_MSG_FS_STAT_REPLY = 82, /* guest->host: SbxFsStat fields, then link target (rest) */
	SBX_MSG_FS_DIRENTS = 83,    /* guest->host: u32 flags (1 = more), u32 cookie_lo,
				       u32 cookie_hi, u32 count, then count entries */
	SBX_MSG_FS_PATH_REPLY = 84, /* guest->host: a path (rest): REALPATH, MKTEMP */

	/* open files, umask, walk and glob (88-111), see docs/protocol.md. Like
	 * the requests above each opens a channel and gets exactly one reply
	 * frame, except WALK and GLOB, which are stream channels like FS_READ:
	 * EXEC_STARTED (pid 0), entries as stdout DATA (SbxFsWalkEntry
	 * records) within the credit, EXIT (exit code 0 or the errno).
	 * A handle is a u32 the agent chose in FILE_OPEN; open files belong to
	 * the connection (at most SBX_FS_MAX_FILES) and close with it. A
	 * handle that is not open is answered FS_ERROR ESTALE. */
	SBX_MSG_FS_FILE_OPEN = 88,     /* u32 SbxFsOpenFlags, u32 mode, string path
					  -> FS_VALUE_REPLY (the handle) */
	SBX_MSG_FS_FILE_READ = 89,     /* u32 handle, u32 length (1..SBX_PROTO_MAX_PAYLOAD)
					  -> FS_DATA_REPLY (empty at EOF) */
	SBX_MSG_FS_FILE_WRITE = 90,    /* u32 handle, bytes (rest) -> FS_VALUE_REPLY (written) */
	SBX_MSG_FS_FILE_SEEK = 91,     /* u32 handle, u32 whence (0 set, 1 cur, 2 end),
					  u32 offset lo/hi (signed) -> FS_VALUE_REPLY (position) */
	SBX_MSG_FS_FILE_STAT = 92,     /* u32 handle -> FS_STAT_REPLY */
	SBX_MSG_FS_FILE_SYNC = 93,     /* u32 handle, u32 flags (SBX_FS_SYNC_DATA) -> FS_OK */
	SBX_MSG_FS_FILE_TRUNCATE = 94, /* u32 handle, u32 len lo/hi -> FS_OK */
	SBX_MSG_FS_FILE_LOCK = 95,     /* u32 handle, u32 SbxFsLockOp -> FS_OK, or FS_ERROR
					  EAGAIN when another holder has it (never waits) */
	SBX_MSG_FS_FILE_UTIME = 96,    /* u32 handle, u32 atime lo/hi, u32 atime nsec,
					  u32 mtime lo/hi, u32 mtime nsec -> FS_OK */
	SBX_MSG_FS_FILE_CLOSE = 97,    /* u32 handle -> FS_OK */
	SBX_MSG_FS_UMASK = 98,	       /* u32 flags (SBX_FS_UMASK_SET), u32 mask (<= 0777)
					  -> FS_VALUE_REPLY (the mask before) */
	SBX_MSG_FS_WALK = 99,	       /* stream: see SbxFsWalk below */
	SBX_MSG_FS_GLOB = 100,	       /* stream: see SbxFsWalk below */
	SBX_MSG_FS_VALUE_REPLY = 104,  /* guest->host: u32 lo, u32 hi */
	SBX_MSG_FS_DATA_REPLY = 105,   /* guest->host: bytes (rest, may be empty) */
	/* network (112-127), see docs/protocol.md. TCP_CONNECT opens a stream
	 * channel like FS_READ: the agent connects from inside the guest (its
	 * network, its policy) and answers EXEC_STARTED (pid 0, stdin window)
	 * once connected or EXEC_FAILED (errno, message). Then stdout DATA is
	 * what the peer sends, stdin DATA goes to the peer, stdin EOF shuts
	 * down the sending side, stdout EOF is the peer's FIN, any SIGNAL
	 * aborts (RST), and EXIT (exit code 0 or the errno that broke the
	 * connection) ends the channel once both directions are closed. */
	SBX_MSG_TCP_CONNECT = 112, /* u32 flags (0), u32 stdout_window, u32 timeout_ms
				      (0 = default), u32 port (1-65535), string host: a
				      numeric IPv4 or IPv6 address (the agent resolves no
				      names) */

	/* reserved ranges, so features developed in parallel never collide:
	 *   48-63   process control extensions (pty, resize, attach, list)
	 *   64-95   filesystem operations
	 *   88-111  open files, umask, walk, glob (96-111 were "volumes and mounts")
	 *   112-127 network and sandbox-wide settings */
} SbxMsgType;

typedef enum {
	SBX_STREAM_STDIN = 0,
	SBX_STREAM_STDOUT = 1,
	SBX_STREAM_STDERR = 2,
} SbxStream;

/* EXEC flags */
typedef enum {
	SBX_EXEC_STDIN_PIPE = 1u << 0,	 /* else stdin is /dev/null */
	SBX_EXEC_STDOUT_PIPE = 1u << 1,	 /* else /dev/null */
	SBX_EXEC_STDERR_PIPE = 1u << 2,	 /* else /dev/null */
	SBX_EXEC_STDERR_MERGE = 1u << 3, /* stderr goes to the stdout stream */
	SBX_EXEC_CLEAR_ENV = 1u << 4,	 /* do not inherit the agent's env */
	SBX_EXEC_SET_USER = 1u << 5,	 /* uid/gid fields are valid */
	SBX_EXEC_TIMEOUT = 1u << 6,	 /* timeout_ms is valid */
	SBX_EXEC_PTY = 1u << 7,		 /* a pseudo-terminal is stdin/stdout/stderr;
					    trailer: u32 rows, u32 cols */
	SBX_EXEC_USER_NAME = 1u << 8,	 /* trailer: user name string, resolved in
					    the guest's /etc/passwd (wins over uid/gid) */
} SbxExecFlags;

/* EXIT flags */
typedef enum {
	SBX_EXIT_TIMED_OUT = 1u << 0, /* the agent killed the group at timeout */
} SbxExitFlags;

/* SIGNAL flags */
typedef enum {
	SBX_SIGNAL_GROUP = 1u << 0, /* send to the whole process group */
} SbxSignalFlags;

/* EXEC payload, in order, all integers little-endian u32 unless stated:
 *   flags (SbxExecFlags)
 *   stdout_window      initial credit for stdout (and stderr when merged)
 *   stderr_window      initial credit for stderr
 *   uid, gid           used when SBX_EXEC_SET_USER
 *   timeout_ms         used when SBX_EXEC_TIMEOUT
 *   argc, then argc strings     (argc >= 1, <= SBX_PROTO_MAX_ARGS)
 *   envc, then envc strings     ("KEY=VALUE", <= SBX_PROTO_MAX_ENV)
 *   cwd string                  (empty = agent default, "/")
 *   rows, cols                  only with SBX_EXEC_PTY (0 = kernel default)
 *   user string                 only with SBX_EXEC_USER_NAME (non-empty)
 * A string is u32 length then that many bytes, no NUL inside, length <=
 * SBX_PROTO_MAX_STRING. The whole payload fits in SBX_PROTO_MAX_PAYLOAD.
 */

/* header flags of a filesystem request (64-79, 88-100): with
 * SBX_FS_AS_USER the payload starts with a string, the guest user (name or
 * decimal uid, 1..SBX_FS_USER_MAX bytes) the request acts as: the agent
 * resolves it in the guest's /etc/passwd and /etc/group and runs the
 * request with that fsuid, fsgid and supplementary groups, so permission
 * checks and the owner of created files are the user's. The request's own
 * payload follows. Without the flag the request acts as root. An unknown
 * user is answered like a failed request: errno ENOENT, the user name as
 * the path. Only agents with SBX_FEATURE_FS_USER accept the flag. */
#define SBX_FS_AS_USER 0x1u
#define SBX_FS_USER_MAX 64u

/* FS request flags */
typedef enum {
	SBX_FS_PARENTS = 1u << 0,    /* WRITE, MKDIR: create missing parents (mkdir -p) */
	SBX_FS_APPEND = 1u << 1,     /* WRITE: append in place instead of replacing */
	SBX_FS_MODE = 1u << 2,	     /* WRITE: mode is valid (else 0644, or kept) */
	SBX_FS_NOFOLLOW = 1u << 3,   /* STAT: do not follow a final symlink (lstat) */
	SBX_FS_RECURSIVE = 1u << 4,  /* REMOVE: a directory and everything below it */
	SBX_FS_MKTEMP_DIR = 1u << 6, /* MKTEMP: a directory (no suffix), else a file (0600) */
	SBX_FS_EXCLUSIVE = 1u << 5,  /* WRITE: fail with EEXIST if the file exists */
} SbxFsFlags;
#define SBX_FS_FLAGS_ALL 0x3fu

/* file types in FS_STAT_REPLY and FS_DIRENTS */
typedef enum {
	SBX_FS_TYPE_UNKNOWN = 0,
	SBX_FS_TYPE_FILE = 1,
	SBX_FS_TYPE_DIRECTORY = 2,
	SBX_FS_TYPE_SYMLINK = 3,
	SBX_FS_TYPE_OTHER = 4, /* fifo, socket, device */
} SbxFsType;

/* FS_STAT_REPLY: u32 type, u32 mode (permission and special bits, 07777),
 * u32 uid, u32 gid, u32 nlink, u32 size_lo, u32 size_hi, then for mtime,
 * atime and ctime each: u32 sec_lo, u32 sec_hi (signed 64), u32 nsec;
 * then the symlink target (rest, empty unless type is SYMLINK).
 * FS_DIRENTS entry: u32 type, u32 mode, u32 size_lo, u32 size_hi,
 * u32 mtime_lo, u32 mtime_hi, u32 name length, name bytes (1-255, no '/'
 * or NUL). The guest lstat()s each entry (a symlink is reported as one).
 * A DIRENTS reply with the "more" flag is continued by another READDIR
 * with the returned cookie on a new channel. */
#define SBX_FS_STAT_FIXED 64u
#define SBX_FS_DIRENT_FIXED 28u
#define SBX_FS_MAX_PATH 4095u /* bytes (PATH_MAX without the NUL) */
#define SBX_FS_MAX_NAME 255u
#define SBX_FS_MORE 1u

/* FILE_OPEN flags (Deno.OpenOptions) */
typedef enum {
	SBX_FS_OPEN_READ = 1u << 0,
	SBX_FS_OPEN_WRITE = 1u << 1,
	SBX_FS_OPEN_APPEND = 1u << 2,	  /* implies WRITE */
	SBX_FS_OPEN_TRUNCATE = 1u << 3,	  /* needs WRITE */
	SBX_FS_OPEN_CREATE = 1u << 4,	  /* needs WRITE or APPEND */
	SBX_FS_OPEN_CREATE_NEW = 1u << 5, /* fails with EEXIST; needs WRITE or APPEND */
} SbxFsOpenFlags;
#define SBX_FS_OPEN_ALL 0x3fu
#define SBX_FS_MAX_FILES 256u /* open files per connection */
#define SBX_FS_SYNC_DATA 1u   /* FILE_SYNC: fdatasync */
#define SBX_FS_UMASK_SET 1u   /* UMASK: set @mask, else only read it */

typedef enum {
	SBX_FS_LOCK_UNLOCK = 0,
	SBX_FS_LOCK_SHARED = 1,
	SBX_FS_LOCK_EXCLUSIVE = 2,
} SbxFsLockOp;

/* WALK payload: u32 SbxFsWalkFlags, u32 stdout_window, u32 max_depth, u32
 * max_entries, string root, then three lists, each u32 count and count
 * items: match and skip (u32 SbxFsPatternFlags, string POSIX extended
 * regex, searched in the whole path) and exts (string suffixes).
 * GLOB payload: u32 SbxFsWalkFlags, u32 stdout_window, u32 max_depth, u32
 * max_entries, string absolute glob, then u32 count and that many absolute
 * exclude globs. Glob segments: fnmatch(3) patterns, "**" any number of
 * directories (SBX_FS_WALK_GLOBSTAR), "..". Bounds: SBX_FS_WALK_MAX_PATTERNS
 * patterns, depth <= SBX_FS_WALK_MAX_DEPTH, max_entries
 * <= SBX_FS_WALK_MAX_ENTRIES (more: the stream ends with EXIT E2BIG).
 * An entry record on stdout: u32 SbxFsType, u32 path length, path bytes. */
typedef enum {
	SBX_FS_WALK_FILES = 1u << 0,
	SBX_FS_WALK_DIRS = 1u << 1,
	SBX_FS_WALK_SYMLINKS = 1u << 2,
	SBX_FS_WALK_FOLLOW = 1u << 3,	    /* follow symlinks (loops are cut) */
	SBX_FS_WALK_CANONICALIZE = 1u << 4, /* followed paths are real paths */
	SBX_FS_WALK_GLOBSTAR = 1u << 5,	    /* GLOB: "**" crosses directories */
	SBX_FS_WALK_CASEFOLD = 1u << 6,	    /* GLOB: case-insensitive */
	SBX_FS_WALK_EXTENDED = 1u << 7,	    /* GLOB: extglob ?(a|b) *(..) +(..) @(..) !(..) */
} SbxFsWalkFlags;
#define SBX_FS_WALK_FLAGS_ALL 0xffu
#define SBX_FS_PATTERN_ICASE 1u
#define SBX_FS_WALK_MAX_PATTERNS 64u
#define SBX_FS_WALK_MAX_DEPTH 256u
#define SBX_FS_WALK_MAX_ENTRIES 1000000u
#define SBX_FS_WALK_ENTRY_FIXED 8u
/* TCP_CONNECT bounds */
#define SBX_TCP_MAX_HOST 63u		  /* bytes of the numeric address */
#define SBX_TCP_DEFAULT_TIMEOUT_MS 10000u /* when the request says 0 */
#define SBX_TCP_MAX_TIMEOUT_MS 120000u
#define SBX_TCP_MAX_CONNECTIONS 256u /* open TCP channels per agent */

/* ERROR codes */
typedef enum {
	SBX_PROTO_ERR_MALFORMED = 1,
	SBX_PROTO_ERR_UNKNOWN_CHANNEL = 2,
	SBX_PROTO_ERR_UNEXPECTED = 3,
	SBX_PROTO_ERR_CREDIT = 4,
	SBX_PROTO_ERR_TOO_MANY_CHANNELS = 5,
	SBX_PROTO_ERR_VERSION = 6,
} SbxProtoErrorCode;

/* virtio-serial port name the agent opens (/dev/virtio-ports/<name>) */
#define SBX_AGENT_PORT_NAME "org.sandboxd.agent.0"

static inline void
sbx_proto_put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v & 0xff);
	p[1] = (uint8_t)(v >> 8);
}

static inline void
sbx_proto_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v & 0xff);
	p[1] = (uint8_t)((v >> 8) & 0xff);
	p[2] = (uint8_t)((v >> 16) & 0xff);
	p[3] = (uint8_t)(v >> 24);
}

static inline uint16_t
sbx_proto_get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t
sbx_proto_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static inline void
sbx_proto_header_encode(uint8_t out[SBX_PROTO_HEADER_SIZE], const SbxFrameHeader *h)
{
	sbx_proto_put_u16(out, h->type);
	sbx_proto_put_u16(out + 2, h->flags);
	sbx_proto_put_u32(out + 4, h->channel);
	sbx_proto_put_u32(out + 8, h->length);
}

static inline void
sbx_proto_header_decode(const uint8_t in[SBX_PROTO_HEADER_SIZE], SbxFrameHeader *h)
{
	h->type = sbx_proto_get_u16(in);
	h->flags = sbx_proto_get_u16(in + 2);
	h->channel = sbx_proto_get_u32(in + 4);
	h->length = sbx_proto_get_u32(in + 8);
}
