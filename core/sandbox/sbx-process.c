/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <gio/gunixfdlist.h>
#include <signal.h>
#include <unistd.h>

#include "sbx-authority.h"
#include "sbx-error.h"
#include "sbx-log.h"
#include "sbx-output-relay.h"
#include "sbx-process.h"

typedef enum {
	SBX_PROCESS_STARTING,
	SBX_PROCESS_RUNNING,
	SBX_PROCESS_EXITED,
	SBX_PROCESS_FAILED, /* never started, or the sandbox died under it */
} SbxProcessState;

struct _SbxProcess {
	GObject parent_instance;
	gchar *sandbox_id;
	gchar *object_path;
	gboolean detach;
	gboolean pty;
	guint owner_uid; /* the sandbox's: only it (or an admin) may call */
	SbxDBusProcess1 *iface;
	GDBusConnection *connection;
	gboolean exported;

	SbxAgentClient *agent;
	guint32 channel;
	SbxProcessState state;
	GCancellable *cancellable;
	guint owner_watch_id;
	gboolean owner_gone;
	GDBusMethodInvocation *spawn_invocation;
	GPtrArray *waiters; /* GDBusMethodInvocation */
	GError *error;	    /* SBX_PROCESS_FAILED */
	SbxExecResult result;
	SbxOutputRelay *relay[3]; /* detached: stdout, stderr */
};

G_DEFINE_TYPE(SbxProcess, sbx_process, G_TYPE_OBJECT)

enum { SIGNAL_FINISHED, SIGNAL_LAST };
static guint signals[SIGNAL_LAST];

static void
sbx_process_dispose(GObject *object)
{
	SbxProcess *self = SBX_PROCESS(object);
	g_clear_handle_id(&self->owner_watch_id, g_bus_unwatch_name);
	for (guint i = 0; i < 3; i++)
		g_clear_pointer(&self->relay[i], sbx_output_relay_free);
	g_clear_object(&self->agent);
	g_clear_object(&self->connection);
	G_OBJECT_CLASS(sbx_process_parent_class)->dispose(object);
}

static void
sbx_process_finalize(GObject *object)
{
	SbxProcess *self = SBX_PROCESS(object);
	g_free(self->sandbox_id);
	g_free(self->object_path);
	g_clear_object(&self->iface);
	g_clear_object(&self->cancellable);
	g_clear_object(&self->spawn_invocation);
	g_ptr_array_unref(self->waiters);
	g_clear_error(&self->error);
	G_OBJECT_CLASS(sbx_process_parent_class)->finalize(object);
}

static void
sbx_process_class_init(SbxProcessClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	object_class->dispose = sbx_process_dispose;
	object_class->finalize = sbx_process_finalize;
	signals[SIGNAL_FINISHED] =
	    g_signal_new("finished", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
			 NULL, G_TYPE_NONE, 0);
}

static void
sbx_process_init(SbxProcess *self)
{
	self->waiters = g_ptr_array_new();
	self->cancellable = g_cancellable_new();
}

const gchar *
sbx_process_get_object_path(SbxProcess *self)
{
	return self->object_path;
}

gboolean
sbx_process_is_exported(SbxProcess *self)
{
	return self->exported;
}

gboolean
sbx_process_is_finished(SbxProcess *self)
{
	return self->state == SBX_PROCESS_EXITED || self->state == SBX_PROCESS_FAILED;
}

/* D-Bus methods */

static gboolean
sbx_process_check_running(SbxProcess *self, GDBusMethodInvocation *invocation)
{
	if (self->state == SBX_PROCESS_RUNNING)
		return TRUE;
	g_dbus_method_invocation_return_error(invocation, SBX_ERROR, SBX_ERROR_NOT_RUNNING,
					      "process %s has exited", self->object_path);
	return FALSE;
}

static gboolean
handle_wait(SbxDBusProcess1 *iface, GDBusMethodInvocation *invocation, gpointer user_data)
{
	SbxProcess *self = SBX_PROCESS(user_data);
	if (self->state == SBX_PROCESS_EXITED) {
		sbx_dbus_process1_complete_wait(iface, invocation, self->result.exit_code,
						self->result.signal, self->result.timed_out);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	if (self->state == SBX_PROCESS_FAILED) {
		g_dbus_method_invocation_return_gerror(invocation, self->error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	/* the handler owns the invocation's one ref: it is ours now */
	g_ptr_array_add(self->waiters, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_send_signal(SbxDBusProcess1 *iface, GDBusMethodInvocation *invocation, gint signum,
		   gboolean group, gpointer user_data)
{
	SbxProcess *self = SBX_PROCESS(user_data);
	g_autoptr(GError) error = NULL;
	if (!sbx_process_check_running(self, invocation))
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	if (!sbx_agent_client_signal(self->agent, self->channel, signum, group, &error)) {
		if (g_error_matches(error, SBX_ERROR, SBX_ERROR_NOT_FOUND))
			error->code = SBX_ERROR_NOT_RUNNING;
		g_dbus_method_invocation_return_gerror(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	sbx_sandbox_debug(self->sandbox_id, "%s: signal %d%s", self->object_path, signum,
			  group ? " to the group" : "");
	sbx_dbus_process1_complete_send_signal(iface, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_kill(SbxDBusProcess1 *iface, GDBusMethodInvocation *invocation, gpointer user_data)
{
	SbxProcess *self = SBX_PROCESS(user_data);
	g_autoptr(GError) error = NULL;
	if (!sbx_process_check_running(self, invocation))
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	if (!sbx_agent_client_signal(self->agent, self->channel, SIGKILL, TRUE, &error)) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	sbx_dbus_process1_complete_kill(iface, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_resize_pty(SbxDBusProcess1 *iface, GDBusMethodInvocation *invocation, guint rows, guint cols,
		  gpointer user_data)
{
	SbxProcess *self = SBX_PROCESS(user_data);
	g_autoptr(GError) error = NULL;
	if (!self->pty) {
		g_dbus_method_invocation_return_error(
		    invocation, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
		    "process %s has no pseudo-terminal", self->object_path);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	if (!sbx_process_check_running(self, invocation))
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	if (!sbx_agent_client_resize(self->agent, self->channel, rows, cols, &error)) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	sbx_dbus_process1_complete_resize_pty(iface, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gint
get_handle(GDBusMethodInvocation *invocation, GVariant *handle, const gchar *what, GError **error)
{
	GUnixFDList *fd_list =
	    g_dbus_message_get_unix_fd_list(g_dbus_method_invocation_get_message(invocation));
	gint32 index = g_variant_get_handle(handle);
	gint n = fd_list != NULL ? g_unix_fd_list_get_length(fd_list) : 0;
	if (index == -1)
		return -1;
	if (index < 0 || index >= n) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
			    "%s: handle %d does not name one of the %d passed file descriptors",
			    what, index, n);
		return -2;
	}
	{
		gint fd = g_unix_fd_list_get(fd_list, index, error);
		return fd >= 0 ? fd : -2;
	}
}

static gboolean
handle_attach(SbxDBusProcess1 *iface, GDBusMethodInvocation *invocation, GVariant *stdout_h,
	      GVariant *stderr_h, gpointer user_data)
{
	SbxProcess *self = SBX_PROCESS(user_data);
	g_autoptr(GError) error = NULL;
	gint fds[3] = {-1, -1, -1};

	if (!self->detach) {
		g_dbus_method_invocation_return_error(
		    invocation, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
		    "process %s is not detached: its output goes to the spawning client's "
		    "descriptors",
		    self->object_path);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	fds[1] = get_handle(invocation, stdout_h, "stdout", &error);
	if (fds[1] != -2)
		fds[2] = get_handle(invocation, stderr_h, "stderr", &error);
	if (fds[1] == -2 || fds[2] == -2) {
		for (guint i = 1; i < 3; i++) {
			if (fds[i] >= 0)
				close(fds[i]);
		}
		g_dbus_method_invocation_return_gerror(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	for (guint i = 1; i < 3; i++) {
		if (self->relay[i] == NULL) {
			/* null or merged stream: nothing to replay */
			if (fds[i] >= 0)
				close(fds[i]);
			continue;
		}
		if (error == NULL)
			sbx_output_relay_attach(self->relay[i], fds[i], &error);
		else if (fds[i] >= 0)
			close(fds[i]);
	}
	if (error != NULL) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	sbx_dbus_process1_complete_attach(iface, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* worker thread, after sbx_authority_identify_calls() learnt the caller */
static gboolean
on_authorize_method(GDBusInterfaceSkeleton *iface, GDBusMethodInvocation *invocation,
		    gpointer user_data)
{
	SbxProcess *self = SBX_PROCESS(user_data);
	guint uid = sbx_authority_get_caller_uid(invocation);
	if (sbx_authority_may_access(uid, sbx_authority_get_caller_is_admin(invocation),
				     self->owner_uid))
		return TRUE;
	/* the gateway, given the sandbox for its owner's token */
	if (sbx_authority_is_granted(sbx_authority_get_default(), self->sandbox_id,
				     g_dbus_method_invocation_get_sender(invocation)))
		return TRUE;
	g_dbus_method_invocation_return_error(invocation, SBX_ERROR, SBX_ERROR_ACCESS_DENIED,
					      "%s belongs to another user",
					      g_dbus_method_invocation_get_object_path(invocation));
	return FALSE;
}

SbxProcess *
sbx_process_new(const gchar *sandbox_id, const gchar *object_path, const gchar *const *argv,
		gboolean detach, gboolean pty, guint owner_uid)
{
	SbxProcess *self = g_object_new(SBX_TYPE_PROCESS, NULL);
	self->sandbox_id = g_strdup(sandbox_id);
	self->object_path = g_strdup(object_path);
	self->detach = detach;
	self->pty = pty;
	self->owner_uid = owner_uid;
	self->iface = sbx_dbus_process1_skeleton_new();
	/* the same rule as for the sandbox's own object */
	sbx_authority_identify_calls(sbx_authority_get_default(),
				     G_DBUS_INTERFACE_SKELETON(self->iface));
	g_signal_connect(self->iface, "g-authorize-method", G_CALLBACK(on_authorize_method), self);
	sbx_dbus_process1_set_argv(self->iface, argv);
	sbx_dbus_process1_set_detached(self->iface, detach);
	sbx_dbus_process1_set_pty(self->iface, pty);
	sbx_dbus_process1_set_state(self->iface, "running");
	sbx_dbus_process1_set_exit_status(self->iface, -1);
	g_signal_connect_object(self->iface, "handle-wait", G_CALLBACK(handle_wait), self, 0);
	g_signal_connect_object(self->iface, "handle-send-signal", G_CALLBACK(handle_send_signal),
				self, 0);
	g_signal_connect_object(self->iface, "handle-kill", G_CALLBACK(handle_kill), self, 0);
	g_signal_connect_object(self->iface, "handle-resize-pty", G_CALLBACK(handle_resize_pty),
				self, 0);
	g_signal_connect_object(self->iface, "handle-attach", G_CALLBACK(handle_attach), self, 0);
	return self;
}

/* running and done */

static void
sbx_process_started_cb(guint32 pid, gpointer user_data)
{
	SbxProcess *self = SBX_PROCESS(user_data);
	g_autoptr(GError) error = NULL;

	if (self->state != SBX_PROCESS_STARTING)
		return;
	self->state = SBX_PROCESS_RUNNING;
	sbx_dbus_process1_set_pid(self->iface, pid);
	sbx_dbus_process1_set_started_at(self->iface, (guint64)g_get_real_time());
	if (!g_dbus_interface_skeleton_export(G_DBUS_INTERFACE_SKELETON(self->iface),
					      self->connection, self->object_path, &error)) {
		sbx_sandbox_warning(self->sandbox_id, "cannot export %s: %s", self->object_path,
				    error->message);
	} else {
		self->exported = TRUE;
	}
	sbx_sandbox_debug(self->sandbox_id, "%s: running as guest pid %u", self->object_path, pid);
	if (self->spawn_invocation != NULL)
		g_dbus_method_invocation_return_value(g_steal_pointer(&self->spawn_invocation),
						      g_variant_new("(o)", self->object_path));
}

static GError *
sbx_process_map_error(SbxProcess *self, const GError *error)
{
	if (g_error_matches(error, SBX_ERROR, SBX_ERROR_SANDBOX_GONE))
		return g_error_new(SBX_ERROR, SBX_ERROR_SANDBOX_GONE, "sandbox %s is gone: %s",
				   self->sandbox_id, error->message);
	if (error->domain == SBX_ERROR)
		return g_error_copy(error);
	return g_error_new(SBX_ERROR, SBX_ERROR_AGENT, "%s", error->message);
}

static void
sbx_process_finish(SbxProcess *self)
{
	g_autoptr(GPtrArray) waiters = g_steal_pointer(&self->waiters);
	self->waiters = g_ptr_array_new();
	g_clear_handle_id(&self->owner_watch_id, g_bus_unwatch_name);

	if (self->state == SBX_PROCESS_EXITED) {
		sbx_dbus_process1_set_exit_status(self->iface, self->result.exit_code);
		sbx_dbus_process1_set_signal(self->iface, self->result.signal);
		sbx_dbus_process1_set_timed_out(self->iface, self->result.timed_out);
		sbx_dbus_process1_set_state(self->iface, "exited");
		g_dbus_interface_skeleton_flush(G_DBUS_INTERFACE_SKELETON(self->iface));
		if (self->exported)
			sbx_dbus_process1_emit_exited(self->iface, self->result.exit_code,
						      self->result.signal, self->result.timed_out);
	} else {
		sbx_dbus_process1_set_state(self->iface, "exited");
	}
	for (guint i = 0; i < waiters->len; i++) {
		GDBusMethodInvocation *inv = g_ptr_array_index(waiters, i);
		if (self->state == SBX_PROCESS_EXITED)
			sbx_dbus_process1_complete_wait(self->iface, inv, self->result.exit_code,
							self->result.signal,
							self->result.timed_out);
		else
			g_dbus_method_invocation_return_gerror(inv, self->error);
	}
	g_signal_emit(self, signals[SIGNAL_FINISHED], 0);
}

static void
sbx_process_done_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxProcess) self = user_data;
	g_autoptr(GError) error = NULL;
	SbxExecResult result = {0};

	/* already failed by sbx_process_unexport() */
	if (self->state == SBX_PROCESS_FAILED) {
		sbx_agent_client_exec_finish(SBX_AGENT_CLIENT(source), res, NULL, NULL);
		return;
	}
	if (sbx_agent_client_exec_finish(SBX_AGENT_CLIENT(source), res, &result, &error)) {
		self->result = result;
		if (self->result.signal != 0)
			self->result.exit_code = -1;
		self->state = SBX_PROCESS_EXITED;
		sbx_sandbox_debug(self->sandbox_id, "%s: exited (%d, signal %d%s)",
				  self->object_path, self->result.exit_code, self->result.signal,
				  self->result.timed_out ? ", timed out" : "");
	} else if (self->owner_gone && self->state == SBX_PROCESS_RUNNING) {
		/* we killed it: the client that spawned it left */
		self->result.exit_code = -1;
		self->result.signal = SIGKILL;
		self->state = SBX_PROCESS_EXITED;
	} else {
		self->error = sbx_process_map_error(self, error);
		self->state = SBX_PROCESS_FAILED;
		if (self->spawn_invocation != NULL)
			g_dbus_method_invocation_return_gerror(
			    g_steal_pointer(&self->spawn_invocation), self->error);
	}
	sbx_process_finish(self);
}

static void
on_owner_vanished(GDBusConnection *connection, const gchar *name, gpointer user_data)
{
	SbxProcess *self = SBX_PROCESS(user_data);
	if (sbx_process_is_finished(self))
		return;
	sbx_sandbox_debug(self->sandbox_id, "%s: %s left the bus, killing the process group",
			  self->object_path, name);
	self->owner_gone = TRUE;
	g_cancellable_cancel(self->cancellable);
}

void
sbx_process_start(SbxProcess *self, SbxAgentClient *agent, const SbxExecParams *params,
		  gint stdin_fd, gint stdout_fd, gint stderr_fd, guint capture,
		  GDBusMethodInvocation *invocation)
{
	g_autoptr(GError) error = NULL;
	const gchar *sender = g_dbus_method_invocation_get_sender(invocation);
	gint out_fds[3] = {-1, stdout_fd, stderr_fd};
	gint agent_fds[3] = {stdin_fd, stdout_fd, stderr_fd};

	self->agent = g_object_ref(agent);
	self->connection = g_object_ref(g_dbus_method_invocation_get_connection(invocation));
	self->spawn_invocation = invocation;

	if (self->detach) {
		/* our pipes in between, so the output outlives the caller's fds */
		for (guint i = 1; i < 3; i++) {
			gboolean wanted = out_fds[i] >= 0 || (capture & (1u << i)) != 0;
			agent_fds[i] = -1;
			if (!wanted)
				continue;
			self->relay[i] = sbx_output_relay_new(out_fds[i], SBX_PROCESS_RING_MAX,
							      &agent_fds[i], &error);
			out_fds[i] = -1;
			if (self->relay[i] == NULL) {
				if (error == NULL)
					g_set_error_literal(&error, SBX_ERROR, SBX_ERROR_FAILED,
							    "cannot create a pipe");
				break;
			}
		}
		for (guint i = 1; i < 3; i++) {
			if (out_fds[i] >= 0)
				close(out_fds[i]);
		}
		if (error != NULL) {
			if (stdin_fd >= 0)
				close(stdin_fd);
			for (guint i = 1; i < 3; i++) {
				if (agent_fds[i] >= 0)
					close(agent_fds[i]);
			}
			self->state = SBX_PROCESS_FAILED;
			self->error = g_error_new(SBX_ERROR, SBX_ERROR_FAILED,
						  "cannot set up the output: %s", error->message);
			g_dbus_method_invocation_return_gerror(
			    g_steal_pointer(&self->spawn_invocation), self->error);
			sbx_process_finish(self);
			return;
		}
	} else if (sender != NULL) {
		self->owner_watch_id = g_bus_watch_name_on_connection(
		    self->connection, sender, G_BUS_NAME_WATCHER_FLAGS_NONE, NULL,
		    on_owner_vanished, self, NULL);
	}

	self->channel = sbx_agent_client_spawn_async(
	    agent, params, agent_fds[0], agent_fds[1], agent_fds[2], sbx_process_started_cb, self,
	    self->cancellable, sbx_process_done_cb, g_object_ref(self));
	/* the agent client keeps its own handles */
	for (guint i = 0; i < 3; i++) {
		if (agent_fds[i] >= 0)
			close(agent_fds[i]);
	}
}

void
sbx_process_unexport(SbxProcess *self, const GError *reason)
{
	g_autoptr(SbxProcess) keep = g_object_ref(self);
	if (!sbx_process_is_finished(self)) {
		g_clear_error(&self->error);
		self->error = g_error_copy(reason);
		self->state = SBX_PROCESS_FAILED;
		g_cancellable_cancel(self->cancellable);
		if (self->spawn_invocation != NULL)
			g_dbus_method_invocation_return_gerror(
			    g_steal_pointer(&self->spawn_invocation), self->error);
		sbx_process_finish(self);
	}
	if (self->exported) {
		g_dbus_interface_skeleton_unexport(G_DBUS_INTERFACE_SKELETON(self->iface));
		self->exported = FALSE;
	}
	for (guint i = 0; i < 3; i++)
		g_clear_pointer(&self->relay[i], sbx_output_relay_free);
}
