/* one process channel of an SbxAgentClient (internal to the client).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "sbx-agent-client.h"
#include "sbx-frame-decoder.h"

G_BEGIN_DECLS

typedef struct _SbxAgentExec SbxAgentExec;

/* validates @params and opens private handles on the fds; the task
 * (owned by the exec afterwards) completes with an SbxExecResult */
SbxAgentExec *sbx_agent_exec_new(SbxAgentClient *client, guint32 channel,
				 const SbxExecParams *params, gint stdin_fd, gint stdout_fd,
				 gint stderr_fd, GTask *task, GError **error);
SbxAgentExec *sbx_agent_exec_ref(SbxAgentExec *self);
void sbx_agent_exec_unref(SbxAgentExec *self);
guint32 sbx_agent_exec_get_channel(SbxAgentExec *self);
/* makes it a filesystem channel: @open_frame replaces EXEC, EXEC_FAILED
 * errnos map to named errors about @path, and with @request the channel
 * completes with the one reply frame (an SbxAgentReply) */
void sbx_agent_exec_set_fs(SbxAgentExec *self, GBytes *open_frame, const gchar *path,
			   gboolean request);
gboolean sbx_agent_exec_is_fs(SbxAgentExec *self);
/* a connection (TCP_CONNECT): the output fd, a socket that is also the
 * input, is shut down for writing at the guest's EOF instead of closed */
void sbx_agent_exec_set_half_close(SbxAgentExec *self);
void sbx_agent_exec_set_started_func(SbxAgentExec *self, SbxExecStartedFunc func,
				     gpointer user_data);
/* FALSE once EXIT arrived (or never started) */
gboolean sbx_agent_exec_queue_signal(SbxAgentExec *self, gint signum, gboolean group,
				     GError **error);
gboolean sbx_agent_exec_queue_resize(SbxAgentExec *self, guint rows, guint cols, GError **error);

/* a frame from the guest on this channel; FALSE (with SBX_ERROR_PROTOCOL)
 * when it breaks the protocol, and the caller must close the connection */
gboolean sbx_agent_exec_handle_frame(SbxAgentExec *self, const SbxFrame *frame, GError **error);
/* the next frame to send on this channel, or NULL */
GBytes *sbx_agent_exec_next_frame(SbxAgentExec *self);
gboolean sbx_agent_exec_has_pending(SbxAgentExec *self);
/* the connection is gone: fail unless the process already exited */
void sbx_agent_exec_connection_closed(SbxAgentExec *self, const GError *reason);

/* the result a finished task carries */
void sbx_agent_exec_result_free(SbxExecResult *result);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxAgentExec, sbx_agent_exec_unref)

/* implemented by sbx-agent-client.c for its channels */
void sbx_agent_client_want_send(SbxAgentClient *self, SbxAgentExec *exec);
/* the channel is closed (EXIT, EXEC_FAILED, ERROR or never sent): forget it */
void sbx_agent_client_channel_closed(SbxAgentClient *self, SbxAgentExec *exec);
/* returns @task's result from an idle callback, away from our own stack */
void sbx_agent_client_task_return_error_later(GTask *task, GError *error);
void sbx_agent_client_task_return_pointer_later(GTask *task, gpointer result,
						GDestroyNotify notify);
void sbx_agent_client_task_return_boolean_later(GTask *task, gboolean result);

G_END_DECLS
