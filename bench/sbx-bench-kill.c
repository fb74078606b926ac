/* sandboxd-bench: the floors of Kill on libvirt, measured in the same run on
 * sandboxes of their own: what libvirt's destroy takes (`virsh destroy`, what
 * the backend used to wait for), and how soon QEMU exits after SIGKILL (what
 * the backend waits for now for a sandbox without volumes; with volumes it
 * sends SIGTERM so QEMU flushes them). The daemon sees each VM crash; Kill
 * dismisses it.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sbx-bench.h"

#define BUS_NAME "org.sandboxd"
#define SANDBOX_IFACE "org.sandboxd.Sandbox1"
/* nothing here may hang the bench */
#define EXIT_WAIT_MS 30000

static void
dismiss(GDBusConnection *conn, const gchar *path)
{
	g_autoptr(GVariant) r =
	    g_dbus_connection_call_sync(conn, BUS_NAME, path, SANDBOX_IFACE, "Kill", NULL, NULL,
					G_DBUS_CALL_FLAGS_NONE, 5 * 60 * 1000, NULL, NULL);
}

/* `virsh destroy`, timed */
static gboolean
virsh_destroy(const gchar *id, gdouble *ms, GError **error)
{
	const gchar *argv[] = {"virsh", "-q", "-c", "qemu:///system", "destroy", id, NULL};
	gint64 t0 = g_get_monotonic_time();
	gint status = 0;

	if (!g_spawn_sync(NULL, (gchar **)argv, NULL,
			  G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
			      G_SPAWN_STDERR_TO_DEV_NULL,
			  NULL, NULL, NULL, NULL, &status, error))
		return FALSE;
	*ms = (g_get_monotonic_time() - t0) / 1000.0;
	return g_spawn_check_wait_status(status, error);
}

/* SIGKILL to @pid, timed until it has exited */
static gboolean
sigkill_exit(gint pid, gdouble *ms, GError **error)
{
	gint pidfd = (gint)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd pfd = {pidfd, POLLIN, 0};
	gint64 t0;
	gint n;

	if (pidfd < 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "pidfd_open %d failed", pid);
		return FALSE;
	}
	t0 = g_get_monotonic_time();
	syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	n = poll(&pfd, 1, EXIT_WAIT_MS);
	*ms = (g_get_monotonic_time() - t0) / 1000.0;
	close(pidfd);
	if (n != 1) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "QEMU %d did not exit", pid);
		return FALSE;
	}
	return TRUE;
}

gboolean
sbx_bench_kill_floors(GDBusConnection *conn, guint runs, GArray *virsh_ms, GArray *sigkill_ms,
		      GError **error)
{
	for (guint i = 0; i < 2 * runs; i++) {
		g_autofree gchar *path = sbx_bench_create_sandbox(conn, 0, error);
		g_autoptr(GVariant) id = NULL;
		gboolean libvirt = FALSE;
		gboolean ok;
		gdouble ms = 0;
		gint pid;

		if (path == NULL)
			return FALSE;
		id = sbx_bench_sandbox_prop(conn, path, "Id");
		pid =
		    id != NULL ? sbx_bench_find_qemu(g_variant_get_string(id, NULL), &libvirt) : -1;
		if (pid < 0 || !libvirt) {
			dismiss(conn, path);
			return TRUE;
		}
		/* in turn, so a change of load hits both alike */
		if (i % 2 == 0)
			ok = virsh_destroy(g_variant_get_string(id, NULL), &ms, error);
		else
			ok = sigkill_exit(pid, &ms, error);
		dismiss(conn, path);
		if (!ok)
			return FALSE;
		g_array_append_val(i % 2 == 0 ? virsh_ms : sigkill_ms, ms);
		g_printerr(".");
	}
	return TRUE;
}
