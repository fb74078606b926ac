/* sandboxd guest agent: internal declarations (no GLib: this runs as PID 1
 * in a minimal initramfs and is linked statically).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sbx-protocol.h"

#define SBX_AGENT_VERSION "0.1.0"

/* stdin credit the agent grants per channel, and the size of its buffer */
#define SBX_AGENT_STDIN_WINDOW (256u * 1024u)
/* stop reading child pipes while this much is queued towards the host */
#define SBX_AGENT_OUT_HIGH_WATER (256u * 1024u)
/* stop reading host frames while this much is queued towards the host */
#define SBX_AGENT_OUT_HARD_LIMIT (1024u * 1024u)
/* closed channel ids remembered so late frames for them are not errors */
#define SBX_AGENT_CLOSED_RING 256u

/* growable byte queue */
typedef struct {
	uint8_t *data;
	size_t start;
	size_t len;
	size_t cap;
} SbxBuf;

void sbx_buf_init(SbxBuf *b);
void sbx_buf_clear(SbxBuf *b);
void sbx_buf_free(SbxBuf *b);
/* returns a pointer to @n writable bytes at the tail; commit with sbx_buf_commit() */
uint8_t *sbx_buf_reserve(SbxBuf *b, size_t n);
void sbx_buf_commit(SbxBuf *b, size_t n);
void sbx_buf_append(SbxBuf *b, const void *p, size_t n);
void sbx_buf_consume(SbxBuf *b, size_t n);
static inline uint8_t *
sbx_buf_head(SbxBuf *b)
{
	return b->data + b->start;
}

typedef struct SbxConn SbxConn;

/* one process channel */
typedef struct SbxChannel {
	struct SbxChannel *next;
	uint32_t id;
	pid_t pid; /* also the process group id (setsid) */
	bool reaped;
	int status; /* waitpid() status once reaped */
	bool timed_out;
	bool has_deadline;
	uint64_t deadline_ms; /* CLOCK_MONOTONIC */

	int stdin_fd; /* -1 once closed */
	bool stdin_piped;
	bool stdin_eof;		  /* host sent EOF */
	bool stdin_broken;	  /* the child closed its end: discard input */
	uint64_t stdin_credit;	  /* bytes the host may still send */
	uint32_t stdin_ungranted; /* written to the child, not yet re-granted */
	SbxBuf stdin_buf;

	int pty_fd; /* the pseudo-terminal master (borrowed from out_fd[1]) or -1 */

	int out_fd[3]; /* index by SbxStream; [0] unused; -1 once at EOF */
	bool out_piped[3];
	uint64_t out_credit[3];

	struct SbxFsStream *fs; /* a file stream (sbx-agent-fs.c), no process: pid 0 */
	struct SbxTcp *tcp;	/* a TCP connection (sbx-agent-tcp.c), no process: pid 0 */
} SbxChannel;

struct SbxConn {
	int fd;
	bool virtio; /* a virtio-serial port: cannot be closed, only reset */
	bool connected;
	bool hello_done;
	const struct SbxUser *fs_user; /* the user the current fs request acts as, or NULL (root) */
	bool resync;		       /* discarding input until a HELLO frame */
	SbxBuf in;
	SbxBuf out;
	SbxChannel *channels;
	unsigned n_channels;
	uint32_t closed_ring[SBX_AGENT_CLOSED_RING];
	unsigned closed_pos;
	unsigned closed_count;
	struct SbxFileTable *files; /* sbx-agent-file.c, NULL until a file is opened */
};

/* logging (stderr, which is the console in the guest) */
extern bool sbx_agent_verbose;
void sbx_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sbx_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t sbx_now_ms(void);

/* sbx-agent-conn.c */
void sbx_conn_init(SbxConn *c, int fd, bool virtio);
void sbx_conn_reset(SbxConn *c); /* drop every channel and all buffered bytes */
void sbx_conn_send(SbxConn *c, uint16_t type, uint16_t flags, uint32_t channel, const void *payload,
		   uint32_t len);
void sbx_conn_send_error(SbxConn *c, uint32_t channel, uint32_t code, const char *msg);
/* reads what is available; returns false when the peer hung up */
bool sbx_conn_read(SbxConn *c);
/* writes what it can; returns false on a fatal write error (peer gone) */
bool sbx_conn_flush(SbxConn *c);
void sbx_conn_remember_closed(SbxConn *c, uint32_t id);

/* sbx-agent-dispatch.c */
void sbx_dispatch_frames(SbxConn *c);

/* sbx-agent-exec.c */
typedef struct {
	uint32_t flags;
	uint32_t stdout_window;
	uint32_t stderr_window;
	uint32_t uid;
	uint32_t gid;
	uint32_t timeout_ms;
	char **argv; /* NULL-terminated */
	char **envp; /* NULL-terminated, final environment */
	char *cwd;
	uint32_t rows, cols; /* SBX_EXEC_PTY */
	char *user;	     /* SBX_EXEC_USER_NAME */
} SbxExecSpec;

/* parses an EXEC payload; on failure returns false and sets *why */
bool sbx_exec_spec_parse(const uint8_t *p, uint32_t len, SbxExecSpec *spec, const char **why);
void sbx_exec_spec_free(SbxExecSpec *spec);

/* sbx-agent-proc.c */
SbxChannel *sbx_channel_find(SbxConn *c, uint32_t id);
/* starts the process; replies EXEC_STARTED or EXEC_FAILED */
void sbx_channel_exec(SbxConn *c, uint32_t id, SbxExecSpec *spec);
/* EXEC_FAILED: "@what[ @arg]: strerror(@err)"; the id counts as closed */
void sbx_channel_send_failed(SbxConn *c, uint32_t id, int err, const char *what, const char *arg);
/* kills the process group and forgets the channel (no EXIT sent) */
void sbx_channel_drop(SbxConn *c, SbxChannel *ch);
void sbx_channel_stdin_data(SbxConn *c, SbxChannel *ch, const uint8_t *p, uint32_t len);
void sbx_channel_stdin_eof(SbxConn *c, SbxChannel *ch);
void sbx_channel_signal(SbxChannel *ch, int sig, uint32_t flags);
/* writes buffered stdin to the child and grants the host more credit */
void sbx_channel_pump_in(SbxConn *c, SbxChannel *ch);
/* reads one chunk of @stream within the credit; returns true if it got data */
bool sbx_channel_pump_out(SbxConn *c, SbxChannel *ch, int stream);
/* reaps every exited child, matching them to channels */
void sbx_proc_reap(SbxConn *c);
/* handles timeouts; returns ms until the next deadline, or -1 */
int sbx_proc_timeouts(SbxConn *c);
/* sends EXIT for channels that are finished and frees them */
void sbx_proc_finish(SbxConn *c);

/* sbx-agent-pty.c */
/* a new pseudo-terminal pair (both O_CLOEXEC, the master non-blocking) of
 * @rows x @cols (0 = leave the default); false with errno set */
bool sbx_pty_open(int *master, int *slave, uint32_t rows, uint32_t cols);
void sbx_pty_resize(int master, uint32_t rows, uint32_t cols);
/* in the child, after setsid(): makes fd 0 the controlling terminal */
bool sbx_pty_make_controlling(void);

/* sbx-agent-user.c */
typedef struct SbxUser {
	uint32_t uid;
	uint32_t gid;
	char home[256];
	char name[64];
	uint32_t groups[32]; /* supplementary groups from /etc/group */
	size_t n_groups;
} SbxUser;
/* looks @name (or a decimal uid) up in @root/etc/passwd and /etc/group;
 * false with errno ENOENT when there is no such user */
bool sbx_user_lookup(const char *name, SbxUser *user);
/* the agent's fs identity while a request acts as a user */
typedef struct {
	uint32_t uid; /* fsuid, fsgid and groups before */
	uint32_t gid;
	uint32_t groups[64];
	size_t n_groups;
} SbxUserScope;
/* acts as @user for file access (setfsuid, setfsgid, setgroups): 0, or
 * the errno with nothing changed. setgroups() is process-wide, which is
 * fine: fs requests run one at a time on the agent's only thread. */
int sbx_user_act_as(const SbxUser *user, SbxUserScope *scope);
/* back to the identity saved in @scope */
void sbx_user_act_restore(const SbxUserScope *scope);

/* sbx-agent-limits.c */
/* PID 1: oom_score_adj -1000 and a higher priority for the agent, a cgroup
 * (pids.max, memory.max) for everything it spawns; knobs from the kernel
 * command line: sbx.pids_max=N, sbx.mem_reserve_mib=N, sbx.child_nice=N */
void sbx_limits_setup(const char *cmdline);
/* in a child before exec: join the cgroup, undo the agent's privileges */
void sbx_limits_child(void);

/* sbx-agent-fs.c: requests 64-95 (docs/protocol.md) */
typedef struct SbxFsStream SbxFsStream;
typedef struct {
	const uint8_t *p;
	uint32_t len;
	uint32_t pos;
} SbxFsReader;
struct stat;
bool sbx_fs_reader_u32(SbxFsReader *r, uint32_t *v);
/* an absolute path string, or NULL: *err is the errno to answer, 0 when
 * the payload is malformed */
char *sbx_fs_reader_path(SbxFsReader *r, int *err);
void sbx_fs_send_error(SbxConn *c, uint32_t id, int err, const char *path);
void sbx_fs_send_ok(SbxConn *c, uint32_t id);
void sbx_fs_send_stream_failed(SbxConn *c, uint32_t id, int err, const char *path);
/* FS_STAT_REPLY's SBX_FS_STAT_FIXED bytes; the SbxFsType of a mode */
void sbx_fs_stat_encode(const struct stat *st, uint8_t *p);
uint32_t sbx_fs_type_of(mode_t mode);
/* a filesystem request on a channel that is not open */
void sbx_fs_request(SbxConn *c, const SbxFrameHeader *h, const uint8_t *p);
/* stdin DATA/EOF and SIGNAL on a stream channel (ch->fs != NULL) */
void sbx_fs_stream_data(SbxConn *c, SbxChannel *ch, const uint8_t *p, uint32_t len);
void sbx_fs_stream_eof(SbxConn *c, SbxChannel *ch);
void sbx_fs_stream_signal(SbxConn *c, SbxChannel *ch, int sig);
void sbx_fs_stream_free(SbxFsStream *fs);

/* sbx-agent-file.c: open files, umask, walk and glob (88-111) */
void sbx_file_request(SbxConn *c, const SbxFrameHeader *h, const uint8_t *p);
/* closes every open file of the connection (it dropped, or a new HELLO) */
void sbx_file_close_all(SbxConn *c);
/* sbx-agent-walk.c: WALK and GLOB, answered as a stream channel */
void sbx_walk_request(SbxConn *c, const SbxFrameHeader *h, SbxFsReader *r);
/* sbx-agent-tcp.c: TCP_CONNECT (112), docs/protocol.md */
typedef struct SbxTcp SbxTcp;
/* a TCP_CONNECT on a channel that is not open */
void sbx_tcp_request(SbxConn *c, const SbxFrameHeader *h, const uint8_t *p);
/* the socket to poll for POLLOUT while connecting, else -1 */
int sbx_tcp_connecting_fd(SbxChannel *ch);
/* it polled writable: connected (EXEC_STARTED) or failed (channel dropped) */
void sbx_tcp_connect_ready(SbxConn *c, SbxChannel *ch);
/* fails connects past their deadline; returns ms until the next one, or -1 */
int sbx_tcp_timeouts(SbxConn *c);
/* marks connections closed both ways as finished (EXIT follows) */
void sbx_tcp_finish(SbxConn *c);
/* SIGNAL on a connection: reset it */
void sbx_tcp_abort(SbxConn *c, SbxChannel *ch, int sig);
void sbx_tcp_free(SbxTcp *tcp);

/* sbx-agent-loop.c */
typedef struct {
	int sigfd;
	bool pid1;
	bool stop;
} SbxLoop;
/* serves one connection until it hangs up (or a stop signal) */
void sbx_loop_serve(SbxLoop *loop, SbxConn *c);
void sbx_loop_handle_signals(SbxLoop *loop, SbxConn *c);

/* sbx-agent-vsock.c */
/* sbx.transport=vsock:PORT: 1 and *port, 0 when absent (or virtio-serial), -1 when malformed */
int sbx_vsock_parse_transport(const char *cmdline, unsigned *port);
int sbx_vsock_listen(unsigned port); /* a listening AF_VSOCK socket on any CID, or -1 */

/* sbx-agent-init.c */
/* mounts, hostname, modules, sbx.root= switch; < 0 when the root cannot be mounted */
int sbx_init_pid1(void);
int sbx_init_open_port(void); /* finds and opens the virtio-serial port */
/* the kernel command line (read once), and one KEY=VALUE of it */
const char *sbx_init_cmdline(void);
bool sbx_cmdline_get(const char *cmdline, const char *key, char *out, size_t size);
/* sbx.ip= sbx.gw= sbx.dns= sbx.mtu=: the first ethernet interface, a default
 * route and /etc/resolv.conf; nothing without sbx.ip */
void sbx_net_setup(const char *cmdline);

/* IDENTITY: a restored clone's entropy, clock, names, network and env */
void sbx_identity_apply(SbxConn *c, const uint8_t *payload, uint32_t len);
extern char **sbx_identity_env;
extern size_t sbx_identity_envc;
/* sbx-agent-vol.c: mounts sbx.vol= volumes (formatting blank ones); -1 on failure */
int sbx_vol_setup(const char *cmdline);
/* the block device name (vdX) of volume @key under @root ("" in the guest;
 * a copy of sysfs in tests), waiting up to @wait_ms; @n_vhost: how many @N
 * keys the command line has */
bool sbx_vol_find_disk(const char *root, const char *key, unsigned n_vhost, long wait_ms,
		       char *name, size_t size);
