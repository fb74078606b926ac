/* agent protocol: frame decoder and payload codecs, including hostile input.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "sbx-error.h"
#include "sbx-frame-decoder.h"
#include "sbx-proto.h"

/* collects decoded frames re-encoded as bytes */
static gboolean
collect_cb(const SbxFrame *frame, gpointer user_data, GError **error)
{
	GPtrArray *frames = user_data;
	g_ptr_array_add(frames, sbx_proto_encode_frame(frame->header.type, frame->header.flags,
						       frame->header.channel, frame->payload,
						       frame->header.length));
	return TRUE;
}

static GPtrArray *
decode_all(GBytes *input, gsize chunk, GError **error)
{
	g_autoptr(SbxFrameDecoder) dec = sbx_frame_decoder_new();
	g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(input, &len);

	for (gsize off = 0; off < len; off += chunk) {
		if (!sbx_frame_decoder_feed(dec, data + off, MIN(chunk, len - off), collect_cb,
					    frames, error))
			return NULL;
	}
	if (!sbx_frame_decoder_finish(dec, error))
		return NULL;
	return g_steal_pointer(&frames);
}

/* decodes exactly one frame from @bytes */
static void
decode_one(GBytes *bytes, SbxFrameHeader *h, GBytes **payload)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) frames = decode_all(bytes, G_MAXSIZE, &error);
	const guint8 *d;
	gsize len = 0;

	g_assert_no_error(error);
	g_assert_cmpuint(frames->len, ==, 1);
	g_assert_true(g_bytes_equal(g_ptr_array_index(frames, 0), bytes));
	d = g_bytes_get_data(bytes, &len);
	sbx_proto_header_decode(d, h);
	g_assert_cmpuint(h->length, ==, len - SBX_PROTO_HEADER_SIZE);
	*payload = g_bytes_new(d + SBX_PROTO_HEADER_SIZE, h->length);
}

#define PAYLOAD(b) g_bytes_get_data((b), NULL), g_bytes_get_size(b)

static void
test_roundtrip_control(void)
{
	SbxFrameHeader h;
	g_autoptr(GBytes) f = NULL;
	g_autoptr(GBytes) p = NULL;
	g_autoptr(GError) error = NULL;
	guint32 a = 0, b = 0;
	SbxProtoHelloReply reply = {0};

	f = sbx_proto_encode_hello(1, 3);
	decode_one(f, &h, &p);
	g_assert_cmpuint(h.type, ==, SBX_MSG_HELLO);
	g_assert_cmpuint(h.channel, ==, 0);
	g_assert_true(sbx_proto_parse_hello(PAYLOAD(p), &a, &b, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(a, ==, 1);
	g_assert_cmpuint(b, ==, 3);
	g_clear_pointer(&f, g_bytes_unref);
	g_clear_pointer(&p, g_bytes_unref);

	f = sbx_proto_encode_hello_reply(SBX_PROTO_MAGIC, 1, 0x5, "0.1.0 \xc3\xa9");
	decode_one(f, &h, &p);
	g_assert_cmpuint(h.type, ==, SBX_MSG_HELLO_REPLY);
	g_assert_true(sbx_proto_parse_hello_reply(PAYLOAD(p), &reply, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(reply.version, ==, 1);
	g_assert_cmpuint(reply.features, ==, 5);
	g_assert_cmpstr(reply.agent_version, ==, "0.1.0 \xc3\xa9");
	sbx_proto_hello_reply_clear(&reply);
	g_clear_pointer(&f, g_bytes_unref);
	g_clear_pointer(&p, g_bytes_unref);

	/* an empty version string is fine */
	f = sbx_proto_encode_hello_reply(SBX_PROTO_MAGIC, 1, 0, NULL);
	decode_one(f, &h, &p);
	g_assert_true(sbx_proto_parse_hello_reply(PAYLOAD(p), &reply, &error));
	g_assert_cmpstr(reply.agent_version, ==, "");
	sbx_proto_hello_reply_clear(&reply);
	g_clear_pointer(&f, g_bytes_unref);
	g_clear_pointer(&p, g_bytes_unref);

	f = sbx_proto_encode_ping(SBX_MSG_PING, (const guint8 *)"abc", 3);
	decode_one(f, &h, &p);
	g_assert_cmpuint(h.type, ==, SBX_MSG_PING);
	g_assert_cmpuint(h.length, ==, 3);
	g_assert_true(sbx_proto_parse_ping(PAYLOAD(p), &error));
	g_clear_pointer(&f, g_bytes_unref);
	g_clear_pointer(&p, g_bytes_unref);

	f = sbx_proto_encode_ping(SBX_MSG_PONG, NULL, 0);
	decode_one(f, &h, &p);
	g_assert_cmpuint(h.type, ==, SBX_MSG_PONG);
	g_assert_cmpuint(h.length, ==, 0);
}

static void
test_roundtrip_exec(void)
{
	const gchar *argv[] = {"/bin/sh", "-c", "echo \"$X\"", "", NULL};
	const gchar *envp[] = {"X=1", "EMPTY=", NULL};
	SbxProtoExec in = {
	    .flags = SBX_EXEC_STDIN_PIPE | SBX_EXEC_STDOUT_PIPE | SBX_EXEC_TIMEOUT,
	    .stdout_window = 1000,
	    .stderr_window = 2000,
	    .uid = 7,
	    .gid = 8,
	    .timeout_ms = 9,
	    .argv = (gchar **)argv,
	    .envp = (gchar **)envp,
	    .cwd = (gchar *)"/tmp",
	};
	SbxProtoExec out = {0};
	SbxFrameHeader h;
	g_autoptr(GBytes) f = NULL;
	g_autoptr(GBytes) p = NULL;
	g_autoptr(GError) error = NULL;

	f = sbx_proto_encode_exec(42, &in, &error);
	g_assert_no_error(error);
	decode_one(f, &h, &p);
	g_assert_cmpuint(h.type, ==, SBX_MSG_EXEC);
	g_assert_cmpuint(h.channel, ==, 42);
	g_assert_true(sbx_proto_parse_exec(PAYLOAD(p), &out, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(out.flags, ==, in.flags);
	g_assert_cmpuint(out.stdout_window, ==, 1000);
	g_assert_cmpuint(out.stderr_window, ==, 2000);
	g_assert_cmpuint(out.uid, ==, 7);
	g_assert_cmpuint(out.gid, ==, 8);
	g_assert_cmpuint(out.timeout_ms, ==, 9);
	g_assert_true(g_strv_equal((const gchar *const *)out.argv, argv));
	g_assert_true(g_strv_equal((const gchar *const *)out.envp, envp));
	g_assert_cmpstr(out.cwd, ==, "/tmp");
	sbx_proto_exec_clear(&out);
	g_clear_pointer(&f, g_bytes_unref);
	g_clear_pointer(&p, g_bytes_unref);

	/* no env, no cwd: the exact bytes from the header comment */
	in.envp = NULL;
	in.cwd = NULL;
	argv[1] = NULL;
	f = sbx_proto_encode_exec(1, &in, &error);
	g_assert_no_error(error);
	{
		static const guint8 expected[] = {
		    /* header */
		    16, 0, 0, 0, 1, 0, 0, 0, 47, 0, 0, 0,
		    /* flags, windows, uid, gid, timeout */
		    0x43, 0, 0, 0, 0xe8, 3, 0, 0, 0xd0, 7, 0, 0, 7, 0, 0, 0, 8, 0, 0, 0, 9, 0, 0, 0,
		    /* argc, "/bin/sh" */
		    1, 0, 0, 0, 7, 0, 0, 0, '/', 'b', 'i', 'n', '/', 's', 'h',
		    /* envc, cwd */
		    0, 0, 0, 0, 0, 0, 0, 0};
		g_autoptr(GBytes) want = g_bytes_new_static(expected, sizeof(expected));
		g_assert_cmpuint(g_bytes_get_size(f), ==, sizeof(expected));
		g_assert_true(g_bytes_equal(f, want));
	}
}

static void
test_roundtrip_process(void)
{
	SbxFrameHeader h;
	g_autoptr(GError) error = NULL;
	guint32 a = 0, b = 0, flags = 0;
	gint32 i = 0, j = 0;

	{
		g_autoptr(GBytes) f =
		    sbx_proto_encode_data(3, SBX_STREAM_STDERR, (const guint8 *)"hello", 5);
		g_autoptr(GBytes) p = NULL;
		decode_one(f, &h, &p);
		g_assert_cmpuint(h.type, ==, SBX_MSG_DATA);
		g_assert_cmpuint(h.flags, ==, SBX_STREAM_STDERR);
		g_assert_cmpuint(h.channel, ==, 3);
		g_assert_cmpmem(g_bytes_get_data(p, NULL), 5, "hello", 5);
	}
	{
		g_autoptr(GBytes) f = sbx_proto_encode_eof(3, SBX_STREAM_STDIN);
		g_autoptr(GBytes) p = NULL;
		decode_one(f, &h, &p);
		g_assert_cmpuint(h.type, ==, SBX_MSG_EOF);
		g_assert_cmpuint(h.flags, ==, SBX_STREAM_STDIN);
		g_assert_cmpuint(h.length, ==, 0);
	}
	{
		g_autoptr(GBytes) f = sbx_proto_encode_credit(3, SBX_STREAM_STDOUT, 65536);
		g_autoptr(GBytes) p = NULL;
		decode_one(f, &h, &p);
		g_assert_cmpuint(h.type, ==, SBX_MSG_CREDIT);
		g_assert_cmpuint(h.flags, ==, SBX_STREAM_STDOUT);
		g_assert_true(sbx_proto_parse_credit(PAYLOAD(p), &a, &error));
		g_assert_cmpuint(a, ==, 65536);
	}
	{
		g_autoptr(GBytes) f = sbx_proto_encode_signal(3, 9, SBX_SIGNAL_GROUP);
		g_autoptr(GBytes) p = NULL;
		decode_one(f, &h, &p);
		g_assert_cmpuint(h.type, ==, SBX_MSG_SIGNAL);
		g_assert_true(sbx_proto_parse_signal(PAYLOAD(p), &i, &flags, &error));
		g_assert_cmpint(i, ==, 9);
		g_assert_cmpuint(flags, ==, SBX_SIGNAL_GROUP);
	}
	{
		g_autoptr(GBytes) f = sbx_proto_encode_exec_started(3, 1234, 4096);
		g_autoptr(GBytes) p = NULL;
		decode_one(f, &h, &p);
		g_assert_cmpuint(h.type, ==, SBX_MSG_EXEC_STARTED);
		g_assert_true(sbx_proto_parse_exec_started(PAYLOAD(p), &a, &b, &error));
		g_assert_cmpuint(a, ==, 1234);
		g_assert_cmpuint(b, ==, 4096);
	}
	{
		g_autoptr(GBytes) f = sbx_proto_encode_exec_failed(3, 2, "no such file");
		g_autoptr(GBytes) p = NULL;
		g_autofree gchar *msg = NULL;
		decode_one(f, &h, &p);
		g_assert_cmpuint(h.type, ==, SBX_MSG_EXEC_FAILED);
		g_assert_true(sbx_proto_parse_exec_failed(PAYLOAD(p), &i, &msg, &error));
		g_assert_cmpint(i, ==, 2);
		g_assert_cmpstr(msg, ==, "no such file");
	}
	{
		g_autoptr(GBytes) f = sbx_proto_encode_exit(3, 42, 0, 0);
		g_autoptr(GBytes) p = NULL;
		decode_one(f, &h, &p);
		g_assert_cmpuint(h.type, ==, SBX_MSG_EXIT);
		g_assert_true(sbx_proto_parse_exit(PAYLOAD(p), &i, &j, &flags, &error));
		g_assert_cmpint(i, ==, 42);
		g_assert_cmpint(j, ==, 0);
		g_assert_cmpuint(flags, ==, 0);
	}
	{
		/* killed by a signal: exit code is reported as -1 */
		g_autoptr(GBytes) f = sbx_proto_encode_exit(3, 137, 9, SBX_EXIT_TIMED_OUT);
		g_autoptr(GBytes) p = NULL;
		decode_one(f, &h, &p);
		g_assert_true(sbx_proto_parse_exit(PAYLOAD(p), &i, &j, &flags, &error));
		g_assert_cmpint(i, ==, -1);
		g_assert_cmpint(j, ==, 9);
		g_assert_cmpuint(flags, ==, SBX_EXIT_TIMED_OUT);
	}
	{
		g_autoptr(GBytes) f = sbx_proto_encode_error(0, SBX_PROTO_ERR_CREDIT, "too much");
		g_autoptr(GBytes) p = NULL;
		g_autofree gchar *msg = NULL;
		decode_one(f, &h, &p);
		g_assert_cmpuint(h.type, ==, SBX_MSG_ERROR);
		g_assert_true(sbx_proto_parse_error(PAYLOAD(p), &a, &msg, &error));
		g_assert_cmpuint(a, ==, SBX_PROTO_ERR_CREDIT);
		g_assert_cmpstr(msg, ==, "too much");
	}
	g_assert_no_error(error);
}

/* every message, concatenated, fed in chunks of every size from 1 byte */
static void
test_decoder_chunks(void)
{
	const gchar *argv[] = {"true", NULL};
	SbxProtoExec exec = {.argv = (gchar **)argv};
	g_autoptr(GByteArray) all = g_byte_array_new();
	g_autoptr(GPtrArray) want = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	g_autoptr(GBytes) input = NULL;
	g_autofree guint8 *big = g_malloc0(SBX_PROTO_MAX_PAYLOAD);

	g_ptr_array_add(want, sbx_proto_encode_hello(1, 1));
	g_ptr_array_add(want, sbx_proto_encode_hello_reply(SBX_PROTO_MAGIC, 1, 0, "v"));
	g_ptr_array_add(want, sbx_proto_encode_exec(5, &exec, NULL));
	g_ptr_array_add(want, sbx_proto_encode_exec_started(5, 1, 2));
	g_ptr_array_add(want,
			sbx_proto_encode_data(5, SBX_STREAM_STDOUT, big, SBX_PROTO_MAX_PAYLOAD));
	g_ptr_array_add(want, sbx_proto_encode_eof(5, SBX_STREAM_STDOUT));
	g_ptr_array_add(want, sbx_proto_encode_credit(5, SBX_STREAM_STDIN, 3));
	g_ptr_array_add(want, sbx_proto_encode_ping(SBX_MSG_PING, NULL, 0));
	g_ptr_array_add(want, sbx_proto_encode_exit(5, 0, 0, 0));
	for (guint i = 0; i < want->len; i++) {
		GBytes *b = g_ptr_array_index(want, i);
		g_byte_array_append(all, g_bytes_get_data(b, NULL), g_bytes_get_size(b));
	}
	input = g_byte_array_free_to_bytes(g_steal_pointer(&all));

	for (gsize chunk = 1; chunk < g_bytes_get_size(input); chunk = chunk * 3 + 1) {
		g_autoptr(GError) error = NULL;
		g_autoptr(GPtrArray) got = decode_all(input, chunk, &error);
		g_assert_no_error(error);
		g_assert_cmpuint(got->len, ==, want->len);
		for (guint i = 0; i < want->len; i++)
			g_assert_true(
			    g_bytes_equal(g_ptr_array_index(got, i), g_ptr_array_index(want, i)));
	}
}

static GBytes *
raw_header(guint16 type, guint16 flags, guint32 channel, guint32 length, gsize payload_len)
{
	SbxFrameHeader h = {type, flags, channel, length};
	guint8 *buf = g_malloc0(SBX_PROTO_HEADER_SIZE + payload_len);
	sbx_proto_header_encode(buf, &h);
	return g_bytes_new_take(buf, SBX_PROTO_HEADER_SIZE + payload_len);
}

/* the header must be refused as soon as it is complete, before any payload */
static void
assert_bad_header(guint16 type, guint16 flags, guint32 channel, guint32 length, const gchar *needle)
{
	g_autoptr(SbxFrameDecoder) dec = sbx_frame_decoder_new();
	g_autoptr(GBytes) b = raw_header(type, flags, channel, length, 0);
	g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	g_autoptr(GError) error = NULL;
	g_autoptr(GError) error2 = NULL;

	g_assert_false(sbx_frame_decoder_feed(dec, PAYLOAD(b), collect_cb, frames, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL);
	if (g_strstr_len(error->message, -1, needle) == NULL)
		g_error("'%s' does not mention '%s'", error->message, needle);
	g_assert_cmpuint(frames->len, ==, 0);
	g_assert_true(sbx_frame_decoder_has_failed(dec));
	g_assert_cmpuint(sbx_frame_decoder_get_buffered(dec), ==, 0);
	/* stays failed, even for valid input */
	{
		g_autoptr(GBytes) ok = sbx_proto_encode_ping(SBX_MSG_PING, NULL, 0);
		g_assert_false(
		    sbx_frame_decoder_feed(dec, PAYLOAD(ok), collect_cb, frames, &error2));
		g_assert_error(error2, SBX_ERROR, SBX_ERROR_PROTOCOL);
		g_assert_cmpuint(frames->len, ==, 0);
	}
}

static void
test_decoder_malformed(void)
{
	assert_bad_header(SBX_MSG_DATA, 1, 1, SBX_PROTO_MAX_PAYLOAD + 1, "exceeds");
	assert_bad_header(SBX_MSG_DATA, 1, 1, G_MAXUINT32, "exceeds");
	assert_bad_header(0, 0, 0, 0, "unknown frame type");
	assert_bad_header(1000, 0, 1, 4, "unknown frame type");
	assert_bad_header(0xffff, 0, 1, 4, "unknown frame type");
	assert_bad_header(SBX_MSG_DATA, 1, 1, 0, "bad length");
	assert_bad_header(SBX_MSG_DATA, 3, 1, 5, "bad stream");
	assert_bad_header(SBX_MSG_EOF, 1, 1, 1, "bad length");
	assert_bad_header(SBX_MSG_EOF, 7, 1, 0, "bad stream");
	assert_bad_header(SBX_MSG_CREDIT, 1, 1, 3, "bad length");
	assert_bad_header(SBX_MSG_CREDIT, 1, 1, 8, "bad length");
	assert_bad_header(SBX_MSG_HELLO, 0, 0, 11, "bad length");
	assert_bad_header(SBX_MSG_HELLO_REPLY, 0, 0, 11, "bad length");
	assert_bad_header(SBX_MSG_HELLO_REPLY, 0, 7, 12, "on process channel");
	assert_bad_header(SBX_MSG_PING, 0, 0, 65, "bad length");
	assert_bad_header(SBX_MSG_PONG, 0, 0, 1000, "bad length");
	assert_bad_header(SBX_MSG_EXEC_STARTED, 0, 0, 8, "control channel");
	assert_bad_header(SBX_MSG_EXEC_STARTED, 0, 1, 9, "bad length");
	assert_bad_header(SBX_MSG_EXEC_STARTED, 1, 1, 8, "unexpected flags");
	assert_bad_header(SBX_MSG_EXIT, 0, 1, 8, "bad length");
	assert_bad_header(SBX_MSG_EXIT, 0, 0, 12, "control channel");
	assert_bad_header(SBX_MSG_EXEC_FAILED, 0, 1, 3, "bad length");
	assert_bad_header(SBX_MSG_SIGNAL, 0, 1, 4, "bad length");
	assert_bad_header(SBX_MSG_ERROR, 0, 1, 0, "bad length");
	assert_bad_header(SBX_MSG_EXEC, 0, 1, 0, "bad length");
}

static void
test_decoder_truncated(void)
{
	g_autoptr(GBytes) f = sbx_proto_encode_exit(9, 1, 0, 0);
	gsize len = 0;
	const guint8 *d = g_bytes_get_data(f, &len);

	/* every proper prefix: no frame, and the end of stream is an error */
	for (gsize cut = 1; cut < len; cut++) {
		g_autoptr(SbxFrameDecoder) dec = sbx_frame_decoder_new();
		g_autoptr(GPtrArray) frames =
		    g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
		g_autoptr(GError) error = NULL;
		for (gsize i = 0; i < cut; i++)
			g_assert_true(
			    sbx_frame_decoder_feed(dec, d + i, 1, collect_cb, frames, &error));
		g_assert_no_error(error);
		g_assert_cmpuint(frames->len, ==, 0);
		g_assert_cmpuint(sbx_frame_decoder_get_buffered(dec), ==, cut);
		g_assert_false(sbx_frame_decoder_finish(dec, &error));
		g_assert_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL);
		g_assert_nonnull(strstr(error->message, "inside a frame"));
	}
	/* and the full frame byte by byte is exactly one frame */
	{
		g_autoptr(SbxFrameDecoder) dec = sbx_frame_decoder_new();
		g_autoptr(GPtrArray) frames =
		    g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
		g_autoptr(GError) error = NULL;
		for (gsize i = 0; i < len; i++) {
			g_assert_cmpuint(frames->len, ==, 0);
			g_assert_true(
			    sbx_frame_decoder_feed(dec, d + i, 1, collect_cb, frames, &error));
		}
		g_assert_cmpuint(frames->len, ==, 1);
		g_assert_true(sbx_frame_decoder_finish(dec, &error));
		g_assert_no_error(error);
	}
}

static gboolean
refuse_cb(const SbxFrame *frame, gpointer user_data, GError **error)
{
	guint *count = user_data;
	if (++(*count) == 2) {
		g_set_error_literal(error, SBX_ERROR, SBX_ERROR_PROTOCOL, "refused");
		return FALSE;
	}
	return TRUE;
}

static void
test_decoder_callback_stops(void)
{
	g_autoptr(SbxFrameDecoder) dec = sbx_frame_decoder_new();
	g_autoptr(GByteArray) all = g_byte_array_new();
	g_autoptr(GError) error = NULL;
	guint count = 0;

	for (guint i = 0; i < 3; i++) {
		g_autoptr(GBytes) b = sbx_proto_encode_ping(SBX_MSG_PING, NULL, 0);
		g_byte_array_append(all, g_bytes_get_data(b, NULL), g_bytes_get_size(b));
	}
	g_assert_false(sbx_frame_decoder_feed(dec, all->data, all->len, refuse_cb, &count, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL);
	g_assert_cmpuint(count, ==, 2);
	g_assert_true(sbx_frame_decoder_has_failed(dec));
}

static void
assert_parse_fails(gboolean ok, GError *error, const gchar *needle)
{
	g_assert_false(ok);
	g_assert_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL);
	if (g_strstr_len(error->message, -1, needle) == NULL)
		g_error("'%s' does not mention '%s'", error->message, needle);
}

static void
test_parse_sizes(void)
{
	guint8 buf[32] = {0};
	guint32 a, b, c;
	gint32 i, j;
	gchar *msg = NULL;

#define CHECK(call, needle)                                                                        \
	do {                                                                                       \
		g_autoptr(GError) e = NULL;                                                        \
		gboolean ok_ = call;                                                               \
		assert_parse_fails(ok_, e, needle);                                                \
	} while (0)

	CHECK(sbx_proto_parse_exec_started(buf, 7, &a, &b, &e), "expected 8");
	CHECK(sbx_proto_parse_exec_started(buf, 9, &a, &b, &e), "expected 8");
	CHECK(sbx_proto_parse_exit(buf, 11, &i, &j, &a, &e), "expected 12");
	CHECK(sbx_proto_parse_exit(buf, 13, &i, &j, &a, &e), "expected 12");
	CHECK(sbx_proto_parse_credit(buf, 3, &a, &e), "expected 4");
	CHECK(sbx_proto_parse_credit(buf, 5, &a, &e), "expected 4");
	CHECK(sbx_proto_parse_signal(buf, 7, &i, &a, &e), "expected 8");
	CHECK(sbx_proto_parse_hello(buf, 13, &a, &b, &e), "expected 12");
	CHECK(sbx_proto_parse_exec_failed(buf, 3, &i, &msg, &e), "too short");
	CHECK(sbx_proto_parse_error(buf, 0, &a, &msg, &e), "too short");
	CHECK(sbx_proto_parse_ping(buf, 65, &e), "too long");

	/* bad magic */
	CHECK(sbx_proto_parse_hello(buf, 12, &a, &b, &e), "bad magic");
	{
		SbxProtoHelloReply r = {0};
		CHECK(sbx_proto_parse_hello_reply(buf, 12, &r, &e), "bad magic");
		g_assert_null(r.agent_version);
	}
	/* exit: signal range, exit code range, flags */
	sbx_proto_put_u32(buf, 0);
	sbx_proto_put_u32(buf + 4, 65);
	sbx_proto_put_u32(buf + 8, 0);
	CHECK(sbx_proto_parse_exit(buf, 12, &i, &j, &a, &e), "bad signal");
	sbx_proto_put_u32(buf, 256);
	sbx_proto_put_u32(buf + 4, 0);
	CHECK(sbx_proto_parse_exit(buf, 12, &i, &j, &a, &e), "bad exit code");
	sbx_proto_put_u32(buf, 0);
	sbx_proto_put_u32(buf + 8, 2);
	CHECK(sbx_proto_parse_exit(buf, 12, &i, &j, &a, &e), "unknown flags");
	sbx_proto_put_u32(buf, 0);
	sbx_proto_put_u32(buf + 4, 0);
	CHECK(sbx_proto_parse_signal(buf, 8, &i, &a, &e), "bad signal");
	(void)c;
}

static void
test_parse_strings(void)
{
	SbxProtoHelloReply r = {0};
	gint32 i;
	guint32 a;

	{
		g_autoptr(GBytes) f =
		    sbx_proto_encode_hello_reply(SBX_PROTO_MAGIC, 1, 0, "bad \xff\xfe utf8");
		const guint8 *d = g_bytes_get_data(f, NULL);
		CHECK(sbx_proto_parse_hello_reply(d + 12, g_bytes_get_size(f) - 12, &r, &e),
		      "UTF-8");
	}
	{
		g_autofree gchar *longv = g_strnfill(SBX_PROTO_MAX_AGENT_VERSION + 1, 'v');
		g_autoptr(GBytes) f = sbx_proto_encode_hello_reply(SBX_PROTO_MAGIC, 1, 0, longv);
		const guint8 *d = g_bytes_get_data(f, NULL);
		CHECK(sbx_proto_parse_hello_reply(d + 12, g_bytes_get_size(f) - 12, &r, &e),
		      "too long");
	}
	{
		/* a NUL inside the message */
		guint8 buf[8] = {1, 0, 0, 0, 'a', 0, 'b', 'c'};
		g_autofree gchar *msg = NULL;
		CHECK(sbx_proto_parse_exec_failed(buf, sizeof(buf), &i, &msg, &e), "NUL");
		g_assert_null(msg);
	}
	{
		g_autofree gchar *longm = g_strnfill(SBX_PROTO_MAX_MESSAGE + 1, 'm');
		g_autoptr(GBytes) f = sbx_proto_encode_error(1, 1, longm);
		const guint8 *d = g_bytes_get_data(f, NULL);
		g_autofree gchar *msg = NULL;
		CHECK(sbx_proto_parse_error(d + 12, g_bytes_get_size(f) - 12, &a, &msg, &e),
		      "too long");
	}
	{
		g_autoptr(GBytes) f = sbx_proto_encode_error(1, 1, "\xc3");
		const guint8 *d = g_bytes_get_data(f, NULL);
		g_autofree gchar *msg = NULL;
		CHECK(sbx_proto_parse_error(d + 12, g_bytes_get_size(f) - 12, &a, &msg, &e),
		      "UTF-8");
	}
	g_assert_null(r.agent_version);
}

static void
assert_encode_exec_fails(SbxProtoExec *exec, const gchar *needle)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) f = sbx_proto_encode_exec(1, exec, &error);
	g_assert_null(f);
	g_assert_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT);
	if (g_strstr_len(error->message, -1, needle) == NULL)
		g_error("'%s' does not mention '%s'", error->message, needle);
}

static void
test_exec_encode_bounds(void)
{
	const gchar *empty[] = {NULL};
	const gchar *one[] = {"x", NULL};
	g_autoptr(GPtrArray) many = g_ptr_array_new();
	g_autofree gchar *longs = g_strnfill(SBX_PROTO_MAX_STRING + 1, 'a');
	g_autofree gchar *maxs = g_strnfill(SBX_PROTO_MAX_STRING, 'a');
	const gchar *toolong[] = {longs, NULL};
	const gchar *big[] = {maxs, maxs, NULL};
	const gchar *onemax[] = {maxs, NULL};
	const gchar *badenv[] = {"NOEQUALS", NULL};
	const gchar *badenv2[] = {"=x", NULL};
	SbxProtoExec exec = {0};
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) ok = NULL;

	exec.argv = NULL;
	assert_encode_exec_fails(&exec, "empty");
	exec.argv = (gchar **)empty;
	assert_encode_exec_fails(&exec, "empty");
	for (guint i = 0; i < SBX_PROTO_MAX_ARGS + 1; i++)
		g_ptr_array_add(many, (gpointer) "");
	g_ptr_array_add(many, NULL);
	exec.argv = (gchar **)many->pdata;
	assert_encode_exec_fails(&exec, "4097 arguments");
	exec.argv = (gchar **)one;
	exec.envp = (gchar **)many->pdata;
	assert_encode_exec_fails(&exec, "4097 environment");
	exec.envp = NULL;
	exec.argv = (gchar **)toolong;
	assert_encode_exec_fails(&exec, "at most 32768");
	exec.argv = (gchar **)big;
	assert_encode_exec_fails(&exec, "too large");
	exec.argv = (gchar **)one;
	exec.envp = (gchar **)badenv;
	assert_encode_exec_fails(&exec, "KEY=VALUE");
	exec.envp = (gchar **)badenv2;
	assert_encode_exec_fails(&exec, "KEY=VALUE");
	exec.envp = NULL;
	exec.cwd = (gchar *)"relative";
	assert_encode_exec_fails(&exec, "not absolute");
	exec.cwd = NULL;

	/* the largest single string is fine */
	exec.argv = (gchar **)onemax;
	ok = sbx_proto_encode_exec(1, &exec, &error);
	g_assert_no_error(error);
	g_assert_nonnull(ok);
	/* exactly SBX_PROTO_MAX_ARGS empty arguments fit too */
	g_ptr_array_remove_index(many, many->len - 1);
	g_ptr_array_index(many, many->len - 1) = NULL;
	exec.argv = (gchar **)many->pdata;
	g_clear_pointer(&ok, g_bytes_unref);
	ok = sbx_proto_encode_exec(1, &exec, &error);
	g_assert_no_error(error);
	g_assert_nonnull(ok);
}

/* hand-made EXEC payloads for the strict parser */
static GByteArray *
exec_payload(guint32 argc)
{
	GByteArray *b = g_byte_array_new();
	guint8 tmp[4];
	for (guint i = 0; i < 6; i++) {
		sbx_proto_put_u32(tmp, 0);
		g_byte_array_append(b, tmp, 4);
	}
	sbx_proto_put_u32(tmp, argc);
	g_byte_array_append(b, tmp, 4);
	return b;
}

static void
append_u32(GByteArray *b, guint32 v)
{
	guint8 tmp[4];
	sbx_proto_put_u32(tmp, v);
	g_byte_array_append(b, tmp, 4);
}

static void
test_exec_parse_bounds(void)
{
	SbxProtoExec out = {0};

	{
		g_autoptr(GByteArray) b = exec_payload(0);
		append_u32(b, 0);
		append_u32(b, 0);
		CHECK(sbx_proto_parse_exec(b->data, b->len, &out, &e), "argument count");
	}
	{
		g_autoptr(GByteArray) b = exec_payload(SBX_PROTO_MAX_ARGS + 1);
		CHECK(sbx_proto_parse_exec(b->data, b->len, &out, &e), "argument count");
	}
	{
		/* a string longer than allowed */
		g_autoptr(GByteArray) b = exec_payload(1);
		append_u32(b, SBX_PROTO_MAX_STRING + 1);
		CHECK(sbx_proto_parse_exec(b->data, b->len, &out, &e), "string too long");
	}
	{
		/* a string running past the payload */
		g_autoptr(GByteArray) b = exec_payload(1);
		append_u32(b, 100);
		g_byte_array_append(b, (const guint8 *)"abc", 3);
		CHECK(sbx_proto_parse_exec(b->data, b->len, &out, &e), "runs past");
	}
	{
		/* too many env entries */
		g_autoptr(GByteArray) b = exec_payload(1);
		append_u32(b, 1);
		g_byte_array_append(b, (const guint8 *)"x", 1);
		append_u32(b, SBX_PROTO_MAX_ENV + 1);
		CHECK(sbx_proto_parse_exec(b->data, b->len, &out, &e), "too many environment");
	}
	{
		/* NUL inside a string */
		g_autoptr(GByteArray) b = exec_payload(1);
		append_u32(b, 3);
		g_byte_array_append(b, (const guint8 *)"a\0b", 3);
		append_u32(b, 0);
		append_u32(b, 0);
		CHECK(sbx_proto_parse_exec(b->data, b->len, &out, &e), "NUL");
	}
	{
		/* missing cwd, then trailing bytes */
		g_autoptr(GByteArray) b = exec_payload(1);
		append_u32(b, 1);
		g_byte_array_append(b, (const guint8 *)"x", 1);
		append_u32(b, 0);
		CHECK(sbx_proto_parse_exec(b->data, b->len, &out, &e), "too short");
		append_u32(b, 0);
		g_byte_array_append(b, (const guint8 *)"!", 1);
		CHECK(sbx_proto_parse_exec(b->data, b->len, &out, &e), "trailing");
	}
	g_assert_null(out.argv);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/protocol/roundtrip/control", test_roundtrip_control);
	g_test_add_func("/protocol/roundtrip/exec", test_roundtrip_exec);
	g_test_add_func("/protocol/roundtrip/process", test_roundtrip_process);
	g_test_add_func("/protocol/decoder/chunks", test_decoder_chunks);
	g_test_add_func("/protocol/decoder/malformed", test_decoder_malformed);
	g_test_add_func("/protocol/decoder/truncated", test_decoder_truncated);
	g_test_add_func("/protocol/decoder/callback-stops", test_decoder_callback_stops);
	g_test_add_func("/protocol/parse/sizes", test_parse_sizes);
	g_test_add_func("/protocol/parse/strings", test_parse_strings);
	g_test_add_func("/protocol/exec/encode-bounds", test_exec_encode_bounds);
	g_test_add_func("/protocol/exec/parse-bounds", test_exec_parse_bounds);
	return g_test_run();
}
