/* unit tests of proxy/: the SNI and Host parsers on well-formed and hostile
 * input, name matching, the control lines, the DNS query parser.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>

#include "sbx-egress-control.h"
#include "sbx-egress-dns.h"
#include "sbx-egress-policy.h"
#include "sbx-egress-sniff.h"

static void
put16(GByteArray *b, gsize v)
{
	guint8 x[2] = {v >> 8, v & 0xff};
	g_byte_array_append(b, x, 2);
}

static void
put24(GByteArray *b, gsize v)
{
	guint8 x[3] = {v >> 16, (v >> 8) & 0xff, v & 0xff};
	g_byte_array_append(b, x, 3);
}

/* a TLS 1.2-style ClientHello with a supported_groups extension first and
 * then server_name (or none when @sni is NULL) */
static GByteArray *
client_hello(const gchar *sni)
{
	GByteArray *rec = g_byte_array_new();
	g_autoptr(GByteArray) hello = g_byte_array_new();
	g_autoptr(GByteArray) exts = g_byte_array_new();
	guint8 random[32] = {0};
	const guint8 groups[] = {0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x1d};

	put16(hello, 0x0303);
	g_byte_array_append(hello, random, 32);
	g_byte_array_append(hello, (const guint8 *)"\x00", 1);		   /* session id */
	g_byte_array_append(hello, (const guint8 *)"\x00\x02\x13\x01", 4); /* suites */
	g_byte_array_append(hello, (const guint8 *)"\x01\x00", 2);	   /* compression */
	g_byte_array_append(exts, groups, sizeof(groups));
	if (sni != NULL) {
		gsize n = strlen(sni);
		put16(exts, 0);
		put16(exts, n + 5);
		put16(exts, n + 3);
		g_byte_array_append(exts, (const guint8 *)"\x00", 1);
		put16(exts, n);
		g_byte_array_append(exts, (const guint8 *)sni, n);
	}
	put16(hello, exts->len);
	g_byte_array_append(hello, exts->data, exts->len);
	g_byte_array_append(rec, (const guint8 *)"\x16\x03\x01", 3);
	put16(rec, hello->len + 4);
	g_byte_array_append(rec, (const guint8 *)"\x01", 1);
	put24(rec, hello->len);
	g_byte_array_append(rec, hello->data, hello->len);
	return rec;
}

static void
test_sni_found(void)
{
	g_autoptr(GByteArray) rec = client_hello("Allowed.TEST.");
	g_autofree gchar *host = NULL;

	g_assert_cmpint(sbx_egress_sniff_tls(rec->data, rec->len, &host), ==,
			SBX_EGRESS_SNIFF_FOUND);
	g_assert_cmpstr(host, ==, "allowed.test");
}

/* every prefix of a good hello asks for more, never reads past it */
static void
test_sni_truncated(void)
{
	g_autoptr(GByteArray) rec = client_hello("allowed.test");

	for (gsize n = 0; n < rec->len; n++) {
		g_autofree guint8 *copy = g_memdup2(rec->data, n);
		g_autofree gchar *host = NULL;
		g_assert_cmpint(sbx_egress_sniff_tls(copy, n, &host), ==, SBX_EGRESS_SNIFF_MORE);
		g_assert_null(host);
	}
}

static void
test_sni_hostile(void)
{
	g_autoptr(GByteArray) none = client_hello(NULL);
	g_autoptr(GByteArray) bad = client_hello("evil\x01name.test");
	g_autoptr(GByteArray) nul = client_hello("a");
	g_autofree gchar *longname = g_strnfill(300, 'a');
	g_autoptr(GByteArray) big = client_hello(longname);
	g_autoptr(GByteArray) lying = client_hello("allowed.test");
	const guint8 huge_record[] = {0x16, 0x03, 0x01, 0xff, 0xff, 0x01};
	const guint8 not_hello[] = {0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00};
	const guint8 garbage[] = "GET / HTTP/1.1\r\n";
	gchar *host = NULL;

	g_assert_cmpint(sbx_egress_sniff_tls(none->data, none->len, &host), ==,
			SBX_EGRESS_SNIFF_INVALID);
	g_assert_cmpint(sbx_egress_sniff_tls(bad->data, bad->len, &host), ==,
			SBX_EGRESS_SNIFF_INVALID);
	g_assert_cmpint(sbx_egress_sniff_tls(big->data, big->len, &host), ==,
			SBX_EGRESS_SNIFF_INVALID);
	/* the name "a" turned into "\0": a NUL in a name */
	nul->data[nul->len - 1] = 0;
	g_assert_cmpint(sbx_egress_sniff_tls(nul->data, nul->len, &host), ==,
			SBX_EGRESS_SNIFF_INVALID);
	/* an extension length running past the hello */
	lying->data[lying->len - 16] = 0xff;
	g_assert_cmpint(sbx_egress_sniff_tls(lying->data, lying->len, &host), ==,
			SBX_EGRESS_SNIFF_INVALID);
	g_assert_cmpint(sbx_egress_sniff_tls(huge_record, sizeof(huge_record), &host), ==,
			SBX_EGRESS_SNIFF_INVALID);
	g_assert_cmpint(sbx_egress_sniff_tls(not_hello, sizeof(not_hello), &host), ==,
			SBX_EGRESS_SNIFF_INVALID);
	g_assert_cmpint(sbx_egress_sniff_tls(garbage, sizeof(garbage) - 1, &host), ==,
			SBX_EGRESS_SNIFF_INVALID);
	g_assert_null(host);
	/* random bytes: any answer, no crash (ASan/valgrind see the reads) */
	for (guint i = 0; i < 2000; i++) {
		guint8 buf[256];
		gsize n = g_random_int_range(0, sizeof(buf));
		for (gsize j = 0; j < n; j++)
			buf[j] = g_random_int_range(0, 256);
		buf[0] = 0x16;
		if (sbx_egress_sniff_tls(buf, n, &host) == SBX_EGRESS_SNIFF_FOUND)
			g_clear_pointer(&host, g_free);
		g_assert_null(host);
	}
}

static SbxEgressSniff
sniff_http(const gchar *text, gchar **host)
{
	return sbx_egress_sniff_http((const guint8 *)text, strlen(text), host);
}

static void
test_http_host(void)
{
	g_autofree gchar *host = NULL;
	g_autofree gchar *host2 = NULL;
	gchar *none = NULL;

	g_assert_cmpint(sniff_http("GET /x HTTP/1.1\r\nUser-Agent: c\r\nHOST:  Allowed.Test:8080 "
				   "\r\n\r\n",
				   &host),
			==, SBX_EGRESS_SNIFF_FOUND);
	g_assert_cmpstr(host, ==, "allowed.test");
	g_assert_cmpint(sniff_http("OPTIONS * HTTP/1.0\r\nHost: a.test\r\n\r\nbody", &host2), ==,
			SBX_EGRESS_SNIFF_FOUND);
	g_assert_cmpstr(host2, ==, "a.test");
	/* not yet complete */
	g_assert_cmpint(sniff_http("GET / HTTP/1.1\r\nHost: a.test\r\n", &none), ==,
			SBX_EGRESS_SNIFF_MORE);
	g_assert_cmpint(sniff_http("GE", &none), ==, SBX_EGRESS_SNIFF_MORE);
	g_assert_null(none);
}

static void
test_http_hostile(void)
{
	const gchar *bad[] = {
	    "GET / HTTP/1.1\r\n\r\n",					       /* no Host */
	    "GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n",	       /* two */
	    "GET / HTTP/1.1\r\nHost : b.test\r\nHost: a.test\r\n\r\n",	       /* space */
	    "GET / HTTP/1.1\r\nX: y\r\n Host: b.test\r\nHost: a.test\r\n\r\n", /* fold */
	    "GET http://b.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n",	       /* absolute-form */
	    "CONNECT b.test:443 HTTP/1.1\r\nHost: b.test\r\n\r\n",
	    "GET / HTTP/1.1\nHost: a.test\n\n", /* bare LF */
	    "GET / HTTP/2.0\r\nHost: a.test\r\n\r\n",
	    "GET / HTTP/1.1\r\nHost: a.test:99999\r\n\r\n",
	    "GET / HTTP/1.1\r\nHost: a.test:\r\n\r\n",
	    "GET / HTTP/1.1\r\nHost: 1.2.3.4@b.test\r\n\r\n",
	    "GET / HTTP/1.1\r\nHost: \r\n\r\n",
	    "get / HTTP/1.1\r\nHost: a.test\r\n\r\n",
	    "\x16\x03\x01\x00",
	};
	g_autofree gchar *huge = g_strdup_printf("GET /%s", g_strnfill(9000, 'a'));
	gchar *host = NULL;
	const gchar nul[] = "GET / HTTP/1.1\r\nHost: a.test\0b\r\n\r\n";

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_test_message("%u", i);
		g_assert_cmpint(sniff_http(bad[i], &host), ==, SBX_EGRESS_SNIFF_INVALID);
		g_assert_null(host);
	}
	/* no end of headers within the bound */
	g_assert_cmpint(sniff_http(huge, &host), ==, SBX_EGRESS_SNIFF_INVALID);
	g_assert_cmpint(sbx_egress_sniff_http((const guint8 *)nul, sizeof(nul) - 1, &host), ==,
			SBX_EGRESS_SNIFF_INVALID);
	g_assert_null(host);
}

static void
test_policy(void)
{
	g_autoptr(SbxEgressPolicy) policy = sbx_egress_policy_new();
	g_autoptr(GError) error = NULL;
	const gchar *list[] = {"allowed.test", "*.wild.test", "port.test:8443", "10.0.0.1", NULL};

	g_assert_true(sbx_egress_policy_set(policy, "192.168.1.5", "abc", list, &error));
	g_assert_no_error(error);
	g_assert_true(sbx_egress_policy_allows(policy, "192.168.1.5", "allowed.test", 443));
	g_assert_true(sbx_egress_policy_allows(policy, "192.168.1.5", "a.b.wild.test", 80));
	g_assert_false(sbx_egress_policy_allows(policy, "192.168.1.5", "wild.test", 80));
	g_assert_false(sbx_egress_policy_allows(policy, "192.168.1.5", "evilwild.test", 80));
	g_assert_false(sbx_egress_policy_allows(policy, "192.168.1.5", "allowed.test.evil", 80));
	g_assert_true(sbx_egress_policy_allows(policy, "192.168.1.5", "port.test", 8443));
	g_assert_false(sbx_egress_policy_allows(policy, "192.168.1.5", "port.test", 443));
	g_assert_true(sbx_egress_policy_allows(policy, "192.168.1.5", "port.test", 0));
	g_assert_false(sbx_egress_policy_allows(policy, "192.168.1.5", "blocked.test", 0));
	g_assert_false(sbx_egress_policy_allows(policy, "192.168.1.6", "allowed.test", 443));
	/* the control channel: set, forget, garbage */
	g_assert_true(sbx_egress_control_apply(policy, "set 192.168.1.6 def allowed.test", NULL));
	g_assert_true(sbx_egress_policy_allows(policy, "192.168.1.6", "allowed.test", 443));
	g_assert_true(sbx_egress_control_apply(policy, "forget 192.168.1.6", NULL));
	g_assert_false(sbx_egress_policy_allows(policy, "192.168.1.6", "allowed.test", 443));
	g_assert_false(sbx_egress_control_apply(policy, "set nope def allowed.test", NULL));
	g_assert_false(sbx_egress_control_apply(policy, "set 192.168.1.7 x bad_name!", NULL));
	g_assert_false(sbx_egress_control_apply(policy, "frobnicate", NULL));
	g_assert_null(sbx_egress_policy_lookup(policy, "192.168.1.7"));
}

static GByteArray *
dns_query(const gchar *name, guint16 qtype)
{
	GByteArray *q = g_byte_array_new();
	g_auto(GStrv) labels = g_strsplit(name, ".", -1);
	const guint8 header[] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};

	g_byte_array_append(q, header, sizeof(header));
	for (guint i = 0; labels[i] != NULL; i++) {
		guint8 n = strlen(labels[i]);
		g_byte_array_append(q, &n, 1);
		g_byte_array_append(q, (const guint8 *)labels[i], n);
	}
	g_byte_array_append(q, (const guint8 *)"\0", 1);
	put16(q, qtype);
	put16(q, 1);
	return q;
}

static void
test_dns(void)
{
	g_autoptr(GByteArray) q = dns_query("Allowed.test", 1);
	g_autoptr(SbxEgressDnsQuery) query = sbx_egress_dns_parse_query(q->data, q->len);
	g_autoptr(GInetAddress) addr = g_inet_address_new_from_string("10.1.2.3");
	GList *addresses = g_list_prepend(NULL, addr);
	g_autoptr(GBytes) answer = NULL;
	g_autoptr(GBytes) refused = NULL;
	const guint8 *a;
	gsize len = 0;

	g_assert_nonnull(query);
	g_assert_cmpstr(query->name, ==, "allowed.test");
	g_assert_cmpuint(query->qtype, ==, 1);
	answer = sbx_egress_dns_build_answer(query, 0, addresses);
	a = g_bytes_get_data(answer, &len);
	g_assert_cmpuint(len, ==, q->len + 16);
	g_assert_cmpuint(a[0], ==, 0x12);
	g_assert_cmpuint(a[2] & 0x80, ==, 0x80);
	g_assert_cmpuint(a[7], ==, 1);
	g_assert_cmpmem(a + len - 4, 4, "\x0a\x01\x02\x03", 4);
	refused = sbx_egress_dns_build_answer(query, SBX_EGRESS_DNS_RCODE_REFUSED, addresses);
	a = g_bytes_get_data(refused, &len);
	g_assert_cmpuint(a[3] & 0x0f, ==, 5);
	g_assert_cmpuint(a[7], ==, 0);
	g_list_free(addresses);

	/* hostile: truncated, a pointer, a response, an overlong label */
	for (gsize n = 0; n < q->len; n++)
		g_assert_null(sbx_egress_dns_parse_query(q->data, n));
	q->data[12] = 0xc0;
	g_assert_null(sbx_egress_dns_parse_query(q->data, q->len));
	q->data[12] = 7;
	q->data[2] |= 0x80;
	g_assert_null(sbx_egress_dns_parse_query(q->data, q->len));
	q->data[2] &= 0x7f;
	q->data[12] = 64;
	g_assert_null(sbx_egress_dns_parse_query(q->data, q->len));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/egress/sni/found", test_sni_found);
	g_test_add_func("/egress/sni/truncated", test_sni_truncated);
	g_test_add_func("/egress/sni/hostile", test_sni_hostile);
	g_test_add_func("/egress/http/host", test_http_host);
	g_test_add_func("/egress/http/hostile", test_http_hostile);
	g_test_add_func("/egress/policy", test_policy);
	g_test_add_func("/egress/dns", test_dns);
	return g_test_run();
}
