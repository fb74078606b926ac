/* one process started with Sandbox1.Spawn: its org.sandboxd.Process1
 * object, its exit status, its waiters and (detached) its output relay.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "sbx-agent-client.h"
#include "sbx-dbus-generated.h"

G_BEGIN_DECLS

/* exited processes kept per sandbox (their objects answer Wait at once) */
#define SBX_PROCESS_KEEP_EXITED 64
/* what a detached process's output ring keeps, per stream */
#define SBX_PROCESS_RING_MAX (1024u * 1024u)

#define SBX_TYPE_PROCESS (sbx_process_get_type())
G_DECLARE_FINAL_TYPE(SbxProcess, sbx_process, SBX, PROCESS, GObject)

/* @owner_uid: the sandbox's owner; other callers get AccessDenied unless admins */
SbxProcess *sbx_process_new(const gchar *sandbox_id, const gchar *object_path,
			    const gchar *const *argv, gboolean detach, gboolean pty,
			    guint owner_uid);

/* @capture (detached only): bit 1 stdout, bit 2 stderr: keep that stream
 * in the ring even without an fd. */
/* starts it and answers @invocation (Spawn) once it runs or failed; the
 * fds are taken (-1 = /dev/null). A non-detached process is killed when
 * @invocation's sender leaves the bus. Emits "finished" when it is done
 * (exited or failed to start). */
void sbx_process_start(SbxProcess *self, SbxAgentClient *agent, const SbxExecParams *params,
		       gint stdin_fd, gint stdout_fd, gint stderr_fd, guint capture,
		       GDBusMethodInvocation *invocation);

const gchar *sbx_process_get_object_path(SbxProcess *self);
/* exported, i.e. it started */
gboolean sbx_process_is_exported(SbxProcess *self);
gboolean sbx_process_is_finished(SbxProcess *self);
/* removes the object from the bus; waiters fail with @reason */
void sbx_process_unexport(SbxProcess *self, const GError *reason);

G_END_DECLS
