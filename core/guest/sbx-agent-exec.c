/* one process channel: EXEC, stdin -> DATA within the guest's credit,
 * DATA -> stdout/stderr fds with CREDIT granted back only once bytes were
 * written (a slow reader throttles the guest), EXIT.
 *
 * A broken output pipe (EPIPE) is handled like a local pipeline would: the
 * stream's further output is discarded (and its credit granted back so the
 * guest never stalls) and SIGPIPE is sent to the process group once.
 * Cancelling sends SIGKILL to the group, completes at once, and keeps the
 * channel open in a draining state until the guest reports EXIT.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>

#include <glib-unix.h>

#include "sbx-agent-exec.h"
#include "sbx-fd.h"
#include "sbx-error.h"
#include "sbx-proto.h"

/* Linux's pipe size unless someone set another */
#define SBX_DEFAULT_PIPE_SIZE (64 * 1024)

typedef enum {
	SBX_EXEC_STATE_QUEUED,	/* EXEC not sent yet */
	SBX_EXEC_STATE_SENT,	/* waiting for EXEC_STARTED */
	SBX_EXEC_STATE_RUNNING, /* started */
	SBX_EXEC_STATE_EXITED,	/* EXIT received, writing the rest of the output */
	SBX_EXEC_STATE_DONE,
} SbxExecState;

typedef struct {
	SbxAgentExec *exec;
	SbxStream stream;
	SbxFd fd;
	gboolean piped;
	GByteArray *buf; /* received, not yet written; at most the window */
	gsize buf_off;
	guint32 credit;	  /* bytes the guest may still send */
	guint32 to_grant; /* written or discarded, not granted back yet */
	gboolean eof;
	gboolean discard; /* broken, absent or draining: drop and grant back */
	GSource *watch;
} SbxSink;

struct _SbxAgentExec {
	gint ref_count;
	SbxAgentClient *client; /* not owned; NULL once detached */
	GMainContext *context;
	guint32 channel;
	gchar *argv0;
	SbxExecState state;
	GBytes *exec_frame;
	GTask *task; /* NULL once completed */
	GSource *cancel_source;
	SbxExecResult result;
	gboolean draining;  /* cancelled: only waiting for EXIT to free the channel */
	gboolean flush_ref; /* holds a ref on itself while writing output after EXIT */
	gboolean sigpipe_sent;
	gint pending_signal;

	/* filesystem (sbx_agent_exec_set_fs): a stream or a one-reply request */
	gchar *fs_path;
	gboolean fs_request;
	gboolean half_close;

	/* process control: user signals (FIFO), the latest terminal size */
	SbxExecStartedFunc started_func;
	gpointer started_data;
	gint user_signals[8];
	gboolean user_signal_group[8];
	guint n_user_signals;
	gboolean resize_pending;
	guint32 resize_rows;
	guint32 resize_cols;

	SbxFd in;
	gboolean in_piped;
	guint32 in_credit;
	GSource *in_watch;
	GBytes *in_chunk;
	gboolean in_eof;
	gboolean in_eof_sent;

	SbxSink out[3]; /* indexed by SbxStream; [0] unused */
};

static void sbx_agent_exec_maybe_complete(SbxAgentExec *self);
static void sbx_sink_flush(SbxSink *sink);

void
sbx_agent_exec_result_free(SbxExecResult *result)
{
	g_free(result);
}

static void
sbx_agent_exec_want_send(SbxAgentExec *self)
{
	if (self->client != NULL && sbx_agent_exec_has_pending(self))
		sbx_agent_client_want_send(self->client, self);
}

static void
sbx_clear_source(GSource **source)
{
	if (*source == NULL)
		return;
	g_source_destroy(*source);
	g_clear_pointer(source, g_source_unref);
}

static void
sbx_sink_clear(SbxSink *sink)
{
	sbx_clear_source(&sink->watch);
	sbx_fd_close(&sink->fd);
	g_clear_pointer(&sink->buf, g_byte_array_unref);
	sink->buf_off = 0;
}

static gsize
sbx_sink_pending(SbxSink *sink)
{
	return sink->buf != NULL ? sink->buf->len - sink->buf_off : 0;
}

/* stop writing: what is buffered and what still comes is granted back */
static void
sbx_sink_discard(SbxSink *sink)
{
	sink->to_grant += (guint32)sbx_sink_pending(sink);
	sink->discard = TRUE;
	sbx_sink_clear(sink);
}

/* drops everything that still needs the main loop */
static void
sbx_agent_exec_cleanup(SbxAgentExec *self)
{
	sbx_clear_source(&self->cancel_source);
	sbx_clear_source(&self->in_watch);
	sbx_fd_close(&self->in);
	g_clear_pointer(&self->in_chunk, g_bytes_unref);
	g_clear_pointer(&self->exec_frame, g_bytes_unref);
	for (guint i = SBX_STREAM_STDOUT; i <= SBX_STREAM_STDERR; i++)
		sbx_sink_clear(&self->out[i]);
}

/* callers hold their own reference */
static void
sbx_agent_exec_drop_flush_ref(SbxAgentExec *self)
{
	if (!self->flush_ref)
		return;
	self->flush_ref = FALSE;
	sbx_agent_exec_unref(self);
}

static void
sbx_agent_exec_fail(SbxAgentExec *self, GError *error)
{
	g_autoptr(GTask) task = g_steal_pointer(&self->task);
	sbx_agent_exec_cleanup(self);
	if (task != NULL)
		sbx_agent_client_task_return_error_later(task, error);
	else
		g_error_free(error);
}

/* the guest forgot the channel: we must too */
static void
sbx_agent_exec_close_channel(SbxAgentExec *self)
{
	SbxAgentClient *client = self->client;
	self->client = NULL;
	if (client != NULL)
		sbx_agent_client_channel_closed(client, self);
}

static gboolean
sbx_agent_exec_cancelled_cb(GCancellable *cancellable, gpointer user_data)
{
	g_autoptr(SbxAgentExec) self = sbx_agent_exec_ref(user_data);
	g_autoptr(GTask) task = g_steal_pointer(&self->task);

	g_clear_pointer(&self->cancel_source, g_source_unref);
	if (task == NULL)
		return G_SOURCE_REMOVE;
	switch (self->state) {
	case SBX_EXEC_STATE_QUEUED:
		/* the guest never heard of it */
		sbx_agent_exec_cleanup(self);
		self->state = SBX_EXEC_STATE_DONE;
		sbx_agent_exec_close_channel(self);
		break;
	case SBX_EXEC_STATE_SENT:
	case SBX_EXEC_STATE_RUNNING:
		/* a request is answered at once: nothing to kill */
		self->pending_signal = self->fs_request ? 0 : SIGKILL;
		self->draining = TRUE;
		sbx_clear_source(&self->in_watch);
		sbx_fd_close(&self->in);
		g_clear_pointer(&self->in_chunk, g_bytes_unref);
		for (guint i = SBX_STREAM_STDOUT; i <= SBX_STREAM_STDERR; i++)
			sbx_sink_discard(&self->out[i]);
		sbx_agent_exec_want_send(self);
		break;
	default:
		sbx_agent_exec_cleanup(self);
		self->state = SBX_EXEC_STATE_DONE;
		sbx_agent_exec_drop_flush_ref(self);
		break;
	}
	g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
				"the command was cancelled");
	return G_SOURCE_REMOVE;
}

static gboolean
sbx_sink_open(SbxSink *sink, SbxAgentExec *exec, SbxStream stream, gint fd, GError **error)
{
	sink->exec = exec;
	sink->stream = stream;
	if (!sbx_fd_open(&sink->fd, fd, TRUE, error))
		return FALSE;
	sink->piped = fd >= 0;
	sink->credit = sink->piped ? SBX_PROTO_DEFAULT_WINDOW : 0;
	/* a caller's pipe of the default size is made a window deep: one write
	 * and one wakeup per window instead of one per 64 KiB on a busy host. A
	 * size the caller chose is kept; not a pipe, or over pipe-max-size: as is */
	if (sink->piped && fcntl(sink->fd.fd, F_GETPIPE_SZ) == SBX_DEFAULT_PIPE_SIZE)
		(void)fcntl(sink->fd.fd, F_SETPIPE_SZ, (int)SBX_PROTO_DEFAULT_WINDOW);
	/* a pipe without a reader is handled on the first DATA, like EPIPE */
	sink->discard = !sink->piped;
	if (sink->piped)
		sink->buf = g_byte_array_new();
	return TRUE;
}

SbxAgentExec *
sbx_agent_exec_new(SbxAgentClient *client, guint32 channel, const SbxExecParams *params,
		   gint stdin_fd, gint stdout_fd, gint stderr_fd, GTask *task, GError **error)
{
	g_autoptr(SbxAgentExec) self = g_new0(SbxAgentExec, 1);
	SbxProtoExec req = {0};
	GCancellable *cancellable = g_task_get_cancellable(task);

	self->ref_count = 1;
	self->channel = channel;
	self->in.fd = -1;
	self->out[SBX_STREAM_STDOUT].fd.fd = -1;
	self->out[SBX_STREAM_STDERR].fd.fd = -1;
	self->context = g_main_context_ref_thread_default();

	if (params->argv == NULL || params->argv[0] == NULL) {
		g_set_error_literal(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
				    "the command line is empty");
		return NULL;
	}
	if (params->user != NULL && params->user[0] == '\0') {
		g_set_error_literal(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
				    "the user name is empty");
		return NULL;
	}
	if (params->pty && stdout_fd < 0) {
		g_set_error_literal(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
				    "a pseudo-terminal needs a stdout fd");
		return NULL;
	}
	if ((params->uid < 0) != (params->gid < 0)) {
		g_set_error_literal(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
				    "uid and gid must be given together");
		return NULL;
	}
	self->argv0 = g_strdup(params->argv[0]);

	if (!sbx_fd_open(&self->in, stdin_fd, FALSE, error))
		return NULL;
	self->in_piped = stdin_fd >= 0;
	/* merged: the guest sends nothing on stderr */
	if (params->merge_stderr || params->pty)
		stderr_fd = -1;
	if (!sbx_sink_open(&self->out[SBX_STREAM_STDOUT], self, SBX_STREAM_STDOUT, stdout_fd,
			   error) ||
	    !sbx_sink_open(&self->out[SBX_STREAM_STDERR], self, SBX_STREAM_STDERR, stderr_fd,
			   error))
		return NULL;

	req.argv = (gchar **)params->argv;
	req.envp = (gchar **)params->envp;
	req.cwd = (gchar *)params->cwd;
	if (self->in_piped)
		req.flags |= SBX_EXEC_STDIN_PIPE;
	if (self->out[SBX_STREAM_STDOUT].piped)
		req.flags |= SBX_EXEC_STDOUT_PIPE;
	if (self->out[SBX_STREAM_STDERR].piped)
		req.flags |= SBX_EXEC_STDERR_PIPE;
	if (params->clear_env)
		req.flags |= SBX_EXEC_CLEAR_ENV;
	if (params->uid >= 0) {
		req.flags |= SBX_EXEC_SET_USER;
		req.uid = (guint32)params->uid;
		req.gid = (guint32)params->gid;
	}
	if (params->timeout_ms > 0) {
		req.flags |= SBX_EXEC_TIMEOUT;
		req.timeout_ms = params->timeout_ms;
	}
	if (params->merge_stderr)
		req.flags |= SBX_EXEC_STDERR_MERGE;
	if (params->pty) {
		req.flags |= SBX_EXEC_PTY;
		req.rows = params->rows;
		req.cols = params->cols;
	}
	if (params->user != NULL) {
		req.flags |= SBX_EXEC_USER_NAME;
		req.user = (gchar *)params->user;
	}
	req.stdout_window = self->out[SBX_STREAM_STDOUT].credit;
	req.stderr_window = self->out[SBX_STREAM_STDERR].credit;
	self->exec_frame = sbx_proto_encode_exec(channel, &req, error);
	if (self->exec_frame == NULL)
		return NULL;

	self->client = client;
	self->task = g_object_ref(task);
	if (cancellable != NULL) {
		self->cancel_source = g_cancellable_source_new(cancellable);
		g_source_set_callback(self->cancel_source,
				      G_SOURCE_FUNC(sbx_agent_exec_cancelled_cb), self, NULL);
		g_source_attach(self->cancel_source, self->context);
	}
	return g_steal_pointer(&self);
}

SbxAgentExec *
sbx_agent_exec_ref(SbxAgentExec *self)
{
	g_atomic_int_inc(&self->ref_count);
	return self;
}

void
sbx_agent_exec_unref(SbxAgentExec *self)
{
	if (!g_atomic_int_dec_and_test(&self->ref_count))
		return;
	sbx_agent_exec_cleanup(self);
	g_clear_object(&self->task);
	g_main_context_unref(self->context);
	g_free(self->fs_path);
	g_free(self->argv0);
	g_free(self);
}

guint32
sbx_agent_exec_get_channel(SbxAgentExec *self)
{
	return self->channel;
}

void
sbx_agent_exec_set_fs(SbxAgentExec *self, GBytes *open_frame, const gchar *path, gboolean request)
{
	g_clear_pointer(&self->exec_frame, g_bytes_unref);
	self->exec_frame = g_bytes_ref(open_frame);
	g_free(self->fs_path);
	self->fs_path = g_strdup(path);
	self->fs_request = request;
}

void
sbx_agent_exec_reply_free(SbxAgentReply *reply)
{
	if (reply == NULL)
		return;
	g_bytes_unref(reply->payload);
	g_free(reply);
}

/* the one reply to a filesystem request: completes and closes the channel */
static gboolean
sbx_agent_exec_handle_reply(SbxAgentExec *self, const SbxFrame *frame)
{
	g_autoptr(GTask) task = g_steal_pointer(&self->task);
	SbxAgentReply *reply = g_new0(SbxAgentReply, 1);
	reply->type = frame->header.type;
	reply->payload = g_bytes_new(frame->payload, frame->header.length);
	self->state = SBX_EXEC_STATE_DONE;
	sbx_agent_exec_cleanup(self);
	if (task != NULL)
		sbx_agent_client_task_return_pointer_later(
		    task, reply, (GDestroyNotify)sbx_agent_exec_reply_free);
	else
		sbx_agent_exec_reply_free(reply);
	sbx_agent_exec_close_channel(self);
	return TRUE;
}

void
sbx_agent_exec_set_started_func(SbxAgentExec *self, SbxExecStartedFunc func, gpointer user_data)
{
	self->started_func = func;
	self->started_data = user_data;
}

static gboolean
sbx_agent_exec_check_live(SbxAgentExec *self, GError **error)
{
	if (self->client == NULL || self->draining ||
	    (self->state != SBX_EXEC_STATE_SENT && self->state != SBX_EXEC_STATE_RUNNING &&
	     self->state != SBX_EXEC_STATE_QUEUED)) {
		g_set_error_literal(error, SBX_ERROR, SBX_ERROR_NOT_FOUND,
				    "the process has exited");
		return FALSE;
	}
	return TRUE;
}

void
sbx_agent_exec_set_half_close(SbxAgentExec *self)
{
	self->half_close = TRUE;
}

gboolean
sbx_agent_exec_is_fs(SbxAgentExec *self)
{
	return self->fs_path != NULL;
}

gboolean
sbx_agent_exec_queue_signal(SbxAgentExec *self, gint signum, gboolean group, GError **error)
{
	if (signum <= 0 || signum >= 65) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
			    "%d is not a signal number", signum);
		return FALSE;
	}
	if (!sbx_agent_exec_check_live(self, error))
		return FALSE;
	if (self->n_user_signals >= G_N_ELEMENTS(self->user_signals)) {
		g_set_error_literal(error, SBX_ERROR, SBX_ERROR_LIMIT_EXCEEDED,
				    "too many signals queued for the process");
		return FALSE;
	}
	self->user_signals[self->n_user_signals] = signum;
	self->user_signal_group[self->n_user_signals] = group;
	self->n_user_signals++;
	sbx_agent_exec_want_send(self);
	return TRUE;
}

gboolean
sbx_agent_exec_queue_resize(SbxAgentExec *self, guint rows, guint cols, GError **error)
{
	if (rows == 0 || cols == 0 || rows > 0xffff || cols > 0xffff) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
			    "terminal size %ux%u out of range (1-65535)", rows, cols);
		return FALSE;
	}
	if (!sbx_agent_exec_check_live(self, error))
		return FALSE;
	self->resize_pending = TRUE;
	self->resize_rows = rows;
	self->resize_cols = cols;
	sbx_agent_exec_want_send(self);
	return TRUE;
}

/* stdin */

static gboolean sbx_agent_exec_stdin_cb(gint fd, GIOCondition condition, gpointer user_data);

static void
sbx_agent_exec_stdin_update(SbxAgentExec *self)
{
	gboolean want = self->state == SBX_EXEC_STATE_RUNNING && !self->draining &&
			self->in.fd >= 0 && !self->in_eof && self->in_chunk == NULL &&
			self->in_credit > 0;
	if (want && self->in_watch == NULL) {
		self->in_watch = g_unix_fd_source_new(self->in.fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
		g_source_set_callback(self->in_watch, G_SOURCE_FUNC(sbx_agent_exec_stdin_cb), self,
				      NULL);
		g_source_attach(self->in_watch, self->context);
	} else if (!want) {
		sbx_clear_source(&self->in_watch);
	}
}

static gboolean
sbx_agent_exec_stdin_cb(gint fd, GIOCondition condition, gpointer user_data)
{
	g_autoptr(SbxAgentExec) self = sbx_agent_exec_ref(user_data);
	gsize max = MIN(self->in_credit, SBX_PROTO_MAX_PAYLOAD);
	g_autofree guint8 *buf = g_malloc(max);
	gssize n = sbx_fd_read(&self->in, buf, max);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return G_SOURCE_CONTINUE;
	if (n > 0) {
		self->in_credit -= (guint32)n;
		self->in_chunk = g_bytes_new_take(g_steal_pointer(&buf), (gsize)n);
	} else {
		if (n < 0)
			g_debug("channel %u: reading stdin failed: %s", self->channel,
				g_strerror(errno));
		self->in_eof = TRUE;
		sbx_fd_close(&self->in);
	}
	sbx_agent_exec_stdin_update(self);
	sbx_agent_exec_want_send(self);
	return self->in_watch != NULL ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* stdout/stderr */

static gboolean
sbx_sink_writable_cb(gint fd, GIOCondition condition, gpointer user_data)
{
	SbxSink *sink = user_data;
	g_autoptr(SbxAgentExec) exec = sbx_agent_exec_ref(sink->exec);
	/* the flush removes the watch when done; keep the source alive till we return */
	g_autoptr(GSource) watch = g_source_ref(sink->watch);

	sbx_sink_flush(sink);
	sbx_agent_exec_want_send(exec);
	sbx_agent_exec_maybe_complete(exec);
	return G_SOURCE_CONTINUE;
}

static void
sbx_sink_broken(SbxSink *sink, gint err)
{
	SbxAgentExec *exec = sink->exec;
	g_debug("channel %u: writing stream %u failed: %s", exec->channel, sink->stream,
		g_strerror(err));
	sbx_sink_discard(sink);
	/* what a local pipeline does: the writer gets SIGPIPE */
	if (err == EPIPE && !exec->sigpipe_sent && !exec->draining &&
	    exec->state == SBX_EXEC_STATE_RUNNING && exec->pending_signal == 0) {
		exec->sigpipe_sent = TRUE;
		exec->pending_signal = SIGPIPE;
	}
}

/* the guest's stream ended and everything was written: the reader sees EOF */
static void
sbx_sink_close_at_eof(SbxSink *sink)
{
	/* the socket's other copy reads on: send a FIN, not nothing */
	if (sink->exec->half_close && sink->fd.kind == SBX_FD_KIND_SOCKET)
		shutdown(sink->fd.fd, SHUT_WR);
	sbx_fd_close(&sink->fd);
}

/* writes what the fd takes without blocking; never completes the exec */
static void
sbx_sink_flush(SbxSink *sink)
{
	while (sbx_sink_pending(sink) > 0) {
		gssize n = sbx_fd_write(&sink->fd, sink->buf->data + sink->buf_off,
					sbx_sink_pending(sink));
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (sink->watch == NULL) {
				sink->watch =
				    g_unix_fd_source_new(sink->fd.fd, G_IO_OUT | G_IO_ERR);
				g_source_set_callback(
				    sink->watch, G_SOURCE_FUNC(sbx_sink_writable_cb), sink, NULL);
				g_source_attach(sink->watch, sink->exec->context);
			}
			return;
		}
		if (n <= 0) {
			sbx_sink_broken(sink, n < 0 ? errno : EIO);
			return;
		}
		sink->buf_off += (gsize)n;
		sink->to_grant += (guint32)n;
	}
	if (sink->buf != NULL) {
		g_byte_array_set_size(sink->buf, 0);
		sink->buf_off = 0;
	}
	sbx_clear_source(&sink->watch);
	/* the reader sees EOF as soon as the guest's stream ended */
	if (sink->eof)
		sbx_sink_close_at_eof(sink);
}

static gboolean
sbx_sink_data(SbxSink *sink, const SbxFrame *frame, GError **error)
{
	guint32 len = frame->header.length;
	if (sink->eof) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL,
			    "DATA after EOF on channel %u stream %u", frame->header.channel,
			    sink->stream);
		return FALSE;
	}
	if (len > sink->credit) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL,
			    "%u bytes of DATA on channel %u stream %u exceed the credit of %u", len,
			    frame->header.channel, sink->stream, sink->credit);
		return FALSE;
	}
	sink->credit -= len;
	if (sink->fd.broken) {
		sink->fd.broken = FALSE;
		sbx_sink_broken(sink, EPIPE);
	}
	if (sink->discard) {
		sink->to_grant += len;
		return TRUE;
	}
	g_byte_array_append(sink->buf, frame->payload, len);
	if (sink->watch == NULL)
		sbx_sink_flush(sink);
	return TRUE;
}

/* completion */

static void
sbx_agent_exec_maybe_complete(SbxAgentExec *self)
{
	SbxExecResult *result;
	g_autoptr(GTask) task = NULL;

	if (self->state != SBX_EXEC_STATE_EXITED)
		return;
	for (guint i = SBX_STREAM_STDOUT; i <= SBX_STREAM_STDERR; i++) {
		if (sbx_sink_pending(&self->out[i]) > 0)
			return;
	}
	self->state = SBX_EXEC_STATE_DONE;
	task = g_steal_pointer(&self->task);
	sbx_agent_exec_cleanup(self);
	if (task != NULL) {
		result = g_memdup2(&self->result, sizeof(self->result));
		sbx_agent_client_task_return_pointer_later(
		    task, result, (GDestroyNotify)sbx_agent_exec_result_free);
	}
	sbx_agent_exec_drop_flush_ref(self);
}

static GError *
sbx_agent_exec_failed_error(SbxAgentExec *self, gint32 err, const gchar *message)
{
	gint code = SBX_ERROR_AGENT;
	const gchar *why = message[0] != '\0' ? message : g_strerror(err);
	if (self->fs_path != NULL)
		return g_error_new(SBX_ERROR, sbx_error_code_from_errno(err), "%s: %s",
				   self->fs_path, g_strerror(err));
	if (err == ENOENT)
		code = SBX_ERROR_NOT_FOUND;
	else if (err == EACCES || err == EPERM)
		code = SBX_ERROR_ACCESS_DENIED;
	return g_error_new(SBX_ERROR, code, "cannot run '%s' in the sandbox: %s", self->argv0, why);
}

static gboolean
sbx_agent_exec_unexpected(const SbxFrame *frame, const gchar *state, GError **error)
{
	g_set_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL,
		    "unexpected frame type %u on channel %u %s", frame->header.type,
		    frame->header.channel, state);
	return FALSE;
}

static gboolean
sbx_agent_exec_handle_error_frame(SbxAgentExec *self, const SbxFrame *frame, GError **error)
{
	guint32 code = 0;
	g_autofree gchar *message = NULL;
	if (!sbx_proto_parse_error(frame->payload, frame->header.length, &code, &message, error))
		return FALSE;
	self->state = SBX_EXEC_STATE_DONE;
	sbx_agent_exec_fail(self, g_error_new(SBX_ERROR, SBX_ERROR_AGENT,
					      "the agent dropped the command (error %u): %s", code,
					      message));
	sbx_agent_exec_close_channel(self);
	return TRUE;
}

static gboolean
sbx_agent_exec_handle_running(SbxAgentExec *self, const SbxFrame *frame, GError **error)
{
	const SbxFrameHeader *h = &frame->header;
	switch (h->type) {
	case SBX_MSG_DATA:
		if (h->flags == SBX_STREAM_STDIN)
			return sbx_agent_exec_unexpected(frame, "(DATA for stdin)", error);
		if (!sbx_sink_data(&self->out[h->flags], frame, error))
			return FALSE;
		break;
	case SBX_MSG_EOF:
		if (h->flags == SBX_STREAM_STDIN)
			return sbx_agent_exec_unexpected(frame, "(EOF for stdin)", error);
		if (self->out[h->flags].eof) {
			g_set_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL,
				    "second EOF on channel %u stream %u", h->channel, h->flags);
			return FALSE;
		}
		self->out[h->flags].eof = TRUE;
		if (sbx_sink_pending(&self->out[h->flags]) == 0)
			sbx_sink_close_at_eof(&self->out[h->flags]);
		break;
	case SBX_MSG_CREDIT: {
		guint32 bytes = 0;
		if (h->flags != SBX_STREAM_STDIN)
			return sbx_agent_exec_unexpected(frame, "(CREDIT for output)", error);
		if (!sbx_proto_parse_credit(frame->payload, h->length, &bytes, error))
			return FALSE;
		if (bytes > G_MAXUINT32 - self->in_credit) {
			g_set_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL,
				    "stdin credit on channel %u overflows", h->channel);
			return FALSE;
		}
		self->in_credit += bytes;
		sbx_agent_exec_stdin_update(self);
		break;
	}
	case SBX_MSG_EXIT: {
		guint32 flags = 0;
		if (!sbx_proto_parse_exit(frame->payload, h->length, &self->result.exit_code,
					  &self->result.signal, &flags, error))
			return FALSE;
		self->result.timed_out = (flags & SBX_EXIT_TIMED_OUT) != 0;
		self->state = SBX_EXEC_STATE_EXITED;
		self->pending_signal = 0;
		/* nobody else may hold us while the rest of the output is written */
		self->flush_ref = TRUE;
		sbx_agent_exec_ref(self);
		sbx_clear_source(&self->in_watch);
		sbx_fd_close(&self->in);
		g_clear_pointer(&self->in_chunk, g_bytes_unref);
		sbx_agent_exec_close_channel(self);
		if (self->draining)
			sbx_agent_exec_cleanup(self);
		break;
	}
	case SBX_MSG_ERROR:
		return sbx_agent_exec_handle_error_frame(self, frame, error);
	default:
		return sbx_agent_exec_unexpected(frame, "(process running)", error);
	}
	return TRUE;
}

gboolean
sbx_agent_exec_handle_frame(SbxAgentExec *self, const SbxFrame *frame, GError **error)
{
	g_autoptr(SbxAgentExec) ref = sbx_agent_exec_ref(self);
	const SbxFrameHeader *h = &frame->header;

	switch (self->state) {
	case SBX_EXEC_STATE_QUEUED:
		return sbx_agent_exec_unexpected(frame, "before EXEC was sent", error);
	case SBX_EXEC_STATE_SENT:
		if (self->fs_request && h->type == SBX_MSG_EXEC_STARTED)
			return sbx_agent_exec_unexpected(frame, "(a request, not a stream)", error);
		if (h->type == SBX_MSG_EXEC_STARTED) {
			guint32 pid = 0;
			guint32 window = 0;
			if (!sbx_proto_parse_exec_started(frame->payload, h->length, &pid, &window,
							  error))
				return FALSE;
			g_debug("channel %u: started pid %u", self->channel, pid);
			self->state = SBX_EXEC_STATE_RUNNING;
			if (self->started_func != NULL)
				self->started_func(pid, self->started_data);
			/* without a stdin pipe the guest's window is meaningless */
			self->in_credit = self->in_piped ? window : 0;
			/* an empty stdin: nothing to wait for */
			if (self->in_piped && self->in.fd < 0)
				self->in_eof = TRUE;
			sbx_agent_exec_stdin_update(self);
			break;
		}
		if (h->type == SBX_MSG_EXEC_FAILED) {
			gint32 err = 0;
			g_autofree gchar *message = NULL;
			if (!sbx_proto_parse_exec_failed(frame->payload, h->length, &err, &message,
							 error))
				return FALSE;
			self->state = SBX_EXEC_STATE_DONE;
			sbx_agent_exec_fail(self, sbx_agent_exec_failed_error(self, err, message));
			sbx_agent_exec_close_channel(self);
			return TRUE;
		}
		if (self->fs_request &&
		    ((h->type >= SBX_MSG_FS_OK && h->type <= SBX_MSG_FS_PATH_REPLY) ||
		     h->type == SBX_MSG_FS_VALUE_REPLY || h->type == SBX_MSG_FS_DATA_REPLY))
			return sbx_agent_exec_handle_reply(self, frame);
		if (h->type == SBX_MSG_ERROR)
			return sbx_agent_exec_handle_error_frame(self, frame, error);
		return sbx_agent_exec_unexpected(frame, "before EXEC_STARTED", error);
	case SBX_EXEC_STATE_RUNNING:
		if (!sbx_agent_exec_handle_running(self, frame, error))
			return FALSE;
		break;
	default:
		/* the client forgets the channel on EXIT: never reached */
		return sbx_agent_exec_unexpected(frame, "after EXIT", error);
	}
	sbx_agent_exec_want_send(self);
	sbx_agent_exec_maybe_complete(self);
	return TRUE;
}

gboolean
sbx_agent_exec_has_pending(SbxAgentExec *self)
{
	if (self->state == SBX_EXEC_STATE_QUEUED)
		return TRUE;
	if (self->state != SBX_EXEC_STATE_SENT && self->state != SBX_EXEC_STATE_RUNNING)
		return FALSE;
	if (self->pending_signal != 0)
		return TRUE;
	if (self->state == SBX_EXEC_STATE_RUNNING && !self->draining &&
	    (self->n_user_signals > 0 || self->resize_pending))
		return TRUE;
	if (self->out[SBX_STREAM_STDOUT].to_grant > 0 || self->out[SBX_STREAM_STDERR].to_grant > 0)
		return TRUE;
	if (self->draining)
		return FALSE;
	return self->in_chunk != NULL || (self->in_eof && !self->in_eof_sent);
}

GBytes *
sbx_agent_exec_next_frame(SbxAgentExec *self)
{
	if (self->state == SBX_EXEC_STATE_QUEUED) {
		self->state = SBX_EXEC_STATE_SENT;
		return g_steal_pointer(&self->exec_frame);
	}
	if (!sbx_agent_exec_has_pending(self))
		return NULL;
	if (self->pending_signal != 0) {
		gint sig = self->pending_signal;
		self->pending_signal = 0;
		return sbx_proto_encode_signal(self->channel, sig, SBX_SIGNAL_GROUP);
	}
	if (self->state == SBX_EXEC_STATE_RUNNING && !self->draining && self->n_user_signals > 0) {
		gint sig = self->user_signals[0];
		gboolean group = self->user_signal_group[0];
		self->n_user_signals--;
		memmove(self->user_signals, self->user_signals + 1,
			self->n_user_signals * sizeof(self->user_signals[0]));
		memmove(self->user_signal_group, self->user_signal_group + 1,
			self->n_user_signals * sizeof(self->user_signal_group[0]));
		return sbx_proto_encode_signal(self->channel, sig, group ? SBX_SIGNAL_GROUP : 0);
	}
	if (self->state == SBX_EXEC_STATE_RUNNING && !self->draining && self->resize_pending) {
		self->resize_pending = FALSE;
		return sbx_proto_encode_resize(self->channel, self->resize_rows, self->resize_cols);
	}
	for (guint i = SBX_STREAM_STDOUT; i <= SBX_STREAM_STDERR; i++) {
		SbxSink *sink = &self->out[i];
		guint32 bytes = sink->to_grant;
		if (bytes == 0)
			continue;
		sink->to_grant = 0;
		sink->credit += bytes;
		return sbx_proto_encode_credit(self->channel, i, bytes);
	}
	if (self->in_chunk != NULL) {
		g_autoptr(GBytes) chunk = g_steal_pointer(&self->in_chunk);
		gsize len = 0;
		const guint8 *data = g_bytes_get_data(chunk, &len);
		sbx_agent_exec_stdin_update(self);
		return sbx_proto_encode_data(self->channel, SBX_STREAM_STDIN, data, len);
	}
	self->in_eof_sent = TRUE;
	return sbx_proto_encode_eof(self->channel, SBX_STREAM_STDIN);
}

void
sbx_agent_exec_connection_closed(SbxAgentExec *self, const GError *reason)
{
	g_autoptr(SbxAgentExec) ref = sbx_agent_exec_ref(self);
	self->client = NULL;
	/* the process is gone already: finish writing its output */
	if (self->state == SBX_EXEC_STATE_EXITED && self->task != NULL)
		return;
	self->state = SBX_EXEC_STATE_DONE;
	sbx_agent_exec_fail(self, g_error_copy(reason));
	sbx_agent_exec_drop_flush_ref(self);
}
