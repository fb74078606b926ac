/* host side of the guest agent protocol: one connection to one agent.
 *
 * The guest is hostile. Every frame is validated by the decoder and then
 * against the state of its channel; any violation closes the whole
 * connection with SBX_ERROR_PROTOCOL and fails everything pending.
 * Reads and writes are asynchronous on the main context that created the
 * client. Outgoing frames are produced one at a time, on demand, from the
 * channels that have something to send (round robin), so nothing queues up
 * beyond one frame per channel plus control.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "sbx-agent-client.h"
#include "sbx-agent-exec.h"
#include "sbx-agent-tcp.h"
#include "sbx-fd.h"
#include "sbx-error.h"
#include "sbx-frame-decoder.h"
#include "sbx-log.h"
#include "sbx-proto.h"

#define SBX_AGENT_READ_SIZE (64u * 1024u)

struct _SbxAgentClient {
	GObject parent_instance;
	GIOStream *stream;
	gchar *sandbox_id;
	GMainContext *context;
	GCancellable *io_cancellable;
	SbxFrameDecoder *decoder;
	guint8 *read_buf;
	gboolean reading;
	gboolean writing;
	GBytes *write_frame; /* the one frame being written */
	gboolean closed;
	gboolean stream_closed;
	GError *close_reason;

	gboolean handshake_started;
	gboolean ready;
	GTask *handshake_task;
	GSource *handshake_timeout;
	GSource *handshake_cancel;
	gchar *agent_version;
	GBytes *pending_hello;
	GBytes *pending_pong;
	guint32 features;
	GBytes *pending_identity;
	GTask *identity_task;

	GHashTable *channels; /* guint32 id -> SbxAgentExec */
	GQueue send_queue;    /* SbxAgentExec with something to send, each once */
	guint32 next_channel;
};

G_DEFINE_TYPE(SbxAgentClient, sbx_agent_client, G_TYPE_OBJECT)

enum { SIGNAL_CLOSED, SIGNAL_LAST };
static guint signals[SIGNAL_LAST] = {0};

/* returning tasks from an idle keeps callers' callbacks off our stack */

typedef struct {
	GTask *task;
	GError *error;
	gpointer pointer;
	GDestroyNotify notify;
	gboolean boolean;
	gboolean is_pointer;
} SbxTaskReturn;

static gboolean
sbx_agent_task_return_cb(gpointer user_data)
{
	SbxTaskReturn *r = user_data;
	if (r->error != NULL)
		g_task_return_error(r->task, g_steal_pointer(&r->error));
	else if (r->is_pointer)
		g_task_return_pointer(r->task, g_steal_pointer(&r->pointer), r->notify);
	else
		g_task_return_boolean(r->task, r->boolean);
	return G_SOURCE_REMOVE;
}

static void
sbx_task_return_free(gpointer user_data)
{
	SbxTaskReturn *r = user_data;
	if (r->error != NULL)
		g_error_free(r->error);
	if (r->pointer != NULL && r->notify != NULL)
		r->notify(r->pointer);
	g_object_unref(r->task);
	g_free(r);
}

static void
sbx_agent_task_return_later(SbxTaskReturn *r)
{
	g_autoptr(GSource) source = g_idle_source_new();
	g_source_set_priority(source, G_PRIORITY_DEFAULT);
	g_source_set_callback(source, sbx_agent_task_return_cb, r, sbx_task_return_free);
	g_source_attach(source, g_task_get_context(r->task));
}

void
sbx_agent_client_task_return_error_later(GTask *task, GError *error)
{
	SbxTaskReturn *r = g_new0(SbxTaskReturn, 1);
	r->task = g_object_ref(task);
	r->error = error;
	sbx_agent_task_return_later(r);
}

void
sbx_agent_client_task_return_pointer_later(GTask *task, gpointer result, GDestroyNotify notify)
{
	SbxTaskReturn *r = g_new0(SbxTaskReturn, 1);
	r->task = g_object_ref(task);
	r->pointer = result;
	r->notify = notify;
	r->is_pointer = TRUE;
	sbx_agent_task_return_later(r);
}

void
sbx_agent_client_task_return_boolean_later(GTask *task, gboolean result)
{
	SbxTaskReturn *r = g_new0(SbxTaskReturn, 1);
	r->task = g_object_ref(task);
	r->boolean = result;
	sbx_agent_task_return_later(r);
}

/* stream */

static void
sbx_agent_client_maybe_close_stream(SbxAgentClient *self)
{
	if (!self->closed || self->reading || self->writing || self->stream_closed)
		return;
	self->stream_closed = TRUE;
	/* a socket: closing does not block */
	g_io_stream_close(self->stream, NULL, NULL);
}

static void
sbx_clear_source(GSource **source)
{
	if (*source == NULL)
		return;
	g_source_destroy(*source);
	g_clear_pointer(source, g_source_unref);
}

void
sbx_agent_client_close(SbxAgentClient *self, const GError *reason)
{
	g_autoptr(SbxAgentClient) ref = NULL;
	g_autoptr(GPtrArray) execs = NULL;
	g_autoptr(GTask) handshake_task = NULL;
	GHashTableIter iter;
	SbxAgentExec *exec;

	g_return_if_fail(SBX_IS_AGENT_CLIENT(self));
	if (self->closed)
		return;
	ref = g_object_ref(self);
	self->closed = TRUE;
	if (reason != NULL)
		self->close_reason = g_error_copy(reason);
	else
		self->close_reason = g_error_new_literal(SBX_ERROR, SBX_ERROR_SANDBOX_GONE,
							 "the agent connection was closed");
	sbx_sandbox_debug(self->sandbox_id != NULL ? self->sandbox_id : "-",
			  "%s: agent connection closed: %s", self->sandbox_id,
			  self->close_reason->message);
	g_cancellable_cancel(self->io_cancellable);
	sbx_clear_source(&self->handshake_timeout);
	sbx_clear_source(&self->handshake_cancel);
	g_clear_pointer(&self->pending_hello, g_bytes_unref);
	g_clear_pointer(&self->pending_pong, g_bytes_unref);

	handshake_task = g_steal_pointer(&self->handshake_task);
	if (handshake_task != NULL)
		sbx_agent_client_task_return_error_later(handshake_task,
							 g_error_copy(self->close_reason));
	g_clear_pointer(&self->pending_identity, g_bytes_unref);
	if (self->identity_task != NULL)
		sbx_agent_client_task_return_error_later(g_steal_pointer(&self->identity_task),
							 g_error_copy(self->close_reason));

	while ((exec = g_queue_pop_head(&self->send_queue)) != NULL)
		sbx_agent_exec_unref(exec);
	execs = g_ptr_array_new_with_free_func((GDestroyNotify)sbx_agent_exec_unref);
	g_hash_table_iter_init(&iter, self->channels);
	while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&exec))
		g_ptr_array_add(execs, sbx_agent_exec_ref(exec));
	g_hash_table_remove_all(self->channels);
	for (guint i = 0; i < execs->len; i++)
		sbx_agent_exec_connection_closed(g_ptr_array_index(execs, i), self->close_reason);

	sbx_agent_client_maybe_close_stream(self);
	g_signal_emit(self, signals[SIGNAL_CLOSED], 0, self->close_reason);
}

static void
sbx_agent_client_close_take(SbxAgentClient *self, GError *reason)
{
	g_autoptr(GError) error = reason;
	sbx_agent_client_close(self, error);
}

gboolean
sbx_agent_client_is_closed(SbxAgentClient *self)
{
	g_return_val_if_fail(SBX_IS_AGENT_CLIENT(self), TRUE);
	return self->closed;
}

const gchar *
sbx_agent_client_get_agent_version(SbxAgentClient *self)
{
	g_return_val_if_fail(SBX_IS_AGENT_CLIENT(self), NULL);
	return self->agent_version;
}

/* writing */

static void sbx_agent_client_pump(SbxAgentClient *self);

static void
sbx_agent_client_write_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxAgentClient) self = user_data;
	g_autoptr(GError) error = NULL;

	self->writing = FALSE;
	g_clear_pointer(&self->write_frame, g_bytes_unref);
	if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(source), res, NULL, &error)) {
		if (!self->closed)
			sbx_agent_client_close_take(
			    self, g_error_new(SBX_ERROR, SBX_ERROR_SANDBOX_GONE,
					      "writing to the agent failed: %s", error->message));
		sbx_agent_client_maybe_close_stream(self);
		return;
	}
	sbx_agent_client_maybe_close_stream(self);
	sbx_agent_client_pump(self);
}

/* sends the next frame if nothing is being written */
static void
sbx_agent_client_pump(SbxAgentClient *self)
{
	GBytes *frame = NULL;
	SbxAgentExec *exec;
	GOutputStream *out;

	if (self->closed || self->writing)
		return;
	if (self->pending_hello != NULL)
		frame = g_steal_pointer(&self->pending_hello);
	else if (self->pending_identity != NULL)
		frame = g_steal_pointer(&self->pending_identity);
	else if (self->pending_pong != NULL)
		frame = g_steal_pointer(&self->pending_pong);
	while (frame == NULL && (exec = g_queue_pop_head(&self->send_queue)) != NULL) {
		frame = sbx_agent_exec_next_frame(exec);
		if (sbx_agent_exec_has_pending(exec))
			g_queue_push_tail(&self->send_queue, exec);
		else
			sbx_agent_exec_unref(exec);
	}
	if (frame == NULL)
		return;
	self->writing = TRUE;
	self->write_frame = frame;
	out = g_io_stream_get_output_stream(self->stream);
	g_output_stream_write_all_async(out, g_bytes_get_data(frame, NULL), g_bytes_get_size(frame),
					G_PRIORITY_DEFAULT, self->io_cancellable,
					sbx_agent_client_write_cb, g_object_ref(self));
}

void
sbx_agent_client_want_send(SbxAgentClient *self, SbxAgentExec *exec)
{
	if (self->closed)
		return;
	if (g_queue_find(&self->send_queue, exec) == NULL)
		g_queue_push_tail(&self->send_queue, sbx_agent_exec_ref(exec));
	sbx_agent_client_pump(self);
}

void
sbx_agent_client_channel_closed(SbxAgentClient *self, SbxAgentExec *exec)
{
	guint32 id = sbx_agent_exec_get_channel(exec);
	if (g_queue_remove(&self->send_queue, exec))
		sbx_agent_exec_unref(exec);
	if (g_hash_table_lookup(self->channels, GUINT_TO_POINTER(id)) == exec)
		g_hash_table_remove(self->channels, GUINT_TO_POINTER(id));
}

/* reading */

static gboolean
sbx_agent_client_unexpected(const SbxFrame *frame, const gchar *why, GError **error)
{
	g_set_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL,
		    "unexpected frame type %u on the control channel %s", frame->header.type, why);
	return FALSE;
}

static gboolean
sbx_agent_client_handle_hello_reply(SbxAgentClient *self, const SbxFrame *frame, GError **error)
{
	SbxProtoHelloReply reply = {0};
	g_autoptr(GTask) task = NULL;

	if (!self->handshake_started || self->ready)
		return sbx_agent_client_unexpected(frame, "(HELLO_REPLY without HELLO)", error);
	if (!sbx_proto_parse_hello_reply(frame->payload, frame->header.length, &reply, error))
		return FALSE;
	if (reply.version != SBX_PROTO_VERSION) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL,
			    "the agent speaks protocol version %u, only %u is supported",
			    reply.version, SBX_PROTO_VERSION);
		sbx_proto_hello_reply_clear(&reply);
		return FALSE;
	}
	if (self->identity_task != NULL && (reply.features & SBX_FEATURE_IDENTITY) == 0) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL,
			    "agent %s cannot take an identity",
			    reply.agent_version != NULL ? reply.agent_version : "?");
		sbx_proto_hello_reply_clear(&reply);
		return FALSE;
	}
	self->ready = TRUE;
	self->features = reply.features;
	self->agent_version = g_steal_pointer(&reply.agent_version);
	sbx_sandbox_debug(self->sandbox_id != NULL ? self->sandbox_id : "-",
			  "%s: agent %s ready (features 0x%x)", self->sandbox_id,
			  self->agent_version, reply.features);
	sbx_clear_source(&self->handshake_timeout);
	sbx_clear_source(&self->handshake_cancel);
	task = g_steal_pointer(&self->handshake_task);
	if (task != NULL)
		sbx_agent_client_task_return_boolean_later(task, TRUE);
	return TRUE;
}

static gboolean
sbx_agent_client_handle_control(SbxAgentClient *self, const SbxFrame *frame, GError **error)
{
	switch (frame->header.type) {
	case SBX_MSG_HELLO_REPLY:
		return sbx_agent_client_handle_hello_reply(self, frame, error);
	case SBX_MSG_PING:
		if (!self->ready)
			return sbx_agent_client_unexpected(frame, "before the handshake", error);
		if (!sbx_proto_parse_ping(frame->payload, frame->header.length, error))
			return FALSE;
		/* one answer outstanding at most: a flood collapses into one PONG */
		g_clear_pointer(&self->pending_pong, g_bytes_unref);
		self->pending_pong =
		    sbx_proto_encode_ping(SBX_MSG_PONG, frame->payload, frame->header.length);
		sbx_agent_client_pump(self);
		return TRUE;
	case SBX_MSG_IDENTITY_REPLY: {
		g_autoptr(GTask) task = g_steal_pointer(&self->identity_task);
		guint32 err = sbx_proto_get_u32(frame->payload);
		g_autofree gchar *what = NULL;
		if (task == NULL)
			return sbx_agent_client_unexpected(
			    frame, "(IDENTITY_REPLY without IDENTITY)", error);
		what = g_strndup((const gchar *)frame->payload + 4, frame->header.length - 4);
		/* guest text: printable ASCII only */
		for (gchar *p = what; *p != '\0'; p++) {
			if (!g_ascii_isprint(*p))
				*p = '?';
		}
		if (err != 0)
			sbx_agent_client_task_return_error_later(
			    g_steal_pointer(&task),
			    g_error_new(SBX_ERROR, SBX_ERROR_AGENT,
					"the guest could not set its %s: error %u", what, err));
		else
			sbx_agent_client_task_return_boolean_later(g_steal_pointer(&task), TRUE);
		return TRUE;
	}
	case SBX_MSG_PONG:
		/* we never PING; docs/protocol.md says a stray PONG is ignored */
		if (!self->ready)
			return sbx_agent_client_unexpected(frame, "before the handshake", error);
		return TRUE;
	case SBX_MSG_ERROR: {
		guint32 code = 0;
		g_autofree gchar *message = NULL;
		if (!sbx_proto_parse_error(frame->payload, frame->header.length, &code, &message,
					   error))
			return FALSE;
		g_set_error(error, SBX_ERROR, SBX_ERROR_AGENT,
			    "the agent closed the connection (error %u): %s", code, message);
		return FALSE;
	}
	default:
		return sbx_agent_client_unexpected(frame, "", error);
	}
}

static gboolean
sbx_agent_client_handle_frame(const SbxFrame *frame, gpointer user_data, GError **error)
{
	SbxAgentClient *self = SBX_AGENT_CLIENT(user_data);
	SbxAgentExec *exec;

	if (self->closed) {
		g_set_error_literal(error, SBX_ERROR, SBX_ERROR_PROTOCOL, "connection closed");
		return FALSE;
	}
	if (frame->header.channel == 0)
		return sbx_agent_client_handle_control(self, frame, error);
	if (!self->ready) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL,
			    "frame type %u on channel %u before the handshake", frame->header.type,
			    frame->header.channel);
		return FALSE;
	}
	exec = g_hash_table_lookup(self->channels, GUINT_TO_POINTER(frame->header.channel));
	if (exec == NULL) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL,
			    "frame type %u on unknown channel %u", frame->header.type,
			    frame->header.channel);
		return FALSE;
	}
	return sbx_agent_exec_handle_frame(exec, frame, error);
}

static void sbx_agent_client_start_read(SbxAgentClient *self);

static void
sbx_agent_client_read_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxAgentClient) self = user_data;
	g_autoptr(GError) error = NULL;
	gssize n;

	self->reading = FALSE;
	n = g_input_stream_read_finish(G_INPUT_STREAM(source), res, &error);
	if (self->closed) {
		sbx_agent_client_maybe_close_stream(self);
		return;
	}
	if (n < 0) {
		sbx_agent_client_close_take(self, g_error_new(SBX_ERROR, SBX_ERROR_SANDBOX_GONE,
							      "reading from the agent failed: %s",
							      error->message));
		return;
	}
	if (n == 0) {
		if (!sbx_frame_decoder_finish(self->decoder, &error)) {
			sbx_agent_client_close(self, error);
			return;
		}
		sbx_agent_client_close_take(
		    self,
		    g_error_new_literal(SBX_ERROR, SBX_ERROR_SANDBOX_GONE, "the agent hung up"));
		return;
	}
	if (!sbx_frame_decoder_feed(self->decoder, self->read_buf, (gsize)n,
				    sbx_agent_client_handle_frame, self, &error)) {
		sbx_agent_client_close(self, error);
		return;
	}
	sbx_agent_client_start_read(self);
}

static void
sbx_agent_client_start_read(SbxAgentClient *self)
{
	if (self->closed || self->reading)
		return;
	self->reading = TRUE;
	g_input_stream_read_async(g_io_stream_get_input_stream(self->stream), self->read_buf,
				  SBX_AGENT_READ_SIZE, G_PRIORITY_DEFAULT, self->io_cancellable,
				  sbx_agent_client_read_cb, g_object_ref(self));
}

/* handshake */

static gboolean
sbx_agent_client_handshake_timeout_cb(gpointer user_data)
{
	SbxAgentClient *self = SBX_AGENT_CLIENT(user_data);
	g_clear_pointer(&self->handshake_timeout, g_source_unref);
	sbx_agent_client_close_take(self, g_error_new_literal(SBX_ERROR, SBX_ERROR_TIMEOUT,
							      "the agent did not answer the "
							      "handshake in time"));
	return G_SOURCE_REMOVE;
}

static gboolean
sbx_agent_client_handshake_cancel_cb(GCancellable *cancellable, gpointer user_data)
{
	SbxAgentClient *self = SBX_AGENT_CLIENT(user_data);
	g_clear_pointer(&self->handshake_cancel, g_source_unref);
	sbx_agent_client_close_take(self, g_error_new_literal(G_IO_ERROR, G_IO_ERROR_CANCELLED,
							      "the handshake was cancelled"));
	return G_SOURCE_REMOVE;
}

void
sbx_agent_client_handshake_async(SbxAgentClient *self, guint timeout_ms, GCancellable *cancellable,
				 GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = NULL;

	g_return_if_fail(SBX_IS_AGENT_CLIENT(self));
	task = g_task_new(self, cancellable, callback, user_data);
	g_task_set_source_tag(task, sbx_agent_client_handshake_async);
	if (self->closed) {
		g_task_return_error(task, g_error_copy(self->close_reason));
		return;
	}
	if (self->handshake_started) {
		g_task_return_new_error(task, SBX_ERROR, SBX_ERROR_FAILED,
					"the handshake was already started");
		return;
	}
	if (g_task_return_error_if_cancelled(task))
		return;
	self->handshake_started = TRUE;
	self->handshake_task = g_steal_pointer(&task);
	if (timeout_ms > 0) {
		self->handshake_timeout = g_timeout_source_new(timeout_ms);
		g_source_set_callback(self->handshake_timeout,
				      sbx_agent_client_handshake_timeout_cb, self, NULL);
		g_source_attach(self->handshake_timeout, self->context);
	}
	if (cancellable != NULL) {
		self->handshake_cancel = g_cancellable_source_new(cancellable);
		g_source_set_callback(self->handshake_cancel,
				      G_SOURCE_FUNC(sbx_agent_client_handshake_cancel_cb), self,
				      NULL);
		g_source_attach(self->handshake_cancel, self->context);
	}
	self->pending_hello = sbx_proto_encode_hello(SBX_PROTO_VERSION, SBX_PROTO_VERSION);
	sbx_agent_client_start_read(self);
	sbx_agent_client_pump(self);
}

gboolean
sbx_agent_client_handshake_finish(SbxAgentClient *self, GAsyncResult *res, GError **error)
{
	g_return_val_if_fail(g_task_is_valid(res, self), FALSE);
	return g_task_propagate_boolean(G_TASK(res), error);
}

/* exec */

static guint32
sbx_agent_client_alloc_channel(SbxAgentClient *self)
{
	/* fewer than SBX_PROTO_MAX_CHANNELS are open: this finds one */
	for (guint i = 0; i <= SBX_PROTO_MAX_CHANNELS; i++) {
		guint32 id = self->next_channel;
		self->next_channel = id == G_MAXUINT32 ? 1 : id + 1;
		if (!g_hash_table_contains(self->channels, GUINT_TO_POINTER(id)))
			return id;
	}
	g_assert_not_reached();
	return 0;
}

guint32
sbx_agent_client_spawn_async(SbxAgentClient *self, const SbxExecParams *params, gint stdin_fd,
			     gint stdout_fd, gint stderr_fd, SbxExecStartedFunc started,
			     gpointer started_data, GCancellable *cancellable,
			     GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = NULL;
	g_autoptr(GError) error = NULL;
	SbxAgentExec *exec;
	guint32 id;

	g_return_val_if_fail(SBX_IS_AGENT_CLIENT(self), 0);
	g_return_val_if_fail(params != NULL, 0);
	task = g_task_new(self, cancellable, callback, user_data);
	g_task_set_source_tag(task, sbx_agent_client_exec_async);
	if (self->closed) {
		g_task_return_error(task, g_error_copy(self->close_reason));
		return 0;
	}
	if (!self->ready) {
		g_task_return_new_error(task, SBX_ERROR, SBX_ERROR_NOT_RUNNING,
					"the agent connection is not ready");
		return 0;
	}
	if (g_hash_table_size(self->channels) >= SBX_PROTO_MAX_CHANNELS) {
		g_task_return_new_error(task, SBX_ERROR, SBX_ERROR_LIMIT_EXCEEDED,
					"too many commands running (at most %u)",
					SBX_PROTO_MAX_CHANNELS);
		return 0;
	}
	if (g_task_return_error_if_cancelled(task))
		return 0;
	id = sbx_agent_client_alloc_channel(self);
	exec = sbx_agent_exec_new(self, id, params, stdin_fd, stdout_fd, stderr_fd, task, &error);
	if (exec == NULL) {
		g_task_return_error(task, g_steal_pointer(&error));
		return 0;
	}
	sbx_agent_exec_set_started_func(exec, started, started_data);
	g_hash_table_insert(self->channels, GUINT_TO_POINTER(id), exec);
	sbx_agent_client_want_send(self, exec);
	return id;
}

void
sbx_agent_client_exec_async(SbxAgentClient *self, const SbxExecParams *params, gint stdin_fd,
			    gint stdout_fd, gint stderr_fd, GCancellable *cancellable,
			    GAsyncReadyCallback callback, gpointer user_data)
{
	sbx_agent_client_spawn_async(self, params, stdin_fd, stdout_fd, stderr_fd, NULL, NULL,
				     cancellable, callback, user_data);
}

static SbxAgentExec *
sbx_agent_client_lookup(SbxAgentClient *self, guint32 channel, GError **error)
{
	SbxAgentExec *exec = NULL;
	if (!self->closed && channel != 0)
		exec = g_hash_table_lookup(self->channels, GUINT_TO_POINTER(channel));
	if (exec == NULL)
		g_set_error_literal(error, SBX_ERROR, SBX_ERROR_NOT_FOUND,
				    "the process has exited");
	return exec;
}

gboolean
sbx_agent_client_signal(SbxAgentClient *self, guint32 channel, gint signum, gboolean group,
			GError **error)
{
	SbxAgentExec *exec;
	g_return_val_if_fail(SBX_IS_AGENT_CLIENT(self), FALSE);
	exec = sbx_agent_client_lookup(self, channel, error);
	return exec != NULL && sbx_agent_exec_queue_signal(exec, signum, group, error);
}

guint
sbx_agent_client_signal_all(SbxAgentClient *self, gint signum)
{
	GHashTableIter iter;
	gpointer value;
	guint n = 0;

	g_return_val_if_fail(SBX_IS_AGENT_CLIENT(self), 0);
	g_hash_table_iter_init(&iter, self->channels);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		if (sbx_agent_exec_is_fs(value))
			continue;
		/* one that already exited just says so */
		if (sbx_agent_exec_queue_signal(value, signum, TRUE, NULL))
			n++;
	}
	return n;
}

gboolean
sbx_agent_client_resize(SbxAgentClient *self, guint32 channel, guint rows, guint cols,
			GError **error)
{
	SbxAgentExec *exec;
	g_return_val_if_fail(SBX_IS_AGENT_CLIENT(self), FALSE);
	exec = sbx_agent_client_lookup(self, channel, error);
	return exec != NULL && sbx_agent_exec_queue_resize(exec, rows, cols, error);
}

gboolean
sbx_agent_client_exec_finish(SbxAgentClient *self, GAsyncResult *res, SbxExecResult *result,
			     GError **error)
{
	g_autofree SbxExecResult *r = NULL;
	g_return_val_if_fail(g_task_is_valid(res, self), FALSE);
	r = g_task_propagate_pointer(G_TASK(res), error);
	if (r == NULL)
		return FALSE;
	if (result != NULL)
		*result = *r;
	return TRUE;
}

/* filesystem channels: an SbxAgentExec with another opening frame */

/* the new channel (borrowed), or NULL when @task already failed */
static SbxAgentExec *
sbx_agent_client_fs_open(SbxAgentClient *self, GTask *task, guint16 type, GBytes *payload,
			 const gchar *user, const gchar *path, gboolean request, gint stdin_fd,
			 gint stdout_fd)
{
	const gchar *const argv[] = {"fs", NULL};
	SbxExecParams params = {.argv = argv, .uid = -1, .gid = -1};
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) frame = NULL;
	SbxAgentExec *exec;
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(payload, &len);
	g_autoptr(GByteArray) wrapped = NULL;
	guint16 hflags = 0;
	guint32 id;

	if (self->closed) {
		g_task_return_error(task, g_error_copy(self->close_reason));
		return NULL;
	}
	if (!self->ready) {
		g_task_return_new_error(task, SBX_ERROR, SBX_ERROR_NOT_RUNNING,
					"the agent connection is not ready");
		return NULL;
	}
	if (g_hash_table_size(self->channels) >= SBX_PROTO_MAX_CHANNELS) {
		g_task_return_new_error(task, SBX_ERROR, SBX_ERROR_LIMIT_EXCEEDED,
					"too many operations running (at most %u)",
					SBX_PROTO_MAX_CHANNELS);
		return NULL;
	}
	if (user != NULL && user[0] != '\0') {
		gsize ulen = strlen(user);
		if ((self->features & SBX_FEATURE_FS_USER) == 0) {
			g_task_return_new_error(task, SBX_ERROR, SBX_ERROR_NOT_SUPPORTED,
						"the guest agent %s cannot act as a user",
						self->agent_version);
			return NULL;
		}
		if (ulen > SBX_FS_USER_MAX || strchr(user, ':') != NULL) {
			g_task_return_new_error(task, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
						"user: at most %u bytes, no ':'", SBX_FS_USER_MAX);
			return NULL;
		}
		/* SBX_FS_AS_USER: the user name string before the request */
		wrapped = g_byte_array_sized_new(4 + ulen + len);
		g_byte_array_set_size(wrapped, 4);
		sbx_proto_put_u32(wrapped->data, (guint32)ulen);
		g_byte_array_append(wrapped, (const guint8 *)user, (guint)ulen);
		g_byte_array_append(wrapped, data, (guint)len);
		data = wrapped->data;
		len = wrapped->len;
		hflags = SBX_FS_AS_USER;
	}
	if (len > SBX_PROTO_MAX_PAYLOAD) {
		g_task_return_new_error(task, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
					"request too large");
		return NULL;
	}
	if (g_task_return_error_if_cancelled(task))
		return NULL;
	id = sbx_agent_client_alloc_channel(self);
	exec = sbx_agent_exec_new(self, id, &params, stdin_fd, stdout_fd, -1, task, &error);
	if (exec == NULL) {
		g_task_return_error(task, g_steal_pointer(&error));
		return NULL;
	}
	frame = sbx_proto_encode_frame(type, hflags, id, data, len);
	sbx_agent_exec_set_fs(exec, frame, path, request);
	g_hash_table_insert(self->channels, GUINT_TO_POINTER(id), exec);
	sbx_agent_client_want_send(self, exec);
	return exec;
}

void
sbx_agent_client_fs_request_async(SbxAgentClient *self, guint16 type, GBytes *payload,
				  const gchar *user, const gchar *path, GCancellable *cancellable,
				  GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = NULL;
	g_return_if_fail(SBX_IS_AGENT_CLIENT(self));
	task = g_task_new(self, cancellable, callback, user_data);
	g_task_set_source_tag(task, sbx_agent_client_fs_request_async);
	sbx_agent_client_fs_open(self, task, type, payload, user, path, TRUE, -1, -1);
}

SbxAgentReply *
sbx_agent_client_fs_request_finish(SbxAgentClient *self, GAsyncResult *res, GError **error)
{
	g_return_val_if_fail(g_task_is_valid(res, self), NULL);
	return g_task_propagate_pointer(G_TASK(res), error);
}

void
sbx_agent_client_fs_stream_async(SbxAgentClient *self, guint16 type, GBytes *payload,
				 const gchar *user, const gchar *path, gint stdin_fd,
				 gint stdout_fd, GCancellable *cancellable,
				 GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = NULL;
	g_return_if_fail(SBX_IS_AGENT_CLIENT(self));
	task = g_task_new(self, cancellable, callback, user_data);
	g_task_set_source_tag(task, sbx_agent_client_fs_stream_async);
	g_task_set_task_data(task, g_strdup(path), g_free);
	sbx_agent_client_fs_open(self, task, type, payload, user, path, FALSE, stdin_fd, stdout_fd);
}

void
sbx_agent_client_tcp_connect_async(SbxAgentClient *self, const gchar *host, guint16 port,
				   guint timeout_ms, gint fd, SbxExecStartedFunc started,
				   gpointer started_data, GCancellable *cancellable,
				   GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = NULL;
	g_autoptr(GBytes) payload = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *label = NULL;
	SbxAgentExec *exec;

	g_return_if_fail(SBX_IS_AGENT_CLIENT(self));
	task = g_task_new(self, cancellable, callback, user_data);
	g_task_set_source_tag(task, sbx_agent_client_tcp_connect_async);
	label = g_strdup_printf(strchr(host, ':') != NULL ? "[%s]:%u" : "%s:%u", host, port);
	g_task_set_task_data(task, g_strdup(label), g_free);
	payload =
	    sbx_agent_tcp_encode_connect(host, port, SBX_PROTO_DEFAULT_WINDOW, timeout_ms, &error);
	if (payload == NULL) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	exec = sbx_agent_client_fs_open(self, task, SBX_MSG_TCP_CONNECT, payload, NULL, label,
					FALSE, fd, fd);
	if (exec == NULL)
		return;
	sbx_agent_exec_set_started_func(exec, started, started_data);
	sbx_agent_exec_set_half_close(exec);
}

gboolean
sbx_agent_client_tcp_connect_finish(SbxAgentClient *self, GAsyncResult *res, GError **error)
{
	g_autofree SbxExecResult *r = NULL;
	const gchar *label;
	g_return_val_if_fail(g_task_is_valid(res, self), FALSE);
	label = g_task_get_task_data(G_TASK(res));
	r = g_task_propagate_pointer(G_TASK(res), error);
	if (r == NULL)
		return FALSE;
	if (r->signal != 0) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_FAILED, "%s: the connection was reset",
			    label);
		return FALSE;
	}
	if (r->exit_code != 0) {
		g_set_error(error, SBX_ERROR, sbx_error_code_from_errno(r->exit_code), "%s: %s",
			    label, g_strerror(r->exit_code));
		return FALSE;
	}
	return TRUE;
}

gboolean
sbx_agent_client_fs_stream_finish(SbxAgentClient *self, GAsyncResult *res, GError **error)
{
	g_autofree SbxExecResult *r = NULL;
	const gchar *path;
	g_return_val_if_fail(g_task_is_valid(res, self), FALSE);
	path = g_task_get_task_data(G_TASK(res));
	r = g_task_propagate_pointer(G_TASK(res), error);
	if (r == NULL)
		return FALSE;
	/* the guest reports the errno that failed the transfer as the exit code */
	if (r->signal != 0) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_AGENT, "%s: the transfer was aborted",
			    path);
		return FALSE;
	}
	if (r->exit_code != 0) {
		g_set_error(error, SBX_ERROR, sbx_error_code_from_errno(r->exit_code), "%s: %s",
			    path, g_strerror(r->exit_code));
		return FALSE;
	}
	return TRUE;
}

/* object */

SbxAgentClient *
sbx_agent_client_new(GIOStream *stream, const gchar *sandbox_id)
{
	SbxAgentClient *self;
	g_return_val_if_fail(G_IS_IO_STREAM(stream), NULL);
	self = g_object_new(SBX_TYPE_AGENT_CLIENT, NULL);
	self->stream = g_object_ref(stream);
	self->sandbox_id = g_strdup(sandbox_id != NULL ? sandbox_id : "-");
	return self;
}

static void
sbx_agent_client_init(SbxAgentClient *self)
{
	self->context = g_main_context_ref_thread_default();
	self->io_cancellable = g_cancellable_new();
	self->decoder = sbx_frame_decoder_new();
	self->read_buf = g_malloc(SBX_AGENT_READ_SIZE);
	self->channels = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
					       (GDestroyNotify)sbx_agent_exec_unref);
	g_queue_init(&self->send_queue);
	self->next_channel = 1;
}

static void
sbx_agent_client_dispose(GObject *object)
{
	SbxAgentClient *self = SBX_AGENT_CLIENT(object);
	if (!self->closed && self->stream != NULL)
		sbx_agent_client_close_take(
		    self, g_error_new_literal(SBX_ERROR, SBX_ERROR_SANDBOX_GONE,
					      "the agent connection was released"));
	G_OBJECT_CLASS(sbx_agent_client_parent_class)->dispose(object);
}

static void
sbx_agent_client_finalize(GObject *object)
{
	SbxAgentClient *self = SBX_AGENT_CLIENT(object);
	sbx_clear_source(&self->handshake_timeout);
	sbx_clear_source(&self->handshake_cancel);
	g_clear_object(&self->handshake_task);
	g_clear_pointer(&self->pending_hello, g_bytes_unref);
	g_clear_pointer(&self->pending_pong, g_bytes_unref);
	g_clear_pointer(&self->pending_identity, g_bytes_unref);
	g_clear_pointer(&self->write_frame, g_bytes_unref);
	g_queue_clear_full(&self->send_queue, (GDestroyNotify)sbx_agent_exec_unref);
	g_hash_table_unref(self->channels);
	g_clear_error(&self->close_reason);
	g_free(self->agent_version);
	g_free(self->read_buf);
	sbx_frame_decoder_free(self->decoder);
	g_object_unref(self->io_cancellable);
	g_clear_object(&self->stream);
	g_free(self->sandbox_id);
	g_main_context_unref(self->context);
	G_OBJECT_CLASS(sbx_agent_client_parent_class)->finalize(object);
}

static void
sbx_agent_client_class_init(SbxAgentClientClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	object_class->dispose = sbx_agent_client_dispose;
	object_class->finalize = sbx_agent_client_finalize;

	/* a write to a pipe whose reader left must fail with EPIPE */
	sbx_fd_ignore_sigpipe();

	signals[SIGNAL_CLOSED] =
	    g_signal_new("closed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
			 G_TYPE_NONE, 1, G_TYPE_ERROR | G_SIGNAL_TYPE_STATIC_SCOPE);
}

guint32
sbx_agent_client_get_features(SbxAgentClient *self)
{
	g_return_val_if_fail(SBX_IS_AGENT_CLIENT(self), 0);
	return self->features;
}

/* after a restore: the clone's own entropy, clock, names and network, before
 * anything else runs in it; completes when the agent applied it */
void
sbx_agent_client_set_identity_async(SbxAgentClient *self, const SbxProtoIdentity *identity,
				    GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(self, NULL, callback, user_data);
	g_autoptr(GError) error = NULL;
	GBytes *frame;

	g_task_set_source_tag(task, sbx_agent_client_set_identity_async);
	/* right behind HELLO is fine: the agent answers in order, and a restored
	 * clone saves a round trip that way */
	if (self->closed || !self->handshake_started || self->identity_task != NULL) {
		g_task_return_new_error(task, SBX_ERROR, SBX_ERROR_NOT_RUNNING,
					"the agent is not ready for an identity");
		return;
	}
	if (self->ready && (self->features & SBX_FEATURE_IDENTITY) == 0) {
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
					"agent %s cannot take an identity", self->agent_version);
		return;
	}
	frame = sbx_proto_encode_identity(identity, &error);
	if (frame == NULL) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	self->pending_identity = frame;
	self->identity_task = g_steal_pointer(&task);
	sbx_agent_client_pump(self);
}

gboolean
sbx_agent_client_set_identity_finish(SbxAgentClient *self, GAsyncResult *res, GError **error)
{
	return g_task_propagate_boolean(G_TASK(res), error);
}
