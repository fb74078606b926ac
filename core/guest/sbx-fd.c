/* non-blocking access to caller-owned fds.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib-unix.h>

#include "sbx-fd.h"
#include "sbx-error.h"

void
sbx_fd_ignore_sigpipe(void)
{
	struct sigaction sa = {0};
	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);
}

static gint
sbx_fd_dup(gint fd, GError **error)
{
	gint nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (nfd < 0) {
		gint saved = errno;
		g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT, "cannot dup fd %d: %s",
			    fd, g_strerror(saved));
	}
	return nfd;
}

gboolean
sbx_fd_open(SbxFd *self, gint fd, gboolean for_write, GError **error)
{
	struct stat st;
	g_autofree gchar *path = NULL;
	gint nfd;

	self->fd = -1;
	self->kind = SBX_FD_KIND_NONE;
	self->broken = FALSE;
	if (fd < 0)
		return TRUE;
	if (fstat(fd, &st) != 0) {
		gint saved = errno;
		g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT, "bad fd %d: %s", fd,
			    g_strerror(saved));
		return FALSE;
	}
	if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) || S_ISDIR(st.st_mode)) {
		self->fd = sbx_fd_dup(fd, error);
		self->kind = SBX_FD_KIND_FILE;
		return self->fd >= 0;
	}
	if (S_ISSOCK(st.st_mode)) {
		self->fd = sbx_fd_dup(fd, error);
		self->kind = SBX_FD_KIND_SOCKET;
		return self->fd >= 0;
	}

	/* pipe, fifo or tty: a new open file description of the same object
	 * gets its own O_NONBLOCK, leaving the caller's end as it was */
	self->kind = SBX_FD_KIND_STREAM;
	path = g_strdup_printf("/proc/self/fd/%d", fd);
	nfd = open(path, (for_write ? O_WRONLY : O_RDONLY) | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (nfd >= 0) {
		self->fd = nfd;
		return TRUE;
	}
	if (errno == ENXIO && for_write && S_ISFIFO(st.st_mode)) {
		/* nobody reads this pipe any more */
		self->broken = TRUE;
		return TRUE;
	}
	g_debug("cannot reopen fd %d (%s), setting O_NONBLOCK on it", fd, g_strerror(errno));
	self->fd = sbx_fd_dup(fd, error);
	if (self->fd < 0)
		return FALSE;
	if (!g_unix_set_fd_nonblocking(self->fd, TRUE, error)) {
		sbx_fd_close(self);
		return FALSE;
	}
	return TRUE;
}

void
sbx_fd_close(SbxFd *self)
{
	if (self->fd >= 0)
		close(self->fd);
	self->fd = -1;
}

gssize
sbx_fd_read(SbxFd *self, guint8 *buf, gsize len)
{
	gssize n;
	do {
		if (self->kind == SBX_FD_KIND_SOCKET)
			n = recv(self->fd, buf, len, MSG_DONTWAIT);
		else
			n = read(self->fd, buf, len);
	} while (n < 0 && errno == EINTR);
	return n;
}

gssize
sbx_fd_write(SbxFd *self, const guint8 *buf, gsize len)
{
	gssize n;
	do {
		if (self->kind == SBX_FD_KIND_SOCKET)
			n = send(self->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		else
			n = write(self->fd, buf, len);
	} while (n < 0 && errno == EINTR);
	return n;
}
