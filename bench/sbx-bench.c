/* sandboxd-bench: latency and throughput of a running sandboxd, printed as a table.
 * not a test: it asserts nothing, it measures.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <fcntl.h>
#include <gio/gunixfdlist.h>
#include <gio/gunixinputstream.h>
#include <glib-unix.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbx-bench.h"

#define BUS_NAME "org.sandboxd"
#define MANAGER_PATH "/org/sandboxd/Manager1"
#define MANAGER_IFACE "org.sandboxd.Manager1"
#define SANDBOX_IFACE "org.sandboxd.Sandbox1"

typedef struct {
	gint64 start;
	gint64 first_byte; /* 0 until stdout produced something */
	gint64 end;	   /* reply and EOF both seen */
	guint64 bytes;
	gint exit_status;
	guint pending;
	GError *error;
	guint8 buf[256 * 1024];
	GInputStream *out;
} ExecRun;

static void
exec_reply_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	ExecRun *run = user_data;
	g_autoptr(GVariant) reply = g_dbus_connection_call_with_unix_fd_list_finish(
	    G_DBUS_CONNECTION(source), NULL, result, &run->error);
	if (reply != NULL)
		g_variant_get(reply, "(ii)", &run->exit_status, NULL);
	run->pending--;
}

static void read_cb(GObject *source, GAsyncResult *result, gpointer user_data);

static void
read_next(ExecRun *run)
{
	g_input_stream_read_async(run->out, run->buf, sizeof(run->buf), G_PRIORITY_DEFAULT, NULL,
				  read_cb, run);
}

static void
read_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	ExecRun *run = user_data;
	g_autoptr(GError) error = NULL;
	gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), result, &error);
	if (n > 0) {
		if (run->first_byte == 0)
			run->first_byte = g_get_monotonic_time();
		run->bytes += (guint64)n;
		read_next(run);
		return;
	}
	if (n < 0 && run->error == NULL)
		run->error = g_steal_pointer(&error);
	run->pending--;
}

/* Exec @argv with stdin at EOF, stdout counted and timed, stderr to /dev/null */
static gboolean
exec_timed(GDBusConnection *conn, const gchar *path, const gchar *const *argv, ExecRun *run,
	   GError **error)
{
	g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
	gint out[2];
	gint devnull;

	if (!g_unix_open_pipe(out, FD_CLOEXEC, error))
		return FALSE;
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	g_unix_fd_list_append(fds, devnull, NULL);
	g_unix_fd_list_append(fds, out[1], NULL);
	g_unix_fd_list_append(fds, devnull, NULL);
	close(devnull);
	close(out[1]);
	run->out = g_unix_input_stream_new(out[0], TRUE);
	run->start = g_get_monotonic_time();
	g_dbus_connection_call_with_unix_fd_list(
	    conn, BUS_NAME, path, SANDBOX_IFACE, "Exec",
	    g_variant_new("(^as@a{sv}hhh)", argv, g_variant_new("a{sv}", NULL), 0, 1, 2),
	    G_VARIANT_TYPE("(ii)"), G_DBUS_CALL_FLAGS_NONE, G_MAXINT, fds, NULL, exec_reply_cb,
	    run);
	/* our copy of the write end must go, or stdout never reaches EOF */
	g_clear_object(&fds);
	run->pending = 2;
	read_next(run);
	while (run->pending > 0)
		g_main_context_iteration(NULL, TRUE);
	run->end = g_get_monotonic_time();
	g_clear_object(&run->out);
	if (run->error != NULL) {
		g_propagate_error(error, g_steal_pointer(&run->error));
		return FALSE;
	}
	return TRUE;
}

static gchar *
create_sandbox(GDBusConnection *conn, GError **error)
{
	return sbx_bench_create_sandbox_with(conn, NULL, NULL, error);
}

static gboolean
kill_sandbox(GDBusConnection *conn, const gchar *path, GError **error)
{
	g_autoptr(GVariant) reply = NULL;
	reply = g_dbus_connection_call_sync(conn, BUS_NAME, path, SANDBOX_IFACE, "Kill", NULL, NULL,
					    G_DBUS_CALL_FLAGS_NONE, 5 * 60 * 1000, NULL, error);
	return reply != NULL;
}

static gint
cmp_double(gconstpointer a, gconstpointer b)
{
	gdouble x = *(const gdouble *)a, y = *(const gdouble *)b;
	return x < y ? -1 : x > y ? 1 : 0;
}

/* nearest-rank percentile of sorted @values */
static gdouble
percentile(GArray *values, guint pct)
{
	guint rank;
	if (values->len == 0)
		return 0;
	rank = (pct * values->len + 99) / 100;
	if (rank == 0)
		rank = 1;
	return g_array_index(values, gdouble, rank - 1);
}

static gdouble
median(GArray *values)
{
	guint n = values->len;
	if (n == 0)
		return 0;
	if (n % 2 == 1)
		return g_array_index(values, gdouble, n / 2);
	return (g_array_index(values, gdouble, n / 2 - 1) + g_array_index(values, gdouble, n / 2)) /
	       2;
}

static void
print_row(const gchar *what, GArray *values, const gchar *unit)
{
	if (values->len == 0)
		return;
	g_array_sort(values, cmp_double);
	g_print("%-52s %4u %12.2f %12.2f %12.2f %12.2f  %s\n", what, values->len, median(values),
		percentile(values, 95), g_array_index(values, gdouble, 0),
		g_array_index(values, gdouble, values->len - 1), unit);
}

/* a figure over its floor, by medians */
static void
print_ratio(const gchar *what, GArray *figure, GArray *base)
{
	if (figure->len == 0 || base->len == 0 || median(base) <= 0)
		return;
	g_array_sort(figure, cmp_double);
	g_array_sort(base, cmp_double);
	g_print("    ratio %-45s %.2f\n", what, median(figure) / median(base));
}

/* the target for host memory per idle sandbox beyond its guest pages */
#define MEM_TARGET_MIB 30.0

static void
print_mem(const gchar *how, SbxBenchMem *m)
{
	if (m->count == 0)
		return;
	g_print("(j) idle sandboxes %s: %u of %u MiB, host memory per sandbox\n", how, m->count,
		m->memory_mib);
	print_row("    QEMU beyond guest RAM, private pages", m->other_private, "MiB");
	print_row("    QEMU beyond guest RAM, Pss", m->other_pss, "MiB");
	print_row("    of it: TCG code buffer (anonymous rwx)", m->tb_rss, "MiB");
	g_print("    largest private items (MiB): %s\n", m->largest != NULL ? m->largest : "?");
	g_print("    %-48s %17.2f  MiB (RSS %.1f -> %.1f MiB)\n", "sandboxd's growth / N",
		m->daemon_mib, m->daemon_rss_mib[0], m->daemon_rss_mib[1]);
	g_print("    %-48s %17.2f  MiB\n", "its other children's (helpers) growth / N",
		m->helpers_mib);
	print_row("    total beyond guest pages (private+daemon+helpers)", m->total, "MiB");
	g_array_sort(m->total, cmp_double);
	g_print("    target %.0f MiB; ratio total / target %.2f\n", MEM_TARGET_MIB,
		median(m->total) / MEM_TARGET_MIB);
	print_row("    guest pages touched (RAM mapping Rss)", m->ram_rss, "MiB");
	print_row("    of them private copies (anonymous)", m->ram_private, "MiB");
	print_row("    of them shared file pages (snapshot)", m->ram_shared, "MiB");
	print_row("    guest RAM Pss (shared pages split)", m->ram_pss, "MiB");
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GOptionContext) ctx = NULL;
	g_autoptr(GDBusConnection) conn = NULL;
	g_autoptr(GVariant) domain_type = NULL;
	g_autoptr(GVariant) version = NULL;
	g_autoptr(GPtrArray) create_first =
	    g_ptr_array_new_with_free_func((GDestroyNotify)g_array_unref);
	g_autoptr(GPtrArray) create_call =
	    g_ptr_array_new_with_free_func((GDestroyNotify)g_array_unref);
	g_autoptr(GPtrArray) kill_call =
	    g_ptr_array_new_with_free_func((GDestroyNotify)g_array_unref);
	g_autoptr(GPtrArray) images = g_ptr_array_new_with_free_func(g_free);
	g_auto(GStrv) image_opts = NULL;
	g_auto(GStrv) backend_opts = NULL;
	g_autofree gchar *disk_image = NULL;
	gint disk_mib = 128;
	gint disk_seconds = 5;
	SbxBenchDisk disk = {0};
	g_autoptr(GArray) exec_true = g_array_new(FALSE, FALSE, sizeof(gdouble));
	g_autoptr(GArray) spawn_floor = g_array_new(FALSE, FALSE, sizeof(gdouble));
	g_autoptr(GArray) pipe_floor = g_array_new(FALSE, FALSE, sizeof(gdouble));
	g_autoptr(GArray) burst_ms = g_array_new(FALSE, FALSE, sizeof(gdouble));
	g_autoptr(GArray) kill_virsh = g_array_new(FALSE, FALSE, sizeof(gdouble));
	g_autoptr(GArray) kill_sigkill = g_array_new(FALSE, FALSE, sizeof(gdouble));
	guint burst_failed = 0;
	guint burst_pooled = 0;
	/* per image: (a) runs whose VM came from the pool; the pool pairs (a'):
	 * a create at an idle daemon (pooled), then one right after (pool empty) */
	g_autoptr(GPtrArray) first_pooled =
	    g_ptr_array_new_with_free_func((GDestroyNotify)g_array_unref);
	g_autoptr(GPtrArray) pair_pooled =
	    g_ptr_array_new_with_free_func((GDestroyNotify)g_array_unref);
	g_autoptr(GPtrArray) pair_restored =
	    g_ptr_array_new_with_free_func((GDestroyNotify)g_array_unref);
	gboolean has_pool = FALSE;
	/* per image: (a) of the restored runs, and of the cold boots */
	g_autoptr(GPtrArray) first_restored =
	    g_ptr_array_new_with_free_func((GDestroyNotify)g_array_unref);
	g_autoptr(GPtrArray) first_cold =
	    g_ptr_array_new_with_free_func((GDestroyNotify)g_array_unref);
	g_autoptr(GArray) throughput = g_array_new(FALSE, FALSE, sizeof(gdouble));
	g_autoptr(GArray) file_write = g_array_new(FALSE, FALSE, sizeof(gdouble));
	g_autoptr(GArray) file_read = g_array_new(FALSE, FALSE, sizeof(gdouble));
	g_autoptr(GArray) spawn_seq = g_array_new(FALSE, FALSE, sizeof(gdouble));
	g_autofree gchar *file_path = NULL;
	gint file_mib = 256;
	gint file_runs = 3;
	gint file_memory = 0;
	g_autofree gchar *file_sandbox = NULL;
	g_autofree gchar *address = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *stream_cmd = NULL;
	g_autofree gchar *snapshot_root = NULL;
	/* per image: the snapshot its restored runs came from, and its floor */
	g_autoptr(GPtrArray) snapshot_keys = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) floors =
	    g_ptr_array_new_with_free_func((GDestroyNotify)sbx_bench_floor_free);
	gint idle_count = 4;
	gint idle_cold_memory = 1000;
	/* (j): restored and cold, of the default shape, then cold of another shape */
	g_autoptr(SbxBenchMem) mem_restored = sbx_bench_mem_new();
	g_autoptr(SbxBenchMem) mem_cold = sbx_bench_mem_new();
	g_autoptr(SbxBenchMem) mem_shape_restored = sbx_bench_mem_new();
	g_autoptr(SbxBenchMem) mem_shape_cold = sbx_bench_mem_new();
	gboolean session = FALSE;
	gint runs = 10;
	gint stream_mib = 64;
	const GOptionEntry entries[] = {
	    {"address", 0, 0, G_OPTION_ARG_STRING, &address, "D-Bus address of sandboxd's bus",
	     "ADDR"},
	    {"session", 0, 0, G_OPTION_ARG_NONE, &session, "use the session bus", NULL},
	    {"runs", 'n', 0, G_OPTION_ARG_INT, &runs, "runs per measurement (default 10)", "N"},
	    {"stream-mib", 0, 0, G_OPTION_ARG_INT, &stream_mib,
	     "MiB streamed per throughput run (default 64)", "MIB"},
	    {"file-mib", 0, 0, G_OPTION_ARG_INT, &file_mib,
	     "MiB per WriteFile/ReadFile run (default 256: fits the default sandbox's tmpfs /tmp; "
	     "0 skips them)",
	     "MIB"},
	    {"file-runs", 0, 0, G_OPTION_ARG_INT, &file_runs, "WriteFile/ReadFile runs (default 3)",
	     "N"},
	    {"file-memory", 0, 0, G_OPTION_ARG_INT, &file_memory,
	     "memory (MiB) of the sandbox for file runs: the file goes to its tmpfs /tmp "
	     "(default 0 = the default memory; a bigger --file-mib needs more)",
	     "MIB"},
	    {"file-path", 0, 0, G_OPTION_ARG_STRING, &file_path,
	     "guest file for file runs (default /tmp/sandboxd-bench.bin)", "PATH"},
	    {"image", 0, 0, G_OPTION_ARG_STRING_ARRAY, &image_opts,
	     "measure (a) with this image (repeatable, or a comma list; default: the "
	     "daemon's default image)",
	     "NAME"},
	    {"disk-image", 0, 0, G_OPTION_ARG_STRING, &disk_image,
	     "measure disk I/O in a sandbox of this image (needs python3 in it, e.g. debian; "
	     "default: no disk I/O rows)",
	     "NAME"},
	    {"volume-backend", 0, 0, G_OPTION_ARG_STRING_ARRAY, &backend_opts,
	     "volume create/snapshot latency and, with --disk-image, disk I/O on a volume of "
	     "this backend (repeatable or a comma list: qcow2,rbd)",
	     "NAME"},
	    {"disk-mib", 0, 0, G_OPTION_ARG_INT, &disk_mib,
	     "MiB written and read sequentially per disk run (default 128)", "MIB"},
	    {"snapshot-dir", 0, 0, G_OPTION_ARG_FILENAME, &snapshot_root,
	     "the daemon's SnapshotDir (qemu backend, needs root): the floor rows restore the "
	     "same snapshots with a bare QEMU",
	     "DIR"},
	    {"idle", 0, 0, G_OPTION_ARG_INT, &idle_count,
	     "host memory of this many idle sandboxes (default 4, 0: none; needs root)", "N"},
	    {"idle-cold-memory", 0, 0, G_OPTION_ARG_INT, &idle_cold_memory,
	     "then as many of this memory (MiB), a shape with no snapshot yet, so a backend "
	     "that restores boots them cold (default 1000; 0: none)",
	     "MIB"},
	    {"disk-seconds", 0, 0, G_OPTION_ARG_INT, &disk_seconds,
	     "seconds of random 4 KiB writes, then of reads, per disk run (default 5)", "S"},
	    {NULL},
	};
	const gchar *echo_argv[] = {"echo", "x", NULL};
	const gchar *true_argv[] = {"true", NULL};
	const gchar *stream_argv[] = {"sh", "-c", NULL, NULL};

	ctx = g_option_context_new("- measure a running sandboxd");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error) || runs < 1 || stream_mib < 1) {
		g_printerr("%s\n", error != NULL ? error->message : "bad --runs or --stream-mib");
		return 2;
	}
	for (guint i = 0; image_opts != NULL && image_opts[i] != NULL; i++) {
		g_auto(GStrv) parts = g_strsplit(image_opts[i], ",", -1);
		for (guint j = 0; parts[j] != NULL; j++) {
			if (parts[j][0] != '\0')
				g_ptr_array_add(images, g_strdup(parts[j]));
		}
	}
	/* NULL: the default image */
	if (images->len == 0)
		g_ptr_array_add(images, NULL);
	disk.backends = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; backend_opts != NULL && backend_opts[i] != NULL; i++) {
		g_auto(GStrv) parts = g_strsplit(backend_opts[i], ",", -1);
		for (guint j = 0; parts[j] != NULL; j++) {
			if (parts[j][0] != '\0')
				g_ptr_array_add(disk.backends, g_strdup(parts[j]));
		}
	}
	disk.image = disk_image;
	disk.mib = (guint)MAX(disk_mib, 1);
	disk.seconds = (guint)MAX(disk_seconds, 1);
	disk.runs = (guint)MIN(runs, 3);
	if (address != NULL)
		conn = g_dbus_connection_new_for_address_sync(
		    address,
		    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
			G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
		    NULL, NULL, &error);
	else
		conn =
		    g_bus_get_sync(session ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM, NULL, &error);
	if (conn == NULL) {
		g_printerr("cannot connect to the bus: %s\n", error->message);
		return 1;
	}
	g_dbus_connection_set_exit_on_close(conn, FALSE);
	{
		g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
		    conn, BUS_NAME, MANAGER_PATH, "org.freedesktop.DBus.Properties", "Get",
		    g_variant_new("(ss)", MANAGER_IFACE, "DomainType"), G_VARIANT_TYPE("(v)"),
		    G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
		g_autoptr(GVariant) reply2 = NULL;
		if (reply == NULL) {
			g_printerr("is sandboxd running? %s\n", error->message);
			return 1;
		}
		g_variant_get(reply, "(v)", &domain_type);
		reply2 = g_dbus_connection_call_sync(
		    conn, BUS_NAME, MANAGER_PATH, "org.freedesktop.DBus.Properties", "Get",
		    g_variant_new("(ss)", MANAGER_IFACE, "Version"), G_VARIANT_TYPE("(v)"),
		    G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
		if (reply2 != NULL)
			g_variant_get(reply2, "(v)", &version);
	}
	g_print("sandboxd %s, domain type %s (%s), %d runs each, default sandbox options\n",
		version != NULL ? g_variant_get_string(version, NULL) : "?",
		g_variant_get_string(domain_type, NULL),
		g_strcmp0(g_variant_get_string(domain_type, NULL), "kvm") == 0
		    ? "hardware virtualisation"
		    : "QEMU TCG software emulation",
		runs);

	/* (a) a new sandbox: CreateSandbox to the first byte of a command's output, per image */
	for (guint k = 0; k < images->len; k++) {
		g_ptr_array_add(create_first, g_array_new(FALSE, FALSE, sizeof(gdouble)));
		g_ptr_array_add(create_call, g_array_new(FALSE, FALSE, sizeof(gdouble)));
		g_ptr_array_add(kill_call, g_array_new(FALSE, FALSE, sizeof(gdouble)));
		g_ptr_array_add(first_restored, g_array_new(FALSE, FALSE, sizeof(gdouble)));
		g_ptr_array_add(first_cold, g_array_new(FALSE, FALSE, sizeof(gdouble)));
		g_ptr_array_add(first_pooled, g_array_new(FALSE, FALSE, sizeof(gdouble)));
		g_ptr_array_add(pair_pooled, g_array_new(FALSE, FALSE, sizeof(gdouble)));
		g_ptr_array_add(pair_restored, g_array_new(FALSE, FALSE, sizeof(gdouble)));
		g_ptr_array_add(snapshot_keys, NULL);
		g_ptr_array_add(floors, NULL);
	}
	for (gint i = 0; i < runs * (gint)images->len; i++) {
		guint k = (guint)i % images->len;
		g_autofree gchar *sb = NULL;
		ExecRun *run = g_new0(ExecRun, 1);
		gint64 t0 = g_get_monotonic_time();
		gint64 t1, t2;
		gdouble v;

		/* images interleaved so a change of load hits each alike */
		sb =
		    sbx_bench_create_sandbox_with(conn, g_ptr_array_index(images, k), NULL, &error);
		if (sb == NULL) {
			g_printerr("CreateSandbox: %s\n", error->message);
			return 1;
		}
		t1 = g_get_monotonic_time();
		if (!exec_timed(conn, sb, echo_argv, run, &error)) {
			g_printerr("Exec: %s\n", error->message);
			return 1;
		}
		v = (run->first_byte - t0) / 1000.0;
		g_array_append_val(g_ptr_array_index(create_first, k), v);
		{
			g_autofree gchar *key = NULL;
			gboolean pooled = FALSE;
			gboolean restored = sbx_bench_was_restored_full(conn, sb, &key, &pooled);
			g_array_append_val(g_ptr_array_index(pooled	? first_pooled
							     : restored ? first_restored
									: first_cold,
							     k),
					   v);
			if (key != NULL && g_ptr_array_index(snapshot_keys, k) == NULL)
				g_ptr_array_index(snapshot_keys, k) = g_steal_pointer(&key);
		}
		v = (t1 - t0) / 1000.0;
		g_array_append_val(g_ptr_array_index(create_call, k), v);
		t2 = g_get_monotonic_time();
		if (!kill_sandbox(conn, sb, &error)) {
			g_printerr("Kill: %s\n", error->message);
			return 1;
		}
		v = (g_get_monotonic_time() - t2) / 1000.0;
		g_array_append_val(g_ptr_array_index(kill_call, k), v);
		g_free(run);
		g_printerr(".");
	}

	/* the floors of Kill on libvirt (nothing on other backends) */
	if (!sbx_bench_kill_floors(conn, (guint)MIN(runs, 3), kill_virsh, kill_sigkill, &error)) {
		g_printerr("kill floors: %s\n", error->message);
		return 1;
	}

	/* (a') with a pool ([daemon] PoolSize): a create at an idle daemon, whose VM
	 * comes from the pool, then one right after it, restored as without a pool */
	for (gint i = 0; i < runs * (gint)images->len; i++) {
		guint k = (guint)i % images->len;
		gchar *sb[2] = {NULL, NULL};

		if (!sbx_bench_wait_pool_idle(conn, 120)) {
			if (i == 0)
				g_printerr("\n(a') the daemon keeps no pool (PoolSize=0?): no pool "
					   "rows\n");
			break;
		}
		has_pool = TRUE;
		for (guint j = 0; j < 2; j++) {
			ExecRun *run = g_new0(ExecRun, 1);
			gint64 t0 = g_get_monotonic_time();
			gboolean pooled = FALSE;
			gdouble v;

			sb[j] = sbx_bench_create_sandbox_with(conn, g_ptr_array_index(images, k),
							      NULL, &error);
			if (sb[j] == NULL) {
				g_printerr("CreateSandbox: %s\n", error->message);
				return 1;
			}
			if (!exec_timed(conn, sb[j], echo_argv, run, &error)) {
				g_printerr("Exec: %s\n", error->message);
				return 1;
			}
			v = (run->first_byte - t0) / 1000.0;
			g_free(run);
			if (!sbx_bench_was_restored_full(conn, sb[j], NULL, &pooled))
				continue; /* a cold boot: neither row */
			g_array_append_val(
			    g_ptr_array_index(pooled ? pair_pooled : pair_restored, k), v);
		}
		for (guint j = 0; j < 2; j++) {
			kill_sandbox(conn, sb[j], NULL);
			g_free(sb[j]);
		}
		g_printerr("p");
	}

	/* (b) and (c) in one running sandbox */
	path = create_sandbox(conn, &error);
	if (path == NULL) {
		g_printerr("CreateSandbox: %s\n", error->message);
		return 1;
	}
	/* the floor of (b): the guest's own fork+exec+exit, measured by the guest */
	for (gint i = 0; i < MIN(runs, 5); i++) {
		gdouble v = 0;
		if (!sbx_bench_guest_spawn_ms(conn, path, 20, &v, &error)) {
			g_printerr("spawn floor: %s\n", error->message);
			return 1;
		}
		g_array_append_val(spawn_floor, v);
	}
	for (gint i = 0; i < runs; i++) {
		ExecRun *run = g_new0(ExecRun, 1);
		gdouble v;
		if (!exec_timed(conn, path, true_argv, run, &error)) {
			g_printerr("Exec: %s\n", error->message);
			return 1;
		}
		v = (run->end - run->start) / 1000.0;
		g_array_append_val(exec_true, v);
		g_free(run);
	}
	/* 64 KiB writes: busybox head's small ones cap a TCG guest at a few MiB/s */
	stream_cmd =
	    g_strdup_printf("dd if=/dev/zero bs=65536 count=%d 2>/dev/null", stream_mib * 16);
	stream_argv[2] = stream_cmd;
	for (gint i = 0; i < runs; i++) {
		ExecRun *run = g_new0(ExecRun, 1);
		gdouble v;
		if (!exec_timed(conn, path, stream_argv, run, &error)) {
			g_printerr("Exec: %s\n", error->message);
			return 1;
		}
		if (run->bytes != (guint64)stream_mib * 1024 * 1024) {
			g_printerr("stream: got %" G_GUINT64_FORMAT " bytes\n", run->bytes);
			return 1;
		}
		v = (gdouble)run->bytes / (1024.0 * 1024.0) /
		    ((run->end - run->start) / (gdouble)G_USEC_PER_SEC);
		g_array_append_val(throughput, v);
		g_free(run);
		g_printerr(".");
	}
	/* the floor of (c): the same bytes through one pipe inside the guest */
	for (gint i = 0; i < MIN(runs, 3); i++) {
		gdouble v = 0;
		if (!sbx_bench_guest_pipe_mibs(conn, path, (guint)stream_mib, &v, &error)) {
			g_printerr("pipe floor: %s\n", error->message);
			return 1;
		}
		g_array_append_val(pipe_floor, v);
	}
	/* (f) 100 short processes, one after the other, in the same sandbox */
	for (gint i = 0; i < MIN(runs, 3); i++) {
		gdouble v = 0;
		if (!sbx_bench_spawn_sequence(conn, path, 100, &v, &error)) {
			g_printerr("Spawn: %s\n", error->message);
			return 1;
		}
		g_array_append_val(spawn_seq, v);
		g_printerr(".");
	}
	kill_sandbox(conn, path, NULL);

	/* a burst of 10 creates at once (the snapshot is warm by now) */
	if (!sbx_bench_burst(conn, 10, burst_ms, &burst_failed, &burst_pooled, &error)) {
		g_printerr("burst: %s\n", error->message);
		return 1;
	}
	g_printerr(".");

	/* (j) host memory of idle sandboxes: the default shape (restored when the
	 * backend has a snapshot), then one without a snapshot (cold) */
	if (idle_count > 0) {
		if (!sbx_bench_mem_run(conn, NULL, 0, (guint)idle_count, mem_restored, mem_cold,
				       &error)) {
			g_printerr("idle memory: %s\n", error->message);
			return 1;
		}
		g_printerr(".");
		if (idle_cold_memory > 0 && mem_restored->count > 0 &&
		    !sbx_bench_mem_run(conn, NULL, (guint)idle_cold_memory, (guint)idle_count,
				       mem_shape_restored, mem_shape_cold, &error)) {
			g_printerr("idle memory: %s\n", error->message);
			return 1;
		}
		g_printerr(".");
	}

	/* (d) and (e): file throughput through WriteFile/ReadFile, in a sandbox with room */
	for (gint i = 0; file_mib > 0 && i < file_runs; i++) {
		gdouble w = 0, r = 0;
		if (file_sandbox == NULL)
			file_sandbox =
			    sbx_bench_create_sandbox(conn, (guint)MAX(file_memory, 0), &error);
		if (file_sandbox == NULL) {
			g_printerr("CreateSandbox: %s\n", error->message);
			return 1;
		}
		if (!sbx_bench_file_throughput(conn, file_sandbox,
					       file_path != NULL ? file_path
								 : "/tmp/sandboxd-bench.bin",
					       (guint)file_mib, &w, &r, &error)) {
			g_printerr("file throughput: %s\n", error->message);
			return 1;
		}
		g_array_append_val(file_write, w);
		g_array_append_val(file_read, r);
		g_printerr(".");
		if (i == file_runs - 1) {
			kill_sandbox(conn, file_sandbox, NULL);
		}
	}
	/* the floors: the same snapshots restored by a bare QEMU, the agent spoken to directly */
	for (guint k = 0; snapshot_root != NULL && k < images->len; k++) {
		const gchar *key = g_ptr_array_index(snapshot_keys, k);
		g_autofree gchar *dir = NULL;
		SbxBenchFloor *f;

		/* all its runs booted cold (the snapshot came late): one more to learn it */
		if (key == NULL) {
			g_autofree gchar *sb = sbx_bench_create_sandbox_with(
			    conn, g_ptr_array_index(images, k), NULL, NULL);
			g_autofree gchar *found = NULL;
			if (sb != NULL && sbx_bench_was_restored(conn, sb, &found))
				g_ptr_array_index(snapshot_keys, k) = g_steal_pointer(&found);
			if (sb != NULL)
				kill_sandbox(conn, sb, NULL);
			key = g_ptr_array_index(snapshot_keys, k);
		}
		if (key == NULL) {
			const gchar *image = g_ptr_array_index(images, k);
			g_printerr("\nfloor: image %s has no snapshot to restore\n",
				   image != NULL ? image : "default");
			continue;
		}
		dir = g_build_filename(snapshot_root, key, NULL);
		f = sbx_bench_floor_new();
		g_ptr_array_index(floors, k) = f;
		if (!sbx_bench_floor_run(dir, (guint)runs, (guint)stream_mib, f, &error)) {
			g_printerr("\nfloor: %s\n", error->message);
			return 1;
		}
	}
	/* volume latency and disk I/O (sbx-bench-disk-run.c) */
	if (!sbx_bench_disk_run(conn, &disk, &error)) {
		g_printerr("disk: %s\n", error->message);
		return 1;
	}
	g_printerr("\n");

	g_print("%-52s %4s %12s %12s %12s %12s\n", "measurement", "n", "median", "p95", "min",
		"max");
	for (guint k = 0; k < images->len; k++) {
		const gchar *image = g_ptr_array_index(images, k);
		g_autofree gchar *l1 = g_strdup_printf("(a) Create -> first byte [%s]",
						       image != NULL ? image : "default");
		SbxBenchFloor *f = g_ptr_array_index(floors, k);
		print_row(l1, g_ptr_array_index(create_first, k), "ms");
		print_row("    of them restored from a snapshot (no pooled VM)",
			  g_ptr_array_index(first_restored, k), "ms");
		print_row("    of them from the pool", g_ptr_array_index(first_pooled, k), "ms");
		if (f != NULL) {
			g_print("    floor: bare QEMU restoring the same snapshot (%s)\n",
				f->label);
			print_row("    floor: bare restore -> QEMU running", f->to_running, "ms");
			print_row("    floor: bare restore -> agent echo", f->to_echo, "ms");
			print_row("    floor: then IDENTITY -> its reply", f->identity, "ms");
			print_row("    floor: bare restore -> first byte of echo x",
				  f->to_first_byte, "ms");
			print_ratio("restored (a) / bare restore -> agent echo",
				    g_ptr_array_index(first_restored, k), f->to_echo);
			print_ratio("restored (a) / bare restore -> first byte",
				    g_ptr_array_index(first_restored, k), f->to_first_byte);
		} else {
			g_print("    floor: none (needs --snapshot-dir and a restored run)\n");
		}
		if (has_pool) {
			print_row("(a') from the pool, at an idle daemon",
				  g_ptr_array_index(pair_pooled, k), "ms");
			print_row("(a') right after it: restored, the pool empty",
				  g_ptr_array_index(pair_restored, k), "ms");
			if (f != NULL) {
				print_row("    floor: bare pooled VM: IDENTITY -> first byte",
					  f->pooled_first_byte, "ms");
				print_ratio("(a') pool / bare pooled VM",
					    g_ptr_array_index(pair_pooled, k),
					    f->pooled_first_byte);
				print_ratio("(a') pool / bare restore -> first byte",
					    g_ptr_array_index(pair_pooled, k), f->to_first_byte);
				print_ratio("(a') restored / bare restore -> first byte",
					    g_ptr_array_index(pair_restored, k), f->to_first_byte);
			}
		}
		print_row("    of them cold boots", g_ptr_array_index(first_cold, k), "ms");
		print_row("    CreateSandbox call alone", g_ptr_array_index(create_call, k), "ms");
		print_row("    Kill call", g_ptr_array_index(kill_call, k), "ms");
	}
	if (kill_virsh->len > 0) {
		print_row("    floor of Kill: QEMU exits after SIGKILL", kill_sigkill, "ms");
		print_row("    libvirt's own destroy (virsh destroy)", kill_virsh, "ms");
		print_ratio("Kill [first image] / QEMU exit after SIGKILL",
			    g_ptr_array_index(kill_call, 0), kill_sigkill);
		print_ratio("Kill [first image] / virsh destroy", g_ptr_array_index(kill_call, 0),
			    kill_virsh);
	}
	print_row("(b) Exec round trip of `true`", exec_true, "ms");
	print_row("    floor: guest fork+exec+exit of true", spawn_floor, "ms");
	print_ratio("(b) / guest fork+exec+exit", exec_true, spawn_floor);
	if (floors->len > 0 && g_ptr_array_index(floors, 0) != NULL) {
		SbxBenchFloor *f = g_ptr_array_index(floors, 0);
		print_row("    floor: bare agent echo round trip", f->echo_rtt, "ms");
		print_ratio("(b) / bare echo round trip", exec_true, f->echo_rtt);
	}
	print_row("(i) burst of 10 creates: each reply", burst_ms, "ms");
	g_print("    burst: %u of 10 failed, %u served from the pool\n", burst_failed,
		burst_pooled);
	{
		g_autofree gchar *label =
		    g_strdup_printf("(c) stdout throughput, %d MiB", stream_mib);
		print_row(label, throughput, "MiB/s");
		print_row("    floor: the same through a pipe in the guest", pipe_floor, "MiB/s");
		print_ratio("(c) / guest pipe", throughput, pipe_floor);
		if (floors->len > 0 && g_ptr_array_index(floors, 0) != NULL) {
			SbxBenchFloor *f = g_ptr_array_index(floors, 0);
			print_row("    floor: raw channel (bare agent, dd to stdout)",
				  f->channel_mibs, "MiB/s");
			print_ratio("(c) / raw channel", throughput, f->channel_mibs);
		}
	}
	print_mem("restored from a snapshot", mem_restored);
	print_mem("booted cold", mem_cold);
	print_mem("booted cold, a shape with no snapshot", mem_shape_cold);
	print_mem("restored, a shape snapshotted meanwhile", mem_shape_restored);
	print_row("(f) 100 x Spawn+Wait of `true` in a row", spawn_seq, "ms");
	if (file_write->len > 0) {
		g_autofree gchar *wl =
		    g_strdup_printf("(d) WriteFile throughput, %d MiB", file_mib);
		g_autofree gchar *rl = g_strdup_printf("(e) ReadFile throughput, %d MiB", file_mib);
		print_row(wl, file_write, "MiB/s");
		print_row(rl, file_read, "MiB/s");
	}
	sbx_bench_disk_print(&disk, print_row);
	sbx_bench_disk_clear(&disk);
	return 0;
}
