/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <gio/gio.h>

#include "sbx-egress-http.h"
#include "sbx-egress-secret.h"
#include "sbx-egress-sniff.h"

typedef enum {
	STATE_HEAD,
	STATE_BODY,	  /* @remaining bytes of a Content-Length body */
	STATE_CHUNK_SIZE, /* a chunk-size line */
	STATE_CHUNK_DATA, /* @remaining bytes of a chunk */
	STATE_CHUNK_END,  /* the CRLF after a chunk */
	STATE_TRAILER,	  /* trailer lines up to an empty one */
	STATE_OPAQUE,	  /* after an Upgrade: no longer HTTP */
} State;

struct _SbxEgressHttp {
	gchar *host;
	GPtrArray *secrets;
	State state;
	GString *buf; /* the head or the line being read */
	guint64 remaining;
	guint requests;
	guint replaced;
};

SbxEgressHttp *
sbx_egress_http_new(const gchar *host, GPtrArray *secrets)
{
	SbxEgressHttp *self = g_new0(SbxEgressHttp, 1);

	self->host = g_strdup(host);
	self->secrets = secrets != NULL ? g_ptr_array_ref(secrets) : NULL;
	self->buf = g_string_new(NULL);
	return self;
}

/* the head may have held secret values */
static void
wipe(GString *s)
{
	explicit_bzero(s->str, s->allocated_len);
	g_string_truncate(s, 0);
}

void
sbx_egress_http_free(SbxEgressHttp *self)
{
	if (self == NULL)
		return;
	wipe(self->buf);
	g_string_free(self->buf, TRUE);
	g_free(self->host);
	g_clear_pointer(&self->secrets, g_ptr_array_unref);
	g_free(self);
}

guint
sbx_egress_http_get_requests(SbxEgressHttp *self)
{
	return self->requests;
}

guint
sbx_egress_http_get_replaced(SbxEgressHttp *self)
{
	return self->replaced;
}

static gboolean
fail(GError **error, const gchar *why)
{
	g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, why);
	return FALSE;
}

/* "Name: value" -> the trimmed value when the name is @name */
static gboolean
header_is(const gchar *line, gsize len, const gchar *name, gchar **value)
{
	gsize n = strlen(name);

	if (len <= n || line[n] != ':' || g_ascii_strncasecmp(line, name, n) != 0)
		return FALSE;
	*value = g_strstrip(g_strndup(line + n + 1, len - n - 1));
	return TRUE;
}

/* the framing of one request's body from its header lines */
static gboolean
read_framing(SbxEgressHttp *self, const gchar *headers, gboolean *upgrade, GError **error)
{
	gboolean have_length = FALSE, chunked = FALSE;
	guint64 length = 0;
	const gchar *line = headers;

	*upgrade = FALSE;
	while (*line != '\0') {
		const gchar *end = strstr(line, "\r\n");
		gsize len = end != NULL ? (gsize)(end - line) : strlen(line);
		g_autofree gchar *value = NULL;

		if (header_is(line, len, "Content-Length", &value)) {
			guint64 n = 0;
			if (have_length ||
			    !g_ascii_string_to_unsigned(value, 10, 0, G_MAXINT64, &n, NULL))
				return fail(error, "bad Content-Length");
			have_length = TRUE;
			length = n;
		} else if (header_is(line, len, "Transfer-Encoding", &value)) {
			/* chunked alone: any other coding would hide the framing */
			if (chunked || g_ascii_strcasecmp(value, "chunked") != 0)
				return fail(error, "unsupported Transfer-Encoding");
			chunked = TRUE;
		} else if (header_is(line, len, "Upgrade", &value)) {
			*upgrade = TRUE;
		}
		if (end == NULL)
			break;
		line = end + 2;
	}
	if (have_length && chunked)
		return fail(error, "both Content-Length and Transfer-Encoding");
	if (chunked) {
		self->state = STATE_CHUNK_SIZE;
	} else if (length > 0) {
		self->state = STATE_BODY;
		self->remaining = length;
	} else {
		self->state = STATE_HEAD;
	}
	return TRUE;
}

/* a whole head in self->buf (ending in CRLF CRLF) */
static gboolean
finish_head(SbxEgressHttp *self, GByteArray *out, GError **error)
{
	g_autofree gchar *host = NULL;
	const gchar *eol = strstr(self->buf->str, "\r\n");
	g_autoptr(GString) headers = NULL;
	gboolean upgrade = FALSE;

	if (memchr(self->buf->str, '\0', self->buf->len) != NULL)
		return fail(error, "malformed HTTP request");
	if (sbx_egress_sniff_http((const guint8 *)self->buf->str, self->buf->len, &host) !=
	    SBX_EGRESS_SNIFF_FOUND)
		return fail(error, "no HTTP Host");
	if (!g_str_equal(host, self->host))
		return fail(error, "request for another host on the connection");
	self->requests++;
	/* header lines only: the request line (method, target) is left alone */
	headers = g_string_new_len(eol + 2, self->buf->len - (eol + 2 - self->buf->str));
	if (!read_framing(self, headers->str, &upgrade, error)) {
		wipe(headers);
		return FALSE;
	}
	self->replaced += sbx_egress_secret_substitute(self->secrets, self->host, headers);
	g_byte_array_append(out, (const guint8 *)self->buf->str, eol + 2 - self->buf->str);
	g_byte_array_append(out, (const guint8 *)headers->str, headers->len);
	wipe(headers);
	wipe(self->buf);
	if (upgrade)
		self->state = STATE_OPAQUE;
	return TRUE;
}

/* one line (CRLF) of at most SBX_EGRESS_HTTP_LINE_MAX into self->buf: TRUE
 * with @done once it is whole */
static gboolean
take_line(SbxEgressHttp *self, const guint8 **data, gsize *len, GByteArray *out, gboolean *done,
	  GError **error)
{
	*done = FALSE;
	while (*len > 0 && !*done) {
		guint8 c = **data;
		g_string_append_c(self->buf, c);
		g_byte_array_append(out, &c, 1);
		(*data)++;
		(*len)--;
		if (c == '\n')
			*done = TRUE;
		else if (self->buf->len >= SBX_EGRESS_HTTP_LINE_MAX)
			return fail(error, "chunk line too long");
	}
	if (*done && (self->buf->len < 2 || self->buf->str[self->buf->len - 2] != '\r'))
		return fail(error, "malformed chunk line");
	return TRUE;
}

static gboolean
chunk_size(SbxEgressHttp *self, GError **error)
{
	gsize n = strspn(self->buf->str, "0123456789abcdefABCDEF");
	guint64 size = 0;
	g_autofree gchar *hex = g_strndup(self->buf->str, n);

	/* at most 15 hex digits: no overflow; extensions after ';' are ignored */
	if (n == 0 || n > 15 ||
	    (self->buf->str[n] != ';' && self->buf->str[n] != '\r' && self->buf->str[n] != ' '))
		return fail(error, "bad chunk size");
	size = g_ascii_strtoull(hex, NULL, 16);
	self->remaining = size;
	self->state = size == 0 ? STATE_TRAILER : STATE_CHUNK_DATA;
	return TRUE;
}

gboolean
sbx_egress_http_feed(SbxEgressHttp *self, const guint8 *data, gsize len, GByteArray *out,
		     GError **error)
{
	while (len > 0) {
		gboolean done = FALSE;

		switch (self->state) {
		case STATE_OPAQUE:
			g_byte_array_append(out, data, len);
			return TRUE;
		case STATE_HEAD: {
			const guint8 c = *data;
			g_string_append_c(self->buf, c);
			data++;
			len--;
			if (self->buf->len > SBX_EGRESS_HTTP_HEAD_MAX)
				return fail(error, "HTTP request head too large");
			if (c == '\n' && self->buf->len >= 4 &&
			    memcmp(self->buf->str + self->buf->len - 4, "\r\n\r\n", 4) == 0 &&
			    !finish_head(self, out, error))
				return FALSE;
			break;
		}
		case STATE_BODY:
		case STATE_CHUNK_DATA: {
			gsize n = MIN((guint64)len, self->remaining);
			g_byte_array_append(out, data, n);
			data += n;
			len -= n;
			self->remaining -= n;
			if (self->remaining == 0)
				self->state =
				    self->state == STATE_BODY ? STATE_HEAD : STATE_CHUNK_END;
			break;
		}
		case STATE_CHUNK_SIZE:
		case STATE_CHUNK_END:
		case STATE_TRAILER:
			if (!take_line(self, &data, &len, out, &done, error))
				return FALSE;
			if (!done)
				break;
			if (self->state == STATE_CHUNK_SIZE) {
				if (!chunk_size(self, error))
					return FALSE;
			} else if (self->state == STATE_CHUNK_END) {
				if (self->buf->len != 2)
					return fail(error, "malformed chunk");
				self->state = STATE_CHUNK_SIZE;
			} else if (self->buf->len == 2) {
				self->state = STATE_HEAD;
			}
			g_string_truncate(self->buf, 0);
			break;
		}
	}
	return TRUE;
}
