/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "sbx-ch-snapshot.h"

static const gchar *const snapshot_files[] = {"config.json", "state.json", "memory-ranges", NULL};

static gboolean
set_error_errno(GError **error, const gchar *what, const gchar *path)
{
	gint errsv = errno;
	g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "%s %s: %s", what, path,
		    g_strerror(errsv));
	return FALSE;
}

/* config.json is ours to edit (docs/snapshot_restore.md): the paths a clone
 * must not share with its template or its siblings */
static gboolean
rewrite_config(JsonObject *config, const gchar *overlay, const gchar *vsock_socket,
	       const gchar *console_log, GError **error)
{
	JsonObject *vsock = json_object_get_object_member(config, "vsock");
	JsonObject *serial = json_object_get_object_member(config, "serial");
	JsonArray *disks = json_object_has_member(config, "disks")
			       ? json_object_get_array_member(config, "disks")
			       : NULL;

	if (vsock == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "snapshot has no vsock device: not taken by this backend");
		return FALSE;
	}
	json_object_set_string_member(vsock, "socket", vsock_socket);
	if (serial != NULL && console_log != NULL &&
	    g_strcmp0(json_object_get_string_member_with_default(serial, "mode", ""), "File") == 0)
		json_object_set_string_member(serial, "file", console_log);
	for (guint i = 0; disks != NULL && i < json_array_get_length(disks); i++) {
		JsonObject *disk = json_array_get_object_element(disks, i);
		if (g_strcmp0(json_object_get_string_member_with_default(disk, "id", ""),
			      "disk0") != 0) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "snapshot has disks besides the root disk");
			return FALSE;
		}
		if (overlay == NULL) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "snapshot has a root disk but the clone has no overlay");
			return FALSE;
		}
		json_object_set_string_member(disk, "path", overlay);
	}
	return TRUE;
}

gboolean
sbx_ch_snapshot_prepare_restore(const gchar *snapshot_dir, const gchar *restore_dir,
				const gchar *overlay, const gchar *vsock_socket,
				const gchar *console_log, GError **error)
{
	g_autofree gchar *src_config = g_build_filename(snapshot_dir, "config.json", NULL);
	g_autofree gchar *dst_config = g_build_filename(restore_dir, "config.json", NULL);
	g_autofree gchar *src_state = g_build_filename(snapshot_dir, "state.json", NULL);
	g_autofree gchar *dst_state = g_build_filename(restore_dir, "state.json", NULL);
	g_autofree gchar *src_mem = g_build_filename(snapshot_dir, "memory-ranges", NULL);
	g_autofree gchar *dst_mem = g_build_filename(restore_dir, "memory-ranges", NULL);
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autofree gchar *state = NULL;
	gsize state_len = 0;
	JsonNode *root;

	if (g_mkdir(restore_dir, 0755) != 0 && errno != EEXIST)
		return set_error_errno(error, "mkdir", restore_dir);
	if (!json_parser_load_from_file(parser, src_config, error))
		return FALSE;
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: not a VM config",
			    src_config);
		return FALSE;
	}
	if (!rewrite_config(json_node_get_object(root), overlay, vsock_socket, console_log, error))
		return FALSE;
	json_generator_set_root(gen, root);
	if (!json_generator_to_file(gen, dst_config, error))
		return FALSE;
	/* small (device state): a copy; the memory is large and only read: a link */
	if (!g_file_get_contents(src_state, &state, &state_len, error) ||
	    !g_file_set_contents(dst_state, state, (gssize)state_len, error))
		return FALSE;
	g_unlink(dst_mem);
	if (symlink(src_mem, dst_mem) != 0)
		return set_error_errno(error, "symlink", dst_mem);
	return TRUE;
}

void
sbx_ch_snapshot_remove_restore(const gchar *restore_dir)
{
	for (guint i = 0; snapshot_files[i] != NULL; i++) {
		g_autofree gchar *path = g_build_filename(restore_dir, snapshot_files[i], NULL);
		g_unlink(path);
	}
	g_rmdir(restore_dir);
}

gboolean
sbx_ch_snapshot_seal(const gchar *snapshot_dir, GError **error)
{
	g_autofree gchar *root = g_build_filename(snapshot_dir, SBX_CH_SNAPSHOT_ROOT, NULL);

	for (guint i = 0; snapshot_files[i] != NULL; i++) {
		g_autofree gchar *path = g_build_filename(snapshot_dir, snapshot_files[i], NULL);
		if (g_chmod(path, 0444) != 0)
			return set_error_errno(error, "chmod", path);
	}
	if (g_file_test(root, G_FILE_TEST_EXISTS) && g_chmod(root, 0444) != 0)
		return set_error_errno(error, "chmod", root);
	if (g_chmod(snapshot_dir, 0755) != 0)
		return set_error_errno(error, "chmod", snapshot_dir);
	return TRUE;
}

JsonNode *
sbx_ch_snapshot_restore_body(const gchar *restore_dir, const SbxChVersion *version,
			     gboolean on_demand)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autofree gchar *url = g_strconcat("file://", restore_dir, NULL);

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "source_url");
	json_builder_add_string_value(b, url);
	json_builder_set_member_name(b, "prefault");
	json_builder_add_boolean_value(b, FALSE);
	if (sbx_ch_version_has_restore_mode(version)) {
		/* OnDemand maps pages as the guest touches them (userfaultfd) */
		json_builder_set_member_name(b, "memory_restore_mode");
		json_builder_add_string_value(b, on_demand ? "OnDemand" : "Copy");
		json_builder_set_member_name(b, "resume");
		json_builder_add_boolean_value(b, TRUE);
	}
	json_builder_end_object(b);
	return json_builder_get_root(b);
}
