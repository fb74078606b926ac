/* a byte stream from the SDK's $sandbox.stream.* notifications to a guest fd.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "sbx-gw-conn.h"

G_BEGIN_DECLS

/* client -> guest: chunks from enqueue notifications written to a sink fd */
#define SBX_GW_TYPE_IN_STREAM (sbx_gw_in_stream_get_type())
G_DECLARE_FINAL_TYPE(SbxGwInStream, sbx_gw_in_stream, SBX_GW, IN_STREAM, GObject)

SbxGwInStream *sbx_gw_in_stream_new(SbxGwConn *conn, guint64 id);
/* a stream whose whole content is already here (inline writeFile content) */
SbxGwInStream *sbx_gw_in_stream_new_for_bytes(SbxGwConn *conn, GBytes *bytes);
void sbx_gw_in_stream_push(SbxGwInStream *self, GBytes *chunk);
void sbx_gw_in_stream_end(SbxGwInStream *self);
void sbx_gw_in_stream_fail(SbxGwInStream *self, const gchar *message);
/* a request claimed the stream: later claims fail */
gboolean sbx_gw_in_stream_claim(SbxGwInStream *self, GError **error);
/* takes @fd and writes every chunk into it; closes it at the end */
void sbx_gw_in_stream_set_sink(SbxGwInStream *self, gint fd);
/* completes once everything was written and the sink closed, or with the failure */
void sbx_gw_in_stream_wait_async(SbxGwInStream *self, GAsyncReadyCallback callback,
				 gpointer user_data);
gboolean sbx_gw_in_stream_wait_finish(SbxGwInStream *self, GAsyncResult *res, GError **error);

G_END_DECLS
