/* a caller's fd that the daemon writes a stream of bytes into without ever
 * blocking: bytes are queued (bounded) and written when the fd takes them.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* what one sink may hold before it is dropped as too slow */
#define SBX_FD_SINK_MAX_PENDING (4 * 1024 * 1024)

typedef struct _SbxFdSink SbxFdSink;
typedef void (*SbxFdSinkFunc)(SbxFdSink *sink, gpointer user_data);

/* @fd is borrowed: the sink opens a private non-blocking handle */
SbxFdSink *sbx_fd_sink_new(gint fd, GError **error);
/* queues @data; FALSE once the reader went away or fell too far behind
 * (the sink is then broken and drops everything) */
gboolean sbx_fd_sink_write(SbxFdSink *self, const void *data, gsize len);
gsize sbx_fd_sink_get_pending(SbxFdSink *self);
gboolean sbx_fd_sink_is_broken(SbxFdSink *self);
/* @func runs whenever the queue becomes empty (and once when broken) */
void sbx_fd_sink_set_drained_func(SbxFdSink *self, SbxFdSinkFunc func, gpointer user_data);
void sbx_fd_sink_free(SbxFdSink *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxFdSink, sbx_fd_sink_free)

G_END_DECLS
