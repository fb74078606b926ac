/* sandboxd-bench: disk I/O inside a sandbox and volume create/snapshot latency.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <fcntl.h>
#include <gio/gunixfdlist.h>
#include <glib-unix.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sbx-bench.h"

#define BUS_NAME "org.sandboxd"
#define MANAGER_PATH "/org/sandboxd/Manager1"
#define MANAGER_IFACE "org.sandboxd.Manager1"
#define SANDBOX_IFACE "org.sandboxd.Sandbox1"
#define VOLUME_IFACE "org.sandboxd.Volume1"

/* runs in the guest: python3 SCRIPT FILE MIB SECONDS; O_DIRECT through an mmap'd (page
 * aligned) buffer, so the page cache is out of the way; prints four numbers:
 * sequential write MiB/s, sequential read MiB/s, random 4 KiB write IOPS, read IOPS */
static const gchar disk_script[] =
    "import mmap, os, random, sys, time\n"
    "path, mib, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])\n"
    "big = mmap.mmap(-1, 1 << 20)\n"
    "big.write(os.urandom(1 << 20))\n"
    "small = mmap.mmap(-1, 4096)\n"
    "small.write(os.urandom(4096))\n"
    "fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_DIRECT, 0o600)\n"
    "t = time.monotonic()\n"
    "for i in range(mib):\n"
    "    os.pwritev(fd, [big], i << 20)\n"
    "os.fsync(fd)\n"
    "w = mib / (time.monotonic() - t)\n"
    "t = time.monotonic()\n"
    "for i in range(mib):\n"
    "    os.preadv(fd, [big], i << 20)\n"
    "r = mib / (time.monotonic() - t)\n"
    "blocks = (mib << 20) // 4096\n"
    "def rand(write):\n"
    "    n = 0\n"
    "    t = time.monotonic()\n"
    "    while True:\n"
    "        off = random.randrange(blocks) * 4096\n"
    "        if write:\n"
    "            os.pwritev(fd, [small], off)\n"
    "        else:\n"
    "            os.preadv(fd, [small], off)\n"
    "        n += 1\n"
    "        if n % 16 == 0 and time.monotonic() - t >= secs:\n"
    "            break\n"
    "    if write:\n"
    "        os.fsync(fd)\n"
    "    return n / (time.monotonic() - t)\n"
    "rw = rand(True)\n"
    "rr = rand(False)\n"
    "os.close(fd)\n"
    "os.unlink(path)\n"
    "print('%.2f %.2f %.1f %.1f' % (w, r, rw, rr))\n";

gchar *
sbx_bench_create_sandbox_with(GDBusConnection *conn, const gchar *image, GVariant *volumes,
			      GError **error)
{
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GVariant) vols = volumes != NULL ? g_variant_ref_sink(volumes) : NULL;
	GVariantBuilder opts;
	gchar *path = NULL;

	g_variant_builder_init(&opts, G_VARIANT_TYPE("a{sv}"));
	if (image != NULL)
		g_variant_builder_add(&opts, "{sv}", "image", g_variant_new_string(image));
	if (vols != NULL)
		g_variant_builder_add(&opts, "{sv}", "volumes", vols);
	reply = g_dbus_connection_call_sync(conn, BUS_NAME, MANAGER_PATH, MANAGER_IFACE,
					    "CreateSandbox", g_variant_new("(a{sv})", &opts),
					    G_VARIANT_TYPE("(o)"), G_DBUS_CALL_FLAGS_NONE,
					    15 * 60 * 1000, NULL, error);
	if (reply == NULL)
		return NULL;
	g_variant_get(reply, "(o)", &path);
	return path;
}

gchar *
sbx_bench_exec_capture(GDBusConnection *conn, const gchar *path, const gchar *const *argv,
		       gint *status, GError **error)
{
	g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GString) out = g_string_new(NULL);
	gint pipefd[2];
	gint devnull;
	gchar buf[4096];
	gssize n;

	if (!g_unix_open_pipe(pipefd, FD_CLOEXEC, error))
		return NULL;
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	g_unix_fd_list_append(fds, devnull, NULL);
	g_unix_fd_list_append(fds, pipefd[1], NULL);
	g_unix_fd_list_append(fds, pipefd[1], NULL);
	close(devnull);
	close(pipefd[1]);
	reply = g_dbus_connection_call_with_unix_fd_list_sync(
	    conn, BUS_NAME, path, SANDBOX_IFACE, "Exec",
	    g_variant_new("(^as@a{sv}hhh)", argv, g_variant_new("a{sv}", NULL), 0, 1, 2),
	    G_VARIANT_TYPE("(ii)"), G_DBUS_CALL_FLAGS_NONE, 30 * 60 * 1000, fds, NULL, NULL, error);
	/* our copies of the write end must go before reading to EOF */
	g_clear_object(&fds);
	if (reply == NULL) {
		close(pipefd[0]);
		return NULL;
	}
	g_variant_get(reply, "(ii)", status, NULL);
	g_unix_set_fd_nonblocking(pipefd[0], TRUE, NULL);
	while ((n = read(pipefd[0], buf, sizeof(buf))) > 0 && out->len < 64 * 1024)
		g_string_append_len(out, buf, n);
	close(pipefd[0]);
	return g_string_free(g_steal_pointer(&out), FALSE);
}

gboolean
sbx_bench_disk_io(GDBusConnection *conn, const gchar *path, const gchar *file, guint mib,
		  guint seconds, gdouble result[4], GError **error)
{
	g_autofree gchar *mib_s = g_strdup_printf("%u", mib);
	g_autofree gchar *secs_s = g_strdup_printf("%u", seconds);
	const gchar *argv[] = {"python3", "-c", disk_script, file, mib_s, secs_s, NULL};
	g_autofree gchar *out = NULL;
	gint status = -1;

	out = sbx_bench_exec_capture(conn, path, argv, &status, error);
	if (out == NULL)
		return FALSE;
	if (status != 0 ||
	    sscanf(out, "%lf %lf %lf %lf", &result[0], &result[1], &result[2], &result[3]) != 4) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "disk script (status %d): %s",
			    status, out);
		return FALSE;
	}
	return TRUE;
}

gchar *
sbx_bench_create_volume(GDBusConnection *conn, const gchar *name, const gchar *backend,
			const gchar *capacity, GError **error)
{
	g_autoptr(GVariant) reply = NULL;
	GVariantBuilder opts;
	gchar *path = NULL;

	g_variant_builder_init(&opts, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&opts, "{sv}", "backend", g_variant_new_string(backend));
	g_variant_builder_add(&opts, "{sv}", "capacity", g_variant_new_string(capacity));
	reply = g_dbus_connection_call_sync(conn, BUS_NAME, MANAGER_PATH, MANAGER_IFACE,
					    "CreateVolume", g_variant_new("(sa{sv})", name, &opts),
					    G_VARIANT_TYPE("(o)"), G_DBUS_CALL_FLAGS_NONE,
					    10 * 60 * 1000, NULL, error);
	if (reply == NULL)
		return NULL;
	g_variant_get(reply, "(o)", &path);
	return path;
}

gchar *
sbx_bench_snapshot_volume(GDBusConnection *conn, const gchar *volume, const gchar *name,
			  GError **error)
{
	g_autoptr(GVariant) reply = NULL;
	gchar *path = NULL;
	reply = g_dbus_connection_call_sync(
	    conn, BUS_NAME, volume, VOLUME_IFACE, "Snapshot",
	    g_variant_new("(s@a{sv})", name, g_variant_new("a{sv}", NULL)), G_VARIANT_TYPE("(o)"),
	    G_DBUS_CALL_FLAGS_NONE, 10 * 60 * 1000, NULL, error);
	if (reply == NULL)
		return NULL;
	g_variant_get(reply, "(o)", &path);
	return path;
}

/* Delete, retried for a while: a killed sandbox's attachment goes with its VM */
gboolean
sbx_bench_delete_volume(GDBusConnection *conn, const gchar *volume, GError **error)
{
	for (guint i = 0;; i++) {
		g_autoptr(GError) local = NULL;
		g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
		    conn, BUS_NAME, volume, VOLUME_IFACE, "Delete", NULL, NULL,
		    G_DBUS_CALL_FLAGS_NONE, 5 * 60 * 1000, NULL, &local);
		if (reply != NULL)
			return TRUE;
		if (i >= 30) {
			g_propagate_error(error, g_steal_pointer(&local));
			return FALSE;
		}
		g_usleep(G_USEC_PER_SEC);
	}
}
