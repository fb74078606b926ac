/* the daemon's volumes: every volume backend's volumes, their names, owners and
 * attachments, and the Manager1 volume methods.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "sbx-token-store.h"

#include "sbx-config.h"
#include "sbx-vm-spec.h"
#include "sbx-volume.h"

G_BEGIN_DECLS

#define SBX_VOLUME_ATTACH_MAX 8
#define SBX_VOLUME_MOUNT_PATH_MAX 100

#define SBX_TYPE_VOLUME_MANAGER (sbx_volume_manager_get_type())
G_DECLARE_FINAL_TYPE(SbxVolumeManager, sbx_volume_manager, SBX, VOLUME_MANAGER, GObject)

SbxVolumeManager *sbx_volume_manager_new(SbxConfig *config);
void sbx_volume_manager_add_backend(SbxVolumeManager *self, const gchar *name,
				    SbxVolumeBackend *backend);
guint sbx_volume_manager_get_n_backends(SbxVolumeManager *self);
/* volumes are exported on (and unexported from) @object_manager */
void sbx_volume_manager_set_object_manager(SbxVolumeManager *self,
					   GDBusObjectManagerServer *object_manager);

/* lists every backend's volumes and exports them; a backend that fails is
 * logged and skipped (its volumes appear once it answers, at the next start) */
void sbx_volume_ops_load_async(SbxVolumeManager *self, GAsyncReadyCallback callback,
			       gpointer user_data);
gboolean sbx_volume_ops_load_finish(SbxVolumeManager *self, GAsyncResult *res, GError **error);

/* one of @uid's volumes by id or name; NotFound otherwise */
SbxVolume *sbx_volume_manager_lookup(SbxVolumeManager *self, guint uid, const gchar *id_or_name,
				     GError **error);
/* the tokens "tenant-token" and OpenVolume are checked against */
void sbx_volume_manager_set_token_store(SbxVolumeManager *self, SbxTokenStore *tokens);
/* object paths (sorted, NULL-terminated) of @uid's volumes matching @filter (a{sv}) */
gchar **sbx_volume_manager_list(SbxVolumeManager *self, guint uid, GVariant *filter,
				GError **error);

void sbx_volume_ops_create_async(SbxVolumeManager *self, guint uid, const gchar *name,
				 GVariant *options, GAsyncReadyCallback callback,
				 gpointer user_data);
SbxVolume *sbx_volume_ops_create_finish(SbxVolumeManager *self, GAsyncResult *res, GError **error);
void sbx_volume_ops_delete_async(SbxVolumeManager *self, SbxVolume *volume,
				 GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_volume_ops_delete_finish(SbxVolumeManager *self, GAsyncResult *res, GError **error);
void sbx_volume_ops_resize_async(SbxVolumeManager *self, SbxVolume *volume, guint64 capacity,
				 GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_volume_ops_resize_finish(SbxVolumeManager *self, GAsyncResult *res, GError **error);
void sbx_volume_ops_snapshot_async(SbxVolumeManager *self, SbxVolume *volume, const gchar *name,
				   GVariant *options, GAsyncReadyCallback callback,
				   gpointer user_data);
SbxVolume *sbx_volume_ops_snapshot_finish(SbxVolumeManager *self, GAsyncResult *res,
					  GError **error);

/* CreateSandbox's "volumes" option (a{sv}: path -> "REF" or "REF:ro"|"REF:rw"),
 * checked without looking anything up; returns SbxVolumeRequest */
typedef struct {
	gchar *mount_path;
	gchar *ref;
	gboolean read_only;
} SbxVolumeRequest;
GPtrArray *sbx_volume_manager_parse_requests(GVariant *value, GError **error);
void sbx_volume_manager_request_free(SbxVolumeRequest *req);

/* resolves @requests for @uid, takes every attachment lock (all or none) and
 * returns the disks (SbxVmDisk) for the VM spec; @first_dev is the first
 * virtio letter ('a' or 'b') */
GPtrArray *sbx_volume_manager_attach(SbxVolumeManager *self, guint uid, const gchar *sandbox_id,
				     GPtrArray *requests, gchar first_dev, GError **error);
/* releases what attach took for @sandbox_id, once its VM is gone */
void sbx_volume_manager_detach(SbxVolumeManager *self, const gchar *sandbox_id);

/* "sbx.vol=SERIAL:PATH:rw,..." for the guest agent, or NULL without disks */
gchar *sbx_volume_manager_disks_to_cmdline(GPtrArray *disks);

/* a backend's G_IO_ERROR as an org.sandboxd.Error */
GError *sbx_volume_manager_error_from_backend(const GError *error, const gchar *what);

G_END_DECLS
