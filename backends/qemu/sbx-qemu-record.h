/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* what a restarted daemon needs to adopt a QEMU or finish cleaning up after
 * it: one small key file per VM in the backend's record folder, written
 * before QEMU starts and marked dying before it is killed */
typedef struct {
	gchar *id;
	gint pid;
	guint64 start_time; /* /proc/PID/stat field 22: tells a reused pid apart */
	gchar *run_dir;
	gchar *cgroup;
	guint32 ip;
	gboolean dying;
} SbxQemuRecord;

void sbx_qemu_record_free(SbxQemuRecord *rec);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxQemuRecord, sbx_qemu_record_free)

gboolean sbx_qemu_record_save(const gchar *dir, const SbxQemuRecord *rec, GError **error);
SbxQemuRecord *sbx_qemu_record_load(const gchar *dir, const gchar *id, GError **error);
void sbx_qemu_record_remove(const gchar *dir, const gchar *id);
GPtrArray *sbx_qemu_record_list(const gchar *dir);
guint64 sbx_qemu_record_process_start_time(gint pid);
gboolean sbx_qemu_record_is_alive(const SbxQemuRecord *rec);
/* the pid of a running QEMU started for @id, or 0 */
gint sbx_qemu_record_find_process(const gchar *id);

G_END_DECLS
