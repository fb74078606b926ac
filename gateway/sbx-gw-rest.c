/* REST on the sandbox endpoint and the console API, onto Manager1 and Sandbox1.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "sbx-gw-id.h"
#include "sbx-gw-rest.h"
#include "sbx-gw-sandbox.h"

#define SBX_GW_BUS_NAME "org.sandboxd"

/* --- lookup --- */

static void
lookup_proxy_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	g_autoptr(GTask) task = data;
	GError *error = NULL;
	SbxDBusSandbox1 *proxy = sbx_dbus_sandbox1_proxy_new_finish(res, &error);
	if (proxy == NULL)
		g_task_return_error(task, error);
	else
		g_task_return_pointer(task, proxy, g_object_unref);
}

static void
lookup_path_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	g_autoptr(GTask) task = data;
	SbxGwServer *server = g_task_get_task_data(task);
	g_autofree gchar *path = NULL;
	GError *error = NULL;

	if (!sbx_dbus_manager1_call_open_sandbox_finish(SBX_DBUS_MANAGER1(source), &path, res,
							&error)) {
		g_task_return_error(task, error);
		return;
	}
	sbx_dbus_sandbox1_proxy_new(server->bus, G_DBUS_PROXY_FLAGS_NONE, SBX_GW_BUS_NAME, path,
				    g_task_get_cancellable(task), lookup_proxy_ready,
				    g_object_ref(task));
}

void
sbx_gw_rest_lookup_sandbox(SbxGwServer *server, const gchar *sdk_id, const gchar *token,
			   GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(NULL, NULL, callback, user_data);
	g_autofree gchar *sbx_id = NULL;
	GError *error = NULL;

	g_task_set_task_data(task, server, NULL);
	sbx_id = sbx_gw_id_from_sdk(sdk_id, &error);
	if (sbx_id == NULL) {
		g_task_return_error(task, error);
		return;
	}
	/* sandboxd checks the token, and that its owner owns the sandbox */
	sbx_dbus_manager1_call_open_sandbox(server->manager, token, sbx_id, NULL, lookup_path_ready,
					    g_object_ref(task));
}

SbxDBusSandbox1 *
sbx_gw_rest_lookup_sandbox_finish(GAsyncResult *res, GError **error)
{
	return g_task_propagate_pointer(G_TASK(res), error);
}

/* --- DELETE /api/v3/sandbox/ID --- */

typedef struct {
	SbxGwServer *server;
	SoupServerMessage *msg;
	SbxDBusSandbox1 *proxy;
} SbxGwRestCall;

static void
rest_call_free(SbxGwRestCall *call)
{
	soup_server_message_unpause(call->msg);
	g_object_unref(call->msg);
	g_clear_object(&call->proxy);
	g_free(call);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxGwRestCall, rest_call_free)

static SbxGwRestCall *
rest_call_new(SbxGwServer *server, SoupServerMessage *msg)
{
	SbxGwRestCall *call = g_new0(SbxGwRestCall, 1);
	call->server = server;
	call->msg = g_object_ref(msg);
	soup_server_message_pause(msg);
	return call;
}

static void
reply_empty_object(SoupServerMessage *msg)
{
	g_autoptr(JsonNode) node = json_node_init_object(json_node_alloc(), json_object_new());
	sbx_gw_server_reply_json(msg, SOUP_STATUS_OK, node);
}

/* the answer goes out as soon as the sandbox is stopping: sandboxd's Kill returns
 * only once the VM is gone, which takes seconds on a busy host, and the SDK gives
 * DELETE 10 s. The sandbox cannot come back from "stopping". The sockets close
 * when Kill returns: the SDK's kill() waits for that, so a volume the sandbox had
 * is free again when kill() returns. */
typedef struct {
	SbxGwServer *server;
	SoupServerMessage *msg; /* until answered */
	SbxDBusSandbox1 *proxy;
	gulong state_handler;
} SbxGwKill;

static void
kill_free(SbxGwKill *kill)
{
	if (kill->msg != NULL) {
		soup_server_message_unpause(kill->msg);
		g_object_unref(kill->msg);
	}
	g_clear_signal_handler(&kill->state_handler, kill->proxy);
	g_clear_object(&kill->proxy);
	g_free(kill);
}

static void
kill_answer(SbxGwKill *kill, const GError *error)
{
	SoupServerMessage *msg = g_steal_pointer(&kill->msg);

	if (msg == NULL)
		return;
	if (error != NULL)
		sbx_gw_server_reply_gerror(msg, error);
	else
		reply_empty_object(msg);
	soup_server_message_unpause(msg);
	g_object_unref(msg);
}

static void
on_kill_state_changed(SbxDBusSandbox1 *proxy, const gchar *state, const gchar *reason,
		      gpointer data)
{
	if (g_strcmp0(state, "stopping") == 0 || g_strcmp0(state, "stopped") == 0 ||
	    g_strcmp0(state, "crashed") == 0)
		kill_answer(data, NULL);
}

static void
kill_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwKill *kill = data;
	g_autoptr(GError) error = NULL;
	gboolean answered = kill->msg == NULL;
	SbxGwSandbox *sandbox;

	if (!sbx_dbus_sandbox1_call_kill_finish(SBX_DBUS_SANDBOX1(source), res, &error) && answered)
		g_message("kill of %s after it was stopping: %s",
			  sbx_dbus_sandbox1_get_id(kill->proxy), error->message);
	if (error == NULL || answered) {
		sandbox = g_hash_table_lookup(kill->server->sandboxes,
					      sbx_dbus_sandbox1_get_id(kill->proxy));
		if (sandbox != NULL)
			sbx_gw_sandbox_gone(sandbox, "the sandbox was killed");
	}
	kill_answer(kill, error);
	kill_free(kill);
}

static void
kill_lookup_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwKill *kill = data;
	g_autoptr(GError) error = NULL;

	kill->proxy = sbx_gw_rest_lookup_sandbox_finish(res, &error);
	if (kill->proxy == NULL) {
		kill_answer(kill, error);
		kill_free(kill);
		return;
	}
	g_dbus_proxy_set_default_timeout(G_DBUS_PROXY(kill->proxy), G_MAXINT);
	kill->state_handler =
	    g_signal_connect(kill->proxy, "state-changed", G_CALLBACK(on_kill_state_changed), kill);
	sbx_dbus_sandbox1_call_kill(kill->proxy, NULL, kill_ready, kill);
}

void
sbx_gw_rest_kill(SbxGwServer *server, SoupServerMessage *msg, const gchar *sdk_id)
{
	SbxGwKill *kill = g_new0(SbxGwKill, 1);

	kill->server = server;
	kill->msg = g_object_ref(msg);
	soup_server_message_pause(msg);
	sbx_gw_rest_lookup_sandbox(server, sdk_id, sbx_gw_server_get_token(msg), kill_lookup_ready,
				   kill);
}

/* --- PATCH /api/v3/sandbox/ID {"stop_at_ms": N} --- */

static void
reply_stop_at(SoupServerMessage *msg, guint64 expires_at_us)
{
	g_autoptr(JsonBuilder) b = json_builder_new_immutable();
	g_autoptr(JsonNode) node = NULL;
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "stop_at_ms");
	json_builder_add_int_value(b, (gint64)(expires_at_us / 1000));
	json_builder_end_object(b);
	node = json_builder_get_root(b);
	sbx_gw_server_reply_json(msg, SOUP_STATUS_OK, node);
}

static void
extend_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	g_autoptr(SbxGwRestCall) call = data;
	g_autoptr(GError) error = NULL;
	guint64 expires_at = 0;

	if (!sbx_dbus_sandbox1_call_extend_timeout_finish(SBX_DBUS_SANDBOX1(source), &expires_at,
							  res, &error)) {
		sbx_gw_server_reply_gerror(call->msg, error);
		return;
	}
	reply_stop_at(call->msg, expires_at);
}

static gboolean
parse_stop_at(SoupServerMessage *msg, gint64 *stop_at_ms, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	g_autoptr(GBytes) body =
	    soup_message_body_flatten(soup_server_message_get_request_body(msg));
	gsize len = 0;
	const gchar *data = g_bytes_get_data(body, &len);
	JsonNode *root;
	JsonNode *node;

	if (!json_parser_load_from_data(parser, data != NULL ? data : "", (gssize)len, error))
		return FALSE;
	root = json_parser_get_root(parser);
	node = root != NULL && JSON_NODE_HOLDS_OBJECT(root)
		   ? json_object_get_member(json_node_get_object(root), "stop_at_ms")
		   : NULL;
	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) ||
	    json_node_get_value_type(node) != G_TYPE_INT64) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "the body must be {\"stop_at_ms\": INTEGER}");
		return FALSE;
	}
	*stop_at_ms = json_node_get_int(node);
	return TRUE;
}

static void
extend_lookup_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	g_autoptr(SbxGwRestCall) call = data;
	g_autoptr(GError) error = NULL;
	gint64 stop_at_ms = 0;
	gint64 expires_at_us;
	gint64 delta_s;
	SbxDBusSandbox1 *proxy;

	call->proxy = sbx_gw_rest_lookup_sandbox_finish(res, &error);
	if (call->proxy == NULL) {
		sbx_gw_server_reply_gerror(call->msg, error);
		return;
	}
	if (!parse_stop_at(call->msg, &stop_at_ms, &error)) {
		sbx_gw_server_reply_error(call->msg, SOUP_STATUS_BAD_REQUEST, "INVALID_BODY",
					  error->message);
		return;
	}
	expires_at_us = (gint64)sbx_dbus_sandbox1_get_expires_at(call->proxy);
	if (expires_at_us == 0) {
		sbx_gw_server_reply_error(call->msg, SOUP_STATUS_BAD_REQUEST, "NOT_SUPPORTED",
					  "a \"session\" sandbox has no timeout to extend");
		return;
	}
	/* sandboxd extends by a delta; the SDK asks for an instant */
	delta_s = (stop_at_ms * 1000 - expires_at_us + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC;
	if (delta_s <= 0) {
		reply_stop_at(call->msg, (guint64)expires_at_us);
		return;
	}
	proxy = call->proxy;
	sbx_dbus_sandbox1_call_extend_timeout(proxy, (guint)MIN(delta_s, G_MAXUINT32), NULL,
					      extend_ready, g_steal_pointer(&call));
}

void
sbx_gw_rest_extend(SbxGwServer *server, SoupServerMessage *msg, const gchar *sdk_id)
{
	sbx_gw_rest_lookup_sandbox(server, sdk_id, sbx_gw_server_get_token(msg),
				   extend_lookup_ready, rest_call_new(server, msg));
}

/* --- GET /api/v2/sandboxes?labels[k]=v --- */

typedef struct {
	SbxGwRestCall *call;
	JsonArray *out;
	guint pending;
} SbxGwListCall;

static gchar *
iso_from_us(guint64 us)
{
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc((gint64)(us / G_USEC_PER_SEC));
	g_autoptr(GDateTime) exact = g_date_time_add(dt, (GTimeSpan)(us % G_USEC_PER_SEC));
	return g_date_time_format_iso8601(exact);
}

static void
list_step(SbxGwListCall *list)
{
	g_autoptr(JsonNode) node = NULL;

	if (--list->pending > 0)
		return;
	node = json_node_init_array(json_node_alloc(), list->out);
	sbx_gw_server_reply_json(list->call->msg, SOUP_STATUS_OK, node);
	json_array_unref(list->out);
	rest_call_free(list->call);
	g_free(list);
}

static void
list_item_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwListCall *list = data;
	g_autoptr(SbxDBusSandbox1) proxy = sbx_dbus_sandbox1_proxy_new_finish(res, NULL);

	if (proxy != NULL) {
		g_autofree gchar *sdk_id = sbx_gw_id_to_sdk(sbx_dbus_sandbox1_get_id(proxy),
							    list->call->server->config->region);
		g_autofree gchar *created = iso_from_us(sbx_dbus_sandbox1_get_created_at(proxy));
		GVariant *labels = sbx_dbus_sandbox1_get_labels(proxy);
		JsonObject *obj = json_object_new();
		JsonObject *lab = json_object_new();
		GVariantIter iter;
		const gchar *k;
		const gchar *v;

		if (labels != NULL) {
			g_variant_iter_init(&iter, labels);
			while (g_variant_iter_next(&iter, "{&s&s}", &k, &v))
				json_object_set_string_member(lab, k, v);
		}
		json_object_set_string_member(obj, "id", sdk_id);
		json_object_set_string_member(obj, "createdAt", created);
		json_object_set_null_member(obj, "stoppedAt");
		json_object_set_string_member(obj, "region", list->call->server->config->region);
		json_object_set_string_member(obj, "status", "running");
		json_object_set_object_member(obj, "labels", lab);
		if (sdk_id != NULL)
			json_array_add_object_element(list->out, obj);
		else
			json_object_unref(obj);
	}
	list_step(list);
}

static void
list_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	g_autoptr(SbxGwRestCall) call = data;
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) paths = NULL;
	SbxGwListCall *list;

	if (!sbx_dbus_manager1_call_list_sandboxes_finish(SBX_DBUS_MANAGER1(source), &paths, res,
							  &error)) {
		sbx_gw_server_reply_gerror(call->msg, error);
		return;
	}
	list = g_new0(SbxGwListCall, 1);
	list->out = json_array_new();
	list->call = g_steal_pointer(&call);
	/* one extra count, dropped below, so an empty list answers too */
	list->pending = 1;
	for (guint i = 0; paths[i] != NULL; i++) {
		list->pending++;
		sbx_dbus_sandbox1_proxy_new(list->call->server->bus, G_DBUS_PROXY_FLAGS_NONE,
					    SBX_GW_BUS_NAME, paths[i], NULL, list_item_ready, list);
	}
	list_step(list);
}

void
sbx_gw_rest_list_sandboxes(SbxGwServer *server, SoupServerMessage *msg, GHashTable *query)
{
	g_auto(GVariantBuilder) filter = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
	g_auto(GVariantBuilder) labels = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a{ss}"));
	GHashTableIter iter;
	gpointer key;
	gpointer value;
	guint n = 0;

	if (query != NULL) {
		g_hash_table_iter_init(&iter, query);
		while (g_hash_table_iter_next(&iter, &key, &value)) {
			const gchar *k = key;
			g_autofree gchar *label = NULL;
			if (!g_str_has_prefix(k, "labels[") || !g_str_has_suffix(k, "]"))
				continue;
			label = g_strndup(k + 7, strlen(k) - 8);
			g_variant_builder_add(&labels, "{ss}", label, (const gchar *)value);
			n++;
		}
	}
	if (n > 0)
		g_variant_builder_add(&filter, "{sv}", "labels", g_variant_builder_end(&labels));
	g_variant_builder_add(&filter, "{sv}", "tenant-token",
			      g_variant_new_string(sbx_gw_server_get_token(msg)));
	sbx_dbus_manager1_call_list_sandboxes(server->manager, g_variant_builder_end(&filter), NULL,
					      list_ready, rest_call_new(server, msg));
}
