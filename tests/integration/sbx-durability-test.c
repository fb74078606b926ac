/* durability with real VMs: a daemon killed with SIGKILL and restarted
 * re-adopts a duration sandbox (GetSandbox, Exec, ExpiresAt intact) and
 * destroys a session one with its domain and files; QEMU killed behind the
 * daemon's back makes the sandbox "crashed" with a StateChanged signal, and
 * its domain and run folder go; a daemon SIGKILLed right after a Kill
 * returned leaves nothing of that sandbox; a sandbox survives a daemon
 * SIGKILLed and restarted with [daemon] Backend flipped (qemu <-> libvirt),
 * adopted through its own backend. Four VMs in all.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gunixfdlist.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <unistd.h>

#include "sbx-test-env.h"
#include "sbx-test-main.h"
#include "sbx-test-supervisor.h"

#define WAIT_US (120 * G_USEC_PER_SEC)

static gchar *dur_path;
static gchar *dur_id;

static gchar *
get_sandbox(const gchar *id, GError **error)
{
	g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
	    sbx_test_env_get()->conn, "org.sandboxd", "/org/sandboxd/Manager1",
	    "org.sandboxd.Manager1", "GetSandbox", g_variant_new("(s)", id), G_VARIANT_TYPE("(o)"),
	    G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
	gchar *path = NULL;
	if (reply != NULL)
		g_variant_get(reply, "(o)", &path);
	return path;
}

static gboolean
path_exists(const gchar *dir, const gchar *name)
{
	g_autofree gchar *path = g_build_filename(dir, name, NULL);
	return g_file_test(path, G_FILE_TEST_EXISTS);
}

/* a destroyed sandbox: no QEMU, run folder or record left. Its files go in
 * the background, its record behind queued writes: wait, bounded */
static void
wait_nothing_left(SbxTestEnv *env, const gchar *id)
{
	g_autofree gchar *record = g_strconcat(id, ".json", NULL);
	g_autoptr(GArray) qemu = NULL;
	gint64 deadline = g_get_monotonic_time() + WAIT_US;

	sbx_test_wait_vm_gone(id, 60);
	while (path_exists(env->runtime_dir, id) || path_exists(env->state_dir, record)) {
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_usleep(50 * 1000);
	}
	qemu = sbx_test_find_qemu(id);
	g_assert_cmpuint(qemu->len, ==, 0);
}

static void
test_restart(void)
{
	SbxTestEnv *env = sbx_test_env_get();
	g_autoptr(GError) error = NULL;
	g_autoptr(GDBusConnection) client = NULL;
	g_autoptr(GVariant) expires_before = NULL;
	g_autoptr(GVariant) expires_after = NULL;
	g_autoptr(GArray) qemu_before = NULL;
	g_autoptr(GArray) qemu_after = NULL;
	g_autofree gchar *ses_path = NULL;
	g_autofree gchar *ses_id = NULL;
	g_autofree gchar *again = NULL;
	g_autofree gchar *record = NULL;
	g_autofree gchar *events = NULL;
	SbxExecResult res = {0};

	dur_path = sbx_test_create(
	    NULL,
	    g_variant_new_parsed("{'memory': <uint32 768>, 'vcpus': <uint32 1>,"
				 " 'timeout': <'20m'>, 'env': <{'MARK': 'survivor'}>}"),
	    &error);
	g_assert_no_error(error);
	dur_id = sbx_test_get_id(NULL, dur_path);
	/* a session sandbox whose client is still connected when the daemon dies */
	client = g_dbus_connection_new_for_address_sync(
	    env->bus_address,
	    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
		G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
	    NULL, NULL, &error);
	g_assert_no_error(error);
	ses_path = sbx_test_create(
	    client, g_variant_new_parsed("{'memory': <uint32 768>, 'vcpus': <uint32 1>}"), &error);
	g_assert_no_error(error);
	ses_id = sbx_test_get_id(client, ses_path);
	g_assert_true(sbx_test_sh(dur_path, "echo before > /tmp/mark", NULL, &res, &error));
	g_assert_no_error(error);
	sbx_exec_result_clear(&res);
	expires_before =
	    sbx_test_get_property(NULL, dur_path, "org.sandboxd.Sandbox1", "ExpiresAt", &error);
	g_assert_no_error(error);
	qemu_before = sbx_test_find_qemu(dur_id);
	g_assert_cmpuint(qemu_before->len, ==, 1);
	record = g_strconcat(dur_id, ".json", NULL);
	{
		gint64 deadline = g_get_monotonic_time() + WAIT_US;
		while (!path_exists(env->state_dir, record)) {
			g_assert_cmpint(g_get_monotonic_time(), <, deadline);
			g_usleep(50 * 1000);
		}
	}

	/* a crash of the daemon itself */
	g_subprocess_send_signal(env->daemon, SIGKILL);
	g_assert_true(g_subprocess_wait(env->daemon, NULL, NULL));
	g_clear_object(&env->daemon);
	g_assert_true(sbx_test_vm_exists(NULL, dur_id, NULL));
	g_assert_true(sbx_test_vm_exists(NULL, ses_id, NULL));
	g_assert_true(sbx_test_env_restart_daemon(env, &error));
	g_assert_no_error(error);

	/* the duration sandbox: same object, same QEMU, same expiry, same guest */
	again = get_sandbox(dur_id, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(again, ==, dur_path);
	expires_after =
	    sbx_test_get_property(NULL, dur_path, "org.sandboxd.Sandbox1", "ExpiresAt", &error);
	g_assert_no_error(error);
	g_assert_cmpuint(g_variant_get_uint64(expires_after), ==,
			 g_variant_get_uint64(expires_before));
	qemu_after = sbx_test_find_qemu(dur_id);
	g_assert_cmpuint(qemu_after->len, ==, 1);
	g_assert_cmpint(g_array_index(qemu_after, gint, 0), ==,
			g_array_index(qemu_before, gint, 0));
	g_assert_true(sbx_test_sh(dur_path, "cat /tmp/mark; echo $MARK", NULL, &res, &error));
	g_assert_no_error(error);
	g_assert_cmpint(res.exit_status, ==, 0);
	{
		gsize len = 0;
		const gchar *data = g_bytes_get_data(res.out, &len);
		g_autofree gchar *text = g_strndup(data, len);
		g_assert_cmpstr(text, ==, "before\nsurvivor\n");
	}
	sbx_exec_result_clear(&res);
	events = sbx_test_read_log(dur_path, "events");
	g_assert_nonnull(strstr(events, " adopted (agent "));

	/* the session sandbox: domain, QEMU, run folder and record gone */
	g_clear_pointer(&again, g_free);
	again = get_sandbox(ses_id, &error);
	g_assert_null(again);
	g_clear_error(&error);
	wait_nothing_left(env, ses_id);
	g_dbus_connection_close_sync(client, NULL, NULL);
}

typedef struct {
	gchar *state;
	gchar *reason;
} StateSignal;

static void
on_state_changed(GDBusConnection *connection, const gchar *sender, const gchar *path,
		 const gchar *iface, const gchar *signal, GVariant *params, gpointer user_data)
{
	StateSignal *s = user_data;
	if (s->state != NULL)
		return;
	g_variant_get(params, "(ss)", &s->state, &s->reason);
}

static void
test_qemu_killed(void)
{
	SbxTestEnv *env = sbx_test_env_get();
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) qemu = NULL;
	g_autoptr(GVariant) state = NULL;
	g_autofree gchar *events = NULL;
	g_autofree gchar *record = NULL;
	StateSignal sig = {0};
	gint64 deadline;
	guint sub;

	g_assert_nonnull(dur_path);
	sub = g_dbus_connection_signal_subscribe(
	    env->conn, "org.sandboxd", "org.sandboxd.Sandbox1", "StateChanged", dur_path, NULL,
	    G_DBUS_SIGNAL_FLAGS_NONE, on_state_changed, &sig, NULL);
	qemu = sbx_test_find_qemu(dur_id);
	g_assert_cmpuint(qemu->len, ==, 1);
	g_assert_cmpint(kill(g_array_index(qemu, gint, 0), SIGKILL), ==, 0);

	deadline = g_get_monotonic_time() + WAIT_US;
	while (sig.state == NULL) {
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_main_context_iteration(NULL, FALSE);
		g_usleep(20 * 1000);
	}
	g_test_message("StateChanged(%s, %s)", sig.state, sig.reason);
	g_assert_cmpstr(sig.state, ==, "crashed");
	g_assert_cmpstr(sig.reason, !=, "");
	/* cleaned up: no domain, no run folder, no record */
	record = g_strconcat(dur_id, ".json", NULL);
	while (path_exists(env->runtime_dir, dur_id) || path_exists(env->state_dir, record)) {
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_usleep(50 * 1000);
	}
	sbx_test_wait_vm_gone(dur_id, 60);
	state = sbx_test_get_property(NULL, dur_path, "org.sandboxd.Sandbox1", "State", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(g_variant_get_string(state, NULL), ==, "crashed");
	events = sbx_test_read_log(dur_path, "events");
	g_assert_nonnull(strstr(events, " crashed: "));
	g_dbus_connection_signal_unsubscribe(env->conn, sub);
	/* dismissed */
	g_assert_true(sbx_test_kill(NULL, dur_path, &error));
	g_assert_no_error(error);
	g_clear_pointer(&dur_path, g_free);
	g_free(sig.state);
	g_free(sig.reason);
}

/* Kill returns before libvirtd has forgotten the domain: a daemon SIGKILLed
 * right after it must not bring the sandbox back, nor leave its domain, QEMU,
 * run folder or record behind */
static void
test_kill9_after_kill(void)
{
	SbxTestEnv *env = sbx_test_env_get();
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) qemu = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *id = NULL;
	g_autofree gchar *record = NULL;
	g_autofree gchar *again = NULL;
	gint64 deadline;

	path = sbx_test_create(
	    NULL,
	    g_variant_new_parsed(
		"{'memory': <uint32 768>, 'vcpus': <uint32 1>, 'timeout': <'20m'>}"),
	    &error);
	g_assert_no_error(error);
	id = sbx_test_get_id(NULL, path);
	record = g_strconcat(id, ".json", NULL);
	deadline = g_get_monotonic_time() + WAIT_US;
	while (!path_exists(env->state_dir, record)) {
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_usleep(50 * 1000);
	}

	g_assert_true(sbx_test_kill(NULL, path, &error));
	g_assert_no_error(error);
	/* libvirt's Kill replies once QEMU has exited; the qemu backend's once
	 * SIGKILL is sent and the record says "dying" (QEMU may still be
	 * tearing down its memory): the restarted daemon must finish that */
	if (g_str_equal(sbx_test_backend(), "libvirt")) {
		qemu = sbx_test_find_qemu(id);
		g_assert_cmpuint(qemu->len, ==, 0);
	}
	g_subprocess_send_signal(env->daemon, SIGKILL);
	g_assert_true(g_subprocess_wait(env->daemon, NULL, NULL));
	g_clear_object(&env->daemon);
	g_assert_true(sbx_test_env_restart_daemon(env, &error));
	g_assert_no_error(error);

	/* not re-adopted, and nothing of it left once recovery and libvirtd are done */
	again = get_sandbox(id, &error);
	g_assert_null(again);
	g_clear_error(&error);
	wait_nothing_left(env, id);
	g_clear_pointer(&again, g_free);
	again = get_sandbox(id, &error);
	g_assert_null(again);
}

/* the release that made qemu the default: a daemon SIGKILLed, then started
 * with the other [daemon] Backend. The sandbox's VM runs on the old backend,
 * which recovery loads for it: adopted (same QEMU), and Kill goes through it */
static void
test_backend_flip(void)
{
	SbxTestEnv *env = sbx_test_env_get();
	const gchar *before = sbx_test_backend();
	const gchar *after = g_strcmp0(before, "qemu") == 0 ? "libvirt" : "qemu";
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) qemu_before = NULL;
	g_autoptr(GArray) qemu_after = NULL;
	g_autofree gchar *conf_path = g_build_filename(env->config_dir, "sandboxd.conf", NULL);
	g_autofree gchar *conf = NULL;
	g_autofree gchar *old_line = g_strdup_printf("\nBackend=%s\n", before);
	g_autofree gchar *new_line = g_strdup_printf("\nBackend=%s\n", after);
	g_autofree gchar *path = NULL, *id = NULL, *record = NULL, *again = NULL;
	g_autofree gchar *records = g_build_filename(env->tmpdir, "qemu-records", NULL);
	g_autoptr(GString) flipped = NULL;
	SbxExecResult res = {0};
	gint64 deadline;

	g_assert_true(g_file_get_contents(conf_path, &conf, NULL, NULL));
	g_assert_nonnull(strstr(conf, old_line));
	path = sbx_test_create(
	    NULL,
	    g_variant_new_parsed("{'memory': <uint32 768>, 'vcpus': <uint32 1>,"
				 " 'timeout': <'20m'>, 'env': <{'MARK': 'flipped'}>}"),
	    &error);
	g_assert_no_error(error);
	id = sbx_test_get_id(NULL, path);
	qemu_before = sbx_test_find_qemu(id);
	g_assert_cmpuint(qemu_before->len, ==, 1);
	record = g_strconcat(id, ".json", NULL);
	deadline = g_get_monotonic_time() + WAIT_US;
	while (!path_exists(env->state_dir, record)) {
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_usleep(50 * 1000);
	}

	g_subprocess_send_signal(env->daemon, SIGKILL);
	g_assert_true(g_subprocess_wait(env->daemon, NULL, NULL));
	g_clear_object(&env->daemon);
	/* the other backend's section too (the harness writes only its own) */
	flipped = g_string_new(conf);
	g_string_replace(flipped, old_line, new_line, 1);
	if (g_strcmp0(after, "libvirt") == 0)
		g_string_append(flipped, "\n[libvirt]\nDomainType=auto\n");
	else
		g_string_append_printf(flipped, "\n[qemu]\nPrivateTmp=false\nRecordDir=%s\n",
				       records);
	g_assert_true(sbx_test_env_write_config(env, flipped->str, &error));
	g_assert_no_error(error);
	g_assert_true(sbx_test_env_restart_daemon(env, &error));
	g_assert_no_error(error);

	/* the same sandbox, the same QEMU, a working agent */
	again = get_sandbox(id, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(again, ==, path);
	qemu_after = sbx_test_find_qemu(id);
	g_assert_cmpuint(qemu_after->len, ==, 1);
	g_assert_cmpint(g_array_index(qemu_after, gint, 0), ==,
			g_array_index(qemu_before, gint, 0));
	g_assert_true(sbx_test_sh(path, "echo $MARK", NULL, &res, &error));
	g_assert_no_error(error);
	{
		gsize len = 0;
		const gchar *data = g_bytes_get_data(res.out, &len);
		g_autofree gchar *text = g_strndup(data, len);
		g_assert_cmpstr(text, ==, "flipped\n");
	}
	sbx_exec_result_clear(&res);

	/* Kill reaches it through its own backend: nothing of it left */
	g_assert_true(sbx_test_kill(NULL, path, &error));
	g_assert_no_error(error);
	wait_nothing_left(env, id);

	/* the harness's config again, for what follows */
	g_assert_true(sbx_test_env_write_config(env, conf, &error));
	g_assert_no_error(error);
	g_assert_true(sbx_test_env_restart_daemon(env, &error));
	g_assert_no_error(error);
}

int
main(int argc, char **argv)
{
	SbxTestEnv *env = sbx_test_main_run("durability", &argc, &argv);
	int rc;

	g_test_add_func("/durability/kill9-restart", test_restart);
	/* uses the re-adopted sandbox */
	g_test_add_func("/durability/qemu-killed", test_qemu_killed);
	g_test_add_func("/durability/kill9-after-kill", test_kill9_after_kill);
	g_test_add_func("/durability/backend-flip", test_backend_flip);
	rc = g_test_run();
	if (dur_path != NULL)
		sbx_test_kill(NULL, dur_path, NULL);
	sbx_test_env_stop(env);
	g_free(dur_path);
	g_free(dur_id);
	return rc;
}
