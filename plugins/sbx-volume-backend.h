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
 *
 * Since: 1
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
 *
 * Since: 1
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

/**
 * SbxVolumeKind:
 * @SBX_VOLUME_KIND_VOLUME: a writable volume that can be attached
 * @SBX_VOLUME_KIND_SNAPSHOT: an immutable snapshot; new volumes are made from it
 *
 * Since: 1
 */
typedef enum {
	SBX_VOLUME_KIND_VOLUME = 1,
	SBX_VOLUME_KIND_SNAPSHOT = 2,
} SbxVolumeKind;

/**
 * SBX_VOLUME_USED_UNKNOWN:
 *
 * #SbxVolumeInfo.used when the backend cannot tell cheaply.
 *
 * Since: 1
 */
#define SBX_VOLUME_USED_UNKNOWN G_MAXUINT64

/**
 * SBX_VOLUME_ID_MAX:
 *
 * Longest volume or snapshot id backends accept, in bytes. Ids are 1 to this
 * many of `A-Z a-z 0-9 - _`, not starting with `-` (see
 * sbx_volume_id_is_valid()); the core makes them, names are its business.
 *
 * Since: 1
 */
#define SBX_VOLUME_ID_MAX 64

/**
 * SBX_VOLUME_ATTRIBUTES_MAX:
 *
 * Most attributes a volume can carry; keys are 1-64 of `a-z 0-9 . _ -`,
 * values valid UTF-8 of at most 4096 bytes (see sbx_volume_attributes_check()).
 *
 * Since: 1
 */
#define SBX_VOLUME_ATTRIBUTES_MAX 64
#define SBX_VOLUME_ATTRIBUTE_KEY_MAX 64
#define SBX_VOLUME_ATTRIBUTE_VALUE_MAX 4096

/**
 * SbxVolumeInfo:
 * @id: the volume or snapshot id
 * @kind: volume or snapshot
 * @capacity: size of the disk in bytes
 * @used: bytes stored, or %SBX_VOLUME_USED_UNKNOWN
 * @created: creation time, microseconds since the epoch (UTC)
 * @parent: for a volume made with create_volume_from_snapshot, the snapshot;
 *   for a snapshot, the volume it was taken of (which may since be deleted);
 *   otherwise %NULL
 * @attributes: string -> string, what the core stored with set_attributes
 *   (name, owner, labels, ...); never %NULL
 *
 * What a backend knows about one of its volumes or snapshots. Everything in
 * here is kept by the backend itself (next to the image, or in the cluster),
 * so a restarted daemon finds it again with list_volumes.
 *
 * Since: 1
 */
typedef struct {
	gchar *id;
	SbxVolumeKind kind;
	guint64 capacity;
	guint64 used;
	gint64 created;
	gchar *parent;
	GHashTable *attributes;
} SbxVolumeInfo;

SbxVolumeInfo *sbx_volume_info_new(const gchar *id, SbxVolumeKind kind);
void sbx_volume_info_free(SbxVolumeInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxVolumeInfo, sbx_volume_info_free)

gboolean sbx_volume_id_is_valid(const gchar *id);
gboolean sbx_volume_attributes_check(GHashTable *attributes, GError **error);

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
 * @get_disk_source: how to attach volume @id, and takes its attachment lock:
 *   with @read_only %FALSE an exclusive one, with @read_only %TRUE a shared one,
 *   failing with %G_IO_ERROR_BUSY when it conflicts with a lock already held
 *   (so two sandboxes never open a volume read-write at once, and no reader
 *   sees a volume that is being written). Every successful call is paired with
 *   one @release_disk_source with the same @read_only. Must not block.
 * @create_volume_from_snapshot_async: creates volume @id holding the data of
 *   snapshot @snapshot_id, copy-on-write where the backend can; @capacity 0
 *   keeps the snapshot's size, a larger one grows it, a smaller one fails with
 *   %G_IO_ERROR_INVALID_ARGUMENT
 * @create_volume_from_snapshot_finish: finishes @create_volume_from_snapshot_async
 * @delete_snapshot_async: deletes snapshot @snapshot_id; fails with
 *   %G_IO_ERROR_BUSY while volumes created from it exist
 * @delete_snapshot_finish: finishes @delete_snapshot_async
 * @get_info_async: what the backend knows about volume or snapshot @id
 * @get_info_finish: finishes @get_info_async, returns a #SbxVolumeInfo
 * @list_volumes_async: every volume and snapshot of this backend (and only
 *   those: marked as made by sandboxd), for a restarted daemon
 * @list_volumes_finish: finishes @list_volumes_async, returns a #GPtrArray of
 *   #SbxVolumeInfo
 * @set_attributes_async: replaces the attributes stored with volume or
 *   snapshot @id (checked with sbx_volume_attributes_check())
 * @set_attributes_finish: finishes @set_attributes_async
 * @release_disk_source: drops one attachment lock taken by @get_disk_source;
 *   call it once the hypervisor has closed the disk. Must not block.
 *
 * Unimplemented vfuncs fail with %G_IO_ERROR_NOT_SUPPORTED. Blocking work
 * (librbd, qemu-img) runs off the main loop.
 *
 * Errors are in %G_IO_ERROR and name the volume: %G_IO_ERROR_NOT_FOUND for an
 * unknown id (or an id of the other kind), %G_IO_ERROR_EXISTS for a duplicate,
 * %G_IO_ERROR_INVALID_ARGUMENT for a bad id or a shrink,
 * %G_IO_ERROR_BUSY for a volume that is attached (delete, resize, snapshot of a
 * volume whose lock is held read-write) or a snapshot with dependent volumes,
 * %G_IO_ERROR_TIMED_OUT when the storage cannot be reached in time.
 *
 * Snapshots are independent of the volume they were taken of: deleting that
 * volume keeps its snapshots (and volumes made from them) working.
 *
 * Since: 1
 */
struct _SbxVolumeBackendClass {
	GObjectClass parent_class;

	const SbxConfigKey *config_keys;

	gboolean (*configure)(SbxVolumeBackend *self, GKeyFile *config, const gchar *group,
			      GError **error);
	void (*create_volume_async)(SbxVolumeBackend *self, const gchar *id, guint64 capacity,
				    GCancellable *cancellable, GAsyncReadyCallback callback,
				    gpointer user_data);
	gboolean (*create_volume_finish)(SbxVolumeBackend *self, GAsyncResult *res, GError **error);
	void (*delete_volume_async)(SbxVolumeBackend *self, const gchar *id,
				    GCancellable *cancellable, GAsyncReadyCallback callback,
				    gpointer user_data);
	gboolean (*delete_volume_finish)(SbxVolumeBackend *self, GAsyncResult *res, GError **error);
	void (*resize_volume_async)(SbxVolumeBackend *self, const gchar *id, guint64 capacity,
				    GCancellable *cancellable, GAsyncReadyCallback callback,
				    gpointer user_data);
	gboolean (*resize_volume_finish)(SbxVolumeBackend *self, GAsyncResult *res, GError **error);
	void (*snapshot_volume_async)(SbxVolumeBackend *self, const gchar *id,
				      const gchar *snapshot_id, GCancellable *cancellable,
				      GAsyncReadyCallback callback, gpointer user_data);
	gboolean (*snapshot_volume_finish)(SbxVolumeBackend *self, GAsyncResult *res,
					   GError **error);
	SbxDiskSource *(*get_disk_source)(SbxVolumeBackend *self, const gchar *id,
					  gboolean read_only, GError **error);

	/* added after the first release, at the end to keep the layout */
	void (*create_volume_from_snapshot_async)(SbxVolumeBackend *self, const gchar *id,
						  const gchar *snapshot_id, guint64 capacity,
						  GCancellable *cancellable,
						  GAsyncReadyCallback callback, gpointer user_data);
	gboolean (*create_volume_from_snapshot_finish)(SbxVolumeBackend *self, GAsyncResult *res,
						       GError **error);
	void (*delete_snapshot_async)(SbxVolumeBackend *self, const gchar *snapshot_id,
				      GCancellable *cancellable, GAsyncReadyCallback callback,
				      gpointer user_data);
	gboolean (*delete_snapshot_finish)(SbxVolumeBackend *self, GAsyncResult *res,
					   GError **error);
	void (*get_info_async)(SbxVolumeBackend *self, const gchar *id, GCancellable *cancellable,
			       GAsyncReadyCallback callback, gpointer user_data);
	SbxVolumeInfo *(*get_info_finish)(SbxVolumeBackend *self, GAsyncResult *res,
					  GError **error);
	void (*list_volumes_async)(SbxVolumeBackend *self, GCancellable *cancellable,
				   GAsyncReadyCallback callback, gpointer user_data);
	GPtrArray *(*list_volumes_finish)(SbxVolumeBackend *self, GAsyncResult *res,
					  GError **error);
	void (*set_attributes_async)(SbxVolumeBackend *self, const gchar *id,
				     GHashTable *attributes, GCancellable *cancellable,
				     GAsyncReadyCallback callback, gpointer user_data);
	gboolean (*set_attributes_finish)(SbxVolumeBackend *self, GAsyncResult *res,
					  GError **error);
	void (*release_disk_source)(SbxVolumeBackend *self, const gchar *id, gboolean read_only);

	/*< private >*/
	gpointer padding[5];
};

gboolean sbx_volume_backend_configure(SbxVolumeBackend *self, GKeyFile *config, const gchar *group,
				      GError **error);
void sbx_volume_backend_create_volume_async(SbxVolumeBackend *self, const gchar *id,
					    guint64 capacity, GCancellable *cancellable,
					    GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_volume_backend_create_volume_finish(SbxVolumeBackend *self, GAsyncResult *res,
						 GError **error);
void sbx_volume_backend_delete_volume_async(SbxVolumeBackend *self, const gchar *id,
					    GCancellable *cancellable, GAsyncReadyCallback callback,
					    gpointer user_data);
gboolean sbx_volume_backend_delete_volume_finish(SbxVolumeBackend *self, GAsyncResult *res,
						 GError **error);
void sbx_volume_backend_resize_volume_async(SbxVolumeBackend *self, const gchar *id,
					    guint64 capacity, GCancellable *cancellable,
					    GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_volume_backend_resize_volume_finish(SbxVolumeBackend *self, GAsyncResult *res,
						 GError **error);
void sbx_volume_backend_snapshot_volume_async(SbxVolumeBackend *self, const gchar *id,
					      const gchar *snapshot_id, GCancellable *cancellable,
					      GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_volume_backend_snapshot_volume_finish(SbxVolumeBackend *self, GAsyncResult *res,
						   GError **error);
SbxDiskSource *sbx_volume_backend_get_disk_source(SbxVolumeBackend *self, const gchar *id,
						  gboolean read_only, GError **error);
void sbx_volume_backend_release_disk_source(SbxVolumeBackend *self, const gchar *id,
					    gboolean read_only);
void sbx_volume_backend_create_volume_from_snapshot_async(
    SbxVolumeBackend *self, const gchar *id, const gchar *snapshot_id, guint64 capacity,
    GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_volume_backend_create_volume_from_snapshot_finish(SbxVolumeBackend *self,
							       GAsyncResult *res, GError **error);
void sbx_volume_backend_delete_snapshot_async(SbxVolumeBackend *self, const gchar *snapshot_id,
					      GCancellable *cancellable,
					      GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_volume_backend_delete_snapshot_finish(SbxVolumeBackend *self, GAsyncResult *res,
						   GError **error);
void sbx_volume_backend_get_info_async(SbxVolumeBackend *self, const gchar *id,
				       GCancellable *cancellable, GAsyncReadyCallback callback,
				       gpointer user_data);
SbxVolumeInfo *sbx_volume_backend_get_info_finish(SbxVolumeBackend *self, GAsyncResult *res,
						  GError **error);
void sbx_volume_backend_list_volumes_async(SbxVolumeBackend *self, GCancellable *cancellable,
					   GAsyncReadyCallback callback, gpointer user_data);
GPtrArray *sbx_volume_backend_list_volumes_finish(SbxVolumeBackend *self, GAsyncResult *res,
						  GError **error);
void sbx_volume_backend_set_attributes_async(SbxVolumeBackend *self, const gchar *id,
					     GHashTable *attributes, GCancellable *cancellable,
					     GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_volume_backend_set_attributes_finish(SbxVolumeBackend *self, GAsyncResult *res,
						  GError **error);
const SbxConfigKey *sbx_volume_backend_get_config_keys(SbxVolumeBackend *self);

G_END_DECLS
