/* incremental decoder of agent protocol frames: the guest is hostile, so
 * every header is checked before any of its payload is buffered, and at
 * most one frame (header + SBX_PROTO_MAX_PAYLOAD) is ever held.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "sbx-error.h"
#include "sbx-frame-decoder.h"

struct _SbxFrameDecoder {
	guint8 header_buf[SBX_PROTO_HEADER_SIZE];
	gsize header_len;      /* header bytes received so far */
	SbxFrameHeader header; /* valid once header_len == SBX_PROTO_HEADER_SIZE */
	guint8 *payload;       /* header.length bytes, allocated per frame */
	gsize payload_len;     /* payload bytes received so far */
	gboolean failed;
};

SbxFrameDecoder *
sbx_frame_decoder_new(void)
{
	return g_new0(SbxFrameDecoder, 1);
}

void
sbx_frame_decoder_free(SbxFrameDecoder *self)
{
	if (self == NULL)
		return;
	g_free(self->payload);
	g_free(self);
}

static gboolean
sbx_frame_check_stream(const SbxFrameHeader *h, GError **error)
{
	if (h->flags > SBX_STREAM_STDERR) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL, "frame type %u has bad stream %u",
			    h->type, h->flags);
		return FALSE;
	}
	return TRUE;
}

static gboolean
sbx_frame_check_length(const SbxFrameHeader *h, guint32 min, guint32 max, GError **error)
{
	if (h->length < min || h->length > max) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL,
			    "frame type %u has bad length %u (allowed %u-%u)", h->type, h->length,
			    min, max);
		return FALSE;
	}
	return TRUE;
}

gboolean
sbx_frame_decoder_validate_header(const SbxFrameHeader *h, GError **error)
{
	gboolean control = FALSE;
	gboolean stream = FALSE;
	guint32 min = 0;
	guint32 max = SBX_PROTO_MAX_PAYLOAD;

	if (h->length > SBX_PROTO_MAX_PAYLOAD) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL,
			    "frame length %u exceeds the maximum of %u", h->length,
			    SBX_PROTO_MAX_PAYLOAD);
		return FALSE;
	}
	switch (h->type) {
	case SBX_MSG_HELLO:
		control = TRUE;
		min = max = 12;
		break;
	case SBX_MSG_HELLO_REPLY:
		control = TRUE;
		min = 12;
		break;
	case SBX_MSG_PING:
	case SBX_MSG_PONG:
		control = TRUE;
		max = 64;
		break;
	case SBX_MSG_IDENTITY:
		control = TRUE;
		min = 8;
		break;
	case SBX_MSG_IDENTITY_REPLY:
		control = TRUE;
		min = 4;
		max = 4 + 64;
		break;
	case SBX_MSG_EXEC:
		min = 4;
		break;
	case SBX_MSG_EXEC_STARTED:
	case SBX_MSG_SIGNAL:
	case SBX_MSG_RESIZE:
		min = max = 8;
		break;
	case SBX_MSG_EXEC_FAILED:
		min = 4;
		break;
	case SBX_MSG_DATA:
		stream = TRUE;
		min = 1;
		break;
	case SBX_MSG_EOF:
		stream = TRUE;
		max = 0;
		break;
	case SBX_MSG_CREDIT:
		stream = TRUE;
		min = max = 4;
		break;
	case SBX_MSG_EXIT:
		min = max = 12;
		break;
	case SBX_MSG_ERROR:
		min = 4;
		break;
	case SBX_MSG_FS_READ:
	case SBX_MSG_FS_WRITE:
	case SBX_MSG_FS_STAT:
	case SBX_MSG_FS_READDIR:
	case SBX_MSG_FS_MKDIR:
	case SBX_MSG_FS_REMOVE:
	case SBX_MSG_FS_RENAME:
	case SBX_MSG_FS_CHMOD:
	case SBX_MSG_FS_SYMLINK:
	case SBX_MSG_FS_LINK:
	case SBX_MSG_FS_COPY:
	case SBX_MSG_FS_TRUNCATE:
	case SBX_MSG_FS_CHOWN:
	case SBX_MSG_FS_UTIME:
	case SBX_MSG_FS_REALPATH:
	case SBX_MSG_FS_MKTEMP:
		min = 8;
		break;
	case SBX_MSG_FS_FILE_OPEN:
	case SBX_MSG_FS_FILE_SEEK:
	case SBX_MSG_FS_FILE_SYNC:
	case SBX_MSG_FS_FILE_TRUNCATE:
	case SBX_MSG_FS_FILE_LOCK:
	case SBX_MSG_FS_FILE_UTIME:
	case SBX_MSG_FS_FILE_READ:
	case SBX_MSG_FS_UMASK:
	case SBX_MSG_FS_WALK:
	case SBX_MSG_FS_GLOB:
		min = 8;
		break;
	case SBX_MSG_FS_FILE_WRITE:
	case SBX_MSG_FS_FILE_STAT:
	case SBX_MSG_FS_FILE_CLOSE:
		min = 4;
		break;
	case SBX_MSG_FS_VALUE_REPLY:
		min = max = 8;
		break;
	case SBX_MSG_FS_DATA_REPLY:
		break;
	case SBX_MSG_FS_PATH_REPLY:
		min = 1;
		max = SBX_FS_MAX_PATH;
		break;
	case SBX_MSG_FS_OK:
		max = 0;
		break;
	case SBX_MSG_FS_ERROR:
		min = 4;
		max = 4 + SBX_FS_MAX_PATH;
		break;
	case SBX_MSG_FS_STAT_REPLY:
		min = SBX_FS_STAT_FIXED;
		max = SBX_FS_STAT_FIXED + SBX_FS_MAX_PATH;
		break;
	case SBX_MSG_FS_DIRENTS:
		min = 16;
		break;
	default:
		g_set_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL, "unknown frame type %u", h->type);
		return FALSE;
	}

	/* ERROR may travel on any channel */
	if (h->type != SBX_MSG_ERROR) {
		if (control && h->channel != 0) {
			g_set_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL,
				    "frame type %u on process channel %u", h->type, h->channel);
			return FALSE;
		}
		if (!control && h->channel == 0) {
			g_set_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL,
				    "frame type %u on the control channel", h->type);
			return FALSE;
		}
	}
	if (stream) {
		if (!sbx_frame_check_stream(h, error))
			return FALSE;
	} else if (h->flags != 0) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL,
			    "frame type %u has unexpected flags 0x%x", h->type, h->flags);
		return FALSE;
	}
	return sbx_frame_check_length(h, min, max, error);
}

static void
sbx_frame_decoder_reset_frame(SbxFrameDecoder *self)
{
	self->header_len = 0;
	self->payload_len = 0;
	g_clear_pointer(&self->payload, g_free);
}

static gboolean
sbx_frame_decoder_fail(SbxFrameDecoder *self)
{
	self->failed = TRUE;
	sbx_frame_decoder_reset_frame(self);
	return FALSE;
}

gboolean
sbx_frame_decoder_feed(SbxFrameDecoder *self, const guint8 *data, gsize len, SbxFrameFunc func,
		       gpointer user_data, GError **error)
{
	g_return_val_if_fail(self != NULL, FALSE);
	g_return_val_if_fail(data != NULL || len == 0, FALSE);

	if (self->failed) {
		g_set_error_literal(error, SBX_ERROR, SBX_ERROR_PROTOCOL,
				    "the frame decoder already failed");
		return FALSE;
	}
	while (len > 0) {
		SbxFrame frame = {0};

		if (self->header_len < SBX_PROTO_HEADER_SIZE) {
			gsize n = MIN(len, SBX_PROTO_HEADER_SIZE - self->header_len);
			memcpy(self->header_buf + self->header_len, data, n);
			self->header_len += n;
			data += n;
			len -= n;
			if (self->header_len < SBX_PROTO_HEADER_SIZE)
				break;
			sbx_proto_header_decode(self->header_buf, &self->header);
			if (!sbx_frame_decoder_validate_header(&self->header, error))
				return sbx_frame_decoder_fail(self);
			self->payload_len = 0;
		}

		frame.header = self->header;
		if (self->header.length == 0) {
			frame.payload = NULL;
		} else if (self->payload_len == 0 && len >= self->header.length) {
			/* whole payload in this chunk: no copy */
			frame.payload = data;
			data += self->header.length;
			len -= self->header.length;
		} else {
			gsize n;
			if (self->payload == NULL)
				self->payload = g_malloc(self->header.length);
			n = MIN(len, self->header.length - self->payload_len);
			memcpy(self->payload + self->payload_len, data, n);
			self->payload_len += n;
			data += n;
			len -= n;
			if (self->payload_len < self->header.length)
				break;
			frame.payload = self->payload;
		}

		if (!func(&frame, user_data, error)) {
			sbx_frame_decoder_fail(self);
			return FALSE;
		}
		sbx_frame_decoder_reset_frame(self);
	}
	return TRUE;
}

gboolean
sbx_frame_decoder_finish(SbxFrameDecoder *self, GError **error)
{
	g_return_val_if_fail(self != NULL, FALSE);
	if (self->failed) {
		g_set_error_literal(error, SBX_ERROR, SBX_ERROR_PROTOCOL,
				    "the frame decoder already failed");
		return FALSE;
	}
	if (self->header_len > 0) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL,
			    "stream ended inside a frame (%" G_GSIZE_FORMAT " bytes buffered)",
			    sbx_frame_decoder_get_buffered(self));
		return sbx_frame_decoder_fail(self);
	}
	return TRUE;
}

gboolean
sbx_frame_decoder_has_failed(SbxFrameDecoder *self)
{
	return self->failed;
}

gsize
sbx_frame_decoder_get_buffered(SbxFrameDecoder *self)
{
	return self->header_len + self->payload_len;
}
