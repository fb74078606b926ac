/* egress proxy: the destination name a guest's first bytes ask for, from a
 * TLS ClientHello (SNI) or an HTTP/1.x request (Host). Pure functions over
 * untrusted bytes: bounded, never reading past @len.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* the most a guest may send before we know where it wants to go */
#define SBX_EGRESS_SNIFF_MAX_TLS (5 + 16384)
#define SBX_EGRESS_SNIFF_MAX_HTTP 8192

typedef enum {
	SBX_EGRESS_SNIFF_MORE,	  /* valid so far, send more bytes */
	SBX_EGRESS_SNIFF_FOUND,	  /* @host is set */
	SBX_EGRESS_SNIFF_INVALID, /* not a well-formed request, or no name in it */
} SbxEgressSniff;

/* a TLS record carrying a ClientHello with a server_name (host_name) entry;
 * the name comes back lower-case, validated as a DNS name */
SbxEgressSniff sbx_egress_sniff_tls(const guint8 *data, gsize len, gchar **host);
/* an HTTP/1.x request line and headers with exactly one Host header (origin-
 * form target); the name without its port, lower-case, validated */
SbxEgressSniff sbx_egress_sniff_http(const guint8 *data, gsize len, gchar **host);
/* TRUE when @data starts like a TLS handshake record */
gboolean sbx_egress_sniff_is_tls(const guint8 *data, gsize len);
/* lower-cases and checks a DNS name (RFC 1123 labels, <= 253 bytes, one
 * trailing dot dropped); NULL when it is not one */
gchar *sbx_egress_sniff_normalize_host(const gchar *name, gsize len);

G_END_DECLS
