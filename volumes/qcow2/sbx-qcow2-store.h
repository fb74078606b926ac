/* qcow2 volume backend: the files of one volume folder (blocking; call from
 * worker threads, except the lock helpers, which never wait).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "sbx-volume-backend.h"

G_BEGIN_DECLS

/* <dir>/<id><suffix> */
gchar *sbx_qcow2_store_path(const gchar *dir, const gchar *id, const gchar *suffix);

/* reads <dir>/<id>.json; G_IO_ERROR_NOT_FOUND if there is none */
SbxVolumeInfo *sbx_qcow2_store_meta_load(const gchar *dir, const gchar *id, GError **error);
/* atomically replaces <dir>/<id>.json (mode 0600) */
gboolean sbx_qcow2_store_meta_save(const gchar *dir, const SbxVolumeInfo *info, GError **error);
/* every <id>.json in @dir that parses; unreadable ones are logged and skipped */
GPtrArray *sbx_qcow2_store_meta_list(const gchar *dir, GError **error);

/* flock(2) on <dir>/<id>.lock: LOCK_EX or LOCK_SH, never waiting. With @create
 * the file is made if missing (mode 0600), else a missing file is
 * G_IO_ERROR_NOT_FOUND. A lock held elsewhere is G_IO_ERROR_BUSY. Returns the
 * locked fd (close it to unlock), or -1. */
gint sbx_qcow2_store_lock(const gchar *dir, const gchar *id, gint operation, gboolean create,
			  GError **error);
/* unlinks <dir>/<id>.lock while @fd holds it exclusively, then closes @fd */
void sbx_qcow2_store_lock_remove(const gchar *dir, const gchar *id, gint fd);

G_END_DECLS
