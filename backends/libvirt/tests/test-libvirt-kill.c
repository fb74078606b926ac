/* stopping a domain's QEMU without libvirtd's polling: which process is it
 * (the pid file, checked against its -name), SIGTERM first, SIGKILL after
 * (no libvirt needed: a shell stands in for QEMU)
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sbx-libvirt-kill.h"

#define ID "sbx-kill-test"

static void
test_cmdline(void)
{
	const gchar ok[] = "/usr/bin/qemu-system-x86_64\0-name\0guest=" ID ",debug-threads=on\0-S";
	const gchar exact[] = "qemu\0-name\0guest=" ID;
	const gchar longer[] = "qemu\0-name\0guest=" ID "x,debug-threads=on";
	const gchar not_name[] = "qemu\0-object\0guest=" ID ",x";
	const gchar at_end[] = "qemu\0-name";

	g_assert_true(sbx_libvirt_kill_cmdline_names(ok, sizeof(ok), ID));
	g_assert_true(sbx_libvirt_kill_cmdline_names(exact, sizeof(exact), ID));
	g_assert_false(sbx_libvirt_kill_cmdline_names(longer, sizeof(longer), ID));
	g_assert_false(sbx_libvirt_kill_cmdline_names(not_name, sizeof(not_name), ID));
	g_assert_false(sbx_libvirt_kill_cmdline_names(at_end, sizeof(at_end), ID));
	g_assert_false(sbx_libvirt_kill_cmdline_names(ok, sizeof(ok), ""));
}

/* a stand-in for QEMU whose command line names @name; @trap decides what SIGTERM does */
static GPid
spawn_standin(const gchar *trap, const gchar *name)
{
	g_autofree gchar *script =
	    g_strdup_printf("%s; echo ready; while :; do sleep 0.05; done", trap);
	const gchar *argv[] = {"/bin/sh", "-c", script, "sh", "-name", name, NULL};
	g_autoptr(GError) error = NULL;
	GPid pid = 0;
	gint out = -1;
	gchar buf[6];
	gsize got = 0;

	g_assert_true(g_spawn_async_with_pipes(NULL, (gchar **)argv, NULL,
					       G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, NULL,
					       &out, NULL, &error));
	g_assert_no_error(error);
	/* its trap is set (and its command line is the shell's) once it says
	 * so: not after a fixed nap, which a loaded host may outlast */
	while (got < sizeof(buf)) {
		gssize n = read(out, buf + got, sizeof(buf) - got);
		g_assert_cmpint(n, >, 0);
		got += (gsize)n;
	}
	g_assert_cmpmem(buf, sizeof(buf), "ready\n", 6);
	close(out);
	return pid;
}

static void
write_pid_file(const gchar *dir, const gchar *id, GPid pid)
{
	g_autofree gchar *path = g_strdup_printf("%s/%s.pid", dir, id);
	g_autofree gchar *text = g_strdup_printf("%d\n", pid);
	g_autoptr(GError) error = NULL;

	g_assert_true(g_file_set_contents(path, text, -1, &error));
	g_assert_no_error(error);
}

static gint
wait_child(GPid pid)
{
	gint status = 0;
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	return status;
}

static void
test_stop(void)
{
	g_autofree gchar *dir = g_dir_make_tmp("sbx-kill-XXXXXX", NULL);
	GPid pid;
	gint pidfd;
	gint status;

	g_assert_nonnull(dir);
	/* exits on SIGTERM, as QEMU does: no SIGKILL needed */
	pid = spawn_standin("trap 'exit 7' TERM", "guest=" ID ",debug-threads=on");
	write_pid_file(dir, ID, pid);
	/* only the system instance's pid files are read */
	g_assert_cmpint(sbx_libvirt_kill_open_qemu("qemu:///session", dir, ID), ==, -1);
	g_assert_cmpint(sbx_libvirt_kill_open_qemu("qemu+ssh://h/system", dir, ID), ==, -1);
	g_assert_cmpint(sbx_libvirt_kill_open_qemu("qemu:///system", dir, "../" ID), ==, -1);
	pidfd = sbx_libvirt_kill_open_qemu("qemu:///system", dir, ID);
	g_assert_cmpint(pidfd, >=, 0);
	g_assert_true(sbx_libvirt_kill_qemu(pidfd, 10000, 5000));
	close(pidfd);
	status = wait_child(pid);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 7);

	/* ignores SIGTERM: SIGKILL after the term wait */
	pid = spawn_standin("trap '' TERM", "guest=" ID);
	write_pid_file(dir, ID, pid);
	pidfd = sbx_libvirt_kill_open_qemu("qemu:///system", dir, ID);
	g_assert_cmpint(pidfd, >=, 0);
	g_assert_true(sbx_libvirt_kill_qemu(pidfd, 300, 5000));
	close(pidfd);
	status = wait_child(pid);
	g_assert_true(WIFSIGNALED(status));
	g_assert_cmpint(WTERMSIG(status), ==, SIGKILL);

	/* no term wait: SIGKILL at once, its TERM trap never runs */
	pid = spawn_standin("trap 'exit 7' TERM", "guest=" ID);
	write_pid_file(dir, ID, pid);
	pidfd = sbx_libvirt_kill_open_qemu("qemu:///system", dir, ID);
	g_assert_cmpint(pidfd, >=, 0);
	g_assert_true(sbx_libvirt_kill_qemu(pidfd, 0, 5000));
	close(pidfd);
	status = wait_child(pid);
	g_assert_true(WIFSIGNALED(status));
	g_assert_cmpint(WTERMSIG(status), ==, SIGKILL);

	/* a pid file naming a process that is not this domain's: left alone */
	pid = spawn_standin("trap 'exit 7' TERM", "guest=" ID "-other,debug-threads=on");
	write_pid_file(dir, ID, pid);
	g_assert_cmpint(sbx_libvirt_kill_open_qemu("qemu:///system", dir, ID), ==, -1);
	g_assert_cmpint(kill(pid, 0), ==, 0);
	kill(pid, SIGKILL);
	wait_child(pid);

	/* no pid file, or garbage in it */
	g_assert_cmpint(sbx_libvirt_kill_open_qemu("qemu:///system", dir, "sbx-none"), ==, -1);
	{
		g_autofree gchar *path = g_strdup_printf("%s/%s.pid", dir, ID);
		g_assert_true(g_file_set_contents(path, "1x\n", -1, NULL));
		g_assert_cmpint(sbx_libvirt_kill_open_qemu("qemu:///system", dir, ID), ==, -1);
		g_unlink(path);
	}
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/libvirt-kill/cmdline", test_cmdline);
	g_test_add_func("/libvirt-kill/stop", test_stop);
	return g_test_run();
}
