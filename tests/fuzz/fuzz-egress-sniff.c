/* libFuzzer target: the egress proxy's first-bytes parsers (TLS ClientHello
 * SNI, HTTP Host), its per-request HTTP parser (with a secret to substitute)
 * and its DNS query parser, fed arbitrary guest bytes.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>

#include "sbx-egress-dns.h"
#include "sbx-egress-http.h"
#include "sbx-egress-secret.h"
#include "sbx-egress-sniff.h"

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

static void
check_host(SbxEgressSniff sniff, gchar *host)
{
	/* a name comes back only with FOUND, and it is a valid one */
	if (sniff != SBX_EGRESS_SNIFF_FOUND) {
		g_assert_null(host);
		return;
	}
	g_assert_nonnull(host);
	g_assert_true(strlen(host) > 0 && strlen(host) <= 253);
	for (const gchar *c = host; *c != '\0'; c++)
		g_assert_true(g_ascii_islower(*c) || g_ascii_isdigit(*c) || *c == '-' || *c == '.');
	g_free(host);
}

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
	/* on a copy of exactly @size bytes, so ASan sees any read past it */
	g_autofree guint8 *copy = g_memdup2(data, size);
	gchar *host = NULL;
	SbxEgressDnsQuery *query;

	SbxEgressSniff sniff;

	sniff = sbx_egress_sniff_tls(copy, size, &host);
	check_host(sniff, g_steal_pointer(&host));
	sniff = sbx_egress_sniff_http(copy, size, &host);
	check_host(sniff, g_steal_pointer(&host));
	query = sbx_egress_dns_parse_query(copy, size);
	if (query != NULL) {
		GBytes *answer = sbx_egress_dns_build_answer(query, 0, NULL);
		g_assert_cmpuint(g_bytes_get_size(answer), <=, SBX_EGRESS_DNS_MAX + 12);
		g_bytes_unref(answer);
	}
	sbx_egress_dns_query_free(query);
	/* the request parser, fed in two pieces: bounded output, no crash */
	if (size > 0) {
		static GPtrArray *secrets = NULL;
		const gchar *hosts[] = {"a.test", NULL};
		SbxEgressHttp *http;
		GByteArray *out = g_byte_array_new();
		gsize half = size / 2;

		if (secrets == NULL) {
			secrets = g_ptr_array_new();
			g_ptr_array_add(secrets,
					sbx_egress_secret_new("sbx_secret_0123456789abcdef",
							      "VALUE", 5, hosts, NULL));
		}
		http = sbx_egress_http_new("a.test", secrets);
		if (sbx_egress_http_feed(http, copy, half, out, NULL))
			sbx_egress_http_feed(http, copy + half, size - half, out, NULL);
		g_assert_cmpuint(out->len, <=, size * 8 + 64);
		sbx_egress_http_free(http);
		g_byte_array_unref(out);
	}
	return 0;
}
