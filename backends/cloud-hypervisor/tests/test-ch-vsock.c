/* the hybrid vsock handshake against a unix-socket peer that answers as
 * Cloud Hypervisor's muxer does: OK, close (refused), silence (timeout),
 * garbage
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "sbx-ch-vsock.h"

typedef enum {
	PEER_OK,
	PEER_CLOSE,
	PEER_SILENT,
	PEER_GARBAGE,
	PEER_ENDLESS,
} PeerMode;

typedef struct {
	gchar *dir;
	gchar *path;
	gint listen_fd;
	PeerMode mode;
	GThread *thread;
	gchar command[64];
	gchar after[64]; /* what the host wrote once connected */
	GAsyncResult *res;
} Fixture;

static gpointer
peer_thread(gpointer data)
{
	Fixture *f = data;
	gint fd = accept(f->listen_fd, NULL, NULL);
	gsize n = 0;
	gchar c;

	g_assert_cmpint(fd, >=, 0);
	/* the muxer reads the command byte by byte up to the newline */
	while (n < sizeof(f->command) - 1 && read(fd, &c, 1) == 1) {
		f->command[n++] = c;
		if (c == '\n')
			break;
	}
	switch (f->mode) {
	case PEER_OK: {
		/* the first guest bytes may come in the same segment as OK */
		const gchar *answer = "OK 1073741824\nhello";
		gssize r;
		g_assert_cmpint(write(fd, answer, strlen(answer)), ==, (gssize)strlen(answer));
		r = read(fd, f->after, sizeof(f->after) - 1);
		g_assert_cmpint(r, >, 0);
		break;
	}
	case PEER_CLOSE:
		break;
	case PEER_SILENT:
		/* until the host gives up */
		while (read(fd, &c, 1) > 0)
			;
		break;
	case PEER_GARBAGE:
		g_assert_cmpint(write(fd, "ERR refused\n", 12), ==, 12);
		break;
	case PEER_ENDLESS: {
		gchar junk[64];
		memset(junk, 'O', sizeof(junk));
		g_assert_cmpint(write(fd, junk, sizeof(junk)), ==, (gssize)sizeof(junk));
		while (read(fd, &c, 1) > 0)
			;
		break;
	}
	}
	close(fd);
	return NULL;
}

static void
setup(Fixture *f, gconstpointer data)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	g_autoptr(GError) error = NULL;

	f->mode = GPOINTER_TO_INT(data);
	f->dir = g_dir_make_tmp("sbx-ch-vsock-XXXXXX", &error);
	g_assert_no_error(error);
	f->path = g_build_filename(f->dir, "vsock.sock", NULL);
	g_strlcpy(sa.sun_path, f->path, sizeof(sa.sun_path));
	f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(bind(f->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	g_assert_cmpint(listen(f->listen_fd, 4), ==, 0);
	f->thread = g_thread_new("peer", peer_thread, f);
}

static void
teardown(Fixture *f, gconstpointer data)
{
	if (f->thread != NULL)
		g_thread_join(f->thread);
	close(f->listen_fd);
	g_unlink(f->path);
	g_rmdir(f->dir);
	g_free(f->path);
	g_free(f->dir);
}

static void
on_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Fixture *f = user_data;
	f->res = g_object_ref(res);
}

static GIOStream *
connect_port(Fixture *f, guint port, guint timeout_ms, GCancellable *cancellable, GError **error)
{
	g_autoptr(GAsyncResult) res = NULL;
	sbx_ch_vsock_connect_async(f->path, port, timeout_ms, cancellable, on_done, f);
	while (f->res == NULL)
		g_main_context_iteration(NULL, TRUE);
	res = g_steal_pointer(&f->res);
	return sbx_ch_vsock_connect_finish(res, error);
}

static void
test_ok(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GIOStream) stream = connect_port(f, 1024, 2000, NULL, &error);
	gchar buf[16] = {0};
	gsize n = 0;

	g_assert_no_error(error);
	g_assert_cmpstr(f->command, ==, "CONNECT 1024\n");
	/* the bytes after "OK n\n" are the guest's, not swallowed by the handshake */
	g_assert_true(g_input_stream_read_all(g_io_stream_get_input_stream(stream), buf, 5, &n,
					      NULL, &error));
	g_assert_cmpstr(buf, ==, "hello");
	g_assert_true(g_output_stream_write_all(g_io_stream_get_output_stream(stream), "ping", 4,
						NULL, NULL, &error));
	g_thread_join(g_steal_pointer(&f->thread));
	g_assert_cmpstr(f->after, ==, "ping");
}

static void
test_refused(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GIOStream) stream = connect_port(f, 52, 2000, NULL, &error);

	g_assert_null(stream);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
	g_assert_nonnull(strstr(error->message, "vsock port 52"));
	g_assert_cmpstr(f->command, ==, "CONNECT 52\n");
}

static void
test_timeout(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GIOStream) stream = connect_port(f, 1024, 200, NULL, &error);

	g_assert_null(stream);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
}

static void
test_garbage(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GIOStream) stream = connect_port(f, 1024, 2000, NULL, &error);

	g_assert_null(stream);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
	g_assert_nonnull(strstr(error->message, "\"ERR refused\""));
}

/* a peer that never ends its line cannot make the host buffer without bound */
static void
test_endless(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GIOStream) stream = connect_port(f, 1024, 2000, NULL, &error);

	g_assert_null(stream);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
	g_assert_nonnull(strstr(error->message, "longer than 32 bytes"));
}

static gboolean
cancel_cb(gpointer data)
{
	g_cancellable_cancel(data);
	return G_SOURCE_REMOVE;
}

static void
test_cancelled(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GCancellable) cancellable = g_cancellable_new();
	g_autoptr(GIOStream) stream = NULL;

	g_timeout_add(100, cancel_cb, cancellable);
	stream = connect_port(f, 1024, 5000, cancellable, &error);
	g_assert_null(stream);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
test_no_socket(void)
{
	Fixture f = {0};
	g_autoptr(GError) error = NULL;
	g_autoptr(GIOStream) stream = NULL;

	f.path = g_strdup("/nonexistent/sbx-vsock.sock");
	stream = connect_port(&f, 1024, 2000, NULL, &error);
	g_assert_null(stream);
	g_assert_nonnull(error);
	g_assert_nonnull(strstr(error->message, "/nonexistent/sbx-vsock.sock"));
	g_free(f.path);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/ch-vsock/ok", Fixture, GINT_TO_POINTER(PEER_OK), setup, test_ok, teardown);
	g_test_add("/ch-vsock/refused", Fixture, GINT_TO_POINTER(PEER_CLOSE), setup, test_refused,
		   teardown);
	g_test_add("/ch-vsock/timeout", Fixture, GINT_TO_POINTER(PEER_SILENT), setup, test_timeout,
		   teardown);
	g_test_add("/ch-vsock/garbage", Fixture, GINT_TO_POINTER(PEER_GARBAGE), setup, test_garbage,
		   teardown);
	g_test_add("/ch-vsock/endless", Fixture, GINT_TO_POINTER(PEER_ENDLESS), setup, test_endless,
		   teardown);
	g_test_add("/ch-vsock/cancelled", Fixture, GINT_TO_POINTER(PEER_SILENT), setup,
		   test_cancelled, teardown);
	g_test_add_func("/ch-vsock/no-socket", test_no_socket);
	return g_test_run();
}
