/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "sbx-qemu-record.h"

#define GROUP "vm"

void
sbx_qemu_record_free(SbxQemuRecord *rec)
{
	if (rec == NULL)
		return;
	g_free(rec->id);
	g_free(rec->run_dir);
	g_free(rec->cgroup);
	g_free(rec);
}

static gchar *
record_path(const gchar *dir, const gchar *id)
{
	g_autofree gchar *name = g_strconcat(id, ".vm", NULL);
	return g_build_filename(dir, name, NULL);
}

gboolean
sbx_qemu_record_save(const gchar *dir, const SbxQemuRecord *rec, GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autofree gchar *path = record_path(dir, rec->id);
	g_autofree gchar *data = NULL;
	gsize len = 0;

	g_key_file_set_integer(kf, GROUP, "Pid", rec->pid);
	g_key_file_set_uint64(kf, GROUP, "StartTime", rec->start_time);
	g_key_file_set_string(kf, GROUP, "RunDir", rec->run_dir != NULL ? rec->run_dir : "");
	g_key_file_set_string(kf, GROUP, "Cgroup", rec->cgroup != NULL ? rec->cgroup : "");
	g_key_file_set_uint64(kf, GROUP, "Ip", rec->ip);
	g_key_file_set_boolean(kf, GROUP, "Dying", rec->dying);
	data = g_key_file_to_data(kf, &len, NULL);
	/* atomic and durable: a crash leaves the old record or the new one */
	return g_file_set_contents_full(
	    path, data, (gssize)len, G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
	    0600, error);
}

SbxQemuRecord *
sbx_qemu_record_load(const gchar *dir, const gchar *id, GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autofree gchar *path = record_path(dir, id);
	g_autoptr(SbxQemuRecord) rec = g_new0(SbxQemuRecord, 1);

	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, error))
		return NULL;
	rec->id = g_strdup(id);
	rec->pid = g_key_file_get_integer(kf, GROUP, "Pid", NULL);
	rec->start_time = g_key_file_get_uint64(kf, GROUP, "StartTime", NULL);
	rec->run_dir = g_key_file_get_string(kf, GROUP, "RunDir", NULL);
	rec->cgroup = g_key_file_get_string(kf, GROUP, "Cgroup", NULL);
	rec->ip = (guint32)g_key_file_get_uint64(kf, GROUP, "Ip", NULL);
	rec->dying = g_key_file_get_boolean(kf, GROUP, "Dying", NULL);
	if (rec->cgroup != NULL && rec->cgroup[0] == '\0')
		g_clear_pointer(&rec->cgroup, g_free);
	return g_steal_pointer(&rec);
}

void
sbx_qemu_record_remove(const gchar *dir, const gchar *id)
{
	g_autofree gchar *path = record_path(dir, id);
	if (g_unlink(path) != 0 && errno != ENOENT)
		g_warning("cannot remove %s: %s", path, g_strerror(errno));
}

/* the ids of every record in @dir */
GPtrArray *
sbx_qemu_record_list(const gchar *dir)
{
	g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const gchar *name;

	while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
		if (g_str_has_suffix(name, ".vm") && strlen(name) > 3)
			g_ptr_array_add(ids, g_strndup(name, strlen(name) - 3));
	}
	return g_steal_pointer(&ids);
}

guint64
sbx_qemu_record_process_start_time(gint pid)
{
	g_autofree gchar *path = g_strdup_printf("/proc/%d/stat", pid);
	g_autofree gchar *stat = NULL;
	g_auto(GStrv) fields = NULL;
	const gchar *after;
	guint64 value = 0;

	if (pid <= 0 || !g_file_get_contents(path, &stat, NULL, NULL))
		return 0;
	/* the command name may hold spaces: count from its closing paren */
	after = strrchr(stat, ')');
	if (after == NULL)
		return 0;
	fields = g_strsplit(after + 2, " ", -1);
	/* field 3 is state; starttime is field 22, index 19 from there */
	if (g_strv_length(fields) < 20 ||
	    !g_ascii_string_to_unsigned(fields[19], 10, 0, G_MAXUINT64, &value, NULL))
		return 0;
	/* a zombie is gone for our purposes */
	if (fields[0][0] == 'Z')
		return 0;
	return value;
}

gboolean
sbx_qemu_record_is_alive(const SbxQemuRecord *rec)
{
	return rec->pid > 0 && rec->start_time != 0 &&
	       sbx_qemu_record_process_start_time(rec->pid) == rec->start_time;
}

/* a daemon killed between starting QEMU and saving its pid leaves a record
 * without one: find that QEMU by the `-name ID,...` we gave it */
gint
sbx_qemu_record_find_process(const gchar *id)
{
	g_autoptr(GDir) proc = g_dir_open("/proc", 0, NULL);
	g_autofree gchar *want = g_strconcat(id, ",", NULL);
	const gchar *entry;

	while (proc != NULL && (entry = g_dir_read_name(proc)) != NULL) {
		g_autofree gchar *path = NULL;
		g_autofree gchar *cmdline = NULL;
		gsize len = 0;
		gboolean after_name = FALSE;

		if (!g_ascii_isdigit(entry[0]))
			continue;
		path = g_build_filename("/proc", entry, "cmdline", NULL);
		if (!g_file_get_contents(path, &cmdline, &len, NULL) || len == 0)
			continue;
		for (gsize off = 0; off < len; off += strlen(cmdline + off) + 1) {
			const gchar *arg = cmdline + off;
			if (after_name && g_str_has_prefix(arg, want))
				return atoi(entry);
			after_name = g_strcmp0(arg, "-name") == 0;
		}
	}
	return 0;
}
