/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "sbx-egress-sniff.h"

gchar *
sbx_egress_sniff_normalize_host(const gchar *name, gsize len)
{
	gsize label = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return NULL;
	for (gsize i = 0; i < len; i++) {
		gchar c = name[i];
		if (c == '.') {
			if (label == 0 || name[i - 1] == '-')
				return NULL;
			label = 0;
			continue;
		}
		if (!g_ascii_isalnum(c) && c != '-')
			return NULL;
		if ((c == '-' && label == 0) || ++label > 63)
			return NULL;
	}
	if (name[len - 1] == '-')
		return NULL;
	return g_ascii_strdown(name, len);
}

gboolean
sbx_egress_sniff_is_tls(const guint8 *data, gsize len)
{
	return len >= 1 && data[0] == 0x16;
}

/* a bounds-checked reader over one buffer */
typedef struct {
	const guint8 *p;
	gsize left;
} Reader;

static gboolean
read_skip(Reader *r, gsize n)
{
	if (r->left < n)
		return FALSE;
	r->p += n;
	r->left -= n;
	return TRUE;
}

static gboolean
read_uint(Reader *r, guint bytes, gsize *value)
{
	*value = 0;
	if (r->left < bytes)
		return FALSE;
	for (guint i = 0; i < bytes; i++)
		*value = (*value << 8) | r->p[i];
	return read_skip(r, bytes);
}

/* a vector with a @bytes-long length prefix, as a reader of its own */
static gboolean
read_vector(Reader *r, guint bytes, Reader *sub)
{
	gsize n = 0;

	if (!read_uint(r, bytes, &n) || r->left < n)
		return FALSE;
	sub->p = r->p;
	sub->left = n;
	return read_skip(r, n);
}

static SbxEgressSniff
parse_server_name(Reader ext, gchar **host)
{
	Reader list;

	if (!read_vector(&ext, 2, &list) || ext.left != 0)
		return SBX_EGRESS_SNIFF_INVALID;
	while (list.left > 0) {
		gsize type = 0;
		Reader name;

		if (!read_uint(&list, 1, &type) || !read_vector(&list, 2, &name))
			return SBX_EGRESS_SNIFF_INVALID;
		if (type != 0)
			continue;
		/* a NUL inside the name fails the character check */
		*host = sbx_egress_sniff_normalize_host((const gchar *)name.p, name.left);
		return *host != NULL ? SBX_EGRESS_SNIFF_FOUND : SBX_EGRESS_SNIFF_INVALID;
	}
	return SBX_EGRESS_SNIFF_INVALID;
}

SbxEgressSniff
sbx_egress_sniff_tls(const guint8 *data, gsize len, gchar **host)
{
	Reader r = {data, len};
	Reader hello, skip, exts;
	gsize type = 0, version = 0, record = 0, hs_type = 0, hs_len = 0;

	*host = NULL;
	/* record header: handshake, TLS 1.x, length */
	if (len < 5)
		return len >= 1 && data[0] != 0x16 ? SBX_EGRESS_SNIFF_INVALID
						   : SBX_EGRESS_SNIFF_MORE;
	read_uint(&r, 1, &type);
	read_uint(&r, 2, &version);
	read_uint(&r, 2, &record);
	if (type != 0x16 || (version >> 8) != 3 || record == 0 || record > 16384)
		return SBX_EGRESS_SNIFF_INVALID;
	/* the ClientHello must fit in its first record: we never reassemble */
	if (r.left < record)
		return SBX_EGRESS_SNIFF_MORE;
	r.left = record;
	if (!read_uint(&r, 1, &hs_type) || !read_uint(&r, 3, &hs_len) || hs_type != 1 ||
	    hs_len > r.left)
		return SBX_EGRESS_SNIFF_INVALID;
	hello.p = r.p;
	hello.left = hs_len;
	/* client_version, random, session_id, cipher_suites, compression */
	if (!read_skip(&hello, 2 + 32) || !read_vector(&hello, 1, &skip) ||
	    !read_vector(&hello, 2, &skip) || !read_vector(&hello, 1, &skip))
		return SBX_EGRESS_SNIFF_INVALID;
	if (hello.left == 0 || !read_vector(&hello, 2, &exts) || hello.left != 0)
		return SBX_EGRESS_SNIFF_INVALID;
	while (exts.left > 0) {
		gsize ext_type = 0;
		Reader ext;

		if (!read_uint(&exts, 2, &ext_type) || !read_vector(&exts, 2, &ext))
			return SBX_EGRESS_SNIFF_INVALID;
		if (ext_type == 0)
			return parse_server_name(ext, host);
	}
	return SBX_EGRESS_SNIFF_INVALID;
}

/* "Host: value" (any case, optional whitespace) -> the value, trimmed */
static gboolean
header_value(const gchar *line, gsize len, const gchar *name, const gchar **value, gsize *value_len)
{
	gsize n = strlen(name);

	if (len <= n || g_ascii_strncasecmp(line, name, n) != 0 || line[n] != ':')
		return FALSE;
	line += n + 1;
	len -= n + 1;
	while (len > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	*value = line;
	*value_len = len;
	return TRUE;
}

/* an RFC 9110 token, then ':' */
static gboolean
header_name_is_valid(const gchar *line, gsize len)
{
	for (gsize i = 0; i < len; i++) {
		if (line[i] == ':')
			return i > 0;
		if (!g_ascii_isalnum(line[i]) && strchr("!#$%&'*+-.^_`|~", line[i]) == NULL)
			return FALSE;
	}
	return FALSE;
}

static gboolean
request_line_is_valid(const gchar *line, gsize len)
{
	const gchar *sp1 = memchr(line, ' ', len);
	const gchar *sp2;

	if (sp1 == NULL || sp1 == line)
		return FALSE;
	for (const gchar *c = line; c < sp1; c++) {
		if (!g_ascii_isupper(*c))
			return FALSE;
	}
	/* CONNECT would tunnel anywhere; absolute-form could name a host
	 * other than Host */
	if (sp1 - line == 7 && memcmp(line, "CONNECT", 7) == 0)
		return FALSE;
	sp2 = memchr(sp1 + 1, ' ', len - (sp1 + 1 - line));
	if (sp2 == NULL || (sp1[1] != '/' && !(sp2 == sp1 + 2 && sp1[1] == '*')))
		return FALSE;
	len -= sp2 + 1 - line;
	return len == 8 &&
	       (memcmp(sp2 + 1, "HTTP/1.1", 8) == 0 || memcmp(sp2 + 1, "HTTP/1.0", 8) == 0);
}

SbxEgressSniff
sbx_egress_sniff_http(const guint8 *data, gsize len, gchar **host)
{
	const gchar *text = (const gchar *)data;
	const gchar *value = NULL;
	gsize value_len = 0, pos = 0;
	guint hosts = 0;

	*host = NULL;
	if (len == 0)
		return SBX_EGRESS_SNIFF_MORE;
	if (len > SBX_EGRESS_SNIFF_MAX_HTTP)
		len = SBX_EGRESS_SNIFF_MAX_HTTP;
	for (guint line_no = 0;; line_no++) {
		const gchar *nl = memchr(text + pos, '\n', len - pos);
		gsize line_len;

		if (nl == NULL) {
			/* only printable bytes may be waiting for their line end */
			for (gsize i = pos; i < len; i++) {
				if (text[i] != '\r' && text[i] != '\t' && !g_ascii_isprint(text[i]))
					return SBX_EGRESS_SNIFF_INVALID;
			}
			return len < SBX_EGRESS_SNIFF_MAX_HTTP ? SBX_EGRESS_SNIFF_MORE
							       : SBX_EGRESS_SNIFF_INVALID;
		}
		line_len = nl - (text + pos);
		if (line_len == 0 || text[pos + line_len - 1] != '\r')
			return SBX_EGRESS_SNIFF_INVALID;
		line_len--;
		for (gsize i = 0; i < line_len; i++) {
			if (text[pos + i] != '\t' && !g_ascii_isprint(text[pos + i]))
				return SBX_EGRESS_SNIFF_INVALID;
		}
		if (line_no == 0) {
			if (!request_line_is_valid(text + pos, line_len))
				return SBX_EGRESS_SNIFF_INVALID;
		} else if (line_len == 0) {
			break;
		} else if (text[pos] == ' ' || text[pos] == '\t') {
			/* obsolete line folding: a way to hide a second Host */
			return SBX_EGRESS_SNIFF_INVALID;
		} else if (!header_name_is_valid(text + pos, line_len)) {
			/* "Host :" and friends: servers disagree on what they mean */
			return SBX_EGRESS_SNIFF_INVALID;
		} else if (header_value(text + pos, line_len, "host", &value, &value_len)) {
			hosts++;
		}
		pos += line_len + 2;
	}
	if (hosts != 1 || value_len == 0)
		return SBX_EGRESS_SNIFF_INVALID;
	/* drop ":port"; the destination port is the connection's own */
	for (gsize i = 0; i < value_len; i++) {
		if (value[i] == ':') {
			guint64 port = 0;
			g_autofree gchar *digits = g_strndup(value + i + 1, value_len - i - 1);
			if (!g_ascii_string_to_unsigned(digits, 10, 1, 65535, &port, NULL))
				return SBX_EGRESS_SNIFF_INVALID;
			value_len = i;
			break;
		}
	}
	*host = sbx_egress_sniff_normalize_host(value, value_len);
	return *host != NULL ? SBX_EGRESS_SNIFF_FOUND : SBX_EGRESS_SNIFF_INVALID;
}
