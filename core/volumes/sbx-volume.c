/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <string.h>

#include "sbx-options.h"
#include "sbx-volume.h"

typedef struct {
	gchar *sandbox_id;
	gboolean read_only;
} SbxAttachment;

struct _SbxVolume {
	GObject parent_instance;
	gchar *id;
	gchar *name;
	gchar *backend_name;
	SbxVolumeBackend *backend;
	gchar *object_path;
	guint owner;
	gboolean snapshot;
	guint64 capacity;
	GHashTable *labels;
	GArray *attachments; /* SbxAttachment */
	gboolean busy;
	SbxDBusObjectSkeleton *object;
	SbxDBusVolume1 *iface;
};

G_DEFINE_TYPE(SbxVolume, sbx_volume, G_TYPE_OBJECT)

static void
attachment_clear(gpointer data)
{
	SbxAttachment *a = data;
	g_free(a->sandbox_id);
}

static void
sbx_volume_finalize(GObject *object)
{
	SbxVolume *self = SBX_VOLUME(object);
	g_free(self->id);
	g_free(self->name);
	g_free(self->backend_name);
	g_free(self->object_path);
	g_clear_object(&self->backend);
	g_clear_pointer(&self->labels, g_hash_table_unref);
	g_array_unref(self->attachments);
	g_clear_object(&self->iface);
	g_clear_object(&self->object);
	G_OBJECT_CLASS(sbx_volume_parent_class)->finalize(object);
}

static void
sbx_volume_class_init(SbxVolumeClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = sbx_volume_finalize;
}

static void
sbx_volume_init(SbxVolume *self)
{
	self->attachments = g_array_new(FALSE, TRUE, sizeof(SbxAttachment));
	g_array_set_clear_func(self->attachments, attachment_clear);
}

gchar *
sbx_volume_make_id(gboolean snapshot)
{
	static const gchar alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	GString *id = g_string_new(snapshot ? "snp" : "vol");
	for (guint i = 0; i < SBX_VOLUME_ID_RANDOM_LEN; i++)
		g_string_append_c(id, alphabet[g_random_int_range(0, sizeof(alphabet) - 1)]);
	return g_string_free(id, FALSE);
}

gboolean
sbx_volume_name_is_valid(const gchar *name)
{
	gsize len = strlen(name);
	if (len == 0 || len > SBX_VOLUME_NAME_MAX || name[0] == '.')
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isalnum(name[i]) && name[i] != '.' && name[i] != '_' && name[i] != '-')
			return FALSE;
	}
	return TRUE;
}

GHashTable *
sbx_volume_make_attributes(const gchar *name, guint owner, const gchar *region, GHashTable *labels)
{
	GHashTable *attrs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_autoptr(GVariant) v = NULL;

	g_hash_table_insert(attrs, g_strdup(SBX_VOLUME_ATTR_NAME), g_strdup(name));
	g_hash_table_insert(attrs, g_strdup(SBX_VOLUME_ATTR_OWNER), g_strdup_printf("%u", owner));
	if (region != NULL && region[0] != '\0')
		g_hash_table_insert(attrs, g_strdup(SBX_VOLUME_ATTR_REGION), g_strdup(region));
	/* label keys may hold characters attribute keys may not: one GVariant text */
	if (labels != NULL && g_hash_table_size(labels) > 0) {
		v = g_variant_ref_sink(sbx_options_string_table_to_variant(labels));
		g_hash_table_insert(attrs, g_strdup(SBX_VOLUME_ATTR_LABELS),
				    g_variant_print(v, FALSE));
	}
	return attrs;
}

static GHashTable *
parse_labels(const gchar *text)
{
	GHashTable *labels = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_autoptr(GVariant) v = NULL;
	GVariantIter iter;
	const gchar *k;
	const gchar *val;

	if (text == NULL)
		return labels;
	v = g_variant_parse(G_VARIANT_TYPE("a{ss}"), text, NULL, NULL, NULL);
	if (v == NULL)
		return labels;
	g_variant_iter_init(&iter, v);
	while (g_variant_iter_next(&iter, "{&s&s}", &k, &val))
		g_hash_table_insert(labels, g_strdup(k), g_strdup(val));
	return labels;
}

static void
publish_attachments(SbxVolume *self)
{
	g_autoptr(GPtrArray) ids = g_ptr_array_new();
	for (guint i = 0; i < self->attachments->len; i++)
		g_ptr_array_add(ids, g_array_index(self->attachments, SbxAttachment, i).sandbox_id);
	g_ptr_array_add(ids, NULL);
	sbx_dbus_volume1_set_attached_to(self->iface, (const gchar *const *)ids->pdata);
}

SbxVolume *
sbx_volume_new_from_info(SbxVolumeBackend *backend, const gchar *backend_name,
			 const SbxVolumeInfo *info)
{
	g_autoptr(SbxVolume) self = NULL;
	const gchar *name = g_hash_table_lookup(info->attributes, SBX_VOLUME_ATTR_NAME);
	const gchar *owner = g_hash_table_lookup(info->attributes, SBX_VOLUME_ATTR_OWNER);
	const gchar *region = g_hash_table_lookup(info->attributes, SBX_VOLUME_ATTR_REGION);
	guint64 uid = 0;

	if (name == NULL || !sbx_volume_name_is_valid(name) || owner == NULL ||
	    !g_ascii_string_to_unsigned(owner, 10, 0, G_MAXUINT, &uid, NULL)) {
		g_debug("volume %s (%s): no valid name or owner attribute; ignored", info->id,
			backend_name);
		return NULL;
	}
	self = g_object_new(SBX_TYPE_VOLUME, NULL);
	self->id = g_strdup(info->id);
	self->name = g_strdup(name);
	self->backend_name = g_strdup(backend_name);
	self->backend = g_object_ref(backend);
	self->object_path = g_strconcat(SBX_VOLUME_PATH_PREFIX, info->id, NULL);
	self->owner = (guint)uid;
	self->snapshot = info->kind == SBX_VOLUME_KIND_SNAPSHOT;
	self->labels = parse_labels(g_hash_table_lookup(info->attributes, SBX_VOLUME_ATTR_LABELS));

	self->object = sbx_dbus_object_skeleton_new(self->object_path);
	self->iface = sbx_dbus_volume1_skeleton_new();
	sbx_dbus_volume1_set_id(self->iface, self->id);
	sbx_dbus_volume1_set_name(self->iface, self->name);
	sbx_dbus_volume1_set_backend(self->iface, backend_name);
	sbx_dbus_volume1_set_region(self->iface, region != NULL ? region : "");
	sbx_dbus_volume1_set_created_at(self->iface, (guint64)MAX(info->created, 0));
	sbx_dbus_volume1_set_labels(self->iface, sbx_options_string_table_to_variant(self->labels));
	sbx_dbus_volume1_set_read_only(self->iface, self->snapshot);
	sbx_dbus_volume1_set_parent(self->iface, info->parent != NULL ? info->parent : "");
	sbx_volume_update(self, info);
	publish_attachments(self);
	sbx_dbus_object_skeleton_set_volume1(self->object, self->iface);
	return g_steal_pointer(&self);
}

void
sbx_volume_update(SbxVolume *self, const SbxVolumeInfo *info)
{
	self->capacity = info->capacity;
	sbx_dbus_volume1_set_capacity(self->iface, info->capacity);
	sbx_dbus_volume1_set_used(self->iface,
				  info->used == SBX_VOLUME_USED_UNKNOWN ? 0 : info->used);
}

const gchar *
sbx_volume_get_id(SbxVolume *self)
{
	return self->id;
}

const gchar *
sbx_volume_get_name(SbxVolume *self)
{
	return self->name;
}

const gchar *
sbx_volume_get_backend_name(SbxVolume *self)
{
	return self->backend_name;
}

SbxVolumeBackend *
sbx_volume_get_backend(SbxVolume *self)
{
	return self->backend;
}

const gchar *
sbx_volume_get_object_path(SbxVolume *self)
{
	return self->object_path;
}

SbxDBusObjectSkeleton *
sbx_volume_get_object(SbxVolume *self)
{
	return self->object;
}

SbxDBusVolume1 *
sbx_volume_get_iface(SbxVolume *self)
{
	return self->iface;
}

guint
sbx_volume_get_owner(SbxVolume *self)
{
	return self->owner;
}

gboolean
sbx_volume_is_snapshot(SbxVolume *self)
{
	return self->snapshot;
}

guint64
sbx_volume_get_capacity(SbxVolume *self)
{
	return self->capacity;
}

GHashTable *
sbx_volume_get_labels(SbxVolume *self)
{
	return self->labels;
}

void
sbx_volume_add_attachment(SbxVolume *self, const gchar *sandbox_id, gboolean read_only)
{
	SbxAttachment a = {g_strdup(sandbox_id), read_only};
	g_array_append_val(self->attachments, a);
	publish_attachments(self);
}

gboolean
sbx_volume_remove_attachment(SbxVolume *self, const gchar *sandbox_id, gboolean *read_only)
{
	for (guint i = 0; i < self->attachments->len; i++) {
		SbxAttachment *a = &g_array_index(self->attachments, SbxAttachment, i);
		if (g_strcmp0(a->sandbox_id, sandbox_id) != 0)
			continue;
		if (read_only != NULL)
			*read_only = a->read_only;
		g_array_remove_index(self->attachments, i);
		publish_attachments(self);
		return TRUE;
	}
	return FALSE;
}

guint
sbx_volume_get_n_attachments(SbxVolume *self)
{
	return self->attachments->len;
}

gboolean
sbx_volume_is_attached_rw(SbxVolume *self)
{
	for (guint i = 0; i < self->attachments->len; i++) {
		if (!g_array_index(self->attachments, SbxAttachment, i).read_only)
			return TRUE;
	}
	return FALSE;
}

gboolean
sbx_volume_is_busy(SbxVolume *self)
{
	return self->busy;
}

void
sbx_volume_set_busy(SbxVolume *self, gboolean busy)
{
	self->busy = busy;
}
