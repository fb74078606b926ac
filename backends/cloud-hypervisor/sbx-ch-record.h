/* cloud-hypervisor backend: a record per running VMM (RecordDir/<id>:
 * "pid\nrun_dir\n"), so a restarted daemon finds and stops the VMMs its
 * predecessor left running (their event pipe died with it: no re-adoption).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* in a VM's run folder: "uid\tpath" per file volume the VMM's user was
 * given an ACL entry on (sbx-ch-vm.c) */
#define SBX_CH_RECORD_GRANTS "acl-grants"

gboolean sbx_ch_record_write(const gchar *dir, const gchar *id, GPid pid, const gchar *run_dir,
			     GError **error);
/* removes @id's record if it is the one of VMM @pid */
void sbx_ch_record_remove(const gchar *dir, const gchar *id, GPid pid);
/* SIGKILLs the VMM of every record whose id is not in @live (when the pid
 * still is that VMM: its command line names the record's run folder), removes
 * the files it made, revokes its volume grants and removes the record; returns how many VMMs it
 * stopped */
guint sbx_ch_record_reap(const gchar *dir, GHashTable *live);
/* revokes the ACL entries @run_dir's grants file lists, and removes it */
void sbx_ch_record_revoke_grants(const gchar *run_dir);

G_END_DECLS
