/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "sbx-rbd-image.h"

/* more than this many metadata bytes on one image is not ours to read */
#define META_MAX_BYTES (4 * 1024 * 1024)
#define SNAPS_MAX 4096

void
sbx_rbd_image_free(SbxRbdImage *image)
{
	if (image == NULL)
		return;
	g_free(image->name);
	if (image->meta != NULL)
		g_hash_table_unref(image->meta);
	sbx_volume_info_free(image->volume);
	if (image->snapshots != NULL)
		g_ptr_array_unref(image->snapshots);
	g_free(image);
}

gboolean
sbx_rbd_image_open(SbxRbdConn *conn, const gchar *name, gboolean read_only, rbd_image_t *image,
		   GError **error)
{
	gint r = read_only ? rbd_open_read_only(conn->ioctx, name, image, NULL)
			   : rbd_open(conn->ioctx, name, image, NULL);
	if (r == -ENOENT) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no volume '%s'", name);
		return FALSE;
	}
	if (r < 0) {
		sbx_rbd_conn_set_error(error, r, "cannot open rbd image '%s'", name);
		return FALSE;
	}
	return TRUE;
}

/* every "sandboxd." metadata key of @image */
static GHashTable *
meta_read(rbd_image_t image, GError **error)
{
	g_autoptr(GHashTable) meta = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	gsize keys_len = 4096;
	gsize vals_len = 16384;
	g_autofree gchar *keys = NULL;
	g_autofree gchar *vals = NULL;
	gint r;

	for (;;) {
		gsize k = keys_len;
		gsize v = vals_len;

		g_free(keys);
		g_free(vals);
		keys = g_malloc0(keys_len);
		vals = g_malloc0(vals_len);
		r = rbd_metadata_list(image, "", 0, keys, &k, vals, &v);
		if (r == -ERANGE && k <= META_MAX_BYTES && v <= META_MAX_BYTES) {
			keys_len = MAX(k, keys_len * 2);
			vals_len = MAX(v, vals_len * 2);
			continue;
		}
		if (r < 0) {
			sbx_rbd_conn_set_error(error, r, "cannot read image metadata");
			return NULL;
		}
		keys_len = k;
		vals_len = v;
		break;
	}
	/* two parallel lists of NUL-terminated strings */
	for (gsize ko = 0, vo = 0; ko < keys_len && vo < vals_len;) {
		const gchar *key = keys + ko;
		const gchar *val = vals + vo;
		gsize kl = strnlen(key, keys_len - ko);
		gsize vl = strnlen(val, vals_len - vo);

		if (kl == 0 || kl == keys_len - ko || vl == vals_len - vo)
			break;
		if (g_str_has_prefix(key, SBX_RBD_META_PREFIX) && g_utf8_validate(val, vl, NULL))
			g_hash_table_insert(meta, g_strndup(key, kl), g_strndup(val, vl));
		ko += kl + 1;
		vo += vl + 1;
	}
	return g_steal_pointer(&meta);
}

static gint64
meta_int(GHashTable *meta, const gchar *key)
{
	const gchar *value = g_hash_table_lookup(meta, key);
	return value != NULL ? g_ascii_strtoll(value, NULL, 10) : 0;
}

/* copies "<prefix><k>" = v of @meta into @attributes as k = v */
static void
meta_attributes(GHashTable *meta, const gchar *prefix, GHashTable *attributes)
{
	GHashTableIter iter;
	gpointer key, value;
	gsize len = strlen(prefix);

	g_hash_table_iter_init(&iter, meta);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		if (g_str_has_prefix(key, prefix) && ((const gchar *)key)[len] != '\0')
			g_hash_table_insert(attributes, g_strdup((const gchar *)key + len),
					    g_strdup(value));
	}
}

/* bytes stored, when the object map makes it cheap to tell */
static int
used_cb(uint64_t offset, size_t len, int exists, void *arg)
{
	if (exists)
		*(guint64 *)arg += len;
	return 0;
}

static guint64
measure_used(rbd_image_t image, guint64 size)
{
	uint64_t features = 0;
	uint64_t flags = 0;
	guint64 used = 0;

	if (rbd_get_features(image, &features) < 0 || (features & RBD_FEATURE_FAST_DIFF) == 0 ||
	    rbd_get_flags(image, &flags) < 0 || (flags & RBD_FLAG_FAST_DIFF_INVALID) != 0)
		return SBX_VOLUME_USED_UNKNOWN;
	if (rbd_diff_iterate2(image, NULL, 0, size, 0, 1, used_cb, &used) < 0)
		return SBX_VOLUME_USED_UNKNOWN;
	return used;
}

SbxRbdImage *
sbx_rbd_image_read(SbxRbdConn *conn, const gchar *name, GError **error)
{
	g_autoptr(SbxRbdImage) result = g_new0(SbxRbdImage, 1);
	rbd_image_t image = NULL;
	rbd_snap_info_t *snaps = NULL;
	gint max_snaps = 16;
	uint64_t size = 0;
	gint n = 0;
	gint r;

	if (!sbx_rbd_image_open(conn, name, TRUE, &image, error))
		return NULL;
	result->name = g_strdup(name);
	result->meta = meta_read(image, error);
	if (result->meta == NULL) {
		rbd_close(image);
		return NULL;
	}
	if (g_strcmp0(g_hash_table_lookup(result->meta, SBX_RBD_META_KIND), "volume") != 0) {
		rbd_close(image);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "no volume '%s' (an rbd image not made by sandboxd)", name);
		return NULL;
	}
	r = rbd_get_size(image, &size);
	if (r < 0) {
		rbd_close(image);
		sbx_rbd_conn_set_error(error, r, "volume '%s'", name);
		return NULL;
	}
	if (!g_hash_table_contains(result->meta, SBX_RBD_META_DELETED)) {
		SbxVolumeInfo *vol = sbx_volume_info_new(name, SBX_VOLUME_KIND_VOLUME);
		vol->capacity = size;
		vol->created = meta_int(result->meta, SBX_RBD_META_CREATED);
		vol->parent = g_strdup(g_hash_table_lookup(result->meta, SBX_RBD_META_PARENT));
		meta_attributes(result->meta, SBX_RBD_META_ATTR, vol->attributes);
		vol->used = measure_used(image, size);
		result->volume = vol;
	}

	for (;;) {
		snaps = g_new0(rbd_snap_info_t, max_snaps);
		n = max_snaps;
		r = rbd_snap_list(image, snaps, &n);
		if (r == -ERANGE && n <= SNAPS_MAX) {
			g_free(snaps);
			max_snaps = MAX(n, max_snaps * 2);
			continue;
		}
		break;
	}
	if (r < 0) {
		g_free(snaps);
		rbd_close(image);
		sbx_rbd_conn_set_error(error, r, "cannot list snapshots of '%s'", name);
		return NULL;
	}
	result->rbd_snapshots = (guint)r;
	result->snapshots = g_ptr_array_new_with_free_func((GDestroyNotify)sbx_volume_info_free);
	for (gint i = 0; i < r; i++) {
		g_autofree gchar *created =
		    g_strdup_printf("sandboxd.snap.%s.created", snaps[i].name);
		g_autofree gchar *attr_prefix =
		    g_strdup_printf("sandboxd.snap.%s.attr.", snaps[i].name);
		SbxVolumeInfo *snap;

		if (!g_hash_table_contains(result->meta, created))
			continue;
		snap = sbx_volume_info_new(snaps[i].name, SBX_VOLUME_KIND_SNAPSHOT);
		snap->capacity = snaps[i].size;
		snap->created = meta_int(result->meta, created);
		snap->parent = g_strdup(name);
		meta_attributes(result->meta, attr_prefix, snap->attributes);
		g_ptr_array_add(result->snapshots, snap);
	}
	rbd_snap_list_end(snaps);
	g_free(snaps);
	rbd_close(image);
	return g_steal_pointer(&result);
}

gchar **
sbx_rbd_image_list(SbxRbdConn *conn, GError **error)
{
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	rbd_image_spec_t *specs = NULL;
	size_t max = 64;
	gint r;

	for (;;) {
		size_t n = max;
		specs = g_new0(rbd_image_spec_t, max);
		r = rbd_list2(conn->ioctx, specs, &n);
		if (r == -ERANGE) {
			g_free(specs);
			max = MAX(n, max * 2);
			continue;
		}
		if (r < 0) {
			g_free(specs);
			sbx_rbd_conn_set_error(error, r, "cannot list rbd images");
			return NULL;
		}
		for (size_t i = 0; i < n; i++)
			g_ptr_array_add(names, g_strdup(specs[i].name));
		rbd_image_spec_list_cleanup(specs, n);
		g_free(specs);
		break;
	}
	g_ptr_array_add(names, NULL);
	return (gchar **)g_ptr_array_free(g_steal_pointer(&names), FALSE);
}

static gboolean
image_has_snapshot(SbxRbdImage *image, const gchar *snapshot_id)
{
	for (guint i = 0; i < image->snapshots->len; i++) {
		SbxVolumeInfo *snap = g_ptr_array_index(image->snapshots, i);
		if (g_strcmp0(snap->id, snapshot_id) == 0)
			return TRUE;
	}
	return FALSE;
}

SbxRbdImage *
sbx_rbd_image_find_snapshot(SbxRbdConn *conn, const gchar *snapshot_id, const gchar *hint,
			    GError **error)
{
	g_auto(GStrv) names = NULL;

	/* the image it was on last time, if the caller remembers one */
	if (hint != NULL) {
		g_autoptr(SbxRbdImage) image = sbx_rbd_image_read(conn, hint, NULL);
		if (image != NULL && image_has_snapshot(image, snapshot_id))
			return g_steal_pointer(&image);
	}
	names = sbx_rbd_image_list(conn, error);
	if (names == NULL)
		return NULL;
	for (guint i = 0; names[i] != NULL; i++) {
		g_autoptr(GError) error_local = NULL;
		g_autoptr(SbxRbdImage) image = sbx_rbd_image_read(conn, names[i], &error_local);

		if (image == NULL) {
			/* gone meanwhile, or not ours */
			if (g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
				continue;
			g_propagate_error(error, g_steal_pointer(&error_local));
			return NULL;
		}
		if (image_has_snapshot(image, snapshot_id))
			return g_steal_pointer(&image);
	}
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no snapshot '%s'", snapshot_id);
	return NULL;
}

gboolean
sbx_rbd_image_meta_set(rbd_image_t image, const gchar *key, const gchar *value, GError **error)
{
	gint r = rbd_metadata_set(image, key, value);
	if (r < 0) {
		sbx_rbd_conn_set_error(error, r, "cannot set image metadata %s", key);
		return FALSE;
	}
	return TRUE;
}

gboolean
sbx_rbd_image_meta_remove_prefix(rbd_image_t image, GHashTable *meta, const gchar *prefix,
				 GError **error)
{
	GHashTableIter iter;
	gpointer key;

	g_hash_table_iter_init(&iter, meta);
	while (g_hash_table_iter_next(&iter, &key, NULL)) {
		gint r;
		if (!g_str_has_prefix(key, prefix))
			continue;
		r = rbd_metadata_remove(image, key);
		if (r < 0 && r != -ENOENT) {
			sbx_rbd_conn_set_error(error, r, "cannot remove image metadata %s",
					       (const gchar *)key);
			return FALSE;
		}
	}
	return TRUE;
}

gboolean
sbx_rbd_image_meta_replace_attributes(rbd_image_t image, GHashTable *meta, const gchar *prefix,
				      GHashTable *attributes, GError **error)
{
	GHashTableIter iter;
	gpointer key, value;

	/* set first, then drop the keys that are not given again */
	g_hash_table_iter_init(&iter, attributes);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		g_autofree gchar *full = g_strconcat(prefix, key, NULL);
		if (!sbx_rbd_image_meta_set(image, full, value, error))
			return FALSE;
	}
	g_hash_table_iter_init(&iter, meta);
	while (g_hash_table_iter_next(&iter, &key, NULL)) {
		const gchar *name = key;
		gint r;

		if (!g_str_has_prefix(name, prefix) ||
		    g_hash_table_contains(attributes, name + strlen(prefix)))
			continue;
		r = rbd_metadata_remove(image, name);
		if (r < 0 && r != -ENOENT) {
			sbx_rbd_conn_set_error(error, r, "cannot remove image metadata %s", name);
			return FALSE;
		}
	}
	return TRUE;
}
