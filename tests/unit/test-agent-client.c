/* SbxAgentClient against a fake guest over a socketpair: the test plays the
 * agent, writing crafted (and hostile) frames.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#include "sbx-agent-client.h"
#include "sbx-error.h"
#include "sbx-frame-decoder.h"
#include "sbx-proto.h"
#include "sbx-test-agent.h"

typedef struct {
	gint guest_fd;
	SbxAgentClient *client;
	SbxFrameDecoder *decoder;
	GQueue frames; /* GBytes: whole frames the host sent */
	GSource *watch;
	gboolean host_hung_up;
	guint closed_count;
	GError *closed_reason;
} Fake;

static gboolean
fake_collect_cb(const SbxFrame *frame, gpointer user_data, GError **error)
{
	Fake *f = user_data;
	g_queue_push_tail(&f->frames,
			  sbx_proto_encode_frame(frame->header.type, frame->header.flags,
						 frame->header.channel, frame->payload,
						 frame->header.length));
	return TRUE;
}

static gboolean
fake_readable_cb(gint fd, GIOCondition cond, gpointer user_data)
{
	Fake *f = user_data;
	guint8 buf[65536];
	g_autoptr(GError) error = NULL;
	gssize n = read(fd, buf, sizeof(buf));
	if (n < 0 && errno == EAGAIN)
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		f->host_hung_up = TRUE;
		g_clear_pointer(&f->watch, g_source_unref);
		return G_SOURCE_REMOVE;
	}
	/* the host must only ever send valid frames */
	g_assert_true(sbx_frame_decoder_feed(f->decoder, buf, n, fake_collect_cb, f, &error));
	g_assert_no_error(error);
	return G_SOURCE_CONTINUE;
}

static void
fake_closed_cb(SbxAgentClient *client, const GError *reason, gpointer user_data)
{
	Fake *f = user_data;
	g_assert_nonnull(reason);
	f->closed_count++;
	g_clear_error(&f->closed_reason);
	f->closed_reason = g_error_copy(reason);
	g_assert_true(sbx_agent_client_is_closed(client));
}

static Fake *
fake_new(void)
{
	Fake *f = g_new0(Fake, 1);
	gint sv[2];
	g_autoptr(GSocket) socket = NULL;
	g_autoptr(GSocketConnection) conn = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	socket = g_socket_new_from_fd(sv[0], &error);
	g_assert_no_error(error);
	conn = g_socket_connection_factory_create_connection(socket);
	f->client = sbx_agent_client_new(G_IO_STREAM(conn), "test");
	g_signal_connect(f->client, "closed", G_CALLBACK(fake_closed_cb), f);
	f->guest_fd = sv[1];
	g_assert_true(g_unix_set_fd_nonblocking(f->guest_fd, TRUE, NULL));
	f->decoder = sbx_frame_decoder_new();
	g_queue_init(&f->frames);
	f->watch = g_unix_fd_source_new(f->guest_fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
	g_source_set_callback(f->watch, G_SOURCE_FUNC(fake_readable_cb), f, NULL);
	g_source_attach(f->watch, NULL);
	return f;
}

static void
fake_hang_up(Fake *f)
{
	if (f->watch != NULL) {
		g_source_destroy(f->watch);
		g_clear_pointer(&f->watch, g_source_unref);
	}
	if (f->guest_fd >= 0)
		close(f->guest_fd);
	f->guest_fd = -1;
}

static void
spin(void)
{
	/* let every ready source run */
	for (guint i = 0; i < 50; i++)
		while (g_main_context_iteration(NULL, FALSE))
			;
}

static void
fake_free(Fake *f)
{
	sbx_agent_client_close(f->client, NULL);
	spin();
	fake_hang_up(f);
	g_signal_handlers_disconnect_by_data(f->client, f);
	g_assert_finalize_object(f->client);
	g_queue_clear_full(&f->frames, (GDestroyNotify)g_bytes_unref);
	sbx_frame_decoder_free(f->decoder);
	g_clear_error(&f->closed_reason);
	g_free(f);
}

static void
fake_send(Fake *f, GBytes *frame)
{
	gsize len = 0;
	const guint8 *d = g_bytes_get_data(frame, &len);
	while (len > 0) {
		gssize n = write(f->guest_fd, d, len);
		if (n < 0 && errno == EAGAIN) {
			g_main_context_iteration(NULL, TRUE);
			continue;
		}
		g_assert_cmpint(n, >, 0);
		d += n;
		len -= (gsize)n;
	}
}

static void
fake_send_take(Fake *f, GBytes *frame)
{
	fake_send(f, frame);
	g_bytes_unref(frame);
}

/* the next frame from the host; waits for it */
static GBytes *
fake_next(Fake *f)
{
	while (g_queue_is_empty(&f->frames)) {
		g_assert_false(f->host_hung_up);
		g_main_context_iteration(NULL, TRUE);
	}
	return g_queue_pop_head(&f->frames);
}

static GBytes *
fake_expect(Fake *f, SbxMsgType type, guint32 channel, SbxFrameHeader *h)
{
	GBytes *frame = fake_next(f);
	SbxFrameHeader tmp;
	if (h == NULL)
		h = &tmp;
	sbx_proto_header_decode(g_bytes_get_data(frame, NULL), h);
	g_assert_cmpuint(h->type, ==, type);
	g_assert_cmpuint(h->channel, ==, channel);
	return frame;
}

static const guint8 *
payload_of(GBytes *frame)
{
	return (const guint8 *)g_bytes_get_data(frame, NULL) + SBX_PROTO_HEADER_SIZE;
}

static gsize
payload_len(GBytes *frame)
{
	return g_bytes_get_size(frame) - SBX_PROTO_HEADER_SIZE;
}

static void
wait_clear(SbxTestWait *w)
{
	g_clear_object(&w->res);
	w->done = FALSE;
}

static void
fake_handshake(Fake *f)
{
	SbxTestWait w = {0};
	g_autoptr(GBytes) hello = NULL;
	g_autoptr(GError) error = NULL;
	guint32 min = 0, max = 0;

	sbx_agent_client_handshake_async(f->client, 5000, NULL, sbx_test_wait_cb, &w);
	hello = fake_expect(f, SBX_MSG_HELLO, 0, NULL);
	g_assert_true(
	    sbx_proto_parse_hello(payload_of(hello), payload_len(hello), &min, &max, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(min, <=, SBX_PROTO_VERSION);
	g_assert_cmpuint(max, >=, SBX_PROTO_VERSION);
	fake_send_take(f, sbx_proto_encode_hello_reply(SBX_PROTO_MAGIC, 1, 0, "fake 1.0"));
	sbx_test_wait_done(&w);
	g_assert_true(sbx_agent_client_handshake_finish(f->client, w.res, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(sbx_agent_client_get_agent_version(f->client), ==, "fake 1.0");
	wait_clear(&w);
}

/* starts an exec and plays EXEC_STARTED; returns the channel */
static guint32
fake_start_exec(Fake *f, const gchar *const *argv, gint in, gint out, gint err,
		guint32 stdin_window, GCancellable *cancellable, SbxTestWait *w, SbxProtoExec *req)
{
	SbxExecParams params = {.argv = argv, .uid = -1, .gid = -1};
	g_autoptr(GBytes) frame = NULL;
	g_autoptr(GError) error = NULL;
	SbxFrameHeader h;
	SbxProtoExec tmp = {0};

	sbx_agent_client_exec_async(f->client, &params, in, out, err, cancellable, sbx_test_wait_cb,
				    w);
	frame = fake_next(f);
	sbx_proto_header_decode(g_bytes_get_data(frame, NULL), &h);
	g_assert_cmpuint(h.type, ==, SBX_MSG_EXEC);
	g_assert_cmpuint(h.channel, !=, 0);
	if (req == NULL)
		req = &tmp;
	g_assert_true(sbx_proto_parse_exec(payload_of(frame), payload_len(frame), req, &error));
	g_assert_no_error(error);
	g_assert_true(g_strv_equal((const gchar *const *)req->argv, argv));
	sbx_proto_exec_clear(&tmp);
	fake_send_take(f, sbx_proto_encode_exec_started(h.channel, 100, stdin_window));
	return h.channel;
}

static void
assert_exec_fails(Fake *f, SbxTestWait *w, GQuark domain, gint code)
{
	g_autoptr(GError) error = NULL;
	SbxExecResult r = {0};
	sbx_test_wait_done(w);
	g_assert_false(sbx_agent_client_exec_finish(f->client, w->res, &r, &error));
	g_assert_error(error, domain, code);
	wait_clear(w);
}

static gchar *
read_all_fd(gint fd)
{
	g_autoptr(GString) s = g_string_new(NULL);
	gchar buf[4096];
	gssize n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		g_string_append_len(s, buf, n);
	return g_string_free(g_steal_pointer(&s), FALSE);
}

/* tests */

static void
test_handshake_ok(void)
{
	Fake *f = fake_new();
	fake_handshake(f);
	g_assert_false(sbx_agent_client_is_closed(f->client));
	g_assert_cmpuint(f->closed_count, ==, 0);
	fake_free(f);
}

static void
test_handshake_timeout(void)
{
	Fake *f = fake_new();
	SbxTestWait w = {0};
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) hello = NULL;

	sbx_agent_client_handshake_async(f->client, 20, NULL, sbx_test_wait_cb, &w);
	hello = fake_expect(f, SBX_MSG_HELLO, 0, NULL);
	sbx_test_wait_done(&w);
	g_assert_false(sbx_agent_client_handshake_finish(f->client, w.res, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_TIMEOUT);
	g_assert_true(sbx_agent_client_is_closed(f->client));
	g_assert_cmpuint(f->closed_count, ==, 1);
	g_assert_error(f->closed_reason, SBX_ERROR, SBX_ERROR_TIMEOUT);
	/* the host end hung up */
	while (!f->host_hung_up)
		g_main_context_iteration(NULL, TRUE);
	wait_clear(&w);
	fake_free(f);
}

static void
test_handshake_bad_magic(void)
{
	Fake *f = fake_new();
	SbxTestWait w = {0};
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) hello = NULL;

	sbx_agent_client_handshake_async(f->client, 5000, NULL, sbx_test_wait_cb, &w);
	hello = fake_expect(f, SBX_MSG_HELLO, 0, NULL);
	fake_send_take(f, sbx_proto_encode_hello_reply(0x12345678, 1, 0, "x"));
	sbx_test_wait_done(&w);
	g_assert_false(sbx_agent_client_handshake_finish(f->client, w.res, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL);
	g_assert_nonnull(strstr(error->message, "magic"));
	g_assert_cmpuint(f->closed_count, ==, 1);
	wait_clear(&w);
	fake_free(f);
}

static void
test_handshake_bad_version(void)
{
	Fake *f = fake_new();
	SbxTestWait w = {0};
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) hello = NULL;

	sbx_agent_client_handshake_async(f->client, 5000, NULL, sbx_test_wait_cb, &w);
	hello = fake_expect(f, SBX_MSG_HELLO, 0, NULL);
	fake_send_take(f, sbx_proto_encode_hello_reply(SBX_PROTO_MAGIC, 7, 0, "x"));
	sbx_test_wait_done(&w);
	g_assert_false(sbx_agent_client_handshake_finish(f->client, w.res, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL);
	wait_clear(&w);
	fake_free(f);
}

static void
test_handshake_hangup(void)
{
	Fake *f = fake_new();
	SbxTestWait w = {0};
	g_autoptr(GError) error = NULL;

	sbx_agent_client_handshake_async(f->client, 0, NULL, sbx_test_wait_cb, &w);
	fake_hang_up(f);
	sbx_test_wait_done(&w);
	g_assert_false(sbx_agent_client_handshake_finish(f->client, w.res, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_SANDBOX_GONE);
	g_assert_error(f->closed_reason, SBX_ERROR, SBX_ERROR_SANDBOX_GONE);
	wait_clear(&w);
	fake_free(f);
}

static void
test_handshake_cancel(void)
{
	Fake *f = fake_new();
	SbxTestWait w = {0};
	g_autoptr(GError) error = NULL;
	g_autoptr(GCancellable) cancellable = g_cancellable_new();
	g_autoptr(GBytes) hello = NULL;

	sbx_agent_client_handshake_async(f->client, 0, cancellable, sbx_test_wait_cb, &w);
	hello = fake_expect(f, SBX_MSG_HELLO, 0, NULL);
	g_cancellable_cancel(cancellable);
	sbx_test_wait_done(&w);
	g_assert_false(sbx_agent_client_handshake_finish(f->client, w.res, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
	g_assert_true(sbx_agent_client_is_closed(f->client));
	wait_clear(&w);
	fake_free(f);
}

static void
test_exec_before_handshake(void)
{
	Fake *f = fake_new();
	SbxTestWait w = {0};
	const gchar *argv[] = {"true", NULL};
	SbxExecParams params = {.argv = argv, .uid = -1, .gid = -1};

	sbx_agent_client_exec_async(f->client, &params, -1, -1, -1, NULL, sbx_test_wait_cb, &w);
	assert_exec_fails(f, &w, SBX_ERROR, SBX_ERROR_NOT_RUNNING);
	fake_free(f);
}

static void
test_exec_bad_params(void)
{
	Fake *f = fake_new();
	SbxTestWait w = {0};
	const gchar *argv[] = {NULL};
	const gchar *argv2[] = {"true", NULL};
	SbxExecParams params = {.argv = argv, .uid = -1, .gid = -1};

	fake_handshake(f);
	sbx_agent_client_exec_async(f->client, &params, -1, -1, -1, NULL, sbx_test_wait_cb, &w);
	assert_exec_fails(f, &w, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT);
	params.argv = argv2;
	params.uid = 5;
	sbx_agent_client_exec_async(f->client, &params, -1, -1, -1, NULL, sbx_test_wait_cb, &w);
	assert_exec_fails(f, &w, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT);
	params.uid = -1;
	params.cwd = "relative";
	sbx_agent_client_exec_async(f->client, &params, -1, -1, -1, NULL, sbx_test_wait_cb, &w);
	assert_exec_fails(f, &w, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT);
	g_assert_false(sbx_agent_client_is_closed(f->client));
	fake_free(f);
}

static void
test_exec_output(void)
{
	Fake *f = fake_new();
	SbxTestWait w = {0};
	const gchar *argv[] = {"echo", "hello", NULL};
	gint out[2], err[2];
	SbxProtoExec req = {0};
	SbxExecResult r = {0};
	g_autoptr(GError) error = NULL;
	g_autofree gchar *out_text = NULL;
	g_autofree gchar *err_text = NULL;
	guint32 ch;

	fake_handshake(f);
	g_assert_true(g_unix_open_pipe(out, FD_CLOEXEC, NULL));
	g_assert_true(g_unix_open_pipe(err, FD_CLOEXEC, NULL));
	ch = fake_start_exec(f, argv, -1, out[1], err[1], 0, NULL, &w, &req);
	/* the fds are borrowed: the caller may close them at once */
	close(out[1]);
	close(err[1]);
	g_assert_cmpuint(req.flags, ==, SBX_EXEC_STDOUT_PIPE | SBX_EXEC_STDERR_PIPE);
	g_assert_cmpuint(req.stdout_window, ==, SBX_PROTO_DEFAULT_WINDOW);
	g_assert_cmpuint(req.stderr_window, ==, SBX_PROTO_DEFAULT_WINDOW);
	sbx_proto_exec_clear(&req);

	fake_send_take(f,
		       sbx_proto_encode_data(ch, SBX_STREAM_STDOUT, (const guint8 *)"hello\n", 6));
	fake_send_take(f,
		       sbx_proto_encode_data(ch, SBX_STREAM_STDERR, (const guint8 *)"oops\n", 5));
	fake_send_take(f, sbx_proto_encode_eof(ch, SBX_STREAM_STDOUT));
	fake_send_take(f, sbx_proto_encode_eof(ch, SBX_STREAM_STDERR));
	fake_send_take(f, sbx_proto_encode_exit(ch, 3, 0, 0));
	sbx_test_wait_done(&w);
	g_assert_true(sbx_agent_client_exec_finish(f->client, w.res, &r, &error));
	g_assert_no_error(error);
	g_assert_cmpint(r.exit_code, ==, 3);
	g_assert_cmpint(r.signal, ==, 0);
	g_assert_false(r.timed_out);
	wait_clear(&w);
	/* all output written, and our copies closed: the reader sees EOF */
	out_text = read_all_fd(out[0]);
	err_text = read_all_fd(err[0]);
	g_assert_cmpstr(out_text, ==, "hello\n");
	g_assert_cmpstr(err_text, ==, "oops\n");
	close(out[0]);
	close(err[0]);
	g_assert_false(sbx_agent_client_is_closed(f->client));
	fake_free(f);
}

static void
test_exec_signal_timeout(void)
{
	Fake *f = fake_new();
	SbxTestWait w = {0};
	const gchar *argv[] = {"sleep", "100", NULL};
	SbxExecResult r = {0};
	g_autoptr(GError) error = NULL;
	guint32 ch;

	fake_handshake(f);
	ch = fake_start_exec(f, argv, -1, -1, -1, 0, NULL, &w, NULL);
	fake_send_take(f, sbx_proto_encode_exit(ch, 0, 9, SBX_EXIT_TIMED_OUT));
	sbx_test_wait_done(&w);
	g_assert_true(sbx_agent_client_exec_finish(f->client, w.res, &r, &error));
	g_assert_cmpint(r.exit_code, ==, -1);
	g_assert_cmpint(r.signal, ==, 9);
	g_assert_true(r.timed_out);
	wait_clear(&w);
	fake_free(f);
}

static void
test_exec_failed(void)
{
	Fake *f = fake_new();
	SbxTestWait w = {0};
	const gchar *argv[] = {"nope", NULL};
	SbxExecParams params = {.argv = argv, .uid = -1, .gid = -1};
	g_autoptr(GBytes) frame = NULL;
	g_autoptr(GError) error = NULL;
	SbxFrameHeader h;

	fake_handshake(f);
	sbx_agent_client_exec_async(f->client, &params, -1, -1, -1, NULL, sbx_test_wait_cb, &w);
	frame = fake_expect(f, SBX_MSG_EXEC, 1, &h);
	fake_send_take(f, sbx_proto_encode_exec_failed(h.channel, ENOENT, "nope: not found"));
	sbx_test_wait_done(&w);
	g_assert_false(sbx_agent_client_exec_finish(f->client, w.res, NULL, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_NOT_FOUND);
	g_assert_nonnull(strstr(error->message, "not found"));
	wait_clear(&w);
	/* the channel is closed: a frame on it now is a violation */
	fake_send_take(f, sbx_proto_encode_exit(h.channel, 0, 0, 0));
	while (f->closed_count == 0)
		g_main_context_iteration(NULL, TRUE);
	g_assert_error(f->closed_reason, SBX_ERROR, SBX_ERROR_PROTOCOL);
	fake_free(f);
}

static void
test_exec_stdin(void)
{
	Fake *f = fake_new();
	SbxTestWait w = {0};
	const gchar *argv[] = {"cat", NULL};
	gint in[2];
	SbxProtoExec req = {0};
	g_autoptr(GBytes) d1 = NULL;
	g_autoptr(GBytes) d2 = NULL;
	g_autoptr(GBytes) eof = NULL;
	g_autoptr(GError) error = NULL;
	SbxExecResult r = {0};
	SbxFrameHeader h;
	guint32 ch;

	fake_handshake(f);
	g_assert_true(g_unix_open_pipe(in, FD_CLOEXEC, NULL));
	g_assert_cmpint(write(in[1], "abcdef", 6), ==, 6);
	close(in[1]);
	/* a window of 2 bytes: the host must not send more */
	ch = fake_start_exec(f, argv, in[0], -1, -1, 2, NULL, &w, &req);
	close(in[0]);
	g_assert_cmpuint(req.flags, ==, SBX_EXEC_STDIN_PIPE);
	sbx_proto_exec_clear(&req);
	d1 = fake_expect(f, SBX_MSG_DATA, ch, &h);
	g_assert_cmpuint(h.flags, ==, SBX_STREAM_STDIN);
	g_assert_cmpmem(payload_of(d1), payload_len(d1), "ab", 2);
	spin();
	g_assert_true(g_queue_is_empty(&f->frames));
	fake_send_take(f, sbx_proto_encode_credit(ch, SBX_STREAM_STDIN, 100));
	d2 = fake_expect(f, SBX_MSG_DATA, ch, &h);
	g_assert_cmpmem(payload_of(d2), payload_len(d2), "cdef", 4);
	eof = fake_expect(f, SBX_MSG_EOF, ch, &h);
	g_assert_cmpuint(h.flags, ==, SBX_STREAM_STDIN);
	fake_send_take(f, sbx_proto_encode_exit(ch, 0, 0, 0));
	sbx_test_wait_done(&w);
	g_assert_true(sbx_agent_client_exec_finish(f->client, w.res, &r, &error));
	g_assert_cmpint(r.exit_code, ==, 0);
	wait_clear(&w);
	fake_free(f);
}

/* a slow reader throttles the guest: CREDIT only for bytes the fd took */
static void
test_exec_credit(void)
{
	Fake *f = fake_new();
	SbxTestWait w = {0};
	const gchar *argv[] = {"yes", NULL};
	gint out[2];
	gint pipe_size;
	g_autofree guint8 *chunk = g_malloc(SBX_PROTO_MAX_PAYLOAD);
	g_autoptr(GChecksum) sent = g_checksum_new(G_CHECKSUM_SHA256);
	g_autoptr(GChecksum) got = g_checksum_new(G_CHECKSUM_SHA256);
	g_autoptr(GError) error = NULL;
	gsize total = 2 * SBX_PROTO_DEFAULT_WINDOW;
	gsize sent_bytes = 0, consumed = 0, credited = 0;
	guint32 credit = SBX_PROTO_DEFAULT_WINDOW;
	SbxExecResult r = {0};
	guint32 ch;

	fake_handshake(f);
	g_assert_true(g_unix_open_pipe(out, FD_CLOEXEC, NULL));
	pipe_size = fcntl(out[1], F_SETPIPE_SZ, 4096);
	g_assert_cmpint(pipe_size, >=, 4096);
	g_assert_true(g_unix_set_fd_nonblocking(out[0], TRUE, NULL));
	ch = fake_start_exec(f, argv, -1, out[1], -1, 0, NULL, &w, NULL);
	close(out[1]);
	/* a size the caller chose is kept */
	g_assert_cmpint(fcntl(out[0], F_GETPIPE_SZ), ==, pipe_size);

	while (consumed < total) {
		/* the guest sends all it may */
		while (credit > 0 && sent_bytes < total) {
			gsize n = MIN(MIN(credit, SBX_PROTO_MAX_PAYLOAD), total - sent_bytes);
			for (gsize i = 0; i < n; i++)
				chunk[i] = (guint8)((sent_bytes + i) * 7 / 3);
			g_checksum_update(sent, chunk, n);
			fake_send_take(f, sbx_proto_encode_data(ch, SBX_STREAM_STDOUT, chunk, n));
			sent_bytes += n;
			credit -= n;
		}
		spin();
		while (!g_queue_is_empty(&f->frames)) {
			g_autoptr(GBytes) c = NULL;
			SbxFrameHeader h;
			guint32 bytes = 0;
			c = fake_expect(f, SBX_MSG_CREDIT, ch, &h);
			g_assert_cmpuint(h.flags, ==, SBX_STREAM_STDOUT);
			g_assert_true(
			    sbx_proto_parse_credit(payload_of(c), payload_len(c), &bytes, NULL));
			credit += bytes;
			credited += bytes;
		}
		/* credit only for what the reader consumed plus what fits the pipe */
		g_assert_cmpuint(credited, <=, consumed + (gsize)pipe_size);
		g_assert_cmpuint(credit, <=, SBX_PROTO_DEFAULT_WINDOW);
		/* the slow consumer reads a little */
		{
			guint8 buf[1000];
			gssize n = read(out[0], buf, sizeof(buf));
			if (n > 0) {
				g_checksum_update(got, buf, n);
				consumed += n;
			}
		}
	}
	g_assert_cmpuint(sent_bytes, ==, total);
	fake_send_take(f, sbx_proto_encode_eof(ch, SBX_STREAM_STDOUT));
	fake_send_take(f, sbx_proto_encode_exit(ch, 0, 0, 0));
	sbx_test_wait_done(&w);
	g_assert_true(sbx_agent_client_exec_finish(f->client, w.res, &r, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(g_checksum_get_string(sent), ==, g_checksum_get_string(got));
	g_assert_cmpint(read(out[0], chunk, 1), ==, 0);
	close(out[0]);
	wait_clear(&w);
	fake_free(f);
}

/* the output completes only after everything was written */
static void
test_exec_waits_for_output(void)
{
	Fake *f = fake_new();
	SbxTestWait w = {0};
	const gchar *argv[] = {"x", NULL};
	gint out[2];
	g_autofree guint8 *chunk = g_malloc0(SBX_PROTO_MAX_PAYLOAD);
	g_autoptr(GError) error = NULL;
	gsize consumed = 0, filler = 0;
	gssize n;
	guint32 ch;

	fake_handshake(f);
	g_assert_true(g_unix_open_pipe(out, FD_CLOEXEC, NULL));
	g_assert_true(g_unix_set_fd_nonblocking(out[0], TRUE, NULL));
	ch = fake_start_exec(f, argv, -1, out[1], -1, 0, NULL, &w, NULL);
	/* the client made the default-sized pipe a window deep; filled, nothing fits */
	g_assert_cmpint(fcntl(out[0], F_GETPIPE_SZ), ==, (gint)SBX_PROTO_DEFAULT_WINDOW);
	g_assert_true(g_unix_set_fd_nonblocking(out[1], TRUE, NULL));
	while ((n = write(out[1], chunk, SBX_PROTO_MAX_PAYLOAD)) > 0)
		filler += (gsize)n;
	close(out[1]);
	for (guint i = 0; i < 4; i++)
		fake_send_take(
		    f, sbx_proto_encode_data(ch, SBX_STREAM_STDOUT, chunk, SBX_PROTO_MAX_PAYLOAD));
	fake_send_take(f, sbx_proto_encode_exit(ch, 0, 0, 0));
	spin();
	g_assert_false(w.done);
	while (consumed < filler + 4 * SBX_PROTO_MAX_PAYLOAD) {
		n = read(out[0], chunk, SBX_PROTO_MAX_PAYLOAD);
		if (n > 0)
			consumed += n;
		else
			g_main_context_iteration(NULL, TRUE);
	}
	sbx_test_wait_done(&w);
	g_assert_true(sbx_agent_client_exec_finish(f->client, w.res, NULL, &error));
	g_assert_no_error(error);
	close(out[0]);
	wait_clear(&w);
	fake_free(f);
}

static void
test_exec_cancel(void)
{
	Fake *f = fake_new();
	SbxTestWait w = {0};
	SbxTestWait w2 = {0};
	const gchar *argv[] = {"sleep", "1000", NULL};
	g_autoptr(GCancellable) cancellable = g_cancellable_new();
	g_autoptr(GBytes) sig = NULL;
	g_autoptr(GBytes) credit = NULL;
	g_autoptr(GError) error = NULL;
	gint out[2];
	SbxFrameHeader h;
	gint32 signum = 0;
	guint32 flags = 0, bytes = 0;
	guint32 ch;
	guint8 data[100] = {0};

	fake_handshake(f);
	g_assert_true(g_unix_open_pipe(out, FD_CLOEXEC, NULL));
	ch = fake_start_exec(f, argv, -1, out[1], -1, 0, cancellable, &w, NULL);
	close(out[1]);
	g_cancellable_cancel(cancellable);
	assert_exec_fails(f, &w, G_IO_ERROR, G_IO_ERROR_CANCELLED);
	sig = fake_expect(f, SBX_MSG_SIGNAL, ch, &h);
	g_assert_true(
	    sbx_proto_parse_signal(payload_of(sig), payload_len(sig), &signum, &flags, &error));
	g_assert_cmpint(signum, ==, SIGKILL);
	g_assert_cmpuint(flags, ==, SBX_SIGNAL_GROUP);
	/* output still in flight is discarded but granted back */
	fake_send_take(f, sbx_proto_encode_data(ch, SBX_STREAM_STDOUT, data, sizeof(data)));
	credit = fake_expect(f, SBX_MSG_CREDIT, ch, &h);
	g_assert_true(
	    sbx_proto_parse_credit(payload_of(credit), payload_len(credit), &bytes, NULL));
	g_assert_cmpuint(bytes, ==, sizeof(data));
	fake_send_take(f, sbx_proto_encode_exit(ch, -1, 9, 0));
	spin();
	/* the reader got nothing, and sees EOF: our copy is closed */
	g_assert_cmpint(read(out[0], data, sizeof(data)), ==, 0);
	close(out[0]);
	g_assert_false(sbx_agent_client_is_closed(f->client));

	/* cancelled before it is even sent: nothing goes out */
	g_cancellable_reset(cancellable);
	{
		SbxExecParams params = {.argv = argv, .uid = -1, .gid = -1};
		g_cancellable_cancel(cancellable);
		sbx_agent_client_exec_async(f->client, &params, -1, -1, -1, cancellable,
					    sbx_test_wait_cb, &w2);
		assert_exec_fails(f, &w2, G_IO_ERROR, G_IO_ERROR_CANCELLED);
		spin();
		g_assert_true(g_queue_is_empty(&f->frames));
	}
	fake_free(f);
}

/* EPIPE on stdout: discard, keep granting, and SIGPIPE the process group */
static void
run_epipe(gboolean reader_gone_before)
{
	Fake *f = fake_new();
	SbxTestWait w = {0};
	const gchar *argv[] = {"yes", NULL};
	g_autoptr(GBytes) sig = NULL;
	g_autoptr(GBytes) credit = NULL;
	g_autoptr(GError) error = NULL;
	gint out[2];
	SbxFrameHeader h;
	gint32 signum = 0;
	guint32 flags = 0, bytes = 0;
	guint32 ch;
	guint8 data[100] = {0};
	SbxExecResult r = {0};

	fake_handshake(f);
	g_assert_true(g_unix_open_pipe(out, FD_CLOEXEC, NULL));
	if (reader_gone_before)
		close(out[0]);
	ch = fake_start_exec(f, argv, -1, out[1], -1, 0, NULL, &w, NULL);
	close(out[1]);
	if (!reader_gone_before)
		close(out[0]);
	fake_send_take(f, sbx_proto_encode_data(ch, SBX_STREAM_STDOUT, data, sizeof(data)));
	sig = fake_expect(f, SBX_MSG_SIGNAL, ch, &h);
	g_assert_true(
	    sbx_proto_parse_signal(payload_of(sig), payload_len(sig), &signum, &flags, &error));
	g_assert_cmpint(signum, ==, SIGPIPE);
	credit = fake_expect(f, SBX_MSG_CREDIT, ch, &h);
	g_assert_true(
	    sbx_proto_parse_credit(payload_of(credit), payload_len(credit), &bytes, NULL));
	g_assert_cmpuint(bytes, ==, sizeof(data));
	fake_send_take(f, sbx_proto_encode_exit(ch, 0, SIGPIPE, 0));
	sbx_test_wait_done(&w);
	g_assert_true(sbx_agent_client_exec_finish(f->client, w.res, &r, &error));
	g_assert_cmpint(r.signal, ==, SIGPIPE);
	wait_clear(&w);
	fake_free(f);
}

static gboolean
fd_is_nonblocking(gint fd)
{
	gint fl = fcntl(fd, F_GETFL);
	g_assert_cmpint(fl, >=, 0);
	return (fl & O_NONBLOCK) != 0;
}

/* the caller's file descriptions keep their flags: pipes and ttys are
 * reopened, sockets are used with MSG_DONTWAIT */
/* drops the CREDIT frames the host sent for output it wrote */
static void
fake_skip_credits(Fake *f)
{
	GBytes *frame;
	spin();
	while ((frame = g_queue_pop_head(&f->frames)) != NULL) {
		SbxFrameHeader h;
		sbx_proto_header_decode(g_bytes_get_data(frame, NULL), &h);
		g_assert_cmpuint(h.type, ==, SBX_MSG_CREDIT);
		g_bytes_unref(frame);
	}
}

static void
run_fd_kind(Fake *f, gint write_fd, gint read_fd)
{
	SbxTestWait w = {0};
	const gchar *argv[] = {"echo", NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(GString) got = g_string_new(NULL);
	guint32 ch;

	g_assert_false(fd_is_nonblocking(write_fd));
	ch = fake_start_exec(f, argv, -1, write_fd, -1, 0, NULL, &w, NULL);
	fake_send_take(f, sbx_proto_encode_data(ch, SBX_STREAM_STDOUT, (const guint8 *)"abc", 3));
	fake_send_take(f, sbx_proto_encode_exit(ch, 0, 0, 0));
	sbx_test_wait_done(&w);
	g_assert_true(sbx_agent_client_exec_finish(f->client, w.res, NULL, &error));
	g_assert_no_error(error);
	wait_clear(&w);
	g_assert_false(fd_is_nonblocking(write_fd));
	while (got->len < 3) {
		gchar buf[16];
		gssize n = read(read_fd, buf, sizeof(buf));
		g_assert_cmpint(n, >, 0);
		g_string_append_len(got, buf, n);
	}
	g_assert_cmpstr(got->str, ==, "abc");
	fake_skip_credits(f);
}

static void
test_exec_epipe(void)
{
	run_epipe(FALSE);
	run_epipe(TRUE);
}

static void
test_exec_fd_kinds(void)
{
	Fake *f = fake_new();
	gint p[2], s[2];
	gint master;

	fake_handshake(f);
	g_assert_true(g_unix_open_pipe(p, FD_CLOEXEC, NULL));
	run_fd_kind(f, p[1], p[0]);
	close(p[0]);
	close(p[1]);

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), ==, 0);
	run_fd_kind(f, s[1], s[0]);
	close(s[0]);
	close(s[1]);

	/* a pty, raw so the bytes arrive as written */
	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	g_assert_cmpint(master, >=, 0);
	g_assert_cmpint(grantpt(master), ==, 0);
	g_assert_cmpint(unlockpt(master), ==, 0);
	{
		gint slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
		struct termios tio;
		g_assert_cmpint(slave, >=, 0);
		g_assert_cmpint(tcgetattr(slave, &tio), ==, 0);
		cfmakeraw(&tio);
		g_assert_cmpint(tcsetattr(slave, TCSANOW, &tio), ==, 0);
		run_fd_kind(f, slave, master);
		close(slave);
	}
	close(master);

	/* a regular file */
	{
		g_autofree gchar *path = NULL;
		g_autofree gchar *contents = NULL;
		gint fd = g_file_open_tmp("sbx-test-XXXXXX", &path, NULL);
		SbxTestWait w = {0};
		const gchar *argv[] = {"echo", NULL};
		guint32 ch;
		g_assert_cmpint(fd, >=, 0);
		ch = fake_start_exec(f, argv, -1, fd, -1, 0, NULL, &w, NULL);
		fake_send_take(
		    f, sbx_proto_encode_data(ch, SBX_STREAM_STDOUT, (const guint8 *)"xyz", 3));
		fake_send_take(f, sbx_proto_encode_exit(ch, 0, 0, 0));
		sbx_test_wait_done(&w);
		g_assert_true(sbx_agent_client_exec_finish(f->client, w.res, NULL, NULL));
		wait_clear(&w);
		g_assert_true(g_file_get_contents(path, &contents, NULL, NULL));
		g_assert_cmpstr(contents, ==, "xyz");
		fake_skip_credits(f);
		close(fd);
		g_unlink(path);
	}
	fake_free(f);
}

static void
test_ping(void)
{
	Fake *f = fake_new();
	g_autoptr(GBytes) pong = NULL;
	fake_handshake(f);
	fake_send_take(f, sbx_proto_encode_ping(SBX_MSG_PING, (const guint8 *)"xyz", 3));
	pong = fake_expect(f, SBX_MSG_PONG, 0, NULL);
	g_assert_cmpmem(payload_of(pong), payload_len(pong), "xyz", 3);
	fake_free(f);
}

static void
test_close(void)
{
	Fake *f = fake_new();
	SbxTestWait w = {0};
	const gchar *argv[] = {"sleep", "1", NULL};
	g_autoptr(GError) reason = g_error_new_literal(SBX_ERROR, SBX_ERROR_NOT_RUNNING, "killed");

	fake_handshake(f);
	fake_start_exec(f, argv, -1, -1, -1, 0, NULL, &w, NULL);
	sbx_agent_client_close(f->client, reason);
	sbx_agent_client_close(f->client, NULL);
	assert_exec_fails(f, &w, SBX_ERROR, SBX_ERROR_NOT_RUNNING);
	g_assert_cmpuint(f->closed_count, ==, 1);
	/* later calls fail with the same reason */
	{
		SbxExecParams params = {.argv = argv, .uid = -1, .gid = -1};
		sbx_agent_client_exec_async(f->client, &params, -1, -1, -1, NULL, sbx_test_wait_cb,
					    &w);
		assert_exec_fails(f, &w, SBX_ERROR, SBX_ERROR_NOT_RUNNING);
	}
	while (!f->host_hung_up)
		g_main_context_iteration(NULL, TRUE);
	fake_free(f);
}

static void
test_too_many_channels(void)
{
	Fake *f = fake_new();
	SbxTestWait w[SBX_PROTO_MAX_CHANNELS + 1];
	const gchar *argv[] = {"true", NULL};
	SbxExecParams params = {.argv = argv, .uid = -1, .gid = -1};
	g_autoptr(GHashTable) ids = g_hash_table_new(NULL, NULL);

	memset(w, 0, sizeof(w));
	fake_handshake(f);
	for (guint i = 0; i <= SBX_PROTO_MAX_CHANNELS; i++)
		sbx_agent_client_exec_async(f->client, &params, -1, -1, -1, NULL, sbx_test_wait_cb,
					    &w[i]);
	assert_exec_fails(f, &w[SBX_PROTO_MAX_CHANNELS], SBX_ERROR, SBX_ERROR_LIMIT_EXCEEDED);
	/* every channel got its own id */
	for (guint i = 0; i < SBX_PROTO_MAX_CHANNELS; i++) {
		SbxFrameHeader h;
		g_autoptr(GBytes) e = fake_expect(f, SBX_MSG_EXEC, i + 1, &h);
		g_assert_false(g_hash_table_contains(ids, GUINT_TO_POINTER(h.channel)));
		g_hash_table_add(ids, GUINT_TO_POINTER(h.channel));
	}
	fake_hang_up(f);
	for (guint i = 0; i < SBX_PROTO_MAX_CHANNELS; i++)
		assert_exec_fails(f, &w[i], SBX_ERROR, SBX_ERROR_SANDBOX_GONE);
	fake_free(f);
}

static void
test_hangup_mid_exec(void)
{
	Fake *f = fake_new();
	SbxTestWait w = {0};
	const gchar *argv[] = {"sleep", "1", NULL};
	gint out[2];
	guint32 ch;

	fake_handshake(f);
	g_assert_true(g_unix_open_pipe(out, FD_CLOEXEC, NULL));
	ch = fake_start_exec(f, argv, -1, out[1], -1, 0, NULL, &w, NULL);
	close(out[1]);
	fake_send_take(f, sbx_proto_encode_data(ch, SBX_STREAM_STDOUT, (const guint8 *)"x", 1));
	fake_hang_up(f);
	assert_exec_fails(f, &w, SBX_ERROR, SBX_ERROR_SANDBOX_GONE);
	g_assert_cmpuint(f->closed_count, ==, 1);
	g_assert_error(f->closed_reason, SBX_ERROR, SBX_ERROR_SANDBOX_GONE);
	close(out[0]);
	fake_free(f);
}

/* hostile guests: each case runs with one exec started on channel ch */
typedef void (*HostileFunc)(Fake *f, guint32 ch);

static void
hostile_unknown_channel(Fake *f, guint32 ch)
{
	fake_send_take(f,
		       sbx_proto_encode_data(ch + 77, SBX_STREAM_STDOUT, (const guint8 *)"x", 1));
}

static void
hostile_data_without_credit(Fake *f, guint32 ch)
{
	/* stderr is /dev/null: no credit at all */
	fake_send_take(f, sbx_proto_encode_data(ch, SBX_STREAM_STDERR, (const guint8 *)"x", 1));
}

static void
hostile_data_beyond_credit(Fake *f, guint32 ch)
{
	g_autofree guint8 *chunk = g_malloc0(SBX_PROTO_MAX_PAYLOAD);
	for (guint i = 0; i < SBX_PROTO_DEFAULT_WINDOW / SBX_PROTO_MAX_PAYLOAD; i++)
		fake_send_take(
		    f, sbx_proto_encode_data(ch, SBX_STREAM_STDOUT, chunk, SBX_PROTO_MAX_PAYLOAD));
	/* the unread pipe holds 4 KiB: far less credit came back than this */
	fake_send_take(f,
		       sbx_proto_encode_data(ch, SBX_STREAM_STDOUT, chunk, SBX_PROTO_MAX_PAYLOAD));
}

static void
hostile_huge_length(Fake *f, guint32 ch)
{
	guint8 hdr[SBX_PROTO_HEADER_SIZE];
	SbxFrameHeader h = {SBX_MSG_DATA, SBX_STREAM_STDOUT, ch, 0x7fffffff};
	g_autoptr(GBytes) b = NULL;
	sbx_proto_header_encode(hdr, &h);
	b = g_bytes_new(hdr, sizeof(hdr));
	fake_send(f, b);
}

static void
hostile_exit_twice(Fake *f, guint32 ch)
{
	fake_send_take(f, sbx_proto_encode_exit(ch, 0, 0, 0));
	fake_send_take(f, sbx_proto_encode_exit(ch, 0, 0, 0));
}

static void
hostile_garbage(Fake *f, guint32 ch)
{
	g_autoptr(GBytes) b = g_bytes_new_static("GET / HTTP/1.1\r\n\r\n", 18);
	fake_send(f, b);
}

static void
hostile_stdin_data(Fake *f, guint32 ch)
{
	fake_send_take(f, sbx_proto_encode_data(ch, SBX_STREAM_STDIN, (const guint8 *)"x", 1));
}

static void
hostile_output_credit(Fake *f, guint32 ch)
{
	fake_send_take(f, sbx_proto_encode_credit(ch, SBX_STREAM_STDOUT, 5));
}

static void
hostile_started_twice(Fake *f, guint32 ch)
{
	fake_send_take(f, sbx_proto_encode_exec_started(ch, 1, 1));
}

static void
hostile_hello_reply_again(Fake *f, guint32 ch)
{
	fake_send_take(f, sbx_proto_encode_hello_reply(SBX_PROTO_MAGIC, 1, 0, "again"));
}

static void
hostile_host_message(Fake *f, guint32 ch)
{
	fake_send_take(f, sbx_proto_encode_signal(ch, 9, 0));
}

static void
hostile_exit_bad_signal(Fake *f, guint32 ch)
{
	guint8 p[12] = {0, 0, 0, 0, 200, 0, 0, 0, 0, 0, 0, 0};
	fake_send_take(f, sbx_proto_encode_frame(SBX_MSG_EXIT, 0, ch, p, sizeof(p)));
}

static void
hostile_eof_twice(Fake *f, guint32 ch)
{
	fake_send_take(f, sbx_proto_encode_eof(ch, SBX_STREAM_STDOUT));
	fake_send_take(f, sbx_proto_encode_eof(ch, SBX_STREAM_STDOUT));
}

static void
hostile_data_after_eof(Fake *f, guint32 ch)
{
	fake_send_take(f, sbx_proto_encode_eof(ch, SBX_STREAM_STDOUT));
	fake_send_take(f, sbx_proto_encode_data(ch, SBX_STREAM_STDOUT, (const guint8 *)"x", 1));
}

static void
hostile_stdin_credit_overflow(Fake *f, guint32 ch)
{
	fake_send_take(f, sbx_proto_encode_credit(ch, SBX_STREAM_STDIN, G_MAXUINT32));
	fake_send_take(f, sbx_proto_encode_credit(ch, SBX_STREAM_STDIN, G_MAXUINT32));
}

static void
hostile_oversized_pong(Fake *f, guint32 ch)
{
	guint8 big[65] = {0};
	/* a stray PONG is ignored, one over 64 bytes is not */
	fake_send_take(f, sbx_proto_encode_ping(SBX_MSG_PONG, NULL, 0));
	fake_send_take(f, sbx_proto_encode_frame(SBX_MSG_PONG, 0, 0, big, sizeof(big)));
}

static void
hostile_truncated_then_hangup(Fake *f, guint32 ch)
{
	g_autoptr(GBytes) b = sbx_proto_encode_exit(ch, 0, 0, 0);
	g_autoptr(GBytes) part = g_bytes_new_from_bytes(b, 0, 10);
	fake_send(f, part);
	shutdown(f->guest_fd, SHUT_WR);
}

static void
run_hostile(gconstpointer data)
{
	HostileFunc func = (HostileFunc)data;
	Fake *f = fake_new();
	SbxTestWait w = {0};
	const gchar *argv[] = {"cat", NULL};
	gint out[2], in[2];
	guint32 ch;

	fake_handshake(f);
	g_assert_true(g_unix_open_pipe(out, FD_CLOEXEC, NULL));
	g_assert_true(g_unix_open_pipe(in, FD_CLOEXEC, NULL));
	/* a small pipe nobody reads */
	g_assert_cmpint(fcntl(out[1], F_SETPIPE_SZ, 4096), <, (gint)SBX_PROTO_MAX_PAYLOAD);
	ch = fake_start_exec(f, argv, in[0], out[1], -1, 0, NULL, &w, NULL);
	close(in[0]);
	close(out[1]);
	func(f, ch);
	sbx_test_wait_done(&w);
	while (f->closed_count == 0)
		g_main_context_iteration(NULL, TRUE);
	g_assert_error(f->closed_reason, SBX_ERROR, SBX_ERROR_PROTOCOL);
	g_assert_true(sbx_agent_client_is_closed(f->client));
	if (func != hostile_exit_twice) {
		g_autoptr(GError) error = NULL;
		g_assert_false(sbx_agent_client_exec_finish(f->client, w.res, NULL, &error));
		g_assert_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL);
	}
	wait_clear(&w);
	/* the host end is closed too */
	while (!f->host_hung_up)
		g_main_context_iteration(NULL, TRUE);
	close(in[1]);
	close(out[0]);
	fake_free(f);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/agent-client/handshake/ok", test_handshake_ok);
	g_test_add_func("/agent-client/handshake/timeout", test_handshake_timeout);
	g_test_add_func("/agent-client/handshake/bad-magic", test_handshake_bad_magic);
	g_test_add_func("/agent-client/handshake/bad-version", test_handshake_bad_version);
	g_test_add_func("/agent-client/handshake/hangup", test_handshake_hangup);
	g_test_add_func("/agent-client/handshake/cancel", test_handshake_cancel);
	g_test_add_func("/agent-client/exec/before-handshake", test_exec_before_handshake);
	g_test_add_func("/agent-client/exec/bad-params", test_exec_bad_params);
	g_test_add_func("/agent-client/exec/output", test_exec_output);
	g_test_add_func("/agent-client/exec/signal-timeout", test_exec_signal_timeout);
	g_test_add_func("/agent-client/exec/failed", test_exec_failed);
	g_test_add_func("/agent-client/exec/stdin", test_exec_stdin);
	g_test_add_func("/agent-client/exec/credit", test_exec_credit);
	g_test_add_func("/agent-client/exec/waits-for-output", test_exec_waits_for_output);
	g_test_add_func("/agent-client/exec/cancel", test_exec_cancel);
	g_test_add_func("/agent-client/exec/epipe", test_exec_epipe);
	g_test_add_func("/agent-client/exec/fd-kinds", test_exec_fd_kinds);
	g_test_add_func("/agent-client/exec/too-many-channels", test_too_many_channels);
	g_test_add_func("/agent-client/exec/hangup", test_hangup_mid_exec);
	g_test_add_func("/agent-client/ping", test_ping);
	g_test_add_func("/agent-client/close", test_close);
#define HOSTILE(name)                                                                              \
	g_test_add_data_func("/agent-client/hostile/" #name, hostile_##name, run_hostile)
	HOSTILE(unknown_channel);
	HOSTILE(data_without_credit);
	HOSTILE(data_beyond_credit);
	HOSTILE(huge_length);
	HOSTILE(exit_twice);
	HOSTILE(garbage);
	HOSTILE(stdin_data);
	HOSTILE(output_credit);
	HOSTILE(started_twice);
	HOSTILE(hello_reply_again);
	HOSTILE(host_message);
	HOSTILE(exit_bad_signal);
	HOSTILE(eof_twice);
	HOSTILE(data_after_eof);
	HOSTILE(stdin_credit_overflow);
	HOSTILE(oversized_pong);
	HOSTILE(truncated_then_hangup);
	return g_test_run();
}
