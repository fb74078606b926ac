/* a byte stream from a guest fd to the SDK's $sandbox.stream.* notifications.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "sbx-gw-conn.h"

G_BEGIN_DECLS

/* guest -> client: reads @fd, one enqueue per chunk, end at EOF */
#define SBX_GW_TYPE_OUT_STREAM (sbx_gw_out_stream_get_type())
G_DECLARE_FINAL_TYPE(SbxGwOutStream, sbx_gw_out_stream, SBX_GW, OUT_STREAM, GObject)

/* takes @fd; sends $sandbox.stream.start at once, so it precedes every enqueue */
SbxGwOutStream *sbx_gw_out_stream_new(SbxGwConn *conn, gint fd);
guint64 sbx_gw_out_stream_get_id(SbxGwOutStream *self);
/* the fd carries Sandbox1.Walk records (u32 type, u32 length, path): one
 * enqueue per entry, a UTF-8 JSON {path, name, isFile, isDirectory,
 * isSymlink}, as the SDK's walk() and expandGlob() read them */
void sbx_gw_out_stream_set_walk_records(SbxGwOutStream *self);
/* for walk records: how the producer ended (@error NULL: fine). The stream
 * ends once both this and EOF arrived, with $sandbox.stream.error if the
 * walk failed (a missing root, too many entries) */
void sbx_gw_out_stream_set_verdict(SbxGwOutStream *self, const GError *error);
/* starts reading (after the result that names the stream went out) */
void sbx_gw_out_stream_start(SbxGwOutStream *self);
/* the reader cancelled: stop reading, close the fd */
void sbx_gw_out_stream_cancel(SbxGwOutStream *self);
/* completes when the stream ended (its end or error sent) */
void sbx_gw_out_stream_wait_async(SbxGwOutStream *self, GAsyncReadyCallback callback,
				  gpointer user_data);
gboolean sbx_gw_out_stream_wait_finish(SbxGwOutStream *self, GAsyncResult *res);

G_END_DECLS
