/* the valve under the WebSocket reader: shut, nothing is read and its sources stay
 * quiet while bytes wait in the socket; open, they flow again.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>
#include <sys/socket.h>

#include "sbx-gw-valve.h"

static gboolean
on_readable(GObject *stream, gpointer data)
{
	(*(guint *)data)++;
	return G_SOURCE_CONTINUE;
}

static void
iterate(void)
{
	for (guint i = 0; i < 20; i++)
		g_main_context_iteration(NULL, FALSE);
}

static void
test_valve_pause(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GSocket) a = NULL;
	g_autoptr(GSocket) b = NULL;
	g_autoptr(GSocketConnection) conn = NULL;
	g_autoptr(SbxGwValve) valve = NULL;
	g_autoptr(GSource) source = NULL;
	GPollableInputStream *in;
	gint fds[2];
	guint fired = 0;
	gchar buf[16];
	gssize n;

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), ==, 0);
	a = g_socket_new_from_fd(fds[0], &error);
	g_assert_no_error(error);
	b = g_socket_new_from_fd(fds[1], &error);
	g_assert_no_error(error);
	conn = g_socket_connection_factory_create_connection(a);
	valve = sbx_gw_valve_new(G_IO_STREAM(conn));
	in = G_POLLABLE_INPUT_STREAM(g_io_stream_get_input_stream(G_IO_STREAM(valve)));
	g_assert_true(g_pollable_input_stream_can_poll(in));
	source = g_pollable_input_stream_create_source(in, NULL);
	g_source_set_callback(source, G_SOURCE_FUNC(on_readable), &fired, NULL);
	g_source_attach(source, NULL);

	/* shut: bytes wait, the source stays quiet, reads would block */
	sbx_gw_valve_set_open(valve, FALSE);
	g_assert_cmpint(g_socket_send(b, "hello", 5, NULL, &error), ==, 5);
	iterate();
	g_assert_cmpuint(fired, ==, 0);
	g_assert_false(g_pollable_input_stream_is_readable(in));
	n = g_pollable_input_stream_read_nonblocking(in, buf, sizeof(buf), NULL, &error);
	g_assert_cmpint(n, ==, -1);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
	g_clear_error(&error);

	/* open: the same source fires and the bytes are there */
	sbx_gw_valve_set_open(valve, TRUE);
	iterate();
	g_assert_cmpuint(fired, >, 0);
	n = g_pollable_input_stream_read_nonblocking(in, buf, sizeof(buf), NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpint(n, ==, 5);
	g_assert_cmpmem(buf, 5, "hello", 5);

	/* shut again after it fired: quiet again */
	sbx_gw_valve_set_open(valve, FALSE);
	g_assert_cmpint(g_socket_send(b, "again", 5, NULL, &error), ==, 5);
	fired = 0;
	iterate();
	g_assert_cmpuint(fired, ==, 0);
	sbx_gw_valve_set_open(valve, TRUE);
	iterate();
	g_assert_cmpuint(fired, >, 0);

	/* closing the valve closes the connection under it */
	g_source_destroy(source);
	g_assert_true(g_io_stream_close(G_IO_STREAM(valve), NULL, &error));
	g_assert_no_error(error);
	g_assert_true(g_socket_is_closed(a));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/gateway/valve/pause", test_valve_pause);
	return g_test_run();
}
