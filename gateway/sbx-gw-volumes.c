/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "sbx-gw-volumes.h"

#define SBX_GW_BUS_NAME "org.sandboxd"
#define LIST_DEFAULT_LIMIT 30
#define LIST_MAX_LIMIT 100

gboolean
sbx_gw_volumes_slug_is_valid(const gchar *slug)
{
	gsize len = slug != NULL ? strlen(slug) : 0;

	if (len < 2 || len > 32 || slug[0] == '-' || slug[len - 1] == '-')
		return FALSE;
	if (len >= 4 && slug[2] == '-' && slug[3] == '-')
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_islower(slug[i]) && !g_ascii_isdigit(slug[i]) && slug[i] != '-')
			return FALSE;
	}
	return TRUE;
}

gboolean
sbx_gw_volumes_parse_capacity(JsonNode *node, guint64 *bytes, GError **error)
{
	static const struct {
		const gchar *suffix;
		guint64 factor;
	} units[] = {
	    {"GiB", 1ULL << 30},   {"MiB", 1ULL << 20}, {"KiB", 1ULL << 10},
	    {"GB", 1000000000ULL}, {"MB", 1000000ULL},	{"kB", 1000ULL},
	};
	const gchar *text;
	gchar *end = NULL;
	gdouble n;

	if (node != NULL && JSON_NODE_HOLDS_VALUE(node) &&
	    (json_node_get_value_type(node) == G_TYPE_INT64 ||
	     json_node_get_value_type(node) == G_TYPE_DOUBLE)) {
		n = json_node_get_double(node);
		if (n >= 1 && n <= (gdouble)(1ULL << 50)) {
			*bytes = (guint64)n;
			return TRUE;
		}
	} else if (node != NULL && JSON_NODE_HOLDS_VALUE(node) &&
		   json_node_get_value_type(node) == G_TYPE_STRING) {
		text = json_node_get_string(node);
		n = g_ascii_strtod(text, &end);
		for (guint i = 0; end != NULL && end != text && i < G_N_ELEMENTS(units); i++) {
			if (g_str_equal(end, units[i].suffix) && n > 0 &&
			    n * (gdouble)units[i].factor <= (gdouble)(1ULL << 50)) {
				*bytes = (guint64)(n * (gdouble)units[i].factor);
				return TRUE;
			}
		}
	}
	g_set_error_literal(
	    error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
	    "capacity: expected bytes, or a number with GB, MB, kB, GiB, MiB or KiB");
	return FALSE;
}

/* --- one request ---------------------------------------------------------- */

typedef enum {
	OP_CREATE,
	OP_GET,
	OP_LIST,
	OP_DELETE,
	OP_SNAPSHOT,
} Op;

typedef struct {
	SbxGwServer *server;
	SoupServerMessage *msg;
	Op op;
	gboolean snapshots; /* /api/v2/snapshots: read-only volumes */
	gchar *search;
	guint offset;
	guint limit;
	gchar *snapshot_slug;
	GPtrArray *proxies; /* SbxDBusVolume1, in path order */
	guint pending;
	gboolean failed;
} Req;

static void
req_free(Req *req)
{
	soup_server_message_unpause(req->msg);
	g_object_unref(req->msg);
	g_free(req->search);
	g_free(req->snapshot_slug);
	g_clear_pointer(&req->proxies, g_ptr_array_unref);
	g_free(req);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Req, req_free)

static void
reply_not_found(Req *req, const gchar *what)
{
	g_autofree gchar *message = g_strdup_printf("no %s", what);
	sbx_gw_server_reply_error(req->msg, SOUP_STATUS_NOT_FOUND, "NOT_FOUND", message);
}

static void
reply_gerror(Req *req, const GError *error)
{
	g_autofree gchar *remote = g_dbus_error_get_remote_error(error);
	/* a missing volume is not a missing sandbox */
	if (g_strcmp0(remote, "org.sandboxd.Error.NotFound") == 0) {
		g_autoptr(GError) copy = g_error_copy(error);
		g_dbus_error_strip_remote_error(copy);
		sbx_gw_server_reply_error(req->msg, SOUP_STATUS_NOT_FOUND, "NOT_FOUND",
					  copy->message);
		return;
	}
	sbx_gw_server_reply_gerror(req->msg, error);
}

static JsonObject *
volume_json(SbxDBusVolume1 *v)
{
	JsonObject *obj = json_object_new();
	const gchar *parent = sbx_dbus_volume1_get_parent(v);
	const gchar *region = sbx_dbus_volume1_get_region(v);
	guint64 used = sbx_dbus_volume1_get_used(v);

	json_object_set_string_member(obj, "id", sbx_dbus_volume1_get_id(v));
	json_object_set_string_member(obj, "slug", sbx_dbus_volume1_get_name(v));
	json_object_set_string_member(obj, "region", region != NULL ? region : "");
	json_object_set_boolean_member(obj, "is_bootable", FALSE);
	if (sbx_dbus_volume1_get_read_only(v)) {
		JsonObject *from = json_object_new();
		json_object_set_int_member(obj, "allocated_size", (gint64)used);
		json_object_set_int_member(obj, "flattened_size",
					   (gint64)sbx_dbus_volume1_get_capacity(v));
		json_object_set_string_member(from, "id", parent != NULL ? parent : "");
		json_object_set_string_member(from, "slug", parent != NULL ? parent : "");
		json_object_set_object_member(obj, "volume", from);
		return obj;
	}
	json_object_set_int_member(obj, "capacity", (gint64)sbx_dbus_volume1_get_capacity(v));
	json_object_set_int_member(obj, "estimated_allocated_size", (gint64)used);
	json_object_set_int_member(obj, "estimated_flattened_size", (gint64)used);
	if (parent != NULL && parent[0] != '\0')
		json_object_set_string_member(obj, "base_snapshot", parent);
	else
		json_object_set_null_member(obj, "base_snapshot");
	return obj;
}

static void
reply_object(Req *req, guint status, SbxDBusVolume1 *v)
{
	g_autoptr(JsonNode) node = json_node_init_object(json_node_alloc(), volume_json(v));
	json_object_unref(json_node_get_object(node));
	sbx_gw_server_reply_json(req->msg, status, node);
}

/* --- list: every proxy, then filter, page and Link ------------------------ */

static void
reply_list(Req *req)
{
	g_autoptr(JsonNode) node = NULL;
	JsonArray *out = json_array_new();
	guint matched = 0;

	for (guint i = 0; i < req->proxies->len; i++) {
		SbxDBusVolume1 *v = g_ptr_array_index(req->proxies, i);
		if (v == NULL || sbx_dbus_volume1_get_read_only(v) != req->snapshots)
			continue;
		if (req->search != NULL &&
		    strstr(sbx_dbus_volume1_get_name(v), req->search) == NULL)
			continue;
		if (matched++ < req->offset)
			continue;
		if (json_array_get_length(out) == req->limit) {
			/* there is more: the SDK follows rel="next" */
			GUri *uri = soup_server_message_get_uri(req->msg);
			g_autofree gchar *link = g_strdup_printf(
			    "<%s://%s:%d%s?cursor=%u&limit=%u>; rel=\"next\"",
			    g_uri_get_scheme(uri), g_uri_get_host(uri), g_uri_get_port(uri),
			    g_uri_get_path(uri), req->offset + req->limit, req->limit);
			soup_message_headers_replace(
			    soup_server_message_get_response_headers(req->msg), "Link", link);
			break;
		}
		json_array_add_object_element(out, volume_json(v));
	}
	node = json_node_init_array(json_node_alloc(), out);
	json_array_unref(out);
	sbx_gw_server_reply_json(req->msg, SOUP_STATUS_OK, node);
}

typedef struct {
	Req *req;
	guint index;
} Item;

static void
list_item_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	Item *item = data;
	Req *req = item->req;
	SbxDBusVolume1 *proxy = sbx_dbus_volume1_proxy_new_finish(res, NULL);

	/* one that vanished meanwhile is left out */
	if (proxy != NULL)
		req->proxies->pdata[item->index] = proxy;
	g_free(item);
	if (--req->pending > 0)
		return;
	reply_list(req);
	req_free(req);
}

static void
list_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	g_autoptr(Req) req = data;
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) paths = NULL;
	guint n;

	if (!sbx_dbus_manager1_call_list_volumes_finish(SBX_DBUS_MANAGER1(source), &paths, res,
							&error)) {
		reply_gerror(req, error);
		return;
	}
	n = g_strv_length(paths);
	req->proxies = g_ptr_array_new_full(n, (GDestroyNotify)g_object_unref);
	g_ptr_array_set_size(req->proxies, n);
	if (n == 0) {
		reply_list(req);
		return;
	}
	req->pending = n;
	for (guint i = 0; i < n; i++) {
		Item *item = g_new0(Item, 1);
		item->req = req;
		item->index = i;
		sbx_dbus_volume1_proxy_new(req->server->bus, G_DBUS_PROXY_FLAGS_NONE,
					   SBX_GW_BUS_NAME, paths[i], NULL, list_item_ready, item);
	}
	g_steal_pointer(&req);
}

/* --- one volume: OpenVolume, its proxy, then the operation ---------------- */

static void
done_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	g_autoptr(Req) req = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) node = NULL;

	if (!sbx_dbus_volume1_call_delete_finish(SBX_DBUS_VOLUME1(source), res, &error)) {
		reply_gerror(req, error);
		return;
	}
	node = json_node_init_object(json_node_alloc(), json_object_new());
	json_object_unref(json_node_get_object(node));
	sbx_gw_server_reply_json(req->msg, SOUP_STATUS_OK, node);
}

static void
made_proxy_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	g_autoptr(Req) req = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxDBusVolume1) proxy = sbx_dbus_volume1_proxy_new_finish(res, &error);

	if (proxy == NULL) {
		reply_gerror(req, error);
		return;
	}
	reply_object(req, SOUP_STATUS_OK, proxy);
}

static void
made_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	g_autoptr(Req) req = data;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL;
	GDBusConnection *bus;
	gboolean ok;

	if (req->op == OP_CREATE)
		ok = sbx_dbus_manager1_call_create_volume_finish(SBX_DBUS_MANAGER1(source), &path,
								 res, &error);
	else
		ok = sbx_dbus_volume1_call_snapshot_finish(SBX_DBUS_VOLUME1(source), &path, res,
							   &error);
	if (!ok) {
		reply_gerror(req, error);
		return;
	}
	bus = req->server->bus;
	sbx_dbus_volume1_proxy_new(bus, G_DBUS_PROXY_FLAGS_NONE, SBX_GW_BUS_NAME, path, NULL,
				   made_proxy_ready, g_steal_pointer(&req));
}

static void
open_proxy_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	g_autoptr(Req) req = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxDBusVolume1) proxy = sbx_dbus_volume1_proxy_new_finish(res, &error);

	if (proxy == NULL) {
		reply_gerror(req, error);
		return;
	}
	/* a volume is not a snapshot, nor the other way round */
	if (sbx_dbus_volume1_get_read_only(proxy) != req->snapshots) {
		reply_not_found(req, req->snapshots ? "such snapshot" : "such volume");
		return;
	}
	g_dbus_proxy_set_default_timeout(G_DBUS_PROXY(proxy), G_MAXINT);
	switch (req->op) {
	case OP_GET:
		reply_object(req, SOUP_STATUS_OK, proxy);
		return;
	case OP_DELETE:
		sbx_dbus_volume1_call_delete(proxy, NULL, done_ready, g_steal_pointer(&req));
		return;
	case OP_SNAPSHOT: {
		g_autoptr(GVariant) none = g_variant_ref_sink(g_variant_new("a{sv}", NULL));
		g_autofree gchar *slug = g_strdup(req->snapshot_slug);
		sbx_dbus_volume1_call_snapshot(proxy, slug, none, NULL, made_ready,
					       g_steal_pointer(&req));
		return;
	}
	default:
		g_assert_not_reached();
	}
}

static void
open_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	g_autoptr(Req) req = data;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL;
	GDBusConnection *bus;

	if (!sbx_dbus_manager1_call_open_volume_finish(SBX_DBUS_MANAGER1(source), &path, res,
						       &error)) {
		reply_gerror(req, error);
		return;
	}
	bus = req->server->bus;
	sbx_dbus_volume1_proxy_new(bus, G_DBUS_PROXY_FLAGS_NONE, SBX_GW_BUS_NAME, path, NULL,
				   open_proxy_ready, g_steal_pointer(&req));
}

/* --- bodies ------------------------------------------------------------------ */

static JsonObject *
parse_body(SoupServerMessage *msg, JsonParser *parser, GError **error)
{
	g_autoptr(GBytes) body =
	    soup_message_body_flatten(soup_server_message_get_request_body(msg));
	gsize len = 0;
	const gchar *data = g_bytes_get_data(body, &len);
	JsonNode *root;

	if (!json_parser_load_from_data(parser, data != NULL ? data : "", (gssize)len, error))
		return NULL;
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "the body must be a JSON object");
		return NULL;
	}
	return json_node_get_object(root);
}

static const gchar *
get_slug(JsonObject *obj, GError **error)
{
	JsonNode *node = json_object_get_member(obj, "slug");
	const gchar *slug = node != NULL && JSON_NODE_HOLDS_VALUE(node) &&
				    json_node_get_value_type(node) == G_TYPE_STRING
				? json_node_get_string(node)
				: NULL;
	if (!sbx_gw_volumes_slug_is_valid(slug)) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "slug: 2-32 of a-z 0-9 -, not starting or ending with -, "
				    "no -- at positions 3-4");
		return NULL;
	}
	return slug;
}

static gboolean
start_create(Req *req, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	g_auto(GVariantBuilder) options = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
	JsonObject *body = parse_body(req->msg, parser, error);
	const gchar *slug;
	const gchar *region = NULL;
	const gchar *from = NULL;
	guint64 capacity = 0;

	if (body == NULL || (slug = get_slug(body, error)) == NULL ||
	    !sbx_gw_volumes_parse_capacity(json_object_get_member(body, "capacity"), &capacity,
					   error))
		return FALSE;
	if (json_object_has_member(body, "region") &&
	    (region = json_object_get_string_member_with_default(body, "region", NULL)) == NULL) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "region: expected a string");
		return FALSE;
	}
	if (json_object_has_member(body, "from")) {
		from = json_object_get_string_member_with_default(body, "from", NULL);
		if (from == NULL || g_str_has_prefix(from, "builtin:")) {
			g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
					    "from: only a snapshot of yours (builtin images are "
					    "not supported by this server)");
			return FALSE;
		}
		g_variant_builder_add(&options, "{sv}", "from_snapshot",
				      g_variant_new_string(from));
	}
	g_variant_builder_add(&options, "{sv}", "capacity", g_variant_new_uint64(capacity));
	if (region != NULL)
		g_variant_builder_add(&options, "{sv}", "region", g_variant_new_string(region));
	g_variant_builder_add(&options, "{sv}", "tenant-token",
			      g_variant_new_string(sbx_gw_server_get_token(req->msg)));
	g_dbus_proxy_set_default_timeout(G_DBUS_PROXY(req->server->manager), G_MAXINT);
	sbx_dbus_manager1_call_create_volume(
	    req->server->manager, slug, g_variant_builder_end(&options), NULL, made_ready, req);
	return TRUE;
}

static gboolean
parse_paging(Req *req, GHashTable *query, GError **error)
{
	const gchar *cursor = query != NULL ? g_hash_table_lookup(query, "cursor") : NULL;
	const gchar *limit = query != NULL ? g_hash_table_lookup(query, "limit") : NULL;
	const gchar *search = query != NULL ? g_hash_table_lookup(query, "search") : NULL;
	guint64 v = 0;

	req->limit = LIST_DEFAULT_LIMIT;
	if (cursor != NULL) {
		if (!g_ascii_string_to_unsigned(cursor, 10, 0, G_MAXINT32, &v, NULL)) {
			g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
					    "cursor: not one of this server's");
			return FALSE;
		}
		req->offset = (guint)v;
	}
	if (limit != NULL) {
		if (!g_ascii_string_to_unsigned(limit, 10, 1, LIST_MAX_LIMIT, &v, NULL)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "limit: 1-%d",
				    LIST_MAX_LIMIT);
			return FALSE;
		}
		req->limit = (guint)v;
	}
	if (search != NULL && search[0] != '\0')
		req->search = g_strndup(search, 64);
	return TRUE;
}

void
sbx_gw_volumes_route(SbxGwServer *server, SoupServerMessage *msg, const gchar *const *parts,
		     GHashTable *query)
{
	const gchar *method = soup_server_message_get_method(msg);
	guint n = g_strv_length((gchar **)parts);
	g_autoptr(GError) error = NULL;
	g_autoptr(Req) req = g_new0(Req, 1);
	const gchar *id = n >= 2 ? parts[1] : NULL;

	req->server = server;
	req->msg = g_object_ref(msg);
	req->snapshots = g_str_equal(parts[0], "snapshots");
	soup_server_message_pause(msg);

	if (n == 1 && g_str_equal(method, "GET"))
		req->op = OP_LIST;
	else if (n == 1 && g_str_equal(method, "POST") && !req->snapshots)
		req->op = OP_CREATE;
	else if (n == 2 && g_str_equal(method, "GET"))
		req->op = OP_GET;
	else if (n == 2 && g_str_equal(method, "DELETE"))
		req->op = OP_DELETE;
	else if (n == 3 && g_str_equal(method, "POST") && !req->snapshots &&
		 g_str_equal(parts[2], "snapshot"))
		req->op = OP_SNAPSHOT;
	else {
		sbx_gw_server_reply_error(msg, SOUP_STATUS_NOT_FOUND, "NOT_FOUND", "no such route");
		return;
	}
	if (id != NULL && (strlen(id) == 0 || strlen(id) > 64)) {
		reply_not_found(req, req->snapshots ? "such snapshot" : "such volume");
		return;
	}
	switch (req->op) {
	case OP_CREATE:
		if (!start_create(req, &error)) {
			sbx_gw_server_reply_gerror(msg, error);
			return;
		}
		g_steal_pointer(&req);
		return;
	case OP_LIST: {
		g_auto(GVariantBuilder) filter = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
		if (!parse_paging(req, query, &error)) {
			sbx_gw_server_reply_gerror(msg, error);
			return;
		}
		g_variant_builder_add(&filter, "{sv}", "tenant-token",
				      g_variant_new_string(sbx_gw_server_get_token(msg)));
		sbx_dbus_manager1_call_list_volumes(server->manager, g_variant_builder_end(&filter),
						    NULL, list_ready, g_steal_pointer(&req));
		return;
	}
	case OP_SNAPSHOT: {
		g_autoptr(JsonParser) parser = json_parser_new_immutable();
		JsonObject *body = parse_body(msg, parser, &error);
		const gchar *slug = body != NULL ? get_slug(body, &error) : NULL;
		if (slug == NULL) {
			sbx_gw_server_reply_gerror(msg, error);
			return;
		}
		req->snapshot_slug = g_strdup(slug);
		break;
	}
	default:
		break;
	}
	sbx_dbus_manager1_call_open_volume(server->manager, sbx_gw_server_get_token(msg), id, NULL,
					   open_ready, g_steal_pointer(&req));
}
