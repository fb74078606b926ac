/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* a blocking QMP client, for worker threads only */
typedef struct _SbxQemuQmp SbxQemuQmp;

SbxQemuQmp *sbx_qemu_qmp_connect(const gchar *path, guint timeout_ms, GCancellable *cancellable,
				 GError **error);
void sbx_qemu_qmp_free(SbxQemuQmp *qmp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxQemuQmp, sbx_qemu_qmp_free)

JsonNode *sbx_qemu_qmp_execute(SbxQemuQmp *qmp, const gchar *command, JsonNode *arguments,
			       GError **error);
gboolean sbx_qemu_qmp_simple(SbxQemuQmp *qmp, const gchar *command, GError **error);
gchar *sbx_qemu_qmp_query_status(SbxQemuQmp *qmp, GError **error);
gboolean sbx_qemu_qmp_set_ignore_shared(SbxQemuQmp *qmp, GError **error);

G_END_DECLS
