/* host side of the guest agent protocol (agent/sbx-protocol.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define SBX_TYPE_AGENT_CLIENT (sbx_agent_client_get_type())
G_DECLARE_FINAL_TYPE(SbxAgentClient, sbx_agent_client, SBX, AGENT_CLIENT, GObject)

/* what to run; plain data owned by the caller */
typedef struct {
	const gchar *const *argv; /* NULL-terminated, at least one element */
	const gchar *const *envp; /* "KEY=VALUE", NULL-terminated, may be NULL */
	const gchar *cwd;	  /* absolute guest path or NULL */
	gboolean clear_env;
	gint uid; /* -1 = agent's own */
	gint gid; /* -1 = agent's own */
	guint timeout_ms; /* 0 = none */
} SbxExecParams;

typedef struct {
	gint exit_code;	  /* -1 when killed by a signal */
	gint signal;	  /* 0 unless killed by a signal */
	gboolean timed_out;
} SbxExecResult;

/* takes a reference on @stream (a connected agent socket); starts reading
 * only once sbx_agent_client_handshake_async() is called */
SbxAgentClient *sbx_agent_client_new(GIOStream *stream, const gchar *sandbox_id);

/* sends HELLO and waits for HELLO_REPLY; fails after @timeout_ms */
void sbx_agent_client_handshake_async(SbxAgentClient *self, guint timeout_ms,
				      GCancellable *cancellable, GAsyncReadyCallback callback,
				      gpointer user_data);
gboolean sbx_agent_client_handshake_finish(SbxAgentClient *self, GAsyncResult *res,
					   GError **error);
const gchar *sbx_agent_client_get_agent_version(SbxAgentClient *self);

/* runs a process; bytes are pumped between the fds and the guest without
 * blocking the main loop. The fds are borrowed: the client dups what it
 * keeps; -1 means /dev/null on that stream. Completes when the process has
 * exited and all its output has been written to the fds. Cancelling sends
 * SIGKILL to the process group and completes with G_IO_ERROR_CANCELLED. */
void sbx_agent_client_exec_async(SbxAgentClient *self, const SbxExecParams *params,
				 gint stdin_fd, gint stdout_fd, gint stderr_fd,
				 GCancellable *cancellable, GAsyncReadyCallback callback,
				 gpointer user_data);
gboolean sbx_agent_client_exec_finish(SbxAgentClient *self, GAsyncResult *res,
				      SbxExecResult *result, GError **error);

/* closes the connection: every pending operation fails with @reason
 * (copied); emits "closed" once */
void sbx_agent_client_close(SbxAgentClient *self, const GError *reason);
gboolean sbx_agent_client_is_closed(SbxAgentClient *self);

/* signal "closed" (const GError *reason): the connection ended, because the
 * peer hung up, broke the protocol, or sbx_agent_client_close() was called */

G_END_DECLS
