/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gio/gunixsocketaddress.h>

#include "sbx-qemu-qmp.h"

/* a reply or event line longer than this is not from a sane QEMU */
#define QMP_LINE_MAX (1024 * 1024)
#define QMP_IO_TIMEOUT_SEC 30

struct _SbxQemuQmp {
	GSocketConnection *conn;
	GDataInputStream *in;
	GOutputStream *out;
};

void
sbx_qemu_qmp_free(SbxQemuQmp *qmp)
{
	if (qmp == NULL)
		return;
	g_clear_object(&qmp->in);
	if (qmp->conn != NULL)
		g_io_stream_close(G_IO_STREAM(qmp->conn), NULL, NULL);
	g_clear_object(&qmp->conn);
	g_free(qmp);
}

static JsonNode *
read_message(SbxQemuQmp *qmp, GError **error)
{
	gsize len = 0;
	g_autofree gchar *line = g_data_input_stream_read_line(qmp->in, &len, NULL, error);
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonNode *root;

	if (line == NULL) {
		if (error != NULL && *error == NULL)
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
				    "QMP: QEMU closed the monitor");
		return NULL;
	}
	if (len > QMP_LINE_MAX || !json_parser_load_from_data(parser, line, (gssize)len, error))
		return NULL;
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "QMP: not an object");
		return NULL;
	}
	return json_node_copy(root);
}

JsonNode *
sbx_qemu_qmp_execute(SbxQemuQmp *qmp, const gchar *command, JsonNode *arguments, GError **error)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) req = NULL;
	g_autofree gchar *text = NULL;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "execute");
	json_builder_add_string_value(b, command);
	if (arguments != NULL) {
		json_builder_set_member_name(b, "arguments");
		json_builder_add_value(b, json_node_copy(arguments));
	}
	json_builder_end_object(b);
	req = json_builder_get_root(b);
	text = json_to_string(req, FALSE);
	if (!g_output_stream_write_all(qmp->out, text, strlen(text), NULL, NULL, error) ||
	    !g_output_stream_write_all(qmp->out, "\n", 1, NULL, NULL, error))
		return NULL;
	/* events come in between: skip them */
	for (;;) {
		g_autoptr(JsonNode) msg = read_message(qmp, error);
		JsonObject *obj;

		if (msg == NULL)
			return NULL;
		obj = json_node_get_object(msg);
		if (json_object_has_member(obj, "return"))
			return json_node_copy(json_object_get_member(obj, "return"));
		if (json_object_has_member(obj, "error")) {
			JsonNode *err = json_object_get_member(obj, "error");
			const gchar *desc = NULL;
			if (JSON_NODE_HOLDS_OBJECT(err))
				desc = json_object_get_string_member_with_default(
				    json_node_get_object(err), "desc", NULL);
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "QMP %s: %s", command,
				    desc != NULL ? desc : "failed");
			return NULL;
		}
	}
}

gboolean
sbx_qemu_qmp_simple(SbxQemuQmp *qmp, const gchar *command, GError **error)
{
	g_autoptr(JsonNode) ret = sbx_qemu_qmp_execute(qmp, command, NULL, error);
	return ret != NULL;
}

SbxQemuQmp *
sbx_qemu_qmp_connect(const gchar *path, guint timeout_ms, GCancellable *cancellable, GError **error)
{
	g_autoptr(GSocketClient) client = g_socket_client_new();
	g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(path);
	g_autoptr(SbxQemuQmp) qmp = g_new0(SbxQemuQmp, 1);
	g_autoptr(JsonNode) greeting = NULL;
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	g_socket_client_set_timeout(client, QMP_IO_TIMEOUT_SEC);
	for (;;) {
		g_autoptr(GError) error_local = NULL;
		qmp->conn = g_socket_client_connect(client, G_SOCKET_CONNECTABLE(addr), cancellable,
						    &error_local);
		if (qmp->conn != NULL)
			break;
		/* the listening socket is ours: QEMU just has not accepted yet */
		if (g_cancellable_is_cancelled(cancellable) || g_get_monotonic_time() > deadline) {
			g_propagate_prefixed_error(error, g_steal_pointer(&error_local),
						   "QMP %s: ", path);
			return NULL;
		}
		g_usleep(2000);
	}
	qmp->in = g_data_input_stream_new(g_io_stream_get_input_stream(G_IO_STREAM(qmp->conn)));
	g_data_input_stream_set_newline_type(qmp->in, G_DATA_STREAM_NEWLINE_TYPE_LF);
	qmp->out = g_io_stream_get_output_stream(G_IO_STREAM(qmp->conn));
	greeting = read_message(qmp, error);
	if (greeting == NULL || !sbx_qemu_qmp_simple(qmp, "qmp_capabilities", error))
		return NULL;
	return g_steal_pointer(&qmp);
}

gchar *
sbx_qemu_qmp_query_status(SbxQemuQmp *qmp, GError **error)
{
	g_autoptr(JsonNode) ret = sbx_qemu_qmp_execute(qmp, "query-status", NULL, error);

	if (ret == NULL)
		return NULL;
	if (!JSON_NODE_HOLDS_OBJECT(ret)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "QMP query-status: no object");
		return NULL;
	}
	return g_strdup(
	    json_object_get_string_member_with_default(json_node_get_object(ret), "status", ""));
}

/* guest RAM in a file is not copied into the migration stream */
gboolean
sbx_qemu_qmp_set_ignore_shared(SbxQemuQmp *qmp, GError **error)
{
	g_autoptr(JsonNode) args = json_from_string(
	    "{\"capabilities\": [{\"capability\": \"x-ignore-shared\", \"state\": true}]}", NULL);
	g_autoptr(JsonNode) ret =
	    sbx_qemu_qmp_execute(qmp, "migrate-set-capabilities", args, error);
	return ret != NULL;
}
