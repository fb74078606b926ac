/* spawn, processWait, processKill onto Sandbox1.Spawn and Process1, stdio through pipes.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <fcntl.h>
#include <gio/gunixfdlist.h>
#include <glib-unix.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "sbx-gw-call.h"
#include "sbx-gw-in-stream.h"
#include "sbx-gw-out-stream.h"

#define SBX_GW_BUS_NAME "org.sandboxd"

struct _SbxGwProcess {
	guint pid;
	SbxDBusProcess1 *proxy;
	SbxGwOutStream *out;
	SbxGwOutStream *err;
};

void
sbx_gw_process_free(SbxGwProcess *proc)
{
	g_clear_object(&proc->proxy);
	g_clear_object(&proc->out);
	g_clear_object(&proc->err);
	g_free(proc);
}

static const gchar *
signal_name(gint sig)
{
	static gchar names[65][16];
	const gchar *abbrev;

	if (sig <= 0 || sig > 64)
		return NULL;
	abbrev = sigabbrev_np(sig);
	if (abbrev == NULL)
		return NULL;
	if (names[sig][0] == '\0')
		g_snprintf(names[sig], sizeof(names[sig]), "SIG%s", abbrev);
	return names[sig];
}

static gint
signal_number(const gchar *name)
{
	for (gint sig = 1; sig < 32; sig++) {
		const gchar *n = signal_name(sig);
		if (n != NULL && (g_strcmp0(n, name) == 0 || g_strcmp0(n + 3, name) == 0))
			return sig;
	}
	return 0;
}

/* --- spawn --- */

typedef struct {
	SbxGwCall *call;
	gint stdout_fd; /* our ends, until the streams take them */
	gint stderr_fd;
	SbxGwProcess *proc;
	SbxGwProcessSpawned done;
	gpointer done_data;
} SbxGwSpawn;

static void
spawn_free(SbxGwSpawn *sp)
{
	if (sp->stdout_fd >= 0)
		close(sp->stdout_fd);
	if (sp->stderr_fd >= 0)
		close(sp->stderr_fd);
	if (sp->proc != NULL)
		sbx_gw_process_free(sp->proc);
	g_free(sp);
}

static void
spawn_fail(SbxGwSpawn *sp, const GError *error)
{
	if (sp->done != NULL)
		sp->done(sp->call, NULL, NULL, error, sp->done_data);
	else
		sbx_gw_call_return_error(sp->call, error);
	spawn_free(sp);
}

static JsonNode *
stream_id_node(SbxGwOutStream *stream)
{
	JsonNode *node = json_node_alloc();
	if (stream == NULL)
		return json_node_init_null(node);
	return json_node_init_int(node, (gint64)sbx_gw_out_stream_get_id(stream));
}

static void
process_proxy_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwSpawn *sp = data;
	SbxGwConn *conn = sp->call->conn;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonBuilder) b = json_builder_new_immutable();
	SbxGwProcess *proc = sp->proc;

	proc->proxy = sbx_dbus_process1_proxy_new_finish(res, &error);
	if (proc->proxy == NULL) {
		spawn_fail(sp, error);
		return;
	}
	g_dbus_proxy_set_default_timeout(G_DBUS_PROXY(proc->proxy), G_MAXINT);
	proc->pid = sbx_dbus_process1_get_pid(proc->proxy);
	/* start notifications go out before the result that names the streams */
	if (sp->stdout_fd >= 0) {
		proc->out = sbx_gw_out_stream_new(conn, sp->stdout_fd);
		sp->stdout_fd = -1;
		sbx_gw_conn_add_out_stream(conn, proc->out);
	}
	if (sp->stderr_fd >= 0) {
		proc->err = sbx_gw_out_stream_new(conn, sp->stderr_fd);
		sp->stderr_fd = -1;
		sbx_gw_conn_add_out_stream(conn, proc->err);
	}
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "pid");
	json_builder_add_int_value(b, proc->pid);
	json_builder_set_member_name(b, "stdoutStreamId");
	json_builder_add_value(b, stream_id_node(proc->out));
	json_builder_set_member_name(b, "stderrStreamId");
	json_builder_add_value(b, stream_id_node(proc->err));
	json_builder_end_object(b);
	g_hash_table_replace(conn->sandbox->processes, GUINT_TO_POINTER(proc->pid), proc);
	sp->proc = NULL;
	if (proc->out != NULL)
		sbx_gw_out_stream_start(proc->out);
	if (proc->err != NULL)
		sbx_gw_out_stream_start(proc->err);
	if (sp->done != NULL)
		sp->done(sp->call, proc->proxy, json_builder_get_root(b), NULL, sp->done_data);
	else
		sbx_gw_call_return(sp->call, json_builder_get_root(b));
	sp->call = NULL;
	spawn_free(sp);
}

static void
spawn_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwSpawn *sp = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	const gchar *path = NULL;

	reply = g_dbus_proxy_call_with_unix_fd_list_finish(G_DBUS_PROXY(source), NULL, res, &error);
	if (reply == NULL) {
		spawn_fail(sp, error);
		return;
	}
	g_variant_get(reply, "(&o)", &path);
	sp->proc = g_new0(SbxGwProcess, 1);
	sbx_dbus_process1_proxy_new(g_dbus_proxy_get_connection(G_DBUS_PROXY(source)),
				    G_DBUS_PROXY_FLAGS_NONE, SBX_GW_BUS_NAME, path, NULL,
				    process_proxy_ready, sp);
}

gint
sbx_gw_process_add_pipe(GUnixFDList *fds, gboolean far_reads, gint *near, GError **error)
{
	gint p[2];
	gint handle;

	if (!g_unix_open_pipe(p, FD_CLOEXEC, error))
		return -1;
	handle = g_unix_fd_list_append(fds, far_reads ? p[0] : p[1], error);
	close(far_reads ? p[0] : p[1]);
	if (handle < 0) {
		close(far_reads ? p[1] : p[0]);
		return -1;
	}
	*near = far_reads ? p[1] : p[0];
	return handle;
}

static gboolean
spawn_options(SbxGwCall *call, const gchar *const *extra_env, GVariantBuilder *options,
	      gboolean *out_piped, gboolean *err_piped, GError **error)
{
	g_autoptr(GVariant) env = NULL;
	g_autofree gchar *dir = NULL;
	const gchar *cwd = NULL;
	const gchar *out_mode = "piped";
	const gchar *err_mode = "piped";
	gboolean clear_env = FALSE;

	if (!sbx_gw_rpc_get_string_map(call->params, "env", &env, error) ||
	    !sbx_gw_rpc_get_bool(call->params, "clearEnv", &clear_env, error) ||
	    !sbx_gw_rpc_get_string(call->params, "cwd", FALSE, &cwd, error) ||
	    !sbx_gw_rpc_get_string(call->params, "stdout", FALSE, &out_mode, error) ||
	    !sbx_gw_rpc_get_string(call->params, "stderr", FALSE, &err_mode, error))
		return FALSE;
	for (guint i = 0; i < 2; i++) {
		const gchar *mode = i == 0 ? out_mode : err_mode;
		if (g_strcmp0(mode, "piped") != 0 && g_strcmp0(mode, "null") != 0 &&
		    g_strcmp0(mode, "inherit") != 0) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "%s: expected \"piped\" or \"null\"",
				    i == 0 ? "stdout" : "stderr");
			return FALSE;
		}
	}
	*out_piped = g_strcmp0(out_mode, "null") != 0;
	*err_piped = g_strcmp0(err_mode, "null") != 0;
	if (extra_env != NULL) {
		g_auto(GVariantBuilder) merged = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a{ss}"));
		GVariantIter iter;
		const gchar *key;
		const gchar *value;

		if (env != NULL) {
			g_variant_iter_init(&iter, env);
			while (g_variant_iter_next(&iter, "{&s&s}", &key, &value))
				if (!g_strv_contains(extra_env, key))
					g_variant_builder_add(&merged, "{ss}", key, value);
		}
		for (guint i = 0; extra_env[i] != NULL && extra_env[i + 1] != NULL; i += 2)
			g_variant_builder_add(&merged, "{ss}", extra_env[i], extra_env[i + 1]);
		g_clear_pointer(&env, g_variant_unref);
		env = g_variant_ref_sink(g_variant_builder_end(&merged));
	}
	if (env != NULL)
		g_variant_builder_add(options, "{sv}", "env", env);
	if (clear_env)
		g_variant_builder_add(options, "{sv}", "clear_env", g_variant_new_boolean(TRUE));
	dir = sbx_gw_server_resolve_path(call->conn->server,
					 cwd != NULL ? cwd : call->conn->server->config->work_dir);
	g_variant_builder_add(options, "{sv}", "cwd", g_variant_new_string(dir));
	/* sandboxd looks the user up in the guest and sets HOME, USER, LOGNAME */
	if (call->conn->server->config->user[0] != '\0')
		g_variant_builder_add(options, "{sv}", "user",
				      g_variant_new_string(call->conn->server->config->user));
	if (!*out_piped)
		g_variant_builder_add(options, "{sv}", "stdout", g_variant_new_string("null"));
	if (!*err_piped)
		g_variant_builder_add(options, "{sv}", "stderr", g_variant_new_string("null"));
	return TRUE;
}

void
sbx_gw_process_spawn_argv(SbxGwCall *call, const gchar *const *argv, const gchar *const *extra_env,
			  SbxGwProcessSpawned done, gpointer done_data)
{
	g_auto(GVariantBuilder) options = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
	g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
	g_autoptr(GError) error = NULL;
	SbxGwInStream *stdin_stream = NULL;
	SbxGwSpawn *sp;
	gboolean out_piped = TRUE;
	gboolean err_piped = TRUE;
	gint64 stdin_id = -1;
	gint h_in = -1;
	gint h_out = -1;
	gint h_err = -1;
	gint stdin_fd = -1;

	sp = g_new0(SbxGwSpawn, 1);
	sp->call = call;
	sp->stdout_fd = -1;
	sp->stderr_fd = -1;
	sp->done = done;
	sp->done_data = done_data;
	if (!sbx_gw_rpc_get_int(call->params, "stdinStreamId", FALSE, &stdin_id, &error) ||
	    !spawn_options(call, extra_env, &options, &out_piped, &err_piped, &error)) {
		spawn_fail(sp, error);
		return;
	}
	if (stdin_id >= 0) {
		stdin_stream = sbx_gw_conn_in_stream(call->conn, (guint64)stdin_id);
		if (stdin_stream == NULL) {
			g_set_error_literal(&error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_OPEN_FILES,
					    "too many streams on this socket");
		} else {
			sbx_gw_in_stream_claim(stdin_stream, &error);
		}
		if (error != NULL) {
			spawn_fail(sp, error);
			return;
		}
	}
	if ((stdin_stream != NULL &&
	     (h_in = sbx_gw_process_add_pipe(fds, TRUE, &stdin_fd, &error)) < 0) ||
	    (out_piped &&
	     (h_out = sbx_gw_process_add_pipe(fds, FALSE, &sp->stdout_fd, &error)) < 0) ||
	    (err_piped &&
	     (h_err = sbx_gw_process_add_pipe(fds, FALSE, &sp->stderr_fd, &error)) < 0)) {
		if (stdin_fd >= 0)
			close(stdin_fd);
		spawn_fail(sp, error);
		return;
	}
	/* the client may have sent stdin already: it flows once the process reads */
	if (stdin_stream != NULL)
		sbx_gw_in_stream_set_sink(stdin_stream, stdin_fd);
	g_dbus_proxy_call_with_unix_fd_list(
	    G_DBUS_PROXY(call->conn->sandbox->proxy), "Spawn",
	    g_variant_new("(^asa{sv}hhh)", (gchar **)argv, &options, h_in, h_out, h_err),
	    G_DBUS_CALL_FLAGS_NONE, -1, fds, NULL, spawn_ready, sp);
}

void
sbx_gw_process_spawn(SbxGwCall *call)
{
	g_autoptr(GPtrArray) args = NULL;
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	const gchar *command = NULL;

	if (!sbx_gw_rpc_get_string(call->params, "command", TRUE, &command, &error) ||
	    !sbx_gw_rpc_get_string_array(call->params, "args", &args, &error)) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	g_ptr_array_add(argv, (gpointer)command);
	for (guint i = 0; args != NULL && i < args->len; i++)
		g_ptr_array_add(argv, g_ptr_array_index(args, i));
	g_ptr_array_add(argv, NULL);
	sbx_gw_process_spawn_argv(call, (const gchar *const *)argv->pdata, NULL, NULL, NULL);
}

/* --- processWait --- */

typedef struct {
	SbxGwCall *call;
	SbxGwOutStream *out;
	SbxGwOutStream *err;
	SbxGwSandbox *sandbox;
	guint pid;
	guint pending;
	gint exit_status;
	gint signal;
	GError *error;
} SbxGwWait;

static void
wait_step(SbxGwWait *w)
{
	g_autoptr(JsonBuilder) b = NULL;
	const gchar *name;
	gint code;

	if (--w->pending > 0)
		return;
	if (w->error != NULL) {
		sbx_gw_call_return_error(w->call, w->error);
	} else {
		name = w->exit_status < 0 ? signal_name(w->signal) : NULL;
		code = w->exit_status < 0 ? 128 + w->signal : w->exit_status;
		b = json_builder_new_immutable();
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "success");
		json_builder_add_boolean_value(b, code == 0);
		json_builder_set_member_name(b, "code");
		json_builder_add_int_value(b, code);
		json_builder_set_member_name(b, "signal");
		if (name != NULL)
			json_builder_add_string_value(b, name);
		else
			json_builder_add_null_value(b);
		json_builder_set_member_name(b, "oom");
		json_builder_add_null_value(b);
		json_builder_end_object(b);
		sbx_gw_call_return(w->call, json_builder_get_root(b));
		/* it is gone: a later processKill answers ENOENT */
		g_hash_table_remove(w->sandbox->processes, GUINT_TO_POINTER(w->pid));
	}
	g_clear_object(&w->sandbox);
	g_clear_error(&w->error);
	g_clear_object(&w->out);
	g_clear_object(&w->err);
	g_free(w);
}

static void
stream_done(GObject *source, GAsyncResult *res, gpointer data)
{
	sbx_gw_out_stream_wait_finish(SBX_GW_OUT_STREAM(source), res);
	wait_step(data);
}

static void
wait_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwWait *w = data;
	gboolean timed_out = FALSE;

	if (!sbx_dbus_process1_call_wait_finish(SBX_DBUS_PROCESS1(source), &w->exit_status,
						&w->signal, &timed_out, res, &w->error)) {
		wait_step(w);
		return;
	}
	/* the output and its end go out before the exit status */
	if (w->out != NULL) {
		w->pending++;
		sbx_gw_out_stream_wait_async(w->out, stream_done, w);
	}
	if (w->err != NULL) {
		w->pending++;
		sbx_gw_out_stream_wait_async(w->err, stream_done, w);
	}
	wait_step(w);
}

static SbxGwProcess *
lookup_process(SbxGwCall *call, GError **error)
{
	gint64 pid = 0;
	SbxGwProcess *proc;

	if (!sbx_gw_rpc_get_int(call->params, "pid", TRUE, &pid, error))
		return NULL;
	proc = g_hash_table_lookup(call->conn->sandbox->processes,
				   GUINT_TO_POINTER((guint)MIN(pid, G_MAXUINT)));
	if (proc == NULL)
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "no process %" G_GINT64_FORMAT " (it has exited)", pid);
	return proc;
}

void
sbx_gw_process_wait(SbxGwCall *call)
{
	g_autoptr(GError) error = NULL;
	SbxGwProcess *proc = lookup_process(call, &error);
	SbxGwWait *w;

	if (proc == NULL) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	w = g_new0(SbxGwWait, 1);
	w->call = call;
	w->out = proc->out != NULL ? g_object_ref(proc->out) : NULL;
	w->err = proc->err != NULL ? g_object_ref(proc->err) : NULL;
	w->sandbox = g_object_ref(call->conn->sandbox);
	w->pid = proc->pid;
	w->pending = 1;
	sbx_dbus_process1_call_wait(proc->proxy, NULL, wait_ready, w);
}

/* --- processKill --- */

static void
kill_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwCall *call = data;
	g_autoptr(GError) error = NULL;

	if (!sbx_dbus_process1_call_send_signal_finish(SBX_DBUS_PROCESS1(source), res, &error)) {
		g_autofree gchar *remote = g_dbus_error_get_remote_error(error);
		/* an exited process is ENOENT for the SDK, which ignores it */
		if (g_strcmp0(remote, "org.sandboxd.Error.NotRunning") == 0) {
			sbx_gw_call_return_literal(call, "NotFound", "ENOENT",
						   "the process has exited");
			return;
		}
		sbx_gw_call_return_error(call, error);
		return;
	}
	sbx_gw_call_return(call, NULL);
}

void
sbx_gw_process_kill(SbxGwCall *call)
{
	g_autoptr(GError) error = NULL;
	SbxGwProcess *proc = lookup_process(call, &error);
	const gchar *name = "SIGTERM";
	gint sig;

	if (proc == NULL || !sbx_gw_rpc_get_string(call->params, "signal", FALSE, &name, &error)) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	sig = signal_number(name);
	if (sig == 0) {
		g_autofree gchar *message = g_strdup_printf("unknown signal '%s'", name);
		sbx_gw_call_return_literal(call, "TypeError", "EINVAL", message);
		return;
	}
	/* the group: kill reaches what bash -c started */
	sbx_dbus_process1_call_send_signal(proc->proxy, sig, TRUE, NULL, kill_ready, call);
}
