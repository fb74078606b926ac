/* sandboxd-bench: instant start figures: whether a sandbox was restored from
 * a snapshot, a burst of concurrent creates, and the in-guest process spawn
 * floor an Exec round trip compares with.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gunixfdlist.h>
#include <glib-unix.h>
#include <unistd.h>

#include "sbx-bench.h"

#define BUS_NAME "org.sandboxd"
#define MANAGER_PATH "/org/sandboxd/Manager1"
#define MANAGER_IFACE "org.sandboxd.Manager1"
#define SANDBOX_IFACE "org.sandboxd.Sandbox1"
/* what the event log says of a restored sandbox (core/sandbox/sbx-sandbox.c) */
#define RESTORED_MARK "from a snapshot"
/* ... and of one whose VM came from the pool ([daemon] PoolSize) */
#define POOLED_MARK ", from the pool"
/* the event log is small: more is not ours to read */
#define EVENTS_MAX (256 * 1024)

gboolean
sbx_bench_was_restored_full(GDBusConnection *conn, const gchar *path, gchar **key, gboolean *pooled)
{
	g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GString) text = g_string_new(NULL);
	gchar buf[4096];
	const gchar *mark;
	gssize n;
	gint p[2];

	if (!g_unix_open_pipe(p, FD_CLOEXEC, NULL))
		return FALSE;
	g_unix_fd_list_append(fds, p[1], NULL);
	close(p[1]);
	reply = g_dbus_connection_call_with_unix_fd_list_sync(
	    conn, BUS_NAME, path, SANDBOX_IFACE, "ReadLog",
	    g_variant_new("(sh@a{sv})", "events", 0, g_variant_new_parsed("@a{sv} {}")), NULL,
	    G_DBUS_CALL_FLAGS_NONE, -1, fds, NULL, NULL, NULL);
	g_clear_object(&fds);
	while (reply != NULL && text->len < EVENTS_MAX && (n = read(p[0], buf, sizeof(buf))) > 0)
		g_string_append_len(text, buf, n);
	close(p[0]);
	if (pooled != NULL)
		*pooled = strstr(text->str, POOLED_MARK) != NULL;
	mark = strstr(text->str, RESTORED_MARK);
	if (mark == NULL)
		return FALSE;
	/* "from a snapshot (KEY)" */
	mark += strlen(RESTORED_MARK);
	if (key != NULL && g_str_has_prefix(mark, " (")) {
		gsize len = strcspn(mark + 2, ")\n");
		if (len > 0 && mark[2 + len] == ')')
			*key = g_strndup(mark + 2, len);
	}
	return TRUE;
}

gboolean
sbx_bench_was_restored(GDBusConnection *conn, const gchar *path, gchar **key)
{
	return sbx_bench_was_restored_full(conn, path, key, NULL);
}

/* GetStatus' pool figures; FALSE when the daemon has none (an older one) */
static gboolean
pool_status(GDBusConnection *conn, guint *ready, guint *restoring)
{
	guint size = 0;
	g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
	    conn, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "GetStatus", NULL,
	    G_VARIANT_TYPE("(a{sv})"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
	g_autoptr(GVariant) status = NULL;

	if (reply == NULL)
		return FALSE;
	status = g_variant_get_child_value(reply, 0);
	/* PoolSize=0 (or no snapshots): no pool to wait for */
	return g_variant_lookup(status, "pool_size", "u", &size) && size > 0 &&
	       g_variant_lookup(status, "pool_ready", "u", ready) &&
	       g_variant_lookup(status, "pool_restoring", "u", restoring);
}

/* until the pool holds at least one VM and stopped refilling for a while (a
 * caller arriving at an idle daemon); FALSE if it never does */
gboolean
sbx_bench_wait_pool_idle(GDBusConnection *conn, guint timeout_sec)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_sec * G_USEC_PER_SEC;
	gint64 stable_since = 0;
	guint last = G_MAXUINT;

	while (g_get_monotonic_time() < deadline) {
		guint ready = 0, restoring = 0;
		if (!pool_status(conn, &ready, &restoring))
			return FALSE;
		if (ready > 0 && restoring == 0 && ready == last) {
			if (g_get_monotonic_time() - stable_since > 1500 * 1000)
				return TRUE;
		} else {
			stable_since = g_get_monotonic_time();
		}
		last = ready;
		g_usleep(100 * 1000);
	}
	return FALSE;
}

typedef struct {
	gint64 start;
	GArray *ms;
	GPtrArray *paths;
	guint pending;
	guint failed;
	gchar *first_error;
} Burst;

static void
on_burst_reply(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Burst *b = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply =
	    g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, &error);

	b->pending--;
	if (reply == NULL) {
		b->failed++;
		if (b->first_error == NULL)
			b->first_error = g_strdup(error->message);
		return;
	}
	{
		gdouble v = (g_get_monotonic_time() - b->start) / 1000.0;
		gchar *path = NULL;
		g_variant_get(reply, "(o)", &path);
		g_ptr_array_add(b->paths, path);
		g_array_append_val(b->ms, v);
	}
}

gboolean
sbx_bench_burst(GDBusConnection *conn, guint count, GArray *ms, guint *failed, guint *pooled,
		GError **error)
{
	Burst b = {0};

	b.ms = ms;
	b.paths = g_ptr_array_new_with_free_func(g_free);
	b.start = g_get_monotonic_time();
	for (guint i = 0; i < count; i++) {
		b.pending++;
		g_dbus_connection_call(conn, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "CreateSandbox",
				       g_variant_new("(@a{sv})", g_variant_new_parsed("@a{sv} {}")),
				       G_VARIANT_TYPE("(o)"), G_DBUS_CALL_FLAGS_NONE, 5 * 60 * 1000,
				       NULL, on_burst_reply, &b);
	}
	while (b.pending > 0)
		g_main_context_iteration(NULL, TRUE);
	*pooled = 0;
	for (guint i = 0; i < b.paths->len; i++) {
		gboolean p = FALSE;
		sbx_bench_was_restored_full(conn, g_ptr_array_index(b.paths, i), NULL, &p);
		*pooled += p ? 1 : 0;
	}
	for (guint i = 0; i < b.paths->len; i++) {
		g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
		    conn, BUS_NAME, g_ptr_array_index(b.paths, i), SANDBOX_IFACE, "Kill", NULL,
		    NULL, G_DBUS_CALL_FLAGS_NONE, 5 * 60 * 1000, NULL, NULL);
	}
	g_ptr_array_unref(b.paths);
	*failed = b.failed;
	if (b.failed > 0)
		g_printerr("burst: %u of %u creates failed, the first: %s\n", b.failed, count,
			   b.first_error);
	g_free(b.first_error);
	return TRUE;
}

/* @cmd timed by the guest's own clock: /proc/uptime before and after (10 ms
 * steps: the callers make it run long enough) */
static gboolean
guest_timed(GDBusConnection *conn, const gchar *path, const gchar *cmd, gdouble *sec,
	    GError **error)
{
	g_autofree gchar *script = g_strdup_printf(
	    "read a _ < /proc/uptime; %s; read b _ < /proc/uptime; echo $a $b", cmd);
	const gchar *argv[] = {"sh", "-c", script, NULL};
	g_autofree gchar *out = NULL;
	g_auto(GStrv) words = NULL;
	gint status = -1;

	out = sbx_bench_exec_capture(conn, path, argv, &status, error);
	if (out == NULL)
		return FALSE;
	words = g_strsplit(g_strstrip(out), " ", -1);
	if (g_strv_length(words) != 2) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "guest timing: got '%s'",
			    out);
		return FALSE;
	}
	*sec = g_ascii_strtod(words[1], NULL) - g_ascii_strtod(words[0], NULL);
	return TRUE;
}

gboolean
sbx_bench_guest_pipe_mibs(GDBusConnection *conn, const gchar *path, guint mib, gdouble *mibs,
			  GError **error)
{
	g_autofree gchar *cmd = g_strdup_printf(
	    "dd if=/dev/zero bs=65536 count=%u 2>/dev/null | cat > /dev/null", mib * 16);
	gdouble sec = 0;

	if (!guest_timed(conn, path, cmd, &sec, error))
		return FALSE;
	/* /proc/uptime counts in 10 ms steps */
	*mibs = mib / MAX(sec, 0.01);
	return TRUE;
}

gboolean
sbx_bench_guest_spawn_ms(GDBusConnection *conn, const gchar *path, guint n, gdouble *ms,
			 GError **error)
{
	g_autofree gchar *cmd =
	    g_strdup_printf("i=0; while [ $i -lt %u ]; do /bin/true; i=$((i+1)); done", n);
	gdouble sec = 0;

	if (!guest_timed(conn, path, cmd, &sec, error))
		return FALSE;
	*ms = sec * 1000.0 / n;
	return TRUE;
}
