/* The process jail, seen from outside the jailed process (/proc/PID): its user,
 * no_new_privs, cgroups and their limits, private /tmp and /dev, its fds, and
 * that nothing is left after it exits. Needs root (cgroups, mounts).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <signal.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "sbx-jail.h"

#define TMPFS_MAGIC_NUMBER 0x01021994

typedef struct {
	gchar *cgroup_root;
	SbxJail *jail;
	GPid pid;
} Fixture;

static void
setup(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	f->cgroup_root = g_strdup_printf("/sys/fs/cgroup/sbx-test-jail-%d", getpid());
	f->jail = sbx_jail_new("nobody", f->cgroup_root, TRUE, &error);
	g_assert_no_error(error);
	f->pid = 0;
}

static void
teardown(Fixture *f, gconstpointer data)
{
	g_auto(GStrv) dirs = sbx_jail_cgroup_dirs(f->jail, "x");

	if (f->pid > 0) {
		kill(f->pid, SIGKILL);
		waitpid(f->pid, NULL, 0);
	}
	sbx_jail_remove_cgroup(f->jail, "vm1");
	/* the root folders the jail made, one per hierarchy */
	for (guint i = 0; dirs[i] != NULL; i++) {
		g_autofree gchar *root = g_path_get_dirname(dirs[i]);
		g_rmdir(root);
	}
	sbx_jail_free(f->jail);
	g_free(f->cgroup_root);
}

static gchar *
read_proc(GPid pid, const gchar *file)
{
	g_autofree gchar *path = g_strdup_printf("/proc/%d/%s", pid, file);
	gchar *text = NULL;
	g_autoptr(GError) error = NULL;

	g_file_get_contents(path, &text, NULL, &error);
	g_assert_no_error(error);
	return text;
}

/* the child runs once its jail is set up: wait until it is sleep, not us,
 * and asleep: while the dynamic loader runs, it has a library open */
static void
wait_exec(GPid pid)
{
	for (guint i = 0; i < 1000; i++) {
		g_autofree gchar *comm = read_proc(pid, "comm");
		g_autofree gchar *stat = read_proc(pid, "stat");
		const gchar *state = strrchr(stat, ')');
		if (g_str_has_prefix(comm, "sleep") && state != NULL &&
		    g_str_has_prefix(state, ") S"))
			return;
		g_usleep(10000);
	}
	g_assert_not_reached();
}

static GPtrArray *
list_dir(const gchar *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	const gchar *name;

	g_assert_nonnull(d);
	while ((name = g_dir_read_name(d)) != NULL)
		g_ptr_array_add(names, g_strdup(name));
	return names;
}

static gboolean
has_name(GPtrArray *names, const gchar *name)
{
	return g_ptr_array_find_with_equal_func(names, name, g_str_equal, NULL);
}

static gchar *
read_limit(const gchar *dir, const gchar *file)
{
	g_autofree gchar *path = g_build_filename(dir, file, NULL);
	gchar *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return NULL;
	return g_strstrip(text);
}

static void
test_confined(Fixture *f, gconstpointer data)
{
	const gchar *argv[] = {"/bin/sleep", "60", NULL};
	g_autoptr(GError) error = NULL;
	int pipe_fds[2];
	gint fds[1];
	g_autofree gchar *status = NULL;
	g_autofree gchar *cgroups = NULL;
	g_autofree gchar *fd_dir = NULL;
	g_autofree gchar *dev_dir = NULL;
	g_autofree gchar *tmp_dir = NULL;
	g_autoptr(GPtrArray) fd_names = NULL;
	g_autoptr(GPtrArray) dev_names = NULL;
	g_autoptr(GPtrArray) tmp_names = NULL;
	g_auto(GStrv) dirs = NULL;
	struct statfs sfs;
	gboolean memory_seen = FALSE, cpu_seen = FALSE;

	if (!sbx_jail_has_cgroups(f->jail)) {
		g_test_skip("no writable cgroup hierarchy on this host");
		return;
	}
	g_assert_no_errno(pipe(pipe_fds));
	fds[0] = pipe_fds[0];
	g_assert_true(sbx_jail_spawn(f->jail, "vm1", argv, fds, 1, 64 << 20, 2, &f->pid, &error));
	g_assert_no_error(error);
	close(pipe_fds[0]);
	wait_exec(f->pid);

	/* the user, no new privileges */
	status = read_proc(f->pid, "status");
	{
		g_autofree gchar *uid = g_strdup_printf("\nUid:\t%u\t", sbx_jail_get_uid(f->jail));
		g_assert_nonnull(strstr(status, uid));
		g_assert_cmpuint(sbx_jail_get_uid(f->jail), !=, 0);
	}
	g_assert_nonnull(strstr(status, "\nNoNewPrivs:\t1\n"));

	/* its cgroups, with the limits */
	cgroups = read_proc(f->pid, "cgroup");
	dirs = sbx_jail_cgroup_dirs(f->jail, "vm1");
	g_assert_cmpuint(g_strv_length(dirs), >, 0);
	for (guint i = 0; dirs[i] != NULL; i++) {
		g_autofree gchar *procs = read_limit(dirs[i], "cgroup.procs");
		g_autofree gchar *pid = g_strdup_printf("%d", f->pid);
		g_autofree gchar *mem = read_limit(dirs[i], "memory.limit_in_bytes");
		g_autofree gchar *mem2 = read_limit(dirs[i], "memory.max");
		g_autofree gchar *quota = read_limit(dirs[i], "cpu.cfs_quota_us");
		g_autofree gchar *cpu2 = read_limit(dirs[i], "cpu.max");
		g_autofree gchar *tail = g_path_get_basename(f->cgroup_root);
		g_autofree gchar *member = g_strdup_printf("/%s/vm1\n", tail);

		g_assert_cmpstr(procs, ==, pid);
		g_assert_nonnull(strstr(cgroups, member));
		if (mem != NULL || mem2 != NULL) {
			g_assert_cmpstr(mem != NULL ? mem : mem2, ==, "67108864");
			memory_seen = TRUE;
		}
		if (quota != NULL) {
			g_assert_cmpstr(quota, ==, "200000");
			cpu_seen = TRUE;
		}
		if (cpu2 != NULL) {
			g_assert_cmpstr(cpu2, ==, "200000 100000");
			cpu_seen = TRUE;
		}
	}
	g_assert_true(memory_seen);
	g_assert_true(cpu_seen);

	/* its fds: stdio and the one passed, nothing of ours */
	fd_dir = g_strdup_printf("/proc/%d/fd", f->pid);
	fd_names = list_dir(fd_dir);
	g_assert_cmpuint(fd_names->len, ==, 4);
	for (guint i = 0; i < 4; i++) {
		g_autofree gchar *n = g_strdup_printf("%u", i);
		g_assert_true(has_name(fd_names, n));
	}

	/* a /dev with only a VMM's nodes, an empty private /tmp */
	dev_dir = g_strdup_printf("/proc/%d/root/dev", f->pid);
	dev_names = list_dir(dev_dir);
	for (guint i = 0; i < dev_names->len; i++) {
		const gchar *n = g_ptr_array_index(dev_names, i);
		const gchar *allowed[] = {"null", "zero", "full",      "random", "urandom",
					  "kvm",  "net",  "vhost-net", "shm",	 "fd"};
		g_assert_true(g_strv_contains(allowed, n));
	}
	g_assert_true(has_name(dev_names, "null"));
	g_assert_true(has_name(dev_names, "urandom"));
	g_assert_false(has_name(dev_names, "sda"));
	g_assert_false(has_name(dev_names, "mem"));
	tmp_dir = g_strdup_printf("/proc/%d/root/tmp", f->pid);
	g_assert_no_errno(statfs(tmp_dir, &sfs));
	g_assert_cmpint(sfs.f_type, ==, TMPFS_MAGIC_NUMBER);
	tmp_names = list_dir(tmp_dir);
	g_assert_cmpuint(tmp_names->len, ==, 0);

	/* a VMM that exited without its cleanup: its empty cgroup is swept once
	 * old enough, a running one's never */
	{
		const gchar *true_argv[] = {"/bin/true", NULL};
		g_auto(GStrv) done_dirs = sbx_jail_cgroup_dirs(f->jail, "done");
		GPid done = 0;

		g_assert_true(sbx_jail_spawn(f->jail, "done", true_argv, NULL, 0, 64 << 20, 1,
					     &done, &error));
		g_assert_cmpint(waitpid(done, NULL, 0), ==, done);
		g_assert_true(g_file_test(done_dirs[0], G_FILE_TEST_IS_DIR));
		g_assert_cmpuint(sbx_jail_sweep_cgroups(f->jail, 3600), ==, 0);
		g_assert_true(g_file_test(done_dirs[0], G_FILE_TEST_IS_DIR));
		g_assert_cmpuint(sbx_jail_sweep_cgroups(f->jail, 0), ==, g_strv_length(done_dirs));
		for (guint i = 0; done_dirs[i] != NULL; i++)
			g_assert_false(g_file_test(done_dirs[i], G_FILE_TEST_EXISTS));
		for (guint i = 0; dirs[i] != NULL; i++)
			g_assert_true(g_file_test(dirs[i], G_FILE_TEST_IS_DIR));
	}

	/* gone, then nothing left */
	kill(f->pid, SIGKILL);
	waitpid(f->pid, NULL, 0);
	f->pid = 0;
	sbx_jail_remove_cgroup(f->jail, "vm1");
	for (guint i = 0; dirs[i] != NULL; i++)
		g_assert_false(g_file_test(dirs[i], G_FILE_TEST_EXISTS));
}

/* a binary that cannot start leaves no cgroup behind */
static void
test_failed_spawn(Fixture *f, gconstpointer data)
{
	const gchar *argv[] = {"/nonexistent/vmm", NULL};
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) dirs = sbx_jail_cgroup_dirs(f->jail, "vm1");

	g_assert_false(sbx_jail_spawn(f->jail, "vm1", argv, NULL, 0, 64 << 20, 1, &f->pid, &error));
	g_assert_nonnull(error);
	f->pid = 0;
	for (guint i = 0; dirs[i] != NULL; i++)
		g_assert_false(g_file_test(dirs[i], G_FILE_TEST_EXISTS));
}

/* no cgroup tree where the root points: no limits, the rest as before */
static void
test_no_cgroups(void)
{
	g_autofree gchar *dir = g_dir_make_tmp("sbx-jail-XXXXXX", NULL);
	g_autofree gchar *root = g_build_filename(dir, "cg", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxJail) jail = sbx_jail_new("nobody", root, TRUE, &error);
	const gchar *argv[] = {"/bin/true", NULL};
	GPid pid = 0;
	int status = 0;

	g_assert_no_error(error);
	g_assert_false(sbx_jail_has_cgroups(jail));
	g_assert_true(sbx_jail_spawn(jail, "vm1", argv, NULL, 0, 64 << 20, 1, &pid, &error));
	g_assert_no_error(error);
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
	g_assert_false(g_file_test(root, G_FILE_TEST_EXISTS));
	g_rmdir(dir);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	if (geteuid() != 0) {
		g_print("1..0 # SKIP the jail's cgroups and mounts need root\n");
		return 77;
	}
	g_test_add("/jail/confined", Fixture, NULL, setup, test_confined, teardown);
	g_test_add("/jail/failed-spawn", Fixture, NULL, setup, test_failed_spawn, teardown);
	g_test_add_func("/jail/no-cgroups", test_no_cgroups);
	return g_test_run();
}
