/* open files (open, create, file*), umask, walk and expandGlob onto
 * Sandbox1's OpenFile/File*, Umask, Walk and Glob.
 *
 * The SDK's fileHandleId is this socket's own number for a sandboxd handle:
 * another socket cannot name it, and the socket's files are closed when it
 * closes (sandboxd closes them too if the gateway leaves the bus).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gunixfdlist.h>
#include <glib-unix.h>
#include <unistd.h>

#include "sbx-gw-call.h"
#include "sbx-gw-out-stream.h"

/* the SDK reads 64 KiB at a time; sandboxd answers at most this much */
#define SBX_GW_FILE_READ_MAX (64u * 1024u)
#define SBX_GW_FILE_WRITE_MAX (64u * 1024u - 4u)

static SbxDBusSandbox1 *
proxy_of(SbxGwCall *call)
{
	return call->conn->sandbox->proxy;
}

static void
on_close_done(GObject *source, GAsyncResult *res, gpointer data)
{
	g_autoptr(GError) error = NULL;
	if (!sbx_dbus_sandbox1_call_close_file_finish(SBX_DBUS_SANDBOX1(source), res, &error))
		g_debug("closing a file of a closed socket: %s", error->message);
}

void
sbx_gw_file_close_all(SbxGwConn *conn)
{
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, conn->files);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		if (!conn->sandbox->gone)
			sbx_dbus_sandbox1_call_close_file(conn->sandbox->proxy,
							  GPOINTER_TO_UINT(value), NULL,
							  on_close_done, NULL);
	}
	g_hash_table_remove_all(conn->files);
}

/* --- open, create --- */

static void
open_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwCall *call = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonBuilder) b = json_builder_new_immutable();
	SbxGwConn *conn = call->conn;
	guint32 handle = 0;

	if (!sbx_dbus_sandbox1_call_open_file_finish(SBX_DBUS_SANDBOX1(source), &handle, res,
						     &error)) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	if (conn->closed) {
		sbx_dbus_sandbox1_call_close_file(SBX_DBUS_SANDBOX1(source), handle, NULL,
						  on_close_done, NULL);
		sbx_gw_call_free(call);
		return;
	}
	do {
		conn->next_file++;
	} while (conn->next_file == 0 ||
		 g_hash_table_contains(conn->files, GUINT_TO_POINTER(conn->next_file)));
	g_hash_table_insert(conn->files, GUINT_TO_POINTER(conn->next_file),
			    GUINT_TO_POINTER(handle));
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "fileHandleId");
	json_builder_add_int_value(b, conn->next_file);
	json_builder_end_object(b);
	sbx_gw_call_return(call, json_builder_get_root(b));
}

void
sbx_gw_file_open(SbxGwCall *call)
{
	static const struct {
		const gchar *sdk;
		const gchar *dbus;
	} keys[] = {
	    {"read", "read"},	      {"write", "write"},   {"append", "append"},
	    {"truncate", "truncate"}, {"create", "create"}, {"createNew", "create_new"},
	};
	g_auto(GVariantBuilder) options = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
	g_autoptr(GError) error = NULL;
	const gchar *raw = NULL;
	g_autofree gchar *path = NULL;
	JsonObject *opts = NULL;

	if (!sbx_gw_rpc_get_string(call->params, "path", TRUE, &raw, &error) ||
	    !sbx_gw_rpc_get_object(call->params, "options", &opts, &error)) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	path = sbx_gw_server_resolve_path(call->conn->server, raw);
	if (g_str_equal(call->method, "create")) {
		/* Deno.create(): read, write, create, truncate */
		const gchar *const on[] = {"read", "write", "create", "truncate"};
		for (guint i = 0; i < G_N_ELEMENTS(on); i++)
			g_variant_builder_add(&options, "{sv}", on[i], g_variant_new_boolean(TRUE));
	} else if (opts == NULL) {
		/* Deno.open() without options reads */
		g_variant_builder_add(&options, "{sv}", "read", g_variant_new_boolean(TRUE));
	} else {
		gint64 mode = -1;
		for (guint i = 0; i < G_N_ELEMENTS(keys); i++) {
			gboolean v = FALSE;
			if (!sbx_gw_rpc_get_bool(opts, keys[i].sdk, &v, &error)) {
				sbx_gw_call_return_error(call, error);
				return;
			}
			if (v)
				g_variant_builder_add(&options, "{sv}", keys[i].dbus,
						      g_variant_new_boolean(TRUE));
		}
		if (!sbx_gw_rpc_get_int(opts, "mode", FALSE, &mode, &error)) {
			sbx_gw_call_return_error(call, error);
			return;
		}
		if (mode >= 0)
			g_variant_builder_add(&options, "{sv}", "mode",
					      g_variant_new_uint32((guint32)(mode & 07777)));
	}
	sbx_gw_fs_add_user(call, &options);
	sbx_dbus_sandbox1_call_open_file(proxy_of(call), path, g_variant_builder_end(&options),
					 NULL, open_ready, call);
}

/* --- file* --- */

static void
read_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwCall *call = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) bytes = NULL;
	g_autoptr(JsonBuilder) b = json_builder_new_immutable();
	gsize len = 0;
	const guint8 *p;

	if (!sbx_dbus_sandbox1_call_file_read_finish(SBX_DBUS_SANDBOX1(source), &bytes, res,
						     &error)) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	p = g_variant_get_fixed_array(bytes, &len, 1);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "data");
	if (len == 0) {
		json_builder_add_null_value(b);
	} else {
		g_autofree gchar *b64 = g_base64_encode(p, len);
		json_builder_add_string_value(b, b64);
	}
	json_builder_end_object(b);
	sbx_gw_call_return(call, json_builder_get_root(b));
}

static void
value_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwCall *call = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = g_dbus_proxy_call_finish(G_DBUS_PROXY(source), res, &error);
	g_autoptr(JsonBuilder) b = json_builder_new_immutable();
	gint64 v = 0;

	if (reply == NULL) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	if (g_variant_is_of_type(reply, G_VARIANT_TYPE("(u)")))
		v = g_variant_get_uint32(g_variant_get_child_value(reply, 0));
	else if (g_variant_is_of_type(reply, G_VARIANT_TYPE("(t)")))
		v = (gint64)MIN(g_variant_get_uint64(g_variant_get_child_value(reply, 0)),
				(guint64)G_MAXINT64);
	/* umask answers the bare number */
	if (g_str_equal(call->method, "umask")) {
		sbx_gw_call_return(call, json_node_init_int(json_node_alloc(), v));
		return;
	}
	json_builder_begin_object(b);
	json_builder_set_member_name(b, g_str_equal(call->method, "fileSeek") ? "position"
									      : "bytesWritten");
	json_builder_add_int_value(b, v);
	json_builder_end_object(b);
	sbx_gw_call_return(call, json_builder_get_root(b));
}

static void
stat_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwCall *call = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) info = NULL;

	if (!sbx_dbus_sandbox1_call_file_stat_finish(SBX_DBUS_SANDBOX1(source), &info, res,
						     &error)) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	sbx_gw_call_return(call, sbx_gw_fs_stat_to_json(info));
}

static void
close_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwCall *call = data;
	g_autoptr(GError) error = NULL;
	if (!sbx_dbus_sandbox1_call_close_file_finish(SBX_DBUS_SANDBOX1(source), res, &error))
		sbx_gw_call_return_error(call, error);
	else
		sbx_gw_call_return(call, NULL);
}

/* fileSeek's offset: a number or a bigint's decimal string */
static gboolean
get_offset(SbxGwCall *call, gint64 *offset, GError **error)
{
	JsonNode *node = json_object_get_member(call->params, "offset");
	if (node != NULL && JSON_NODE_HOLDS_VALUE(node) &&
	    json_node_get_value_type(node) == G_TYPE_STRING) {
		if (!g_ascii_string_to_signed(json_node_get_string(node), 10, G_MININT64,
					      G_MAXINT64, offset, NULL)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "offset: not an integer");
			return FALSE;
		}
		return TRUE;
	}
	/* negative offsets are fine here (sbx_gw_rpc_get_int() refuses them) */
	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) ||
	    (json_node_get_value_type(node) != G_TYPE_INT64 &&
	     json_node_get_value_type(node) != G_TYPE_DOUBLE)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "offset: expected an integer");
		return FALSE;
	}
	if (json_node_get_value_type(node) == G_TYPE_DOUBLE) {
		gdouble d = json_node_get_double(node);
		if (d != (gdouble)(gint64)d || d < -9e18 || d > 9e18) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "offset: expected an integer");
			return FALSE;
		}
		*offset = (gint64)d;
		return TRUE;
	}
	*offset = json_node_get_int(node);
	return TRUE;
}

void
sbx_gw_file_op(SbxGwCall *call)
{
	g_autoptr(GError) error = NULL;
	GDBusProxy *proxy = G_DBUS_PROXY(proxy_of(call));
	const gchar *m = call->method;
	gint64 id = 0;
	gpointer value = NULL;
	guint32 handle;

	if (!sbx_gw_rpc_get_int(call->params, "fileHandleId", TRUE, &id, &error)) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	if (id <= 0 || id > G_MAXUINT32 ||
	    !g_hash_table_lookup_extended(call->conn->files, GUINT_TO_POINTER((guint32)id), NULL,
					  &value)) {
		g_autofree gchar *message =
		    g_strdup_printf("Bad resource ID: file handle %" G_GINT64_FORMAT
				    " is not open on this connection",
				    id);
		sbx_gw_call_return_literal(call, "BadResource", "EBADF", message);
		return;
	}
	handle = GPOINTER_TO_UINT(value);
	if (g_str_equal(m, "fileRead")) {
		gint64 length = 0;
		if (!sbx_gw_rpc_get_int(call->params, "length", TRUE, &length, &error)) {
			sbx_gw_call_return_error(call, error);
			return;
		}
		if (length <= 0) {
			sbx_gw_call_return_literal(call, "TypeError", "EINVAL",
						   "length: a positive number of bytes");
			return;
		}
		sbx_dbus_sandbox1_call_file_read(proxy_of(call), handle,
						 (guint32)MIN(length, SBX_GW_FILE_READ_MAX), NULL,
						 read_ready, call);
	} else if (g_str_equal(m, "fileWrite")) {
		const gchar *b64 = NULL;
		g_autofree guchar *data = NULL;
		gsize len = 0;
		if (!sbx_gw_rpc_get_string(call->params, "data", TRUE, &b64, &error)) {
			sbx_gw_call_return_error(call, error);
			return;
		}
		data = g_base64_decode(b64, &len);
		/* a short write: the SDK writes the rest in another call */
		g_dbus_proxy_call(
		    proxy, "FileWrite",
		    g_variant_new("(u@ay)", handle,
				  g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, data,
							    MIN(len, SBX_GW_FILE_WRITE_MAX), 1)),
		    G_DBUS_CALL_FLAGS_NONE, -1, NULL, value_ready, call);
	} else if (g_str_equal(m, "fileSeek")) {
		gint64 offset = 0, whence = 0;
		if (!get_offset(call, &offset, &error) ||
		    !sbx_gw_rpc_get_int(call->params, "whence", TRUE, &whence, &error)) {
			sbx_gw_call_return_error(call, error);
			return;
		}
		g_dbus_proxy_call(
		    proxy, "FileSeek",
		    g_variant_new("(uxu)", handle, offset, (guint32)CLAMP(whence, 0, G_MAXUINT32)),
		    G_DBUS_CALL_FLAGS_NONE, -1, NULL, value_ready, call);
	} else if (g_str_equal(m, "fileStat")) {
		sbx_dbus_sandbox1_call_file_stat(proxy_of(call), handle, NULL, stat_ready, call);
	} else if (g_str_equal(m, "fileSync") || g_str_equal(m, "fileSyncData")) {
		g_dbus_proxy_call(proxy, "FileSync",
				  g_variant_new("(ub)", handle, g_str_equal(m, "fileSyncData")),
				  G_DBUS_CALL_FLAGS_NONE, -1, NULL, sbx_gw_call_void_ready, call);
	} else if (g_str_equal(m, "fileTruncate")) {
		gint64 len = 0;
		if (!sbx_gw_rpc_get_int(call->params, "len", FALSE, &len, &error)) {
			sbx_gw_call_return_error(call, error);
			return;
		}
		g_dbus_proxy_call(proxy, "FileTruncate",
				  g_variant_new("(ut)", handle, (guint64)MAX(len, 0)),
				  G_DBUS_CALL_FLAGS_NONE, -1, NULL, sbx_gw_call_void_ready, call);
	} else if (g_str_equal(m, "fileLock")) {
		gboolean exclusive = FALSE;
		if (!sbx_gw_rpc_get_bool(call->params, "exclusive", &exclusive, &error)) {
			sbx_gw_call_return_error(call, error);
			return;
		}
		/* it may wait for another holder: no D-Bus timeout */
		g_dbus_proxy_call(proxy, "FileLock", g_variant_new("(ub)", handle, exclusive),
				  G_DBUS_CALL_FLAGS_NONE, G_MAXINT, NULL, sbx_gw_call_void_ready,
				  call);
	} else if (g_str_equal(m, "fileUnlock")) {
		g_dbus_proxy_call(proxy, "FileUnlock", g_variant_new("(u)", handle),
				  G_DBUS_CALL_FLAGS_NONE, -1, NULL, sbx_gw_call_void_ready, call);
	} else if (g_str_equal(m, "fileUtime")) {
		gint64 at = 0, mt = 0;
		guint32 an = 0, mn = 0;
		if (!sbx_gw_fs_get_date(call, "atime", &at, &an, &error) ||
		    !sbx_gw_fs_get_date(call, "mtime", &mt, &mn, &error)) {
			sbx_gw_call_return_error(call, error);
			return;
		}
		g_dbus_proxy_call(proxy, "FileUtime",
				  g_variant_new("(uxuxu)", handle, at, an, mt, mn),
				  G_DBUS_CALL_FLAGS_NONE, -1, NULL, sbx_gw_call_void_ready, call);
	} else {
		/* fileClose: forgotten at once, so a second close is a bad resource */
		g_hash_table_remove(call->conn->files, GUINT_TO_POINTER((guint32)id));
		sbx_dbus_sandbox1_call_close_file(proxy_of(call), handle, NULL, close_ready, call);
	}
}

/* --- umask --- */

void
sbx_gw_file_umask(SbxGwCall *call)
{
	g_autoptr(GError) error = NULL;
	JsonNode *node = json_object_get_member(call->params, "mask");
	gint64 mask = -1;

	if (node != NULL && !JSON_NODE_HOLDS_NULL(node) &&
	    !sbx_gw_rpc_get_int(call->params, "mask", TRUE, &mask, &error)) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	if (mask > 0777 || (node != NULL && !JSON_NODE_HOLDS_NULL(node) && mask < 0)) {
		sbx_gw_call_return_literal(call, "TypeError", "EINVAL", "mask: 0 to 0o777");
		return;
	}
	g_dbus_proxy_call(G_DBUS_PROXY(proxy_of(call)), "Umask",
			  g_variant_new("(bu)", mask >= 0, (guint32)MAX(mask, 0)),
			  G_DBUS_CALL_FLAGS_NONE, -1, NULL, value_ready, call);
}

/* --- walk, expandGlob --- */

typedef struct {
	SbxGwCall *call;
	SbxGwOutStream *stream;
} SbxGwWalk;

static void
walk_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	g_autofree SbxGwWalk *w = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = g_dbus_proxy_call_finish(G_DBUS_PROXY(source), res, &error);

	/* the stream ends with this: an error event when the walk failed */
	if (reply == NULL)
		g_debug("walk stream %" G_GUINT64_FORMAT ": %s",
			sbx_gw_out_stream_get_id(w->stream), error->message);
	sbx_gw_out_stream_set_verdict(w->stream, error);
	g_object_unref(w->stream);
}

static gboolean
add_bool(GVariantBuilder *options, JsonObject *params, const gchar *sdk, const gchar *dbus,
	 GError **error)
{
	gboolean v = FALSE;
	if (json_object_get_member(params, sdk) == NULL ||
	    JSON_NODE_HOLDS_NULL(json_object_get_member(params, sdk)))
		return TRUE;
	if (!sbx_gw_rpc_get_bool(params, sdk, &v, error))
		return FALSE;
	g_variant_builder_add(options, "{sv}", dbus, g_variant_new_boolean(v));
	return TRUE;
}

/* match, skip: [{source, flags}] as a(sb) (ignore case) */
static gboolean
add_regexes(GVariantBuilder *options, JsonObject *params, const gchar *name, GError **error)
{
	JsonNode *node = json_object_get_member(params, name);
	GVariantBuilder list;
	JsonArray *arr;

	if (node == NULL || JSON_NODE_HOLDS_NULL(node))
		return TRUE;
	if (!JSON_NODE_HOLDS_ARRAY(node) || json_array_get_length(json_node_get_array(node)) > 64) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "%s: an array of at most 64 regular expressions", name);
		return FALSE;
	}
	arr = json_node_get_array(node);
	g_variant_builder_init(&list, G_VARIANT_TYPE("a(sb)"));
	for (guint i = 0; i < json_array_get_length(arr); i++) {
		JsonNode *e = json_array_get_element(arr, i);
		const gchar *source = NULL, *flags = "";
		if (!JSON_NODE_HOLDS_OBJECT(e) ||
		    !sbx_gw_rpc_get_string(json_node_get_object(e), "source", TRUE, &source,
					   error) ||
		    !sbx_gw_rpc_get_string(json_node_get_object(e), "flags", FALSE, &flags,
					   error)) {
			g_variant_builder_clear(&list);
			if (error != NULL && *error == NULL)
				g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
					    "%s: {source, flags} objects", name);
			return FALSE;
		}
		g_variant_builder_add(&list, "(sb)", source, strchr(flags, 'i') != NULL);
	}
	g_variant_builder_add(options, "{sv}", name, g_variant_builder_end(&list));
	return TRUE;
}

static gboolean
add_strings(GVariantBuilder *options, JsonObject *params, const gchar *sdk, const gchar *dbus,
	    const gchar *root, GError **error)
{
	g_autoptr(GPtrArray) list = NULL;
	GVariantBuilder b;

	if (!sbx_gw_rpc_get_string_array(params, sdk, &list, error))
		return FALSE;
	if (list == NULL)
		return TRUE;
	g_variant_builder_init(&b, G_VARIANT_TYPE_STRING_ARRAY);
	for (guint i = 0; i < list->len; i++) {
		const gchar *s = g_ptr_array_index(list, i);
		g_autofree gchar *abs =
		    root != NULL && !g_path_is_absolute(s) ? g_build_filename(root, s, NULL) : NULL;
		g_variant_builder_add(&b, "s", abs != NULL ? abs : s);
	}
	g_variant_builder_add(options, "{sv}", dbus, g_variant_builder_end(&b));
	return TRUE;
}

void
sbx_gw_file_walk(SbxGwCall *call)
{
	gboolean glob = g_str_equal(call->method, "expandGlob");
	g_auto(GVariantBuilder) options = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
	g_autoptr(GError) error = NULL;
	g_autoptr(GUnixFDList) fds = NULL;
	g_autoptr(JsonBuilder) b = json_builder_new_immutable();
	g_autofree gchar *path = NULL;
	g_autofree gchar *root = NULL;
	const gchar *raw = NULL;
	const gchar *raw_root = NULL;
	JsonObject *p = call->params;
	gboolean ok;
	gint pfd[2];
	SbxGwWalk *w;

	ok = sbx_gw_rpc_get_string(p, glob ? "glob" : "path", TRUE, &raw, &error) &&
	     sbx_gw_rpc_get_string(p, "root", FALSE, &raw_root, &error);
	if (ok) {
		root = sbx_gw_server_resolve_path(call->conn->server,
						  raw_root != NULL ? raw_root : ".");
		path = g_path_is_absolute(raw) ? g_strdup(raw) : g_build_filename(root, raw, NULL);
	}
	ok = ok && add_bool(&options, p, "includeDirs", "include_dirs", &error) &&
	     add_bool(&options, p, "followSymlinks", "follow_symlinks", &error) &&
	     add_bool(&options, p, "canonicalize", "canonicalize", &error);
	if (ok && glob) {
		ok = add_bool(&options, p, "extended", "extended", &error) &&
		     add_bool(&options, p, "globstar", "globstar", &error) &&
		     add_bool(&options, p, "caseInsensitive", "case_insensitive", &error) &&
		     add_strings(&options, p, "exclude", "exclude", root, &error);
	} else if (ok) {
		gint64 depth = -1;
		JsonNode *d = json_object_get_member(p, "maxDepth");
		ok = add_bool(&options, p, "includeFiles", "include_files", &error) &&
		     add_bool(&options, p, "includeSymlinks", "include_symlinks", &error) &&
		     add_regexes(&options, p, "match", &error) &&
		     add_regexes(&options, p, "skip", &error) &&
		     add_strings(&options, p, "exts", "exts", NULL, &error);
		/* Infinity arrives as null */
		if (ok && d != NULL && !JSON_NODE_HOLDS_NULL(d))
			ok = sbx_gw_rpc_get_int(p, "maxDepth", TRUE, &depth, &error);
		if (ok && depth >= 0)
			g_variant_builder_add(&options, "{sv}", "max_depth",
					      g_variant_new_uint32((guint32)MIN(depth, 256)));
		if (ok && d != NULL && !JSON_NODE_HOLDS_NULL(d) && depth < 0) {
			/* Deno: a negative maxDepth yields nothing */
			g_variant_builder_add(&options, "{sv}", "include_dirs",
					      g_variant_new_boolean(FALSE));
			g_variant_builder_add(&options, "{sv}", "include_files",
					      g_variant_new_boolean(FALSE));
			g_variant_builder_add(&options, "{sv}", "include_symlinks",
					      g_variant_new_boolean(FALSE));
			g_variant_builder_add(&options, "{sv}", "max_depth",
					      g_variant_new_uint32(0));
		}
	}
	if (!ok || !g_unix_open_pipe(pfd, FD_CLOEXEC, &error)) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	fds = g_unix_fd_list_new_from_array(&pfd[1], 1);
	w = g_new0(SbxGwWalk, 1);
	w->stream = sbx_gw_out_stream_new(call->conn, pfd[0]);
	sbx_gw_out_stream_set_walk_records(w->stream);
	sbx_gw_conn_add_out_stream(call->conn, w->stream);
	sbx_gw_fs_add_user(call, &options);
	g_dbus_proxy_call_with_unix_fd_list(
	    G_DBUS_PROXY(proxy_of(call)), glob ? "Glob" : "Walk",
	    g_variant_new("(s@a{sv}h)", path, g_variant_builder_end(&options), 0),
	    G_DBUS_CALL_FLAGS_NONE, G_MAXINT, fds, NULL, walk_ready, w);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "streamId");
	json_builder_add_int_value(b, (gint64)sbx_gw_out_stream_get_id(w->stream));
	json_builder_end_object(b);
	sbx_gw_call_return(call, json_builder_get_root(b));
	sbx_gw_out_stream_start(w->stream);
}
