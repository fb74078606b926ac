/* the Sandbox1 methods: Exec and Kill.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <gio/gunixfdlist.h>
#include <unistd.h>

#include "sbx-error.h"
#include "sbx-log.h"
#include "sbx-sandbox-private.h"

typedef struct {
	SbxSandbox *sandbox;
	GDBusMethodInvocation *invocation;
	GCancellable *cancellable;
	gint fds[3];
	guint caller_watch_id;
	gboolean caller_gone;
	gchar *argv0; /* for the event log */
} SbxExecCall;

static void
sbx_exec_call_free(SbxExecCall *call)
{
	g_ptr_array_remove(call->sandbox->execs, call);
	g_clear_handle_id(&call->caller_watch_id, g_bus_unwatch_name);
	for (guint i = 0; i < 3; i++) {
		if (call->fds[i] >= 0)
			close(call->fds[i]);
	}
	g_clear_object(&call->cancellable);
	g_clear_object(&call->invocation);
	g_clear_object(&call->sandbox);
	g_free(call->argv0);
	g_free(call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxExecCall, sbx_exec_call_free)

void
sbx_sandbox_exec_cancel_all(SbxSandbox *self)
{
	/* a completion may run (and free its call) from inside cancel() */
	g_autoptr(GPtrArray) cancellables = g_ptr_array_new_with_free_func(g_object_unref);
	for (guint i = 0; i < self->execs->len; i++) {
		SbxExecCall *call = g_ptr_array_index(self->execs, i);
		if (call->cancellable != NULL)
			g_ptr_array_add(cancellables, g_object_ref(call->cancellable));
	}
	for (guint i = 0; i < cancellables->len; i++)
		g_cancellable_cancel(g_ptr_array_index(cancellables, i));
}

static void
on_exec_caller_vanished(GDBusConnection *connection, const gchar *name, gpointer user_data)
{
	SbxExecCall *call = user_data;
	sbx_sandbox_debug(call->sandbox->id, "sandbox %s: exec caller %s left, cancelling",
			  call->sandbox->id, name);
	call->caller_gone = TRUE;
	g_cancellable_cancel(call->cancellable);
}

static void
on_exec_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxExecCall) call = user_data;
	SbxSandbox *self = call->sandbox;
	g_autoptr(GError) error = NULL;
	SbxExecResult result = {0};

	if (sbx_agent_client_exec_finish(SBX_AGENT_CLIENT(source), res, &result, &error)) {
		sbx_sandbox_debug(self->id, "sandbox %s: process exited (%d, signal %d)", self->id,
				  result.exit_code, result.signal);
		sbx_event_log_add(self->events, "exec ended: %s: exit status %d, signal %d%s",
				  call->argv0, result.signal != 0 ? -1 : result.exit_code,
				  result.signal, result.timed_out ? " (timed out)" : "");
		/* a named error, so a caller cannot mistake it for the program's own
		 * death by that signal; the output until then was written */
		if (result.timed_out) {
			g_dbus_method_invocation_return_error(
			    g_steal_pointer(&call->invocation), SBX_ERROR, SBX_ERROR_TIMED_OUT,
			    "%s ran past its timeout and was killed (signal %d)", call->argv0,
			    result.signal);
			return;
		}
		sbx_dbus_sandbox1_complete_exec(self->iface, g_steal_pointer(&call->invocation),
						result.signal != 0 ? -1 : result.exit_code,
						result.signal);
		return;
	}
	if (call->caller_gone) {
		/* nobody to answer */
		g_dbus_method_invocation_return_error(g_steal_pointer(&call->invocation), SBX_ERROR,
						      SBX_ERROR_FAILED, "the caller left the bus");
		return;
	}
	if (self->state >= SBX_SANDBOX_STATE_STOPPING ||
	    g_error_matches(error, SBX_ERROR, SBX_ERROR_SANDBOX_GONE)) {
		g_dbus_method_invocation_return_error(
		    g_steal_pointer(&call->invocation), SBX_ERROR, SBX_ERROR_SANDBOX_GONE,
		    "sandbox %s was destroyed: %s", self->id,
		    self->destroy_reason != NULL ? self->destroy_reason : "it stopped");
		return;
	}
	sbx_sandbox_warning(self->id, "sandbox %s: exec failed: %s", self->id, error->message);
	if (error->domain == SBX_ERROR) {
		g_dbus_method_invocation_return_gerror(g_steal_pointer(&call->invocation), error);
		return;
	}
	g_dbus_method_invocation_return_error(g_steal_pointer(&call->invocation), SBX_ERROR,
					      SBX_ERROR_AGENT, "exec failed: %s", error->message);
}

static gboolean
handle_exec(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, const gchar *const *argv,
	    GVariant *options, GVariant *stdin_h, GVariant *stdout_h, GVariant *stderr_h,
	    gpointer user_data)
{
	SbxSandbox *self = SBX_SANDBOX(user_data);
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxExecOptions) opts = NULL;
	g_auto(GStrv) envp = NULL;
	g_autoptr(SbxExecCall) call = NULL;
	const gchar *sender = g_dbus_method_invocation_get_sender(invocation);
	SbxExecParams params = {0};

	if (self->state != SBX_SANDBOX_STATE_RUNNING) {
		g_dbus_method_invocation_return_error(invocation, SBX_ERROR, SBX_ERROR_NOT_RUNNING,
						      "sandbox %s is %s", self->id,
						      sbx_sandbox_state_to_string(self->state));
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	opts = sbx_options_exec_parse(options, &error);
	if (opts != NULL && opts->detach) {
		g_set_error_literal(&error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
				    "detach: only for Spawn");
		g_clear_pointer(&opts, sbx_options_exec_free);
	}
	if (opts == NULL) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}

	call = g_new0(SbxExecCall, 1);
	call->sandbox = g_object_ref(self);
	call->fds[0] = call->fds[1] = call->fds[2] = -1;
	g_ptr_array_add(self->execs, call);
	{
		GVariant *handles[3] = {stdin_h, stdout_h, stderr_h};
		if (!sbx_sandbox_spawn_prepare_exec(self, invocation, argv, opts, handles, &params,
						    &envp, call->fds, &error)) {
			g_dbus_method_invocation_return_gerror(invocation, error);
			return G_DBUS_METHOD_INVOCATION_HANDLED;
		}
	}
	call->invocation = invocation; /* the handler owns one ref: completing consumes it */
	call->cancellable = g_cancellable_new();
	if (sender != NULL) {
		call->caller_watch_id = g_bus_watch_name_on_connection(
		    g_dbus_method_invocation_get_connection(invocation), sender,
		    G_BUS_NAME_WATCHER_FLAGS_NONE, NULL, on_exec_caller_vanished, call, NULL);
	}

	sbx_sandbox_debug(self->id, "sandbox %s: exec %s", self->id, argv[0]);
	call->argv0 = g_strndup(argv[0], 256);
	sbx_event_log_add(self->events, "exec started: %s", call->argv0);
	{
		SbxExecCall *c = g_steal_pointer(&call);
		sbx_agent_client_exec_async(self->agent, &params, c->fds[0], c->fds[1], c->fds[2],
					    c->cancellable, on_exec_done, c);
	}
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
on_kill_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GDBusMethodInvocation) invocation = user_data;
	SbxSandbox *self = SBX_SANDBOX(source);
	g_autoptr(GError) error = NULL;

	if (!sbx_sandbox_destroy_finish(self, res, &error)) {
		g_dbus_method_invocation_return_gerror(g_steal_pointer(&invocation), error);
		return;
	}
	sbx_dbus_sandbox1_complete_kill(self->iface, g_steal_pointer(&invocation));
}

static gboolean
handle_kill(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, gpointer user_data)
{
	SbxSandbox *self = SBX_SANDBOX(user_data);
	g_autofree gchar *reason =
	    g_strdup_printf("killed by %s", g_dbus_method_invocation_get_sender(invocation));
	sbx_sandbox_destroy_async(self, reason, on_kill_done, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

void
sbx_sandbox_exec_setup(SbxSandbox *self)
{
	g_signal_connect_object(self->iface, "handle-exec", G_CALLBACK(handle_exec), self, 0);
	g_signal_connect_object(self->iface, "handle-kill", G_CALLBACK(handle_kill), self, 0);
	sbx_sandbox_spawn_setup(self);
}
