/* cloud-hypervisor backend: a record per running VMM (RecordDir/<id>:
 * "pid\nrun_dir\n"), so a restarted daemon finds and stops the VMMs its
 * predecessor left running (their event pipe died with it: no re-adoption).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean sbx_ch_record_write(const gchar *dir, const gchar *id, GPid pid, const gchar *run_dir,
			     GError **error);
void sbx_ch_record_remove(const gchar *dir, const gchar *id);
/* SIGKILLs the VMM of every record whose id is not in @live (when the pid
 * still is that VMM: its command line names the record's run folder), removes
 * the files it made and the record; returns how many VMMs it stopped */
guint sbx_ch_record_reap(const gchar *dir, GHashTable *live);

G_END_DECLS
