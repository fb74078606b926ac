/* Exec calls with pipes, the CLI, and host-side checks for the integration tests.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <gio/gunixfdlist.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>
#include <glib-unix.h>
#include <string.h>
#include <unistd.h>

#include "sbx-test-env.h"

/* a guard, not a measurement: an Exec that never replies fails here */
#define SBX_TEST_EXEC_GUARD_SEC (5 * 60)
/* the reply promises all output was written: EOF must follow at once. If it does
 * not, the daemon kept a copy of the fd; we note it and drain what is there. */
#define SBX_TEST_EOF_GRACE_SEC 5

static guint eof_missing_count;

/* slow guests (apt-get in the debian image under TCG) may raise it */
static guint
exec_guard_sec(void)
{
	const gchar *env = g_getenv("SBX_TEST_EXEC_GUARD_SEC");
	guint64 sec = env != NULL ? g_ascii_strtoull(env, NULL, 10) : 0;
	return sec > 0 && sec < 3600 ? (guint)sec : SBX_TEST_EXEC_GUARD_SEC;
}

guint
sbx_test_exec_eof_missing_count(void)
{
	return eof_missing_count;
}

typedef struct {
	guint *pending;
	GError **io_error;
	GInputStream *in;
	GByteArray *data;
	GCancellable *cancellable;
	gboolean done;
	guint8 chunk[64 * 1024];
} SbxReader;

struct _SbxExecCall {
	gboolean replied;
	guint pending; /* reply, the two readers, stdin */
	GVariant *reply;
	GError *error;
	GError *io_error;
	SbxReader out;
	SbxReader err;
	GOutputStream *in;
	GBytes *input;
};

void
sbx_exec_result_clear(SbxExecResult *res)
{
	g_clear_pointer(&res->out, g_bytes_unref);
	g_clear_pointer(&res->err, g_bytes_unref);
}

static void
reader_clear(SbxReader *reader)
{
	g_clear_object(&reader->in);
	g_clear_object(&reader->cancellable);
	g_clear_pointer(&reader->data, g_byte_array_unref);
}

static void
exec_call_free(SbxExecCall *call)
{
	g_clear_pointer(&call->reply, g_variant_unref);
	g_clear_error(&call->error);
	g_clear_error(&call->io_error);
	reader_clear(&call->out);
	reader_clear(&call->err);
	g_clear_object(&call->in);
	g_clear_pointer(&call->input, g_bytes_unref);
	g_free(call);
}

static void
exec_reply_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	SbxExecCall *call = user_data;
	call->reply = g_dbus_connection_call_with_unix_fd_list_finish(G_DBUS_CONNECTION(source),
								      NULL, result, &call->error);
	call->replied = TRUE;
	call->pending--;
}

static void reader_next(SbxReader *reader);

static void
reader_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	SbxReader *reader = user_data;
	g_autoptr(GError) error = NULL;
	gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), result, &error);

	if (n > 0) {
		g_byte_array_append(reader->data, reader->chunk, (guint)n);
		reader_next(reader);
		return;
	}
	if (n < 0 && !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
	    *reader->io_error == NULL)
		*reader->io_error = g_steal_pointer(&error);
	reader->done = TRUE;
	(*reader->pending)--;
}

static void
reader_next(SbxReader *reader)
{
	g_input_stream_read_async(reader->in, reader->chunk, sizeof(reader->chunk),
				  G_PRIORITY_DEFAULT, reader->cancellable, reader_cb, reader);
}

/* takes @in */
static void
reader_start(SbxReader *reader, GInputStream *in, guint *pending, GError **io_error)
{
	reader->pending = pending;
	reader->io_error = io_error;
	reader->in = in;
	reader->data = g_byte_array_new();
	reader->cancellable = g_cancellable_new();
	(*pending)++;
	reader_next(reader);
}

/* after a cancelled read: whatever sits in the pipe now is the rest of the output */
static void
reader_drain(SbxReader *reader)
{
	gint fd = g_unix_input_stream_get_fd(G_UNIX_INPUT_STREAM(reader->in));
	g_unix_set_fd_nonblocking(fd, TRUE, NULL);
	for (;;) {
		gssize n = read(fd, reader->chunk, sizeof(reader->chunk));
		if (n <= 0)
			break;
		g_byte_array_append(reader->data, reader->chunk, (guint)n);
	}
}

static void
stdin_written_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	SbxExecCall *call = user_data;
	g_autoptr(GError) error = NULL;
	/* a process that does not read its stdin may close it early: fine */
	if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(source), result, NULL, &error))
		g_debug("stdin: %s", error->message);
	g_output_stream_close(G_OUTPUT_STREAM(source), NULL, NULL);
	call->pending--;
}

SbxExecCall *
sbx_test_exec_start(GDBusConnection *conn, const gchar *path, const gchar *const *argv,
		    GVariant *options, GBytes *input)
{
	SbxExecCall *call = g_new0(SbxExecCall, 1);
	g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
	g_autoptr(GError) error = NULL;
	gint in[2], out[2], err[2];

	if (conn == NULL)
		conn = sbx_test_env_get()->conn;
	if (options == NULL)
		options = g_variant_new("a{sv}", NULL);
	if (!g_unix_open_pipe(in, FD_CLOEXEC, &error) ||
	    !g_unix_open_pipe(out, FD_CLOEXEC, &error) ||
	    !g_unix_open_pipe(err, FD_CLOEXEC, &error))
		g_error("pipe: %s", error->message);
	/* the list holds duplicates: our copies of the far ends must go, or no EOF */
	g_assert_cmpint(g_unix_fd_list_append(fds, in[0], NULL), ==, 0);
	g_assert_cmpint(g_unix_fd_list_append(fds, out[1], NULL), ==, 1);
	g_assert_cmpint(g_unix_fd_list_append(fds, err[1], NULL), ==, 2);
	close(in[0]);
	close(out[1]);
	close(err[1]);

	g_dbus_connection_call_with_unix_fd_list(
	    conn, "org.sandboxd", path, "org.sandboxd.Sandbox1", "Exec",
	    g_variant_new("(^as@a{sv}hhh)", argv, options, 0, 1, 2), G_VARIANT_TYPE("(ii)"),
	    G_DBUS_CALL_FLAGS_NONE, G_MAXINT, fds, NULL, exec_reply_cb, call);
	call->pending++;
	reader_start(&call->out, g_unix_input_stream_new(out[0], TRUE), &call->pending,
		     &call->io_error);
	reader_start(&call->err, g_unix_input_stream_new(err[0], TRUE), &call->pending,
		     &call->io_error);

	call->in = g_unix_output_stream_new(in[1], TRUE);
	if (input != NULL && g_bytes_get_size(input) > 0) {
		call->input = g_bytes_ref(input);
		g_output_stream_write_all_async(call->in, g_bytes_get_data(input, NULL),
						g_bytes_get_size(input), G_PRIORITY_DEFAULT, NULL,
						stdin_written_cb, call);
		call->pending++;
	} else {
		g_output_stream_close(call->in, NULL, NULL);
	}
	return call;
}

static gboolean
flag_cb(gpointer user_data)
{
	*(gboolean *)user_data = TRUE;
	return G_SOURCE_REMOVE;
}

/* iterates until *@pending is 0. Once *@finished (the reply came, the process
 * exited), the readers get SBX_TEST_EOF_GRACE_SEC to see EOF; then they are
 * cancelled, counted and drained. FALSE if the guard expired first. */
static gboolean
wait_pending(guint *pending, const gboolean *finished, SbxReader *out, SbxReader *err,
	     const gchar *what)
{
	gboolean timed_out = FALSE;
	gboolean grace_over = FALSE;
	gboolean noted = FALSE;
	guint guard = g_timeout_add_seconds(exec_guard_sec(), flag_cb, &timed_out);
	guint grace = 0;

	while (*pending > 0 && !timed_out) {
		if (*finished && grace == 0)
			grace = g_timeout_add_seconds(SBX_TEST_EOF_GRACE_SEC, flag_cb, &grace_over);
		if (grace_over && !noted && (!out->done || !err->done)) {
			noted = TRUE;
			eof_missing_count++;
			g_printerr("# %s: no EOF on the output pipes %d s after it ended: "
				   "sandboxd still holds them\n",
				   what, SBX_TEST_EOF_GRACE_SEC);
			g_cancellable_cancel(out->cancellable);
			g_cancellable_cancel(err->cancellable);
		}
		g_main_context_iteration(NULL, TRUE);
	}
	if (timed_out)
		return FALSE;
	g_source_remove(guard);
	if (grace != 0 && !grace_over)
		g_source_remove(grace);
	reader_drain(out);
	reader_drain(err);
	return TRUE;
}

gboolean
sbx_test_exec_finish(SbxExecCall *call, SbxExecResult *res, GError **error)
{
	gboolean ok = FALSE;

	if (!wait_pending(&call->pending, &call->replied, &call->out, &call->err, "Exec")) {
		/* the pending callbacks still point at @call: leak it */
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
			    "Exec not done after %d s (reply %s, %u things pending)",
			    exec_guard_sec(), call->replied ? "received" : "missing",
			    call->pending);
		return FALSE;
	}
	memset(res, 0, sizeof(*res));
	if (call->error != NULL) {
		g_propagate_error(error, g_steal_pointer(&call->error));
	} else if (call->io_error != NULL) {
		g_propagate_prefixed_error(error, g_steal_pointer(&call->io_error),
					   "reading the output: ");
	} else {
		g_variant_get(call->reply, "(ii)", &res->exit_status, &res->signal);
		res->out = g_byte_array_free_to_bytes(g_steal_pointer(&call->out.data));
		res->err = g_byte_array_free_to_bytes(g_steal_pointer(&call->err.data));
		ok = TRUE;
	}
	exec_call_free(call);
	return ok;
}

gboolean
sbx_test_exec(GDBusConnection *conn, const gchar *path, const gchar *const *argv, GVariant *options,
	      GBytes *input, SbxExecResult *res, GError **error)
{
	SbxExecCall *call = sbx_test_exec_start(conn, path, argv, options, input);
	return sbx_test_exec_finish(call, res, error);
}

gboolean
sbx_test_sh(const gchar *path, const gchar *script, GBytes *input, SbxExecResult *res,
	    GError **error)
{
	const gchar *argv[] = {"sh", "-c", script, NULL};
	return sbx_test_exec(NULL, path, argv, NULL, input, res, error);
}

typedef struct {
	guint pending; /* exit, the two readers, stdin */
	gboolean exited;
	GError *io_error;
	SbxReader out;
	SbxReader err;
} SbxCliRun;

static void
cli_exited_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	SbxCliRun *run = user_data;
	g_subprocess_wait_finish(G_SUBPROCESS(source), result, NULL);
	run->exited = TRUE;
	run->pending--;
}

static void
cli_stdin_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	SbxCliRun *run = user_data;
	g_output_stream_write_all_finish(G_OUTPUT_STREAM(source), result, NULL, NULL);
	g_output_stream_close(G_OUTPUT_STREAM(source), NULL, NULL);
	run->pending--;
}

static gchar *
bytes_to_utf8(GByteArray *data)
{
	g_byte_array_append(data, (const guint8 *)"", 1);
	return g_utf8_make_valid((const gchar *)data->data, -1);
}

gboolean
sbx_test_cli(const gchar *const *args, const gchar *input, gint *exit_code, gchar **out,
	     gchar **err, GError **error)
{
	SbxTestEnv *env = sbx_test_env_get();
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	const gchar *sandboxctl = g_getenv("SBX_TEST_SANDBOXCTL");
	SbxCliRun *run;
	GOutputStream *in;

	if (sandboxctl == NULL) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
				    "SBX_TEST_SANDBOXCTL is not set");
		return FALSE;
	}
	g_ptr_array_add(argv, (gpointer)sandboxctl);
	g_ptr_array_add(argv, (gpointer) "--address");
	g_ptr_array_add(argv, env->bus_address);
	for (guint i = 0; args[i] != NULL; i++)
		g_ptr_array_add(argv, (gpointer)args[i]);
	g_ptr_array_add(argv, NULL);

	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_PIPE |
					     G_SUBPROCESS_FLAGS_STDOUT_PIPE |
					     G_SUBPROCESS_FLAGS_STDERR_PIPE);
	/* the messages checked below are the untranslated ones */
	g_subprocess_launcher_setenv(launcher, "LC_ALL", "C", TRUE);
	g_subprocess_launcher_unsetenv(launcher, "DBUS_SYSTEM_BUS_ADDRESS");
	proc = g_subprocess_launcher_spawnv(launcher, (const gchar *const *)argv->pdata, error);
	if (proc == NULL)
		return FALSE;

	run = g_new0(SbxCliRun, 1);
	reader_start(&run->out, g_object_ref(g_subprocess_get_stdout_pipe(proc)), &run->pending,
		     &run->io_error);
	reader_start(&run->err, g_object_ref(g_subprocess_get_stderr_pipe(proc)), &run->pending,
		     &run->io_error);
	in = g_subprocess_get_stdin_pipe(proc);
	if (input != NULL) {
		g_output_stream_write_all_async(in, input, strlen(input), G_PRIORITY_DEFAULT, NULL,
						cli_stdin_cb, run);
		run->pending++;
	} else {
		g_output_stream_close(in, NULL, NULL);
	}
	g_subprocess_wait_async(proc, NULL, cli_exited_cb, run);
	run->pending++;
	if (!wait_pending(&run->pending, &run->exited, &run->out, &run->err, argv->pdata[3])) {
		g_subprocess_force_exit(proc);
		/* the pending callbacks still point at @run: leak it */
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
			    "sandboxctl %s not done after %d s", (const gchar *)argv->pdata[3],
			    exec_guard_sec());
		return FALSE;
	}
	if (g_subprocess_get_if_signaled(proc))
		*exit_code = -g_subprocess_get_term_sig(proc);
	else
		*exit_code = g_subprocess_get_exit_status(proc);
	*out = bytes_to_utf8(run->out.data);
	*err = bytes_to_utf8(run->err.data);
	reader_clear(&run->out);
	reader_clear(&run->err);
	g_clear_error(&run->io_error);
	g_free(run);
	return TRUE;
}

gboolean
sbx_test_domain_exists(const gchar *name, GError **error)
{
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_auto(GStrv) lines = NULL;
	gint status = 0;
	const gchar *argv[] = {"virsh", "-q",	 "-c",	   "qemu:///system",
			       "list",	"--all", "--name", NULL};

	if (!g_spawn_sync(NULL, (gchar **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
			  &status, error))
		return FALSE;
	if (!g_spawn_check_wait_status(status, error)) {
		g_prefix_error(error, "virsh list: %s: ", err);
		return FALSE;
	}
	lines = g_strsplit(out, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		if (g_strcmp0(g_strstrip(lines[i]), name) == 0)
			return TRUE;
	}
	return FALSE;
}

/* a qemu-backend QEMU of sandbox @id: `-name ID,...` (libvirt's say -name guest=ID,...) */
static gboolean
qemu_backend_vm_running(const gchar *id)
{
	g_autoptr(GDir) proc = g_dir_open("/proc", 0, NULL);
	g_autofree gchar *want = g_strconcat(id, ",", NULL);
	const gchar *entry;

	while (proc != NULL && (entry = g_dir_read_name(proc)) != NULL) {
		g_autofree gchar *path = NULL;
		g_autofree gchar *cmdline = NULL;
		gsize len = 0;
		gboolean after_name = FALSE;

		if (!g_ascii_isdigit(entry[0]))
			continue;
		/* a zombie has an empty command line: it runs no guest */
		path = g_build_filename("/proc", entry, "cmdline", NULL);
		if (!g_file_get_contents(path, &cmdline, &len, NULL) || len == 0)
			continue;
		if (strstr(cmdline, "qemu") == NULL)
			continue;
		for (gsize off = 0; off < len; off += strlen(cmdline + off) + 1) {
			const gchar *arg = cmdline + off;
			if (after_name && g_str_has_prefix(arg, want))
				return TRUE;
			after_name = g_strcmp0(arg, "-name") == 0;
		}
	}
	return FALSE;
}

gboolean
sbx_test_vm_exists(const gchar *backend, const gchar *id, GError **error)
{
	if (backend == NULL)
		backend = sbx_test_backend();
	if (g_strcmp0(backend, "libvirt") == 0)
		return sbx_test_domain_exists(id, error);
	if (g_strcmp0(backend, "qemu") == 0)
		return qemu_backend_vm_running(id);
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
		    "no way to tell whether a %s VM exists", backend);
	return FALSE;
}

gboolean
sbx_test_backend_probe(GError **error)
{
	const gchar *backend = sbx_test_backend();
	g_autofree gchar *qemu = NULL;

	if (g_strcmp0(backend, "libvirt") == 0) {
		g_autoptr(GError) local = NULL;
		if (!sbx_test_domain_exists("sandboxd-integration-probe", &local) &&
		    local != NULL) {
			g_propagate_prefixed_error(error, g_steal_pointer(&local),
						   "qemu:///system does not answer: ");
			return FALSE;
		}
		return TRUE;
	}
	if (g_strcmp0(backend, "qemu") == 0) {
		qemu = g_find_program_in_path("qemu-system-x86_64");
		if (qemu == NULL) {
			g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
					    "qemu-system-x86_64 is not installed");
			return FALSE;
		}
		if (access("/dev/net/tun", R_OK | W_OK) != 0) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "/dev/net/tun: %s",
				    g_strerror(errno));
			return FALSE;
		}
		return TRUE;
	}
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
		    "SBX_TEST_BACKEND=%s: not libvirt or qemu", backend);
	return FALSE;
}

GArray *
sbx_test_find_qemu(const gchar *name)
{
	GArray *pids = g_array_new(FALSE, FALSE, sizeof(gint));
	g_autoptr(GDir) proc = g_dir_open("/proc", 0, NULL);
	const gchar *entry;

	while (proc != NULL && (entry = g_dir_read_name(proc)) != NULL) {
		g_autofree gchar *path = NULL;
		g_autofree gchar *cmdline = NULL;
		gsize len = 0;
		gboolean is_qemu = FALSE;
		gboolean mentions = FALSE;

		if (!g_ascii_isdigit(entry[0]))
			continue;
		path = g_build_filename("/proc", entry, "cmdline", NULL);
		if (!g_file_get_contents(path, &cmdline, &len, NULL) || len == 0)
			continue;
		for (gsize off = 0; off < len; off += strlen(cmdline + off) + 1) {
			const gchar *arg = cmdline + off;
			if (off == 0 && strstr(arg, "qemu") != NULL)
				is_qemu = TRUE;
			if (strstr(arg, name) != NULL)
				mentions = TRUE;
		}
		if (is_qemu && mentions) {
			gint pid = atoi(entry);
			g_array_append_val(pids, pid);
		}
	}
	return pids;
}

static void
list_files_rec(const gchar *root, const gchar *rel, GPtrArray *files)
{
	g_autofree gchar *path = g_build_filename(root, rel, NULL);
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	const gchar *entry;

	while (dir != NULL && (entry = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *child_rel = g_build_filename(rel, entry, NULL);
		g_autofree gchar *child = g_build_filename(root, child_rel, NULL);
		g_ptr_array_add(files, g_strdup(child_rel));
		if (g_file_test(child, G_FILE_TEST_IS_DIR) &&
		    !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
			list_files_rec(root, child_rel, files);
	}
}

static gint
cmp_str(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const gchar *const *)a, *(const gchar *const *)b);
}

GPtrArray *
sbx_test_list_files(const gchar *dir)
{
	GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
	list_files_rec(dir, "", files);
	g_ptr_array_sort(files, cmp_str);
	return files;
}

gchar *
sbx_test_bytes_to_str(GBytes *bytes)
{
	gsize len = 0;
	const gchar *data = bytes != NULL ? g_bytes_get_data(bytes, &len) : NULL;
	return g_strndup(data != NULL ? data : "", len);
}

gchar *
sbx_test_sh_ok(const gchar *path, const gchar *script)
{
	g_autoptr(GError) error = NULL;
	SbxExecResult res = {0};
	g_autofree gchar *err = NULL;
	gchar *out;

	if (!sbx_test_sh(path, script, NULL, &res, &error))
		g_error("'%s': %s", script, error->message);
	err = sbx_test_bytes_to_str(res.err);
	if (res.exit_status != 0 || res.signal != 0)
		g_error("'%s' failed (status %d, signal %d): %s", script, res.exit_status,
			res.signal, err);
	out = sbx_test_bytes_to_str(res.out);
	sbx_exec_result_clear(&res);
	return out;
}

gchar *
sbx_test_read_log(const gchar *path, const gchar *which)
{
	g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GString) text = g_string_new(NULL);
	gchar buf[4096];
	gssize n;
	gint p[2];

	g_assert_true(g_unix_open_pipe(p, FD_CLOEXEC, NULL));
	g_unix_fd_list_append(fds, p[1], NULL);
	close(p[1]);
	reply = g_dbus_connection_call_with_unix_fd_list_sync(
	    sbx_test_env_get()->conn, "org.sandboxd", path, "org.sandboxd.Sandbox1", "ReadLog",
	    g_variant_new("(sh@a{sv})", which, 0, g_variant_new_parsed("@a{sv} {}")), NULL,
	    G_DBUS_CALL_FLAGS_NONE, -1, fds, NULL, NULL, &error);
	g_assert_no_error(error);
	g_clear_object(&fds);
	while ((n = read(p[0], buf, sizeof(buf))) > 0)
		g_string_append_len(text, buf, n);
	close(p[0]);
	return g_string_free(g_steal_pointer(&text), FALSE);
}

/* libvirtd removes a domain by itself once its QEMU exited (the backend does not
 * wait for that); a qemu-backend QEMU goes right after its SIGKILL */
void
sbx_test_wait_vm_gone(const gchar *id, guint timeout_s)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_s * G_USEC_PER_SEC;

	for (;;) {
		g_autoptr(GError) error = NULL;
		gboolean exists = sbx_test_vm_exists(NULL, id, &error);

		g_assert_no_error(error);
		if (!exists)
			return;
		if (g_get_monotonic_time() > deadline)
			g_error("the VM of %s still exists %u s after it was destroyed", id,
				timeout_s);
		g_usleep(100 * 1000);
	}
}
