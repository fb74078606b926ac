/* Spawn and org.sandboxd.Process1 against the real sandboxd on a private
 * bus with the test backend (the agent runs on the host in --listen mode):
 * wait, exit status, signals, kill, timeout, detach and reattach, the
 * spawning client leaving, pty size and resize, Exec with process options.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <fcntl.h>
#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "sbx-test-env.h"

/* generous: only a hang fails on this, never a slow machine */
#define WAIT_MS (60 * 1000)

typedef struct {
	SbxTestEnv *env;
	GDBusConnection *conn; /* env's */
	gchar *sandbox;
} Fixture;

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;

	f->env = sbx_test_env_new("spawn");
	f->env->plugin_dir = g_strdup(PLUGIN_DIR);
	f->conn = f->env->conn;
	g_assert_true(sbx_test_env_write_config(
	    f->env, "[daemon]\nBackend=test\nMaxLifetimeSec=600\n", &error));
	g_assert_true(sbx_test_env_start_daemon(f->env, &error));
	g_assert_no_error(error);
	reply = g_dbus_connection_call_sync(
	    f->conn, "org.sandboxd", "/org/sandboxd/Manager1", "org.sandboxd.Manager1",
	    "CreateSandbox", g_variant_new_parsed("({'timeout': <'5m'>},)"), G_VARIANT_TYPE("(o)"),
	    G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
	g_assert_no_error(error);
	g_variant_get(reply, "(o)", &f->sandbox);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	g_clear_pointer(&f->env, sbx_test_env_free);
	g_free(f->sandbox);
}

/* Spawn with stdin/stdout/stderr fds (-1 = none); returns the object path */
static gchar *
spawn_on(GDBusConnection *conn, const gchar *sandbox, const gchar *const *argv,
	 const gchar *options, gint in_fd, gint out_fd, gint err_fd, GError **error)
{
	g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
	gint h[3] = {-1, -1, -1};
	gint src[3] = {in_fd, out_fd, err_fd};
	g_autoptr(GVariant) reply = NULL;
	gchar *path = NULL;

	for (guint i = 0; i < 3; i++) {
		if (src[i] >= 0)
			h[i] = g_unix_fd_list_append(fds, src[i], NULL);
	}
	reply = g_dbus_connection_call_with_unix_fd_list_sync(
	    conn, "org.sandboxd", sandbox, "org.sandboxd.Sandbox1", "Spawn",
	    g_variant_new("(^as@a{sv}hhh)", argv, g_variant_new_parsed(options), h[0], h[1], h[2]),
	    G_VARIANT_TYPE("(o)"), G_DBUS_CALL_FLAGS_NONE, -1, fds, NULL, NULL, error);
	if (reply != NULL)
		g_variant_get(reply, "(o)", &path);
	return path;
}

static void
wait_process(GDBusConnection *conn, const gchar *path, gint *status, gint *sig, gboolean *timed_out)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
	    conn, "org.sandboxd", path, "org.sandboxd.Process1", "Wait", NULL,
	    G_VARIANT_TYPE("(iib)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
	g_assert_no_error(error);
	g_variant_get(reply, "(iib)", status, sig, timed_out);
}

static GVariant *
call(GDBusConnection *conn, const gchar *path, const gchar *iface, const gchar *method,
     GVariant *args, GError **error)
{
	return sbx_test_call(conn, path, iface, method, args, NULL, error);
}

static GVariant *
prop(GDBusConnection *conn, const gchar *path, const gchar *name)
{
	return sbx_test_get_prop(conn, path, "org.sandboxd.Process1", name);
}

/* reads until @needle shows up (or EOF/timeout); returns everything read */
static gchar *
read_until(gint fd, const gchar *needle)
{
	GString *s = g_string_new(NULL);
	gint64 deadline = g_get_monotonic_time() + WAIT_MS * 1000;
	while (needle == NULL || strstr(s->str, needle) == NULL) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		gchar buf[4096];
		gssize n;
		gint left = (gint)((deadline - g_get_monotonic_time()) / 1000);
		if (left <= 0 || poll(&p, 1, left) <= 0)
			break;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		g_string_append_len(s, buf, n);
	}
	return g_string_free(s, FALSE);
}

static void
test_wait_and_list(Fixture *f, gconstpointer data)
{
	const gchar *argv[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
	g_autoptr(GError) error = NULL;
	gint o[2], e[2], status, sig;
	gboolean to;
	g_autofree gchar *path = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_autoptr(GVariant) list = NULL;
	g_autoptr(GVariant) pid = NULL;
	g_autoptr(GVariant) state = NULL;
	g_autoptr(GVariant) argv_prop = NULL;
	g_autofree const gchar **paths = NULL;

	g_assert_true(g_unix_open_pipe(o, FD_CLOEXEC, NULL));
	g_assert_true(g_unix_open_pipe(e, FD_CLOEXEC, NULL));
	path = spawn_on(f->conn, f->sandbox, argv, "@a{sv} {}", -1, o[1], e[1], &error);
	g_assert_no_error(error);
	g_assert_true(g_str_has_prefix(path, f->sandbox));
	g_assert_true(strstr(path, "/Process/") != NULL);
	close(o[1]);
	close(e[1]);
	pid = prop(f->conn, path, "Pid");
	g_assert_cmpuint(g_variant_get_uint32(pid), >, 0);
	wait_process(f->conn, path, &status, &sig, &to);
	g_assert_cmpint(status, ==, 3);
	g_assert_cmpint(sig, ==, 0);
	g_assert_false(to);
	/* output reached the fds; the daemon kept no copy (EOF) */
	out = read_until(o[0], NULL);
	err = read_until(e[0], NULL);
	g_assert_cmpstr(out, ==, "out\n");
	g_assert_cmpstr(err, ==, "err\n");
	/* a second Wait answers at once */
	wait_process(f->conn, path, &status, &sig, &to);
	g_assert_cmpint(status, ==, 3);
	state = prop(f->conn, path, "State");
	g_assert_cmpstr(g_variant_get_string(state, NULL), ==, "exited");
	argv_prop = prop(f->conn, path, "Argv");
	g_assert_cmpstr(g_variant_get_strv(argv_prop, NULL)[2], ==, argv[2]);
	list = call(f->conn, f->sandbox, "org.sandboxd.Sandbox1", "ListProcesses", NULL, &error);
	g_assert_no_error(error);
	g_variant_get(list, "(^a&o)", &paths);
	g_assert_true(g_strv_contains(paths, path));
	close(o[0]);
	close(e[0]);
}

static void
test_errors(Fixture *f, gconstpointer data)
{
	const gchar *missing[] = {"/nonexistent/program", NULL};
	const gchar *echo[] = {"echo", NULL};
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL;

	path = spawn_on(f->conn, f->sandbox, missing, "@a{sv} {}", -1, -1, -1, &error);
	g_assert_null(path);
	g_assert_true(g_dbus_error_is_remote_error(error));
	g_assert_cmpstr(g_dbus_error_get_remote_error(error), ==, "org.sandboxd.Error.NotFound");
	g_clear_error(&error);
	path = spawn_on(f->conn, f->sandbox, echo, "{'pty': <'yes'>}", -1, -1, -1, &error);
	g_assert_null(path);
	g_assert_cmpstr(g_dbus_error_get_remote_error(error), ==,
			"org.sandboxd.Error.InvalidArgument");
	g_clear_error(&error);
	/* a handle that names no passed descriptor */
	{
		g_autoptr(GVariant) r = g_dbus_connection_call_sync(
		    f->conn, "org.sandboxd", f->sandbox, "org.sandboxd.Sandbox1", "Spawn",
		    g_variant_new("(^as@a{sv}hhh)", echo, g_variant_new_parsed("@a{sv} {}"), 5, -1,
				  -1),
		    G_VARIANT_TYPE("(o)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
		g_assert_null(r);
		g_assert_cmpstr(g_dbus_error_get_remote_error(error), ==,
				"org.sandboxd.Error.InvalidArgument");
		g_clear_error(&error);
	}
}

static void
test_signals(Fixture *f, gconstpointer data)
{
	const gchar *argv[] = {"sleep", "100", NULL};
	g_autoptr(GError) error = NULL;
	g_autofree gchar *p1 = NULL;
	g_autofree gchar *p2 = NULL;
	g_autoptr(GVariant) r = NULL;
	gint status, sig;
	gboolean to;

	p1 = spawn_on(f->conn, f->sandbox, argv, "@a{sv} {}", -1, -1, -1, &error);
	g_assert_no_error(error);
	r = call(f->conn, p1, "org.sandboxd.Process1", "SendSignal",
		 g_variant_new("(ib)", 15, FALSE), &error);
	g_assert_no_error(error);
	wait_process(f->conn, p1, &status, &sig, &to);
	g_assert_cmpint(status, ==, -1);
	g_assert_cmpint(sig, ==, SIGTERM);
	g_assert_false(to);
	/* after exit: NotRunning */
	g_clear_pointer(&r, g_variant_unref);
	r = call(f->conn, p1, "org.sandboxd.Process1", "SendSignal",
		 g_variant_new("(ib)", 15, FALSE), &error);
	g_assert_cmpstr(g_dbus_error_get_remote_error(error), ==, "org.sandboxd.Error.NotRunning");
	g_clear_error(&error);

	p2 = spawn_on(f->conn, f->sandbox, argv, "@a{sv} {}", -1, -1, -1, &error);
	g_assert_no_error(error);
	r = call(f->conn, p2, "org.sandboxd.Process1", "SendSignal", g_variant_new("(ib)", 0, TRUE),
		 &error);
	g_assert_cmpstr(g_dbus_error_get_remote_error(error), ==,
			"org.sandboxd.Error.InvalidArgument");
	g_clear_error(&error);
	r = call(f->conn, p2, "org.sandboxd.Process1", "ResizePty", g_variant_new("(uu)", 10, 10),
		 &error);
	g_assert_cmpstr(g_dbus_error_get_remote_error(error), ==,
			"org.sandboxd.Error.InvalidArgument");
	g_clear_error(&error);
	r = call(f->conn, p2, "org.sandboxd.Process1", "Kill", NULL, &error);
	g_assert_no_error(error);
	wait_process(f->conn, p2, &status, &sig, &to);
	g_assert_cmpint(sig, ==, SIGKILL);
}

static void
test_timeout(Fixture *f, gconstpointer data)
{
	/* the child outlives the shell unless the whole group is killed */
	const gchar *argv[] = {"sh", "-c", "sleep 100 & echo $!; wait", NULL};
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *out = NULL;
	gint o[2], status, sig;
	gboolean to;
	gint64 child, deadline;

	g_assert_true(g_unix_open_pipe(o, FD_CLOEXEC, NULL));
	/* long enough for the shell to start its child and say so on a loaded host */
	path = spawn_on(f->conn, f->sandbox, argv, "{'timeout': <'5s'>}", -1, o[1], -1, &error);
	g_assert_no_error(error);
	close(o[1]);
	wait_process(f->conn, path, &status, &sig, &to);
	g_assert_true(to);
	g_assert_cmpint(sig, ==, SIGKILL);
	out = read_until(o[0], NULL);
	close(o[0]);
	/* the agent runs on this host here: the background child is gone too */
	child = g_ascii_strtoll(out, NULL, 10);
	g_assert_cmpint(child, >, 0);
	/* killed with its group, then reaped by whoever adopted it: bounded */
	deadline = g_get_monotonic_time() + WAIT_MS * 1000;
	while (kill((pid_t)child, 0) == 0 && g_get_monotonic_time() < deadline)
		g_usleep(10 * 1000);
	g_assert_cmpint(kill((pid_t)child, 0), <, 0);
}

static void
test_detach(Fixture *f, gconstpointer data)
{
	const gchar *argv[] = {"sh", "-c", "echo first; read x; echo second; sleep 100", NULL};
	const gchar *sleeper[] = {"sleep", "100", NULL};
	g_autoptr(GDBusConnection) other = sbx_test_env_new_client(f->env);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *detached = NULL;
	g_autofree gchar *bound = NULL;
	g_autofree gchar *got = NULL;
	g_autofree gchar *replay = NULL;
	g_autoptr(GVariant) state = NULL;
	g_autoptr(GVariant) r = NULL;
	g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
	gint in[2], o[2], a[2], status, sig;
	gboolean to;

	g_assert_true(g_unix_open_pipe(in, FD_CLOEXEC, NULL));
	g_assert_true(g_unix_open_pipe(o, FD_CLOEXEC, NULL));
	detached = spawn_on(other, f->sandbox, argv, "{'detach': <true>}", in[0], o[1], -1, &error);
	g_assert_no_error(error);
	bound = spawn_on(other, f->sandbox, sleeper, "@a{sv} {}", -1, -1, -1, &error);
	g_assert_no_error(error);
	close(in[0]);
	close(o[1]);
	got = read_until(o[0], "first\n");
	g_assert_cmpstr(got, ==, "first\n");
	/* the spawning client and its reader go away */
	close(o[0]);
	g_assert_true(g_dbus_connection_close_sync(other, NULL, NULL));
	/* the bound one is killed, the detached one keeps running */
	wait_process(f->conn, bound, &status, &sig, &to);
	g_assert_cmpint(sig, ==, SIGKILL);
	state = prop(f->conn, detached, "State");
	g_assert_cmpstr(g_variant_get_string(state, NULL), ==, "running");
	g_clear_pointer(&state, g_variant_unref);
	state = prop(f->conn, detached, "Detached");
	g_assert_true(g_variant_get_boolean(state));

	/* reattach: the ring replays "first", then live output follows */
	g_assert_true(g_unix_open_pipe(a, FD_CLOEXEC, NULL));
	g_unix_fd_list_append(fds, a[1], NULL);
	close(a[1]);
	r = g_dbus_connection_call_with_unix_fd_list_sync(
	    f->conn, "org.sandboxd", detached, "org.sandboxd.Process1", "Attach",
	    g_variant_new("(hh)", 0, -1), NULL, G_DBUS_CALL_FLAGS_NONE, -1, fds, NULL, NULL,
	    &error);
	g_assert_no_error(error);
	g_clear_object(&fds);
	g_assert_cmpint(write(in[1], "go\n", 3), ==, 3);
	replay = read_until(a[0], "second\n");
	g_assert_cmpstr(replay, ==, "first\nsecond\n");
	g_clear_pointer(&r, g_variant_unref);
	r = call(f->conn, detached, "org.sandboxd.Process1", "Kill", NULL, &error);
	g_assert_no_error(error);
	wait_process(f->conn, detached, &status, &sig, &to);
	g_assert_cmpint(sig, ==, SIGKILL);
	/* the stream ended: the attached reader sees EOF */
	g_free(replay);
	replay = read_until(a[0], NULL);
	g_assert_cmpstr(replay, ==, "");
	close(a[0]);
	close(in[1]);

	/* Attach on a process that is not detached */
	g_clear_pointer(&r, g_variant_unref);
	r = g_dbus_connection_call_sync(f->conn, "org.sandboxd", bound, "org.sandboxd.Process1",
					"Attach", g_variant_new("(hh)", -1, -1), NULL,
					G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
	g_assert_cmpstr(g_dbus_error_get_remote_error(error), ==,
			"org.sandboxd.Error.InvalidArgument");
}

static void
test_pty(Fixture *f, gconstpointer data)
{
	const gchar *argv[] = {"sh", "-c", "stty size; read x; stty size; tty -s && echo isatty",
			       NULL};
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *first = NULL;
	g_autofree gchar *rest = NULL;
	g_autoptr(GVariant) r = NULL;
	gint in[2], o[2], status, sig;
	gboolean to;

	g_assert_true(g_unix_open_pipe(in, FD_CLOEXEC, NULL));
	g_assert_true(g_unix_open_pipe(o, FD_CLOEXEC, NULL));
	path = spawn_on(f->conn, f->sandbox, argv,
			"{'pty': <true>, 'rows': <uint32 33>, 'cols': <uint32 101>}", in[0], o[1],
			-1, &error);
	g_assert_no_error(error);
	close(in[0]);
	close(o[1]);
	first = read_until(o[0], "33 101");
	g_assert_nonnull(strstr(first, "33 101"));
	r = call(f->conn, path, "org.sandboxd.Process1", "ResizePty",
		 g_variant_new("(uu)", 50, 120), &error);
	g_assert_no_error(error);
	/* the terminal echoes what we type */
	g_assert_cmpint(write(in[1], "typed\n", 6), ==, 6);
	rest = read_until(o[0], "isatty");
	g_assert_nonnull(strstr(rest, "typed"));
	g_assert_nonnull(strstr(rest, "50 120"));
	wait_process(f->conn, path, &status, &sig, &to);
	g_assert_cmpint(status, ==, 0);
	close(in[1]);
	close(o[0]);
}

static void
test_exec_options(Fixture *f, gconstpointer data)
{
	const gchar *argv[] = {"sh", "-c", "echo to-stderr >&2; env; sleep 100", NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
	g_autoptr(GVariant) reply = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *remote = NULL;
	gint o[2], status = 0, sig = 0;

	g_assert_true(g_unix_open_pipe(o, FD_CLOEXEC, NULL));
	g_unix_fd_list_append(fds, o[1], NULL);
	close(o[1]);
	/* the timeout fires after the output is out, even on a loaded host */
	reply = g_dbus_connection_call_with_unix_fd_list_sync(
	    f->conn, "org.sandboxd", f->sandbox, "org.sandboxd.Sandbox1", "Exec",
	    g_variant_new("(^as@a{sv}hhh)", argv,
			  g_variant_new_parsed("{'timeout': <uint32 3000>, 'stderr': <'merged'>, "
					       "'clear_env': <true>, 'env': <{'ONLY': 'me'}>}"),
			  -1, 0, -1),
	    G_VARIANT_TYPE("(ii)"), G_DBUS_CALL_FLAGS_NONE, -1, fds, NULL, NULL, &error);
	/* the timeout killed it: a named error, not a plain signal 9 */
	g_assert_null(reply);
	remote = g_dbus_error_get_remote_error(error);
	g_assert_cmpstr(remote, ==, "org.sandboxd.Error.TimedOut");
	g_assert_nonnull(strstr(error->message, "signal 9"));
	g_clear_error(&error);
	g_clear_pointer(&remote, g_free);
	g_clear_object(&fds);
	out = read_until(o[0], NULL);
	g_assert_nonnull(strstr(out, "to-stderr\n"));
	g_assert_nonnull(strstr(out, "ONLY=me"));
	g_assert_null(strstr(out, "HOME=/root"));
	close(o[0]);

	/* done well within its timeout: the ordinary reply */
	{
		const gchar *quick[] = {"sh", "-c", "exit 3", NULL};
		reply = g_dbus_connection_call_sync(
		    f->conn, "org.sandboxd", f->sandbox, "org.sandboxd.Sandbox1", "Exec",
		    g_variant_new("(^as@a{sv}hhh)", quick,
				  g_variant_new_parsed("{'timeout': <'60s'>}"), -1, -1, -1),
		    G_VARIANT_TYPE("(ii)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
		g_assert_no_error(error);
		g_variant_get(reply, "(ii)", &status, &sig);
		g_assert_cmpint(status, ==, 3);
		g_assert_cmpint(sig, ==, 0);
	}

	g_clear_pointer(&reply, g_variant_unref);
	reply = g_dbus_connection_call_sync(
	    f->conn, "org.sandboxd", f->sandbox, "org.sandboxd.Sandbox1", "Exec",
	    g_variant_new("(^as@a{sv}hhh)", argv, g_variant_new_parsed("{'detach': <true>}"), -1,
			  -1, -1),
	    G_VARIANT_TYPE("(ii)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
	g_assert_cmpstr(g_dbus_error_get_remote_error(error), ==,
			"org.sandboxd.Error.InvalidArgument");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/spawn/wait-and-list", Fixture, NULL, fixture_setup, test_wait_and_list,
		   fixture_teardown);
	g_test_add("/spawn/errors", Fixture, NULL, fixture_setup, test_errors, fixture_teardown);
	g_test_add("/spawn/signals", Fixture, NULL, fixture_setup, test_signals, fixture_teardown);
	g_test_add("/spawn/timeout", Fixture, NULL, fixture_setup, test_timeout, fixture_teardown);
	g_test_add("/spawn/detach", Fixture, NULL, fixture_setup, test_detach, fixture_teardown);
	g_test_add("/spawn/pty", Fixture, NULL, fixture_setup, test_pty, fixture_teardown);
	g_test_add("/spawn/exec-options", Fixture, NULL, fixture_setup, test_exec_options,
		   fixture_teardown);
	return g_test_run();
}
