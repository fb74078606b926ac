/* incremental, allocation-bounded decoder of agent protocol frames.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "sbx-protocol.h"

G_BEGIN_DECLS

typedef struct _SbxFrameDecoder SbxFrameDecoder;

/* one complete frame; @payload is only valid during the callback */
typedef struct {
	SbxFrameHeader header;
	const guint8 *payload; /* header.length bytes (NULL when 0) */
} SbxFrame;

/* return FALSE and set @error to stop decoding; the decoder then stays failed */
typedef gboolean (*SbxFrameFunc)(const SbxFrame *frame, gpointer user_data, GError **error);

SbxFrameDecoder *sbx_frame_decoder_new(void);
void sbx_frame_decoder_free(SbxFrameDecoder *self);

/* checks a header on its own (type, channel, length and flags for the type) */
gboolean sbx_frame_decoder_validate_header(const SbxFrameHeader *header, GError **error);

/* consumes all of @data, calling @func for every complete frame; incomplete
 * trailing bytes are kept (at most one frame) until the next call */
gboolean sbx_frame_decoder_feed(SbxFrameDecoder *self, const guint8 *data, gsize len,
				SbxFrameFunc func, gpointer user_data, GError **error);
/* the stream ended: fails if a frame was cut short */
gboolean sbx_frame_decoder_finish(SbxFrameDecoder *self, GError **error);
gboolean sbx_frame_decoder_has_failed(SbxFrameDecoder *self);
/* bytes currently held for an incomplete frame */
gsize sbx_frame_decoder_get_buffered(SbxFrameDecoder *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxFrameDecoder, sbx_frame_decoder_free)

G_END_DECLS
