/* a detached process's output stream: read from a pipe the agent client
 * writes, kept in a ring buffer (the last SBX_PROCESS_RING_MAX bytes) and
 * copied to the current sink (the spawning client's fd, later an Attach
 * fd). A sink that fails is dropped; the process never blocks on it except
 * while a live sink is slow (then the pipe throttles the guest).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _SbxOutputRelay SbxOutputRelay;

/* @sink_fd is taken (-1: none); *write_fd gets the pipe's write end */
SbxOutputRelay *sbx_output_relay_new(gint sink_fd, gsize ring_max, gint *write_fd, GError **error);
/* replays the ring into @sink_fd (taken), then streams live output to it;
 * closes it at the end of the stream; replaces the previous sink */
gboolean sbx_output_relay_attach(SbxOutputRelay *self, gint sink_fd, GError **error);
void sbx_output_relay_free(SbxOutputRelay *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxOutputRelay, sbx_output_relay_free)

G_END_DECLS
