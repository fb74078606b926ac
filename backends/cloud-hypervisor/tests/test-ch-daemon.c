/* the real sandboxd with Backend=cloud-hypervisor: the core reaches the agent
 * only through the plugin's connect_agent (hybrid vsock), so CreateSandbox,
 * Exec and Kill work exactly as with the other backends. The VMM is the fake
 * binary, the guest the real agent.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "sbx-test-env.h"

static gboolean
dir_is_empty(const gchar *path)
{
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	return dir == NULL || g_dir_read_name(dir) == NULL;
}

/* a killed sandbox's run folder goes in the background, once its VMM is gone:
 * bounded, and what is left is named */
static void
wait_dir_empty(const gchar *path, guint timeout_s)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_s * G_USEC_PER_SEC;

	while (!dir_is_empty(path)) {
		if (g_get_monotonic_time() > deadline) {
			g_autoptr(GPtrArray) left = sbx_test_list_files(path);
			g_ptr_array_add(left, NULL);
			g_error("%s still holds after %u s: %s", path, timeout_s,
				g_strjoinv(" ", (gchar **)left->pdata));
		}
		g_usleep(20000);
	}
}

static void
test_exec(void)
{
	g_autoptr(SbxTestEnv) env = sbx_test_env_new("ch-daemon");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *guest_dir = g_build_filename(env->tmpdir, "guest", NULL);
	g_autofree gchar *conf = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *log = NULL;
	SbxExecResult res = {0};
	const gchar *argv[] = {"sh", "-c", "echo hello from $0; exit 7", NULL};

	env->plugin_dir = g_strdup(PLUGIN_DIR);
	g_assert_cmpint(g_mkdir(guest_dir, 0700), ==, 0);
	/* the fake VMM inherits these from the daemon */
	g_setenv("SBX_FAKE_CH_AGENT", AGENT, TRUE);
	g_setenv("SBX_FAKE_CH_GUEST_DIR", guest_dir, TRUE);
	conf = g_strdup_printf("[daemon]\nBackend=cloud-hypervisor\nSnapshotDir=none\n"
			       "[cloud-hypervisor]\nBinary=%s\nUser=root\nPrivateTmp=false\n"
			       "CgroupRoot=%s/cgroup\nRecordDir=%s/records\n",
			       FAKE_CH, env->tmpdir, env->tmpdir);
	g_assert_true(sbx_test_env_write_config(env, conf, &error));
	g_assert_true(sbx_test_env_start_daemon(env, &error));
	g_assert_no_error(error);

	path = sbx_test_create(env->conn, g_variant_new_parsed("{'image': <'minimal'>}"), &error);
	g_assert_no_error(error);
	g_assert_nonnull(path);
	g_assert_true(sbx_test_exec(env->conn, path, argv, NULL, NULL, &res, &error));
	g_assert_no_error(error);
	g_assert_cmpint(res.exit_status, ==, 7);
	g_assert_cmpmem(g_bytes_get_data(res.out, NULL), g_bytes_get_size(res.out),
			"hello from sh\n", 14);
	sbx_exec_result_clear(&res);
	g_assert_true(sbx_test_kill(env->conn, path, &error));
	g_assert_no_error(error);
	/* the run folder goes once the VMM is gone */
	wait_dir_empty(env->runtime_dir, 60);
	log = sbx_test_env_daemon_log_tail(env, 64 * 1024);
	g_assert_nonnull(strstr(log, "cloud-hypervisor pid"));
	g_assert_true(dir_is_empty(guest_dir));
	g_rmdir(guest_dir);
}

static gboolean
log_has(SbxTestEnv *env, const gchar *text)
{
	g_autofree gchar *log = sbx_test_env_daemon_log_tail(env, 256 * 1024);
	return strstr(log, text) != NULL;
}

/* instant start through the core: the first sandbox boots cold, the core
 * takes a snapshot of a template in the background (vm.pause, vm.snapshot),
 * the next sandbox is restored from it (vm.restore) and runs commands */
static void
test_instant(void)
{
	g_autoptr(SbxTestEnv) env = sbx_test_env_new("ch-daemon");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *guest_dir = g_build_filename(env->tmpdir, "guest", NULL);
	g_autofree gchar *conf = NULL;
	g_autofree gchar *first = NULL;
	g_autofree gchar *second = NULL;
	SbxExecResult res = {0};
	const gchar *argv[] = {"echo", "restored", NULL};
	gint64 deadline;

	env->plugin_dir = g_strdup(PLUGIN_DIR);
	g_assert_cmpint(g_mkdir(guest_dir, 0700), ==, 0);
	g_setenv("SBX_FAKE_CH_AGENT", AGENT, TRUE);
	g_setenv("SBX_FAKE_CH_GUEST_DIR", guest_dir, TRUE);
	/* no pool (PoolSize is 1 by default): the second sandbox must be restored
	 * by its own create, and a refilled pool VM would stay in the run folder */
	conf = g_strdup_printf("[daemon]\nBackend=cloud-hypervisor\nPoolSize=0\n"
			       "[cloud-hypervisor]\nBinary=%s\nUser=root\nPrivateTmp=false\n"
			       "CgroupRoot=%s/cgroup\nRecordDir=%s/records\n",
			       FAKE_CH, env->tmpdir, env->tmpdir);
	g_assert_true(sbx_test_env_write_config(env, conf, &error));
	g_assert_true(sbx_test_env_start_daemon(env, &error));
	g_assert_no_error(error);

	first = sbx_test_create(env->conn, g_variant_new_parsed("{'image': <'minimal'>}"), &error);
	g_assert_no_error(error);
	deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
	while (!log_has(env, "taken in")) {
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_usleep(50000);
	}
	second = sbx_test_create(env->conn, g_variant_new_parsed("{'image': <'minimal'>}"), &error);
	g_assert_no_error(error);
	g_assert_true(log_has(env, "VM restored in"));
	g_assert_true(sbx_test_exec(env->conn, second, argv, NULL, NULL, &res, &error));
	g_assert_no_error(error);
	g_assert_cmpint(res.exit_status, ==, 0);
	g_assert_cmpmem(g_bytes_get_data(res.out, NULL), g_bytes_get_size(res.out), "restored\n",
			9);
	sbx_exec_result_clear(&res);
	g_assert_true(sbx_test_kill(env->conn, second, &error));
	g_assert_true(sbx_test_kill(env->conn, first, &error));
	g_assert_no_error(error);
	wait_dir_empty(env->runtime_dir, 60);
	g_assert_true(dir_is_empty(guest_dir));
	g_rmdir(guest_dir);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ch-daemon/exec", test_exec);
	g_test_add_func("/ch-daemon/instant", test_instant);
	return g_test_run();
}
