/* sandboxd-bench: process spawning.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "sbx-bench.h"

gboolean
sbx_bench_spawn_sequence(GDBusConnection *conn, const gchar *path, guint count, gdouble *ms,
			 GError **error)
{
	const gchar *argv[] = {"true", NULL};
	gint64 start = g_get_monotonic_time();

	for (guint i = 0; i < count; i++) {
		g_autoptr(GVariant) spawned = NULL;
		g_autoptr(GVariant) waited = NULL;
		const gchar *process = NULL;
		gint32 status = -1, sig = 0;
		gboolean timed_out = FALSE;

		spawned = g_dbus_connection_call_sync(
		    conn, "org.sandboxd", path, "org.sandboxd.Sandbox1", "Spawn",
		    g_variant_new("(^as@a{sv}hhh)", argv, g_variant_new_parsed("@a{sv} {}"), -1, -1,
				  -1),
		    G_VARIANT_TYPE("(o)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
		if (spawned == NULL)
			return FALSE;
		g_variant_get(spawned, "(&o)", &process);
		waited = g_dbus_connection_call_sync(
		    conn, "org.sandboxd", process, "org.sandboxd.Process1", "Wait", NULL,
		    G_VARIANT_TYPE("(iib)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
		if (waited == NULL)
			return FALSE;
		g_variant_get(waited, "(iib)", &status, &sig, &timed_out);
		if (status != 0) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "`true` exited with %d (signal %d)", status, sig);
			return FALSE;
		}
	}
	*ms = (g_get_monotonic_time() - start) / 1000.0;
	return TRUE;
}
