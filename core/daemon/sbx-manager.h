/* the Manager1 object: creates, finds and tears down sandboxes.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "sbx-config.h"
#include "sbx-dbus-generated.h"
#include "sbx-hypervisor-backend.h"
#include "sbx-plugin-loader.h"
#include "sbx-sandbox.h"
#include "sbx-state-store.h"
#include "sbx-token-store.h"
#include "sbx-volume-manager.h"

G_BEGIN_DECLS

#define SBX_OBJECT_MANAGER_PATH "/org/sandboxd"
#define SBX_MANAGER_PATH "/org/sandboxd/Manager1"
#define SBX_BUS_NAME "org.sandboxd"

#define SBX_TYPE_MANAGER (sbx_manager_get_type())
G_DECLARE_FINAL_TYPE(SbxManager, sbx_manager, SBX, MANAGER, GObject)

void sbx_manager_set_snapshot_dir(SbxManager *self, const gchar *dir);
/* the pool of restored VMs (SbxPool, [daemon] PoolSize), or NULL */
gpointer sbx_manager_get_pool(SbxManager *self);
SbxManager *sbx_manager_new(SbxConfig *config, SbxHypervisorBackend *backend,
			    const gchar *runtime_dir);
/* volumes and the "volumes" CreateSandbox option; call before export */
void sbx_manager_set_volume_manager(SbxManager *self, SbxVolumeManager *volumes);
SbxVolumeManager *sbx_manager_get_volume_manager(SbxManager *self);
/* the regions (SbxRegion, from sbx_region_setup_all(); the one whose backend
 * was given to sbx_manager_new() among them); call before export */
void sbx_manager_set_regions(SbxManager *self, GPtrArray *regions, const gchar *default_region);
const gchar *sbx_manager_get_default_region(SbxManager *self);
/* the regions given to sbx_manager_set_regions(), or NULL */
GPtrArray *sbx_manager_get_regions(SbxManager *self);
/* NULL for an unknown region; @name NULL: the default region */
SbxHypervisorBackend *sbx_manager_get_region_backend(SbxManager *self, const gchar *name);
/* the plugin name of a region's backend, or NULL; @name NULL: the default region */
const gchar *sbx_manager_get_region_backend_name(SbxManager *self, const gchar *name);
/* a loaded backend by its plugin name (a region's, or one recovery loaded), or NULL */
SbxHypervisorBackend *sbx_manager_find_backend(SbxManager *self, const gchar *backend_name);
/* keeps a backend no region uses (recovery adopted a sandbox it runs) and
 * watches its VMs; a name already known is ignored */
void sbx_manager_add_backend(SbxManager *self, const gchar *backend_name,
			     SbxHypervisorBackend *backend);
/* the plugins, for recovery to load the backend of a record no region uses */
void sbx_manager_set_plugin_loader(SbxManager *self, SbxPluginLoader *loader);
SbxPluginLoader *sbx_manager_get_plugin_loader(SbxManager *self);
/* exports /org/sandboxd (object manager) and the Manager1 object */
void sbx_manager_export(SbxManager *self, GDBusConnection *connection);
guint sbx_manager_get_n_sandboxes(SbxManager *self);

/* durability: sandboxes keep their records in @store; call before export */
void sbx_manager_set_state_store(SbxManager *self, SbxStateStore *store, const gchar *backend_name);
/* sbx-manager-recover.c: re-adopts duration sandboxes whose VM survived a restart,
 * destroys session ones and orphans; call before taking the bus name */
void sbx_manager_recover_async(SbxManager *self, GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_manager_recover_finish(SbxManager *self, GAsyncResult *res, GError **error);
/* sbx-manager-status.c: Manager1.GetStatus */
GVariant *sbx_manager_status_build(SbxManager *self);

/* tenants' tokens (Create/List/RevokeToken, OpenSandbox, "tenant-token");
 * call before export */
void sbx_manager_set_token_store(SbxManager *self, SbxTokenStore *tokens);
SbxTokenStore *sbx_manager_get_token_store(SbxManager *self);
/* sbx-manager-tenants.c: the token methods on @iface */
void sbx_manager_tenants_connect(SbxManager *self, SbxDBusManager1 *iface);
/* the owner of @token, for a caller allowed to act for tenants; otherwise
 * AccessDenied, or InvalidToken for an unknown or revoked token */
gboolean sbx_manager_tenants_resolve(SbxManager *self, GDBusMethodInvocation *invocation,
				     const gchar *token, guint *uid, GError **error);

/* for sbx-manager-recover.c, sbx-manager-status.c and sbx-manager-tenants.c */
SbxSandbox *sbx_manager_lookup_sandbox(SbxManager *self, const gchar *id);
SbxConfig *sbx_manager_get_config(SbxManager *self);
SbxHypervisorBackend *sbx_manager_get_backend(SbxManager *self);
const gchar *sbx_manager_get_runtime_dir(SbxManager *self);
SbxStateStore *sbx_manager_get_state_store(SbxManager *self);
const gchar *sbx_manager_get_backend_name(SbxManager *self);
/* tracks a re-adopted sandbox (running) and exports it */
void sbx_manager_add_adopted(SbxManager *self, SbxSandbox *sandbox);
/* live sandboxes, then crashed ones still kept */
GPtrArray *sbx_manager_list_all(SbxManager *self);
guint sbx_manager_get_n_adopted(SbxManager *self);
gint64 sbx_manager_get_started_at(SbxManager *self);

/* refuses new sandboxes and destroys every sandbox; completes when all are gone */
void sbx_manager_shutdown_async(SbxManager *self, GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_manager_shutdown_finish(SbxManager *self, GAsyncResult *res, GError **error);

G_END_DECLS
