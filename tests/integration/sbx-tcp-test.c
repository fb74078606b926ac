/* Sandbox1.ConnectTcp on a real VM (the minimal image): a busybox nc echo
 * server in the guest reached through the passed socket, a name resolved by
 * the daemon, connection refused, bad arguments, the per-sandbox bound, and
 * the socket ending when the sandbox is destroyed.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <gio/gunixfdlist.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sbx-test-env.h"
#include "sbx-test-main.h"

#define SANDBOX_IFACE "org.sandboxd.Sandbox1"
#define ECHO_PORT 7000

static gchar *sb_path;

/* ConnectTcp with @fd as the handle 0 */
static gboolean
connect_tcp(const gchar *host, guint16 port, GVariant *options, gint fd, GError **error)
{
	g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
	g_autoptr(GVariant) reply = NULL;

	g_assert_cmpint(g_unix_fd_list_append(fds, fd, NULL), ==, 0);
	reply = g_dbus_connection_call_with_unix_fd_list_sync(
	    sbx_test_env_get()->conn, "org.sandboxd", sb_path, SANDBOX_IFACE, "ConnectTcp",
	    g_variant_new("(sq@a{sv}h)", host, port,
			  options != NULL ? options
					  : g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0),
			  0),
	    G_VARIANT_TYPE_UNIT, G_DBUS_CALL_FLAGS_NONE, 5 * 60 * 1000, fds, NULL, NULL, error);
	return reply != NULL;
}

/* a connected socketpair end (ours) or -1 with @error */
static gint
open_connection(const gchar *host, guint16 port, GError **error)
{
	gint sv[2];
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	if (!connect_tcp(host, port, NULL, sv[1], error)) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	close(sv[1]);
	return sv[0];
}

/* everything until EOF, at most 60 s without progress */
static GByteArray *
read_all(gint fd)
{
	GByteArray *got = g_byte_array_new();
	guint8 buf[65536];
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		gssize n;
		g_assert_cmpint(poll(&p, 1, 60000), ==, 1);
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		g_byte_array_append(got, buf, (guint)n);
	}
	return got;
}

typedef struct {
	gint fd;
	gsize len;
} Writer;

static gpointer
writer_thread(gpointer data)
{
	Writer *w = data;
	g_autofree guint8 *buf = g_malloc(w->len);
	for (gsize i = 0; i < w->len; i++)
		buf[i] = (guint8)(i * 7);
	for (gsize off = 0; off < w->len;) {
		gssize n = write(w->fd, buf + off, w->len - off);
		g_assert_cmpint(n, >, 0);
		off += (gsize)n;
	}
	g_assert_cmpint(shutdown(w->fd, SHUT_WR), ==, 0);
	return NULL;
}

static void
echo_through(const gchar *host, gsize len)
{
	g_autoptr(GError) error = NULL;
	gint fd = open_connection(host, ECHO_PORT, &error);
	Writer w = {fd, len};
	g_autoptr(GThread) writer = NULL;
	g_autoptr(GByteArray) got = NULL;

	g_assert_no_error(error);
	writer = g_thread_new("writer", writer_thread, &w);
	got = read_all(fd);
	g_thread_join(g_steal_pointer(&writer));
	g_assert_cmpuint(got->len, ==, len);
	for (gsize i = 0; i < len; i++) {
		if (got->data[i] != (guint8)(i * 7))
			g_error("byte %" G_GSIZE_FORMAT " differs", i);
	}
	close(fd);
}

static void
test_echo(void)
{
	echo_through("127.0.0.1", 6);
	/* flow control end to end: more than every window on the way */
	echo_through("127.0.0.1", 4 * 1024 * 1024);
	/* a name: resolved by the daemon, the guest connects to its own loopback */
	echo_through("localhost", 1000);
}

static void
test_refused(void)
{
	g_autoptr(GError) error = NULL;
	g_assert_cmpint(open_connection("127.0.0.1", ECHO_PORT + 1, &error), ==, -1);
	sbx_test_assert_remote_error(error, "org.sandboxd.Error.ConnectionRefused",
				     "127.0.0.1:7001");
	g_clear_error(&error);
	g_assert_cmpint(open_connection("no-such-host.invalid", 80, &error), ==, -1);
	sbx_test_assert_remote_error(error, "org.sandboxd.Error.NotFound", "no-such-host.invalid");
}

static void
test_bad_arguments(void)
{
	g_autoptr(GError) error = NULL;
	gint sv[2], pipe_fds[2];

	g_assert_cmpint(open_connection("", ECHO_PORT, &error), ==, -1);
	sbx_test_assert_remote_error(error, "org.sandboxd.Error.InvalidArgument", "");
	g_clear_error(&error);
	g_assert_cmpint(open_connection("127.0.0.1", 0, &error), ==, -1);
	sbx_test_assert_remote_error(error, "org.sandboxd.Error.InvalidArgument", "port");
	g_clear_error(&error);
	g_assert_cmpint(open_connection("bad host\n", 80, &error), ==, -1);
	sbx_test_assert_remote_error(error, "org.sandboxd.Error.InvalidArgument", "");
	g_clear_error(&error);

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	g_assert_false(connect_tcp("127.0.0.1", ECHO_PORT, g_variant_new_parsed("{'bogus': <1>}"),
				   sv[1], &error));
	sbx_test_assert_remote_error(error, "org.sandboxd.Error.InvalidArgument", "bogus");
	g_clear_error(&error);
	g_assert_false(connect_tcp("127.0.0.1", ECHO_PORT,
				   g_variant_new_parsed("{'timeout': <uint32 0>}"), sv[1], &error));
	sbx_test_assert_remote_error(error, "org.sandboxd.Error.InvalidArgument", "timeout");
	g_clear_error(&error);
	close(sv[0]);
	close(sv[1]);

	/* the fd must be a stream socket */
	g_assert_cmpint(pipe(pipe_fds), ==, 0);
	g_assert_false(connect_tcp("127.0.0.1", ECHO_PORT, NULL, pipe_fds[0], &error));
	sbx_test_assert_remote_error(error, "org.sandboxd.Error.InvalidArgument", "socket");
	close(pipe_fds[0]);
	close(pipe_fds[1]);
}

/* at most 64 open connections per sandbox; closing them frees the slots */
static void
test_limit(void)
{
	g_autoptr(GError) error = NULL;
	gint fds[64];
	gint64 deadline;

	for (guint i = 0; i < G_N_ELEMENTS(fds); i++) {
		fds[i] = open_connection("127.0.0.1", ECHO_PORT, &error);
		g_assert_no_error(error);
	}
	g_assert_cmpint(open_connection("127.0.0.1", ECHO_PORT, &error), ==, -1);
	sbx_test_assert_remote_error(error, "org.sandboxd.Error.LimitExceeded", "connections");
	g_clear_error(&error);
	for (guint i = 0; i < G_N_ELEMENTS(fds); i++) {
		g_autoptr(GByteArray) got = NULL;
		g_assert_cmpint(shutdown(fds[i], SHUT_WR), ==, 0);
		got = read_all(fds[i]);
		g_assert_cmpuint(got->len, ==, 0);
		close(fds[i]);
	}
	/* the daemon counts a slot free once the guest reported the end: bounded */
	deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
	for (;;) {
		gint fd = open_connection("127.0.0.1", ECHO_PORT, &error);
		if (fd >= 0) {
			close(fd);
			break;
		}
		if (g_get_monotonic_time() > deadline)
			g_error("no connection slot free 60 s after all were closed: %s",
				error->message);
		g_clear_error(&error);
		g_usleep(200 * 1000);
	}
}

/* the sandbox is destroyed: an open connection's socket ends */
static void
test_sandbox_gone(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GByteArray) got = NULL;
	gint fd = open_connection("127.0.0.1", ECHO_PORT, &error);

	g_assert_no_error(error);
	g_assert_true(sbx_test_kill(NULL, sb_path, &error));
	g_assert_no_error(error);
	got = read_all(fd);
	g_assert_cmpuint(got->len, ==, 0);
	close(fd);
}

int
main(int argc, char **argv)
{
	sbx_test_main_run("tcp", &argc, &argv);
	int rc;

	sb_path = sbx_test_main_create("{'vcpus': <uint32 1>}");
	/* an echo server that forks one cat per connection, detached from the Exec;
	 * it listens once the guest got to it (bounded: 60 s) */
	g_free(sbx_test_sh_ok(sb_path, "busybox nc -ll -p 7000 -e cat </dev/null >/dev/null "
				       "2>&1 & i=0; until busybox netstat -ltn | grep -q ':7000 '; "
				       "do i=$((i + 1)); [ $i -lt 60 ] || exit 1; sleep 1; done"));

	g_test_add_func("/tcp/echo", test_echo);
	g_test_add_func("/tcp/refused", test_refused);
	g_test_add_func("/tcp/bad-arguments", test_bad_arguments);
	g_test_add_func("/tcp/limit", test_limit);
	g_test_add_func("/tcp/sandbox-gone", test_sandbox_gone);
	rc = g_test_run();

	sbx_test_kill(NULL, sb_path, NULL);
	g_free(sb_path);
	return sbx_test_main_end(rc);
}
