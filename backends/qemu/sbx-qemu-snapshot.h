/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define SBX_QEMU_SNAPSHOT_MEMORY "memory"
#define SBX_QEMU_SNAPSHOT_STATE "state"
#define SBX_QEMU_SNAPSHOT_DISK "root.qcow2"

gint sbx_qemu_snapshot_memfd_new(const gchar *snapshot_dir, guint64 size, GError **error);
gboolean sbx_qemu_snapshot_seal(const gchar *snapshot_dir, GError **error);

G_END_DECLS
