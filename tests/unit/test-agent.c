/* the guest agent (sandboxd-agent --listen) spoken to with raw frames: the
 * happy paths, flow control and how it answers a misbehaving host.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sbx-protocol.h"

typedef struct {
	gchar *dir;
	gchar *sock_path;
	GPid pid;
	int fd;
	GByteArray *in;
	guint32 next_ch;
} Fixture;

typedef struct {
	SbxFrameHeader h;
	GBytes *payload;
} Frame;

static void
frame_clear(Frame *f)
{
	g_clear_pointer(&f->payload, g_bytes_unref);
}

static const guint8 *
frame_data(Frame *f)
{
	return g_bytes_get_data(f->payload, NULL);
}

static void
send_raw(Fixture *fx, const void *p, gsize len)
{
	const guint8 *b = p;
	while (len > 0) {
		ssize_t n = write(fx->fd, b, len);
		if (n < 0 && errno == EINTR)
			continue;
		g_assert_cmpint(n, >, 0);
		b += n;
		len -= (gsize)n;
	}
}

static void
send_frame(Fixture *fx, guint16 type, guint16 flags, guint32 ch, const void *p, guint32 len)
{
	SbxFrameHeader h = {.type = type, .flags = flags, .channel = ch, .length = len};
	guint8 hdr[SBX_PROTO_HEADER_SIZE];
	sbx_proto_header_encode(hdr, &h);
	send_raw(fx, hdr, sizeof(hdr));
	if (len > 0)
		send_raw(fx, p, len);
}

/* blocks (with a socket timeout) for the next frame */
static void
recv_frame(Fixture *fx, Frame *f)
{
	for (;;) {
		if (fx->in->len >= SBX_PROTO_HEADER_SIZE) {
			sbx_proto_header_decode(fx->in->data, &f->h);
			g_assert_cmpuint(f->h.length, <=, SBX_PROTO_MAX_PAYLOAD);
			if (fx->in->len >= SBX_PROTO_HEADER_SIZE + f->h.length) {
				f->payload =
				    g_bytes_new(fx->in->data + SBX_PROTO_HEADER_SIZE, f->h.length);
				g_byte_array_remove_range(fx->in, 0,
							  SBX_PROTO_HEADER_SIZE + f->h.length);
				return;
			}
		}
		guint8 buf[65536];
		ssize_t n = read(fx->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			g_error("agent connection: %s", n == 0 ? "EOF" : g_strerror(errno));
		g_byte_array_append(fx->in, buf, (guint)n);
	}
}

static void
put_u32(GByteArray *a, guint32 v)
{
	guint8 b[4];
	sbx_proto_put_u32(b, v);
	g_byte_array_append(a, b, 4);
}

static void
put_str(GByteArray *a, const gchar *s)
{
	put_u32(a, (guint32)strlen(s));
	g_byte_array_append(a, (const guint8 *)s, (guint)strlen(s));
}

static void
hello(Fixture *fx)
{
	guint8 p[12];
	Frame f = {0};
	sbx_proto_put_u32(p, SBX_PROTO_MAGIC);
	sbx_proto_put_u32(p + 4, 1);
	sbx_proto_put_u32(p + 8, 1);
	send_frame(fx, SBX_MSG_HELLO, 0, 0, p, sizeof(p));
	recv_frame(fx, &f);
	g_assert_cmpuint(f.h.type, ==, SBX_MSG_HELLO_REPLY);
	g_assert_cmpuint(f.h.channel, ==, 0);
	g_assert_cmpuint(g_bytes_get_size(f.payload), >, 12);
	g_assert_cmpuint(sbx_proto_get_u32(frame_data(&f)), ==, SBX_PROTO_MAGIC);
	g_assert_cmpuint(sbx_proto_get_u32(frame_data(&f) + 4), ==, 1);
	frame_clear(&f);
}

static guint32
exec_full(Fixture *fx, const gchar *const *argv, const gchar *const *env, const gchar *cwd,
	  guint32 flags, guint32 window, guint32 timeout_ms)
{
	g_autoptr(GByteArray) a = g_byte_array_new();
	guint32 ch = fx->next_ch++;
	put_u32(a, flags);
	put_u32(a, window);
	put_u32(a, window);
	put_u32(a, 0);
	put_u32(a, 0);
	put_u32(a, timeout_ms);
	put_u32(a, g_strv_length((gchar **)argv));
	for (guint i = 0; argv[i] != NULL; i++)
		put_str(a, argv[i]);
	put_u32(a, env ? g_strv_length((gchar **)env) : 0);
	for (guint i = 0; env != NULL && env[i] != NULL; i++)
		put_str(a, env[i]);
	put_str(a, cwd ? cwd : "");
	send_frame(fx, SBX_MSG_EXEC, 0, ch, a->data, a->len);
	return ch;
}

typedef struct {
	gboolean failed;
	gint err;
	gint code;
	gint sig;
	guint32 flags;
	GString *out;
	GString *err_out;
	guint eofs;
} Result;

static void
result_clear(Result *r)
{
	if (r->out != NULL)
		g_string_free(r->out, TRUE);
	if (r->err_out != NULL)
		g_string_free(r->err_out, TRUE);
}

/* runs a channel to its end, granting credit back and feeding @stdin_data */
static void
run_channel(Fixture *fx, guint32 ch, const gchar *stdin_data, Result *r)
{
	gsize sent = 0, in_len = stdin_data ? strlen(stdin_data) : 0;
	guint64 credit = 0;
	gboolean eof_sent = FALSE;

	memset(r, 0, sizeof(*r));
	r->out = g_string_new(NULL);
	r->err_out = g_string_new(NULL);
	for (;;) {
		Frame f = {0};
		recv_frame(fx, &f);
		g_assert_cmpuint(f.h.channel, ==, ch);
		const guint8 *p = frame_data(&f);
		gsize len = g_bytes_get_size(f.payload);
		switch (f.h.type) {
		case SBX_MSG_EXEC_FAILED:
			r->failed = TRUE;
			r->err = (gint)sbx_proto_get_u32(p);
			frame_clear(&f);
			return;
		case SBX_MSG_EXEC_STARTED:
			credit = sbx_proto_get_u32(p + 4);
			break;
		case SBX_MSG_CREDIT:
			g_assert_cmpuint(f.h.flags, ==, SBX_STREAM_STDIN);
			credit += sbx_proto_get_u32(p);
			break;
		case SBX_MSG_DATA: {
			g_assert_cmpuint(len, >=, 1);
			g_string_append_len(f.h.flags == SBX_STREAM_STDOUT ? r->out : r->err_out,
					    (const gchar *)p, (gssize)len);
			guint8 c[4];
			sbx_proto_put_u32(c, (guint32)len);
			send_frame(fx, SBX_MSG_CREDIT, f.h.flags, ch, c, 4);
			break;
		}
		case SBX_MSG_EOF:
			r->eofs++;
			break;
		case SBX_MSG_EXIT:
			r->code = (gint32)sbx_proto_get_u32(p);
			r->sig = (gint32)sbx_proto_get_u32(p + 4);
			r->flags = sbx_proto_get_u32(p + 8);
			frame_clear(&f);
			return;
		default:
			g_error("unexpected frame type %u", f.h.type);
		}
		frame_clear(&f);
		if (stdin_data != NULL && !eof_sent) {
			while (credit > 0 && sent < in_len) {
				gsize n = MIN(MIN(credit, in_len - sent), SBX_PROTO_MAX_PAYLOAD);
				send_frame(fx, SBX_MSG_DATA, SBX_STREAM_STDIN, ch,
					   stdin_data + sent, (guint32)n);
				sent += n;
				credit -= n;
			}
			if (sent == in_len) {
				send_frame(fx, SBX_MSG_EOF, SBX_STREAM_STDIN, ch, NULL, 0);
				eof_sent = TRUE;
			}
		}
	}
}

static void
run(Fixture *fx, const gchar *const *argv, guint32 flags, const gchar *stdin_data, Result *r)
{
	guint32 ch = exec_full(fx, argv, NULL, NULL, flags, SBX_PROTO_DEFAULT_WINDOW, 0);
	run_channel(fx, ch, stdin_data, r);
}

static void
expect_error(Fixture *fx, guint32 ch, guint32 code)
{
	Frame f = {0};
	recv_frame(fx, &f);
	g_assert_cmpuint(f.h.type, ==, SBX_MSG_ERROR);
	g_assert_cmpuint(f.h.channel, ==, ch);
	g_assert_cmpuint(sbx_proto_get_u32(frame_data(&f)), ==, code);
	frame_clear(&f);
}

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	const gchar *agent = g_getenv("SBX_AGENT");
	g_assert_nonnull(agent);
	fx->dir = g_dir_make_tmp("sbx-test-agent-XXXXXX", &error);
	g_assert_no_error(error);
	fx->sock_path = g_build_filename(fx->dir, "agent.sock", NULL);
	const gchar *argv[] = {agent, "--listen", fx->sock_path, NULL};
	g_spawn_async(NULL, (gchar **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &fx->pid,
		      &error);
	g_assert_no_error(error);

	/* the socket path appears only once the agent accepts connections */
	for (int i = 0; i < 1000 && !g_file_test(fx->sock_path, G_FILE_TEST_EXISTS); i++)
		g_usleep(10000);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	g_strlcpy(sa.sun_path, fx->sock_path, sizeof(sa.sun_path));
	fx->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(connect(fx->fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	struct timeval tv = {.tv_sec = 30};
	setsockopt(fx->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	fx->in = g_byte_array_new();
	fx->next_ch = 1;
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	int status = 0;
	close(fx->fd);
	kill(fx->pid, SIGTERM);
	g_assert_cmpint(waitpid(fx->pid, &status, 0), ==, fx->pid);
	/* it exits cleanly on SIGTERM and removes its socket */
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
	g_assert_false(g_file_test(fx->sock_path, G_FILE_TEST_EXISTS));
	g_rmdir(fx->dir);
	g_free(fx->sock_path);
	g_free(fx->dir);
	g_byte_array_unref(fx->in);
}

static void
test_handshake(Fixture *fx, gconstpointer data)
{
	guint8 p[12];
	Frame f = {0};

	/* anything before HELLO is refused */
	send_frame(fx, SBX_MSG_PING, 0, 0, "x", 1);
	expect_error(fx, 0, SBX_PROTO_ERR_UNEXPECTED);
	/* no common version */
	sbx_proto_put_u32(p, SBX_PROTO_MAGIC);
	sbx_proto_put_u32(p + 4, 2);
	sbx_proto_put_u32(p + 8, 3);
	send_frame(fx, SBX_MSG_HELLO, 0, 0, p, sizeof(p));
	expect_error(fx, 0, SBX_PROTO_ERR_VERSION);
	/* after an error on channel 0 everything up to a real HELLO is skipped */
	send_frame(fx, SBX_MSG_PING, 0, 0, "x", 1);
	hello(fx);
	send_frame(fx, SBX_MSG_PING, 0, 0, "ping!", 5);
	recv_frame(fx, &f);
	g_assert_cmpuint(f.h.type, ==, SBX_MSG_PONG);
	g_assert_cmpmem(frame_data(&f), 5, "ping!", 5);
	frame_clear(&f);
}

static void
test_bad_magic(Fixture *fx, gconstpointer data)
{
	guint8 p[12];
	sbx_proto_put_u32(p, 0x12345678);
	sbx_proto_put_u32(p + 4, 1);
	sbx_proto_put_u32(p + 8, 1);
	send_frame(fx, SBX_MSG_HELLO, 0, 0, p, sizeof(p));
	expect_error(fx, 0, SBX_PROTO_ERR_MALFORMED);
	hello(fx);
}

static void
test_exec(Fixture *fx, gconstpointer data)
{
	const guint32 pipes = SBX_EXEC_STDOUT_PIPE | SBX_EXEC_STDERR_PIPE;
	Result r;
	hello(fx);

	const gchar *echo[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
	run(fx, echo, pipes, NULL, &r);
	g_assert_false(r.failed);
	g_assert_cmpstr(r.out->str, ==, "out\n");
	g_assert_cmpstr(r.err_out->str, ==, "err\n");
	g_assert_cmpint(r.code, ==, 3);
	g_assert_cmpint(r.sig, ==, 0);
	g_assert_cmpuint(r.eofs, ==, 2);
	result_clear(&r);

	run(fx, echo, SBX_EXEC_STDOUT_PIPE | SBX_EXEC_STDERR_MERGE, NULL, &r);
	g_assert_cmpstr(r.out->str, ==, "out\nerr\n");
	g_assert_cmpuint(r.eofs, ==, 1);
	result_clear(&r);

	const gchar *killme[] = {"sh", "-c", "kill -9 $$", NULL};
	run(fx, killme, pipes, NULL, &r);
	g_assert_cmpint(r.code, ==, -1);
	g_assert_cmpint(r.sig, ==, 9);
	result_clear(&r);

	const gchar *missing[] = {"sbx-no-such-command", NULL};
	run(fx, missing, pipes, NULL, &r);
	g_assert_true(r.failed);
	g_assert_cmpint(r.err, ==, ENOENT);
	result_clear(&r);

	const gchar *envp[] = {"FOO=bar", "HOME=/elsewhere", NULL};
	const gchar *show[] = {"sh", "-c", "echo $FOO $HOME; pwd", NULL};
	guint32 ch = exec_full(fx, show, envp, "/", pipes, 4096, 0);
	run_channel(fx, ch, NULL, &r);
	g_assert_cmpstr(r.out->str, ==, "bar /elsewhere\n/\n");
	result_clear(&r);

	const gchar *cat[] = {"cat", NULL};
	g_autofree gchar *big = g_strnfill(700000, 'z');
	run(fx, cat, pipes | SBX_EXEC_STDIN_PIPE, big, &r);
	g_assert_cmpint(r.code, ==, 0);
	g_assert_cmpuint(r.out->len, ==, 700000);
	g_assert_cmpstr(r.out->str, ==, big);
	result_clear(&r);

	/* SET_USER: as root the child runs as nobody; otherwise setuid fails */
	g_autoptr(GByteArray) a = g_byte_array_new();
	const gchar *ids[] = {"sh", "-c", "echo $(id -u):$(id -g)", NULL};
	put_u32(a, pipes | SBX_EXEC_SET_USER);
	put_u32(a, 4096);
	put_u32(a, 4096);
	put_u32(a, 65534);
	put_u32(a, 65534);
	put_u32(a, 0);
	put_u32(a, 3);
	for (guint i = 0; ids[i] != NULL; i++)
		put_str(a, ids[i]);
	put_u32(a, 0);
	put_str(a, "");
	ch = fx->next_ch++;
	send_frame(fx, SBX_MSG_EXEC, 0, ch, a->data, a->len);
	run_channel(fx, ch, NULL, &r);
	if (getuid() == 0) {
		g_assert_false(r.failed);
		g_assert_cmpstr(r.out->str, ==, "65534:65534\n");
	} else {
		g_assert_true(r.failed);
		g_assert_cmpint(r.err, ==, EPERM);
	}
	result_clear(&r);

	const gchar *sleeper[] = {"sleep", "30", NULL};
	ch = exec_full(fx, sleeper, NULL, NULL, pipes | SBX_EXEC_TIMEOUT, 4096, 200);
	run_channel(fx, ch, NULL, &r);
	g_assert_cmpint(r.sig, ==, SIGKILL);
	g_assert_cmpuint(r.flags, ==, SBX_EXIT_TIMED_OUT);
	result_clear(&r);
}

static void
test_backpressure(Fixture *fx, gconstpointer data)
{
	const gchar *yes[] = {"yes", NULL};
	guint64 seen = 0;
	Frame f = {0};
	hello(fx);

	/* a flooding child with 4 KiB of credit and no more: the agent sends at
	 * most that, and still answers PING */
	guint32 ch = exec_full(fx, yes, NULL, NULL, SBX_EXEC_STDOUT_PIPE, 4096, 0);
	send_frame(fx, SBX_MSG_PING, 0, 0, "p", 1);
	for (;;) {
		recv_frame(fx, &f);
		gboolean pong = f.h.type == SBX_MSG_PONG;
		if (f.h.type == SBX_MSG_DATA)
			seen += g_bytes_get_size(f.payload);
		frame_clear(&f);
		if (pong)
			break;
	}
	g_usleep(100000);
	send_frame(fx, SBX_MSG_PING, 0, 0, "q", 1);
	for (;;) {
		recv_frame(fx, &f);
		gboolean pong = f.h.type == SBX_MSG_PONG;
		if (f.h.type == SBX_MSG_DATA)
			seen += g_bytes_get_size(f.payload);
		frame_clear(&f);
		if (pong)
			break;
	}
	g_assert_cmpuint(seen, <=, 4096);

	guint8 sig[8];
	sbx_proto_put_u32(sig, SIGTERM);
	sbx_proto_put_u32(sig + 4, SBX_SIGNAL_GROUP);
	send_frame(fx, SBX_MSG_SIGNAL, 0, ch, sig, sizeof(sig));
	/* EXIT waits until the pipe is drained, which needs credit */
	guint8 more[4];
	sbx_proto_put_u32(more, 1024 * 1024);
	send_frame(fx, SBX_MSG_CREDIT, SBX_STREAM_STDOUT, ch, more, sizeof(more));
	Result r;
	run_channel(fx, ch, NULL, &r);
	g_assert_cmpint(r.sig, ==, SIGTERM);
	result_clear(&r);
}

static void
test_violations(Fixture *fx, gconstpointer data)
{
	const gchar *sleeper[] = {"sleep", "30", NULL};
	guint8 c[4] = {1, 0, 0, 0};
	Frame f = {0};
	hello(fx);

	/* a frame for a channel that was never opened */
	send_frame(fx, SBX_MSG_CREDIT, SBX_STREAM_STDOUT, 77, c, 4);
	expect_error(fx, 77, SBX_PROTO_ERR_UNKNOWN_CHANNEL);

	/* truncated EXEC */
	send_frame(fx, SBX_MSG_EXEC, 0, 5, c, 4);
	expect_error(fx, 5, SBX_PROTO_ERR_MALFORMED);

	/* EXEC on an open channel drops it */
	guint32 ch = exec_full(fx, sleeper, NULL, NULL, 0, 0, 0);
	recv_frame(fx, &f);
	g_assert_cmpuint(f.h.type, ==, SBX_MSG_EXEC_STARTED);
	frame_clear(&f);
	fx->next_ch = ch;
	exec_full(fx, sleeper, NULL, NULL, 0, 0, 0);
	expect_error(fx, ch, SBX_PROTO_ERR_UNEXPECTED);
	/* the id is free again afterwards */
	fx->next_ch = ch;
	const gchar *truecmd[] = {"true", NULL};
	Result r0;
	run(fx, truecmd, 0, NULL, &r0);
	g_assert_cmpint(r0.code, ==, 0);
	result_clear(&r0);
	fx->next_ch = 100;

	/* stdin beyond the granted credit: nobody reads it, so at most the
	 * window plus one pipe buffer can ever be granted */
	ch = exec_full(fx, sleeper, NULL, NULL, SBX_EXEC_STDIN_PIPE, 0, 0);
	g_autofree gchar *chunk = g_strnfill(SBX_PROTO_MAX_PAYLOAD, 'x');
	for (int i = 0; i < 32; i++)
		send_frame(fx, SBX_MSG_DATA, SBX_STREAM_STDIN, ch, chunk, SBX_PROTO_MAX_PAYLOAD);
	for (;;) {
		recv_frame(fx, &f);
		gboolean err = f.h.type == SBX_MSG_ERROR;
		if (err) {
			g_assert_cmpuint(f.h.channel, ==, ch);
			g_assert_cmpuint(sbx_proto_get_u32(frame_data(&f)), ==,
					 SBX_PROTO_ERR_CREDIT);
		}
		frame_clear(&f);
		if (err)
			break;
	}

	/* garbage on the control channel: ERROR, then only a new HELLO works */
	guint8 junk[64];
	memset(junk, 0xff, sizeof(junk));
	send_raw(fx, junk, sizeof(junk));
	expect_error(fx, 0, SBX_PROTO_ERR_MALFORMED);
	hello(fx);
	const gchar *echo[] = {"echo", "again", NULL};
	Result r;
	guint32 last = fx->next_ch;
	run(fx, echo, SBX_EXEC_STDOUT_PIPE, NULL, &r);
	g_assert_cmpstr(r.out->str, ==, "again\n");
	result_clear(&r);

	/* a CREDIT that crossed the EXIT on the wire is not an error */
	send_frame(fx, SBX_MSG_CREDIT, SBX_STREAM_STDOUT, last, c, 4);
	send_frame(fx, SBX_MSG_PING, 0, 0, "z", 1);
	recv_frame(fx, &f);
	g_assert_cmpuint(f.h.type, ==, SBX_MSG_PONG);
	frame_clear(&f);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	signal(SIGPIPE, SIG_IGN);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
	ADD("/agent/handshake", test_handshake);
	ADD("/agent/bad-magic", test_bad_magic);
	ADD("/agent/exec", test_exec);
	ADD("/agent/backpressure", test_backpressure);
	ADD("/agent/violations", test_violations);
	return g_test_run();
}
