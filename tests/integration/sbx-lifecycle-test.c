/* a duration sandbox expiring in a real VM: Expiring, SIGTERM reaches the guest's
 * processes, then after the grace the domain, QEMU and every file are gone;
 * ExtendTimeout moves the expiry.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#include "sbx-test-env.h"
#include "sbx-test-main.h"
#include "sbx-test-supervisor.h"

/* generous: TCG on a loaded host */
#define WAIT_US (600 * G_USEC_PER_SEC)

typedef struct {
	gboolean expiring;
	guint grace;
	gchar *removed_id;
	gchar *removed_reason;
} Signals;

static void
on_signal(GDBusConnection *conn, const gchar *sender, const gchar *path, const gchar *iface,
	  const gchar *name, GVariant *params, gpointer user_data)
{
	Signals *s = user_data;
	if (g_strcmp0(name, "Expiring") == 0) {
		g_variant_get(params, "(u)", &s->grace);
		s->expiring = TRUE;
	} else if (g_strcmp0(name, "SandboxRemoved") == 0 && s->removed_id == NULL) {
		g_variant_get(params, "(ss)", &s->removed_id, &s->removed_reason);
	}
}

static void
test_expiry(void)
{
	SbxTestEnv *env = sbx_test_env_get();
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *id = NULL;
	g_autofree gchar *run_dir = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GVariant) v = NULL;
	g_autoptr(GArray) qemu = NULL;
	SbxExecCall *call;
	SbxExecResult res = {0};
	Signals s = {0};
	guint64 expires_at = 0, extended = 0;
	gint64 deadline;
	guint sub;
	/* ends only on SIGTERM, and says so */
	const gchar *argv[] = {"sh", "-c",
			       "trap 'echo got-term; exit 7' TERM; echo ready; "
			       "while :; do sleep 1; done",
			       NULL};

	sub = g_dbus_connection_signal_subscribe(env->conn, NULL, NULL, NULL, NULL, NULL,
						 G_DBUS_SIGNAL_FLAGS_NONE, on_signal, &s, NULL);
	path = sbx_test_create(
	    NULL, g_variant_new_parsed("{'timeout': <'20s'>, 'vcpus': <uint32 1>}"), &error);
	g_assert_no_error(error);
	id = sbx_test_get_id(NULL, path);
	run_dir = g_build_filename(env->runtime_dir, id, NULL);
	g_assert_true(g_file_test(run_dir, G_FILE_TEST_IS_DIR));
	g_assert_true(sbx_test_vm_exists(NULL, id, NULL));

	/* ExtendTimeout adds what it says */
	v = sbx_test_get_property(NULL, path, "org.sandboxd.Sandbox1", "ExpiresAt", &error);
	g_assert_no_error(error);
	expires_at = g_variant_get_uint64(v);
	reply = g_dbus_connection_call_sync(env->conn, "org.sandboxd", path,
					    "org.sandboxd.Sandbox1", "ExtendTimeout",
					    g_variant_new("(u)", 5), G_VARIANT_TYPE("(t)"),
					    G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
	g_assert_no_error(error);
	g_variant_get(reply, "(t)", &extended);
	g_assert_cmpuint(extended, ==, expires_at + 5 * G_USEC_PER_SEC);

	call = sbx_test_exec_start(NULL, path, argv, NULL, NULL);
	g_assert_true(sbx_test_exec_finish(call, &res, &error));
	g_assert_no_error(error);
	/* the guest's shell got SIGTERM and could still answer */
	g_assert_cmpint(res.exit_status, ==, 7);
	g_assert_nonnull(
	    g_strstr_len(g_bytes_get_data(res.out, NULL), g_bytes_get_size(res.out), "got-term"));

	deadline = g_get_monotonic_time() + WAIT_US;
	while (s.removed_id == NULL) {
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_main_context_iteration(NULL, TRUE);
	}
	g_assert_true(s.expiring);
	g_assert_cmpuint(s.grace, ==, 3);
	g_assert_cmpstr(s.removed_id, ==, id);
	g_assert_cmpstr(s.removed_reason, ==, "its lifetime is over");
	/* nothing of it is left */
	sbx_test_wait_vm_gone(id, 60);
	qemu = sbx_test_find_qemu(id);
	g_assert_cmpuint(qemu->len, ==, 0);
	/* its folder goes in the background: bounded */
	deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
	while (g_file_test(run_dir, G_FILE_TEST_EXISTS)) {
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_usleep(100 * 1000);
	}

	sbx_exec_result_clear(&res);
	g_dbus_connection_signal_unsubscribe(env->conn, sub);
	g_free(s.removed_id);
	g_free(s.removed_reason);
}

typedef struct {
	guint pending;
	guint ok;
	guint refused;
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
	} else if (g_dbus_error_is_remote_error(error) &&
		   g_strcmp0(g_dbus_error_get_remote_error(error), "org.sandboxd.Error.Capacity") ==
		       0 &&
		   strstr(error->message, "(MaxConcurrentCreates") != NULL) {
		b->refused++;
	} else {
		g_ptr_array_add(b->unexpected, g_strdup(error->message));
	}
}

/* a burst of real creates with no queue (MaxQueuedCreates=0): one boots
 * (MaxConcurrentCreates=1 keeps it to one VM on a shared host), the others are
 * refused at once by name; none hangs. Queued creates: tenancy/create-queue */
static void
test_burst(void)
{
	SbxTestEnv *env = sbx_test_env_get();
	Burst b = {0};
	gint64 deadline = g_get_monotonic_time() + WAIT_US;

	b.paths = g_ptr_array_new_with_free_func(g_free);
	b.unexpected = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < 8; i++) {
		b.pending++;
		/* the one that boots may take longer than D-Bus's default 25 s under TCG:
		 * WAIT_US bounds it */
		g_dbus_connection_call(env->conn, "org.sandboxd", "/org/sandboxd/Manager1",
				       "org.sandboxd.Manager1", "CreateSandbox",
				       g_variant_new_parsed("({'vcpus': <uint32 1>},)"),
				       G_VARIANT_TYPE("(o)"), G_DBUS_CALL_FLAGS_NONE, G_MAXINT,
				       NULL, on_burst_reply, &b);
	}
	while (b.pending > 0) {
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_main_context_iteration(NULL, TRUE);
	}
	for (guint i = 0; i < b.unexpected->len; i++)
		g_printerr("unexpected: %s\n", (const gchar *)g_ptr_array_index(b.unexpected, i));
	g_assert_cmpuint(b.unexpected->len, ==, 0);
	g_assert_cmpuint(b.ok + b.refused, ==, 8);
	g_assert_cmpuint(b.ok, >=, 1);
	g_assert_cmpuint(b.refused, >=, 1);
	for (guint i = 0; i < b.paths->len; i++) {
		g_autoptr(GError) error = NULL;
		g_autofree gchar *id = sbx_test_get_id(NULL, g_ptr_array_index(b.paths, i));
		g_autoptr(GArray) qemu = NULL;
		g_assert_true(sbx_test_kill(NULL, g_ptr_array_index(b.paths, i), &error));
		g_assert_no_error(error);
		sbx_test_wait_vm_gone(id, 60);
		qemu = sbx_test_find_qemu(id);
		g_assert_cmpuint(qemu->len, ==, 0);
	}
	g_ptr_array_unref(b.paths);
	g_ptr_array_unref(b.unexpected);
}

int
main(int argc, char **argv)
{
	SbxTestEnv *env = sbx_test_main_run("lifecycle", &argc, &argv);
	int rc;

	/* a short grace */
	sbx_test_main_dropin(
	    env, "50-lifecycle.conf",
	    "[daemon]\nExpiryGraceSec=3\n[limits]\nMaxConcurrentCreates=1\nMaxQueuedCreates=0\n");
	g_test_add_func("/lifecycle/expiry", test_expiry);
	g_test_add_func("/lifecycle/burst", test_burst);
	rc = g_test_run();
	sbx_test_env_stop(env);
	return rc;
}
