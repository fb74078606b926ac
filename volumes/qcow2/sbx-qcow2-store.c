/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbx-qcow2-store.h"

#define META_VERSION 1
/* a metadata file is small; anything bigger is not ours */
#define META_MAX_SIZE (512 * 1024)

gchar *
sbx_qcow2_store_path(const gchar *dir, const gchar *id, const gchar *suffix)
{
	g_autofree gchar *name = g_strconcat(id, suffix, NULL);
	return g_build_filename(dir, name, NULL);
}

static const gchar *
kind_to_string(SbxVolumeKind kind)
{
	return kind == SBX_VOLUME_KIND_SNAPSHOT ? "snapshot" : "volume";
}

static SbxVolumeInfo *
meta_parse(const gchar *id, const gchar *data, gsize len, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(SbxVolumeInfo) info = NULL;
	JsonObject *obj;
	JsonObject *attrs;
	const gchar *kind;

	if (!json_parser_load_from_data(parser, data, len, error))
		return NULL;
	if (!JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "not a JSON object");
		return NULL;
	}
	obj = json_node_get_object(json_parser_get_root(parser));
	if (json_object_get_int_member_with_default(obj, "version", 0) != META_VERSION ||
	    g_strcmp0(json_object_get_string_member_with_default(obj, "id", NULL), id) != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "unknown version or id does not match the file name");
		return NULL;
	}
	kind = json_object_get_string_member_with_default(obj, "kind", "");
	if (g_strcmp0(kind, "volume") == 0)
		info = sbx_volume_info_new(id, SBX_VOLUME_KIND_VOLUME);
	else if (g_strcmp0(kind, "snapshot") == 0)
		info = sbx_volume_info_new(id, SBX_VOLUME_KIND_SNAPSHOT);
	else {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "unknown kind '%s'", kind);
		return NULL;
	}
	info->capacity = (guint64)json_object_get_int_member_with_default(obj, "capacity", 0);
	info->created = json_object_get_int_member_with_default(obj, "created", 0);
	info->parent = g_strdup(json_object_get_string_member_with_default(obj, "parent", NULL));
	if (info->parent != NULL && !sbx_volume_id_is_valid(info->parent)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "invalid parent");
		return NULL;
	}
	attrs = NULL;
	if (json_object_has_member(obj, "attributes") &&
	    JSON_NODE_HOLDS_OBJECT(json_object_get_member(obj, "attributes")))
		attrs = json_object_get_object_member(obj, "attributes");
	if (attrs != NULL) {
		g_autoptr(GList) members = json_object_get_members(attrs);
		for (GList *l = members; l != NULL; l = l->next) {
			JsonNode *node = json_object_get_member(attrs, l->data);
			if (!JSON_NODE_HOLDS_VALUE(node) ||
			    json_node_get_value_type(node) != G_TYPE_STRING)
				continue;
			g_hash_table_insert(info->attributes, g_strdup(l->data),
					    g_strdup(json_node_get_string(node)));
		}
	}
	if (!sbx_volume_attributes_check(info->attributes, error))
		return NULL;
	return g_steal_pointer(&info);
}

SbxVolumeInfo *
sbx_qcow2_store_meta_load(const gchar *dir, const gchar *id, GError **error)
{
	g_autofree gchar *path = sbx_qcow2_store_path(dir, id, ".json");
	g_autofree gchar *data = NULL;
	g_autoptr(GError) error_local = NULL;
	SbxVolumeInfo *info;
	gsize len = 0;
	struct stat st;

	if (stat(path, &st) != 0) {
		gint saved = errno;
		if (saved == ENOENT)
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
				    "no volume or snapshot '%s'", id);
		else
			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved), "%s: %s", path,
				    g_strerror(saved));
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > META_MAX_SIZE) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: not a metadata file",
			    path);
		return NULL;
	}
	if (!g_file_get_contents(path, &data, &len, error))
		return NULL;
	info = meta_parse(id, data, len, &error_local);
	if (info == NULL)
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %s", path,
			    error_local->message);
	return info;
}

gboolean
sbx_qcow2_store_meta_save(const gchar *dir, const SbxVolumeInfo *info, GError **error)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree gchar *path = sbx_qcow2_store_path(dir, info->id, ".json");
	g_autofree gchar *data = NULL;
	g_autoptr(GList) keys = NULL;

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "version");
	json_builder_add_int_value(builder, META_VERSION);
	json_builder_set_member_name(builder, "id");
	json_builder_add_string_value(builder, info->id);
	json_builder_set_member_name(builder, "kind");
	json_builder_add_string_value(builder, kind_to_string(info->kind));
	json_builder_set_member_name(builder, "format");
	json_builder_add_string_value(builder, "qcow2");
	json_builder_set_member_name(builder, "capacity");
	json_builder_add_int_value(builder, (gint64)info->capacity);
	json_builder_set_member_name(builder, "created");
	json_builder_add_int_value(builder, info->created);
	if (info->parent != NULL) {
		json_builder_set_member_name(builder, "parent");
		json_builder_add_string_value(builder, info->parent);
	}
	json_builder_set_member_name(builder, "attributes");
	json_builder_begin_object(builder);
	keys = g_list_sort(g_hash_table_get_keys(info->attributes), (GCompareFunc)g_strcmp0);
	for (GList *l = keys; l != NULL; l = l->next) {
		json_builder_set_member_name(builder, l->data);
		json_builder_add_string_value(builder,
					      g_hash_table_lookup(info->attributes, l->data));
	}
	json_builder_end_object(builder);
	json_builder_end_object(builder);

	root = json_builder_get_root(builder);
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	data = json_generator_to_data(gen, NULL);
	return g_file_set_contents_full(
	    path, data, -1, G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600,
	    error);
}

GPtrArray *
sbx_qcow2_store_meta_list(const gchar *dir, GError **error)
{
	g_autoptr(GPtrArray) infos =
	    g_ptr_array_new_with_free_func((GDestroyNotify)sbx_volume_info_free);
	g_autoptr(GError) error_local = NULL;
	g_autoptr(GDir) gdir = g_dir_open(dir, 0, &error_local);
	const gchar *name;

	if (gdir == NULL) {
		/* nothing created yet */
		if (g_error_matches(error_local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return g_steal_pointer(&infos);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", error_local->message);
		return NULL;
	}
	while ((name = g_dir_read_name(gdir)) != NULL) {
		g_autofree gchar *id = NULL;
		g_autoptr(GError) error_meta = NULL;
		SbxVolumeInfo *info;

		if (!g_str_has_suffix(name, ".json"))
			continue;
		id = g_strndup(name, strlen(name) - strlen(".json"));
		if (!sbx_volume_id_is_valid(id))
			continue;
		info = sbx_qcow2_store_meta_load(dir, id, &error_meta);
		if (info == NULL) {
			g_warning("qcow2: skipping %s: %s", name, error_meta->message);
			continue;
		}
		g_ptr_array_add(infos, info);
	}
	return g_steal_pointer(&infos);
}

gint
sbx_qcow2_store_lock(const gchar *dir, const gchar *id, gint operation, gboolean create,
		     GError **error)
{
	g_autofree gchar *path = sbx_qcow2_store_path(dir, id, ".lock");

	/* a lock file unlinked by a delete between our open and flock is
	 * stale: retry on the new one */
	for (guint attempt = 0; attempt < 16; attempt++) {
		struct stat st_fd, st_path;
		gint fd =
		    open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0600);

		if (fd < 0) {
			gint saved = errno;
			if (saved == ENOENT)
				g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
					    "no volume '%s'", id);
			else
				g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
					    "%s: %s", path, g_strerror(saved));
			return -1;
		}
		if (flock(fd, operation | LOCK_NB) != 0) {
			gint saved = errno;
			close(fd);
			if (saved == EWOULDBLOCK)
				g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY,
					    "volume '%s' is in use%s", id,
					    operation == LOCK_SH ? " read-write" : "");
			else
				g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
					    "%s: flock: %s", path, g_strerror(saved));
			return -1;
		}
		if (fstat(fd, &st_fd) == 0 && stat(path, &st_path) == 0 &&
		    st_fd.st_ino == st_path.st_ino && st_fd.st_dev == st_path.st_dev)
			return fd;
		close(fd);
		if (!create) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no volume '%s'", id);
			return -1;
		}
	}
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, "volume '%s': lock file keeps changing",
		    id);
	return -1;
}

void
sbx_qcow2_store_lock_remove(const gchar *dir, const gchar *id, gint fd)
{
	g_autofree gchar *path = sbx_qcow2_store_path(dir, id, ".lock");

	if (g_unlink(path) != 0 && errno != ENOENT)
		g_warning("qcow2: cannot remove %s: %s", path, g_strerror(errno));
	close(fd);
}
