/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <string.h>

#include "sbx-cmdline-keys.h"
#include "sbx-error.h"
#include "sbx-options.h"
#include "sbx-volume-manager.h"
#include "sbx-volume-manager-private.h"

G_DEFINE_TYPE(SbxVolumeManager, sbx_volume_manager, G_TYPE_OBJECT)

static void
sbx_volume_manager_finalize(GObject *object)
{
	SbxVolumeManager *self = SBX_VOLUME_MANAGER(object);
	g_clear_object(&self->config);
	g_clear_object(&self->object_manager);
	g_hash_table_unref(self->backends);
	g_hash_table_unref(self->volumes);
	g_hash_table_unref(self->pending_names);
	G_OBJECT_CLASS(sbx_volume_manager_parent_class)->finalize(object);
}

static void
sbx_volume_manager_class_init(SbxVolumeManagerClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = sbx_volume_manager_finalize;
}

static void
sbx_volume_manager_init(SbxVolumeManager *self)
{
	self->backends = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_object_unref);
	self->volumes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_object_unref);
	self->pending_names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
}

SbxVolumeManager *
sbx_volume_manager_new(SbxConfig *config)
{
	SbxVolumeManager *self = g_object_new(SBX_TYPE_VOLUME_MANAGER, NULL);
	self->config = g_object_ref(config);
	return self;
}

void
sbx_volume_manager_add_backend(SbxVolumeManager *self, const gchar *name, SbxVolumeBackend *backend)
{
	g_hash_table_insert(self->backends, g_strdup(name), g_object_ref(backend));
}

guint
sbx_volume_manager_get_n_backends(SbxVolumeManager *self)
{
	return g_hash_table_size(self->backends);
}

void
sbx_volume_manager_set_object_manager(SbxVolumeManager *self,
				      GDBusObjectManagerServer *object_manager)
{
	g_set_object(&self->object_manager, object_manager);
	if (object_manager == NULL)
		return;
	/* volumes loaded before the bus was up */
	{
		GHashTableIter iter;
		gpointer value;
		g_hash_table_iter_init(&iter, self->volumes);
		while (g_hash_table_iter_next(&iter, NULL, &value))
			sbx_volume_dbus_export(self, value);
	}
}

GError *
sbx_volume_manager_error_from_backend(const GError *error, const gchar *what)
{
	gint code = SBX_ERROR_BACKEND;

	if (error->domain == SBX_ERROR)
		code = error->code;
	else if (error->domain == G_IO_ERROR) {
		switch (error->code) {
		case G_IO_ERROR_NOT_FOUND:
			code = SBX_ERROR_NOT_FOUND;
			break;
		case G_IO_ERROR_EXISTS:
			code = SBX_ERROR_ALREADY_EXISTS;
			break;
		case G_IO_ERROR_INVALID_ARGUMENT:
			code = SBX_ERROR_INVALID_ARGUMENT;
			break;
		case G_IO_ERROR_BUSY:
			code = SBX_ERROR_VOLUME_ATTACHED;
			break;
		case G_IO_ERROR_TIMED_OUT:
			code = SBX_ERROR_TIMEOUT;
			break;
		case G_IO_ERROR_NO_SPACE:
			code = SBX_ERROR_NO_SPACE;
			break;
		default:
			break;
		}
	}
	return g_error_new(SBX_ERROR, code, "%s: %s", what, error->message);
}

/* --- lookups ------------------------------------------------------------ */

SbxVolume *
sbx_volume_manager_lookup(SbxVolumeManager *self, guint uid, const gchar *id_or_name,
			  GError **error)
{
	SbxVolume *volume = g_hash_table_lookup(self->volumes, id_or_name);
	GHashTableIter iter;
	gpointer value;

	if (volume != NULL && sbx_volume_get_owner(volume) == uid)
		return volume;
	g_hash_table_iter_init(&iter, self->volumes);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		if (sbx_volume_get_owner(value) == uid &&
		    g_strcmp0(sbx_volume_get_name(value), id_or_name) == 0)
			return value;
	}
	g_set_error(error, SBX_ERROR, SBX_ERROR_NOT_FOUND, "no volume '%.64s'", id_or_name);
	return NULL;
}

static gboolean
labels_match(GHashTable *have, GVariant *want)
{
	GVariantIter iter;
	const gchar *k;
	const gchar *v;
	g_variant_iter_init(&iter, want);
	while (g_variant_iter_next(&iter, "{&s&s}", &k, &v)) {
		if (g_strcmp0(g_hash_table_lookup(have, k), v) != 0)
			return FALSE;
	}
	return TRUE;
}

static gint
str_cmp_cb(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const gchar *const *)a, *(const gchar *const *)b);
}

gchar **
sbx_volume_manager_list(SbxVolumeManager *self, guint uid, GVariant *filter, GError **error)
{
	g_autoptr(GVariant) labels = NULL;
	const gchar *backend = NULL;
	g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
	GVariantIter iter;
	const gchar *key;
	GVariant *value;
	GHashTableIter hiter;
	gpointer volume;

	g_variant_iter_init(&iter, filter);
	while (g_variant_iter_next(&iter, "{&sv}", &key, &value)) {
		g_autoptr(GVariant) owned = value;
		if (g_strcmp0(key, "labels") == 0 &&
		    g_variant_is_of_type(value, G_VARIANT_TYPE("a{ss}"))) {
			g_clear_pointer(&labels, g_variant_unref);
			labels = g_variant_ref(value);
		} else if (g_strcmp0(key, "backend") == 0 &&
			   g_variant_is_of_type(value, G_VARIANT_TYPE_STRING)) {
			backend = g_variant_get_string(value, NULL);
		} else {
			g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
				    "unknown filter '%.64s' of type '%s' (known: labels a{ss}, "
				    "backend s)",
				    key, g_variant_get_type_string(value));
			return NULL;
		}
	}
	g_hash_table_iter_init(&hiter, self->volumes);
	while (g_hash_table_iter_next(&hiter, NULL, &volume)) {
		if (sbx_volume_get_owner(volume) != uid)
			continue;
		if (backend != NULL && g_strcmp0(sbx_volume_get_backend_name(volume), backend) != 0)
			continue;
		if (labels != NULL && !labels_match(sbx_volume_get_labels(volume), labels))
			continue;
		g_ptr_array_add(paths, g_strdup(sbx_volume_get_object_path(volume)));
	}
	g_ptr_array_sort(paths, str_cmp_cb);
	g_ptr_array_add(paths, NULL);
	return (gchar **)g_ptr_array_free(g_steal_pointer(&paths), FALSE);
}

/* --- attach / detach ---------------------------------------------------- */

void
sbx_volume_manager_request_free(SbxVolumeRequest *req)
{
	g_free(req->mount_path);
	g_free(req->ref);
	g_free(req);
}

static gboolean
mount_path_is_valid(const gchar *path, GError **error)
{
	static const gchar *const reserved[] = {"/proc", "/sys", "/dev", "/run", NULL};
	gsize len = strlen(path);
	g_auto(GStrv) parts = NULL;

	if (len < 2 || path[0] != '/' || len > SBX_VOLUME_MOUNT_PATH_MAX) {
		g_set_error(
		    error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
		    "volumes: mount path '%.128s' must be absolute, not '/', and at most %u "
		    "bytes",
		    path, (guint)SBX_VOLUME_MOUNT_PATH_MAX);
		return FALSE;
	}
	/* it goes on the kernel command line: a plain charset, no separators */
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isalnum(path[i]) && strchr("/._-", path[i]) == NULL) {
			g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
				    "volumes: mount path '%.128s': only A-Z a-z 0-9 / . _ - are "
				    "allowed",
				    path);
			return FALSE;
		}
	}
	parts = g_strsplit(path + 1, "/", -1);
	for (guint i = 0; parts[i] != NULL; i++) {
		if (parts[i][0] == '\0' || g_strcmp0(parts[i], ".") == 0 ||
		    g_strcmp0(parts[i], "..") == 0) {
			g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
				    "volumes: mount path '%.128s' must be a normalised path other "
				    "than '/' (no '.', '..', '//' or trailing '/')",
				    path);
			return FALSE;
		}
	}
	for (guint i = 0; reserved[i] != NULL; i++) {
		gsize rlen = strlen(reserved[i]);
		if (strncmp(path, reserved[i], rlen) == 0 &&
		    (path[rlen] == '\0' || path[rlen] == '/')) {
			g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
				    "volumes: mount path '%.128s' is under %s, which the guest "
				    "needs",
				    path, reserved[i]);
			return FALSE;
		}
	}
	return TRUE;
}

GPtrArray *
sbx_volume_manager_parse_requests(GVariant *value, GError **error)
{
	g_autoptr(GPtrArray) reqs =
	    g_ptr_array_new_with_free_func((GDestroyNotify)sbx_volume_manager_request_free);
	GVariantIter iter;
	const gchar *path;
	GVariant *v;

	if (!g_variant_is_of_type(value, G_VARIANT_TYPE("a{sv}"))) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
			    "volumes: expected a{sv} (mount path -> \"VOLUME[:ro]\"), got type "
			    "'%s'",
			    g_variant_get_type_string(value));
		return NULL;
	}
	if (g_variant_n_children(value) > SBX_VOLUME_ATTACH_MAX) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
			    "volumes: %" G_GSIZE_FORMAT " volumes, at most %u are allowed",
			    g_variant_n_children(value), (guint)SBX_VOLUME_ATTACH_MAX);
		return NULL;
	}
	g_variant_iter_init(&iter, value);
	while (g_variant_iter_next(&iter, "{&sv}", &path, &v)) {
		g_autoptr(GVariant) owned = v;
		g_autofree gchar *ref = NULL;
		const gchar *colon;
		SbxVolumeRequest *req;

		if (!mount_path_is_valid(path, error))
			return NULL;
		if (!g_variant_is_of_type(v, G_VARIANT_TYPE_STRING)) {
			g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
				    "volumes: %s: expected a string \"VOLUME[:ro]\", got type '%s'",
				    path, g_variant_get_type_string(v));
			return NULL;
		}
		ref = g_variant_dup_string(v, NULL);
		req = g_new0(SbxVolumeRequest, 1);
		req->mount_path = g_strdup(path);
		colon = strchr(ref, ':');
		if (colon != NULL) {
			if (g_strcmp0(colon, ":ro") == 0)
				req->read_only = TRUE;
			else if (g_strcmp0(colon, ":rw") != 0) {
				sbx_volume_manager_request_free(req);
				g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
					    "volumes: %s: '%.80s': the flag after ':' must be "
					    "'ro' or 'rw'",
					    path, ref);
				return NULL;
			}
			ref[colon - ref] = '\0';
		}
		req->ref = g_steal_pointer(&ref);
		if (!sbx_volume_name_is_valid(req->ref)) {
			g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
				    "volumes: %s: '%.80s' is not a volume name or id", path,
				    req->ref);
			sbx_volume_manager_request_free(req);
			return NULL;
		}
		for (guint i = 0; i < reqs->len; i++) {
			SbxVolumeRequest *other = g_ptr_array_index(reqs, i);
			gsize olen = strlen(other->mount_path);
			gsize nlen = strlen(req->mount_path);
			/* nested mounts would depend on the order: refuse them */
			if ((strncmp(other->mount_path, req->mount_path, MIN(olen, nlen)) == 0) &&
			    (olen == nlen || (olen < nlen && req->mount_path[olen] == '/') ||
			     (nlen < olen && other->mount_path[nlen] == '/'))) {
				g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
					    "volumes: mount paths %s and %s overlap",
					    other->mount_path, req->mount_path);
				sbx_volume_manager_request_free(req);
				return NULL;
			}
		}
		g_ptr_array_add(reqs, req);
	}
	return g_steal_pointer(&reqs);
}

void
sbx_volume_manager_detach(SbxVolumeManager *self, const gchar *sandbox_id)
{
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, self->volumes);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		SbxVolume *volume = value;
		gboolean read_only = FALSE;
		while (sbx_volume_remove_attachment(volume, sandbox_id, &read_only)) {
			sbx_volume_backend_release_disk_source(
			    sbx_volume_get_backend(volume), sbx_volume_get_id(volume), read_only);
			g_debug("volume %s released by sandbox %s", sbx_volume_get_id(volume),
				sandbox_id);
		}
	}
}

GPtrArray *
sbx_volume_manager_attach(SbxVolumeManager *self, guint uid, const gchar *sandbox_id,
			  GPtrArray *requests, gchar first_dev, GError **error)
{
	g_autoptr(GPtrArray) disks =
	    g_ptr_array_new_with_free_func((GDestroyNotify)sbx_vm_disk_free);

	for (guint i = 0; i < requests->len; i++) {
		SbxVolumeRequest *req = g_ptr_array_index(requests, i);
		g_autoptr(GError) error_local = NULL;
		SbxVolume *volume = sbx_volume_manager_lookup(self, uid, req->ref, error);
		SbxDiskSource *source;
		SbxVmDisk *disk;

		if (volume == NULL) {
			sbx_volume_manager_detach(self, sandbox_id);
			return NULL;
		}
		if (sbx_volume_is_snapshot(volume)) {
			g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
				    "volume '%s' is a snapshot: create a volume from it "
				    "(from_snapshot) to attach its data",
				    req->ref);
			sbx_volume_manager_detach(self, sandbox_id);
			return NULL;
		}
		if (sbx_volume_is_busy(volume)) {
			g_set_error(error, SBX_ERROR, SBX_ERROR_VOLUME_ATTACHED,
				    "volume '%s' is being changed (resize, snapshot or delete)",
				    req->ref);
			sbx_volume_manager_detach(self, sandbox_id);
			return NULL;
		}
		for (guint j = 0; j < i; j++) {
			SbxVmDisk *other = g_ptr_array_index(disks, j);
			if (g_strcmp0(other->serial, sbx_volume_get_id(volume)) == 0) {
				g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
					    "volume '%s' is given twice", req->ref);
				sbx_volume_manager_detach(self, sandbox_id);
				return NULL;
			}
		}
		source = sbx_volume_backend_get_disk_source(sbx_volume_get_backend(volume),
							    sbx_volume_get_id(volume),
							    req->read_only, &error_local);
		if (source == NULL) {
			g_autofree gchar *what = g_strdup_printf(
			    "cannot attach volume '%s'%s", req->ref,
			    g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_BUSY)
				? " (one read-write attachment at a time; "
				  "read-only ones may share)"
				: "");
			g_propagate_error(error,
					  sbx_volume_manager_error_from_backend(error_local, what));
			sbx_volume_manager_detach(self, sandbox_id);
			return NULL;
		}
		source->read_only = req->read_only;
		sbx_volume_add_attachment(volume, sandbox_id, req->read_only);
		disk = sbx_vm_disk_new();
		disk->source = source;
		disk->serial = g_strdup(sbx_volume_get_id(volume));
		disk->target = g_strdup_printf("vd%c", first_dev + (gchar)i);
		disk->mount_path = g_strdup(req->mount_path);
		disk->read_only = req->read_only;
		g_ptr_array_add(disks, disk);
	}
	return g_steal_pointer(&disks);
}

gchar *
sbx_volume_manager_disks_to_cmdline(GPtrArray *disks)
{
	g_autoptr(GString) str = NULL;

	if (disks == NULL || disks->len == 0)
		return NULL;
	str = g_string_new(SBX_CMDLINE_VOL "=");
	for (guint i = 0; i < disks->len; i++) {
		SbxVmDisk *disk = g_ptr_array_index(disks, i);
		g_string_append_printf(str, "%s%s:%s:%s", i > 0 ? "," : "", disk->serial,
				       disk->mount_path, disk->read_only ? "ro" : "rw");
	}
	return g_string_free(g_steal_pointer(&str), FALSE);
}
