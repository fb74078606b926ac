/* volume operations: load at start-up, create, delete, resize, snapshot, and
 * their D-Bus methods (Manager1 volume methods, Volume1)
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <string.h>

#include "sbx-error.h"
#include "sbx-options.h"
#include "sbx-size.h"
#include "sbx-text.h"
#include "sbx-volume-manager.h"
#include "sbx-volume-manager-private.h"

#define SBX_MIB (G_GUINT64_CONSTANT(1) << 20)

/* --- load --------------------------------------------------------------- */

typedef struct {
	guint pending;
} LoadData;

static void
on_listed(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	SbxVolumeManager *self = g_task_get_source_object(task);
	LoadData *data = g_task_get_task_data(task);
	SbxVolumeBackend *backend = SBX_VOLUME_BACKEND(source);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) infos = sbx_volume_backend_list_volumes_finish(backend, res, &error);
	const gchar *name = g_object_get_data(G_OBJECT(backend), "sbx-backend-name");

	if (infos == NULL) {
		g_warning("volume backend %s: cannot list its volumes: %s", name, error->message);
	} else {
		guint n = 0;
		for (guint i = 0; i < infos->len; i++) {
			SbxVolumeInfo *info = g_ptr_array_index(infos, i);
			g_autoptr(SbxVolume) volume = NULL;
			if (g_hash_table_contains(self->volumes, info->id))
				continue;
			volume = sbx_volume_new_from_info(backend, name, info);
			if (volume == NULL)
				continue;
			g_hash_table_insert(self->volumes, g_strdup(info->id),
					    g_object_ref(volume));
			sbx_volume_dbus_export(self, volume);
			n++;
		}
		g_message("volume backend %s: %u volumes and snapshots", name, n);
	}
	if (--data->pending == 0)
		g_task_return_boolean(task, TRUE);
}

void
sbx_volume_ops_load_async(SbxVolumeManager *self, GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(self, NULL, callback, user_data);
	LoadData *data = g_new0(LoadData, 1);
	GHashTableIter iter;
	gpointer key;
	gpointer value;

	g_task_set_task_data(task, data, g_free);
	data->pending = 1;
	g_hash_table_iter_init(&iter, self->backends);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		g_object_set_data_full(G_OBJECT(value), "sbx-backend-name", g_strdup(key), g_free);
		data->pending++;
		sbx_volume_backend_list_volumes_async(value, NULL, on_listed, g_object_ref(task));
	}
	if (--data->pending == 0)
		g_task_return_boolean(task, TRUE);
}

gboolean
sbx_volume_ops_load_finish(SbxVolumeManager *self, GAsyncResult *res, GError **error)
{
	return g_task_propagate_boolean(G_TASK(res), error);
}

/* --- helpers ------------------------------------------------------------ */

static gboolean
parse_capacity(GVariant *value, guint64 *out, GError **error)
{
	if (g_variant_is_of_type(value, G_VARIANT_TYPE_UINT64)) {
		*out = g_variant_get_uint64(value);
		return TRUE;
	}
	if (g_variant_is_of_type(value, G_VARIANT_TYPE_STRING) &&
	    sbx_size_parse(g_variant_get_string(value, NULL), out))
		return TRUE;
	g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
		    "capacity: expected bytes (t) or a size such as \"512MiB\" or \"10GiB\"");
	return FALSE;
}

static gboolean
check_capacity(SbxVolumeManager *self, guint64 capacity, GError **error)
{
	guint64 min = sbx_config_get_uint(self->config, "volumes", "MinCapacityMiB");
	guint64 max = sbx_config_get_uint(self->config, "volumes", "MaxCapacityMiB");
	if (capacity < min * SBX_MIB || capacity > max * SBX_MIB) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
			    "capacity: %" G_GUINT64_FORMAT " bytes is outside %" G_GUINT64_FORMAT
			    "-%" G_GUINT64_FORMAT " MiB ([volumes] MinCapacityMiB, MaxCapacityMiB)",
			    capacity, min, max);
		return FALSE;
	}
	return TRUE;
}

static gboolean
check_labels(GVariant *value, GHashTable **out, GError **error)
{
	g_autoptr(GHashTable) labels =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	GVariantIter iter;
	const gchar *k;
	const gchar *v;

	if (!g_variant_is_of_type(value, G_VARIANT_TYPE("a{ss}")) ||
	    g_variant_n_children(value) > SBX_LABELS_MAX) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
			    "labels: expected a{ss} with at most %u entries",
			    (guint)SBX_LABELS_MAX);
		return FALSE;
	}
	g_variant_iter_init(&iter, value);
	while (g_variant_iter_next(&iter, "{&s&s}", &k, &v)) {
		gboolean ctl = sbx_text_has_control_chars(k) || sbx_text_has_control_chars(v);
		if (k[0] == '\0' || strlen(k) > SBX_LABEL_KEY_MAX ||
		    strlen(v) > SBX_LABEL_VALUE_MAX || ctl) {
			g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
				    "labels: '%.64s': keys are 1-%u bytes, values at most %u, no "
				    "control characters",
				    k, (guint)SBX_LABEL_KEY_MAX, (guint)SBX_LABEL_VALUE_MAX);
			return FALSE;
		}
		g_hash_table_insert(labels, g_strdup(k), g_strdup(v));
	}
	*out = g_steal_pointer(&labels);
	return TRUE;
}

static gboolean
name_is_taken(SbxVolumeManager *self, guint uid, const gchar *name)
{
	g_autofree gchar *key = g_strdup_printf("%u/%s", uid, name);
	GHashTableIter iter;
	gpointer value;

	if (g_hash_table_contains(self->pending_names, key))
		return TRUE;
	g_hash_table_iter_init(&iter, self->volumes);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		if (sbx_volume_get_owner(value) == uid &&
		    g_strcmp0(sbx_volume_get_name(value), name) == 0)
			return TRUE;
	}
	return FALSE;
}

static gboolean
check_new_name(SbxVolumeManager *self, guint uid, const gchar *name, GError **error)
{
	if (!sbx_volume_name_is_valid(name)) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
			    "invalid volume name '%.64s': 1-%u of A-Z a-z 0-9 . _ -, not "
			    "starting with '.'",
			    name, (guint)SBX_VOLUME_NAME_MAX);
		return FALSE;
	}
	if (name_is_taken(self, uid, name)) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_ALREADY_EXISTS,
			    "a volume or snapshot named '%s' exists already", name);
		return FALSE;
	}
	return TRUE;
}

static void
unexport(SbxVolumeManager *self, SbxVolume *volume)
{
	if (self->object_manager != NULL)
		g_dbus_object_manager_server_unexport(self->object_manager,
						      sbx_volume_get_object_path(volume));
}

/* --- create and snapshot: make, set attributes, get info ---------------- */

typedef struct {
	SbxVolumeBackend *backend;
	gchar *backend_name;
	gchar *id;
	gchar *pending_key;
	GHashTable *attributes;
	guint64 capacity;
	gchar *from_snapshot; /* id */
	gchar *of_volume;     /* id, for a snapshot */
	SbxVolume *source;    /* busy while the snapshot is taken */
	gboolean made;
} MakeData;

static void
make_data_free(MakeData *data)
{
	g_clear_object(&data->backend);
	g_free(data->backend_name);
	g_free(data->id);
	g_free(data->pending_key);
	g_clear_pointer(&data->attributes, g_hash_table_unref);
	g_free(data->from_snapshot);
	g_free(data->of_volume);
	if (data->source != NULL)
		sbx_volume_set_busy(data->source, FALSE);
	g_clear_object(&data->source);
	g_free(data);
}

static void
on_cleanup_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *id = user_data;
	/* either finish fits: both are g_task booleans in every backend */
	if (!sbx_volume_backend_delete_volume_finish(SBX_VOLUME_BACKEND(source), res, &error))
		g_warning("cannot remove the half-made volume %s: %s", id, error->message);
}

static void
make_fail(GTask *task, const GError *error, const gchar *what)
{
	SbxVolumeManager *self = g_task_get_source_object(task);
	MakeData *data = g_task_get_task_data(task);

	g_hash_table_remove(self->pending_names, data->pending_key);
	if (data->made) {
		if (data->of_volume != NULL)
			sbx_volume_backend_delete_snapshot_async(
			    data->backend, data->id, NULL, on_cleanup_done, g_strdup(data->id));
		else
			sbx_volume_backend_delete_volume_async(data->backend, data->id, NULL,
							       on_cleanup_done, g_strdup(data->id));
	}
	g_task_return_error(task, sbx_volume_manager_error_from_backend(error, what));
}

static void
on_make_info(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	SbxVolumeManager *self = g_task_get_source_object(task);
	MakeData *data = g_task_get_task_data(task);
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxVolumeInfo) info =
	    sbx_volume_backend_get_info_finish(data->backend, res, &error);
	g_autoptr(SbxVolume) volume = NULL;

	if (info == NULL) {
		make_fail(task, error, "cannot read the new volume back");
		return;
	}
	volume = sbx_volume_new_from_info(data->backend, data->backend_name, info);
	if (volume == NULL) {
		g_autoptr(GError) e =
		    g_error_new(G_IO_ERROR, G_IO_ERROR_FAILED, "its attributes were not kept");
		make_fail(task, e, "cannot read the new volume back");
		return;
	}
	g_hash_table_remove(self->pending_names, data->pending_key);
	g_hash_table_insert(self->volumes, g_strdup(data->id), g_object_ref(volume));
	sbx_volume_dbus_export(self, volume);
	g_message("volume %s ('%s', %s, %" G_GUINT64_FORMAT " bytes) created%s%s", data->id,
		  sbx_volume_get_name(volume), data->backend_name, sbx_volume_get_capacity(volume),
		  data->of_volume != NULL ? " as a snapshot of " : "",
		  data->of_volume != NULL ? data->of_volume : "");
	g_task_return_pointer(task, g_steal_pointer(&volume), g_object_unref);
}

static void
on_make_attributes(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	MakeData *data = g_task_get_task_data(task);
	g_autoptr(GError) error = NULL;

	if (!sbx_volume_backend_set_attributes_finish(data->backend, res, &error)) {
		make_fail(task, error, "cannot store the volume's attributes");
		return;
	}
	sbx_volume_backend_get_info_async(data->backend, data->id, NULL, on_make_info,
					  g_steal_pointer(&task));
}

static void
on_made(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	MakeData *data = g_task_get_task_data(task);
	g_autoptr(GError) error = NULL;
	gboolean ok;

	if (data->of_volume != NULL)
		ok = sbx_volume_backend_snapshot_volume_finish(data->backend, res, &error);
	else if (data->from_snapshot != NULL)
		ok = sbx_volume_backend_create_volume_from_snapshot_finish(data->backend, res,
									   &error);
	else
		ok = sbx_volume_backend_create_volume_finish(data->backend, res, &error);
	if (!ok) {
		make_fail(task, error,
			  data->of_volume != NULL ? "cannot take the snapshot"
						  : "cannot create the volume");
		return;
	}
	data->made = TRUE;
	sbx_volume_backend_set_attributes_async(data->backend, data->id, data->attributes, NULL,
						on_make_attributes, g_steal_pointer(&task));
}

static void
make_start(SbxVolumeManager *self, GTask *task, guint uid, const gchar *name)
{
	MakeData *data = g_task_get_task_data(task);

	data->pending_key = g_strdup_printf("%u/%s", uid, name);
	g_hash_table_add(self->pending_names, g_strdup(data->pending_key));
	do {
		g_free(data->id);
		data->id = sbx_volume_make_id(data->of_volume != NULL);
	} while (g_hash_table_contains(self->volumes, data->id));

	if (data->of_volume != NULL)
		sbx_volume_backend_snapshot_volume_async(data->backend, data->of_volume, data->id,
							 NULL, on_made, g_object_ref(task));
	else if (data->from_snapshot != NULL)
		sbx_volume_backend_create_volume_from_snapshot_async(
		    data->backend, data->id, data->from_snapshot, data->capacity, NULL, on_made,
		    g_object_ref(task));
	else
		sbx_volume_backend_create_volume_async(data->backend, data->id, data->capacity,
						       NULL, on_made, g_object_ref(task));
}

void
sbx_volume_ops_create_async(SbxVolumeManager *self, guint uid, const gchar *name, GVariant *options,
			    GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(self, NULL, callback, user_data);
	g_autoptr(GError) error = NULL;
	g_autoptr(GHashTable) labels = NULL;
	MakeData *data = g_new0(MakeData, 1);
	const gchar *backend_name =
	    sbx_config_get_string(self->config, "volumes", "DefaultBackend");
	const gchar *region = NULL;
	SbxVolume *snapshot = NULL;
	gboolean have_capacity = FALSE;
	GVariantIter iter;
	const gchar *key;
	GVariant *value;

	g_task_set_task_data(task, data, (GDestroyNotify)make_data_free);
	if (!check_new_name(self, uid, name, &error)) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	g_variant_iter_init(&iter, options);
	while (g_variant_iter_next(&iter, "{&sv}", &key, &value)) {
		g_autoptr(GVariant) owned = value;
		gboolean ok = TRUE;
		if (g_strcmp0(key, "capacity") == 0) {
			ok = parse_capacity(value, &data->capacity, &error);
			have_capacity = TRUE;
		} else if (g_strcmp0(key, "backend") == 0 &&
			   g_variant_is_of_type(value, G_VARIANT_TYPE_STRING)) {
			backend_name = g_variant_get_string(value, NULL);
		} else if (g_strcmp0(key, "region") == 0 &&
			   g_variant_is_of_type(value, G_VARIANT_TYPE_STRING)) {
			region = g_variant_get_string(value, NULL);
			if (strlen(region) > SBX_VOLUME_REGION_MAX ||
			    !g_utf8_validate(region, -1, NULL)) {
				g_set_error(&error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
					    "region: at most %u bytes of UTF-8",
					    (guint)SBX_VOLUME_REGION_MAX);
				ok = FALSE;
			}
		} else if (g_strcmp0(key, "labels") == 0) {
			g_clear_pointer(&labels, g_hash_table_unref);
			ok = check_labels(value, &labels, &error);
		} else if (g_strcmp0(key, "from_snapshot") == 0 &&
			   g_variant_is_of_type(value, G_VARIANT_TYPE_STRING)) {
			snapshot = sbx_volume_manager_lookup(
			    self, uid, g_variant_get_string(value, NULL), &error);
			if (snapshot != NULL && !sbx_volume_is_snapshot(snapshot)) {
				g_set_error(&error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
					    "from_snapshot: '%s' is a volume, not a snapshot",
					    sbx_volume_get_name(snapshot));
				snapshot = NULL;
			}
			ok = snapshot != NULL;
		} else {
			g_set_error(&error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
				    "unknown option '%.64s' of type '%s' (known: capacity t|s, "
				    "backend s, region s, labels a{ss}, from_snapshot s)",
				    key, g_variant_get_type_string(value));
			ok = FALSE;
		}
		if (!ok) {
			g_task_return_error(task, g_steal_pointer(&error));
			return;
		}
	}
	if (snapshot != NULL) {
		backend_name = sbx_volume_get_backend_name(snapshot);
		data->from_snapshot = g_strdup(sbx_volume_get_id(snapshot));
		if (!have_capacity)
			data->capacity = 0;
	} else if (!have_capacity) {
		data->capacity =
		    sbx_config_get_uint(self->config, "volumes", "MinCapacityMiB") * SBX_MIB;
	}
	if (have_capacity && !check_capacity(self, data->capacity, &error)) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	data->backend = g_hash_table_lookup(self->backends, backend_name);
	if (data->backend == NULL) {
		g_autofree gchar **names =
		    (gchar **)g_hash_table_get_keys_as_array(self->backends, NULL);
		g_autofree gchar *known = g_strjoinv(", ", names);
		g_task_return_new_error(task, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
					"backend: no volume backend '%.32s' (loaded: %s)",
					backend_name, known[0] != '\0' ? known : "none");
		return;
	}
	g_object_ref(data->backend);
	data->backend_name = g_strdup(backend_name);
	data->attributes = sbx_volume_make_attributes(name, uid, region, labels);
	make_start(self, task, uid, name);
}

SbxVolume *
sbx_volume_ops_create_finish(SbxVolumeManager *self, GAsyncResult *res, GError **error)
{
	return g_task_propagate_pointer(G_TASK(res), error);
}

void
sbx_volume_ops_snapshot_async(SbxVolumeManager *self, SbxVolume *volume, const gchar *name,
			      GVariant *options, GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(self, NULL, callback, user_data);
	g_autoptr(GError) error = NULL;
	g_autoptr(GHashTable) labels = NULL;
	MakeData *data = g_new0(MakeData, 1);
	guint uid = sbx_volume_get_owner(volume);
	GVariantIter iter;
	const gchar *key;
	GVariant *value;

	g_task_set_task_data(task, data, (GDestroyNotify)make_data_free);
	if (sbx_volume_is_snapshot(volume)) {
		g_task_return_new_error(task, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
					"'%s' is a snapshot already", sbx_volume_get_name(volume));
		return;
	}
	if (!check_new_name(self, uid, name, &error)) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	g_variant_iter_init(&iter, options);
	while (g_variant_iter_next(&iter, "{&sv}", &key, &value)) {
		g_autoptr(GVariant) owned = value;
		if (g_strcmp0(key, "labels") == 0) {
			g_clear_pointer(&labels, g_hash_table_unref);
			if (!check_labels(value, &labels, &error)) {
				g_task_return_error(task, g_steal_pointer(&error));
				return;
			}
		} else {
			g_task_return_new_error(task, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
						"unknown option '%.64s' (known: labels a{ss})",
						key);
			return;
		}
	}
	if (sbx_volume_is_attached_rw(volume) || sbx_volume_is_busy(volume)) {
		g_task_return_new_error(task, SBX_ERROR, SBX_ERROR_VOLUME_ATTACHED,
					"volume '%s' is attached read-write or being changed",
					sbx_volume_get_name(volume));
		return;
	}
	data->backend = g_object_ref(sbx_volume_get_backend(volume));
	data->backend_name = g_strdup(sbx_volume_get_backend_name(volume));
	data->of_volume = g_strdup(sbx_volume_get_id(volume));
	data->source = g_object_ref(volume);
	sbx_volume_set_busy(volume, TRUE);
	data->attributes = sbx_volume_make_attributes(
	    name, uid, sbx_dbus_volume1_get_region(sbx_volume_get_iface(volume)), labels);
	make_start(self, task, uid, name);
}

SbxVolume *
sbx_volume_ops_snapshot_finish(SbxVolumeManager *self, GAsyncResult *res, GError **error)
{
	return g_task_propagate_pointer(G_TASK(res), error);
}

/* --- delete, resize ----------------------------------------------------- */

static void
on_deleted(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	SbxVolumeManager *self = g_task_get_source_object(task);
	SbxVolume *volume = g_task_get_task_data(task);
	g_autoptr(GError) error = NULL;
	gboolean ok;

	sbx_volume_set_busy(volume, FALSE);
	if (sbx_volume_is_snapshot(volume))
		ok = sbx_volume_backend_delete_snapshot_finish(SBX_VOLUME_BACKEND(source), res,
							       &error);
	else
		ok = sbx_volume_backend_delete_volume_finish(SBX_VOLUME_BACKEND(source), res,
							     &error);
	if (!ok) {
		g_autoptr(GError) e = sbx_volume_manager_error_from_backend(
		    error, sbx_volume_is_snapshot(volume) ? "cannot delete the snapshot"
							  : "cannot delete the volume");
		if (sbx_volume_is_snapshot(volume) && e->code == SBX_ERROR_VOLUME_ATTACHED)
			e->code = SBX_ERROR_VOLUME_IN_USE;
		g_task_return_error(task, g_steal_pointer(&e));
		return;
	}
	g_message("volume %s ('%s') deleted", sbx_volume_get_id(volume),
		  sbx_volume_get_name(volume));
	unexport(self, volume);
	g_hash_table_remove(self->volumes, sbx_volume_get_id(volume));
	g_task_return_boolean(task, TRUE);
}

void
sbx_volume_ops_delete_async(SbxVolumeManager *self, SbxVolume *volume, GAsyncReadyCallback callback,
			    gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(self, NULL, callback, user_data);

	g_task_set_task_data(task, g_object_ref(volume), g_object_unref);
	if (sbx_volume_get_n_attachments(volume) > 0 || sbx_volume_is_busy(volume)) {
		const gchar *const *to =
		    sbx_dbus_volume1_get_attached_to(sbx_volume_get_iface(volume));
		g_task_return_new_error(task, SBX_ERROR, SBX_ERROR_VOLUME_ATTACHED,
					"volume '%s' is attached to sandbox %s; destroy it first",
					sbx_volume_get_name(volume),
					to != NULL && to[0] != NULL ? to[0] : "(busy)");
		return;
	}
	sbx_volume_set_busy(volume, TRUE);
	if (sbx_volume_is_snapshot(volume))
		sbx_volume_backend_delete_snapshot_async(sbx_volume_get_backend(volume),
							 sbx_volume_get_id(volume), NULL,
							 on_deleted, g_steal_pointer(&task));
	else
		sbx_volume_backend_delete_volume_async(sbx_volume_get_backend(volume),
						       sbx_volume_get_id(volume), NULL, on_deleted,
						       g_steal_pointer(&task));
}

gboolean
sbx_volume_ops_delete_finish(SbxVolumeManager *self, GAsyncResult *res, GError **error)
{
	return g_task_propagate_boolean(G_TASK(res), error);
}

static void
on_resize_info(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	SbxVolume *volume = g_task_get_task_data(task);
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxVolumeInfo) info =
	    sbx_volume_backend_get_info_finish(SBX_VOLUME_BACKEND(source), res, &error);

	sbx_volume_set_busy(volume, FALSE);
	if (info != NULL)
		sbx_volume_update(volume, info);
	g_task_return_boolean(task, TRUE);
}

static void
on_resized(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	SbxVolume *volume = g_task_get_task_data(task);
	g_autoptr(GError) error = NULL;

	if (!sbx_volume_backend_resize_volume_finish(SBX_VOLUME_BACKEND(source), res, &error)) {
		sbx_volume_set_busy(volume, FALSE);
		g_task_return_error(
		    task, sbx_volume_manager_error_from_backend(error, "cannot resize the volume"));
		return;
	}
	sbx_volume_backend_get_info_async(SBX_VOLUME_BACKEND(source), sbx_volume_get_id(volume),
					  NULL, on_resize_info, g_steal_pointer(&task));
}

void
sbx_volume_ops_resize_async(SbxVolumeManager *self, SbxVolume *volume, guint64 capacity,
			    GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(self, NULL, callback, user_data);
	g_autoptr(GError) error = NULL;

	g_task_set_task_data(task, g_object_ref(volume), g_object_unref);
	if (sbx_volume_is_snapshot(volume)) {
		g_task_return_new_error(task, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
					"'%s' is a read-only snapshot",
					sbx_volume_get_name(volume));
		return;
	}
	if (!check_capacity(self, capacity, &error)) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	if (capacity < sbx_volume_get_capacity(volume)) {
		g_task_return_new_error(task, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
					"volumes only grow: '%s' has %" G_GUINT64_FORMAT
					" bytes, asked for %" G_GUINT64_FORMAT,
					sbx_volume_get_name(volume),
					sbx_volume_get_capacity(volume), capacity);
		return;
	}
	if (sbx_volume_get_n_attachments(volume) > 0 || sbx_volume_is_busy(volume)) {
		g_task_return_new_error(task, SBX_ERROR, SBX_ERROR_VOLUME_ATTACHED,
					"volume '%s' is attached or being changed",
					sbx_volume_get_name(volume));
		return;
	}
	sbx_volume_set_busy(volume, TRUE);
	sbx_volume_backend_resize_volume_async(sbx_volume_get_backend(volume),
					       sbx_volume_get_id(volume), capacity, NULL,
					       on_resized, g_steal_pointer(&task));
}

gboolean
sbx_volume_ops_resize_finish(SbxVolumeManager *self, GAsyncResult *res, GError **error)
{
	return g_task_propagate_boolean(G_TASK(res), error);
}
