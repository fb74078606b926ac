/* the SDK's wire messages: one JSON-RPC 2.0 value per WebSocket text frame, or "ping".
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* JSON-RPC protocol error codes (the SDK's proto.js) */
#define SBX_GW_RPC_PARSE_ERROR -32700
#define SBX_GW_RPC_INVALID_REQUEST -32600
#define SBX_GW_RPC_METHOD_NOT_FOUND -32601
#define SBX_GW_RPC_INVALID_PARAMS -32602
#define SBX_GW_RPC_INTERNAL_ERROR -32603

/* nesting beyond this is refused before json-glib (a recursive parser) sees it */
#define SBX_GW_RPC_MAX_DEPTH 32

/* whether @data nests at most SBX_GW_RPC_MAX_DEPTH levels (json-glib recurses) */
gboolean sbx_gw_rpc_depth_ok(const gchar *data, gsize len);

typedef enum {
	SBX_GW_RPC_PING,
	SBX_GW_RPC_REQUEST,
	SBX_GW_RPC_NOTIFICATION,
} SbxGwRpcKind;

typedef struct {
	SbxGwRpcKind kind;
	gint64 id;	    /* requests */
	gchar *method;	    /* requests and notifications */
	JsonObject *params; /* never NULL for requests and notifications */
} SbxGwRpcMessage;

void sbx_gw_rpc_message_clear(SbxGwRpcMessage *msg);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SbxGwRpcMessage, sbx_gw_rpc_message_clear)

/* decodes one frame. On failure *error_code is a JSON-RPC code, *error_id the request id
 * when one could be read (else -1, answered with "id": null) */
gboolean sbx_gw_rpc_parse(const gchar *data, gsize len, SbxGwRpcMessage *msg, gint *error_code,
			  gint64 *error_id, GError **error);

/* encoders: complete frames */
gchar *sbx_gw_rpc_ok(gint64 id, JsonNode *value);
gchar *sbx_gw_rpc_app_error(gint64 id, JsonNode *error_object);
gchar *sbx_gw_rpc_protocol_error(gint64 id, gint code, const gchar *message);
gchar *sbx_gw_rpc_notification(const gchar *method, JsonNode *params);
/* $sandbox.stream.enqueue with @data as base64, without building a JSON tree */
gchar *sbx_gw_rpc_stream_enqueue(guint64 stream_id, const guint8 *data, gsize len);

/* params accessors: FALSE and an InvalidArgument-style @error on a wrong type;
 * absent optional members leave *value alone */
gboolean sbx_gw_rpc_get_string(JsonObject *params, const gchar *name, gboolean required,
			       const gchar **value, GError **error);
gboolean sbx_gw_rpc_get_int(JsonObject *params, const gchar *name, gboolean required, gint64 *value,
			    GError **error);
gboolean sbx_gw_rpc_get_bool(JsonObject *params, const gchar *name, gboolean *value,
			     GError **error);
gboolean sbx_gw_rpc_get_object(JsonObject *params, const gchar *name, JsonObject **value,
			       GError **error);
/* a JSON object of strings as a{ss}; NULL when absent */
gboolean sbx_gw_rpc_get_string_map(JsonObject *params, const gchar *name, GVariant **value,
				   GError **error);
gboolean sbx_gw_rpc_get_string_array(JsonObject *params, const gchar *name, GPtrArray **value,
				     GError **error);

G_END_DECLS
