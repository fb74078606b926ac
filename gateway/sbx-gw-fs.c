/* file methods onto Sandbox1's file API; file bytes go through pipes, never D-Bus.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <fcntl.h>
#include <gio/gunixfdlist.h>
#include <glib-unix.h>
#include <gio/gunixinputstream.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbx-gw-call.h"
#include "sbx-gw-in-stream.h"
#include "sbx-gw-out-stream.h"

static SbxDBusSandbox1 *
proxy_of(SbxGwCall *call)
{
	return call->conn->sandbox->proxy;
}

void
sbx_gw_fs_add_user(SbxGwCall *call, GVariantBuilder *options)
{
	const gchar *user = call->conn->server->config->user;
	if (user[0] != '\0')
		g_variant_builder_add(options, "{sv}", "user", g_variant_new_string(user));
}

/* options with only "user" */
static GVariant *
user_options(SbxGwCall *call)
{
	g_auto(GVariantBuilder) options = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
	sbx_gw_fs_add_user(call, &options);
	return g_variant_builder_end(&options);
}

static gchar *
get_path(SbxGwCall *call, const gchar *name, GError **error)
{
	const gchar *path = NULL;
	if (!sbx_gw_rpc_get_string(call->params, name, TRUE, &path, error))
		return NULL;
	return sbx_gw_server_resolve_path(call->conn->server, path);
}

/* a pipe whose far end is the only fd of @fds (handle 0) */
static gboolean
pipe_for_call(GUnixFDList **fds, gboolean far_reads, gint *near, GError **error)
{
	gint p[2];
	gint far;

	if (!g_unix_open_pipe(p, FD_CLOEXEC, error))
		return FALSE;
	far = far_reads ? p[0] : p[1];
	*near = far_reads ? p[1] : p[0];
	*fds = g_unix_fd_list_new_from_array(&far, 1);
	return TRUE;
}

/* --- readFile, readTextFile --- */

typedef struct {
	SbxGwCall *call;
	GInputStream *input;
	GByteArray *data;
	guint64 max;
	guint pending; /* the D-Bus reply and EOF */
	GError *error;
	gboolean text;
} SbxGwRead;

static void
read_step(SbxGwRead *rd)
{
	if (--rd->pending > 0)
		return;
	if (rd->error != NULL) {
		sbx_gw_call_return_error(rd->call, rd->error);
	} else if (rd->text) {
		g_autofree gchar *text =
		    g_utf8_make_valid((const gchar *)rd->data->data, (gssize)rd->data->len);
		sbx_gw_call_return(rd->call, json_node_init_string(json_node_alloc(), text));
	} else {
		g_autofree gchar *b64 = g_base64_encode(rd->data->data, rd->data->len);
		sbx_gw_call_return(rd->call, json_node_init_string(json_node_alloc(), b64));
	}
	g_clear_error(&rd->error);
	g_clear_object(&rd->input);
	g_byte_array_unref(rd->data);
	g_free(rd);
}

static void
read_chunk_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwRead *rd = data;
	g_autoptr(GBytes) chunk = NULL;
	g_autoptr(GError) error = NULL;

	chunk = g_input_stream_read_bytes_finish(G_INPUT_STREAM(source), res, &error);
	if (chunk == NULL || g_bytes_get_size(chunk) == 0) {
		if (chunk == NULL && rd->error == NULL)
			rd->error = g_steal_pointer(&error);
		g_input_stream_close(rd->input, NULL, NULL);
		read_step(rd);
		return;
	}
	if (rd->data->len + g_bytes_get_size(chunk) > rd->max) {
		/* the SDK takes the whole file in one frame: refuse beyond the bound */
		if (rd->error == NULL)
			rd->error = g_error_new(
			    G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
			    "the file is larger than %" G_GUINT64_FORMAT
			    " MiB ([gateway] MaxReadFileMiB); read it in parts with open()",
			    rd->max / (1024 * 1024));
		g_input_stream_close(rd->input, NULL, NULL);
		read_step(rd);
		return;
	}
	g_byte_array_append(rd->data, g_bytes_get_data(chunk, NULL),
			    (guint)g_bytes_get_size(chunk));
	g_input_stream_read_bytes_async(rd->input, 64 * 1024, G_PRIORITY_DEFAULT, NULL,
					read_chunk_ready, rd);
}

static void
read_call_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwRead *rd = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;

	reply = g_dbus_proxy_call_with_unix_fd_list_finish(G_DBUS_PROXY(source), NULL, res, &error);
	/* its error wins over the short read it causes */
	if (reply == NULL) {
		g_clear_error(&rd->error);
		rd->error = g_steal_pointer(&error);
	}
	read_step(rd);
}

void
sbx_gw_fs_read_file(SbxGwCall *call)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GUnixFDList) fds = NULL;
	g_autofree gchar *path = get_path(call, "path", &error);
	SbxGwRead *rd;
	gint near = -1;

	if (path == NULL || !pipe_for_call(&fds, FALSE, &near, &error)) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	rd = g_new0(SbxGwRead, 1);
	rd->call = call;
	rd->text = g_str_equal(call->method, "readTextFile");
	rd->max = call->conn->server->config->max_read_file_bytes;
	rd->data = g_byte_array_new();
	rd->input = g_unix_input_stream_new(near, TRUE);
	rd->pending = 2;
	g_dbus_proxy_call_with_unix_fd_list(
	    G_DBUS_PROXY(proxy_of(call)), "ReadFile",
	    g_variant_new("(s@a{sv}h)", path, user_options(call), 0), G_DBUS_CALL_FLAGS_NONE, -1,
	    fds, NULL, read_call_ready, rd);
	/* the list holds its own copy; ours must go or the pipe never ends */
	g_clear_object(&fds);
	g_input_stream_read_bytes_async(rd->input, 64 * 1024, G_PRIORITY_DEFAULT, NULL,
					read_chunk_ready, rd);
}

/* --- writeFile, writeTextFile --- */

typedef struct {
	SbxGwCall *call;
	SbxGwInStream *stream;
	gchar *path;
	GVariant *options;
	guint pending; /* the D-Bus reply and the stream */
	GError *error;
} SbxGwWrite;

static void
write_step(SbxGwWrite *wr)
{
	if (--wr->pending > 0)
		return;
	if (wr->error != NULL)
		sbx_gw_call_return_error(wr->call, wr->error);
	else
		sbx_gw_call_return(wr->call, NULL);
	g_clear_error(&wr->error);
	g_clear_object(&wr->stream);
	g_clear_pointer(&wr->options, g_variant_unref);
	g_free(wr->path);
	g_free(wr);
}

static void
write_stream_done(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwWrite *wr = data;
	g_autoptr(GError) error = NULL;
	if (!sbx_gw_in_stream_wait_finish(SBX_GW_IN_STREAM(source), res, &error) &&
	    wr->error == NULL)
		wr->error = g_steal_pointer(&error);
	write_step(wr);
}

static void
write_call_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwWrite *wr = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;

	reply = g_dbus_proxy_call_with_unix_fd_list_finish(G_DBUS_PROXY(source), NULL, res, &error);
	if (reply == NULL) {
		g_clear_error(&wr->error);
		wr->error = g_steal_pointer(&error);
		/* nobody reads the pipe any more */
		sbx_gw_in_stream_fail(wr->stream, "the write failed");
	}
	write_step(wr);
}

static void
write_start(SbxGwWrite *wr)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GUnixFDList) fds = NULL;
	gint near = -1;

	if (!pipe_for_call(&fds, TRUE, &near, &error)) {
		wr->error = g_steal_pointer(&error);
		wr->pending = 1;
		write_step(wr);
		return;
	}
	wr->pending = 2;
	g_dbus_proxy_call_with_unix_fd_list(G_DBUS_PROXY(proxy_of(wr->call)), "WriteFile",
					    g_variant_new("(s@a{sv}h)", wr->path, wr->options, 0),
					    G_DBUS_CALL_FLAGS_NONE, -1, fds, NULL, write_call_ready,
					    wr);
	g_clear_object(&fds);
	sbx_gw_in_stream_set_sink(wr->stream, near);
	sbx_gw_in_stream_wait_async(wr->stream, write_stream_done, wr);
}

/* create: false means the file must exist */
static void
write_exists_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwWrite *wr = data;
	g_autoptr(GVariant) info = NULL;
	g_autoptr(GError) error = NULL;

	if (!sbx_dbus_sandbox1_call_stat_finish(SBX_DBUS_SANDBOX1(source), &info, res, &error)) {
		sbx_gw_in_stream_fail(wr->stream, "the write failed");
		wr->error = g_steal_pointer(&error);
		wr->pending = 1;
		write_step(wr);
		return;
	}
	write_start(wr);
}

static SbxGwInStream *
write_content(SbxGwCall *call, GError **error)
{
	const gchar *content = NULL;
	gint64 stream_id = -1;
	SbxGwInStream *stream;

	if (!sbx_gw_rpc_get_string(call->params, "content", FALSE, &content, error) ||
	    !sbx_gw_rpc_get_int(call->params, "contentStreamId", FALSE, &stream_id, error))
		return NULL;
	if (content != NULL) {
		g_autoptr(GBytes) bytes = NULL;
		if (g_str_equal(call->method, "writeTextFile")) {
			bytes = g_bytes_new(content, strlen(content));
		} else {
			gsize len = 0;
			guchar *raw = g_base64_decode(content, &len);
			bytes = g_bytes_new_take(raw, len);
		}
		return sbx_gw_in_stream_new_for_bytes(call->conn, bytes);
	}
	if (stream_id < 0) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "content or contentStreamId is required");
		return NULL;
	}
	stream = sbx_gw_conn_in_stream(call->conn, (guint64)stream_id);
	if (stream == NULL) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_OPEN_FILES,
				    "too many streams on this socket");
		return NULL;
	}
	if (!sbx_gw_in_stream_claim(stream, error))
		return NULL;
	return g_object_ref(stream);
}

void
sbx_gw_fs_write_file(SbxGwCall *call)
{
	g_auto(GVariantBuilder) options = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = get_path(call, "path", &error);
	JsonObject *opts = NULL;
	gboolean append = FALSE;
	gboolean create = TRUE;
	gboolean create_new = FALSE;
	gint64 mode = -1;
	SbxGwWrite *wr;

	if (path == NULL || !sbx_gw_rpc_get_object(call->params, "options", &opts, &error) ||
	    (opts != NULL && (!sbx_gw_rpc_get_bool(opts, "append", &append, &error) ||
			      !sbx_gw_rpc_get_bool(opts, "create", &create, &error) ||
			      !sbx_gw_rpc_get_bool(opts, "createNew", &create_new, &error) ||
			      !sbx_gw_rpc_get_int(opts, "mode", FALSE, &mode, &error)))) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	wr = g_new0(SbxGwWrite, 1);
	wr->call = call;
	wr->path = g_steal_pointer(&path);
	wr->stream = write_content(call, &error);
	if (wr->stream == NULL) {
		wr->error = g_steal_pointer(&error);
		wr->pending = 1;
		write_step(wr);
		return;
	}
	if (append)
		g_variant_builder_add(&options, "{sv}", "append", g_variant_new_boolean(TRUE));
	if (create_new)
		g_variant_builder_add(&options, "{sv}", "exclusive", g_variant_new_boolean(TRUE));
	if (mode >= 0)
		g_variant_builder_add(&options, "{sv}", "mode",
				      g_variant_new_uint32((guint32)MIN(mode, G_MAXUINT32)));
	sbx_gw_fs_add_user(call, &options);
	wr->options = g_variant_ref_sink(g_variant_builder_end(&options));
	if (!create && !create_new) {
		sbx_dbus_sandbox1_call_stat(proxy_of(call), wr->path, user_options(call), NULL,
					    write_exists_ready, wr);
		return;
	}
	write_start(wr);
}

/* --- stat, lstat --- */

static gchar *
iso_time(GVariant *info, const gchar *key)
{
	gint64 secs = 0;
	guint32 nsec = 0;
	g_autofree gchar *nkey = g_strdup_printf("%s_nsec", key);
	g_autoptr(GDateTime) base = NULL;
	g_autoptr(GDateTime) dt = NULL;

	g_variant_lookup(info, key, "x", &secs);
	g_variant_lookup(info, nkey, "u", &nsec);
	base = g_date_time_new_from_unix_utc(secs);
	if (base == NULL)
		base = g_date_time_new_from_unix_utc(0);
	dt = g_date_time_add(base, (GTimeSpan)(nsec / 1000));
	return g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S.%fZ");
}

/* Deno.FileInfo of Stat's (or FileStat's) answer */
JsonNode *
sbx_gw_fs_stat_to_json(GVariant *info)
{
	g_autoptr(JsonBuilder) b = json_builder_new_immutable();
	g_autofree gchar *mtime = NULL;
	g_autofree gchar *atime = NULL;
	g_autofree gchar *ctime = NULL;
	const gchar *type = "other";
	guint64 size = 0;
	guint32 mode = 0, uid = 0, gid = 0, nlink = 0;
	guint32 type_bits;

	g_variant_lookup(info, "type", "&s", &type);
	g_variant_lookup(info, "size", "t", &size);
	g_variant_lookup(info, "mode", "u", &mode);
	g_variant_lookup(info, "uid", "u", &uid);
	g_variant_lookup(info, "gid", "u", &gid);
	g_variant_lookup(info, "nlink", "u", &nlink);
	mtime = iso_time(info, "mtime");
	atime = iso_time(info, "atime");
	ctime = iso_time(info, "ctime");
	type_bits = g_str_equal(type, "file")	     ? S_IFREG
		    : g_str_equal(type, "directory") ? S_IFDIR
		    : g_str_equal(type, "symlink")   ? S_IFLNK
						     : 0;
	json_builder_begin_object(b);
#define BOOL(name, value)                                                                          \
	json_builder_set_member_name(b, name);                                                     \
	json_builder_add_boolean_value(b, value)
#define INT(name, value)                                                                           \
	json_builder_set_member_name(b, name);                                                     \
	json_builder_add_int_value(b, (gint64)(value))
#define STR(name, value)                                                                           \
	json_builder_set_member_name(b, name);                                                     \
	json_builder_add_string_value(b, value)
	BOOL("isFile", type_bits == S_IFREG);
	BOOL("isDirectory", type_bits == S_IFDIR);
	BOOL("isSymlink", type_bits == S_IFLNK);
	INT("size", size);
	STR("mtime", mtime);
	STR("atime", atime);
	/* the guest reports no birth time; the SDK needs a date */
	STR("birthtime", ctime);
	STR("ctime", ctime);
	INT("mode", type_bits | (mode & 07777));
	INT("dev", 0);
	INT("ino", 0);
	INT("nlink", nlink);
	INT("uid", uid);
	INT("gid", gid);
	INT("rdev", 0);
	INT("blksize", 4096);
	INT("blocks", (size + 511) / 512);
	BOOL("isBlockDevice", FALSE);
	BOOL("isCharDevice", FALSE);
	BOOL("isFifo", FALSE);
	BOOL("isSocket", FALSE);
#undef BOOL
#undef INT
#undef STR
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

static void
stat_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwCall *call = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) info = NULL;

	if (!sbx_dbus_sandbox1_call_stat_finish(SBX_DBUS_SANDBOX1(source), &info, res, &error)) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	sbx_gw_call_return(call, sbx_gw_fs_stat_to_json(info));
}

void
sbx_gw_fs_stat(SbxGwCall *call)
{
	g_auto(GVariantBuilder) options = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = get_path(call, "path", &error);

	if (path == NULL) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	if (g_str_equal(call->method, "lstat"))
		g_variant_builder_add(&options, "{sv}", "follow_symlinks",
				      g_variant_new_boolean(FALSE));
	sbx_gw_fs_add_user(call, &options);
	sbx_dbus_sandbox1_call_stat(proxy_of(call), path, g_variant_builder_end(&options), NULL,
				    stat_ready, call);
}

/* --- readDir --- */

static void
read_dir_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwCall *call = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) entries = NULL;
	g_autoptr(JsonBuilder) b = json_builder_new_immutable();
	GVariantIter iter;
	GVariant *entry;

	if (!sbx_dbus_sandbox1_call_read_dir_with_options_finish(SBX_DBUS_SANDBOX1(source),
								 &entries, res, &error)) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	json_builder_begin_array(b);
	g_variant_iter_init(&iter, entries);
	while ((entry = g_variant_iter_next_value(&iter)) != NULL) {
		const gchar *name = "";
		const gchar *type = "other";
		g_variant_lookup(entry, "name", "&s", &name);
		g_variant_lookup(entry, "type", "&s", &type);
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "name");
		json_builder_add_string_value(b, name);
		json_builder_set_member_name(b, "isFile");
		json_builder_add_boolean_value(b, g_str_equal(type, "file"));
		json_builder_set_member_name(b, "isDirectory");
		json_builder_add_boolean_value(b, g_str_equal(type, "directory"));
		json_builder_set_member_name(b, "isSymlink");
		json_builder_add_boolean_value(b, g_str_equal(type, "symlink"));
		json_builder_end_object(b);
		g_variant_unref(entry);
	}
	json_builder_end_array(b);
	sbx_gw_call_return(call, json_builder_get_root(b));
}

void
sbx_gw_fs_read_dir(SbxGwCall *call)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = get_path(call, "path", &error);

	if (path == NULL) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	sbx_dbus_sandbox1_call_read_dir_with_options(proxy_of(call), path, user_options(call), NULL,
						     read_dir_ready, call);
}

/* --- mkdir, remove, rename, chmod --- */

void
sbx_gw_fs_mkdir(SbxGwCall *call)
{
	g_auto(GVariantBuilder) options = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = get_path(call, "path", &error);
	JsonObject *opts = NULL;
	gboolean recursive = FALSE;
	gint64 mode = -1;

	if (path == NULL || !sbx_gw_rpc_get_object(call->params, "options", &opts, &error) ||
	    (opts != NULL && (!sbx_gw_rpc_get_bool(opts, "recursive", &recursive, &error) ||
			      !sbx_gw_rpc_get_int(opts, "mode", FALSE, &mode, &error)))) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	if (recursive)
		g_variant_builder_add(&options, "{sv}", "parents", g_variant_new_boolean(TRUE));
	if (mode >= 0)
		g_variant_builder_add(&options, "{sv}", "mode",
				      g_variant_new_uint32((guint32)MIN(mode, G_MAXUINT32)));
	sbx_gw_fs_add_user(call, &options);
	g_dbus_proxy_call(G_DBUS_PROXY(proxy_of(call)), "MakeDirectory",
			  g_variant_new("(sa{sv})", path, &options), G_DBUS_CALL_FLAGS_NONE, -1,
			  NULL, sbx_gw_call_void_ready, call);
}

void
sbx_gw_fs_remove(SbxGwCall *call)
{
	g_auto(GVariantBuilder) options = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = get_path(call, "path", &error);
	JsonObject *opts = NULL;
	gboolean recursive = FALSE;

	if (path == NULL || !sbx_gw_rpc_get_object(call->params, "options", &opts, &error) ||
	    (opts != NULL && !sbx_gw_rpc_get_bool(opts, "recursive", &recursive, &error))) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	if (recursive)
		g_variant_builder_add(&options, "{sv}", "recursive", g_variant_new_boolean(TRUE));
	sbx_gw_fs_add_user(call, &options);
	g_dbus_proxy_call(G_DBUS_PROXY(proxy_of(call)), "Remove",
			  g_variant_new("(sa{sv})", path, &options), G_DBUS_CALL_FLAGS_NONE, -1,
			  NULL, sbx_gw_call_void_ready, call);
}

void
sbx_gw_fs_rename(SbxGwCall *call)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *from = get_path(call, "oldPath", &error);
	g_autofree gchar *to = from != NULL ? get_path(call, "newPath", &error) : NULL;

	if (to == NULL) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	g_dbus_proxy_call(G_DBUS_PROXY(proxy_of(call)), "RenameWithOptions",
			  g_variant_new("(ss@a{sv})", from, to, user_options(call)),
			  G_DBUS_CALL_FLAGS_NONE, -1, NULL, sbx_gw_call_void_ready, call);
}

void
sbx_gw_fs_chmod(SbxGwCall *call)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = get_path(call, "path", &error);
	gint64 mode = 0;

	if (path == NULL || !sbx_gw_rpc_get_int(call->params, "mode", TRUE, &mode, &error)) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	g_dbus_proxy_call(
	    G_DBUS_PROXY(proxy_of(call)), "ChmodWithOptions",
	    g_variant_new("(su@a{sv})", path, (guint32)MIN(mode, G_MAXUINT32), user_options(call)),
	    G_DBUS_CALL_FLAGS_NONE, -1, NULL, sbx_gw_call_void_ready, call);
}

/* --- symlink, link, copyFile, truncate, chown, utime, readLink --- */

static void
two_paths(SbxGwCall *call, const gchar *from_name, const gchar *to_name, const gchar *method)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *from = get_path(call, from_name, &error);
	g_autofree gchar *to = from != NULL ? get_path(call, to_name, &error) : NULL;

	if (to == NULL) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	g_dbus_proxy_call(G_DBUS_PROXY(proxy_of(call)), method,
			  g_variant_new("(ss@a{sv})", from, to, user_options(call)),
			  G_DBUS_CALL_FLAGS_NONE, -1, NULL, sbx_gw_call_void_ready, call);
}

void
sbx_gw_fs_symlink(SbxGwCall *call)
{
	two_paths(call, "target", "path", "SymlinkWithOptions");
}

void
sbx_gw_fs_link(SbxGwCall *call)
{
	two_paths(call, "target", "path", "LinkWithOptions");
}

void
sbx_gw_fs_copy_file(SbxGwCall *call)
{
	two_paths(call, "fromPath", "toPath", "CopyFileWithOptions");
}

void
sbx_gw_fs_truncate(SbxGwCall *call)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = get_path(call, "name", &error);
	JsonNode *node = json_object_get_member(call->params, "length");
	gint64 length = 0;

	if (path == NULL) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	/* the SDK's length is optional (0) */
	if (node != NULL && !JSON_NODE_HOLDS_NULL(node) &&
	    !sbx_gw_rpc_get_int(call->params, "length", TRUE, &length, &error)) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	if (length < 0) {
		g_set_error_literal(&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "length: must not be negative");
		sbx_gw_call_return_error(call, error);
		return;
	}
	g_dbus_proxy_call(G_DBUS_PROXY(proxy_of(call)), "TruncateWithOptions",
			  g_variant_new("(st@a{sv})", path, (guint64)length, user_options(call)),
			  G_DBUS_CALL_FLAGS_NONE, -1, NULL, sbx_gw_call_void_ready, call);
}

/* an id, or null: unchanged */
static gboolean
get_id(SbxGwCall *call, const gchar *name, guint32 *id, GError **error)
{
	JsonNode *node = json_object_get_member(call->params, name);
	gint64 v = 0;

	*id = G_MAXUINT32;
	if (node == NULL || JSON_NODE_HOLDS_NULL(node))
		return TRUE;
	if (!sbx_gw_rpc_get_int(call->params, name, TRUE, &v, error))
		return FALSE;
	if (v < 0 || v >= G_MAXUINT32) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s: out of range",
			    name);
		return FALSE;
	}
	*id = (guint32)v;
	return TRUE;
}

void
sbx_gw_fs_chown(SbxGwCall *call)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = get_path(call, "path", &error);
	guint32 uid = 0;
	guint32 gid = 0;

	if (path == NULL || !get_id(call, "uid", &uid, &error) ||
	    !get_id(call, "gid", &gid, &error)) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	g_dbus_proxy_call(G_DBUS_PROXY(proxy_of(call)), "ChownWithOptions",
			  g_variant_new("(suu@a{sv})", path, uid, gid, user_options(call)),
			  G_DBUS_CALL_FLAGS_NONE, -1, NULL, sbx_gw_call_void_ready, call);
}

/* a Date arrives as its ISO 8601 JSON string */
gboolean
sbx_gw_fs_get_date(SbxGwCall *call, const gchar *name, gint64 *sec, guint32 *nsec, GError **error)
{
	const gchar *text = NULL;
	g_autoptr(GDateTime) dt = NULL;

	if (!sbx_gw_rpc_get_string(call->params, name, TRUE, &text, error))
		return FALSE;
	dt = g_date_time_new_from_iso8601(text, NULL);
	if (dt == NULL || g_date_time_to_unix(dt) < 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "%s: expected a date after 1970", name);
		return FALSE;
	}
	*sec = g_date_time_to_unix(dt);
	if (nsec != NULL)
		*nsec = (guint32)g_date_time_get_microsecond(dt) * 1000u;
	return TRUE;
}

void
sbx_gw_fs_utime(SbxGwCall *call)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = get_path(call, "path", &error);
	gint64 atime = 0;
	gint64 mtime = 0;

	if (path == NULL || !sbx_gw_fs_get_date(call, "atime", &atime, NULL, &error) ||
	    !sbx_gw_fs_get_date(call, "mtime", &mtime, NULL, &error)) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	g_dbus_proxy_call(G_DBUS_PROXY(proxy_of(call)), "UtimeWithOptions",
			  g_variant_new("(sxx@a{sv})", path, atime, mtime, user_options(call)),
			  G_DBUS_CALL_FLAGS_NONE, -1, NULL, sbx_gw_call_void_ready, call);
}

static void
read_link_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwCall *call = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) info = NULL;
	const gchar *target = NULL;

	if (!sbx_dbus_sandbox1_call_stat_finish(SBX_DBUS_SANDBOX1(source), &info, res, &error)) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	/* sandboxd's lstat carries the target of a symlink */
	if (!g_variant_lookup(info, "link_target", "&s", &target)) {
		g_set_error_literal(&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "readLink: not a symlink");
		sbx_gw_call_return_error(call, error);
		return;
	}
	sbx_gw_call_return(call, json_node_init_string(json_node_alloc(), target));
}

void
sbx_gw_fs_read_link(SbxGwCall *call)
{
	g_auto(GVariantBuilder) options = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = get_path(call, "path", &error);

	if (path == NULL) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	g_variant_builder_add(&options, "{sv}", "follow_symlinks", g_variant_new_boolean(FALSE));
	sbx_gw_fs_add_user(call, &options);
	sbx_dbus_sandbox1_call_stat(proxy_of(call), path, g_variant_builder_end(&options), NULL,
				    read_link_ready, call);
}

/* --- realPath, makeTempDir, makeTempFile --- */

static void
path_reply_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwCall *call = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = g_dbus_proxy_call_finish(G_DBUS_PROXY(source), res, &error);
	const gchar *path = NULL;

	if (reply == NULL) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	g_variant_get(reply, "(&s)", &path);
	sbx_gw_call_return(call, json_node_init_string(json_node_alloc(), path));
}

void
sbx_gw_fs_real_path(SbxGwCall *call)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = get_path(call, "path", &error);

	if (path == NULL) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	g_dbus_proxy_call(G_DBUS_PROXY(proxy_of(call)), "RealPathWithOptions",
			  g_variant_new("(s@a{sv})", path, user_options(call)),
			  G_DBUS_CALL_FLAGS_NONE, -1, NULL, path_reply_ready, call);
}

static void
make_temp(SbxGwCall *call, gboolean directory)
{
	g_auto(GVariantBuilder) options = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *dir = NULL;
	JsonObject *opts = NULL;
	const gchar *dir_opt = NULL;
	const gchar *prefix = NULL;
	const gchar *suffix = NULL;

	if (!sbx_gw_rpc_get_object(call->params, "options", &opts, &error) ||
	    (opts != NULL && (!sbx_gw_rpc_get_string(opts, "dir", FALSE, &dir_opt, &error) ||
			      !sbx_gw_rpc_get_string(opts, "prefix", FALSE, &prefix, &error) ||
			      !sbx_gw_rpc_get_string(opts, "suffix", FALSE, &suffix, &error)))) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	/* the guest's temporary folder, as Deno's os.tmpdir() */
	dir = sbx_gw_server_resolve_path(call->conn->server, dir_opt != NULL ? dir_opt : "/tmp");
	if (prefix != NULL)
		g_variant_builder_add(&options, "{sv}", "prefix", g_variant_new_string(prefix));
	if (suffix != NULL)
		g_variant_builder_add(&options, "{sv}", "suffix", g_variant_new_string(suffix));
	if (directory)
		g_variant_builder_add(&options, "{sv}", "directory", g_variant_new_boolean(TRUE));
	sbx_gw_fs_add_user(call, &options);
	g_dbus_proxy_call(G_DBUS_PROXY(proxy_of(call)), "MakeTemp",
			  g_variant_new("(sa{sv})", dir, &options), G_DBUS_CALL_FLAGS_NONE, -1,
			  NULL, path_reply_ready, call);
}

void
sbx_gw_fs_make_temp_dir(SbxGwCall *call)
{
	make_temp(call, TRUE);
}

void
sbx_gw_fs_make_temp_file(SbxGwCall *call)
{
	make_temp(call, FALSE);
}
