/* the real sandboxd with the test backend: state records, re-adoption after
 * kill -9 (also by a backend the config no longer gives the sandbox's region,
 * with "test-b", a second build of the test backend), orphan reaping, the
 * crashed state and its signal, ReadLog and GetStatus
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <fcntl.h>
#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <glib/gstdio.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbx-test-env.h"

/* generous: only a hang fails on this, never a slow machine */
#define WAIT_US (60 * G_USEC_PER_SEC)

typedef struct {
	SbxTestEnv *env;
	GDBusConnection *conn; /* env's */
	gchar *vm_dir;	       /* the test backend's StateDir */
	gchar *vm_b_dir;       /* test-b's */
	GArray *pids;	       /* agents a test may leave behind: killed at the end */
} Fixture;

static void
write_conf(Fixture *f, const gchar *extra)
{
	g_autofree gchar *path = g_build_filename(f->env->config_dir, "sandboxd.conf", NULL);
	g_autofree gchar *text =
	    g_strdup_printf("[daemon]\nBackend=test\nMaxLifetimeSec=3600\n[test]\nStateDir=%s\n%s",
			    f->vm_dir, extra != NULL ? extra : "");
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

/* the whole config; @VMS@: the test backend's StateDir, @VMS_B@: test-b's */
static void
write_conf_text(Fixture *f, const gchar *text)
{
	g_autofree gchar *path = g_build_filename(f->env->config_dir, "sandboxd.conf", NULL);
	g_autoptr(GString) conf = g_string_new(text);
	g_string_replace(conf, "@VMS_B@", f->vm_b_dir, 0);
	g_string_replace(conf, "@VMS@", f->vm_dir, 0);
	g_assert_true(g_file_set_contents(path, conf->str, -1, NULL));
}

static gboolean
name_has_owner(Fixture *f)
{
	gboolean has = FALSE;
	return sbx_test_name_has_owner(f->conn, &has, NULL) && has;
}

static gboolean
name_has_no_owner(Fixture *f)
{
	return !name_has_owner(f);
}

static void
wait_for(gboolean (*cond)(Fixture *), Fixture *f)
{
	sbx_test_wait_until((SbxTestCondFunc)cond, f, WAIT_US / G_USEC_PER_SEC);
}

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	f->env = sbx_test_env_new("durability");
	f->env->plugin_dir = g_strdup(PLUGIN_DIR);
	f->conn = f->env->conn;
	f->vm_dir = g_build_filename(f->env->tmpdir, "vms", NULL);
	f->vm_b_dir = g_build_filename(f->env->tmpdir, "vms-b", NULL);
	f->pids = g_array_new(FALSE, FALSE, sizeof(GPid));
	write_conf(f, NULL);
}

static void
kill9_daemon(Fixture *f)
{
	sbx_test_env_kill_daemon(f->env);
	wait_for(name_has_no_owner, f);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	/* only agents of this test's folder: a pid may have been reused */
	for (guint i = 0; i < f->pids->len; i++) {
		GPid pid = g_array_index(f->pids, GPid, i);
		g_autofree gchar *path = g_strdup_printf("/proc/%d/cmdline", (gint)pid);
		g_autofree gchar *cmdline = NULL;
		gsize len = 0;
		if (!g_file_get_contents(path, &cmdline, &len, NULL))
			continue;
		for (gsize j = 0; j + 1 < len; j++)
			if (cmdline[j] == '\0')
				cmdline[j] = ' ';
		if (strstr(cmdline, f->env->tmpdir) != NULL)
			kill(pid, SIGKILL);
	}
	g_array_unref(f->pids);
	g_clear_pointer(&f->env, sbx_test_env_free);
	g_free(f->vm_dir);
	g_free(f->vm_b_dir);
}

static gchar *
create_sandbox(GDBusConnection *conn, const gchar *options)
{
	g_autoptr(GError) error = NULL;
	gchar *path = sbx_test_create_sandbox(conn, options, &error);
	g_assert_no_error(error);
	return path;
}

static GVariant *
call(Fixture *f, const gchar *path, const gchar *iface, const gchar *method, GVariant *args,
     const gchar *reply_type, GError **error)
{
	return sbx_test_call(f->conn, path, iface, method, args, reply_type, error);
}

static gchar *
get_sandbox(Fixture *f, const gchar *id, GError **error)
{
	g_autoptr(GVariant) reply = call(f, "/org/sandboxd/Manager1", "org.sandboxd.Manager1",
					 "GetSandbox", g_variant_new("(s)", id), "(o)", error);
	gchar *path = NULL;
	if (reply != NULL)
		g_variant_get(reply, "(o)", &path);
	return path;
}

static GVariant *
get_property(Fixture *f, const gchar *path, const gchar *name)
{
	return sbx_test_get_prop(f->conn, path, "org.sandboxd.Sandbox1", name);
}

static gchar *
get_state(Fixture *f, const gchar *path)
{
	g_autoptr(GVariant) v = get_property(f, path, "State");
	return g_variant_dup_string(v, NULL);
}

static gchar *
read_all(gint fd)
{
	g_autoptr(GString) s = g_string_new(NULL);
	gchar buf[4096];
	gssize n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		g_string_append_len(s, buf, n);
	return g_string_free(g_steal_pointer(&s), FALSE);
}

/* echo-style exec; returns stdout */
static gchar *
exec_out(Fixture *f, const gchar *path, const gchar *const *argv, GError **error)
{
	g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
	g_autoptr(GVariant) reply = NULL;
	gint out_fd = sbx_test_tmp_fd();
	gchar *out = NULL;

	g_unix_fd_list_append(fds, out_fd, NULL);
	reply = g_dbus_connection_call_with_unix_fd_list_sync(
	    f->conn, "org.sandboxd", path, "org.sandboxd.Sandbox1", "Exec",
	    g_variant_new("(^as@a{sv}hhh)", argv, g_variant_new_parsed("@a{sv} {}"), -1, 0, -1),
	    G_VARIANT_TYPE("(ii)"), G_DBUS_CALL_FLAGS_NONE, -1, fds, NULL, NULL, error);
	if (reply != NULL) {
		lseek(out_fd, 0, SEEK_SET);
		out = read_all(out_fd);
	}
	close(out_fd);
	return out;
}

/* ReadLog into a pipe; returns the read end */
static gint
read_log(Fixture *f, const gchar *path, const gchar *which, gboolean follow, GError **error)
{
	g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
	g_autoptr(GVariant) reply = NULL;
	gint p[2];

	g_assert_true(g_unix_open_pipe(p, FD_CLOEXEC, NULL));
	g_unix_fd_list_append(fds, p[1], NULL);
	close(p[1]);
	reply = g_dbus_connection_call_with_unix_fd_list_sync(
	    f->conn, "org.sandboxd", path, "org.sandboxd.Sandbox1", "ReadLog",
	    g_variant_new("(sh@a{sv})", which, 0, g_variant_new_parsed("{'follow': <%b>}", follow)),
	    NULL, G_DBUS_CALL_FLAGS_NONE, -1, fds, NULL, NULL, error);
	if (reply == NULL) {
		close(p[0]);
		return -1;
	}
	return p[0];
}

static gchar *
read_log_text(Fixture *f, const gchar *path, const gchar *which)
{
	g_autoptr(GError) error = NULL;
	gint fd = read_log(f, path, which, FALSE, &error);
	gchar *text;
	g_assert_no_error(error);
	text = read_all(fd);
	close(fd);
	return text;
}

static gchar *
path_to_id(const gchar *path)
{
	return g_path_get_basename(path);
}

static gchar *
state_file(Fixture *f, const gchar *id)
{
	g_autofree gchar *name = g_strconcat(id, ".json", NULL);
	return g_build_filename(f->env->state_dir, name, NULL);
}

static gchar *
sandbox_dir(Fixture *f, const gchar *id)
{
	return g_build_filename(f->env->runtime_dir, id, NULL);
}

/* the test backend records the agent's pid */
static GPid
agent_pid(Fixture *f, const gchar *id)
{
	g_autofree gchar *name = g_strconcat(id, ".vm", NULL);
	g_autofree gchar *path = g_build_filename(f->vm_dir, name, NULL);
	g_autofree gchar *text = NULL;
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	return (GPid)g_ascii_strtoll(text, NULL, 10);
}

static gboolean
pid_alive(GPid pid)
{
	g_autofree gchar *path = g_strdup_printf("/proc/%d/stat", (gint)pid);
	g_autofree gchar *stat = NULL;
	const gchar *p;
	if (!g_file_get_contents(path, &stat, NULL, NULL))
		return FALSE;
	/* a zombie is dead */
	p = strrchr(stat, ')');
	return p != NULL && p[1] == ' ' && p[2] != 'Z';
}

static gboolean
file_is_gone(const gchar *path)
{
	return !g_file_test(path, G_FILE_TEST_EXISTS);
}

static void
wait_file_gone(const gchar *path)
{
	gint64 deadline = g_get_monotonic_time() + WAIT_US;
	while (!file_is_gone(path)) {
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_main_context_iteration(NULL, FALSE);
		g_usleep(10 * 1000);
	}
}

static void
test_state_file(Fixture *f, gconstpointer data)
{
	g_autofree gchar *path = NULL;
	g_autofree gchar *id = NULL;
	g_autofree gchar *file = NULL;
	g_autofree gchar *text = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GVariant) expires = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GError) error = NULL;
	JsonObject *obj;
	struct stat st;

	sbx_test_env_run_daemon(f->env);
	g_assert_cmpint(stat(f->env->state_dir, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0700);

	path = create_sandbox(f->conn, "{'timeout': <'10m'>, 'memory': <uint32 1024>,"
				       " 'labels': <{'team': 'dur'}>, 'env': <{'FOO': 'bar'}>}");
	id = path_to_id(path);
	file = state_file(f, id);
	/* written off the main loop: wait for it */
	{
		gint64 deadline = g_get_monotonic_time() + WAIT_US;
		while (!g_file_test(file, G_FILE_TEST_EXISTS)) {
			g_assert_cmpint(g_get_monotonic_time(), <, deadline);
			g_usleep(10 * 1000);
		}
	}
	g_assert_cmpint(stat(file, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0600);
	g_assert_true(g_file_get_contents(file, &text, NULL, NULL));
	g_assert_true(json_parser_load_from_data(parser, text, -1, NULL));
	obj = json_node_get_object(json_parser_get_root(parser));
	g_assert_cmpstr(json_object_get_string_member(obj, "id"), ==, id);
	g_assert_cmpstr(json_object_get_string_member(obj, "timeout"), ==, "duration");
	g_assert_cmpint(json_object_get_int_member(obj, "timeout_sec"), ==, 600);
	g_assert_cmpint(json_object_get_int_member(obj, "memory_mib"), ==, 1024);
	g_assert_cmpstr(json_object_get_string_member(obj, "backend"), ==, "test");
	g_assert_cmpstr(
	    json_object_get_string_member(json_object_get_object_member(obj, "labels"), "team"), ==,
	    "dur");
	g_assert_cmpstr(
	    json_object_get_string_member(json_object_get_object_member(obj, "env"), "FOO"), ==,
	    "bar");
	expires = get_property(f, path, "ExpiresAt");
	g_assert_cmpint(json_object_get_int_member(obj, "expires_at"), ==,
			(gint64)g_variant_get_uint64(expires));

	reply = call(f, path, "org.sandboxd.Sandbox1", "Kill", NULL, NULL, &error);
	g_assert_no_error(error);
	wait_file_gone(file);
}

static void
test_adopt(Fixture *f, gconstpointer data)
{
	g_autoptr(GDBusConnection) client = sbx_test_env_new_client(f->env);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *dur_path = NULL, *dur_id = NULL;
	g_autofree gchar *ses_path = NULL, *ses_id = NULL;
	g_autofree gchar *orphan_path = NULL, *orphan_id = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *events = NULL;
	g_autofree gchar *stale_dir = NULL;
	g_autofree gchar *stale_file = NULL;
	g_autofree gchar *stale_json = NULL;
	g_autofree gchar *junk_file = NULL;
	g_autoptr(GVariant) expires_before = NULL;
	g_autoptr(GVariant) expires_after = NULL;
	g_autoptr(GVariant) labels = NULL;
	g_autoptr(GVariant) status = NULL;
	const gchar *echo[] = {"sh", "-c", "echo $FOO", NULL};
	GPid dur_pid, ses_pid, orphan_pid;
	guint adopted = 0;

	sbx_test_env_run_daemon(f->env);
	dur_path = create_sandbox(f->conn, "{'timeout': <'30m'>, 'labels': <{'k': 'v'}>,"
					   " 'env': <{'FOO': 'kept'}>}");
	dur_id = path_to_id(dur_path);
	ses_path = create_sandbox(client, "@a{sv} {}");
	ses_id = path_to_id(ses_path);
	orphan_path = create_sandbox(f->conn, "{'timeout': <'30m'>}");
	orphan_id = path_to_id(orphan_path);
	expires_before = get_property(f, dur_path, "ExpiresAt");
	dur_pid = agent_pid(f, dur_id);
	ses_pid = agent_pid(f, ses_id);
	orphan_pid = agent_pid(f, orphan_id);
	{
		/* every record is on disk before the crash */
		g_autofree gchar *a = state_file(f, dur_id);
		g_autofree gchar *b = state_file(f, ses_id);
		g_autofree gchar *c = state_file(f, orphan_id);
		gint64 deadline = g_get_monotonic_time() + WAIT_US;
		while (!g_file_test(a, G_FILE_TEST_EXISTS) || !g_file_test(b, G_FILE_TEST_EXISTS) ||
		       !g_file_test(c, G_FILE_TEST_EXISTS)) {
			g_assert_cmpint(g_get_monotonic_time(), <, deadline);
			g_usleep(10 * 1000);
		}
	}

	kill9_daemon(f);
	/* the "VMs" outlived the daemon */
	g_assert_true(pid_alive(dur_pid));
	g_assert_true(pid_alive(ses_pid));
	g_assert_true(pid_alive(orphan_pid));
	/* a crash between boot and record: an orphan */
	{
		g_autofree gchar *c = state_file(f, orphan_id);
		g_assert_cmpint(g_unlink(c), ==, 0);
	}
	/* a record whose VM is gone, with its run folder */
	stale_dir = g_build_filename(f->env->runtime_dir, "sbxstale00000000", NULL);
	g_assert_cmpint(g_mkdir(stale_dir, 0750), ==, 0);
	stale_file = state_file(f, "sbxstale00000000");
	stale_json = g_strdup_printf(
	    "{\"version\":1,\"id\":\"sbxstale00000000\",\"owner_uid\":0,\"image\":\"minimal\","
	    "\"memory_mib\":1024,\"vcpus\":1,\"backend\":\"test\",\"created_at\":1,"
	    "\"timeout_sec\":60,\"expires_at\":%" G_GINT64_FORMAT ",\"run_dir\":\"%s\"}",
	    g_get_real_time() + 600 * G_USEC_PER_SEC, stale_dir);
	g_assert_true(g_file_set_contents(stale_file, stale_json, -1, NULL));
	/* garbage must not stop the daemon */
	junk_file = state_file(f, "sbxjunk000000000");
	g_assert_true(g_file_set_contents(junk_file, "{not json", -1, NULL));

	sbx_test_env_run_daemon(f->env);

	/* the duration sandbox is back, same object, same expiry, working agent */
	path = get_sandbox(f, dur_id, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(path, ==, dur_path);
	{
		g_autofree gchar *state = get_state(f, dur_path);
		g_assert_cmpstr(state, ==, "running");
	}
	expires_after = get_property(f, dur_path, "ExpiresAt");
	g_assert_cmpuint(g_variant_get_uint64(expires_after), ==,
			 g_variant_get_uint64(expires_before));
	{
		/* the implicit region of a config without [region] sections */
		g_autoptr(GVariant) region = get_property(f, dur_path, "Region");
		g_assert_cmpstr(g_variant_get_string(region, NULL), ==, "local");
	}
	labels = get_property(f, dur_path, "Labels");
	g_assert_cmpstr(g_variant_print(labels, FALSE), ==, "{'k': 'v'}");
	out = exec_out(f, dur_path, echo, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(out, ==, "kept\n");
	g_assert_true(pid_alive(dur_pid));
	events = read_log_text(f, dur_path, "events");
	g_assert_nonnull(strstr(events, "adopted"));
	/* the events from before the restart are kept (run_dir/events.log) */
	g_assert_nonnull(strstr(events, " created: image "));
	g_assert_true(strstr(events, " created: image ") < strstr(events, " adopted (agent "));

	/* the session sandbox and the orphan are gone with their files */
	g_clear_pointer(&path, g_free);
	path = get_sandbox(f, ses_id, &error);
	g_assert_null(path);
	g_assert_cmpstr(g_dbus_error_get_remote_error(error), ==, "org.sandboxd.Error.NotFound");
	g_clear_error(&error);
	path = get_sandbox(f, orphan_id, &error);
	g_assert_null(path);
	g_clear_error(&error);
	g_assert_false(pid_alive(ses_pid));
	g_assert_false(pid_alive(orphan_pid));
	{
		g_autofree gchar *a = sandbox_dir(f, ses_id);
		g_autofree gchar *b = sandbox_dir(f, orphan_id);
		g_autofree gchar *c = state_file(f, ses_id);
		g_assert_true(file_is_gone(a));
		g_assert_true(file_is_gone(b));
		wait_file_gone(c);
	}
	/* the stale record, its folder and the junk are cleaned up */
	g_assert_true(file_is_gone(stale_dir));
	wait_file_gone(stale_file);
	wait_file_gone(junk_file);

	status = call(f, "/org/sandboxd/Manager1", "org.sandboxd.Manager1", "GetStatus", NULL,
		      "(a{sv})", &error);
	g_assert_no_error(error);
	g_assert_true(
	    g_variant_lookup(g_variant_get_child_value(status, 0), "adopted", "u", &adopted));
	g_assert_cmpuint(adopted, ==, 1);

	/* SIGTERM still destroys everything, adopted ones included */
	g_subprocess_send_signal(f->env->daemon, SIGTERM);
	g_assert_true(g_subprocess_wait(f->env->daemon, NULL, NULL));
	g_clear_object(&f->env->daemon);
	g_assert_false(pid_alive(dur_pid));
	{
		g_autofree gchar *a = sandbox_dir(f, dur_id);
		g_autofree gchar *c = state_file(f, dur_id);
		g_assert_true(file_is_gone(a));
		g_assert_true(file_is_gone(c));
	}
}

static void
wait_state_file(Fixture *f, const gchar *id)
{
	g_autofree gchar *file = state_file(f, id);
	gint64 deadline = g_get_monotonic_time() + WAIT_US;
	while (!g_file_test(file, G_FILE_TEST_EXISTS)) {
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_usleep(10 * 1000);
	}
}

/* the "backend" of a sandbox's record */
static gchar *
record_backend(Fixture *f, const gchar *id)
{
	g_autofree gchar *file = state_file(f, id);
	g_autofree gchar *text = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	wait_state_file(f, id);
	g_assert_true(g_file_get_contents(file, &text, NULL, NULL));
	g_assert_true(json_parser_load_from_data(parser, text, -1, NULL));
	return g_strdup(json_object_get_string_member(
	    json_node_get_object(json_parser_get_root(parser)), "backend"));
}

/* as a version before this one wrote it: [daemon] Backend whatever the region's */
static void
set_record_backend(Fixture *f, const gchar *id, const gchar *backend)
{
	g_autofree gchar *file = state_file(f, id);
	g_autofree gchar *text = NULL;
	g_autofree gchar *out = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();

	g_assert_true(g_file_get_contents(file, &text, NULL, NULL));
	g_assert_true(json_parser_load_from_data(parser, text, -1, NULL));
	json_object_set_string_member(json_node_get_object(json_parser_get_root(parser)), "backend",
				      backend);
	json_generator_set_root(gen, json_parser_get_root(parser));
	out = json_generator_to_data(gen, NULL);
	g_assert_true(g_file_set_contents(file, out, -1, NULL));
}

static void
assert_adopted(Fixture *f, const gchar *path, const gchar *region)
{
	const gchar *echo[] = {"echo", "still here", NULL};
	g_autoptr(GError) error = NULL;
	g_autofree gchar *id = path_to_id(path);
	g_autofree gchar *again = get_sandbox(f, id, &error);
	g_autofree gchar *state = NULL;
	g_autofree gchar *out = NULL;

	g_assert_no_error(error);
	g_assert_cmpstr(again, ==, path);
	state = get_state(f, path);
	g_assert_cmpstr(state, ==, "running");
	if (region != NULL) {
		g_autoptr(GVariant) v = get_property(f, path, "Region");
		g_assert_cmpstr(g_variant_get_string(v, NULL), ==, region);
	}
	out = exec_out(f, path, echo, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(out, ==, "still here\n");
}

static void
assert_not_found(Fixture *f, const gchar *id)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = get_sandbox(f, id, &error);
	g_assert_null(path);
	g_assert_cmpstr(g_dbus_error_get_remote_error(error), ==, "org.sandboxd.Error.NotFound");
}

/* a region's sandbox records its region's backend, not [daemon] Backend;
 * recovery finds it by that, or (older records) by its region's */
static void
test_region_backend_name(Fixture *f, gconstpointer data)
{
	g_autofree gchar *a_path = NULL, *a_id = NULL, *b_path = NULL, *b_id = NULL;
	g_autofree gchar *a_backend = NULL, *b_backend = NULL;

	write_conf_text(f, "[daemon]\nBackend=test\nMaxLifetimeSec=3600\nDefaultRegion=a\n"
			   "[test]\nStateDir=@VMS@\n[test-b]\nStateDir=@VMS_B@\n"
			   "[region a]\nBackend=test\n[region b]\nBackend=test-b\n");
	sbx_test_env_run_daemon(f->env);
	a_path = create_sandbox(f->conn, "{'timeout': <'30m'>}");
	a_id = path_to_id(a_path);
	b_path = create_sandbox(f->conn, "{'timeout': <'30m'>, 'region': <'b'>}");
	b_id = path_to_id(b_path);
	a_backend = record_backend(f, a_id);
	b_backend = record_backend(f, b_id);
	g_assert_cmpstr(a_backend, ==, "test");
	g_assert_cmpstr(b_backend, ==, "test-b");
	/* each comes back through its own backend, even when an older version
	 * named [daemon] Backend in b's record */
	kill9_daemon(f);
	set_record_backend(f, b_id, "test");
	sbx_test_env_run_daemon(f->env);
	assert_adopted(f, a_path, "a");
	assert_adopted(f, b_path, "b");
	/* and its record names the right one again (written off the main loop) */
	{
		gint64 deadline = g_get_monotonic_time() + WAIT_US;
		for (;;) {
			g_autofree gchar *now = record_backend(f, b_id);
			if (g_strcmp0(now, "test-b") == 0)
				break;
			g_assert_cmpint(g_get_monotonic_time(), <, deadline);
			g_usleep(10 * 1000);
		}
	}
}

/* two regions on one plugin, each with its own StateDir (as two libvirt
 * URIs): a record is matched to the instance that runs its VM */
static void
test_adopt_same_plugin(Fixture *f, gconstpointer data)
{
	g_autofree gchar *a_path = NULL, *b_path = NULL;

	write_conf_text(f, "[daemon]\nBackend=test\nMaxLifetimeSec=3600\nDefaultRegion=a\n"
			   "[test]\nStateDir=@VMS@\n[region a]\nBackend=test\n"
			   "[region b]\nBackend=test\nStateDir=@VMS_B@\n");
	sbx_test_env_run_daemon(f->env);
	a_path = create_sandbox(f->conn, "{'timeout': <'30m'>}");
	b_path = create_sandbox(f->conn, "{'timeout': <'30m'>, 'region': <'b'>}");
	{
		g_autofree gchar *a_id = path_to_id(a_path);
		g_autofree gchar *b_id = path_to_id(b_path);
		g_autofree gchar *b_vm = g_strconcat(b_id, ".vm", NULL);
		g_autofree gchar *b_vm_path = g_build_filename(f->vm_b_dir, b_vm, NULL);
		/* really two instances: b's VM is recorded in its own StateDir */
		g_assert_true(g_file_test(b_vm_path, G_FILE_TEST_EXISTS));
		wait_state_file(f, a_id);
		wait_state_file(f, b_id);
	}
	kill9_daemon(f);
	sbx_test_env_run_daemon(f->env);
	assert_adopted(f, a_path, "a");
	assert_adopted(f, b_path, "b");
}

/* region b moved from test to test-b while sandboxd was down: its sandboxes
 * are still test's, a loaded backend (region a's) */
static void
test_adopt_other_backend(Fixture *f, gconstpointer data)
{
	g_autoptr(GDBusConnection) client = sbx_test_env_new_client(f->env);
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autofree gchar *dur_path = NULL, *dur_id = NULL, *ses_path = NULL, *ses_id = NULL;
	g_autofree gchar *new_path = NULL, *new_id = NULL;
	g_autofree gchar *backend = NULL, *new_backend = NULL;
	g_autofree gchar *ses_file = NULL;
	GPid dur_pid, ses_pid;

	write_conf_text(f, "[daemon]\nBackend=test\nMaxLifetimeSec=3600\nDefaultRegion=a\n"
			   "[test]\nStateDir=@VMS@\n[region a]\nBackend=test\n"
			   "[region b]\nBackend=test\n");
	sbx_test_env_run_daemon(f->env);
	dur_path = create_sandbox(f->conn, "{'timeout': <'30m'>, 'region': <'b'>}");
	dur_id = path_to_id(dur_path);
	ses_path = create_sandbox(client, "{'region': <'b'>}");
	ses_id = path_to_id(ses_path);
	dur_pid = agent_pid(f, dur_id);
	ses_pid = agent_pid(f, ses_id);
	g_array_append_val(f->pids, dur_pid);
	g_array_append_val(f->pids, ses_pid);
	wait_state_file(f, dur_id);
	wait_state_file(f, ses_id);

	kill9_daemon(f);
	write_conf_text(f, "[daemon]\nBackend=test\nMaxLifetimeSec=3600\nDefaultRegion=a\n"
			   "[test]\nStateDir=@VMS@\n[test-b]\nStateDir=@VMS_B@\n"
			   "[region a]\nBackend=test\n[region b]\nBackend=test-b\n");
	sbx_test_env_run_daemon(f->env);

	/* adopted with its own backend, in its region; its record still names it */
	assert_adopted(f, dur_path, "b");
	g_assert_true(pid_alive(dur_pid));
	backend = record_backend(f, dur_id);
	g_assert_cmpstr(backend, ==, "test");
	/* the session one was destroyed through test, not forgotten */
	assert_not_found(f, ses_id);
	g_assert_false(pid_alive(ses_pid));
	ses_file = state_file(f, ses_id);
	wait_file_gone(ses_file);
	/* new sandboxes of region b get its current backend */
	new_path = create_sandbox(f->conn, "{'timeout': <'30m'>, 'region': <'b'>}");
	new_id = path_to_id(new_path);
	new_backend = record_backend(f, new_id);
	g_assert_cmpstr(new_backend, ==, "test-b");
	/* and Kill still reaches the adopted one's VM */
	reply = call(f, dur_path, "org.sandboxd.Sandbox1", "Kill", NULL, NULL, &error);
	g_assert_no_error(error);
	{
		gint64 deadline = g_get_monotonic_time() + WAIT_US;
		while (pid_alive(dur_pid)) {
			g_assert_cmpint(g_get_monotonic_time(), <, deadline);
			g_usleep(10 * 1000);
		}
	}
}

/* [daemon] Backend flipped from test to test-b (as libvirt to qemu): while
 * test cannot be loaded its sandboxes are kept, VMs untouched; once it can,
 * recovery loads it alone and adopts or destroys them through it */
static void
test_adopt_unloaded_backend(Fixture *f, gconstpointer data)
{
	g_autoptr(GDBusConnection) client = sbx_test_env_new_client(f->env);
	g_autofree gchar *dur_path = NULL, *dur_id = NULL, *ses_path = NULL, *ses_id = NULL;
	g_autofree gchar *only_b = NULL, *link = NULL, *target = NULL;
	g_autofree gchar *log = NULL, *warning = NULL;
	g_autofree gchar *ses_file = NULL, *ses_dir = NULL;
	GPid dur_pid, ses_pid;

	sbx_test_env_run_daemon(f->env);
	dur_path = create_sandbox(f->conn, "{'timeout': <'30m'>}");
	dur_id = path_to_id(dur_path);
	ses_path = create_sandbox(client, "@a{sv} {}");
	ses_id = path_to_id(ses_path);
	dur_pid = agent_pid(f, dur_id);
	ses_pid = agent_pid(f, ses_id);
	g_array_append_val(f->pids, dur_pid);
	g_array_append_val(f->pids, ses_pid);
	wait_state_file(f, dur_id);
	wait_state_file(f, ses_id);
	kill9_daemon(f);

	/* only test-b is installed */
	only_b = g_build_filename(f->env->tmpdir, "plugins-b", NULL);
	g_assert_cmpint(g_mkdir(only_b, 0700), ==, 0);
	link = g_build_filename(only_b, "libsbx-test-b.so", NULL);
	target = g_build_filename(PLUGIN_DIR, "libsbx-test-b.so", NULL);
	g_assert_cmpint(symlink(target, link), ==, 0);
	g_free(f->env->plugin_dir);
	f->env->plugin_dir = g_strdup(only_b);
	write_conf_text(f, "[daemon]\nBackend=test-b\nMaxLifetimeSec=3600\n"
			   "[test-b]\nStateDir=@VMS_B@\n");
	sbx_test_env_run_daemon(f->env);
	assert_not_found(f, dur_id);
	assert_not_found(f, ses_id);
	/* kept: records, run folders and VMs */
	g_assert_true(pid_alive(dur_pid));
	g_assert_true(pid_alive(ses_pid));
	ses_file = state_file(f, ses_id);
	ses_dir = sandbox_dir(f, ses_id);
	{
		g_autofree gchar *dur_file = state_file(f, dur_id);
		g_autofree gchar *dur_dir = sandbox_dir(f, dur_id);
		g_assert_true(g_file_test(dur_file, G_FILE_TEST_EXISTS));
		g_assert_true(g_file_test(dur_dir, G_FILE_TEST_IS_DIR));
		g_assert_true(g_file_test(ses_file, G_FILE_TEST_EXISTS));
		g_assert_true(g_file_test(ses_dir, G_FILE_TEST_IS_DIR));
	}
	/* and the operator is told which sandbox, which backend */
	log = sbx_test_env_daemon_log_tail(f->env, 64 * 1024);
	warning =
	    g_strdup_printf("sandbox %s runs on backend 'test', which cannot be loaded", dur_id);
	g_assert_nonnull(strstr(log, warning));

	/* test is installed again, no region uses it */
	kill9_daemon(f);
	g_free(f->env->plugin_dir);
	f->env->plugin_dir = g_strdup(PLUGIN_DIR);
	write_conf_text(f, "[daemon]\nBackend=test-b\nMaxLifetimeSec=3600\n"
			   "[test]\nStateDir=@VMS@\n[test-b]\nStateDir=@VMS_B@\n");
	sbx_test_env_run_daemon(f->env);
	assert_adopted(f, dur_path, "local");
	g_assert_true(pid_alive(dur_pid));
	assert_not_found(f, ses_id);
	g_assert_false(pid_alive(ses_pid));
	wait_file_gone(ses_file);
	g_assert_true(file_is_gone(ses_dir));
	g_free(log);
	log = sbx_test_env_daemon_log_tail(f->env, 64 * 1024);
	g_assert_nonnull(strstr(log, "loaded backend 'test' (no region uses it)"));
	/* SIGTERM destroys it through that backend too */
	g_subprocess_send_signal(f->env->daemon, SIGTERM);
	g_assert_true(g_subprocess_wait(f->env->daemon, NULL, NULL));
	g_clear_object(&f->env->daemon);
	g_assert_false(pid_alive(dur_pid));
}

/* a backend loaded for recovery alone whose bridge no region uses: the
 * firewall does not isolate that bridge, so its VM is destroyed, not adopted */
static void
test_unisolated_bridge(Fixture *f, gconstpointer data)
{
	g_autofree gchar *path = NULL, *id = NULL, *file = NULL, *log = NULL;
	GPid pid;

	sbx_test_env_run_daemon(f->env);
	path = create_sandbox(f->conn, "{'timeout': <'30m'>}");
	id = path_to_id(path);
	pid = agent_pid(f, id);
	g_array_append_val(f->pids, pid);
	wait_state_file(f, id);
	kill9_daemon(f);

	write_conf_text(f, "[daemon]\nBackend=test-b\nMaxLifetimeSec=3600\n"
			   "[test]\nStateDir=@VMS@\nNetworkBridge=sbxnobr0\n"
			   "[test-b]\nStateDir=@VMS_B@\n");
	sbx_test_env_run_daemon(f->env);
	assert_not_found(f, id);
	g_assert_false(pid_alive(pid));
	file = state_file(f, id);
	wait_file_gone(file);
	log = sbx_test_env_daemon_log_tail(f->env, 64 * 1024);
	g_assert_nonnull(strstr(log, "on bridge sbxnobr0, which no region uses"));
}

typedef struct {
	GPtrArray *states;
	GPtrArray *reasons;
} Signals;

static void
on_state_changed(GDBusConnection *connection, const gchar *sender, const gchar *path,
		 const gchar *iface, const gchar *signal, GVariant *params, gpointer user_data)
{
	Signals *s = user_data;
	const gchar *state, *reason;
	g_variant_get(params, "(&s&s)", &state, &reason);
	g_ptr_array_add(s->states, g_strdup(state));
	g_ptr_array_add(s->reasons, g_strdup(reason));
}

static void
on_exec_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	GError **error = user_data;
	g_autoptr(GVariant) reply = g_dbus_connection_call_with_unix_fd_list_finish(
	    G_DBUS_CONNECTION(source), NULL, res, error);
	g_assert_null(reply);
}

static void
test_crashed(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	GError *exec_error = NULL;
	g_autofree gchar *path = NULL, *id = NULL, *dir = NULL, *file = NULL;
	g_autofree gchar *again = NULL;
	g_autofree gchar *events = NULL;
	g_autofree gchar *console = NULL;
	g_autofree gchar *console_path = NULL;
	g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
	g_autoptr(GVariant) reply = NULL;
	const gchar *sleeper[] = {"sleep", "1000", NULL};
	Signals sig = {g_ptr_array_new_with_free_func(g_free),
		       g_ptr_array_new_with_free_func(g_free)};
	guint sub;
	GPid pid;
	gint null_fd;

	sbx_test_env_run_daemon(f->env);
	path = create_sandbox(f->conn, "{'timeout': <'30m'>}");
	id = path_to_id(path);
	dir = sandbox_dir(f, id);
	file = state_file(f, id);
	pid = agent_pid(f, id);
	console_path = g_build_filename(dir, "console.log", NULL);
	g_assert_true(g_file_set_contents(console_path, "last words of the guest\n", -1, NULL));
	sub = g_dbus_connection_signal_subscribe(
	    f->conn, "org.sandboxd", "org.sandboxd.Sandbox1", "StateChanged", path, NULL,
	    G_DBUS_SIGNAL_FLAGS_NONE, on_state_changed, &sig, NULL);
	/* a waiting client */
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	g_unix_fd_list_append(fds, null_fd, NULL);
	close(null_fd);
	g_dbus_connection_call_with_unix_fd_list(
	    f->conn, "org.sandboxd", path, "org.sandboxd.Sandbox1", "Exec",
	    g_variant_new("(^as@a{sv}hhh)", sleeper, g_variant_new_parsed("@a{sv} {}"), 0, 0, 0),
	    G_VARIANT_TYPE("(ii)"), G_DBUS_CALL_FLAGS_NONE, -1, fds, NULL, on_exec_done,
	    &exec_error);
	/* let the exec reach the agent */
	{
		gint64 deadline = g_get_monotonic_time() + WAIT_US;
		g_autofree gchar *ev = NULL;
		while (ev == NULL || strstr(ev, "exec started: sleep") == NULL) {
			g_assert_cmpint(g_get_monotonic_time(), <, deadline);
			g_free(ev);
			ev = read_log_text(f, path, "events");
			g_main_context_iteration(NULL, FALSE);
		}
	}

	/* the "VM" dies behind the daemon's back */
	g_assert_cmpint(kill(pid, SIGKILL), ==, 0);
	while (exec_error == NULL)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpstr(g_dbus_error_get_remote_error(exec_error), ==,
			"org.sandboxd.Error.SandboxGone");
	g_clear_error(&exec_error);
	{
		gint64 deadline = g_get_monotonic_time() + WAIT_US;
		while (sig.states->len == 0) {
			g_assert_cmpint(g_get_monotonic_time(), <, deadline);
			g_main_context_iteration(NULL, FALSE);
			g_usleep(10 * 1000);
		}
	}
	g_assert_cmpstr(g_ptr_array_index(sig.states, 0), ==, "crashed");
	g_assert_cmpstr(g_ptr_array_index(sig.reasons, 0), !=, "");
	/* cleaned up: folder and record */
	wait_file_gone(dir);
	wait_file_gone(file);
	{
		g_autofree gchar *state = get_state(f, path);
		g_assert_cmpstr(state, ==, "crashed");
	}
	/* still found, for its logs */
	again = get_sandbox(f, id, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(again, ==, path);
	events = read_log_text(f, path, "events");
	g_assert_nonnull(strstr(events, "crashed: "));
	g_assert_nonnull(strstr(events, "destroyed: "));
	console = read_log_text(f, path, "console");
	g_assert_cmpstr(console, ==, "last words of the guest\n");
	/* nothing else works on it */
	{
		const gchar *echo[] = {"true", NULL};
		g_autofree gchar *out = exec_out(f, path, echo, &error);
		g_assert_null(out);
		g_assert_cmpstr(g_dbus_error_get_remote_error(error), ==,
				"org.sandboxd.Error.NotRunning");
		g_clear_error(&error);
	}
	/* Kill lets it go at once */
	reply = call(f, path, "org.sandboxd.Sandbox1", "Kill", NULL, NULL, &error);
	g_assert_no_error(error);
	g_clear_pointer(&again, g_free);
	again = get_sandbox(f, id, &error);
	g_assert_null(again);
	g_assert_cmpstr(g_dbus_error_get_remote_error(error), ==, "org.sandboxd.Error.NotFound");
	g_dbus_connection_signal_unsubscribe(f->conn, sub);
	g_ptr_array_unref(sig.states);
	g_ptr_array_unref(sig.reasons);
}

static void
test_logs(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL, *id = NULL, *console_path = NULL;
	g_autofree gchar *events = NULL, *console = NULL, *out = NULL, *rest = NULL;
	g_autoptr(GVariant) reply = NULL;
	const gchar *echo[] = {"echo", "hi", NULL};
	gchar buf[256];
	gssize n;
	gint follow_fd, events_fd;
	FILE *fp;

	sbx_test_env_run_daemon(f->env);
	path = create_sandbox(f->conn, "{'timeout': <'30m'>}");
	id = path_to_id(path);
	out = exec_out(f, path, echo, &error);
	g_assert_no_error(error);
	events = read_log_text(f, path, "events");
	g_assert_nonnull(strstr(events, " created: image "));
	g_assert_nonnull(strstr(events, " running (agent "));
	g_assert_nonnull(strstr(events, " exec started: echo\n"));
	g_assert_nonnull(strstr(events, " exec ended: echo: exit status 0, signal 0\n"));

	console_path = g_build_filename(f->env->runtime_dir, id, "console.log", NULL);
	fp = fopen(console_path, "a");
	g_assert_nonnull(fp);
	fputs("boot line 1\n", fp);
	fflush(fp);
	console = read_log_text(f, path, "console");
	g_assert_nonnull(strstr(console, "boot line 1\n"));

	/* follow: new lines arrive, the end of the sandbox ends the stream */
	follow_fd = read_log(f, path, "console", TRUE, &error);
	g_assert_no_error(error);
	events_fd = read_log(f, path, "events", TRUE, &error);
	g_assert_no_error(error);
	fputs("boot line 2\n", fp);
	fclose(fp);
	{
		g_autoptr(GString) got = g_string_new(NULL);
		while (strstr(got->str, "boot line 2\n") == NULL) {
			n = read(follow_fd, buf, sizeof(buf));
			g_assert_cmpint(n, >, 0);
			g_string_append_len(got, buf, n);
		}
		g_assert_nonnull(strstr(got->str, "boot line 1\n"));
	}
	reply = call(f, path, "org.sandboxd.Sandbox1", "Kill", NULL, NULL, &error);
	g_assert_no_error(error);
	/* EOF on both */
	rest = read_all(follow_fd);
	close(follow_fd);
	g_free(events);
	events = read_all(events_fd);
	close(events_fd);
	g_assert_nonnull(strstr(events, " destroyed: killed by "));

	/* bad arguments */
	path = create_sandbox(f->conn, "{'timeout': <'30m'>}");
	g_assert_cmpint(read_log(f, path, "kernel", FALSE, &error), ==, -1);
	g_assert_cmpstr(g_dbus_error_get_remote_error(error), ==,
			"org.sandboxd.Error.InvalidArgument");
}

static void
test_status(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *a = NULL, *b = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GVariant) status = NULL;
	g_autoptr(GVariant) states = NULL;
	guint32 n = 0, vcpus = 0, running = 0, crashed = 7;
	guint64 memory = 0, host = 0;

	sbx_test_env_run_daemon(f->env);
	a = create_sandbox(f->conn, "{'timeout': <'30m'>, 'memory': <uint32 1024>,"
				    " 'vcpus': <uint32 1>}");
	b = create_sandbox(f->conn, "{'memory': <uint32 2048>, 'vcpus': <uint32 2>}");
	reply = call(f, "/org/sandboxd/Manager1", "org.sandboxd.Manager1", "GetStatus", NULL,
		     "(a{sv})", &error);
	g_assert_no_error(error);
	status = g_variant_get_child_value(reply, 0);
	g_assert_true(g_variant_lookup(status, "sandboxes", "u", &n));
	g_assert_cmpuint(n, ==, 2);
	g_assert_true(g_variant_lookup(status, "memory_committed_mib", "t", &memory));
	g_assert_cmpuint(memory, ==, 3072);
	g_assert_true(g_variant_lookup(status, "vcpus_committed", "u", &vcpus));
	g_assert_cmpuint(vcpus, ==, 3);
	g_assert_true(g_variant_lookup(status, "host_memory_available_mib", "t", &host));
	g_assert_cmpuint(host, >, 0);
	states = g_variant_lookup_value(status, "states", G_VARIANT_TYPE("a{su}"));
	g_assert_nonnull(states);
	g_assert_true(g_variant_lookup(states, "running", "u", &running));
	g_assert_cmpuint(running, ==, 2);
	g_assert_true(g_variant_lookup(states, "crashed", "u", &crashed));
	g_assert_cmpuint(crashed, ==, 0);
}

static gchar *
run_ctl(Fixture *f, gint *status, const gchar *const *args)
{
	g_autoptr(GSubprocessLauncher) launcher =
	    g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	gchar *out = NULL;

	g_subprocess_launcher_setenv(launcher, "SANDBOXCTL_BUS_ADDRESS", f->env->bus_address, TRUE);
	g_ptr_array_add(argv, (gpointer)SANDBOXCTL);
	for (guint i = 0; args[i] != NULL; i++)
		g_ptr_array_add(argv, (gpointer)args[i]);
	g_ptr_array_add(argv, NULL);
	proc = g_subprocess_launcher_spawnv(launcher, (const gchar *const *)argv->pdata, &error);
	g_assert_no_error(error);
	g_assert_true(g_subprocess_communicate_utf8(proc, NULL, NULL, &out, NULL, &error));
	g_assert_no_error(error);
	*status = g_subprocess_get_exit_status(proc);
	return out;
}

static void
on_ctl_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	gboolean *done = user_data;
	g_subprocess_wait_finish(G_SUBPROCESS(source), res, NULL);
	*done = TRUE;
}

static void
test_cli(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL, *id = NULL, *out = NULL, *events = NULL, *status = NULL;
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autoptr(GSubprocess) follower = NULL;
	g_autoptr(GVariant) reply = NULL;
	const gchar *echo[] = {"echo", "hi", NULL};
	gboolean done = FALSE;
	gint rc = -1;

	sbx_test_env_run_daemon(f->env);
	path = create_sandbox(f->conn, "{'timeout': <'30m'>, 'memory': <uint32 1024>}");
	id = path_to_id(path);
	out = exec_out(f, path, echo, &error);
	g_assert_no_error(error);
	{
		const gchar *args[] = {"logs", "--events", id, NULL};
		events = run_ctl(f, &rc, args);
		g_assert_cmpint(rc, ==, 0);
		g_assert_nonnull(strstr(events, " exec started: echo\n"));
	}
	{
		const gchar *args[] = {"status", NULL};
		status = run_ctl(f, &rc, args);
		g_assert_cmpint(rc, ==, 0);
		g_assert_nonnull(strstr(status, "Sandboxes: 1 ("));
		g_assert_nonnull(strstr(status, "running 1"));
		g_assert_nonnull(strstr(status, "Memory committed: 1024 MiB"));
	}
	{
		const gchar *args[] = {"logs", "nosuchsandbox", NULL};
		g_free(run_ctl(f, &rc, args));
		g_assert_cmpint(rc, ==, 1);
	}
	/* --follow ends when the sandbox is destroyed */
	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
	g_subprocess_launcher_setenv(launcher, "SANDBOXCTL_BUS_ADDRESS", f->env->bus_address, TRUE);
	follower = g_subprocess_launcher_spawn(launcher, &error, SANDBOXCTL, "logs", "--follow",
					       "--events", id, NULL);
	g_assert_no_error(error);
	{
		GInputStream *stdout_pipe = g_subprocess_get_stdout_pipe(follower);
		g_autoptr(GString) got = g_string_new(NULL);
		gchar buf[1024];
		gssize n;
		/* it is following once the old events arrived */
		while (strstr(got->str, "exec ended: echo") == NULL) {
			n = g_input_stream_read(stdout_pipe, buf, sizeof(buf), NULL, &error);
			g_assert_no_error(error);
			g_assert_cmpint(n, >, 0);
			g_string_append_len(got, buf, n);
		}
		reply = call(f, path, "org.sandboxd.Sandbox1", "Kill", NULL, NULL, &error);
		g_assert_no_error(error);
		while ((n = g_input_stream_read(stdout_pipe, buf, sizeof(buf), NULL, &error)) > 0)
			g_string_append_len(got, buf, n);
		g_assert_no_error(error);
		g_assert_nonnull(strstr(got->str, " destroyed: killed by "));
	}
	g_subprocess_wait_async(follower, NULL, on_ctl_done, &done);
	while (!done)
		g_main_context_iteration(NULL, TRUE);
	g_assert_true(g_subprocess_get_if_exited(follower));
	g_assert_cmpint(g_subprocess_get_exit_status(follower), ==, 0);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
	ADD("/durability/state-file", test_state_file);
	ADD("/durability/adopt", test_adopt);
	ADD("/durability/region-backend-name", test_region_backend_name);
	ADD("/durability/adopt-other-backend", test_adopt_other_backend);
	ADD("/durability/adopt-same-plugin", test_adopt_same_plugin);
	ADD("/durability/adopt-unloaded-backend", test_adopt_unloaded_backend);
	ADD("/durability/unisolated-bridge", test_unisolated_bridge);
	ADD("/durability/crashed", test_crashed);
	ADD("/durability/logs", test_logs);
	ADD("/durability/status", test_status);
	ADD("/durability/cli", test_cli);
#undef ADD
	return g_test_run();
}
