/* the real sandboxd (test backend) on a private dbus-daemon that uses the
 * shipped D-Bus policy: lifetime (ExtendTimeout, Close, expiry), [limits],
 * regions, and two unprivileged users who cannot reach each other's sandboxes.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <fcntl.h>
#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include "sbx-test-env.h"

/* generous: only a hang fails on this, never a slow machine */
#define WAIT_US (90 * G_USEC_PER_SEC)

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

/* the bus uses the shipped policy (tests/common): other users call it as on
 * a real system bus */
static void
fixture_setup(Fixture *f, gconstpointer data)
{
	f->env = sbx_test_env_new("tenancy");
	f->env->plugin_dir = g_strdup(PLUGIN_DIR);
	f->conn = f->env->conn;
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

static guint64
extend(GDBusConnection *conn, const gchar *path, guint seconds, GError **error)
{
	g_autoptr(GVariant) reply =
	    sbx_test_call(conn, path, "org.sandboxd.Sandbox1", "ExtendTimeout",
			  g_variant_new("(u)", seconds), "(t)", error);
	guint64 t = 0;
	if (reply != NULL)
		g_variant_get(reply, "(t)", &t);
	return t;
}

static void
kill_sandbox(GDBusConnection *conn, const gchar *path)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply =
	    sbx_test_call(conn, path, "org.sandboxd.Sandbox1", "Kill", NULL, NULL, &error);
	g_assert_no_error(error);
}

static gboolean
run_dir_is_empty(Fixture *f)
{
	g_autoptr(GDir) dir = g_dir_open(f->env->runtime_dir, 0, NULL);
	return dir == NULL || g_dir_read_name(dir) == NULL;
}

static void
wait_run_dir_empty(Fixture *f)
{
	gint64 deadline = g_get_monotonic_time() + WAIT_US;
	while (!run_dir_is_empty(f)) {
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_usleep(20 * 1000);
	}
}

/* --- lifetime ------------------------------------------------------------ */

static void
test_extend_timeout(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *session = NULL;
	g_autoptr(GVariant) v = NULL;
	guint64 before, after, prev;
	gint64 now;

	write_conf(f, "[daemon]\nBackend=test\nMaxLifetimeSec=600\nExtendStepSec=60\n");
	sbx_test_env_run_daemon(f->env);
	path = create_sandbox(f->conn, "{'timeout': <'30s'>}", &error);
	g_assert_no_error(error);
	v = sbx_test_get_prop(f->conn, path, "org.sandboxd.Sandbox1", "ExpiresAt");
	before = g_variant_get_uint64(v);
	g_assert_cmpuint(before, >, 0);

	/* a small step is added as asked */
	after = extend(f->conn, path, 10, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(after, ==, before + 10 * G_USEC_PER_SEC);
	g_clear_pointer(&v, g_variant_unref);
	v = sbx_test_get_prop(f->conn, path, "org.sandboxd.Sandbox1", "ExpiresAt");
	g_assert_cmpuint(g_variant_get_uint64(v), ==, after);

	/* at most ExtendStepSec per call */
	prev = after;
	after = extend(f->conn, path, 100000, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(after, ==, prev + 60 * G_USEC_PER_SEC);

	/* and never more than MaxLifetimeSec ahead, however often */
	for (guint i = 0; i < 20; i++) {
		prev = after;
		after = extend(f->conn, path, 60, &error);
		g_assert_no_error(error);
		g_assert_cmpuint(after, >=, prev);
	}
	now = g_get_real_time();
	g_assert_cmpuint(after, <=, (guint64)now + 600 * G_USEC_PER_SEC);
	g_assert_cmpuint(after, >, prev - 1); /* stays at the cap */

	/* 0 is not an extension */
	extend(f->conn, path, 0, &error);
	sbx_test_assert_remote_error(error, "org.sandboxd.Error.InvalidArgument", "seconds");
	g_clear_error(&error);

	/* a session sandbox has nothing to extend */
	session = create_sandbox(f->conn, "@a{sv} {}", &error);
	g_assert_no_error(error);
	g_clear_pointer(&v, g_variant_unref);
	v = sbx_test_get_prop(f->conn, session, "org.sandboxd.Sandbox1", "ExpiresAt");
	g_assert_cmpuint(g_variant_get_uint64(v), ==, 0);
	extend(f->conn, session, 10, &error);
	sbx_test_assert_remote_error(error, "org.sandboxd.Error.NotSupported", "session");
	g_clear_error(&error);

	/* the longest timeout there is, and one past it */
	g_free(create_sandbox(f->conn, "{'timeout': <'601'>}", &error));
	sbx_test_assert_remote_error(error, "org.sandboxd.Error.InvalidArgument", "600");
	g_clear_error(&error);

	kill_sandbox(f->conn, path);
	kill_sandbox(f->conn, session);
	wait_run_dir_empty(f);
}

typedef struct {
	guint expiring_grace;
	gboolean got_expiring;
	gchar *removed_id;
	gchar *removed_reason;
} Signals;

static void
on_signal(GDBusConnection *conn, const gchar *sender, const gchar *path, const gchar *iface,
	  const gchar *name, GVariant *params, gpointer user_data)
{
	Signals *s = user_data;
	if (g_strcmp0(name, "Expiring") == 0) {
		g_variant_get(params, "(u)", &s->expiring_grace);
		s->got_expiring = TRUE;
	} else if (g_strcmp0(name, "SandboxRemoved") == 0 && s->removed_id == NULL) {
		g_variant_get(params, "(ss)", &s->removed_id, &s->removed_reason);
	}
}

typedef struct {
	gboolean done;
	GError *error;
	gint status;
	gint signal;
} ExecResult;

static void
on_exec_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	ExecResult *r = user_data;
	g_autoptr(GVariant) reply = g_dbus_connection_call_with_unix_fd_list_finish(
	    G_DBUS_CONNECTION(source), NULL, res, &r->error);
	if (reply != NULL)
		g_variant_get(reply, "(ii)", &r->status, &r->signal);
	r->done = TRUE;
}

static void
test_expiry(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *id = NULL;
	g_autofree gchar *sandbox_dir = NULL;
	g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
	const gchar *argv[] = {"sh", "-c", "sleep 1000", NULL};
	Signals s = {0};
	ExecResult r = {0};
	gint64 deadline = g_get_monotonic_time() + WAIT_US;
	guint sub;

	write_conf(f, "[daemon]\nBackend=test\nExpiryGraceSec=5\n");
	sbx_test_env_run_daemon(f->env);
	sub = g_dbus_connection_signal_subscribe(f->conn, NULL, NULL, NULL, NULL, NULL,
						 G_DBUS_SIGNAL_FLAGS_NONE, on_signal, &s, NULL);
	/* long enough for the Exec below to be running when it expires, on a
	 * loaded host too */
	path = create_sandbox(f->conn, "{'timeout': <'8s'>}", &error);
	g_assert_no_error(error);
	id = g_path_get_basename(path);
	sandbox_dir = g_build_filename(f->env->runtime_dir, id, NULL);
	g_assert_true(g_file_test(sandbox_dir, G_FILE_TEST_IS_DIR));

	/* a process that only SIGTERM ends, well within the grace */
	g_dbus_connection_call_with_unix_fd_list(
	    f->conn, "org.sandboxd", path, "org.sandboxd.Sandbox1", "Exec",
	    g_variant_new("(^as@a{sv}hhh)", argv, g_variant_new_parsed("@a{sv} {}"), -1, -1, -1),
	    G_VARIANT_TYPE("(ii)"), G_DBUS_CALL_FLAGS_NONE, -1, fds, NULL, on_exec_done, &r);
	while (!r.done || s.removed_id == NULL) {
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_main_context_iteration(NULL, TRUE);
	}
	g_assert_true(s.got_expiring);
	g_assert_cmpuint(s.expiring_grace, ==, 5);
	/* SIGTERM, not the VM going away */
	g_assert_no_error(r.error);
	g_assert_cmpint(r.status, ==, -1);
	g_assert_cmpint(r.signal, ==, SIGTERM);
	/* after the grace: the VM and every file of it are gone */
	g_assert_cmpstr(s.removed_id, ==, id);
	g_assert_cmpstr(s.removed_reason, ==, "its lifetime is over");
	g_assert_false(g_file_test(sandbox_dir, G_FILE_TEST_EXISTS));
	g_free(create_sandbox(f->conn, "{'timeout': <'1h'>}", &error));
	sbx_test_assert_remote_error(error, "org.sandboxd.Error.InvalidArgument", "1800");
	g_clear_error(&error);
	{
		g_autoptr(GVariant) reply =
		    sbx_test_call(f->conn, "/org/sandboxd/Manager1", "org.sandboxd.Manager1",
				  "GetSandbox", g_variant_new("(s)", id), "(o)", &error);
		sbx_test_assert_remote_error(error, "org.sandboxd.Error.NotFound", NULL);
	}
	g_dbus_connection_signal_unsubscribe(f->conn, sub);
	g_free(s.removed_id);
	g_free(s.removed_reason);
}

static void
test_close(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *duration = NULL;
	g_autofree gchar *session = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GVariant) v = NULL;

	write_conf(f, "[daemon]\nBackend=test\n");
	sbx_test_env_run_daemon(f->env);
	duration = create_sandbox(f->conn, "{'timeout': <'5m'>}", &error);
	g_assert_no_error(error);
	session = create_sandbox(f->conn, "@a{sv} {}", &error);
	g_assert_no_error(error);

	/* Close leaves a duration sandbox alone */
	reply =
	    sbx_test_call(f->conn, duration, "org.sandboxd.Sandbox1", "Close", NULL, NULL, &error);
	g_assert_no_error(error);
	g_clear_pointer(&reply, g_variant_unref);
	v = sbx_test_get_prop(f->conn, duration, "org.sandboxd.Sandbox1", "State");
	g_assert_cmpstr(g_variant_get_string(v, NULL), ==, "running");

	/* and ends a session sandbox of its creator */
	reply =
	    sbx_test_call(f->conn, session, "org.sandboxd.Sandbox1", "Close", NULL, NULL, &error);
	g_assert_no_error(error);
	g_clear_pointer(&reply, g_variant_unref);
	reply =
	    sbx_test_call(f->conn, session, "org.freedesktop.DBus.Properties", "Get",
			  g_variant_new("(ss)", "org.sandboxd.Sandbox1", "State"), "(v)", &error);
	g_assert_nonnull(error);
	g_clear_error(&error);

	kill_sandbox(f->conn, duration);
	wait_run_dir_empty(f);
}

/* --- limits -------------------------------------------------------------- */

static void
test_limits(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *a = NULL;
	g_autofree gchar *b = NULL;

	write_conf(f, "[daemon]\nBackend=test\n[limits]\nMaxSandboxesPerUser=2\n");
	sbx_test_env_run_daemon(f->env);
	a = create_sandbox(f->conn, "{'timeout': <'5m'>}", &error);
	g_assert_no_error(error);
	b = create_sandbox(f->conn, "{'timeout': <'5m'>}", &error);
	g_assert_no_error(error);
	g_free(create_sandbox(f->conn, "{'timeout': <'5m'>}", &error));
	sbx_test_assert_remote_error(error, "org.sandboxd.Error.LimitExceeded",
				     "(MaxSandboxesPerUser)");
	g_clear_error(&error);
	kill_sandbox(f->conn, a);
	/* room again */
	g_free(a);
	a = create_sandbox(f->conn, "{'timeout': <'5m'>}", &error);
	g_assert_no_error(error);
	kill_sandbox(f->conn, a);
	kill_sandbox(f->conn, b);
	wait_run_dir_empty(f);
}

static void
test_host_memory(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	/* a reserve no host has */
	write_conf(f, "[daemon]\nBackend=test\n[limits]\nCheckHostMemory=true\n"
		      "HostMemoryReserveMiB=1073741824\n");
	sbx_test_env_run_daemon(f->env);
	g_free(create_sandbox(f->conn, "@a{sv} {}", &error));
	sbx_test_assert_remote_error(error, "org.sandboxd.Error.LimitExceeded",
				     "(HostMemoryReserveMiB)");
	g_assert_true(run_dir_is_empty(f));
}

typedef struct {
	guint pending;
	guint ok;
	guint refused_total;
	guint refused_concurrent;
	GPtrArray *paths;
	GPtrArray *unexpected;
} Burst;

static void
on_burst_reply(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Burst *b = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply =
	    g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, &error);

	b->pending--;
	if (reply != NULL) {
		gchar *path = NULL;
		g_variant_get(reply, "(o)", &path);
		g_ptr_array_add(b->paths, path);
		b->ok++;
		return;
	}
	if (g_dbus_error_is_remote_error(error) &&
	    g_strcmp0(g_dbus_error_get_remote_error(error), "org.sandboxd.Error.Capacity") == 0 &&
	    strstr(error->message, "(MaxConcurrentCreates + MaxQueuedCreates)") != NULL) {
		b->refused_concurrent++;
		return;
	}
	if (g_dbus_error_is_remote_error(error) &&
	    g_strcmp0(g_dbus_error_get_remote_error(error), "org.sandboxd.Error.LimitExceeded") ==
		0) {
		if (strstr(error->message, "(MaxSandboxes)") != NULL) {
			b->refused_total++;
			return;
		}
	}
	g_ptr_array_add(b->unexpected, g_strdup(error->message));
}

/* @conf's burst of @n creates at once: every call answers */
static void
run_burst(Fixture *f, const gchar *conf, guint n, Burst *b)
{
	gint64 deadline;

	write_conf(f, conf);
	sbx_test_env_run_daemon(f->env);
	b->paths = g_ptr_array_new_with_free_func(g_free);
	b->unexpected = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < n; i++) {
		b->pending++;
		g_dbus_connection_call(
		    f->conn, "org.sandboxd", "/org/sandboxd/Manager1", "org.sandboxd.Manager1",
		    "CreateSandbox",
		    g_variant_new("(@a{sv})", g_variant_new_parsed("{'timeout': <'5m'>}")),
		    G_VARIANT_TYPE("(o)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, on_burst_reply, b);
	}
	deadline = g_get_monotonic_time() + WAIT_US;
	while (b->pending > 0) {
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_main_context_iteration(NULL, TRUE);
	}
	for (guint i = 0; i < b->unexpected->len; i++)
		g_printerr("unexpected: %s\n", (const gchar *)g_ptr_array_index(b->unexpected, i));
	g_assert_cmpuint(b->unexpected->len, ==, 0);
}

/* MaxConcurrentCreates start, MaxQueuedCreates wait and start after them,
 * the rest get a Capacity error at once */
static void
test_create_queue(Fixture *f, gconstpointer data)
{
	Burst b = {0};

	run_burst(f,
		  "[daemon]\nBackend=test\n[limits]\nMaxSandboxes=100\nMaxSandboxesPerUser=100\n"
		  "MaxConcurrentCreates=2\nMaxQueuedCreates=3\n",
		  20, &b);
	g_assert_cmpuint(b.ok + b.refused_concurrent, ==, 20);
	/* 2 starting and 3 queued at least; the queued ones ran too */
	g_assert_cmpuint(b.ok, >=, 5);
	g_assert_cmpuint(b.refused_concurrent, >, 0);
	g_test_message("queue: %u created, %u refused (Capacity)", b.ok, b.refused_concurrent);
	for (guint i = 0; i < b.paths->len; i++)
		kill_sandbox(f->conn, g_ptr_array_index(b.paths, i));
	wait_run_dir_empty(f);
	g_ptr_array_unref(b.paths);
	g_ptr_array_unref(b.unexpected);
}

static void
test_burst(Fixture *f, gconstpointer data)
{
	Burst b = {0};
	gint64 deadline;

	write_conf(f, "[daemon]\nBackend=test\n[limits]\nMaxSandboxes=12\nMaxSandboxesPerUser=100\n"
		      "MaxConcurrentCreates=5\nMaxQueuedCreates=0\n");
	sbx_test_env_run_daemon(f->env);
	b.paths = g_ptr_array_new_with_free_func(g_free);
	b.unexpected = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < 30; i++) {
		b.pending++;
		g_dbus_connection_call(
		    f->conn, "org.sandboxd", "/org/sandboxd/Manager1", "org.sandboxd.Manager1",
		    "CreateSandbox",
		    g_variant_new("(@a{sv})", g_variant_new_parsed("{'timeout': <'5m'>}")),
		    G_VARIANT_TYPE("(o)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, on_burst_reply, &b);
	}
	/* every call answers: none hangs, none is dropped */
	deadline = g_get_monotonic_time() + WAIT_US;
	while (b.pending > 0) {
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_main_context_iteration(NULL, TRUE);
	}
	for (guint i = 0; i < b.unexpected->len; i++)
		g_printerr("unexpected: %s\n", (const gchar *)g_ptr_array_index(b.unexpected, i));
	g_assert_cmpuint(b.unexpected->len, ==, 0);
	g_assert_cmpuint(b.ok + b.refused_concurrent + b.refused_total, ==, 30);
	g_assert_cmpuint(b.ok, >=, 5);
	g_assert_cmpuint(b.ok, <=, 12);
	/* all of them came at once: the sixth had to be refused */
	g_assert_cmpuint(b.refused_concurrent, >, 0);
	g_test_message("burst: %u created, %u refused (MaxConcurrentCreates), %u (MaxSandboxes)",
		       b.ok, b.refused_concurrent, b.refused_total);
	for (guint i = 0; i < b.paths->len; i++)
		kill_sandbox(f->conn, g_ptr_array_index(b.paths, i));
	wait_run_dir_empty(f);
	g_ptr_array_unref(b.paths);
	g_ptr_array_unref(b.unexpected);
}

/* --- regions ------------------------------------------------------------- */

static gchar *
list_regions(Fixture *f)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply =
	    sbx_test_call(f->conn, "/org/sandboxd/Manager1", "org.sandboxd.Manager1", "ListRegions",
			  NULL, "(a(ss))", &error);
	g_assert_no_error(error);
	return g_variant_print(reply, FALSE);
}

static void
test_regions(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *regions = NULL;
	g_autofree gchar *a = NULL;
	g_autofree gchar *b = NULL;
	g_autoptr(GVariant) v = NULL;

	write_conf(f, "[daemon]\nBackend=test\nDefaultRegion=beta\n"
		      "[region alpha]\nBackend=test\nBlockedRanges=198.51.100.0/24\n"
		      "[region beta]\nBackend=test\n");
	sbx_test_env_run_daemon(f->env);
	regions = list_regions(f);
	g_assert_cmpstr(regions, ==, "([('alpha', 'test'), ('beta', 'test')],)");
	v = sbx_test_get_prop(f->conn, "/org/sandboxd/Manager1", "org.sandboxd.Manager1",
			      "DefaultRegion");
	g_assert_cmpstr(g_variant_get_string(v, NULL), ==, "beta");
	g_clear_pointer(&v, g_variant_unref);

	b = create_sandbox(f->conn, "@a{sv} {}", &error);
	g_assert_no_error(error);
	v = sbx_test_get_prop(f->conn, b, "org.sandboxd.Sandbox1", "Region");
	g_assert_cmpstr(g_variant_get_string(v, NULL), ==, "beta");
	g_clear_pointer(&v, g_variant_unref);
	a = create_sandbox(f->conn, "{'region': <'alpha'>}", &error);
	g_assert_no_error(error);
	v = sbx_test_get_prop(f->conn, a, "org.sandboxd.Sandbox1", "Region");
	g_assert_cmpstr(g_variant_get_string(v, NULL), ==, "alpha");

	g_free(create_sandbox(f->conn, "{'region': <'gamma'>}", &error));
	sbx_test_assert_remote_error(error, "org.sandboxd.Error.UnknownRegion",
				     "known: alpha, beta");
	g_clear_error(&error);
	kill_sandbox(f->conn, a);
	kill_sandbox(f->conn, b);
	wait_run_dir_empty(f);
}

static void
test_region_implicit(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *regions = NULL;
	g_autofree gchar *path = NULL;
	g_autoptr(GVariant) v = NULL;

	write_conf(f, "[daemon]\nBackend=test\n");
	sbx_test_env_run_daemon(f->env);
	regions = list_regions(f);
	g_assert_cmpstr(regions, ==, "([('local', 'test')],)");
	path = create_sandbox(f->conn, "{'region': <'local'>}", &error);
	g_assert_no_error(error);
	v = sbx_test_get_prop(f->conn, path, "org.sandboxd.Sandbox1", "Region");
	g_assert_cmpstr(g_variant_get_string(v, NULL), ==, "local");
	kill_sandbox(f->conn, path);
	g_free(create_sandbox(f->conn, "{'region': <'ams'>}", &error));
	sbx_test_assert_remote_error(error, "org.sandboxd.Error.UnknownRegion", "known: local");
}

static void
test_region_bad_config(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GSubprocess) daemon = NULL;
	g_autofree gchar *err = NULL;

	/* several regions and no DefaultRegion; then a backend that is not there */
	const gchar *confs[][2] = {
	    {"[daemon]\nBackend=test\n[region a]\nBackend=test\n[region b]\nBackend=test\n",
	     "DefaultRegion"},
	    {"[daemon]\nBackend=test\n[region a]\nBackend=nope\n", "no hypervisor plugin 'nope'"},
	    {"[daemon]\nBackend=test\n[region a]\nBackend=test\nURI=x\n", "unknown key 'URI'"},
	};
	for (guint i = 0; i < G_N_ELEMENTS(confs); i++) {
		write_conf(f, confs[i][0]);
		daemon =
		    g_subprocess_new(G_SUBPROCESS_FLAGS_STDERR_PIPE, &error, SANDBOXD, "--address",
				     f->env->bus_address, "--config-dir", f->env->config_dir,
				     "--plugin-dir", PLUGIN_DIR, "--runtime-dir",
				     f->env->runtime_dir, "--state-dir", f->env->state_dir, NULL);
		g_assert_no_error(error);
		g_assert_true(
		    g_subprocess_communicate_utf8(daemon, NULL, NULL, NULL, &err, &error));
		g_assert_no_error(error);
		g_assert_true(g_subprocess_get_if_exited(daemon));
		g_assert_cmpint(g_subprocess_get_exit_status(daemon), ==, 1);
		if (strstr(err, confs[i][1]) == NULL)
			g_error("'%s' does not mention '%s'", err, confs[i][1]);
		g_clear_pointer(&err, g_free);
		g_clear_object(&daemon);
	}
}

/* --- two users ------------------------------------------------------------ */

static struct passwd *
ensure_user(const gchar *name)
{
	struct passwd *pw = getpwnam(name);
	gint status = 0;
	g_autoptr(GError) error = NULL;
	const gchar *argv[] = {"useradd", "-r", "-M", "-s", "/usr/sbin/nologin", name, NULL};

	if (pw != NULL)
		return pw;
	g_assert_true(g_spawn_sync(NULL, (gchar **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
				   NULL, NULL, &status, &error));
	g_assert_no_error(error);
	g_assert_true(g_spawn_check_wait_status(status, NULL));
	pw = getpwnam(name);
	g_assert_nonnull(pw);
	return pw;
}

typedef struct {
	uid_t uid;
	gid_t gid;
} Creds;

static void
drop_to_user(gpointer user_data)
{
	Creds *c = user_data;
	/* async-signal-safe calls only: this runs between fork and exec */
	if (setgroups(0, NULL) != 0 || setgid(c->gid) != 0 || setuid(c->uid) != 0)
		_exit(99);
}

/* runs this binary as "client" as @creds; returns its stdout, stripped */
static gchar *
as_user(Fixture *f, Creds *creds, const gchar *const *args)
{
	g_autoptr(GSubprocessLauncher) launcher =
	    g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *client = g_build_filename(f->env->tmpdir, "client", NULL);
	gchar *out = NULL;

	g_ptr_array_add(argv, g_strdup(client));
	g_ptr_array_add(argv, g_strdup("client"));
	g_ptr_array_add(argv, g_strdup(f->env->bus_address));
	for (guint i = 0; args[i] != NULL; i++)
		g_ptr_array_add(argv, g_strdup(args[i]));
	g_ptr_array_add(argv, NULL);
	g_subprocess_launcher_set_child_setup(launcher, drop_to_user, creds, NULL);
	g_subprocess_launcher_set_cwd(launcher, "/");
	proc = g_subprocess_launcher_spawnv(launcher, (const gchar *const *)argv->pdata, &error);
	g_assert_no_error(error);
	g_assert_true(g_subprocess_communicate_utf8(proc, NULL, NULL, &out, NULL, &error));
	g_assert_no_error(error);
	g_assert_true(g_subprocess_get_if_exited(proc));
	g_assert_cmpint(g_subprocess_get_exit_status(proc), ==, 0);
	return g_strstrip(out);
}

static void
copy_client(Fixture *f, const gchar *self_exe)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *client = g_build_filename(f->env->tmpdir, "client", NULL);
	g_autoptr(GFile) src = g_file_new_for_path(self_exe);
	g_autoptr(GFile) dst = g_file_new_for_path(client);
	/* the build tree may be out of other users' reach */
	g_assert_true(g_file_copy(src, dst, G_FILE_COPY_NONE, NULL, NULL, NULL, &error));
	g_assert_no_error(error);
	g_assert_cmpint(g_chmod(client, 0755), ==, 0);
}

static const gchar *self_exe;

static void
test_two_users(Fixture *f, gconstpointer data)
{
	struct passwd *pw;
	Creds one, two;
	g_autofree gchar *a = NULL;
	g_autofree gchar *b = NULL;
	g_autofree gchar *a_id = NULL;
	g_autofree gchar *b_id = NULL;
	g_autofree gchar *out = NULL;
	g_autoptr(GVariant) v = NULL;
	g_autoptr(GError) error = NULL;
	const gchar *sandbox_methods[][3] = {
	    {"org.sandboxd.Sandbox1", "ExtendTimeout", "(uint32 10,)"},
	    {"org.sandboxd.Sandbox1", "GetEnvironment", "()"},
	    {"org.sandboxd.Sandbox1", "Close", "()"},
	    {"org.sandboxd.Sandbox1", "Kill", "()"},
	};

	if (getuid() != 0) {
		g_test_skip("needs root to run clients as two other users");
		return;
	}
	pw = ensure_user("sbxtest1");
	one.uid = pw->pw_uid;
	one.gid = pw->pw_gid;
	pw = ensure_user("sbxtest2");
	two.uid = pw->pw_uid;
	two.gid = pw->pw_gid;
	copy_client(f, self_exe);

	write_conf(f, "[daemon]\nBackend=test\n");
	sbx_test_env_run_daemon(f->env);

	/* each makes one that outlives its (short-lived) client */
	a = as_user(f, &one, (const gchar *const[]){"create", "{'timeout': <'10m'>}", NULL});
	g_assert_true(g_str_has_prefix(a, "/org/sandboxd/Sandbox1/sbx"));
	b = as_user(f, &two, (const gchar *const[]){"create", "{'timeout': <'10m'>}", NULL});
	g_assert_true(g_str_has_prefix(b, "/org/sandboxd/Sandbox1/sbx"));
	a_id = g_path_get_basename(a);
	b_id = g_path_get_basename(b);
	v = sbx_test_get_prop(f->conn, a, "org.sandboxd.Sandbox1", "OwnerUid");
	g_assert_cmpuint(g_variant_get_uint32(v), ==, one.uid);

	/* each sees only its own */
	out = as_user(f, &one, (const gchar *const[]){"list", NULL});
	g_assert_cmpstr(out, ==, a);
	g_clear_pointer(&out, g_free);
	out = as_user(f, &two, (const gchar *const[]){"list", NULL});
	g_assert_cmpstr(out, ==, b);
	g_clear_pointer(&out, g_free);
	out = as_user(f, &two, (const gchar *const[]){"get", a_id, NULL});
	g_assert_cmpstr(out, ==, "org.sandboxd.Error.NotFound");
	g_clear_pointer(&out, g_free);
	out = as_user(f, &one, (const gchar *const[]){"get", a_id, NULL});
	g_assert_cmpstr(out, ==, a);
	g_clear_pointer(&out, g_free);

	/* every method on another user's sandbox is denied; Kill last */
	for (guint i = 0; i < G_N_ELEMENTS(sandbox_methods); i++) {
		out = as_user(f, &two,
			      (const gchar *const[]){"call", a, sandbox_methods[i][0],
						     sandbox_methods[i][1], sandbox_methods[i][2],
						     NULL});
		g_assert_cmpstr(out, ==, "org.sandboxd.Error.AccessDenied");
		g_clear_pointer(&out, g_free);
		out = as_user(f, &one,
			      (const gchar *const[]){"call", b, sandbox_methods[i][0],
						     sandbox_methods[i][1], sandbox_methods[i][2],
						     NULL});
		g_assert_cmpstr(out, ==, "org.sandboxd.Error.AccessDenied");
		g_clear_pointer(&out, g_free);
	}
	/* an Exec with descriptors too */
	out = as_user(f, &two, (const gchar *const[]){"exec", a, NULL});
	g_assert_cmpstr(out, ==, "org.sandboxd.Error.AccessDenied");
	g_clear_pointer(&out, g_free);
	/* the owner may */
	out = as_user(f, &one, (const gchar *const[]){"exec", a, NULL});
	g_assert_cmpstr(out, ==, "ok");
	g_clear_pointer(&out, g_free);
	/* a spawned process belongs to the sandbox's owner too */
	{
		const gchar *sleeper[] = {"sleep", "1000", NULL};
		g_autoptr(GVariant) spawned = NULL;
		const gchar *process = NULL;
		spawned = sbx_test_call(f->conn, a, "org.sandboxd.Sandbox1", "Spawn",
					g_variant_new("(^as@a{sv}hhh)", sleeper,
						      g_variant_new_parsed("{'detach': <true>}"),
						      -1, -1, -1),
					"(o)", &error);
		g_assert_no_error(error);
		g_variant_get(spawned, "(&o)", &process);
		out = as_user(f, &two,
			      (const gchar *const[]){"call", process, "org.sandboxd.Process1",
						     "Kill", "()", NULL});
		g_assert_cmpstr(out, ==, "org.sandboxd.Error.AccessDenied");
		g_clear_pointer(&out, g_free);
		out = as_user(f, &one,
			      (const gchar *const[]){"call", process, "org.sandboxd.Process1",
						     "Kill", "()", NULL});
		g_assert_cmpstr(out, ==, "ok");
		g_clear_pointer(&out, g_free);
	}
	out = as_user(f, &one,
		      (const gchar *const[]){"call", a, "org.sandboxd.Sandbox1", "ExtendTimeout",
					     "(uint32 10,)", NULL});
	g_assert_cmpstr(out, ==, "ok");
	g_clear_pointer(&out, g_free);

	/* both still run */
	g_clear_pointer(&v, g_variant_unref);
	v = sbx_test_get_prop(f->conn, a, "org.sandboxd.Sandbox1", "State");
	g_assert_cmpstr(g_variant_get_string(v, NULL), ==, "running");
	g_clear_pointer(&v, g_variant_unref);
	v = sbx_test_get_prop(f->conn, b, "org.sandboxd.Sandbox1", "State");
	g_assert_cmpstr(g_variant_get_string(v, NULL), ==, "running");

	/* root sees and manages both */
	{
		g_autoptr(GVariant) reply = sbx_test_call(
		    f->conn, "/org/sandboxd/Manager1", "org.sandboxd.Manager1", "ListSandboxes",
		    g_variant_new_parsed("(@a{sv} {},)"), "(ao)", &error);
		g_autofree gchar *printed = NULL;
		g_assert_no_error(error);
		printed = g_variant_print(reply, FALSE);
		g_assert_nonnull(strstr(printed, a));
		g_assert_nonnull(strstr(printed, b));
	}
	extend(f->conn, b, 10, &error);
	g_assert_no_error(error);

	/* the owner kills its own */
	out =
	    as_user(f, &two,
		    (const gchar *const[]){"call", b, "org.sandboxd.Sandbox1", "Kill", "()", NULL});
	g_assert_cmpstr(out, ==, "ok");
	g_clear_pointer(&out, g_free);
	kill_sandbox(f->conn, a);
	wait_run_dir_empty(f);
}

/* --- tokens: the gateway acts for tenants, sandboxd names them --------------- */

static gchar *
token_call(Fixture *f, Creds *creds, const gchar *op, const gchar *a, const gchar *b)
{
	return as_user(f, creds, (const gchar *const[]){op, a, b, NULL});
}

static void
test_tokens(Fixture *f, gconstpointer data)
{
	struct passwd *pw;
	Creds one, two, gw;
	g_autofree gchar *t1 = NULL;
	g_autofree gchar *t2 = NULL;
	g_autofree gchar *a = NULL;
	g_autofree gchar *b = NULL;
	g_autofree gchar *a_id = NULL;
	g_autofree gchar *b_id = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *store = NULL;
	g_autofree gchar *contents = NULL;
	g_autoptr(GVariant) v = NULL;
	GStatBuf st;

	if (getuid() != 0) {
		g_test_skip("needs root to run clients as three other users");
		return;
	}
	pw = ensure_user("sbxtest1");
	one = (Creds){pw->pw_uid, pw->pw_gid};
	pw = ensure_user("sbxtest2");
	two = (Creds){pw->pw_uid, pw->pw_gid};
	/* the daemon looks the gateway's user up when it starts */
	pw = ensure_user("sandboxd-gateway");
	gw = (Creds){pw->pw_uid, pw->pw_gid};
	copy_client(f, self_exe);
	write_conf(f, "[daemon]\nBackend=test\n");
	sbx_test_env_run_daemon(f->env);

	/* a token is shown once, random, and stored hashed, 0600 */
	t1 = token_call(f, &one, "token-create", "laptop", NULL);
	g_assert_true(g_str_has_prefix(t1, "ddo_"));
	g_assert_cmpuint(strlen(t1), >=, 4 + 32);
	t2 = token_call(f, &two, "token-create", "laptop", NULL);
	g_assert_true(g_str_has_prefix(t2, "ddo_"));
	g_assert_cmpstr(t1, !=, t2);
	out = token_call(f, &one, "token-create", "laptop", NULL);
	g_assert_cmpstr(out, ==, "org.sandboxd.Error.AlreadyExists");
	g_clear_pointer(&out, g_free);
	out = token_call(f, &one, "token-create", "no/slash", NULL);
	g_assert_cmpstr(out, ==, "org.sandboxd.Error.InvalidArgument");
	g_clear_pointer(&out, g_free);
	out = token_call(f, &one, "token-list", NULL, NULL);
	g_assert_cmpstr(out, ==, "laptop");
	g_clear_pointer(&out, g_free);
	store = g_build_filename(f->env->state_dir, "tokens", NULL);
	g_assert_cmpint(g_stat(store, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0600);
	g_assert_true(g_file_get_contents(store, &contents, NULL, NULL));
	g_assert_null(strstr(contents, t1 + 4));
	g_assert_null(strstr(contents, t2 + 4));

	/* the gateway creates for each token's owner */
	a = token_call(f, &gw, "tcreate", t1, NULL);
	g_assert_true(g_str_has_prefix(a, "/org/sandboxd/Sandbox1/sbx"));
	b = token_call(f, &gw, "tcreate", t2, NULL);
	g_assert_true(g_str_has_prefix(b, "/org/sandboxd/Sandbox1/sbx"));
	a_id = g_path_get_basename(a);
	b_id = g_path_get_basename(b);
	v = sbx_test_get_prop(f->conn, a, "org.sandboxd.Sandbox1", "OwnerUid");
	g_assert_cmpuint(g_variant_get_uint32(v), ==, one.uid);
	g_clear_pointer(&v, g_variant_unref);
	v = sbx_test_get_prop(f->conn, b, "org.sandboxd.Sandbox1", "OwnerUid");
	g_assert_cmpuint(g_variant_get_uint32(v), ==, two.uid);

	/* each token lists, opens and uses its owner's only */
	out = token_call(f, &gw, "tlist", t1, NULL);
	g_assert_cmpstr(out, ==, a);
	g_clear_pointer(&out, g_free);
	out = token_call(f, &gw, "tlist", t2, NULL);
	g_assert_cmpstr(out, ==, b);
	g_clear_pointer(&out, g_free);
	out = token_call(f, &gw, "topen", t2, a_id);
	g_assert_cmpstr(out, ==, "org.sandboxd.Error.NotFound");
	g_clear_pointer(&out, g_free);
	out = token_call(f, &gw, "topen", t1, a_id);
	g_assert_cmpstr(out, ==, a);
	g_clear_pointer(&out, g_free);
	out = token_call(f, &gw, "tenv", t1, a_id);
	g_assert_cmpstr(out, ==, "ok");
	g_clear_pointer(&out, g_free);
	out = token_call(f, &gw, "tenv", t2, a_id);
	g_assert_cmpstr(out, ==, "org.sandboxd.Error.NotFound");
	g_clear_pointer(&out, g_free);
	/* without opening it, the gateway's own uid owns nothing */
	out = as_user(f, &gw,
		      (const gchar *const[]){"call", a, "org.sandboxd.Sandbox1", "GetEnvironment",
					     "()", NULL});
	g_assert_cmpstr(out, ==, "org.sandboxd.Error.AccessDenied");
	g_clear_pointer(&out, g_free);
	/* the tenant itself still owns it directly */
	out = as_user(f, &one,
		      (const gchar *const[]){"call", a, "org.sandboxd.Sandbox1", "GetEnvironment",
					     "()", NULL});
	g_assert_cmpstr(out, ==, "ok");
	g_clear_pointer(&out, g_free);

	/* nobody but the gateway's user may act for a tenant, even with a good token */
	out = token_call(f, &one, "tcreate", t1, NULL);
	g_assert_cmpstr(out, ==, "org.sandboxd.Error.AccessDenied");
	g_clear_pointer(&out, g_free);
	out = token_call(f, &two, "tlist", t1, NULL);
	g_assert_cmpstr(out, ==, "org.sandboxd.Error.AccessDenied");
	g_clear_pointer(&out, g_free);
	/* OpenSandbox is the gateway's on the bus too */
	out = token_call(f, &two, "topen", t1, a_id);
	g_assert_true(g_str_has_suffix(out, "AccessDenied"));
	g_clear_pointer(&out, g_free);

	/* a bad token, and a revoked one */
	out = token_call(f, &gw, "tcreate", "ddo_0123456789abcdefghijklmnopqrstuvwxyz", NULL);
	g_assert_cmpstr(out, ==, "org.sandboxd.Error.InvalidToken");
	g_clear_pointer(&out, g_free);
	out = token_call(f, &two, "token-revoke", "laptop", NULL);
	g_assert_cmpstr(out, ==, "ok");
	g_clear_pointer(&out, g_free);
	out = token_call(f, &two, "token-list", NULL, NULL);
	g_assert_cmpstr(out, ==, "");
	g_clear_pointer(&out, g_free);
	out = token_call(f, &gw, "topen", t2, b_id);
	g_assert_cmpstr(out, ==, "org.sandboxd.Error.InvalidToken");
	g_clear_pointer(&out, g_free);
	out = token_call(f, &gw, "tlist", t2, NULL);
	g_assert_cmpstr(out, ==, "org.sandboxd.Error.InvalidToken");
	g_clear_pointer(&out, g_free);
	/* one's token still works, and kills through the gateway */
	out = token_call(f, &gw, "tkill", t1, a_id);
	g_assert_cmpstr(out, ==, "ok");
	g_clear_pointer(&out, g_free);

	kill_sandbox(f->conn, b);
	wait_run_dir_empty(f);
}

/* --- the client side, run as another user ----------------------------------- */

static gint
client_main(gint argc, gchar **argv)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GDBusConnection) conn = NULL;
	g_autoptr(GVariant) reply = NULL;
	const gchar *op;

	if (argc < 4)
		return 2;
	conn = g_dbus_connection_new_for_address_sync(
	    argv[2],
	    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
		G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
	    NULL, NULL, &error);
	if (conn == NULL) {
		g_printerr("client: %s\n", error->message);
		return 3;
	}
	op = argv[3];
	if (g_strcmp0(op, "create") == 0 && argc == 5) {
		g_autofree gchar *path = create_sandbox(conn, argv[4], &error);
		if (path != NULL)
			g_print("%s\n", path);
	} else if (g_strcmp0(op, "list") == 0) {
		reply = sbx_test_call(conn, "/org/sandboxd/Manager1", "org.sandboxd.Manager1",
				      "ListSandboxes", g_variant_new_parsed("(@a{sv} {},)"), "(ao)",
				      &error);
		if (reply != NULL) {
			g_autoptr(GVariantIter) iter = NULL;
			const gchar *path;
			g_variant_get(reply, "(ao)", &iter);
			while (g_variant_iter_next(iter, "&o", &path))
				g_print("%s\n", path);
		}
	} else if (g_strcmp0(op, "get") == 0 && argc == 5) {
		reply = sbx_test_call(conn, "/org/sandboxd/Manager1", "org.sandboxd.Manager1",
				      "GetSandbox", g_variant_new("(s)", argv[4]), "(o)", &error);
		if (reply != NULL)
			g_print("%s\n",
				g_variant_get_string(g_variant_get_child_value(reply, 0), NULL));
	} else if (g_strcmp0(op, "call") == 0 && argc == 8) {
		GVariant *args = g_variant_parse(NULL, argv[7], NULL, NULL, &error);
		if (args == NULL)
			return 4;
		reply = sbx_test_call(conn, argv[4], argv[5], argv[6], args, NULL, &error);
		if (reply != NULL)
			g_print("ok\n");
	} else if (g_strcmp0(op, "exec") == 0 && argc == 5) {
		const gchar *exec_argv[] = {"true", NULL};
		g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
		gint fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		g_unix_fd_list_append(fds, fd, NULL);
		close(fd);
		reply = g_dbus_connection_call_with_unix_fd_list_sync(
		    conn, "org.sandboxd", argv[4], "org.sandboxd.Sandbox1", "Exec",
		    g_variant_new("(^as@a{sv}hhh)", exec_argv, g_variant_new_parsed("@a{sv} {}"), 0,
				  0, 0),
		    G_VARIANT_TYPE("(ii)"), G_DBUS_CALL_FLAGS_NONE, -1, fds, NULL, NULL, &error);
		if (reply != NULL)
			g_print("ok\n");
	} else if (g_strcmp0(op, "token-create") == 0 && argc == 5) {
		reply = sbx_test_call(conn, "/org/sandboxd/Manager1", "org.sandboxd.Manager1",
				      "CreateToken", g_variant_new("(s)", argv[4]), "(s)", &error);
		if (reply != NULL)
			g_print("%s\n",
				g_variant_get_string(g_variant_get_child_value(reply, 0), NULL));
	} else if (g_strcmp0(op, "token-revoke") == 0 && argc == 5) {
		reply = sbx_test_call(conn, "/org/sandboxd/Manager1", "org.sandboxd.Manager1",
				      "RevokeToken", g_variant_new("(s)", argv[4]), NULL, &error);
		if (reply != NULL)
			g_print("ok\n");
	} else if (g_strcmp0(op, "token-list") == 0) {
		reply = sbx_test_call(conn, "/org/sandboxd/Manager1", "org.sandboxd.Manager1",
				      "ListTokens", NULL, "(a(st))", &error);
		if (reply != NULL) {
			g_autoptr(GVariantIter) iter = NULL;
			const gchar *name;
			g_variant_get(reply, "(a(st))", &iter);
			while (g_variant_iter_next(iter, "(&st)", &name, NULL))
				g_print("%s\n", name);
		}
	} else if (g_strcmp0(op, "tcreate") == 0 && argc == 5) {
		GVariantDict dict;
		g_variant_dict_init(&dict, NULL);
		g_variant_dict_insert(&dict, "timeout", "s", "10m");
		g_variant_dict_insert(&dict, "tenant-token", "s", argv[4]);
		reply = sbx_test_call(
		    conn, "/org/sandboxd/Manager1", "org.sandboxd.Manager1", "CreateSandbox",
		    g_variant_new("(@a{sv})", g_variant_dict_end(&dict)), "(o)", &error);
		if (reply != NULL)
			g_print("%s\n",
				g_variant_get_string(g_variant_get_child_value(reply, 0), NULL));
	} else if (g_strcmp0(op, "tlist") == 0 && argc == 5) {
		reply = sbx_test_call(
		    conn, "/org/sandboxd/Manager1", "org.sandboxd.Manager1", "ListSandboxes",
		    g_variant_new_parsed("({'tenant-token': <%s>},)", argv[4]), "(ao)", &error);
		if (reply != NULL) {
			g_autoptr(GVariantIter) iter = NULL;
			const gchar *path;
			g_variant_get(reply, "(ao)", &iter);
			while (g_variant_iter_next(iter, "&o", &path))
				g_print("%s\n", path);
		}
	} else if ((g_strcmp0(op, "topen") == 0 || g_strcmp0(op, "tenv") == 0 ||
		    g_strcmp0(op, "tkill") == 0) &&
		   argc == 6) {
		/* open, then (on the same connection) use it */
		reply = sbx_test_call(conn, "/org/sandboxd/Manager1", "org.sandboxd.Manager1",
				      "OpenSandbox", g_variant_new("(ss)", argv[4], argv[5]), "(o)",
				      &error);
		if (reply != NULL && g_strcmp0(op, "topen") == 0) {
			g_print("%s\n",
				g_variant_get_string(g_variant_get_child_value(reply, 0), NULL));
		} else if (reply != NULL) {
			g_autofree gchar *path = NULL;
			g_autoptr(GVariant) used = NULL;
			g_variant_get(reply, "(o)", &path);
			used = sbx_test_call(conn, path, "org.sandboxd.Sandbox1",
					     g_strcmp0(op, "tenv") == 0 ? "GetEnvironment" : "Kill",
					     NULL, NULL, &error);
			if (used != NULL)
				g_print("ok\n");
		}
	} else {
		return 2;
	}
	if (error != NULL) {
		g_autofree gchar *name = g_dbus_error_get_remote_error(error);
		g_print("%s\n", name != NULL ? name : error->message);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc > 1 && g_strcmp0(argv[1], "client") == 0)
		return client_main(argc, argv);
	self_exe = argv[0];
	g_test_init(&argc, &argv, NULL);
	g_test_add("/tenancy/extend-timeout", Fixture, NULL, fixture_setup, test_extend_timeout,
		   fixture_teardown);
	g_test_add("/tenancy/expiry", Fixture, NULL, fixture_setup, test_expiry, fixture_teardown);
	g_test_add("/tenancy/close", Fixture, NULL, fixture_setup, test_close, fixture_teardown);
	g_test_add("/tenancy/limits-per-user", Fixture, NULL, fixture_setup, test_limits,
		   fixture_teardown);
	g_test_add("/tenancy/limits-host-memory", Fixture, NULL, fixture_setup, test_host_memory,
		   fixture_teardown);
	g_test_add("/tenancy/burst", Fixture, NULL, fixture_setup, test_burst, fixture_teardown);
	g_test_add("/tenancy/create-queue", Fixture, NULL, fixture_setup, test_create_queue,
		   fixture_teardown);
	g_test_add("/tenancy/regions", Fixture, NULL, fixture_setup, test_regions,
		   fixture_teardown);
	g_test_add("/tenancy/region-implicit", Fixture, NULL, fixture_setup, test_region_implicit,
		   fixture_teardown);
	g_test_add("/tenancy/region-bad-config", Fixture, NULL, fixture_setup,
		   test_region_bad_config, fixture_teardown);
	g_test_add("/tenancy/tokens", Fixture, NULL, fixture_setup, test_tokens, fixture_teardown);
	g_test_add("/tenancy/two-users", Fixture, NULL, fixture_setup, test_two_users,
		   fixture_teardown);
	return g_test_run();
}
