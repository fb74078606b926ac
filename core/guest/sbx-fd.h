/* non-blocking access to caller-owned fds (pipes, ttys, files, sockets)
 * without changing the caller's open file description.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum {
	SBX_FD_KIND_NONE,   /* no fd */
	SBX_FD_KIND_STREAM, /* pipe, fifo, tty, char device: our own O_NONBLOCK description */
	SBX_FD_KIND_SOCKET, /* a dup; send/recv with MSG_DONTWAIT */
	SBX_FD_KIND_FILE,   /* regular file or block device: a dup, never blocks for long */
} SbxFdKind;

typedef struct {
	gint fd; /* -1 when none */
	SbxFdKind kind;
	gboolean broken; /* a pipe without readers at open time (ENXIO) */
} SbxFd;

/* opens a private non-blocking handle for @fd (borrowed); for pipes and
 * ttys it reopens /proc/self/fd/N so the caller's O_NONBLOCK flag is not
 * touched (falls back to a dup with O_NONBLOCK set when that fails) */
gboolean sbx_fd_open(SbxFd *self, gint fd, gboolean for_write, GError **error);
void sbx_fd_close(SbxFd *self);
/* like read(2)/write(2), never block, never raise SIGPIPE on sockets */
gssize sbx_fd_read(SbxFd *self, guint8 *buf, gsize len);
gssize sbx_fd_write(SbxFd *self, const guint8 *buf, gsize len);
/* ignores SIGPIPE if it has its default action: a write to a pipe whose
 * reader went away must fail with EPIPE, not kill the daemon */
void sbx_fd_ignore_sigpipe(void);

G_END_DECLS
