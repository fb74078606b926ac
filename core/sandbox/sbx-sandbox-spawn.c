/* the Sandbox1 methods Spawn and ListProcesses, and the process options
 * shared with Exec.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <gio/gunixfdlist.h>
#include <string.h>
#include <unistd.h>

#include "sbx-error.h"
#include "sbx-log.h"
#include "sbx-process.h"
#include "sbx-sandbox-private.h"

/* running processes per sandbox (each holds an agent channel) */
#define SBX_PROCESSES_MAX 512

static gboolean
get_fd(GUnixFDList *fd_list, GVariant *handle, const gchar *what, gint *fd_out, GError **error)
{
	gint32 index = g_variant_get_handle(handle);
	gint n = fd_list != NULL ? g_unix_fd_list_get_length(fd_list) : 0;

	*fd_out = -1;
	if (index == -1)
		return TRUE;
	if (index < 0 || index >= n) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
			    "%s: handle %d does not name one of the %d passed file descriptors",
			    what, index, n);
		return FALSE;
	}
	*fd_out = g_unix_fd_list_get(fd_list, index, error);
	return *fd_out >= 0;
}

gboolean
sbx_sandbox_spawn_prepare_exec(SbxSandbox *self, GDBusMethodInvocation *invocation,
			       const gchar *const *argv, SbxExecOptions *opts, GVariant *handles[3],
			       SbxExecParams *params, gchar ***envp, gint fds[3], GError **error)
{
	GUnixFDList *fd_list =
	    g_dbus_message_get_unix_fd_list(g_dbus_method_invocation_get_message(invocation));
	static const gchar *const names[] = {"stdin", "stdout", "stderr"};

	fds[0] = fds[1] = fds[2] = -1;
	if (!sbx_options_exec_check_argv(argv, error))
		return FALSE;
	*envp = sbx_options_exec_build_envp(opts->clear_env ? NULL : self->opts->env, opts->env);
	if (!sbx_options_exec_check_size(argv, (const gchar *const *)*envp, opts->cwd, error))
		return FALSE;
	for (guint i = 0; i < 3; i++) {
		if (!get_fd(fd_list, handles[i], names[i], &fds[i], error))
			return FALSE;
		/* "null" and "merged": the passed descriptor is not used */
		if (opts->stdio[i] != SBX_STDIO_PIPED && fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
	}
	memset(params, 0, sizeof(*params));
	params->argv = argv;
	params->envp = (const gchar *const *)*envp;
	params->cwd = opts->cwd;
	params->clear_env = opts->clear_env;
	params->uid = opts->uid;
	params->gid = opts->gid;
	params->user = opts->user;
	params->timeout_ms = opts->timeout_ms;
	params->merge_stderr = opts->stdio[2] == SBX_STDIO_MERGED;
	params->pty = opts->pty;
	params->rows = opts->rows;
	params->cols = opts->cols;
	return TRUE;
}

static void
close_fds(gint fds[3])
{
	for (guint i = 0; i < 3; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

/* keeps every running process and the last SBX_PROCESS_KEEP_EXITED exited ones */
static void
prune_processes(SbxSandbox *self)
{
	guint exited = 0;
	for (guint i = 0; i < self->processes->len; i++) {
		if (sbx_process_is_finished(g_ptr_array_index(self->processes, i)))
			exited++;
	}
	for (guint i = 0; i < self->processes->len && exited > SBX_PROCESS_KEEP_EXITED;) {
		SbxProcess *p = g_ptr_array_index(self->processes, i);
		if (!sbx_process_is_finished(p)) {
			i++;
			continue;
		}
		sbx_process_unexport(p, NULL);
		g_ptr_array_remove_index(self->processes, i);
		exited--;
	}
}

static void
on_process_finished(SbxProcess *process, gpointer user_data)
{
	SbxSandbox *self = SBX_SANDBOX(user_data);
	/* one that never started has no object to keep */
	if (!sbx_process_is_exported(process)) {
		g_signal_handlers_disconnect_by_data(process, self);
		g_ptr_array_remove(self->processes, process);
		return;
	}
	prune_processes(self);
}

static guint
count_running(SbxSandbox *self)
{
	guint n = 0;
	for (guint i = 0; i < self->processes->len; i++) {
		if (!sbx_process_is_finished(g_ptr_array_index(self->processes, i)))
			n++;
	}
	return n;
}

static gboolean
handle_spawn(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, const gchar *const *argv,
	     GVariant *options, GVariant *stdin_h, GVariant *stdout_h, GVariant *stderr_h,
	     gpointer user_data)
{
	SbxSandbox *self = SBX_SANDBOX(user_data);
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxExecOptions) opts = NULL;
	g_auto(GStrv) envp = NULL;
	g_autoptr(SbxProcess) process = NULL;
	g_autofree gchar *path = NULL;
	GVariant *handles[3] = {stdin_h, stdout_h, stderr_h};
	SbxExecParams params;
	gint fds[3] = {-1, -1, -1};
	guint capture = 0;

	if (self->state != SBX_SANDBOX_STATE_RUNNING) {
		g_dbus_method_invocation_return_error(invocation, SBX_ERROR, SBX_ERROR_NOT_RUNNING,
						      "sandbox %s is %s", self->id,
						      sbx_sandbox_state_to_string(self->state));
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	if (count_running(self) >= SBX_PROCESSES_MAX) {
		g_dbus_method_invocation_return_error(
		    invocation, SBX_ERROR, SBX_ERROR_LIMIT_EXCEEDED,
		    "sandbox %s already runs %u processes", self->id, (guint)SBX_PROCESSES_MAX);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	opts = sbx_options_exec_parse(options, &error);
	if (opts == NULL || !sbx_sandbox_spawn_prepare_exec(self, invocation, argv, opts, handles,
							    &params, &envp, fds, &error)) {
		close_fds(fds);
		g_dbus_method_invocation_return_gerror(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	if (opts->stdio[1] == SBX_STDIO_PIPED)
		capture |= 1u << 1;
	if (opts->stdio[2] == SBX_STDIO_PIPED && !opts->pty)
		capture |= 1u << 2;

	path = g_strdup_printf("%s/Process/%u", self->object_path, ++self->next_process);
	process = sbx_process_new(self->id, path, argv, opts->detach, opts->pty,
				  sbx_sandbox_get_owner_uid(self));
	g_ptr_array_add(self->processes, g_object_ref(process));
	g_signal_connect_object(process, "finished", G_CALLBACK(on_process_finished), self, 0);
	sbx_sandbox_debug(self->id, "sandbox %s: spawn %s as %s%s", self->id, argv[0], path,
			  opts->detach ? " (detached)" : "");
	/* the handler owns the invocation's one ref: the process answers it */
	sbx_process_start(process, self->agent, &params, fds[0], fds[1], fds[2], capture,
			  invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_list_processes(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, gpointer user_data)
{
	SbxSandbox *self = SBX_SANDBOX(user_data);
	g_autoptr(GPtrArray) paths = g_ptr_array_new();
	for (guint i = 0; i < self->processes->len; i++) {
		SbxProcess *p = g_ptr_array_index(self->processes, i);
		if (sbx_process_is_exported(p))
			g_ptr_array_add(paths, (gpointer)sbx_process_get_object_path(p));
	}
	g_ptr_array_add(paths, NULL);
	sbx_dbus_sandbox1_complete_list_processes(iface, invocation,
						  (const gchar *const *)paths->pdata);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
on_sandbox_gone(SbxSandbox *self, gpointer user_data)
{
	sbx_sandbox_spawn_stop(self);
}

void
sbx_sandbox_spawn_stop(SbxSandbox *self)
{
	g_autoptr(GPtrArray) processes = NULL;
	g_autoptr(GError) gone = NULL;

	if (self->processes == NULL || self->processes->len == 0)
		return;
	gone =
	    g_error_new(SBX_ERROR, SBX_ERROR_SANDBOX_GONE, "sandbox %s was destroyed: %s", self->id,
			self->destroy_reason != NULL ? self->destroy_reason : "it stopped");
	processes = g_steal_pointer(&self->processes);
	self->processes = g_ptr_array_new_with_free_func(g_object_unref);
	for (guint i = 0; i < processes->len; i++) {
		SbxProcess *p = g_ptr_array_index(processes, i);
		g_signal_handlers_disconnect_by_data(p, self);
		sbx_process_unexport(p, gone);
	}
}

void
sbx_sandbox_spawn_setup(SbxSandbox *self)
{
	self->processes = g_ptr_array_new_with_free_func(g_object_unref);
	g_signal_connect_object(self->iface, "handle-spawn", G_CALLBACK(handle_spawn), self, 0);
	g_signal_connect_object(self->iface, "handle-list-processes",
				G_CALLBACK(handle_list_processes), self, 0);
	g_signal_connect(self, "gone", G_CALLBACK(on_sandbox_gone), NULL);
}
