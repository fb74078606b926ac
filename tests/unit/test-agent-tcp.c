/* TCP_CONNECT: sbx-agent-tcp.c (agent) and the client's connection
 * channel against the real agent in `--listen` mode, whose "guest
 * network" is the host's loopback here.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>

#include "sbx-agent-client.h"
#include "sbx-agent-tcp.h"
#include "sbx-error.h"
#include "sbx-protocol.h"
#include "sbx-test-agent.h"

typedef SbxTestAgent Fixture;

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	sbx_test_agent_start(fx);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	sbx_test_agent_stop(fx);
}

/* a listening socket on 127.0.0.1, its port in *port */
static gint
listen_loopback(guint16 *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	gint fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	g_assert_cmpint(listen(fd, 8), ==, 0);
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* the peer: accepts one connection, sends a greeting, then echoes every
 * byte until EOF, then closes; returns how many bytes it echoed */
static gpointer
echo_thread(gpointer data)
{
	gint lfd = GPOINTER_TO_INT(data);
	gint fd = accept(lfd, NULL, NULL);
	guint8 buf[16384];
	gsize total = 0;
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(write(fd, "hi\n", 3), ==, 3);
	for (;;) {
		gssize n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (gssize off = 0; off < n;) {
			gssize w = write(fd, buf + off, (gsize)(n - off));
			g_assert_cmpint(w, >, 0);
			off += w;
		}
		total += (gsize)n;
	}
	close(fd);
	return GSIZE_TO_POINTER(total);
}

typedef struct {
	gint fd;
	GBytes *data;
} Writer;

/* writes everything, blocking, then sends our FIN */
static gpointer
writer_thread(gpointer data)
{
	Writer *w = data;
	gsize len = 0;
	const guint8 *p = g_bytes_get_data(w->data, &len);
	for (gsize off = 0; off < len;) {
		gssize n = write(w->fd, p + off, len - off);
		if (n < 0 && errno == EAGAIN) {
			/* the reader made the socket non-blocking */
			struct pollfd pfd = {.fd = w->fd, .events = POLLOUT};
			poll(&pfd, 1, -1);
			continue;
		}
		g_assert_cmpint(n, >, 0);
		off += (gsize)n;
	}
	g_assert_cmpint(shutdown(w->fd, SHUT_WR), ==, 0);
	return NULL;
}

typedef struct {
	gboolean connected;
	gboolean done;
	gboolean ok;
	GError *error;
} Conn;

static void
on_started(guint32 pid, gpointer user_data)
{
	Conn *c = user_data;
	g_assert_cmpuint(pid, ==, 0);
	c->connected = TRUE;
}

static void
on_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Conn *c = user_data;
	c->ok = sbx_agent_client_tcp_connect_finish(SBX_AGENT_CLIENT(source), res, &c->error);
	c->done = TRUE;
}

/* reads @fd (non-blocking) to EOF while the main loop runs */
static GByteArray *
read_to_eof(gint fd, Conn *c)
{
	GByteArray *got = g_byte_array_new();
	guint8 buf[65536];
	g_unix_set_fd_nonblocking(fd, TRUE, NULL);
	for (;;) {
		gssize n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			g_byte_array_append(got, buf, (guint)n);
			continue;
		}
		if (n == 0)
			break;
		g_assert_cmpint(errno, ==, EAGAIN);
		g_main_context_iteration(NULL, TRUE);
	}
	while (!c->done)
		g_main_context_iteration(NULL, TRUE);
	return got;
}

static void
test_echo(Fixture *fx, gconstpointer data)
{
	gsize size = GPOINTER_TO_SIZE(data);
	guint16 port = 0;
	gint lfd = listen_loopback(&port);
	gint sv[2];
	Conn c = {0};
	g_autoptr(GThread) peer = NULL;
	g_autoptr(GThread) writer = NULL;
	g_autoptr(GByteArray) got = NULL;
	g_autofree guint8 *payload = g_malloc(size);
	Writer w;

	for (gsize i = 0; i < size; i++)
		payload[i] = (guint8)g_random_int();
	peer = g_thread_new("peer", echo_thread, GINT_TO_POINTER(lfd));
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	sbx_agent_client_tcp_connect_async(fx->client, "127.0.0.1", port, 0, sv[1], on_started, &c,
					   NULL, on_done, &c);
	close(sv[1]);
	while (!c.connected && !c.done)
		g_main_context_iteration(NULL, TRUE);
	g_assert_true(c.connected);

	w.fd = sv[0];
	w.data = g_bytes_new_static(payload, size);
	writer = g_thread_new("writer", writer_thread, &w);
	got = read_to_eof(sv[0], &c);
	g_thread_join(g_steal_pointer(&writer));
	g_bytes_unref(w.data);
	g_assert_cmpuint(GPOINTER_TO_SIZE(g_thread_join(g_steal_pointer(&peer))), ==, size);
	g_assert_no_error(c.error);
	g_assert_true(c.ok);
	/* the greeting, then every byte back, in order */
	g_assert_cmpuint(got->len, ==, size + 3);
	g_assert_cmpmem(got->data, 3, "hi\n", 3);
	g_assert_true(memcmp(got->data + 3, payload, size) == 0);
	close(sv[0]);
	close(lfd);
}

static void
connect_expect_error(Fixture *fx, const gchar *host, guint16 port, guint timeout_ms, gint code)
{
	gint sv[2];
	Conn c = {0};
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	sbx_agent_client_tcp_connect_async(fx->client, host, port, timeout_ms, sv[1], on_started,
					   &c, NULL, on_done, &c);
	close(sv[1]);
	while (!c.done)
		g_main_context_iteration(NULL, TRUE);
	g_assert_false(c.connected);
	g_assert_false(c.ok);
	g_assert_error(c.error, SBX_ERROR, code);
	g_clear_error(&c.error);
	close(sv[0]);
}

static void
test_refused(Fixture *fx, gconstpointer data)
{
	guint16 port = 0;
	gint lfd = listen_loopback(&port);
	/* nobody listens there any more */
	close(lfd);
	connect_expect_error(fx, "127.0.0.1", port, 0, SBX_ERROR_CONNECTION_REFUSED);
	/* names and bad ports are refused before the guest hears of them */
	connect_expect_error(fx, "localhost", 80, 0, SBX_ERROR_INVALID_ARGUMENT);
	connect_expect_error(fx, "127.0.0.1", 0, 0, SBX_ERROR_INVALID_ARGUMENT);
	connect_expect_error(fx, "127.0.0.1", 80, SBX_TCP_MAX_TIMEOUT_MS + 1,
			     SBX_ERROR_INVALID_ARGUMENT);
}

/* the peer resets the connection mid-stream: the channel ends, our end sees EOF */
static gpointer
reset_thread(gpointer data)
{
	gint fd = accept(GPOINTER_TO_INT(data), NULL, NULL);
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(write(fd, "x", 1), ==, 1);
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	return NULL;
}

static void
test_reset(Fixture *fx, gconstpointer data)
{
	guint16 port = 0;
	gint lfd = listen_loopback(&port);
	gint sv[2];
	Conn c = {0};
	g_autoptr(GThread) peer = g_thread_new("peer", reset_thread, GINT_TO_POINTER(lfd));
	g_autoptr(GByteArray) got = NULL;

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	sbx_agent_client_tcp_connect_async(fx->client, "127.0.0.1", port, 0, sv[1], on_started, &c,
					   NULL, on_done, &c);
	close(sv[1]);
	g_thread_join(g_steal_pointer(&peer));
	/* our side never sends EOF: the reset alone must end the channel */
	got = read_to_eof(sv[0], &c);
	g_assert_cmpuint(got->len, <=, 1);
	g_assert_false(c.ok);
	g_assert_error(c.error, SBX_ERROR, SBX_ERROR_FAILED);
	g_clear_error(&c.error);
	close(sv[0]);
	close(lfd);
}

/* hand-made requests the host API would never send: refused on their
 * channel (ERROR MALFORMED, seen as SBX_ERROR_AGENT) or, for a name, with
 * EINVAL; the agent keeps serving */
static void
test_malformed(Fixture *fx, gconstpointer data)
{
	const struct {
		const gchar *bytes;
		gsize len;
		gint code;
	} cases[] = {
	    {"\0\0", 2, SBX_ERROR_AGENT}, /* truncated */
	    /* unknown flag */
	    {"\1\0\0\0\0\0\1\0\0\0\0\0\x50\0\0\0\x09\0\0\0"
	     "127.0.0.1",
	     29, SBX_ERROR_AGENT},
	    /* port 0, then port 65536 */
	    {"\0\0\0\0\0\0\1\0\0\0\0\0\0\0\0\0\x09\0\0\0"
	     "127.0.0.1",
	     29, SBX_ERROR_AGENT},
	    {"\0\0\0\0\0\0\1\0\0\0\0\0\0\0\1\0\x09\0\0\0"
	     "127.0.0.1",
	     29, SBX_ERROR_AGENT},
	    /* host length past the end, a NUL inside, empty */
	    {"\0\0\0\0\0\0\1\0\0\0\0\0\x50\0\0\0\x0a\0\0\0"
	     "127.0.0.1",
	     29, SBX_ERROR_AGENT},
	    {"\0\0\0\0\0\0\1\0\0\0\0\0\x50\0\0\0\x09\0\0\0"
	     "127.0\0.11",
	     29, SBX_ERROR_AGENT},
	    {"\0\0\0\0\0\0\1\0\0\0\0\0\x50\0\0\0\0\0\0\0", 20, SBX_ERROR_AGENT},
	    /* a timeout over the maximum */
	    {"\0\0\0\0\0\0\1\0\0\0\2\0\x50\0\0\0\x09\0\0\0"
	     "127.0.0.1",
	     29, SBX_ERROR_AGENT},
	    /* a name: the agent resolves none */
	    {"\0\0\0\0\0\0\1\0\0\0\0\0\x50\0\0\0\x09\0\0\0localhost", 29,
	     SBX_ERROR_INVALID_ARGUMENT},
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GBytes) payload = g_bytes_new(cases[i].bytes, cases[i].len);
		g_autoptr(GError) error = NULL;
		SbxTestWait w = {0};
		g_test_message("case %u", i);
		sbx_agent_client_fs_stream_async(fx->client, SBX_MSG_TCP_CONNECT, payload, NULL,
						 "127.0.0.1:80", -1, -1, NULL, sbx_test_wait_cb,
						 &w);
		sbx_test_wait_done(&w);
		g_assert_false(sbx_agent_client_fs_stream_finish(fx->client, w.res, &error));
		g_object_unref(w.res);
		g_assert_error(error, SBX_ERROR, cases[i].code);
	}
	/* still serving */
	test_echo(fx, GSIZE_TO_POINTER(10));
}

static void
test_encode(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) b = sbx_agent_tcp_encode_connect("::1", 443, 4096, 500, &error);
	const guint8 *p;
	gsize len = 0;

	g_assert_no_error(error);
	p = g_bytes_get_data(b, &len);
	g_assert_cmpuint(len, ==, 23);
	g_assert_cmpuint(sbx_proto_get_u32(p), ==, 0);
	g_assert_cmpuint(sbx_proto_get_u32(p + 4), ==, 4096);
	g_assert_cmpuint(sbx_proto_get_u32(p + 8), ==, 500);
	g_assert_cmpuint(sbx_proto_get_u32(p + 12), ==, 443);
	g_assert_cmpuint(sbx_proto_get_u32(p + 16), ==, 3);
	g_assert_cmpmem(p + 20, 3, "::1", 3);
	g_assert_null(sbx_agent_tcp_encode_connect("fe80::1%eth0", 1, 1, 0, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_assert_null(sbx_agent_tcp_encode_connect("", 1, 1, 0, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/agent-tcp/encode", test_encode);
#define ADD(path, func, data)                                                                      \
	g_test_add("/agent-tcp/" path, Fixture, data, fixture_setup, func, fixture_teardown)
	ADD("echo-small", test_echo, GSIZE_TO_POINTER(100));
	ADD("echo-4mib", test_echo, GSIZE_TO_POINTER(4 * 1024 * 1024));
	ADD("refused", test_refused, NULL);
	ADD("reset", test_reset, NULL);
	ADD("malformed", test_malformed, NULL);
	return g_test_run();
}
