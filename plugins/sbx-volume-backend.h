/* sandboxd plugin SDK: the volume backend base class.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "sbx-config-key.h"

G_BEGIN_DECLS

/**
 * SbxDiskSourceKind:
 * @SBX_DISK_SOURCE_FILE: a local image file
 * @SBX_DISK_SOURCE_RBD: a Ceph RBD image
 */
typedef enum {
	SBX_DISK_SOURCE_FILE = 1,
	SBX_DISK_SOURCE_RBD = 2,
} SbxDiskSourceKind;

/**
 * SbxDiskSource:
 * @kind: where the bytes are
 * @path: for %SBX_DISK_SOURCE_FILE, the absolute image path
 * @format: for %SBX_DISK_SOURCE_FILE, "qcow2" or "raw"
 * @pool: for %SBX_DISK_SOURCE_RBD, the pool
 * @image: for %SBX_DISK_SOURCE_RBD, the image name
 * @monitors: for %SBX_DISK_SOURCE_RBD, "host:port" strings, %NULL-terminated
 * @auth_user: for %SBX_DISK_SOURCE_RBD, the cephx client id (without "client.")
 * @auth_key: for %SBX_DISK_SOURCE_RBD, the base64 cephx key
 * @read_only: attach read-only
 *
 * What a volume backend hands a hypervisor backend: enough to attach the
 * disk, with no knowledge of the volume backend itself.
 */
typedef struct {
	SbxDiskSourceKind kind;
	gchar *path;
	gchar *format;
	gchar *pool;
	gchar *image;
	gchar **monitors;
	gchar *auth_user;
	gchar *auth_key;
	gboolean read_only;
} SbxDiskSource;

SbxDiskSource *sbx_disk_source_new(SbxDiskSourceKind kind);
void sbx_disk_source_free(SbxDiskSource *source);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxDiskSource, sbx_disk_source_free)

#define SBX_TYPE_VOLUME_BACKEND (sbx_volume_backend_get_type())
G_DECLARE_DERIVABLE_TYPE(SbxVolumeBackend, sbx_volume_backend, SBX, VOLUME_BACKEND, GObject)

/**
 * SbxVolumeBackendClass:
 * @config_keys: keys of the backend's config section, %NULL-name terminated
 * @configure: reads the backend's config section; must not block
 * @create_volume_async: creates an empty volume @id of @capacity bytes
 * @create_volume_finish: finishes @create_volume_async
 * @delete_volume_async: deletes volume @id and everything stored for it
 * @delete_volume_finish: finishes @delete_volume_async
 * @resize_volume_async: grows volume @id to @capacity bytes
 * @resize_volume_finish: finishes @resize_volume_async
 * @snapshot_volume_async: makes read-only snapshot @snapshot_id of volume @id
 * @snapshot_volume_finish: finishes @snapshot_volume_async
 * @get_disk_source: how to attach volume @id
 *
 * Unimplemented vfuncs fail with %G_IO_ERROR_NOT_SUPPORTED. Blocking work
 * (librbd, qemu-img) runs off the main loop.
 */
struct _SbxVolumeBackendClass {
	GObjectClass parent_class;

	const SbxConfigKey *config_keys;

	gboolean (*configure)(SbxVolumeBackend *self, GKeyFile *config, const gchar *group,
			      GError **error);
	void (*create_volume_async)(SbxVolumeBackend *self, const gchar *id, guint64 capacity,
				    GCancellable *cancellable, GAsyncReadyCallback callback,
				    gpointer user_data);
	gboolean (*create_volume_finish)(SbxVolumeBackend *self, GAsyncResult *res,
					 GError **error);
	void (*delete_volume_async)(SbxVolumeBackend *self, const gchar *id,
				    GCancellable *cancellable, GAsyncReadyCallback callback,
				    gpointer user_data);
	gboolean (*delete_volume_finish)(SbxVolumeBackend *self, GAsyncResult *res,
					 GError **error);
	void (*resize_volume_async)(SbxVolumeBackend *self, const gchar *id, guint64 capacity,
				    GCancellable *cancellable, GAsyncReadyCallback callback,
				    gpointer user_data);
	gboolean (*resize_volume_finish)(SbxVolumeBackend *self, GAsyncResult *res,
					 GError **error);
	void (*snapshot_volume_async)(SbxVolumeBackend *self, const gchar *id,
				      const gchar *snapshot_id, GCancellable *cancellable,
				      GAsyncReadyCallback callback, gpointer user_data);
	gboolean (*snapshot_volume_finish)(SbxVolumeBackend *self, GAsyncResult *res,
					   GError **error);
	SbxDiskSource *(*get_disk_source)(SbxVolumeBackend *self, const gchar *id,
					  gboolean read_only, GError **error);

	/*< private >*/
	gpointer padding[16];
};

gboolean sbx_volume_backend_configure(SbxVolumeBackend *self, GKeyFile *config,
				      const gchar *group, GError **error);
void sbx_volume_backend_create_volume_async(SbxVolumeBackend *self, const gchar *id,
					    guint64 capacity, GCancellable *cancellable,
					    GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_volume_backend_create_volume_finish(SbxVolumeBackend *self, GAsyncResult *res,
						 GError **error);
void sbx_volume_backend_delete_volume_async(SbxVolumeBackend *self, const gchar *id,
					    GCancellable *cancellable,
					    GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_volume_backend_delete_volume_finish(SbxVolumeBackend *self, GAsyncResult *res,
						 GError **error);
void sbx_volume_backend_resize_volume_async(SbxVolumeBackend *self, const gchar *id,
					    guint64 capacity, GCancellable *cancellable,
					    GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_volume_backend_resize_volume_finish(SbxVolumeBackend *self, GAsyncResult *res,
						 GError **error);
void sbx_volume_backend_snapshot_volume_async(SbxVolumeBackend *self, const gchar *id,
					      const gchar *snapshot_id,
					      GCancellable *cancellable,
					      GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_volume_backend_snapshot_volume_finish(SbxVolumeBackend *self, GAsyncResult *res,
						   GError **error);
SbxDiskSource *sbx_volume_backend_get_disk_source(SbxVolumeBackend *self, const gchar *id,
						  gboolean read_only, GError **error);
const SbxConfigKey *sbx_volume_backend_get_config_keys(SbxVolumeBackend *self);

G_END_DECLS
