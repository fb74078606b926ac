/* JSON-RPC decoding and encoding; every frame is from a network client: bounded, checked.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "sbx-gw-rpc.h"

/* exact integers a JavaScript number can carry */
#define SBX_GW_RPC_MAX_SAFE_INT 9007199254740991LL

void
sbx_gw_rpc_message_clear(SbxGwRpcMessage *msg)
{
	g_clear_pointer(&msg->method, g_free);
	g_clear_pointer(&msg->params, json_object_unref);
}

/* json-glib recurses per nesting level: refuse deep input before it parses */
gboolean
sbx_gw_rpc_depth_ok(const gchar *data, gsize len)
{
	gint depth = 0;
	gboolean in_string = FALSE;

	for (gsize i = 0; i < len; i++) {
		gchar c = data[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = FALSE;
			continue;
		}
		if (c == '"') {
			in_string = TRUE;
		} else if (c == '[' || c == '{') {
			if (++depth > SBX_GW_RPC_MAX_DEPTH)
				return FALSE;
		} else if (c == ']' || c == '}') {
			depth--;
		}
	}
	return TRUE;
}

static gboolean
node_get_id(JsonNode *node, gint64 *id)
{
	gdouble d;

	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node))
		return FALSE;
	if (json_node_get_value_type(node) == G_TYPE_INT64) {
		*id = json_node_get_int(node);
	} else if (json_node_get_value_type(node) == G_TYPE_DOUBLE) {
		d = json_node_get_double(node);
		if (d != (gdouble)(gint64)d)
			return FALSE;
		*id = (gint64)d;
	} else {
		return FALSE;
	}
	return *id >= 0 && *id <= SBX_GW_RPC_MAX_SAFE_INT;
}

gboolean
sbx_gw_rpc_parse(const gchar *data, gsize len, SbxGwRpcMessage *msg, gint *error_code,
		 gint64 *error_id, GError **error)
{
	g_autoptr(JsonParser) parser = NULL;
	g_autoptr(GError) local_error = NULL;
	JsonObject *root;
	JsonNode *node;
	const gchar *version;

	*error_code = SBX_GW_RPC_INVALID_REQUEST;
	*error_id = -1;
	memset(msg, 0, sizeof(*msg));
	if (len == 4 && memcmp(data, "ping", 4) == 0) {
		msg->kind = SBX_GW_RPC_PING;
		return TRUE;
	}
	if (!g_utf8_validate(data, (gssize)len, NULL)) {
		*error_code = SBX_GW_RPC_PARSE_ERROR;
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "the message is not valid UTF-8");
		return FALSE;
	}
	if (!sbx_gw_rpc_depth_ok(data, len)) {
		*error_code = SBX_GW_RPC_PARSE_ERROR;
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "the message nests deeper than %d levels", SBX_GW_RPC_MAX_DEPTH);
		return FALSE;
	}
	parser = json_parser_new_immutable();
	if (!json_parser_load_from_data(parser, data, (gssize)len, &local_error)) {
		*error_code = SBX_GW_RPC_PARSE_ERROR;
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "invalid JSON: %s",
			    local_error->message);
		return FALSE;
	}
	node = json_parser_get_root(parser);
	if (node == NULL || !JSON_NODE_HOLDS_OBJECT(node)) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "a message must be a JSON object");
		return FALSE;
	}
	root = json_node_get_object(node);
	if (json_object_has_member(root, "id") &&
	    !node_get_id(json_object_get_member(root, "id"), error_id)) {
		*error_id = -1;
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "\"id\" must be a non-negative integer");
		return FALSE;
	}
	node = json_object_get_member(root, "jsonrpc");
	version = node != NULL && JSON_NODE_HOLDS_VALUE(node) &&
			  json_node_get_value_type(node) == G_TYPE_STRING
		      ? json_node_get_string(node)
		      : NULL;
	if (g_strcmp0(version, "2.0") != 0) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "\"jsonrpc\" must be \"2.0\"");
		return FALSE;
	}
	node = json_object_get_member(root, "method");
	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) ||
	    json_node_get_value_type(node) != G_TYPE_STRING ||
	    strlen(json_node_get_string(node)) == 0 || strlen(json_node_get_string(node)) > 128) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "\"method\" must be a string of 1-128 bytes");
		return FALSE;
	}
	msg->method = g_strdup(json_node_get_string(node));
	node = json_object_get_member(root, "params");
	if (node != NULL && JSON_NODE_HOLDS_OBJECT(node)) {
		msg->params = json_object_ref(json_node_get_object(node));
	} else if (node == NULL || JSON_NODE_HOLDS_NULL(node)) {
		msg->params = json_object_new();
	} else {
		*error_code = SBX_GW_RPC_INVALID_PARAMS;
		sbx_gw_rpc_message_clear(msg);
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "\"params\" must be an object");
		return FALSE;
	}
	if (*error_id >= 0) {
		msg->kind = SBX_GW_RPC_REQUEST;
		msg->id = *error_id;
	} else {
		msg->kind = SBX_GW_RPC_NOTIFICATION;
	}
	return TRUE;
}

static gchar *
to_string(JsonBuilder *builder)
{
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = json_builder_get_root(builder);
	json_generator_set_root(gen, root);
	return json_generator_to_data(gen, NULL);
}

static JsonBuilder *
begin_reply(gint64 id)
{
	JsonBuilder *b = json_builder_new_immutable();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "jsonrpc");
	json_builder_add_string_value(b, "2.0");
	json_builder_set_member_name(b, "id");
	if (id >= 0)
		json_builder_add_int_value(b, id);
	else
		json_builder_add_null_value(b);
	return b;
}

static gchar *
result_frame(gint64 id, const gchar *key, JsonNode *value)
{
	g_autoptr(JsonBuilder) b = begin_reply(id);
	json_builder_set_member_name(b, "result");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, key);
	if (value != NULL)
		json_builder_add_value(b, json_node_copy(value));
	else
		json_builder_add_null_value(b);
	json_builder_end_object(b);
	json_builder_end_object(b);
	return to_string(b);
}

gchar *
sbx_gw_rpc_ok(gint64 id, JsonNode *value)
{
	return result_frame(id, "ok", value);
}

gchar *
sbx_gw_rpc_app_error(gint64 id, JsonNode *error_object)
{
	return result_frame(id, "error", error_object);
}

gchar *
sbx_gw_rpc_protocol_error(gint64 id, gint code, const gchar *message)
{
	g_autoptr(JsonBuilder) b = begin_reply(id);
	json_builder_set_member_name(b, "error");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "code");
	json_builder_add_int_value(b, code);
	json_builder_set_member_name(b, "message");
	json_builder_add_string_value(b, message);
	json_builder_end_object(b);
	json_builder_end_object(b);
	return to_string(b);
}

gchar *
sbx_gw_rpc_notification(const gchar *method, JsonNode *params)
{
	g_autoptr(JsonBuilder) b = json_builder_new_immutable();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "jsonrpc");
	json_builder_add_string_value(b, "2.0");
	json_builder_set_member_name(b, "method");
	json_builder_add_string_value(b, method);
	json_builder_set_member_name(b, "params");
	json_builder_add_value(b, json_node_copy(params));
	json_builder_end_object(b);
	return to_string(b);
}

gchar *
sbx_gw_rpc_stream_enqueue(guint64 stream_id, const guint8 *data, gsize len)
{
	g_autofree gchar *b64 = g_base64_encode(data, len);
	return g_strdup_printf("{\"jsonrpc\":\"2.0\",\"method\":\"$sandbox.stream.enqueue\","
			       "\"params\":{\"streamId\":%" G_GUINT64_FORMAT ",\"data\":\"%s\"}}",
			       stream_id, b64);
}

static gboolean
type_error(const gchar *name, const gchar *expected, GError **error)
{
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s: expected %s", name,
		    expected);
	return FALSE;
}

static JsonNode *
member(JsonObject *params, const gchar *name)
{
	JsonNode *node = json_object_get_member(params, name);
	/* the SDK omits optional fields; null means the same */
	if (node != NULL && JSON_NODE_HOLDS_NULL(node))
		return NULL;
	return node;
}

static gboolean
missing(const gchar *name, gboolean required, GError **error)
{
	if (!required)
		return TRUE;
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s is required", name);
	return FALSE;
}

gboolean
sbx_gw_rpc_get_string(JsonObject *params, const gchar *name, gboolean required, const gchar **value,
		      GError **error)
{
	JsonNode *node = member(params, name);
	if (node == NULL)
		return missing(name, required, error);
	if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
		return type_error(name, "a string", error);
	*value = json_node_get_string(node);
	return TRUE;
}

gboolean
sbx_gw_rpc_get_int(JsonObject *params, const gchar *name, gboolean required, gint64 *value,
		   GError **error)
{
	JsonNode *node = member(params, name);
	if (node == NULL)
		return missing(name, required, error);
	if (!node_get_id(node, value))
		return type_error(name, "a non-negative integer", error);
	return TRUE;
}

gboolean
sbx_gw_rpc_get_bool(JsonObject *params, const gchar *name, gboolean *value, GError **error)
{
	JsonNode *node = member(params, name);
	if (node == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_BOOLEAN)
		return type_error(name, "a boolean", error);
	*value = json_node_get_boolean(node);
	return TRUE;
}

gboolean
sbx_gw_rpc_get_object(JsonObject *params, const gchar *name, JsonObject **value, GError **error)
{
	JsonNode *node = member(params, name);
	if (node == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_OBJECT(node))
		return type_error(name, "an object", error);
	*value = json_node_get_object(node);
	return TRUE;
}

gboolean
sbx_gw_rpc_get_string_map(JsonObject *params, const gchar *name, GVariant **value, GError **error)
{
	g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a{ss}"));
	JsonObject *obj = NULL;
	JsonObjectIter iter;
	const gchar *key;
	JsonNode *node;

	if (!sbx_gw_rpc_get_object(params, name, &obj, error))
		return FALSE;
	if (obj == NULL)
		return TRUE;
	json_object_iter_init(&iter, obj);
	while (json_object_iter_next(&iter, &key, &node)) {
		if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
			return type_error(name, "an object of strings", error);
		g_variant_builder_add(&builder, "{ss}", key, json_node_get_string(node));
	}
	*value = g_variant_ref_sink(g_variant_builder_end(&builder));
	return TRUE;
}

gboolean
sbx_gw_rpc_get_string_array(JsonObject *params, const gchar *name, GPtrArray **value,
			    GError **error)
{
	g_autoptr(GPtrArray) out = g_ptr_array_new();
	JsonNode *node = member(params, name);
	JsonArray *array;

	if (node == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_ARRAY(node))
		return type_error(name, "an array of strings", error);
	array = json_node_get_array(node);
	for (guint i = 0; i < json_array_get_length(array); i++) {
		JsonNode *el = json_array_get_element(array, i);
		if (!JSON_NODE_HOLDS_VALUE(el) || json_node_get_value_type(el) != G_TYPE_STRING)
			return type_error(name, "an array of strings", error);
		g_ptr_array_add(out, (gpointer)json_node_get_string(el));
	}
	*value = g_steal_pointer(&out);
	return TRUE;
}
