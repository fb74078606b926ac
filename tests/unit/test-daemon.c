/* the real sandboxd on a private bus with the in-memory test backend: flags,
 * startup errors, create/exec/kill, session sandboxes, SIGTERM
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <fcntl.h>
#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <glib/gstdio.h>
#include <glib-unix.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sbx-test-env.h"

/* generous: only a hang fails on this, never a slow machine */
#define WAIT_US (60 * G_USEC_PER_SEC)

typedef struct {
	SbxTestEnv *env;
	GDBusConnection *conn; /* env's */
} Fixture;

static void
write_conf(Fixture *f, const gchar *contents)
{
	g_autofree gchar *path = g_build_filename(f->env->config_dir, "sandboxd.conf", NULL);
	g_assert_true(g_file_set_contents(path, contents, -1, NULL));
}

static GSubprocess *
spawn_daemon(Fixture *f, GSubprocessFlags flags, gboolean verbose, GError **error)
{
	return g_subprocess_new(flags, error, SANDBOXD, "--address", f->env->bus_address,
				"--config-dir", f->env->config_dir, "--plugin-dir", PLUGIN_DIR,
				"--runtime-dir", f->env->runtime_dir, verbose ? "--verbose" : NULL,
				NULL);
}

static void
wait_for(gboolean (*cond)(Fixture *), Fixture *f)
{
	sbx_test_wait_until((SbxTestCondFunc)cond, f, WAIT_US / G_USEC_PER_SEC);
}

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	f->env = sbx_test_env_new("daemon");
	f->env->plugin_dir = g_strdup(PLUGIN_DIR);
	f->conn = f->env->conn;
	write_conf(f, "[daemon]\nBackend=test\nMaxLifetimeSec=600\n");
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	g_clear_pointer(&f->env, sbx_test_env_free);
}

static gchar *
create_sandbox(GDBusConnection *conn, const gchar *options, GError **error)
{
	return sbx_test_create_sandbox(conn, options, error);
}

static gboolean
run_dir_is_empty(Fixture *f)
{
	g_autoptr(GDir) dir = g_dir_open(f->env->runtime_dir, 0, NULL);
	return dir == NULL || g_dir_read_name(dir) == NULL;
}

/* runs argv; returns (exit_status, signal) and what it wrote */
static gboolean
exec_in(GDBusConnection *conn, const gchar *path, const gchar *const *argv, const gchar *options,
	gint *exit_status, gint *signal_out, gchar **out, gchar **err, GError **error)
{
	g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
	gint in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	gint out_fd = sbx_test_tmp_fd();
	gint err_fd = sbx_test_tmp_fd();
	g_autoptr(GVariant) reply = NULL;

	g_unix_fd_list_append(fds, in_fd, NULL);
	g_unix_fd_list_append(fds, out_fd, NULL);
	g_unix_fd_list_append(fds, err_fd, NULL);
	close(in_fd);
	reply = g_dbus_connection_call_with_unix_fd_list_sync(
	    conn, "org.sandboxd", path, "org.sandboxd.Sandbox1", "Exec",
	    g_variant_new("(^as@a{sv}hhh)", argv, g_variant_new_parsed(options), 0, 1, 2),
	    G_VARIANT_TYPE("(ii)"), G_DBUS_CALL_FLAGS_NONE, -1, fds, NULL, NULL, error);
	if (reply != NULL) {
		g_variant_get(reply, "(ii)", exit_status, signal_out);
		*out = sbx_test_read_fd(out_fd);
		*err = sbx_test_read_fd(err_fd);
	}
	close(out_fd);
	close(err_fd);
	return reply != NULL;
}

/* the daemon must not keep any passed fd once Exec has answered: a pipe
 * reader sees EOF as soon as we close our own write end */
/* how many sandboxes ListSandboxes(filter) returns; -1 after InvalidArgument */
static gint
count_listed(Fixture *f, const gchar *filter)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) list = NULL;
	g_autoptr(GVariant) paths = NULL;
	g_autofree gchar *args = g_strdup_printf("(%s,)", filter);

	list = g_dbus_connection_call_sync(f->conn, "org.sandboxd", "/org/sandboxd/Manager1",
					   "org.sandboxd.Manager1", "ListSandboxes",
					   g_variant_new_parsed(args), G_VARIANT_TYPE("(ao)"),
					   G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
	if (list == NULL) {
		g_assert_cmpstr(g_dbus_error_get_remote_error(error), ==,
				"org.sandboxd.Error.InvalidArgument");
		return -1;
	}
	paths = g_variant_get_child_value(list, 0);
	return (gint)g_variant_n_children(paths);
}

static void
check_pipe_eof(GDBusConnection *conn, const gchar *path)
{
	g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GError) error = NULL;
	const gchar *argv[] = {"echo", "through a pipe", NULL};
	gint p[2];
	gchar buf[256];
	gssize n;
	struct pollfd pfd;

	g_assert_true(g_unix_open_pipe(p, FD_CLOEXEC, NULL));
	g_unix_fd_list_append(fds, p[1], NULL);
	reply = g_dbus_connection_call_with_unix_fd_list_sync(
	    conn, "org.sandboxd", path, "org.sandboxd.Sandbox1", "Exec",
	    g_variant_new("(^as@a{sv}hhh)", argv, g_variant_new_parsed("@a{sv} {}"), -1, 0, -1),
	    G_VARIANT_TYPE("(ii)"), G_DBUS_CALL_FLAGS_NONE, -1, fds, NULL, NULL, &error);
	g_assert_no_error(error);
	/* the list holds a dup of its own */
	g_clear_object(&fds);
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	g_assert_cmpint(n, ==, 15);
	buf[n] = '\0';
	g_assert_cmpstr(buf, ==, "through a pipe\n");
	pfd.fd = p[0];
	pfd.events = POLLIN;
	g_assert_cmpint(poll(&pfd, 1, 60 * 1000), ==, 1);
	g_assert_cmpint(read(p[0], buf, sizeof(buf)), ==, 0);
	close(p[0]);
}

static GVariant *
get_property(Fixture *f, const gchar *path, const gchar *name)
{
	return sbx_test_get_prop(f->conn, path, "org.sandboxd.Sandbox1", name);
}

static void
test_create_exec_kill(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_autofree gchar *id = NULL;
	g_autofree gchar *sandbox_dir = NULL;
	g_autoptr(GVariant) v = NULL;
	g_autoptr(GVariant) list = NULL;
	const gchar *script[] = {"sh", "-c", "echo $FOO $BAR; pwd; echo oops >&2; exit 3", NULL};
	const gchar *suicide[] = {"sh", "-c", "kill -9 $$", NULL};
	gint status = 0, sig = 0;

	sbx_test_env_run_daemon(f->env);
	path = create_sandbox(f->conn,
			      "{'memory': <uint32 2048>, 'vcpus': <uint32 1>, 'timeout': <'5m'>,"
			      " 'labels': <{'team': 'core'}>, 'env': <{'FOO': 'foo', 'BAR': 'x'}>}",
			      &error);
	g_assert_no_error(error);
	g_assert_true(g_str_has_prefix(path, "/org/sandboxd/Sandbox1/sbx"));
	id = g_path_get_basename(path);
	g_assert_cmpuint(strlen(id), ==, 16);
	sandbox_dir = g_build_filename(f->env->runtime_dir, id, NULL);
	g_assert_true(g_file_test(sandbox_dir, G_FILE_TEST_IS_DIR));

	v = get_property(f, path, "State");
	g_assert_cmpstr(g_variant_get_string(v, NULL), ==, "running");
	g_clear_pointer(&v, g_variant_unref);
	v = get_property(f, path, "MemoryMiB");
	g_assert_cmpuint(g_variant_get_uint32(v), ==, 2048);
	g_clear_pointer(&v, g_variant_unref);
	v = get_property(f, path, "VCpus");
	g_assert_cmpuint(g_variant_get_uint32(v), ==, 1);
	g_clear_pointer(&v, g_variant_unref);
	v = get_property(f, path, "ExpiresAt");
	g_assert_cmpuint(g_variant_get_uint64(v), >, (guint64)g_get_real_time());
	g_clear_pointer(&v, g_variant_unref);
	v = get_property(f, path, "Labels");
	g_assert_cmpstr(g_variant_print(v, FALSE), ==, "{'team': 'core'}");
	g_clear_pointer(&v, g_variant_unref);

	/* sandbox env, overridden per exec; cwd; exit code; stderr apart */
	g_assert_true(exec_in(f->conn, path, script, "{'env': <{'BAR': 'bar'}>, 'cwd': <'/'>}",
			      &status, &sig, &out, &err, &error));
	g_assert_no_error(error);
	g_assert_cmpint(status, ==, 3);
	g_assert_cmpint(sig, ==, 0);
	g_assert_cmpstr(out, ==, "foo bar\n/\n");
	g_assert_cmpstr(err, ==, "oops\n");
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);

	g_assert_true(
	    exec_in(f->conn, path, suicide, "@a{sv} {}", &status, &sig, &out, &err, &error));
	g_assert_no_error(error);
	g_assert_cmpint(status, ==, -1);
	g_assert_cmpint(sig, ==, SIGKILL);
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);

	check_pipe_eof(f->conn, path);

	/* bad exec options are refused before anything runs */
	g_assert_false(exec_in(f->conn, path, script, "{'cwd': <'relative'>}", &status, &sig, &out,
			       &err, &error));
	g_assert_true(g_dbus_error_is_remote_error(error));
	g_assert_cmpstr(g_dbus_error_get_remote_error(error), ==,
			"org.sandboxd.Error.InvalidArgument");
	g_clear_error(&error);

	/* ListSandboxes: all running ones, or those matching labels and a state */
	g_assert_cmpint(count_listed(f, "@a{sv} {}"), ==, 1);
	g_assert_cmpint(count_listed(f, "{'labels': <{'team': 'core'}>}"), ==, 1);
	g_assert_cmpint(count_listed(f, "{'labels': <{'team': 'web'}>}"), ==, 0);
	g_assert_cmpint(count_listed(f, "{'labels': <{'team': 'core', 'x': 'y'}>}"), ==, 0);
	g_assert_cmpint(count_listed(f, "{'state': <'running'>}"), ==, 1);
	g_assert_cmpint(count_listed(f, "{'state': <'crashed'>}"), ==, 0);
	g_assert_cmpint(count_listed(f, "{'state': <'sleeping'>}"), ==, -1);
	g_assert_cmpint(count_listed(f, "{'owner': <'me'>}"), ==, -1);
	g_assert_cmpint(count_listed(f, "{'labels': <'team=core'>}"), ==, -1);

	g_clear_pointer(&v, g_variant_unref);
	v = g_dbus_connection_call_sync(f->conn, "org.sandboxd", path, "org.sandboxd.Sandbox1",
					"Kill", NULL, NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL,
					&error);
	g_assert_no_error(error);
	/* Kill returns once every file is gone */
	g_assert_false(g_file_test(sandbox_dir, G_FILE_TEST_EXISTS));
	g_clear_pointer(&v, g_variant_unref);
	v = g_dbus_connection_call_sync(
	    f->conn, "org.sandboxd", "/org/sandboxd/Manager1", "org.sandboxd.Manager1",
	    "GetSandbox", g_variant_new("(s)", id), NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
	g_assert_null(v);
	g_assert_cmpstr(g_dbus_error_get_remote_error(error), ==, "org.sandboxd.Error.NotFound");
}

static void
test_bad_options(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL;

	sbx_test_env_run_daemon(f->env);
	path = create_sandbox(f->conn, "{'memory': <uint32 512>}", &error);
	g_assert_null(path);
	g_assert_cmpstr(g_dbus_error_get_remote_error(error), ==,
			"org.sandboxd.Error.InvalidArgument");
	g_dbus_error_strip_remote_error(error);
	g_assert_cmpstr(error->message, ==, "memory: 512 MiB is out of range (768-4096)");
	g_clear_error(&error);
	path = create_sandbox(f->conn, "{'colour': <'red'>}", &error);
	g_assert_null(path);
	g_assert_cmpstr(g_dbus_error_get_remote_error(error), ==,
			"org.sandboxd.Error.InvalidArgument");
	g_assert_true(run_dir_is_empty(f));
}

static void
test_session_sandbox(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GDBusConnection) client = NULL;
	g_autofree gchar *path = NULL;

	sbx_test_env_run_daemon(f->env);
	client = sbx_test_env_connect(f->env, &error);
	g_assert_no_error(error);
	path = create_sandbox(client, "@a{sv} {}", &error);
	g_assert_no_error(error);
	g_assert_false(run_dir_is_empty(f));

	/* the creator leaves the bus: its session sandbox goes */
	g_dbus_connection_close_sync(client, NULL, &error);
	g_assert_no_error(error);
	wait_for(run_dir_is_empty, f);
}

static void
test_start_failure(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL;

	write_conf(f, "[daemon]\nBackend=test\n[test]\nFailStart=true\n");
	sbx_test_env_run_daemon(f->env);
	path = create_sandbox(f->conn, "@a{sv} {}", &error);
	g_assert_null(path);
	g_assert_cmpstr(g_dbus_error_get_remote_error(error), ==, "org.sandboxd.Error.Backend");
	/* nothing left behind */
	g_assert_true(run_dir_is_empty(f));
}

static void
test_sigterm(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path1 = NULL;
	g_autofree gchar *path2 = NULL;

	sbx_test_env_run_daemon(f->env);
	path1 = create_sandbox(f->conn, "{'timeout': <'10m'>}", &error);
	g_assert_no_error(error);
	path2 = create_sandbox(f->conn, "@a{sv} {}", &error);
	g_assert_no_error(error);
	g_assert_false(run_dir_is_empty(f));

	g_subprocess_send_signal(f->env->daemon, SIGTERM);
	g_assert_true(g_subprocess_wait(f->env->daemon, NULL, &error));
	g_assert_true(g_subprocess_get_if_exited(f->env->daemon));
	g_assert_cmpint(g_subprocess_get_exit_status(f->env->daemon), ==, 0);
	g_clear_object(&f->env->daemon);
	g_assert_true(run_dir_is_empty(f));
}

static void
test_limit(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *first = NULL;
	g_autofree gchar *second = NULL;

	write_conf(f, "[daemon]\nBackend=test\n[limits]\nMaxSandboxes=1\n");
	sbx_test_env_run_daemon(f->env);
	first = create_sandbox(f->conn, "@a{sv} {}", &error);
	g_assert_no_error(error);
	second = create_sandbox(f->conn, "@a{sv} {}", &error);
	g_assert_null(second);
	g_assert_cmpstr(g_dbus_error_get_remote_error(error), ==,
			"org.sandboxd.Error.LimitExceeded");
}

static void
test_boot_timeout(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL;

	/* the backend would take a minute; the daemon gives up after BootTimeoutSec */
	write_conf(f, "[daemon]\nBackend=test\nBootTimeoutSec=5\n[test]\nStartDelayMs=60000\n");
	sbx_test_env_run_daemon(f->env);
	path = create_sandbox(f->conn, "@a{sv} {}", &error);
	g_assert_null(path);
	g_assert_cmpstr(g_dbus_error_get_remote_error(error), ==, "org.sandboxd.Error.Timeout");
	g_assert_true(run_dir_is_empty(f));
}

static void
on_create_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	GError **error = user_data;
	g_autoptr(GVariant) reply =
	    g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, error);
	g_assert_null(reply);
}

static gboolean
run_dir_is_not_empty(Fixture *f)
{
	return !run_dir_is_empty(f);
}

static void
test_sigterm_while_starting(Fixture *f, gconstpointer data)
{
	GError *error = NULL;

	write_conf(f, "[daemon]\nBackend=test\n[test]\nStartDelayMs=60000\n");
	sbx_test_env_run_daemon(f->env);
	g_dbus_connection_call(f->conn, "org.sandboxd", "/org/sandboxd/Manager1",
			       "org.sandboxd.Manager1", "CreateSandbox",
			       g_variant_new_parsed("(@a{sv} {},)"), G_VARIANT_TYPE("(o)"),
			       G_DBUS_CALL_FLAGS_NONE, -1, NULL, on_create_done, &error);
	wait_for(run_dir_is_not_empty, f);

	/* the pending create fails, the half-started sandbox is cleaned up, exit 0 */
	g_subprocess_send_signal(f->env->daemon, SIGTERM);
	while (error == NULL)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpstr(g_dbus_error_get_remote_error(error), ==, "org.sandboxd.Error.SandboxGone");
	g_clear_error(&error);
	g_assert_true(g_subprocess_wait(f->env->daemon, NULL, NULL));
	g_assert_cmpint(g_subprocess_get_exit_status(f->env->daemon), ==, 0);
	g_clear_object(&f->env->daemon);
	g_assert_true(run_dir_is_empty(f));
}

static void
expect_startup_error(Fixture *f, const gchar *const *needles)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	g_autofree gchar *err = NULL;

	proc = spawn_daemon(f, G_SUBPROCESS_FLAGS_STDERR_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE,
			    FALSE, &error);
	g_assert_no_error(error);
	g_assert_true(g_subprocess_communicate_utf8(proc, NULL, NULL, NULL, &err, &error));
	g_assert_no_error(error);
	g_test_message("stderr: %s", err);
	g_assert_true(g_subprocess_get_if_exited(proc));
	g_assert_cmpint(g_subprocess_get_exit_status(proc), !=, 0);
	for (guint i = 0; needles[i] != NULL; i++)
		g_assert_nonnull(strstr(err, needles[i]));
	/* one line */
	g_assert_true(g_str_has_prefix(err, "sandboxd: "));
	g_assert_true(strchr(err, '\n') == err + strlen(err) - 1);
}

static void
test_startup_errors(Fixture *f, gconstpointer data)
{
	g_autofree gchar *conf = g_build_filename(f->env->config_dir, "sandboxd.conf", NULL);
	{
		const gchar *needles[] = {conf, "[daemon]", "BootTimeoutSec", "5-600", NULL};
		write_conf(f, "[daemon]\nBackend=test\nBootTimeoutSec=1\n");
		expect_startup_error(f, needles);
	}
	{
		const gchar *needles[] = {conf, "[test]", "Colour", NULL};
		write_conf(f, "[daemon]\nBackend=test\n[test]\nColour=red\n");
		expect_startup_error(f, needles);
	}
	{
		const gchar *needles[] = {conf, "Backend", "'xen'", "test", NULL};
		write_conf(f, "[daemon]\nBackend=xen\n");
		expect_startup_error(f, needles);
	}
}

static void
test_plugin_dir_env(Fixture *f, gconstpointer data)
{
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *err = NULL;

	/* no --plugin-dir: $SANDBOXD_PLUGIN_DIR is used; a missing folder is named */
	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDERR_PIPE |
					     G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
	g_subprocess_launcher_setenv(launcher, "SANDBOXD_PLUGIN_DIR", "/nonexistent/sbx-plugins",
				     TRUE);
	proc = g_subprocess_launcher_spawn(launcher, &error, SANDBOXD, "--address",
					   f->env->bus_address, "--config-dir", f->env->config_dir,
					   "--runtime-dir", f->env->runtime_dir, NULL);
	g_assert_no_error(error);
	g_assert_true(g_subprocess_communicate_utf8(proc, NULL, NULL, NULL, &err, &error));
	g_assert_cmpint(g_subprocess_get_exit_status(proc), ==, 1);
	g_assert_nonnull(strstr(err, "/nonexistent/sbx-plugins"));
	g_clear_object(&proc);
	g_clear_pointer(&err, g_free);

	/* the real folder through the variable: the test plugin's section is known */
	write_conf(f, "[daemon]\nBackend=test\n[test]\nFailStart=maybe\n");
	g_subprocess_launcher_setenv(launcher, "SANDBOXD_PLUGIN_DIR", PLUGIN_DIR, TRUE);
	proc = g_subprocess_launcher_spawn(launcher, &error, SANDBOXD, "--address",
					   f->env->bus_address, "--config-dir", f->env->config_dir,
					   "--runtime-dir", f->env->runtime_dir, NULL);
	g_assert_no_error(error);
	g_assert_true(g_subprocess_communicate_utf8(proc, NULL, NULL, NULL, &err, &error));
	g_assert_cmpint(g_subprocess_get_exit_status(proc), ==, 1);
	g_assert_nonnull(strstr(err, "[test] FailStart: 'maybe' is not a boolean"));
}

static void
test_version(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *out = NULL;
	g_autoptr(GSubprocess) proc =
	    g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, SANDBOXD, "--version", NULL);
	g_assert_no_error(error);
	g_assert_true(g_subprocess_communicate_utf8(proc, NULL, NULL, &out, NULL, &error));
	g_assert_cmpstr(out, ==, "sandboxd " PACKAGE_VERSION "\n");
	g_assert_cmpint(g_subprocess_get_exit_status(proc), ==, 0);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/daemon/version", test_version);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
	ADD("/daemon/create-exec-kill", test_create_exec_kill);
	ADD("/daemon/bad-options", test_bad_options);
	ADD("/daemon/session-sandbox", test_session_sandbox);
	ADD("/daemon/start-failure", test_start_failure);
	ADD("/daemon/sigterm", test_sigterm);
	ADD("/daemon/limit", test_limit);
	ADD("/daemon/boot-timeout", test_boot_timeout);
	ADD("/daemon/sigterm-while-starting", test_sigterm_while_starting);
	ADD("/daemon/startup-errors", test_startup_errors);
	ADD("/daemon/plugin-dir-env", test_plugin_dir_env);
#undef ADD
	return g_test_run();
}
