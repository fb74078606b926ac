/* sandboxd-bench: the volume latency and disk I/O rows.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <unistd.h>

#include "sbx-bench.h"

static GArray *
new_values(void)
{
	return g_array_new(FALSE, FALSE, sizeof(gdouble));
}

/* N x CreateVolume then Snapshot of the fresh volume; both deleted after */
static gboolean
volume_latency(GDBusConnection *conn, SbxBenchDisk *disk, const gchar *backend, GArray *create,
	       GArray *snapshot, GError **error)
{
	for (guint i = 0; i < disk->runs; i++) {
		g_autofree gchar *name =
		    g_strdup_printf("bench-%s-%d-%u", backend, (gint)getpid(), i);
		g_autofree gchar *snap_name = g_strdup_printf("%s-snap", name);
		g_autofree gchar *vol = NULL;
		g_autofree gchar *snap = NULL;
		gint64 t0 = g_get_monotonic_time();
		gdouble v;

		vol = sbx_bench_create_volume(conn, name, backend, "300MiB", error);
		if (vol == NULL)
			return FALSE;
		v = (g_get_monotonic_time() - t0) / 1000.0;
		g_array_append_val(create, v);
		t0 = g_get_monotonic_time();
		snap = sbx_bench_snapshot_volume(conn, vol, snap_name, error);
		if (snap == NULL) {
			sbx_bench_delete_volume(conn, vol, NULL);
			return FALSE;
		}
		v = (g_get_monotonic_time() - t0) / 1000.0;
		g_array_append_val(snapshot, v);
		if (!sbx_bench_delete_volume(conn, snap, error) ||
		    !sbx_bench_delete_volume(conn, vol, error))
			return FALSE;
		g_printerr(".");
	}
	return TRUE;
}

static gboolean
kill_sandbox(GDBusConnection *conn, const gchar *path)
{
	g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
	    conn, "org.sandboxd", path, "org.sandboxd.Sandbox1", "Kill", NULL, NULL,
	    G_DBUS_CALL_FLAGS_NONE, 5 * 60 * 1000, NULL, NULL);
	return reply != NULL;
}

/* one sandbox of disk->image with a volume of each backend: the root, then each volume */
static gboolean
disk_io(GDBusConnection *conn, SbxBenchDisk *disk, GError **error)
{
	g_autoptr(GPtrArray) vols = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
	g_autofree gchar *capacity = g_strdup_printf("%uMiB", MAX(300, disk->mib * 2 + 64));
	g_autofree gchar *sb = NULL;
	GVariantBuilder volumes;
	gboolean ok = TRUE;

	g_variant_builder_init(&volumes, G_VARIANT_TYPE("a{sv}"));
	g_ptr_array_add(disk->labels, g_strdup_printf("overlay root (%s)", disk->image));
	g_ptr_array_add(files, g_strdup("/var/tmp/sandboxd-bench.bin"));
	for (guint i = 0; i < disk->backends->len; i++) {
		const gchar *backend = g_ptr_array_index(disk->backends, i);
		g_autofree gchar *name = g_strdup_printf("bench-io-%s-%d", backend, (gint)getpid());
		g_autofree gchar *mount = g_strdup_printf("/bench-%s", backend);
		gchar *vol = sbx_bench_create_volume(conn, name, backend, capacity, error);
		if (vol == NULL) {
			ok = FALSE;
			break;
		}
		g_ptr_array_add(vols, vol);
		g_variant_builder_add(&volumes, "{sv}", mount,
				      g_variant_new_take_string(g_strdup_printf("%s:rw", name)));
		g_ptr_array_add(disk->labels, g_strdup_printf("%s volume", backend));
		g_ptr_array_add(files, g_strdup_printf("%s/sandboxd-bench.bin", mount));
	}
	if (ok) {
		sb = sbx_bench_create_sandbox_with(conn, disk->image,
						   g_variant_builder_end(&volumes), error);
		ok = sb != NULL;
	} else {
		g_variant_builder_clear(&volumes);
	}
	for (guint t = 0; ok && t < files->len; t++) {
		GArray *values = new_values();
		g_ptr_array_add(disk->results, values);
		for (guint i = 0; ok && i < disk->runs; i++) {
			gdouble r[4];
			ok = sbx_bench_disk_io(conn, sb, g_ptr_array_index(files, t), disk->mib,
					       disk->seconds, r, error);
			if (ok)
				g_array_append_vals(values, r, 4);
			g_printerr(".");
		}
	}
	if (sb != NULL)
		kill_sandbox(conn, sb);
	for (guint i = 0; i < vols->len; i++) {
		g_autoptr(GError) local = NULL;
		if (!sbx_bench_delete_volume(conn, g_ptr_array_index(vols, i), &local))
			g_printerr("delete %s: %s\n", (const gchar *)g_ptr_array_index(vols, i),
				   local->message);
	}
	return ok;
}

gboolean
sbx_bench_disk_run(GDBusConnection *conn, SbxBenchDisk *disk, GError **error)
{
	disk->labels = g_ptr_array_new_with_free_func(g_free);
	disk->results = g_ptr_array_new_with_free_func((GDestroyNotify)g_array_unref);
	disk->create_ms = g_ptr_array_new_with_free_func((GDestroyNotify)g_array_unref);
	disk->snapshot_ms = g_ptr_array_new_with_free_func((GDestroyNotify)g_array_unref);
	for (guint i = 0; i < disk->backends->len; i++) {
		GArray *create = new_values();
		GArray *snapshot = new_values();
		g_ptr_array_add(disk->create_ms, create);
		g_ptr_array_add(disk->snapshot_ms, snapshot);
		if (!volume_latency(conn, disk, g_ptr_array_index(disk->backends, i), create,
				    snapshot, error))
			return FALSE;
	}
	if (disk->image != NULL)
		return disk_io(conn, disk, error);
	return TRUE;
}

void
sbx_bench_disk_print(SbxBenchDisk *disk, SbxBenchPrintRow print_row)
{
	const gchar *what[] = {"seq write 1 MiB", "seq read 1 MiB", "rand write 4 KiB",
			       "rand read 4 KiB"};
	const gchar *unit[] = {"MiB/s", "MiB/s", "IOPS", "IOPS"};

	for (guint i = 0; disk->create_ms != NULL && i < disk->create_ms->len; i++) {
		const gchar *backend = g_ptr_array_index(disk->backends, i);
		g_autofree gchar *l1 = g_strdup_printf("(g) CreateVolume 300 MiB [%s]", backend);
		g_autofree gchar *l2 = g_strdup_printf("(g) Volume1.Snapshot, empty [%s]", backend);
		print_row(l1, g_ptr_array_index(disk->create_ms, i), "ms");
		print_row(l2, g_ptr_array_index(disk->snapshot_ms, i), "ms");
	}
	for (guint t = 0; disk->results != NULL && t < disk->results->len; t++) {
		GArray *all = g_ptr_array_index(disk->results, t);
		for (guint k = 0; k < 4; k++) {
			g_autoptr(GArray) values = new_values();
			g_autofree gchar *label =
			    g_strdup_printf("(h) %s, %s", what[k],
					    (const gchar *)g_ptr_array_index(disk->labels, t));
			for (guint i = k; i < all->len; i += 4)
				g_array_append_val(values, g_array_index(all, gdouble, i));
			print_row(label, values, unit[k]);
		}
	}
}

void
sbx_bench_disk_clear(SbxBenchDisk *disk)
{
	g_clear_pointer(&disk->backends, g_ptr_array_unref);
	g_clear_pointer(&disk->labels, g_ptr_array_unref);
	g_clear_pointer(&disk->results, g_ptr_array_unref);
	g_clear_pointer(&disk->create_ms, g_ptr_array_unref);
	g_clear_pointer(&disk->snapshot_ms, g_ptr_array_unref);
}
