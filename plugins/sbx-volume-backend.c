/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sbx-volume-backend.h"

SbxDiskSource *
sbx_disk_source_new(SbxDiskSourceKind kind)
{
	SbxDiskSource *source = g_new0(SbxDiskSource, 1);
	source->kind = kind;
	return source;
}

void
sbx_disk_source_free(SbxDiskSource *source)
{
	if (source == NULL)
		return;
	g_free(source->path);
	g_free(source->format);
	g_free(source->pool);
	g_free(source->image);
	g_strfreev(source->monitors);
	g_free(source->auth_user);
	g_free(source->auth_key);
	g_free(source);
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
		       GCancellable *cancellable, GAsyncReadyCallback callback,
		       gpointer user_data)
{
	report_not_supported(self, callback, user_data);
}

static gboolean
default_finish(SbxVolumeBackend *self, GAsyncResult *res, GError **error)
{
	return g_task_propagate_boolean(G_TASK(res), error);
}

static SbxDiskSource *
default_get_disk_source(SbxVolumeBackend *self, const gchar *id, gboolean read_only,
			GError **error)
{
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
		    "%s cannot attach volumes", G_OBJECT_TYPE_NAME(self));
	return NULL;
}

static void
sbx_volume_backend_class_init(SbxVolumeBackendClass *klass)
{
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

gboolean
sbx_volume_backend_configure(SbxVolumeBackend *self, GKeyFile *config, const gchar *group,
			     GError **error)
{
	g_return_val_if_fail(SBX_IS_VOLUME_BACKEND(self), FALSE);
	return CLASS(self)->configure(self, config, group, error);
}

void
sbx_volume_backend_create_volume_async(SbxVolumeBackend *self, const gchar *id, guint64 capacity,
				       GCancellable *cancellable, GAsyncReadyCallback callback,
				       gpointer user_data)
{
	g_return_if_fail(SBX_IS_VOLUME_BACKEND(self));
	CLASS(self)->create_volume_async(self, id, capacity, cancellable, callback, user_data);
}

gboolean
sbx_volume_backend_create_volume_finish(SbxVolumeBackend *self, GAsyncResult *res,
					GError **error)
{
	return CLASS(self)->create_volume_finish(self, res, error);
}

void
sbx_volume_backend_delete_volume_async(SbxVolumeBackend *self, const gchar *id,
				       GCancellable *cancellable, GAsyncReadyCallback callback,
				       gpointer user_data)
{
	g_return_if_fail(SBX_IS_VOLUME_BACKEND(self));
	CLASS(self)->delete_volume_async(self, id, cancellable, callback, user_data);
}

gboolean
sbx_volume_backend_delete_volume_finish(SbxVolumeBackend *self, GAsyncResult *res,
					GError **error)
{
	return CLASS(self)->delete_volume_finish(self, res, error);
}

void
sbx_volume_backend_resize_volume_async(SbxVolumeBackend *self, const gchar *id, guint64 capacity,
				       GCancellable *cancellable, GAsyncReadyCallback callback,
				       gpointer user_data)
{
	g_return_if_fail(SBX_IS_VOLUME_BACKEND(self));
	CLASS(self)->resize_volume_async(self, id, capacity, cancellable, callback, user_data);
}

gboolean
sbx_volume_backend_resize_volume_finish(SbxVolumeBackend *self, GAsyncResult *res,
					GError **error)
{
	return CLASS(self)->resize_volume_finish(self, res, error);
}

void
sbx_volume_backend_snapshot_volume_async(SbxVolumeBackend *self, const gchar *id,
					 const gchar *snapshot_id, GCancellable *cancellable,
					 GAsyncReadyCallback callback, gpointer user_data)
{
	g_return_if_fail(SBX_IS_VOLUME_BACKEND(self));
	CLASS(self)->snapshot_volume_async(self, id, snapshot_id, cancellable, callback,
					   user_data);
}

gboolean
sbx_volume_backend_snapshot_volume_finish(SbxVolumeBackend *self, GAsyncResult *res,
					  GError **error)
{
	return CLASS(self)->snapshot_volume_finish(self, res, error);
}

SbxDiskSource *
sbx_volume_backend_get_disk_source(SbxVolumeBackend *self, const gchar *id, gboolean read_only,
				   GError **error)
{
	g_return_val_if_fail(SBX_IS_VOLUME_BACKEND(self), NULL);
	return CLASS(self)->get_disk_source(self, id, read_only, error);
}

const SbxConfigKey *
sbx_volume_backend_get_config_keys(SbxVolumeBackend *self)
{
	g_return_val_if_fail(SBX_IS_VOLUME_BACKEND(self), NULL);
	return CLASS(self)->config_keys;
}
