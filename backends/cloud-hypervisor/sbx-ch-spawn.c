/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#include "sbx-ch-spawn.h"

#define SBX_CH_API_FD 3
#define SBX_CH_EVENTS_FD 4

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

GSubprocess *
sbx_ch_spawn(const gchar *binary, const gchar *api_socket, const gchar *log_path, gint *events_fd,
	     GError **error)
{
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autofree gchar *api_arg = g_strdup_printf("fd=%d", SBX_CH_API_FD);
	g_autofree gchar *events_arg = g_strdup_printf("fd=%d", SBX_CH_EVENTS_FD);
	GSubprocess *proc;
	gint pipe_fds[2];
	gint api_fd = listen_unix(api_socket, error);

	if (api_fd < 0)
		return NULL;
	if (!g_unix_open_pipe(pipe_fds, FD_CLOEXEC, error)) {
		close(api_fd);
		return NULL;
	}
	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDERR_MERGE);
	g_subprocess_launcher_set_stdout_file_path(launcher, log_path);
	/* the launcher closes our copies once the child has them */
	g_subprocess_launcher_take_fd(launcher, api_fd, SBX_CH_API_FD);
	g_subprocess_launcher_take_fd(launcher, pipe_fds[1], SBX_CH_EVENTS_FD);
	proc = g_subprocess_launcher_spawn(launcher, error, binary, "--api-socket", api_arg,
					   "--event-monitor", events_arg, NULL);
	if (proc == NULL) {
		close(pipe_fds[0]);
		g_unlink(api_socket);
		g_prefix_error(error, "cannot start %s: ", binary);
		return NULL;
	}
	*events_fd = pipe_fds[0];
	return proc;
}
