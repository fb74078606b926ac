/* sandboxd-bench: host memory per idle sandbox. N sandboxes are created one
 * after the other, each runs one command, then they idle; per sandbox, from /proc/PID/smaps of its
 * QEMU: what QEMU holds beyond the guest RAM mapping (private pages, Pss, and of
 * them TCG's translation buffer), the guest pages touched (private copies vs
 * pages shared with the snapshot's page cache, and their Pss); and the growth of
 * sandboxd and its other children (helpers) over the N, divided by N.
 * Needs root (smaps of QEMU processes of other users).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbx-bench.h"

#define BUS_NAME "org.sandboxd"
#define SANDBOX_IFACE "org.sandboxd.Sandbox1"
#define KIB_PER_MIB 1024.0
/* a QEMU's smaps is some hundred KiB; more is not a QEMU we read */
#define SMAPS_MAX (16 * 1024 * 1024)
/* how long the sandboxes idle before they are measured */
#define IDLE_SETTLE_US (2 * G_USEC_PER_SEC)

typedef struct {
	guint64 rss, pss, private_kib, anon;
} Usage;

typedef struct {
	Usage ram;	     /* the guest RAM mapping */
	Usage other;	     /* every other mapping */
	Usage tb;	     /* of them: anonymous executable mappings (TCG's code buffer) */
	GHashTable *by_name; /* beyond RAM: path or "[anon PERMS]" -> private KiB */
} QemuUsage;

/* "name 12.3, name 4.5, ..." of the @n largest */
static gchar *
largest(GHashTable *by_name, guint n)
{
	g_autoptr(GString) s = g_string_new(NULL);
	g_autoptr(GHashTable) left = g_hash_table_new(g_str_hash, g_str_equal);
	GHashTableIter iter;
	gpointer k, v;

	g_hash_table_iter_init(&iter, by_name);
	while (g_hash_table_iter_next(&iter, &k, &v))
		g_hash_table_insert(left, k, v);
	for (guint i = 0; i < n && g_hash_table_size(left) > 0; i++) {
		const gchar *best = NULL;
		guint64 best_kib = 0;
		g_hash_table_iter_init(&iter, left);
		while (g_hash_table_iter_next(&iter, &k, &v)) {
			guint64 kib = *(guint64 *)v;
			if (best == NULL || kib > best_kib) {
				best = k;
				best_kib = kib;
			}
		}
		g_string_append_printf(s, "%s%s %.1f", i > 0 ? ", " : "", best,
				       best_kib / KIB_PER_MIB);
		g_hash_table_remove(left, best);
	}
	return g_string_free(g_steal_pointer(&s), FALSE);
}

SbxBenchMem *
sbx_bench_mem_new(void)
{
	SbxBenchMem *m = g_new0(SbxBenchMem, 1);
	GArray **rows[] = {&m->other_private, &m->other_pss,  &m->tb_rss,  &m->ram_rss,
			   &m->ram_private,   &m->ram_shared, &m->ram_pss, &m->total};
	for (guint i = 0; i < G_N_ELEMENTS(rows); i++)
		*rows[i] = g_array_new(FALSE, FALSE, sizeof(gdouble));
	return m;
}

void
sbx_bench_mem_free(SbxBenchMem *m)
{
	GArray *rows[] = {m->other_private, m->other_pss,  m->tb_rss,  m->ram_rss,
			  m->ram_private,   m->ram_shared, m->ram_pss, m->total};
	for (guint i = 0; i < G_N_ELEMENTS(rows); i++)
		g_array_unref(rows[i]);
	g_free(m->largest);
	g_free(m);
}

static void
append(GArray *a, guint64 kib)
{
	gdouble v = kib / KIB_PER_MIB;
	g_array_append_val(a, v);
}

/* "Rss:   123 kB" */
static guint64
field_kib(const gchar *line, const gchar *name)
{
	gsize len = strlen(name);
	if (strncmp(line, name, len) != 0 || line[len] != ':')
		return G_MAXUINT64;
	return g_ascii_strtoull(line + len + 1, NULL, 10);
}

/* sums smaps of @pid; the guest RAM is the one non-executable mapping of
 * exactly @ram_kib (QEMU maps each RAM block alone) */
static gboolean
read_smaps(gint pid, guint64 ram_kib, QemuUsage *u, GError **error)
{
	g_autofree gchar *path = g_strdup_printf("/proc/%d/smaps", pid);
	g_autofree gchar *text = NULL;
	g_auto(GStrv) lines = NULL;
	Usage *cur = NULL;
	guint64 *named = NULL;
	gboolean tb = FALSE;
	gboolean found_ram = FALSE;
	gsize len = 0;

	memset(u, 0, sizeof(*u));
	u->by_name = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	if (!g_file_get_contents(path, &text, &len, error))
		return FALSE;
	if (len > SMAPS_MAX) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: too large", path);
		return FALSE;
	}
	lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		const gchar *l = lines[i];
		guint64 start, end, v;
		gchar *p;

		/* a mapping's header: "start-end perms offset dev inode [path]" */
		if (g_ascii_isxdigit(l[0]) && (p = strchr(l, '-')) != NULL && strchr(l, ' ') > p) {
			g_auto(GStrv) w = g_strsplit_set(l, " ", -1);
			start = g_ascii_strtoull(l, NULL, 16);
			end = g_ascii_strtoull(p + 1, NULL, 16);
			if (g_strv_length(w) < 2)
				continue;
			if ((end - start) / 1024 == ram_kib && w[1][2] != 'x' && !found_ram) {
				cur = &u->ram;
				found_ram = TRUE;
				tb = FALSE;
				named = NULL;
			} else {
				guint n = g_strv_length(w);
				/* no path: anonymous */
				gboolean anon = n < 6 || w[n - 1][0] == '\0';
				g_autofree gchar *name =
				    anon ? g_strdup_printf("[anon %s]", w[1]) : g_strdup(w[n - 1]);
				cur = &u->other;
				tb = anon && w[1][2] == 'x';
				named = g_hash_table_lookup(u->by_name, name);
				if (named == NULL) {
					named = g_new0(guint64, 1);
					g_hash_table_insert(u->by_name, g_steal_pointer(&name),
							    named);
				}
			}
			continue;
		}
		if (cur == NULL)
			continue;
		if ((v = field_kib(l, "Rss")) != G_MAXUINT64) {
			cur->rss += v;
			if (tb)
				u->tb.rss += v;
		} else if ((v = field_kib(l, "Pss")) != G_MAXUINT64) {
			cur->pss += v;
		} else if ((v = field_kib(l, "Private_Clean")) != G_MAXUINT64 ||
			   (v = field_kib(l, "Private_Dirty")) != G_MAXUINT64) {
			cur->private_kib += v;
			if (named != NULL)
				*named += v;
		} else if ((v = field_kib(l, "Anonymous")) != G_MAXUINT64) {
			cur->anon += v;
		}
	}
	if (!found_ram) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "pid %d: no mapping of the guest's %" G_GUINT64_FORMAT " KiB", pid,
			    ram_kib);
		return FALSE;
	}
	return TRUE;
}

gint
sbx_bench_find_qemu(const gchar *id, gboolean *libvirt)
{
	g_autoptr(GDir) proc = g_dir_open("/proc", 0, NULL);
	g_autofree gchar *a = g_strconcat(id, ",", NULL);
	g_autofree gchar *b = g_strconcat("guest=", id, ",", NULL);
	const gchar *entry;

	while (proc != NULL && (entry = g_dir_read_name(proc)) != NULL) {
		g_autofree gchar *path = NULL;
		g_autofree gchar *cmd = NULL;
		gsize len = 0;
		gboolean after_name = FALSE;

		if (!g_ascii_isdigit(entry[0]))
			continue;
		path = g_build_filename("/proc", entry, "cmdline", NULL);
		if (!g_file_get_contents(path, &cmd, &len, NULL))
			continue;
		for (gsize off = 0; off < len; off += strlen(cmd + off) + 1) {
			const gchar *arg = cmd + off;
			if (after_name && (g_str_has_prefix(arg, a) || g_str_has_prefix(arg, b))) {
				if (libvirt != NULL)
					*libvirt = g_str_has_prefix(arg, b);
				return atoi(entry);
			}
			after_name = strcmp(arg, "-name") == 0;
		}
	}
	return -1;
}

/* VmRSS of @pid in KiB, 0 when it is gone */
static guint64
rss_kib(gint pid)
{
	g_autofree gchar *path = g_strdup_printf("/proc/%d/status", pid);
	g_autofree gchar *text = NULL;
	const gchar *line;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return 0;
	line = strstr(text, "\nVmRSS:");
	return line != NULL ? g_ascii_strtoull(line + 7, NULL, 10) : 0;
}

/* the summed VmRSS of @daemon's children that are not in @skip and not a
 * QEMU (the pool's VMs and snapshot templates are VMs, not helpers) */
static guint64
helpers_kib(gint daemon, GArray *skip)
{
	g_autoptr(GDir) proc = g_dir_open("/proc", 0, NULL);
	const gchar *entry;
	guint64 sum = 0;

	while (proc != NULL && (entry = g_dir_read_name(proc)) != NULL) {
		g_autofree gchar *path = NULL;
		g_autofree gchar *stat = NULL;
		const gchar *close_paren;
		gint pid, ppid = 0;
		gboolean skipped = FALSE;

		if (!g_ascii_isdigit(entry[0]))
			continue;
		pid = atoi(entry);
		path = g_build_filename("/proc", entry, "stat", NULL);
		if (!g_file_get_contents(path, &stat, NULL, NULL))
			continue;
		/* "pid (comm) state ppid ...": comm may hold spaces */
		close_paren = strrchr(stat, ')');
		if (close_paren == NULL || sscanf(close_paren + 1, " %*c %d", &ppid) != 1 ||
		    ppid != daemon)
			continue;
		for (guint i = 0; skip != NULL && i < skip->len; i++)
			skipped |= g_array_index(skip, gint, i) == pid;
		/* "pid (comm) ...": qemu-system-x86 */
		skipped |= strstr(stat, "(qemu") != NULL;
		if (!skipped)
			sum += rss_kib(pid);
	}
	return sum;
}

static gint
daemon_pid(GDBusConnection *conn)
{
	g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
	    conn, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
	    "GetConnectionUnixProcessID", g_variant_new("(s)", BUS_NAME), G_VARIANT_TYPE("(u)"),
	    G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
	guint32 pid = 0;
	if (reply != NULL)
		g_variant_get(reply, "(u)", &pid);
	return pid > 0 ? (gint)pid : -1;
}

GVariant *
sbx_bench_sandbox_prop(GDBusConnection *conn, const gchar *path, const gchar *name)
{
	g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
	    conn, BUS_NAME, path, "org.freedesktop.DBus.Properties", "Get",
	    g_variant_new("(ss)", SANDBOX_IFACE, name), G_VARIANT_TYPE("(v)"),
	    G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
	GVariant *v = NULL;
	if (reply != NULL)
		g_variant_get(reply, "(v)", &v);
	return v;
}

static void
kill_all(GDBusConnection *conn, GPtrArray *paths)
{
	for (guint i = 0; i < paths->len; i++) {
		g_autoptr(GVariant) r = g_dbus_connection_call_sync(
		    conn, BUS_NAME, g_ptr_array_index(paths, i), SANDBOX_IFACE, "Kill", NULL, NULL,
		    G_DBUS_CALL_FLAGS_NONE, 5 * 60 * 1000, NULL, NULL);
	}
}

gboolean
sbx_bench_mem_run(GDBusConnection *conn, const gchar *image, guint memory_mib, guint count,
		  SbxBenchMem *restored, SbxBenchMem *cold, GError **error)
{
	g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GArray) qemus = g_array_new(FALSE, FALSE, sizeof(gint));
	g_autoptr(GArray) is_restored = g_array_new(FALSE, FALSE, sizeof(gboolean));
	gint daemon = daemon_pid(conn);
	guint64 daemon_before, daemon_after, helpers_before, helpers_after;
	guint n_restored = 0, n_cold = 0;
	gboolean ok = TRUE;

	if (daemon < 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no pid for %s", BUS_NAME);
		return FALSE;
	}
	daemon_before = rss_kib(daemon);
	helpers_before = helpers_kib(daemon, NULL);
	for (guint i = 0; i < count && ok; i++) {
		GVariantBuilder opts;
		g_autoptr(GVariant) reply = NULL;
		gchar *path = NULL;
		const gchar *true_argv[] = {"true", NULL};
		gint status = -1;
		g_autofree gchar *out = NULL;

		g_variant_builder_init(&opts, G_VARIANT_TYPE("a{sv}"));
		if (image != NULL)
			g_variant_builder_add(&opts, "{sv}", "image", g_variant_new_string(image));
		if (memory_mib > 0)
			g_variant_builder_add(&opts, "{sv}", "memory",
					      g_variant_new_uint32(memory_mib));
		reply = g_dbus_connection_call_sync(
		    conn, BUS_NAME, "/org/sandboxd/Manager1", "org.sandboxd.Manager1",
		    "CreateSandbox", g_variant_new("(a{sv})", &opts), G_VARIANT_TYPE("(o)"),
		    G_DBUS_CALL_FLAGS_NONE, 15 * 60 * 1000, NULL, error);
		if (reply == NULL) {
			ok = FALSE;
			break;
		}
		g_variant_get(reply, "(o)", &path);
		g_ptr_array_add(paths, path);
		/* a first command, as a caller's first use */
		out = sbx_bench_exec_capture(conn, path, true_argv, &status, error);
		ok = out != NULL;
	}
	if (ok)
		g_usleep(IDLE_SETTLE_US);
	for (guint i = 0; ok && i < paths->len; i++) {
		const gchar *path = g_ptr_array_index(paths, i);
		g_autoptr(GVariant) id = sbx_bench_sandbox_prop(conn, path, "Id");
		g_autoptr(GVariant) mem = sbx_bench_sandbox_prop(conn, path, "MemoryMiB");
		gboolean r = sbx_bench_was_restored(conn, path, NULL);
		gint pid = id != NULL && g_variant_is_of_type(id, G_VARIANT_TYPE_STRING)
			       ? sbx_bench_find_qemu(g_variant_get_string(id, NULL), NULL)
			       : -1;

		if (mem != NULL && g_variant_is_of_type(mem, G_VARIANT_TYPE_UINT32))
			(r ? restored : cold)->memory_mib = g_variant_get_uint32(mem);
		if (pid < 0) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
				    "sandbox %s: no QEMU process found (not root?)", path);
			ok = FALSE;
			break;
		}
		g_array_append_val(qemus, pid);
		g_array_append_val(is_restored, r);
		if (r)
			n_restored++;
		else
			n_cold++;
	}
	if (!ok) {
		kill_all(conn, paths);
		return FALSE;
	}
	daemon_after = rss_kib(daemon);
	helpers_after = helpers_kib(daemon, qemus);
	/* per sandbox: shared by every one of the N, whichever way it started */
	restored->daemon_mib = cold->daemon_mib =
	    ((gdouble)daemon_after - (gdouble)daemon_before) / KIB_PER_MIB / count;
	restored->daemon_rss_mib[0] = cold->daemon_rss_mib[0] = daemon_before / KIB_PER_MIB;
	restored->daemon_rss_mib[1] = cold->daemon_rss_mib[1] = daemon_after / KIB_PER_MIB;
	restored->helpers_mib = cold->helpers_mib =
	    ((gdouble)helpers_after - (gdouble)helpers_before) / KIB_PER_MIB / count;
	for (guint i = 0; i < qemus->len; i++) {
		gboolean r = g_array_index(is_restored, gboolean, i);
		SbxBenchMem *m = r ? restored : cold;
		QemuUsage u;
		gdouble total;

		if (!read_smaps(g_array_index(qemus, gint, i), (guint64)m->memory_mib * 1024, &u,
				error)) {
			g_clear_pointer(&u.by_name, g_hash_table_unref);
			kill_all(conn, paths);
			return FALSE;
		}
		/* what dominates, in the first one */
		if (m->largest == NULL)
			m->largest = largest(u.by_name, 6);
		g_clear_pointer(&u.by_name, g_hash_table_unref);
		append(m->other_private, u.other.private_kib);
		append(m->other_pss, u.other.pss);
		append(m->tb_rss, u.tb.rss);
		append(m->ram_rss, u.ram.rss);
		append(m->ram_private, u.ram.anon);
		append(m->ram_shared, u.ram.rss - u.ram.anon);
		append(m->ram_pss, u.ram.pss);
		total = u.other.private_kib / KIB_PER_MIB + MAX(m->daemon_mib, 0) +
			MAX(m->helpers_mib, 0);
		g_array_append_val(m->total, total);
	}
	restored->count = n_restored;
	cold->count = n_cold;
	kill_all(conn, paths);
	return TRUE;
}
