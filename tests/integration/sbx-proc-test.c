/* integration tests of Spawn / org.sandboxd.Process1 in a real VM: the timeout kills
 * the whole process group, signals, detach surviving the spawning client (and only
 * with detach), a pty's echo and size, user switching, a CPU hog and a fork bomb
 * (bounded by the guest's pids.max) while another Exec still completes, and killing
 * QEMU under a running Exec and Wait. One sandbox of the minimal image is shared; the
 * last test kills it.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixfdlist.h>
#include <glib-unix.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbx-test-env.h"
#include "sbx-test-main.h"
#include "sbx-test-supervisor.h"

/* [limits] GuestPidsMax for this run (the default is 2048) */
#define PROC_TEST_PIDS_MAX 300

#define PROCESS_IFACE "org.sandboxd.Process1"
/* only a hang fails on this, never a slow machine */
#define READ_WAIT_MS (300 * 1000)

static gchar *sb_path;
static gchar *sb_id;

/* `sh -c SCRIPT` in the shared sandbox; asserts exit 0; returns stdout */
static gchar *
sh_ok(const gchar *script)
{
	return sbx_test_sh_ok(sb_path, script);
}

/* argv directly, no shell: works even when nothing can fork in the sandbox cgroup */
static gchar *
run_ok(const gchar *const *argv)
{
	g_autoptr(GError) error = NULL;
	SbxExecResult res = {0};
	gchar *out;

	if (!sbx_test_exec(NULL, sb_path, argv, NULL, NULL, &res, &error))
		g_error("'%s': %s", argv[0], error->message);
	g_assert_cmpint(res.exit_status, ==, 0);
	out = sbx_test_bytes_to_str(res.out);
	sbx_exec_result_clear(&res);
	return out;
}

static GDBusConnection *
new_connection(void)
{
	g_autoptr(GError) error = NULL;
	GDBusConnection *c = g_dbus_connection_new_for_address_sync(
	    sbx_test_env_get()->bus_address,
	    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
		G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
	    NULL, NULL, &error);
	g_assert_no_error(error);
	g_dbus_connection_set_exit_on_close(c, FALSE);
	return c;
}

/* Spawn; fds -1 = none */
static gchar *
spawn(GDBusConnection *conn, const gchar *const *argv, const gchar *options, gint in_fd,
      gint out_fd, GError **error)
{
	g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
	g_autoptr(GVariant) reply = NULL;
	gint h_in = in_fd >= 0 ? g_unix_fd_list_append(fds, in_fd, NULL) : -1;
	gint h_out = out_fd >= 0 ? g_unix_fd_list_append(fds, out_fd, NULL) : -1;
	gchar *path = NULL;

	reply = g_dbus_connection_call_with_unix_fd_list_sync(
	    conn != NULL ? conn : sbx_test_env_get()->conn, "org.sandboxd", sb_path,
	    "org.sandboxd.Sandbox1", "Spawn",
	    g_variant_new("(^as@a{sv}hhh)", argv, g_variant_new_parsed(options), h_in, h_out, -1),
	    G_VARIANT_TYPE("(o)"), G_DBUS_CALL_FLAGS_NONE, -1, fds, NULL, NULL, error);
	if (reply != NULL)
		g_variant_get(reply, "(o)", &path);
	return path;
}

static GVariant *
pcall(const gchar *path, const gchar *method, GVariant *args, const GVariantType *type,
      GError **error)
{
	return g_dbus_connection_call_sync(sbx_test_env_get()->conn, "org.sandboxd", path,
					   PROCESS_IFACE, method, args, type,
					   G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
}

static void
wait_ok(const gchar *path, gint *status, gint *sig, gboolean *timed_out)
{
	g_autoptr(GError) error = NULL;
	/* it blocks until the process ends: not D-Bus's default 25 s (a fork
	 * bomb under TCG takes its time to die); the meson timeout bounds it */
	g_autoptr(GVariant) r = g_dbus_connection_call_sync(
	    sbx_test_env_get()->conn, "org.sandboxd", path, PROCESS_IFACE, "Wait", NULL,
	    G_VARIANT_TYPE("(iib)"), G_DBUS_CALL_FLAGS_NONE, G_MAXINT, NULL, &error);
	g_assert_no_error(error);
	g_variant_get(r, "(iib)", status, sig, timed_out);
}

static gchar *
read_until(gint fd, const gchar *needle)
{
	GString *s = g_string_new(NULL);
	gint64 deadline = g_get_monotonic_time() + READ_WAIT_MS * 1000ll;
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

/* busybox ps in the guest: is a process with this exact argument running? */
static gboolean
guest_runs(const gchar *marker)
{
	g_autofree gchar *script =
	    g_strdup_printf("ps -o pid,args | grep -v grep | grep -c -- '%s' || true", marker);
	g_autofree gchar *out = sh_ok(script);
	return g_ascii_strtoll(out, NULL, 10) > 0;
}

static void
test_timeout_group(void)
{
	/* two background sleepers: only a kill of the whole group gets them */
	const gchar *argv[] = {"sh", "-c", "sleep 1001 & sleep 1001 & echo ready; wait", NULL};
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *out = NULL;
	gint o[2], status, sig;
	gboolean to;

	g_assert_true(g_unix_open_pipe(o, FD_CLOEXEC, NULL));
	/* long enough for the shell to start its sleepers on a loaded host */
	path = spawn(NULL, argv, "{'timeout': <'10s'>}", -1, o[1], &error);
	g_assert_no_error(error);
	close(o[1]);
	out = read_until(o[0], "ready");
	g_assert_nonnull(strstr(out, "ready"));
	wait_ok(path, &status, &sig, &to);
	g_assert_true(to);
	g_assert_cmpint(sig, ==, SIGKILL);
	g_assert_cmpint(status, ==, -1);
	close(o[0]);
	/* no survivors */
	g_assert_false(guest_runs("sleep 1001"));
}

static void
test_signals(void)
{
	const gchar *argv[] = {"sh", "-c",
			       "trap 'echo got-usr1; exit 7' USR1; echo ready; "
			       "while :; do sleep 1; done",
			       NULL};
	const gchar *sleeper[] = {"sleep", "1004", NULL};
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *p2 = NULL;
	g_autofree gchar *out = NULL;
	g_autoptr(GVariant) r = NULL;
	gint o[2], status, sig;
	gboolean to;

	g_assert_true(g_unix_open_pipe(o, FD_CLOEXEC, NULL));
	path = spawn(NULL, argv, "@a{sv} {}", -1, o[1], &error);
	g_assert_no_error(error);
	close(o[1]);
	g_free(read_until(o[0], "ready"));
	r = pcall(path, "SendSignal", g_variant_new("(ib)", SIGUSR1, FALSE), NULL, &error);
	g_assert_no_error(error);
	out = read_until(o[0], NULL);
	g_assert_nonnull(strstr(out, "got-usr1"));
	wait_ok(path, &status, &sig, &to);
	g_assert_cmpint(status, ==, 7);
	g_assert_cmpint(sig, ==, 0);
	close(o[0]);

	p2 = spawn(NULL, sleeper, "@a{sv} {}", -1, -1, &error);
	g_assert_no_error(error);
	g_clear_pointer(&r, g_variant_unref);
	r = pcall(p2, "SendSignal", g_variant_new("(ib)", SIGTERM, TRUE), NULL, &error);
	g_assert_no_error(error);
	wait_ok(p2, &status, &sig, &to);
	g_assert_cmpint(sig, ==, SIGTERM);
	g_assert_false(guest_runs("sleep 1004"));
}

static void
test_detach(void)
{
	const gchar *detached_argv[] = {"sh", "-c", "echo early; exec sleep 1002", NULL};
	const gchar *bound_argv[] = {"sleep", "1003", NULL};
	g_autoptr(GDBusConnection) other = new_connection();
	g_autoptr(GError) error = NULL;
	g_autofree gchar *detached = NULL;
	g_autofree gchar *bound = NULL;
	g_autofree gchar *replay = NULL;
	g_autoptr(GVariant) state = NULL;
	g_autoptr(GVariant) r = NULL;
	g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
	gint a[2], status, sig;
	gboolean to;

	detached = spawn(other, detached_argv, "{'detach': <true>}", -1, -1, &error);
	g_assert_no_error(error);
	bound = spawn(other, bound_argv, "@a{sv} {}", -1, -1, &error);
	g_assert_no_error(error);
	g_assert_true(guest_runs("sleep 1002"));
	g_assert_true(guest_runs("sleep 1003"));
	/* the spawning client leaves the bus */
	g_assert_true(g_dbus_connection_close_sync(other, NULL, NULL));
	wait_ok(bound, &status, &sig, &to);
	g_assert_cmpint(sig, ==, SIGKILL);
	g_assert_false(guest_runs("sleep 1003"));
	g_assert_true(guest_runs("sleep 1002"));
	state = sbx_test_get_property(NULL, detached, PROCESS_IFACE, "State", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(g_variant_get_string(state, NULL), ==, "running");

	/* its output was kept: Attach replays it */
	g_assert_true(g_unix_open_pipe(a, FD_CLOEXEC, NULL));
	g_unix_fd_list_append(fds, a[1], NULL);
	close(a[1]);
	r = g_dbus_connection_call_with_unix_fd_list_sync(
	    sbx_test_env_get()->conn, "org.sandboxd", detached, PROCESS_IFACE, "Attach",
	    g_variant_new("(hh)", 0, -1), NULL, G_DBUS_CALL_FLAGS_NONE, -1, fds, NULL, NULL,
	    &error);
	g_assert_no_error(error);
	g_clear_object(&fds);
	replay = read_until(a[0], "early\n");
	g_assert_cmpstr(replay, ==, "early\n");
	g_clear_pointer(&r, g_variant_unref);
	r = pcall(detached, "Kill", NULL, NULL, &error);
	g_assert_no_error(error);
	wait_ok(detached, &status, &sig, &to);
	g_assert_cmpint(sig, ==, SIGKILL);
	g_assert_false(guest_runs("sleep 1002"));
	close(a[0]);
}

static void
test_pty(void)
{
	const gchar *argv[] = {"sh", "-c", "stty size; read line; stty size; echo done", NULL};
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *first = NULL;
	g_autofree gchar *rest = NULL;
	g_autoptr(GVariant) r = NULL;
	gint in[2], o[2], status, sig;
	gboolean to;

	g_assert_true(g_unix_open_pipe(in, FD_CLOEXEC, NULL));
	g_assert_true(g_unix_open_pipe(o, FD_CLOEXEC, NULL));
	path = spawn(NULL, argv, "{'pty': <true>, 'rows': <uint32 33>, 'cols': <uint32 101>}",
		     in[0], o[1], &error);
	g_assert_no_error(error);
	close(in[0]);
	close(o[1]);
	first = read_until(o[0], "33 101");
	g_assert_nonnull(strstr(first, "33 101"));
	r = pcall(path, "ResizePty", g_variant_new("(uu)", 50, 120), NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpint(write(in[1], "echoed-by-tty\n", 14), ==, 14);
	rest = read_until(o[0], "done");
	/* the terminal echoed the line and reports the new size */
	g_assert_nonnull(strstr(rest, "echoed-by-tty"));
	g_assert_nonnull(strstr(rest, "50 120"));
	wait_ok(path, &status, &sig, &to);
	g_assert_cmpint(status, ==, 0);
	close(in[1]);
	close(o[0]);
}

static void
test_user(void)
{
	const gchar *id_argv[] = {"sh", "-c", "id -u; id -g; id -G; echo $HOME; pwd", NULL};
	g_autoptr(GError) error = NULL;
	g_autofree gchar *out = NULL;
	SbxExecResult res = {0};

	g_free(sh_ok("grep -q '^tester:' /etc/passwd 2>/dev/null || "
		     "{ echo 'tester:x:1234:1235::/tmp:/bin/sh' >> /etc/passwd; "
		     "echo 'extra:x:1236:tester' >> /etc/group; }"));
	g_assert_true(sbx_test_exec(NULL, sb_path, id_argv,
				    g_variant_new_parsed("{'user': <'tester'>}"), NULL, &res,
				    &error));
	g_assert_no_error(error);
	out = sbx_test_bytes_to_str(res.out);
	g_assert_cmpstr(out, ==, "1234\n1235\n1235 1236\n/tmp\n/tmp\n");
	sbx_exec_result_clear(&res);
	g_free(out);

	g_assert_true(sbx_test_exec(NULL, sb_path, id_argv,
				    g_variant_new_parsed("{'uid': <uint32 4321>}"), NULL, &res,
				    &error));
	g_assert_no_error(error);
	out = sbx_test_bytes_to_str(res.out);
	g_assert_true(g_str_has_prefix(out, "4321\n4321\n"));
	sbx_exec_result_clear(&res);

	/* an unknown user */
	g_assert_false(sbx_test_exec(NULL, sb_path, id_argv,
				     g_variant_new_parsed("{'user': <'nosuchuser'>}"), NULL, &res,
				     &error));
	g_assert_nonnull(error);
	g_assert_nonnull(strstr(error->message, "nosuchuser"));
}

static void
test_hogs(void)
{
	const gchar *cpu[] = {"sh", "-c", "yes > /dev/null", NULL};
	/* processes as fast as the shell can fork, until pids.max stops it */
	const gchar *bomb[] = {"sh", "-c", "while :; do sleep 1005 & done 2>/dev/null", NULL};
	const gchar *echo[] = {"echo", "still-answering", NULL};
	g_autoptr(GError) error = NULL;
	g_autofree gchar *p_cpu = NULL;
	g_autofree gchar *p_bomb = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *events = NULL;
	g_autoptr(GVariant) r = NULL;
	SbxExecResult res = {0};
	gint status, sig;
	gboolean to;

	p_cpu = spawn(NULL, cpu, "@a{sv} {}", -1, -1, &error);
	g_assert_no_error(error);
	p_bomb = spawn(NULL, bomb, "@a{sv} {}", -1, -1, &error);
	g_assert_no_error(error);
	/* the limit is reached: pids.events counts refused forks */
	for (;;) {
		const gchar *cat_events[] = {"cat", "/sys/fs/cgroup/sandbox/pids.events", NULL};
		g_free(events);
		events = run_ok(cat_events);
		if (g_ascii_strtoll(strchr(events, ' ') + 1, NULL, 10) > 0)
			break;
		g_usleep(G_USEC_PER_SEC);
	}
	/* the agent still answers: an Exec that needs no fork inside the cgroup */
	g_assert_true(sbx_test_exec(NULL, sb_path, echo, NULL, NULL, &res, &error));
	g_assert_no_error(error);
	out = sbx_test_bytes_to_str(res.out);
	g_assert_cmpstr(out, ==, "still-answering\n");
	sbx_exec_result_clear(&res);
	/* the process count stays at the limit */
	g_free(out);
	{
		const gchar *cat_pids[] = {"cat", "/sys/fs/cgroup/sandbox/pids.current",
					   "/sys/fs/cgroup/sandbox/pids.max", NULL};
		g_auto(GStrv) v = NULL;
		out = run_ok(cat_pids);
		v = g_strsplit(g_strstrip(out), "\n", 2);
		g_assert_cmpint(g_ascii_strtoll(v[1], NULL, 10), ==, PROC_TEST_PIDS_MAX);
		g_assert_cmpint(g_ascii_strtoll(v[0], NULL, 10), <=,
				g_ascii_strtoll(v[1], NULL, 10) + 2);
	}
	/* the shell gives up once it cannot fork ("can't fork": exit 2); its
	 * sleepers stay until killed */
	r = pcall(p_bomb, "Kill", NULL, NULL, &error);
	g_clear_error(&error);
	wait_ok(p_bomb, &status, &sig, &to);
	g_assert_true(sig == SIGKILL || status == 2);
	{
		const gchar *killall[] = {"killall", "-9", "sleep", NULL};
		g_free(run_ok(killall));
	}
	g_clear_pointer(&r, g_variant_unref);
	r = pcall(p_cpu, "Kill", NULL, NULL, &error);
	g_assert_no_error(error);
	wait_ok(p_cpu, &status, &sig, &to);
	g_assert_cmpint(sig, ==, SIGKILL);
	/* a fork works again */
	for (gint i = 0; i < 100 && guest_runs("sleep 1005"); i++)
		g_usleep(G_USEC_PER_SEC / 10);
	g_assert_false(guest_runs("sleep 1005"));
	/* the agent itself: never the OOM killer's choice */
	g_free(out);
	out = sh_ok("cat /proc/1/oom_score_adj");
	g_assert_cmpstr(out, ==, "-1000\n");
}

typedef struct {
	GVariant *reply;
	GError *error;
	gboolean done;
} AsyncCall;

static void
async_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	AsyncCall *c = user_data;
	c->reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, &c->error);
	c->done = TRUE;
}

static void
test_vm_dies(void)
{
	const gchar *argv[] = {"sh", "-c", "while :; do echo tick; sleep 1; done", NULL};
	const gchar *sleeper[] = {"sleep", "1006", NULL};
	g_autoptr(GError) error = NULL;
	g_autofree gchar *waiting = NULL;
	g_autofree gchar *ticks = NULL;
	g_autoptr(GArray) qemu = NULL;
	g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
	AsyncCall exec_call = {0}, wait_call = {0};
	gint64 t0;
	gint o[2];

	waiting = spawn(NULL, sleeper, "@a{sv} {}", -1, -1, &error);
	g_assert_no_error(error);
	g_assert_true(g_unix_open_pipe(o, FD_CLOEXEC, NULL));
	g_unix_fd_list_append(fds, o[1], NULL);
	close(o[1]);
	g_dbus_connection_call_with_unix_fd_list(
	    sbx_test_env_get()->conn, "org.sandboxd", sb_path, "org.sandboxd.Sandbox1", "Exec",
	    g_variant_new("(^as@a{sv}hhh)", argv, g_variant_new_parsed("@a{sv} {}"), -1, 0, -1),
	    G_VARIANT_TYPE("(ii)"), G_DBUS_CALL_FLAGS_NONE, G_MAXINT, fds, NULL,
	    (GAsyncReadyCallback)async_done, &exec_call);
	/* the list holds a dup of the write end: the EOF check below needs it gone */
	g_clear_object(&fds);
	g_dbus_connection_call(sbx_test_env_get()->conn, "org.sandboxd", waiting, PROCESS_IFACE,
			       "Wait", NULL, G_VARIANT_TYPE("(iib)"), G_DBUS_CALL_FLAGS_NONE,
			       G_MAXINT, NULL, async_done, &wait_call);
	/* mid-stream */
	ticks = read_until(o[0], "tick\ntick\n");
	g_assert_nonnull(strstr(ticks, "tick"));
	qemu = sbx_test_find_qemu(sb_id);
	g_assert_cmpuint(qemu->len, >=, 1);
	for (guint i = 0; i < qemu->len; i++)
		g_assert_cmpint(kill(g_array_index(qemu, gint, i), SIGKILL), ==, 0);
	/* every waiting client fails (the meson timeout bounds "promptly") */
	t0 = g_get_monotonic_time();
	while (!exec_call.done || !wait_call.done)
		g_main_context_iteration(NULL, TRUE);
	g_test_message("the waiting calls failed %.1f s after QEMU was killed",
		       (gdouble)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC);
	g_assert_null(exec_call.reply);
	g_assert_null(wait_call.reply);
	g_assert_nonnull(exec_call.error);
	g_assert_nonnull(wait_call.error);
	{
		g_autofree gchar *e1 = g_dbus_error_get_remote_error(exec_call.error);
		g_autofree gchar *e2 = g_dbus_error_get_remote_error(wait_call.error);
		g_assert_cmpstr(e1, ==, "org.sandboxd.Error.SandboxGone");
		/* Wait: SandboxGone, or the object went away with the sandbox */
		g_assert_true(g_strcmp0(e2, "org.sandboxd.Error.SandboxGone") == 0 ||
			      g_strcmp0(e2, "org.freedesktop.DBus.Error.UnknownMethod") == 0 ||
			      g_strcmp0(e2, "org.freedesktop.DBus.Error.UnknownObject") == 0);
	}
	g_clear_error(&exec_call.error);
	g_clear_error(&wait_call.error);
	/* the output pipe is closed too */
	g_free(read_until(o[0], NULL));
	close(o[0]);
	g_clear_pointer(&sb_path, g_free);
}

int
main(int argc, char **argv)
{
	SbxTestEnv *env = sbx_test_main_run("proc", &argc, &argv);
	int rc;

	/* [limits] GuestPidsMax must reach the guest's cgroup (test_hogs) */
	sbx_test_main_dropin(env, "50-proc.conf",
			     "[limits]\nGuestPidsMax=" G_STRINGIFY(PROC_TEST_PIDS_MAX) "\n");
	sb_path = sbx_test_main_create("{'memory': <uint32 1024>, 'vcpus': <uint32 1>}");
	sb_id = sbx_test_get_id(NULL, sb_path);

	g_test_add_func("/proc/timeout-group", test_timeout_group);
	g_test_add_func("/proc/signals", test_signals);
	g_test_add_func("/proc/detach", test_detach);
	g_test_add_func("/proc/pty", test_pty);
	g_test_add_func("/proc/user", test_user);
	g_test_add_func("/proc/hogs", test_hogs);
	/* last: it kills the VM */
	g_test_add_func("/proc/vm-dies", test_vm_dies);
	rc = g_test_run();

	if (sb_path != NULL)
		sbx_test_kill(NULL, sb_path, NULL);
	sbx_test_env_stop(env);
	g_free(sb_path);
	g_free(sb_id);
	return rc;
}
