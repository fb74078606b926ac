/* the Manager1 object: creates, finds and tears down sandboxes.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "sbx-config.h"
#include "sbx-hypervisor-backend.h"
#include "sbx-volume-manager.h"

G_BEGIN_DECLS

#define SBX_OBJECT_MANAGER_PATH "/org/sandboxd"
#define SBX_MANAGER_PATH "/org/sandboxd/Manager1"
#define SBX_BUS_NAME "org.sandboxd"

#define SBX_TYPE_MANAGER (sbx_manager_get_type())
G_DECLARE_FINAL_TYPE(SbxManager, sbx_manager, SBX, MANAGER, GObject)

SbxManager *sbx_manager_new(SbxConfig *config, SbxHypervisorBackend *backend,
			    const gchar *runtime_dir);
/* volumes and the "volumes" CreateSandbox option; call before export */
void sbx_manager_set_volume_manager(SbxManager *self, SbxVolumeManager *volumes);
SbxVolumeManager *sbx_manager_get_volume_manager(SbxManager *self);
/* exports /org/sandboxd (object manager) and the Manager1 object */
void sbx_manager_export(SbxManager *self, GDBusConnection *connection);
guint sbx_manager_get_n_sandboxes(SbxManager *self);

/* refuses new sandboxes and destroys every sandbox; completes when all are gone */
void sbx_manager_shutdown_async(SbxManager *self, GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_manager_shutdown_finish(SbxManager *self, GAsyncResult *res, GError **error);

G_END_DECLS
