/* libFuzzer target: arbitrary guest bytes into the host side of the agent
 * protocol. Three layers get the same input: the frame decoder (whole and
 * in odd chunks), every payload parser on every frame, and a whole
 * SbxAgentClient (handshake done, two commands running) reading the input
 * from its socket. Nothing may crash, hang, leak or trip a sanitizer.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>

#include "sbx-agent-client.h"
#include "sbx-error.h"
#include "sbx-frame-decoder.h"
#include "sbx-proto.h"

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

static gboolean
parse_all_cb(const SbxFrame *frame, gpointer user_data, GError **error)
{
	const guint8 *p = frame->payload;
	gsize len = frame->header.length;
	guint32 a, b, c;
	gint32 i, j;
	gchar *s = NULL;
	SbxProtoHelloReply reply = {0};
	SbxProtoExec exec = {0};

	/* every parser on every payload: each must cope with anything */
	(void)sbx_proto_parse_hello(p, len, &a, &b, NULL);
	(void)sbx_proto_parse_hello_reply(p, len, &reply, NULL);
	sbx_proto_hello_reply_clear(&reply);
	(void)sbx_proto_parse_exec(p, len, &exec, NULL);
	sbx_proto_exec_clear(&exec);
	(void)sbx_proto_parse_exec_started(p, len, &a, &b, NULL);
	if (sbx_proto_parse_exec_failed(p, len, &i, &s, NULL))
		g_assert_true(g_utf8_validate(s, -1, NULL));
	g_clear_pointer(&s, g_free);
	(void)sbx_proto_parse_exit(p, len, &i, &j, &c, NULL);
	(void)sbx_proto_parse_credit(p, len, &a, NULL);
	(void)sbx_proto_parse_signal(p, len, &i, &a, NULL);
	if (sbx_proto_parse_error(p, len, &a, &s, NULL))
		g_assert_cmpuint(strlen(s), <=, SBX_PROTO_MAX_MESSAGE);
	g_clear_pointer(&s, g_free);
	(void)sbx_proto_parse_ping(p, len, NULL);
	(*(guint *)user_data)++;
	return TRUE;
}

static void
fuzz_decoder(const guint8 *data, gsize size)
{
	g_autoptr(SbxFrameDecoder) whole = sbx_frame_decoder_new();
	g_autoptr(SbxFrameDecoder) chunked = sbx_frame_decoder_new();
	guint n_whole = 0, n_chunked = 0;
	gboolean ok_whole, ok_chunked = TRUE;
	gsize chunk = size > 0 ? (data[0] % 13) + 1 : 1;

	ok_whole = sbx_frame_decoder_feed(whole, data, size, parse_all_cb, &n_whole, NULL);
	for (gsize off = 0; off < size && ok_chunked; off += chunk)
		ok_chunked = sbx_frame_decoder_feed(chunked, data + off, MIN(chunk, size - off),
						    parse_all_cb, &n_chunked, NULL);
	/* chunking never changes the outcome */
	g_assert_cmpint(ok_whole, ==, ok_chunked);
	g_assert_cmpuint(n_whole, ==, n_chunked);
	g_assert_cmpuint(sbx_frame_decoder_get_buffered(whole), <=,
			 SBX_PROTO_HEADER_SIZE + SBX_PROTO_MAX_PAYLOAD);
	if (ok_whole)
		(void)sbx_frame_decoder_finish(whole, NULL);
}

/* the client side */

typedef struct {
	gboolean done;
	gboolean closed;
	gint guest_fd;
	guint pending;
} Ctx;

static void
exec_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Ctx *ctx = user_data;
	SbxExecResult r;
	g_autoptr(GError) error = NULL;
	if (!sbx_agent_client_exec_finish(SBX_AGENT_CLIENT(source), res, &r, &error))
		g_assert_nonnull(error);
	ctx->pending--;
}

static void
handshake_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Ctx *ctx = user_data;
	(void)sbx_agent_client_handshake_finish(SBX_AGENT_CLIENT(source), res, NULL);
	ctx->done = TRUE;
}

static void
closed_cb(SbxAgentClient *client, const GError *reason, gpointer user_data)
{
	Ctx *ctx = user_data;
	g_assert_false(ctx->closed);
	ctx->closed = TRUE;
}

/* drains what the host writes and discards it */
static gboolean
guest_read_cb(gint fd, GIOCondition cond, gpointer user_data)
{
	guint8 buf[65536];
	gssize n = read(fd, buf, sizeof(buf));
	if (n < 0 && errno == EAGAIN)
		return G_SOURCE_CONTINUE;
	return n > 0 ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void
guest_write(Ctx *ctx, const guint8 *data, gsize size)
{
	while (size > 0) {
		gssize n = write(ctx->guest_fd, data, size);
		if (n < 0 && errno == EAGAIN) {
			g_main_context_iteration(NULL, TRUE);
			continue;
		}
		if (n <= 0)
			return;
		data += n;
		size -= (gsize)n;
	}
}

static void
fuzz_client(const guint8 *data, gsize size)
{
	Ctx ctx = {0};
	gint sv[2], out[2], in[2];
	g_autoptr(GSocket) socket = NULL;
	g_autoptr(GSocketConnection) conn = NULL;
	g_autoptr(SbxAgentClient) client = NULL;
	g_autoptr(GBytes) reply = NULL;
	g_autoptr(GCancellable) cancellable = g_cancellable_new();
	g_autoptr(GCancellable) cancellable1 = g_cancellable_new();
	const gchar *argv[] = {"cat", NULL};
	SbxExecParams params = {.argv = argv, .uid = -1, .gid = -1};
	g_autoptr(GSource) guest_watch = NULL;

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	socket = g_socket_new_from_fd(sv[0], NULL);
	conn = g_socket_connection_factory_create_connection(socket);
	client = sbx_agent_client_new(G_IO_STREAM(conn), "fuzz");
	g_signal_connect(client, "closed", G_CALLBACK(closed_cb), &ctx);
	ctx.guest_fd = sv[1];
	g_unix_set_fd_nonblocking(ctx.guest_fd, TRUE, NULL);
	guest_watch = g_unix_fd_source_new(ctx.guest_fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
	g_source_set_callback(guest_watch, G_SOURCE_FUNC(guest_read_cb), &ctx, NULL);
	g_source_attach(guest_watch, NULL);

	sbx_agent_client_handshake_async(client, 0, NULL, handshake_cb, &ctx);
	reply = sbx_proto_encode_hello_reply(SBX_PROTO_MAGIC, SBX_PROTO_VERSION, 0, "fuzz");
	guest_write(&ctx, g_bytes_get_data(reply, NULL), g_bytes_get_size(reply));
	while (!ctx.done)
		g_main_context_iteration(NULL, TRUE);

	/* channel 1: all three pipes; channel 2: none, cancellable */
	g_assert_true(g_unix_open_pipe(out, FD_CLOEXEC, NULL));
	g_assert_true(g_unix_open_pipe(in, FD_CLOEXEC, NULL));
	/* a small pipe nobody reads: output beyond 4 KiB waits (EAGAIN) */
	(void)fcntl(out[1], F_SETPIPE_SZ, 4096);
	if (write(in[1], "input", 5) != 5)
		g_assert_not_reached();
	close(in[1]);
	ctx.pending = 2;
	sbx_agent_client_exec_async(client, &params, in[0], out[1], out[1], cancellable1, exec_cb,
				    &ctx);
	sbx_agent_client_exec_async(client, &params, -1, -1, -1, cancellable, exec_cb, &ctx);
	close(in[0]);
	close(out[1]);

	guest_write(&ctx, data, size);
	if (size > 0 && (data[size - 1] & 1))
		g_cancellable_cancel(cancellable);
	shutdown(ctx.guest_fd, SHUT_WR);
	while (!ctx.closed)
		g_main_context_iteration(NULL, TRUE);
	/* a command that exited may still wait to write its output */
	g_cancellable_cancel(cancellable1);
	g_cancellable_cancel(cancellable);
	while (ctx.pending > 0)
		g_main_context_iteration(NULL, TRUE);
	sbx_agent_client_close(client, NULL);
	while (g_main_context_iteration(NULL, FALSE))
		;
	g_source_destroy(guest_watch);
	close(out[0]);
	close(ctx.guest_fd);
}

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
	/* a critical or warning from our code is a bug: make it a crash */
	g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
	fuzz_decoder(data, size);
	fuzz_client(data, size);
	return 0;
}
