/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "sbx-volume-backend.h"

/**
 * sbx_volume_id_is_valid:
 * @id: (nullable): a volume or snapshot id
 *
 * Returns: whether @id is 1 to %SBX_VOLUME_ID_MAX of `A-Z a-z 0-9 - _` and
 *   does not start with `-`; safe as a file name and an RBD image name
 *
 * Since: 1
 */
gboolean
sbx_volume_id_is_valid(const gchar *id)
{
	gsize len;

	if (id == NULL || id[0] == '-')
		return FALSE;
	len = strnlen(id, SBX_VOLUME_ID_MAX + 1);
	if (len == 0 || len > SBX_VOLUME_ID_MAX)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isalnum(id[i]) && id[i] != '-' && id[i] != '_')
			return FALSE;
	}
	return TRUE;
}

static gboolean
attribute_key_is_valid(const gchar *key)
{
	gsize len = strnlen(key, SBX_VOLUME_ATTRIBUTE_KEY_MAX + 1);

	if (len == 0 || len > SBX_VOLUME_ATTRIBUTE_KEY_MAX)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_islower(key[i]) && !g_ascii_isdigit(key[i]) && key[i] != '.' &&
		    key[i] != '_' && key[i] != '-')
			return FALSE;
	}
	return TRUE;
}

/**
 * sbx_volume_attributes_check:
 * @attributes: (nullable): string -> string
 * @error: return location for a %G_IO_ERROR_INVALID_ARGUMENT
 *
 * Checks the bounds every backend stores: at most %SBX_VOLUME_ATTRIBUTES_MAX
 * entries, keys of 1-64 `a-z 0-9 . _ -`, values UTF-8 up to
 * %SBX_VOLUME_ATTRIBUTE_VALUE_MAX bytes.
 *
 * Returns: %TRUE if @attributes can be stored
 *
 * Since: 1
 */
gboolean
sbx_volume_attributes_check(GHashTable *attributes, GError **error)
{
	GHashTableIter iter;
	gpointer key, value;

	if (attributes == NULL)
		return TRUE;
	if (g_hash_table_size(attributes) > SBX_VOLUME_ATTRIBUTES_MAX) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "too many attributes (%u, at most %u)", g_hash_table_size(attributes),
			    (guint)SBX_VOLUME_ATTRIBUTES_MAX);
		return FALSE;
	}
	g_hash_table_iter_init(&iter, attributes);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		if (key == NULL || !attribute_key_is_valid(key)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "invalid attribute name (1-%u of a-z 0-9 . _ -)",
				    (guint)SBX_VOLUME_ATTRIBUTE_KEY_MAX);
			return FALSE;
		}
		if (value == NULL ||
		    strnlen(value, SBX_VOLUME_ATTRIBUTE_VALUE_MAX + 1) >
			SBX_VOLUME_ATTRIBUTE_VALUE_MAX ||
		    !g_utf8_validate(value, -1, NULL)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "attribute %s: value must be UTF-8 of at most %u bytes",
				    (const gchar *)key, (guint)SBX_VOLUME_ATTRIBUTE_VALUE_MAX);
			return FALSE;
		}
	}
	return TRUE;
}

G_DEFINE_ABSTRACT_TYPE(SbxVolumeBackend, sbx_volume_backend, G_TYPE_OBJECT)

static gboolean
default_configure(SbxVolumeBackend *self, GKeyFile *config, const gchar *group, GError **error)
{
	return TRUE;
}

static void
report_not_supported(SbxVolumeBackend *self, GAsyncReadyCallback callback, gpointer user_data)
{
	g_task_report_new_error(self, callback, user_data, report_not_supported, G_IO_ERROR,
				G_IO_ERROR_NOT_SUPPORTED, "%s does not support this operation",
				G_OBJECT_TYPE_NAME(self));
}

static void
default_sized_async(SbxVolumeBackend *self, const gchar *id, guint64 capacity,
		    GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
	report_not_supported(self, callback, user_data);
}

static void
default_delete_async(SbxVolumeBackend *self, const gchar *id, GCancellable *cancellable,
		     GAsyncReadyCallback callback, gpointer user_data)
{
	report_not_supported(self, callback, user_data);
}

static void
default_snapshot_async(SbxVolumeBackend *self, const gchar *id, const gchar *snapshot_id,
		       GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
	report_not_supported(self, callback, user_data);
}

static gboolean
default_finish(SbxVolumeBackend *self, GAsyncResult *res, GError **error)
{
	return g_task_propagate_boolean(G_TASK(res), error);
}

static SbxDiskSource *
default_get_disk_source(SbxVolumeBackend *self, const gchar *id, gboolean read_only, GError **error)
{
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "%s cannot attach volumes",
		    G_OBJECT_TYPE_NAME(self));
	return NULL;
}

static void
default_from_snapshot_async(SbxVolumeBackend *self, const gchar *id, const gchar *snapshot_id,
			    guint64 capacity, GCancellable *cancellable,
			    GAsyncReadyCallback callback, gpointer user_data)
{
	report_not_supported(self, callback, user_data);
}

static void
default_list_async(SbxVolumeBackend *self, GCancellable *cancellable, GAsyncReadyCallback callback,
		   gpointer user_data)
{
	report_not_supported(self, callback, user_data);
}

static void
default_set_attributes_async(SbxVolumeBackend *self, const gchar *id, GHashTable *attributes,
			     GCancellable *cancellable, GAsyncReadyCallback callback,
			     gpointer user_data)
{
	report_not_supported(self, callback, user_data);
}

static SbxVolumeInfo *
default_get_info_finish(SbxVolumeBackend *self, GAsyncResult *res, GError **error)
{
	return g_task_propagate_pointer(G_TASK(res), error);
}

static GPtrArray *
default_list_finish(SbxVolumeBackend *self, GAsyncResult *res, GError **error)
{
	return g_task_propagate_pointer(G_TASK(res), error);
}

static void
default_release_disk_source(SbxVolumeBackend *self, const gchar *id, gboolean read_only)
{
}

static void
sbx_volume_backend_class_init(SbxVolumeBackendClass *klass)
{
	klass->create_volume_from_snapshot_async = default_from_snapshot_async;
	klass->create_volume_from_snapshot_finish = default_finish;
	klass->delete_snapshot_async = default_delete_async;
	klass->delete_snapshot_finish = default_finish;
	klass->get_info_async = default_delete_async;
	klass->get_info_finish = default_get_info_finish;
	klass->list_volumes_async = default_list_async;
	klass->list_volumes_finish = default_list_finish;
	klass->set_attributes_async = default_set_attributes_async;
	klass->set_attributes_finish = default_finish;
	klass->release_disk_source = default_release_disk_source;
	klass->configure = default_configure;
	klass->create_volume_async = default_sized_async;
	klass->create_volume_finish = default_finish;
	klass->delete_volume_async = default_delete_async;
	klass->delete_volume_finish = default_finish;
	klass->resize_volume_async = default_sized_async;
	klass->resize_volume_finish = default_finish;
	klass->snapshot_volume_async = default_snapshot_async;
	klass->snapshot_volume_finish = default_finish;
	klass->get_disk_source = default_get_disk_source;
}

static void
sbx_volume_backend_init(SbxVolumeBackend *self)
{
}

#define CLASS(self) SBX_VOLUME_BACKEND_GET_CLASS(self)

/**
 * sbx_volume_backend_configure:
 * @self: a #SbxVolumeBackend
 *
 * Runs the class's @configure (see #SbxVolumeBackendClass).
 *
 * Returns: %FALSE with @error set when the section is unusable
 *
 * Since: 1
 */
gboolean
sbx_volume_backend_configure(SbxVolumeBackend *self, GKeyFile *config, const gchar *group,
			     GError **error)
{
	g_return_val_if_fail(SBX_IS_VOLUME_BACKEND(self), FALSE);
	return CLASS(self)->configure(self, config, group, error);
}

/**
 * sbx_volume_backend_create_volume_async:
 * @self: a #SbxVolumeBackend
 *
 * Runs the class's @create_volume_async (see #SbxVolumeBackendClass); call
 * sbx_volume_backend_create_volume_finish() from @callback.
 *
 * Since: 1
 */
void
sbx_volume_backend_create_volume_async(SbxVolumeBackend *self, const gchar *id, guint64 capacity,
				       GCancellable *cancellable, GAsyncReadyCallback callback,
				       gpointer user_data)
{
	g_return_if_fail(SBX_IS_VOLUME_BACKEND(self));
	CLASS(self)->create_volume_async(self, id, capacity, cancellable, callback, user_data);
}

/**
 * sbx_volume_backend_create_volume_finish:
 * @self: a #SbxVolumeBackend
 *
 * Finishes sbx_volume_backend_create_volume_async().
 *
 * Since: 1
 */
gboolean
sbx_volume_backend_create_volume_finish(SbxVolumeBackend *self, GAsyncResult *res, GError **error)
{
	return CLASS(self)->create_volume_finish(self, res, error);
}

/**
 * sbx_volume_backend_delete_volume_async:
 * @self: a #SbxVolumeBackend
 *
 * Runs the class's @delete_volume_async (see #SbxVolumeBackendClass); call
 * sbx_volume_backend_delete_volume_finish() from @callback.
 *
 * Since: 1
 */
void
sbx_volume_backend_delete_volume_async(SbxVolumeBackend *self, const gchar *id,
				       GCancellable *cancellable, GAsyncReadyCallback callback,
				       gpointer user_data)
{
	g_return_if_fail(SBX_IS_VOLUME_BACKEND(self));
	CLASS(self)->delete_volume_async(self, id, cancellable, callback, user_data);
}

/**
 * sbx_volume_backend_delete_volume_finish:
 * @self: a #SbxVolumeBackend
 *
 * Finishes sbx_volume_backend_delete_volume_async().
 *
 * Since: 1
 */
gboolean
sbx_volume_backend_delete_volume_finish(SbxVolumeBackend *self, GAsyncResult *res, GError **error)
{
	return CLASS(self)->delete_volume_finish(self, res, error);
}

/**
 * sbx_volume_backend_resize_volume_async:
 * @self: a #SbxVolumeBackend
 *
 * Runs the class's @resize_volume_async (see #SbxVolumeBackendClass); call
 * sbx_volume_backend_resize_volume_finish() from @callback.
 *
 * Since: 1
 */
void
sbx_volume_backend_resize_volume_async(SbxVolumeBackend *self, const gchar *id, guint64 capacity,
				       GCancellable *cancellable, GAsyncReadyCallback callback,
				       gpointer user_data)
{
	g_return_if_fail(SBX_IS_VOLUME_BACKEND(self));
	CLASS(self)->resize_volume_async(self, id, capacity, cancellable, callback, user_data);
}

/**
 * sbx_volume_backend_resize_volume_finish:
 * @self: a #SbxVolumeBackend
 *
 * Finishes sbx_volume_backend_resize_volume_async().
 *
 * Since: 1
 */
gboolean
sbx_volume_backend_resize_volume_finish(SbxVolumeBackend *self, GAsyncResult *res, GError **error)
{
	return CLASS(self)->resize_volume_finish(self, res, error);
}

/**
 * sbx_volume_backend_snapshot_volume_async:
 * @self: a #SbxVolumeBackend
 *
 * Runs the class's @snapshot_volume_async (see #SbxVolumeBackendClass); call
 * sbx_volume_backend_snapshot_volume_finish() from @callback.
 *
 * Since: 1
 */
void
sbx_volume_backend_snapshot_volume_async(SbxVolumeBackend *self, const gchar *id,
					 const gchar *snapshot_id, GCancellable *cancellable,
					 GAsyncReadyCallback callback, gpointer user_data)
{
	g_return_if_fail(SBX_IS_VOLUME_BACKEND(self));
	CLASS(self)->snapshot_volume_async(self, id, snapshot_id, cancellable, callback, user_data);
}

/**
 * sbx_volume_backend_snapshot_volume_finish:
 * @self: a #SbxVolumeBackend
 *
 * Finishes sbx_volume_backend_snapshot_volume_async().
 *
 * Since: 1
 */
gboolean
sbx_volume_backend_snapshot_volume_finish(SbxVolumeBackend *self, GAsyncResult *res, GError **error)
{
	return CLASS(self)->snapshot_volume_finish(self, res, error);
}

/**
 * sbx_volume_backend_get_disk_source:
 * @self: a #SbxVolumeBackend
 *
 * Runs the class's @get_disk_source (see #SbxVolumeBackendClass); never blocks.
 *
 * Since: 1
 */
SbxDiskSource *
sbx_volume_backend_get_disk_source(SbxVolumeBackend *self, const gchar *id, gboolean read_only,
				   GError **error)
{
	g_return_val_if_fail(SBX_IS_VOLUME_BACKEND(self), NULL);
	return CLASS(self)->get_disk_source(self, id, read_only, error);
}

/**
 * sbx_volume_backend_release_disk_source:
 * @self: a #SbxVolumeBackend
 * @id: the volume
 * @read_only: as given to sbx_volume_backend_get_disk_source()
 *
 * Drops one attachment lock taken by a successful
 * sbx_volume_backend_get_disk_source(), once the hypervisor closed the disk.
 *
 * Since: 1
 */
void
sbx_volume_backend_release_disk_source(SbxVolumeBackend *self, const gchar *id, gboolean read_only)
{
	g_return_if_fail(SBX_IS_VOLUME_BACKEND(self));
	CLASS(self)->release_disk_source(self, id, read_only);
}

/**
 * sbx_volume_backend_create_volume_from_snapshot_async:
 * @self: a #SbxVolumeBackend
 *
 * Runs the class's @create_volume_from_snapshot_async (see #SbxVolumeBackendClass); call
 * sbx_volume_backend_create_volume_from_snapshot_finish() from @callback.
 *
 * Since: 1
 */
void
sbx_volume_backend_create_volume_from_snapshot_async(SbxVolumeBackend *self, const gchar *id,
						     const gchar *snapshot_id, guint64 capacity,
						     GCancellable *cancellable,
						     GAsyncReadyCallback callback,
						     gpointer user_data)
{
	g_return_if_fail(SBX_IS_VOLUME_BACKEND(self));
	CLASS(self)->create_volume_from_snapshot_async(self, id, snapshot_id, capacity, cancellable,
						       callback, user_data);
}

/**
 * sbx_volume_backend_create_volume_from_snapshot_finish:
 * @self: a #SbxVolumeBackend
 *
 * Finishes sbx_volume_backend_create_volume_from_snapshot_async().
 *
 * Since: 1
 */
gboolean
sbx_volume_backend_create_volume_from_snapshot_finish(SbxVolumeBackend *self, GAsyncResult *res,
						      GError **error)
{
	return CLASS(self)->create_volume_from_snapshot_finish(self, res, error);
}

/**
 * sbx_volume_backend_delete_snapshot_async:
 * @self: a #SbxVolumeBackend
 *
 * Runs the class's @delete_snapshot_async (see #SbxVolumeBackendClass); call
 * sbx_volume_backend_delete_snapshot_finish() from @callback.
 *
 * Since: 1
 */
void
sbx_volume_backend_delete_snapshot_async(SbxVolumeBackend *self, const gchar *snapshot_id,
					 GCancellable *cancellable, GAsyncReadyCallback callback,
					 gpointer user_data)
{
	g_return_if_fail(SBX_IS_VOLUME_BACKEND(self));
	CLASS(self)->delete_snapshot_async(self, snapshot_id, cancellable, callback, user_data);
}

/**
 * sbx_volume_backend_delete_snapshot_finish:
 * @self: a #SbxVolumeBackend
 *
 * Finishes sbx_volume_backend_delete_snapshot_async().
 *
 * Since: 1
 */
gboolean
sbx_volume_backend_delete_snapshot_finish(SbxVolumeBackend *self, GAsyncResult *res, GError **error)
{
	return CLASS(self)->delete_snapshot_finish(self, res, error);
}

/**
 * sbx_volume_backend_get_info_async:
 * @self: a #SbxVolumeBackend
 *
 * Runs the class's @get_info_async (see #SbxVolumeBackendClass); call
 * sbx_volume_backend_get_info_finish() from @callback.
 *
 * Since: 1
 */
void
sbx_volume_backend_get_info_async(SbxVolumeBackend *self, const gchar *id,
				  GCancellable *cancellable, GAsyncReadyCallback callback,
				  gpointer user_data)
{
	g_return_if_fail(SBX_IS_VOLUME_BACKEND(self));
	CLASS(self)->get_info_async(self, id, cancellable, callback, user_data);
}

/**
 * sbx_volume_backend_get_info_finish:
 *
 * Returns: (transfer full): a #SbxVolumeInfo, or %NULL with @error set
 *
 * Since: 1
 */
SbxVolumeInfo *
sbx_volume_backend_get_info_finish(SbxVolumeBackend *self, GAsyncResult *res, GError **error)
{
	return CLASS(self)->get_info_finish(self, res, error);
}

/**
 * sbx_volume_backend_list_volumes_async:
 * @self: a #SbxVolumeBackend
 *
 * Runs the class's @list_volumes_async (see #SbxVolumeBackendClass); call
 * sbx_volume_backend_list_volumes_finish() from @callback.
 *
 * Since: 1
 */
void
sbx_volume_backend_list_volumes_async(SbxVolumeBackend *self, GCancellable *cancellable,
				      GAsyncReadyCallback callback, gpointer user_data)
{
	g_return_if_fail(SBX_IS_VOLUME_BACKEND(self));
	CLASS(self)->list_volumes_async(self, cancellable, callback, user_data);
}

/**
 * sbx_volume_backend_list_volumes_finish:
 *
 * Returns: (transfer full) (element-type SbxVolumeInfo): volumes and
 *   snapshots, or %NULL with @error set
 *
 * Since: 1
 */
GPtrArray *
sbx_volume_backend_list_volumes_finish(SbxVolumeBackend *self, GAsyncResult *res, GError **error)
{
	return CLASS(self)->list_volumes_finish(self, res, error);
}

/**
 * sbx_volume_backend_set_attributes_async:
 * @self: a #SbxVolumeBackend
 *
 * Runs the class's @set_attributes_async (see #SbxVolumeBackendClass); call
 * sbx_volume_backend_set_attributes_finish() from @callback.
 *
 * Since: 1
 */
void
sbx_volume_backend_set_attributes_async(SbxVolumeBackend *self, const gchar *id,
					GHashTable *attributes, GCancellable *cancellable,
					GAsyncReadyCallback callback, gpointer user_data)
{
	g_return_if_fail(SBX_IS_VOLUME_BACKEND(self));
	CLASS(self)->set_attributes_async(self, id, attributes, cancellable, callback, user_data);
}

/**
 * sbx_volume_backend_set_attributes_finish:
 * @self: a #SbxVolumeBackend
 *
 * Finishes sbx_volume_backend_set_attributes_async().
 *
 * Since: 1
 */
gboolean
sbx_volume_backend_set_attributes_finish(SbxVolumeBackend *self, GAsyncResult *res, GError **error)
{
	return CLASS(self)->set_attributes_finish(self, res, error);
}

/**
 * sbx_volume_backend_get_config_keys:
 * @self: a #SbxVolumeBackend
 *
 * Returns: (transfer none) (nullable): the class's @config_keys
 *
 * Since: 1
 */
const SbxConfigKey *
sbx_volume_backend_get_config_keys(SbxVolumeBackend *self)
{
	g_return_val_if_fail(SBX_IS_VOLUME_BACKEND(self), NULL);
	return CLASS(self)->config_keys;
}
