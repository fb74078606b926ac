/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gio/gunixsocketaddress.h>
#include <libsoup/soup.h>

#include "sbx-ch-api.h"
#include "sbx-text.h"

/* spelled out: G_DEFINE_QUARK would stringify the dashes with spaces */
GQuark
sbx_ch_api_error_quark(void)
{
	return g_quark_from_static_string("sbx-ch-api-error-quark");
}

/* micro_http serves at most 10 connections; requests are serialized anyway */
#define SBX_CH_API_MAX_CONNS 2
#define SBX_CH_API_READ_CHUNK 65536

struct _SbxChApi {
	GObject parent_instance;
	SoupSession *session;
};

G_DEFINE_FINAL_TYPE(SbxChApi, sbx_ch_api, G_TYPE_OBJECT)

typedef struct {
	SoupMessage *msg;
	gchar *endpoint;
	GInputStream *stream;
	GByteArray *body;
} ApiCall;

static void
api_call_free(ApiCall *call)
{
	g_clear_object(&call->msg);
	g_free(call->endpoint);
	g_clear_object(&call->stream);
	g_byte_array_unref(call->body);
	g_free(call);
}

static gint
status_to_code(guint status)
{
	switch (status) {
	case 400:
		return SBX_CH_API_ERROR_BAD_REQUEST;
	case 404:
		return SBX_CH_API_ERROR_NOT_FOUND;
	case 409:
		return SBX_CH_API_ERROR_CONFLICT;
	case 429:
		return SBX_CH_API_ERROR_BUSY;
	default:
		return SBX_CH_API_ERROR_FAILED;
	}
}

/* v47+: ["Error from API","The VM info is not available","VM is not created"];
 * older: Display or Debug text. Both end up as one line. */
GError *
sbx_ch_api_error_from_reply(const gchar *endpoint, guint status, const gchar *body, gsize length)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GString) text = g_string_new(NULL);
	JsonNode *root = NULL;

	if (length > 0 && json_parser_load_from_data(parser, body, (gssize)length, NULL))
		root = json_parser_get_root(parser);
	if (root != NULL && JSON_NODE_HOLDS_ARRAY(root)) {
		JsonArray *chain = json_node_get_array(root);
		for (guint i = 0; i < json_array_get_length(chain); i++) {
			JsonNode *item = json_array_get_element(chain, i);
			if (!JSON_NODE_HOLDS_VALUE(item) ||
			    json_node_get_value_type(item) != G_TYPE_STRING)
				continue;
			if (text->len > 0)
				g_string_append(text, ": ");
			g_string_append(text, json_node_get_string(item));
		}
	} else if (length > 0) {
		g_string_append_len(text, body, (gssize)length);
	}
	/* one printable line, whatever the VMM sent */
	g_strstrip(text->str);
	sbx_text_sanitize(text->str);
	if (!g_utf8_validate(text->str, -1, NULL)) {
		g_autofree gchar *valid = g_utf8_make_valid(text->str, -1);
		g_string_assign(text, valid);
	}
	if (text->str[0] == '\0')
		g_string_assign(text, "no message");
	return g_error_new(SBX_CH_API_ERROR, status_to_code(status),
			   "cloud-hypervisor %s: %s (HTTP %u)", endpoint, text->str, status);
}

static void
call_complete(GTask *task)
{
	ApiCall *call = g_task_get_task_data(task);
	guint status = soup_message_get_status(call->msg);
	g_autoptr(JsonParser) parser = NULL;
	g_autoptr(GError) error = NULL;

	if (!SOUP_STATUS_IS_SUCCESSFUL(status)) {
		g_task_return_error(task, sbx_ch_api_error_from_reply(
					      call->endpoint, status,
					      (const gchar *)call->body->data, call->body->len));
		return;
	}
	if (call->body->len == 0) {
		g_task_return_pointer(task, NULL, NULL);
		return;
	}
	parser = json_parser_new();
	if (!json_parser_load_from_data(parser, (const gchar *)call->body->data,
					(gssize)call->body->len, &error)) {
		g_task_return_new_error(task, SBX_CH_API_ERROR, SBX_CH_API_ERROR_PROTOCOL,
					"cloud-hypervisor %s: answer is not JSON: %s",
					call->endpoint, error->message);
		return;
	}
	g_task_return_pointer(task, json_node_copy(json_parser_get_root(parser)),
			      (GDestroyNotify)json_node_unref);
}

static void on_body_read(GObject *source, GAsyncResult *res, gpointer user_data);

static void
read_more(GTask *task)
{
	ApiCall *call = g_task_get_task_data(task);
	g_input_stream_read_bytes_async(call->stream, SBX_CH_API_READ_CHUNK, G_PRIORITY_DEFAULT,
					g_task_get_cancellable(task), on_body_read, task);
}

static void
on_body_read(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	ApiCall *call = g_task_get_task_data(task);
	GError *error = NULL;
	g_autoptr(GBytes) bytes =
	    g_input_stream_read_bytes_finish(G_INPUT_STREAM(source), res, &error);

	if (bytes == NULL) {
		g_prefix_error(&error, "cloud-hypervisor %s: ", call->endpoint);
		g_task_return_error(task, error);
		return;
	}
	if (g_bytes_get_size(bytes) == 0) {
		g_input_stream_close(call->stream, NULL, NULL);
		call_complete(task);
		return;
	}
	if (call->body->len + g_bytes_get_size(bytes) > SBX_CH_API_REPLY_MAX) {
		g_task_return_new_error(task, SBX_CH_API_ERROR, SBX_CH_API_ERROR_PROTOCOL,
					"cloud-hypervisor %s: answer larger than %u bytes",
					call->endpoint, SBX_CH_API_REPLY_MAX);
		return;
	}
	g_byte_array_append(call->body, g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes));
	read_more(g_steal_pointer(&task));
}

static void
on_sent(GObject *source, GAsyncResult *res, gpointer user_data)
{
	GTask *task = user_data;
	ApiCall *call = g_task_get_task_data(task);
	GError *error = NULL;

	call->stream = soup_session_send_finish(SOUP_SESSION(source), res, &error);
	if (call->stream == NULL) {
		g_prefix_error(&error, "cloud-hypervisor %s: ", call->endpoint);
		g_task_return_error(task, error);
		g_object_unref(task);
		return;
	}
	read_more(task);
}

static gboolean
endpoint_is_valid(const gchar *endpoint)
{
	gsize len = strlen(endpoint);
	return len > 0 && len < 64 && strspn(endpoint, "abcdefghijklmnopqrstuvwxyz.-") == len;
}

void
sbx_ch_api_call_async(SbxChApi *self, const gchar *method, const gchar *endpoint, JsonNode *body,
		      GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(self, cancellable, callback, user_data);
	g_autofree gchar *uri = NULL;
	ApiCall *call;

	g_return_if_fail(SBX_IS_CH_API(self));
	g_return_if_fail(endpoint_is_valid(endpoint));
	g_task_set_source_tag(task, sbx_ch_api_call_async);
	uri = g_strconcat("http://localhost/api/v1/", endpoint, NULL);
	call = g_new0(ApiCall, 1);
	call->endpoint = g_strdup(endpoint);
	call->body = g_byte_array_new();
	call->msg = soup_message_new(method, uri);
	g_task_set_task_data(task, call, (GDestroyNotify)api_call_free);
	if (body != NULL) {
		gchar *data = json_to_string(body, FALSE);
		g_autoptr(GBytes) bytes = g_bytes_new_take(data, strlen(data));
		soup_message_set_request_body_from_bytes(call->msg, "application/json", bytes);
	}
	soup_session_send_async(self->session, call->msg, G_PRIORITY_DEFAULT, cancellable, on_sent,
				g_steal_pointer(&task));
}

gboolean
sbx_ch_api_call_finish(SbxChApi *self, GAsyncResult *res, JsonNode **reply, GError **error)
{
	g_autoptr(GError) local_error = NULL;
	JsonNode *node = g_task_propagate_pointer(G_TASK(res), &local_error);

	if (local_error != NULL) {
		g_propagate_error(error, g_steal_pointer(&local_error));
		return FALSE;
	}
	if (reply != NULL)
		*reply = node;
	else if (node != NULL)
		json_node_unref(node);
	return TRUE;
}

typedef struct {
	SbxChVersion minimum;
	SbxChVersion version;
} PingData;

static void
on_ping(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	PingData *data = g_task_get_task_data(task);
	g_autoptr(JsonNode) reply = NULL;
	GError *error = NULL;
	const gchar *text = NULL;

	if (!sbx_ch_api_call_finish(SBX_CH_API(source), res, &reply, &error)) {
		g_task_return_error(task, error);
		return;
	}
	if (reply != NULL && JSON_NODE_HOLDS_OBJECT(reply))
		text = json_object_get_string_member_with_default(json_node_get_object(reply),
								  "version", NULL);
	if (text == NULL) {
		g_task_return_new_error(task, SBX_CH_API_ERROR, SBX_CH_API_ERROR_PROTOCOL,
					"cloud-hypervisor vmm.ping: no version in the answer");
		return;
	}
	if (!sbx_ch_version_parse(text, &data->version, &error)) {
		g_task_return_new_error(task, SBX_CH_API_ERROR, SBX_CH_API_ERROR_PROTOCOL,
					"cloud-hypervisor vmm.ping: %s", error->message);
		g_error_free(error);
		return;
	}
	if (sbx_ch_version_compare(&data->version, &data->minimum) < 0) {
		g_autofree gchar *have = sbx_ch_version_to_string(&data->version);
		g_autofree gchar *want = sbx_ch_version_to_string(&data->minimum);
		g_task_return_new_error(
		    task, SBX_CH_API_ERROR, SBX_CH_API_ERROR_TOO_OLD,
		    "cloud-hypervisor %s is too old: this backend needs %s or newer "
		    "([cloud-hypervisor] MinVersion)",
		    have, want);
		return;
	}
	g_task_return_boolean(task, TRUE);
}

void
sbx_ch_api_ping_async(SbxChApi *self, const SbxChVersion *minimum, GCancellable *cancellable,
		      GAsyncReadyCallback callback, gpointer user_data)
{
	GTask *task = g_task_new(self, cancellable, callback, user_data);
	PingData *data = g_new0(PingData, 1);

	g_task_set_source_tag(task, sbx_ch_api_ping_async);
	data->minimum = *minimum;
	g_task_set_task_data(task, data, g_free);
	sbx_ch_api_call_async(self, "GET", "vmm.ping", NULL, cancellable, on_ping, task);
}

gboolean
sbx_ch_api_ping_finish(SbxChApi *self, GAsyncResult *res, SbxChVersion *version, GError **error)
{
	PingData *data = g_task_get_task_data(G_TASK(res));

	if (!g_task_propagate_boolean(G_TASK(res), error))
		return FALSE;
	if (version != NULL)
		*version = data->version;
	return TRUE;
}

static void
sbx_ch_api_finalize(GObject *object)
{
	SbxChApi *self = SBX_CH_API(object);

	soup_session_abort(self->session);
	g_clear_object(&self->session);
	G_OBJECT_CLASS(sbx_ch_api_parent_class)->finalize(object);
}

static void
sbx_ch_api_class_init(SbxChApiClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = sbx_ch_api_finalize;
}

static void
sbx_ch_api_init(SbxChApi *self)
{
}

SbxChApi *
sbx_ch_api_new(const gchar *socket_path, guint timeout_sec)
{
	SbxChApi *self = g_object_new(SBX_TYPE_CH_API, NULL);
	g_autoptr(GSocketAddress) address = g_unix_socket_address_new(socket_path);

	/* every request goes to the VMM's socket, whatever the URI's host */
	self->session = soup_session_new_with_options(
	    "remote-connectable", address, "max-conns", SBX_CH_API_MAX_CONNS, "max-conns-per-host",
	    SBX_CH_API_MAX_CONNS, "timeout", timeout_sec, "idle-timeout", 0, NULL);
	/* no gzip: the VMM never compresses, and it keeps requests small */
	soup_session_remove_feature_by_type(self->session, SOUP_TYPE_CONTENT_DECODER);
	return self;
}
