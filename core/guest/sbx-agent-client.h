/* host side of the guest agent protocol (agent/sbx-protocol.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "sbx-proto.h"

G_BEGIN_DECLS

#define SBX_TYPE_AGENT_CLIENT (sbx_agent_client_get_type())
G_DECLARE_FINAL_TYPE(SbxAgentClient, sbx_agent_client, SBX, AGENT_CLIENT, GObject)

/* what to run; plain data owned by the caller */
typedef struct {
	const gchar *const *argv; /* NULL-terminated, at least one element */
	const gchar *const *envp; /* "KEY=VALUE", NULL-terminated, may be NULL */
	const gchar *cwd;	  /* absolute guest path or NULL */
	gboolean clear_env;
	gint uid;	  /* -1 = agent's own */
	gint gid;	  /* -1 = agent's own */
	guint timeout_ms; /* 0 = none */
	/* process control extensions; zero = off */
	gboolean merge_stderr; /* stderr goes to the stdout fd (stderr_fd ignored) */
	gboolean pty;	       /* a pseudo-terminal in the guest: stdin and stdout
				  through it, stderr merged; give a stdout fd */
	guint rows;	       /* initial terminal size with @pty, 0 = default */
	guint cols;
	const gchar *user; /* a user name (or uid) resolved in the guest's
			      /etc/passwd; overrides uid/gid; NULL = none */
} SbxExecParams;

typedef struct {
	gint exit_code; /* -1 when killed by a signal */
	gint signal;	/* 0 unless killed by a signal */
	gboolean timed_out;
} SbxExecResult;

/* Errors (all in SBX_ERROR unless noted), for the handshake, every exec and
 * the "closed" signal:
 *   SBX_ERROR_SANDBOX_GONE   the agent hung up or the socket failed
 *   SBX_ERROR_PROTOCOL       the guest broke the protocol; the connection is closed
 *   SBX_ERROR_AGENT          the agent sent ERROR (on channel 0: connection closed;
 *                            on a process channel: only that exec fails)
 *   SBX_ERROR_TIMEOUT        no HELLO_REPLY within the handshake timeout (closes)
 *   SBX_ERROR_NOT_RUNNING    exec before the handshake completed
 *   SBX_ERROR_LIMIT_EXCEEDED SBX_PROTO_MAX_CHANNELS commands already open
 *   SBX_ERROR_INVALID_ARGUMENT bad SbxExecParams (empty argv, too many/long
 *                            strings, relative cwd, env not KEY=VALUE, uid
 *                            without gid) or an unusable fd
 *   SBX_ERROR_NOT_FOUND / SBX_ERROR_ACCESS_DENIED / SBX_ERROR_AGENT
 *                            EXEC_FAILED with ENOENT / EACCES,EPERM / other errno
 *   G_IO_ERROR_CANCELLED     the caller's cancellable fired
 * After close every call fails at once with a copy of the close reason.
 * Tasks complete from an idle callback on the main context that created the
 * client, never from inside a call. Call sbx_agent_client_close() before
 * dropping the last reference: a pending read keeps the object alive.
 * Creating the first client sets SIGPIPE to SIG_IGN if it was SIG_DFL, so
 * writing to a pipe whose reader left fails with EPIPE. */

/* takes a reference on @stream (a connected agent socket); starts reading
 * only once sbx_agent_client_handshake_async() is called */
SbxAgentClient *sbx_agent_client_new(GIOStream *stream, const gchar *sandbox_id);

/* sends HELLO and waits for HELLO_REPLY; fails after @timeout_ms (0 = no
 * timeout). A timeout or cancellation closes the connection. */
void sbx_agent_client_handshake_async(SbxAgentClient *self, guint timeout_ms,
				      GCancellable *cancellable, GAsyncReadyCallback callback,
				      gpointer user_data);
gboolean sbx_agent_client_handshake_finish(SbxAgentClient *self, GAsyncResult *res, GError **error);
guint32 sbx_agent_client_get_features(SbxAgentClient *self);
void sbx_agent_client_set_identity_async(SbxAgentClient *self, const SbxProtoIdentity *identity,
					 GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_agent_client_set_identity_finish(SbxAgentClient *self, GAsyncResult *res,
					      GError **error);
const gchar *sbx_agent_client_get_agent_version(SbxAgentClient *self);

/* runs a process; bytes are pumped between the fds and the guest without
 * blocking the main loop. The fds are borrowed: the client dups what it
 * keeps; -1 means /dev/null on that stream. Completes when the process has
 * exited and all its output has been written to the fds. Cancelling sends
 * SIGKILL to the process group and completes with G_IO_ERROR_CANCELLED.
 *
 * Details: pipes, fifos and ttys are reopened through /proc/self/fd/N so
 * O_NONBLOCK is set on a private file description, never on the caller's;
 * sockets are dup'ed and used with MSG_DONTWAIT; files are dup'ed. Our
 * copy of an output fd is closed as soon as the guest sends EOF on that
 * stream (and everything was written), so a reader sees EOF then. CREDIT
 * goes back to the guest only for bytes written to the fd, so a slow reader
 * throttles the process (at most SBX_PROTO_DEFAULT_WINDOW buffered per
 * stream). If an output fd fails (EPIPE: its reader left), that stream's
 * output is discarded from then on (credit still granted, so the guest
 * never stalls) and, for EPIPE, SIGPIPE is sent to the process group once,
 * like a local pipeline. On cancel the exec completes at once; the channel
 * stays open, discarding output, until the guest reports EXIT. If the
 * connection closes after EXIT arrived but before all output was written,
 * the exec still finishes writing and succeeds. */
void sbx_agent_client_exec_async(SbxAgentClient *self, const SbxExecParams *params, gint stdin_fd,
				 gint stdout_fd, gint stderr_fd, GCancellable *cancellable,
				 GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_agent_client_exec_finish(SbxAgentClient *self, GAsyncResult *res,
				      SbxExecResult *result, GError **error);

/* called once the guest started the process (EXEC_STARTED), with its
 * guest pid; never called when the exec fails before that */
typedef void (*SbxExecStartedFunc)(guint32 pid, gpointer user_data);

/* sbx_agent_client_exec_async() that also returns a handle for
 * sbx_agent_client_signal() and sbx_agent_client_resize(): the channel id
 * (never reused while the client lives, in practice), or 0 when the task
 * already failed. @started runs on the client's main context. */
guint32 sbx_agent_client_spawn_async(SbxAgentClient *self, const SbxExecParams *params,
				     gint stdin_fd, gint stdout_fd, gint stderr_fd,
				     SbxExecStartedFunc started, gpointer started_data,
				     GCancellable *cancellable, GAsyncReadyCallback callback,
				     gpointer user_data);
/* queues SIGNAL for a running process (@group: its whole process group);
 * SBX_ERROR_NOT_FOUND when the channel is closed (the process exited),
 * SBX_ERROR_INVALID_ARGUMENT for a bad signal number,
 * SBX_ERROR_LIMIT_EXCEEDED when too many signals are queued */
gboolean sbx_agent_client_signal(SbxAgentClient *self, guint32 channel, gint signum, gboolean group,
				 GError **error);
/* queues SIGNAL (@signum, to the process group) for every running process
 * channel, not filesystem ones; returns how many */
guint sbx_agent_client_signal_all(SbxAgentClient *self, gint signum);
/* queues RESIZE for a process with a pseudo-terminal (latest size wins) */
gboolean sbx_agent_client_resize(SbxAgentClient *self, guint32 channel, guint rows, guint cols,
				 GError **error);

/* filesystem channels (docs/protocol.md, types 64-95; typed wrappers in
 * sbx-agent-fs.h). A request gets exactly one reply frame: */
typedef struct {
	guint16 type;	 /* SBX_MSG_FS_OK, _FS_ERROR, _FS_STAT_REPLY or _FS_DIRENTS */
	GBytes *payload; /* unvalidated: parse with sbx-agent-fs.h */
} SbxAgentReply;
void sbx_agent_exec_reply_free(SbxAgentReply *reply);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxAgentReply, sbx_agent_exec_reply_free)

/* sends request @type (FS_STAT ... FS_CHMOD) with @payload on a new channel
 * and completes with the reply; @path names it in errors. Errors as for
 * exec (closed connection, limits, cancellation: the reply is then dropped).
 * @user (NULL or "" = root): the guest user the request acts as
 * (SBX_FS_AS_USER); SBX_ERROR_NOT_SUPPORTED from an agent without it. */
void sbx_agent_client_fs_request_async(SbxAgentClient *self, guint16 type, GBytes *payload,
				       const gchar *user, const gchar *path,
				       GCancellable *cancellable, GAsyncReadyCallback callback,
				       gpointer user_data);
SbxAgentReply *sbx_agent_client_fs_request_finish(SbxAgentClient *self, GAsyncResult *res,
						  GError **error);
/* FS_READ (file -> @stdout_fd) or FS_WRITE (@stdin_fd -> file) with
 * @payload: the same fd handling and flow control as exec. Fails with the
 * named error for the guest errno (sbx_error_code_from_errno) about @path,
 * whether the file could not be opened or the transfer failed later;
 * cancelling aborts (a partial write is discarded by the guest). */
void sbx_agent_client_fs_stream_async(SbxAgentClient *self, guint16 type, GBytes *payload,
				      const gchar *user, const gchar *path, gint stdin_fd,
				      gint stdout_fd, GCancellable *cancellable,
				      GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_agent_client_fs_stream_finish(SbxAgentClient *self, GAsyncResult *res, GError **error);

/* TCP_CONNECT (docs/protocol.md, type 112): the guest connects to @host
 * (a numeric IPv4 or IPv6 address: the agent resolves no names) port
 * @port from inside its own network, within @timeout_ms (0 = the agent's
 * default), and relays the connection to @fd (borrowed, dup'ed: a socket,
 * read and written). @started runs once connected. Our end of @fd is shut
 * down for writing when the peer sends its FIN; EOF read from @fd sends
 * ours. Completes once both ways are closed. Fails with the named error
 * for the guest errno about "host:port" (ConnectionRefused, Unreachable,
 * Timeout, LimitExceeded for too many connections, InvalidArgument for a
 * name), or SBX_ERROR_FAILED when the connection was reset; cancelling
 * resets it. */
void sbx_agent_client_tcp_connect_async(SbxAgentClient *self, const gchar *host, guint16 port,
					guint timeout_ms, gint fd, SbxExecStartedFunc started,
					gpointer started_data, GCancellable *cancellable,
					GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_agent_client_tcp_connect_finish(SbxAgentClient *self, GAsyncResult *res,
					     GError **error);

/* closes the connection: every pending operation fails with @reason
 * (copied); emits "closed" once */
void sbx_agent_client_close(SbxAgentClient *self, const GError *reason);
gboolean sbx_agent_client_is_closed(SbxAgentClient *self);

/* signal "closed" (const GError *reason): the connection ended, because the
 * peer hung up, broke the protocol, or sbx_agent_client_close() was called */

G_END_DECLS
