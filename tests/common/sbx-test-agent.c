/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#include "sbx-test-agent.h"

void
sbx_test_wait_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	SbxTestWait *w = user_data;
	w->done = TRUE;
	w->res = g_object_ref(res);
}

void
sbx_test_wait_done(SbxTestWait *w)
{
	while (!w->done)
		g_main_context_iteration(NULL, TRUE);
}

static gboolean
drain_cb(gint fd, GIOCondition cond, gpointer user_data)
{
	SbxTestDrain *d = user_data;
	guint8 buf[65536];
	gssize n = read(fd, buf, sizeof(buf));
	if (n < 0 && errno == EAGAIN)
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		d->eof = TRUE;
		d->id = 0;
		return G_SOURCE_REMOVE;
	}
	d->len += n;
	if (d->text != NULL)
		g_string_append_len(d->text, (const gchar *)buf, n);
	if (d->sum != NULL)
		g_checksum_update(d->sum, buf, n);
	return G_SOURCE_CONTINUE;
}

/* returns the write end for the exec; the read end is drained here */
gint
sbx_test_drain_start(SbxTestDrain *d, gboolean text)
{
	gint p[2];
	g_assert_true(g_unix_open_pipe(p, FD_CLOEXEC, NULL));
	g_assert_true(g_unix_set_fd_nonblocking(p[0], TRUE, NULL));
	d->fd = p[0];
	d->text = text ? g_string_new(NULL) : NULL;
	d->sum = g_checksum_new(G_CHECKSUM_SHA256);
	d->id = g_unix_fd_add(p[0], G_IO_IN | G_IO_HUP | G_IO_ERR, drain_cb, d);
	return p[1];
}

void
sbx_test_drain_finish(SbxTestDrain *d)
{
	while (!d->eof)
		g_main_context_iteration(NULL, TRUE);
	close(d->fd);
}

void
sbx_test_drain_clear(SbxTestDrain *d)
{
	if (d->text != NULL)
		g_string_free(d->text, TRUE);
	g_checksum_free(d->sum);
}

static gboolean
feed_cb(gint fd, GIOCondition cond, gpointer user_data)
{
	SbxTestFeed *f = user_data;
	gsize len = 0;
	const guint8 *p = g_bytes_get_data(f->data, &len);
	gssize n = write(fd, p + f->off, len - f->off);
	if (n < 0 && errno == EAGAIN)
		return G_SOURCE_CONTINUE;
	/* n < 0: the write failed early and the client closed its end */
	if (n >= 0) {
		f->off += n;
		if (f->off < len)
			return G_SOURCE_CONTINUE;
	}
	close(fd);
	f->fd = -1;
	f->id = 0;
	return G_SOURCE_REMOVE;
}

gint
sbx_test_feed_start(SbxTestFeed *f, GBytes *data)
{
	gint p[2];
	g_assert_true(g_unix_open_pipe(p, FD_CLOEXEC, NULL));
	g_assert_true(g_unix_set_fd_nonblocking(p[1], TRUE, NULL));
	f->fd = p[1];
	f->data = g_bytes_ref(data);
	f->off = 0;
	if (g_bytes_get_size(data) == 0) {
		close(p[1]);
		f->fd = -1;
	} else {
		f->id = g_unix_fd_add(p[1], G_IO_OUT | G_IO_ERR, feed_cb, f);
	}
	return p[0];
}

static void
agent_child_setup(gpointer user_data)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

void
sbx_test_agent_start(SbxTestAgent *fx)
{
	const gchar *agent = g_getenv("SBX_AGENT");
	g_autoptr(GError) error = NULL;
	g_autoptr(GSocketClient) sc = g_socket_client_new();
	g_autoptr(GSocketAddress) addr = NULL;
	g_autoptr(GSocketConnection) conn = NULL;
	g_autoptr(GSubprocessLauncher) launcher =
	    g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);
	SbxTestWait w = {0};

	g_assert_nonnull(agent);
	fx->dir = g_dir_make_tmp("sbx-agent-real-XXXXXX", &error);
	g_assert_no_error(error);
	fx->path = g_build_filename(fx->dir, "agent.sock", NULL);
	/* the agent must not outlive a test that failed an assertion */
	g_subprocess_launcher_set_child_setup(launcher, agent_child_setup, NULL, NULL);
	fx->agent =
	    g_subprocess_launcher_spawn(launcher, &error, agent, "--listen", fx->path, NULL);
	g_assert_no_error(error);
	/* the agent renames the socket into place once it listens */
	for (guint i = 0; !g_file_test(fx->path, G_FILE_TEST_EXISTS); i++) {
		g_assert_cmpuint(i, <, 10000);
		g_usleep(1000);
	}
	addr = g_unix_socket_address_new(fx->path);
	conn = g_socket_client_connect(sc, G_SOCKET_CONNECTABLE(addr), NULL, &error);
	g_assert_no_error(error);
	fx->client = sbx_agent_client_new(G_IO_STREAM(conn), "real");
	sbx_agent_client_handshake_async(fx->client, 10000, NULL, sbx_test_wait_cb, &w);
	sbx_test_wait_done(&w);
	g_assert_true(sbx_agent_client_handshake_finish(fx->client, w.res, &error));
	g_assert_no_error(error);
	g_assert_nonnull(sbx_agent_client_get_agent_version(fx->client));
	g_object_unref(w.res);
}

void
sbx_test_agent_stop(SbxTestAgent *fx)
{
	sbx_agent_client_close(fx->client, NULL);
	while (g_main_context_iteration(NULL, FALSE))
		;
	g_assert_finalize_object(fx->client);
	g_subprocess_send_signal(fx->agent, SIGTERM);
	g_subprocess_wait(fx->agent, NULL, NULL);
	g_object_unref(fx->agent);
	g_unlink(fx->path);
	g_rmdir(fx->dir);
	g_free(fx->path);
	g_free(fx->dir);
}
