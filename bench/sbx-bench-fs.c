/* sandboxd-bench: file write and read throughput through Sandbox1.WriteFile and
 * Sandbox1.ReadFile (the bytes stream through a pipe; a thread feeds or drains it).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <gio/gunixfdlist.h>
#include <glib-unix.h>
#include <string.h>
#include <unistd.h>

#include "sbx-bench.h"

typedef struct {
	gint fd;
	guint64 size; /* bytes to write; 0 when reading */
	guint64 done;
} BenchPump;

static gpointer
bench_pump_thread(gpointer data)
{
	BenchPump *p = data;
	gsize chunk = 1024 * 1024;
	g_autofree guint8 *buf = g_malloc(chunk);

	/* not all zeros: nothing on the way may shortcut them */
	for (gsize i = 0; i < chunk; i++)
		buf[i] = (guint8)(i * 131 + 7);
	for (;;) {
		gssize n;
		if (p->size > 0) {
			if (p->done >= p->size)
				break;
			n = write(p->fd, buf, (gsize)MIN(chunk, p->size - p->done));
		} else {
			n = read(p->fd, buf, chunk);
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		p->done += (guint64)n;
	}
	close(p->fd);
	return NULL;
}

static gboolean
bench_call_fd(GDBusConnection *conn, const gchar *path, const gchar *method, const gchar *file,
	      GVariant *options, gint fd, GError **error)
{
	g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
	g_autoptr(GVariant) reply = NULL;
	if (g_unix_fd_list_append(fds, fd, error) < 0)
		return FALSE;
	reply = g_dbus_connection_call_with_unix_fd_list_sync(
	    conn, "org.sandboxd", path, "org.sandboxd.Sandbox1", method,
	    g_variant_new("(s@a{sv}h)", file, options, 0), NULL, G_DBUS_CALL_FLAGS_NONE, G_MAXINT,
	    fds, NULL, NULL, error);
	return reply != NULL;
}

gboolean
sbx_bench_file_throughput(GDBusConnection *conn, const gchar *path, const gchar *file, guint mib,
			  gdouble *write_mibs, gdouble *read_mibs, GError **error)
{
	BenchPump w = {0}, r = {0};
	g_autoptr(GVariant) reply = NULL;
	GThread *t;
	gint p[2];
	gint64 t0;
	gboolean ok;
	guint64 size = (guint64)mib * 1024 * 1024;

	if (!g_unix_open_pipe(p, FD_CLOEXEC, error))
		return FALSE;
	w = (BenchPump){.fd = p[1], .size = size};
	t = g_thread_new("bench-writer", bench_pump_thread, &w);
	t0 = g_get_monotonic_time();
	ok = bench_call_fd(conn, path, "WriteFile", file,
			   g_variant_new_parsed("{'parents': <true>}"), p[0], error);
	close(p[0]);
	g_thread_join(t);
	if (!ok)
		return FALSE;
	*write_mibs = mib / ((g_get_monotonic_time() - t0) / (gdouble)G_USEC_PER_SEC);
	if (w.done != size) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "WriteFile took %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes",
			    w.done, size);
		return FALSE;
	}

	if (!g_unix_open_pipe(p, FD_CLOEXEC, error))
		return FALSE;
	r = (BenchPump){.fd = p[0]};
	t = g_thread_new("bench-reader", bench_pump_thread, &r);
	t0 = g_get_monotonic_time();
	ok = bench_call_fd(conn, path, "ReadFile", file, g_variant_new("a{sv}", NULL), p[1], error);
	close(p[1]);
	g_thread_join(t);
	if (!ok)
		return FALSE;
	*read_mibs = mib / ((g_get_monotonic_time() - t0) / (gdouble)G_USEC_PER_SEC);
	/* the next run's WriteFile writes a new file beside this one before it replaces
	 * it: without this the tmpfs must hold twice the file */
	reply = g_dbus_connection_call_sync(conn, "org.sandboxd", path, "org.sandboxd.Sandbox1",
					    "Remove", g_variant_new("(sa{sv})", file, NULL), NULL,
					    G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
	if (reply == NULL)
		return FALSE;
	if (r.done != size) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "ReadFile gave %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes",
			    r.done, size);
		return FALSE;
	}
	return TRUE;
}

gchar *
sbx_bench_create_sandbox(GDBusConnection *conn, guint memory_mib, GError **error)
{
	g_autoptr(GVariant) reply = NULL;
	GVariantBuilder opts;
	gchar *path = NULL;

	g_variant_builder_init(&opts, G_VARIANT_TYPE_VARDICT);
	if (memory_mib > 0)
		g_variant_builder_add(&opts, "{sv}", "memory", g_variant_new_uint32(memory_mib));
	reply = g_dbus_connection_call_sync(conn, "org.sandboxd", "/org/sandboxd/Manager1",
					    "org.sandboxd.Manager1", "CreateSandbox",
					    g_variant_new("(a{sv})", &opts), G_VARIANT_TYPE("(o)"),
					    G_DBUS_CALL_FLAGS_NONE, 10 * 60 * 1000, NULL, error);
	if (reply == NULL)
		return NULL;
	g_variant_get(reply, "(o)", &path);
	return path;
}
