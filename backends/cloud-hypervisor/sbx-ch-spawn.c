/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#include "sbx-ch-spawn.h"

static gint
listen_unix(const gchar *path, GError **error)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	gint fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FILENAME_TOO_LONG,
			    "socket path too long: %s", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* a stale socket from a crashed VMM: bind() would fail (<= v52) */
	g_unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		gint errsv = errno;
		if (fd >= 0)
			close(fd);
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv),
			    "cannot listen on %s: %s", path, g_strerror(errsv));
		return -1;
	}
	return fd;
}

/* the VMM writes its own log as the jailed user */
static gboolean
make_log(SbxJail *jail, const gchar *path, GError **error)
{
	gint fd = g_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0) {
		gint errsv = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "%s: %s", path,
			    g_strerror(errsv));
		return FALSE;
	}
	close(fd);
	return sbx_jail_chown(jail, path, error);
}

gboolean
sbx_ch_spawn(SbxJail *jail, const gchar *id, const gchar *binary, const gchar *api_socket,
	     const gchar *log_path, guint64 memory_max, guint vcpus, GPid *pid, gint *events_fd,
	     GError **error)
{
	g_autofree gchar *api_arg = NULL;
	g_autofree gchar *events_arg = NULL;
	const gchar *argv[10];
	gint pipe_fds[2];
	gint fds[2];
	gint api_fd;
	gboolean ok;

	if (!make_log(jail, log_path, error))
		return FALSE;
	api_fd = listen_unix(api_socket, error);
	if (api_fd < 0)
		return FALSE;
	if (!g_unix_open_pipe(pipe_fds, FD_CLOEXEC, error)) {
		close(api_fd);
		return FALSE;
	}
	/* the jail keeps exactly these fds, under their own numbers */
	fds[0] = api_fd;
	fds[1] = pipe_fds[1];
	api_arg = g_strdup_printf("fd=%d", api_fd);
	events_arg = g_strdup_printf("fd=%d", pipe_fds[1]);
	argv[0] = binary;
	argv[1] = "--api-socket";
	argv[2] = api_arg;
	argv[3] = "--event-monitor";
	argv[4] = events_arg;
	argv[5] = "--log-file";
	argv[6] = log_path;
	argv[7] = NULL;
	ok = sbx_jail_spawn(jail, id, argv, fds, G_N_ELEMENTS(fds), memory_max, vcpus, pid, error);
	close(api_fd);
	close(pipe_fds[1]);
	if (!ok) {
		close(pipe_fds[0]);
		g_unlink(api_socket);
		g_prefix_error(error, "cannot start %s: ", binary);
		return FALSE;
	}
	*events_fd = pipe_fds[0];
	return TRUE;
}
