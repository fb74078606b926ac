/* unit tests of the secrets parts of proxy/: the per-sandbox CA and its
 * leaves (checked by GIO's TLS backend, as clients check them), placeholder
 * substitution, the per-request HTTP parser on keep-alive connections and
 * hostile input, the ca/secret control lines.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>

#include <gio/gio.h>

#include "sbx-egress-control.h"
#include "sbx-egress-http.h"
#include "sbx-egress-policy.h"
#include "sbx-egress-secret.h"
#include "sbx-netpol-ca.h"

#define PLACEHOLDER "sbx_secret_abcdefghijklmnopqrstuvwxyz012345"
#define VALUE "s3cret-VALUE/+=xyz"

static GTlsCertificateFlags
verify(const gchar *leaf_pem, const gchar *ca_pem, const gchar *host)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GTlsCertificate) leaf = g_tls_certificate_new_from_pem(leaf_pem, -1, &error);
	g_autoptr(GTlsCertificate) ca = g_tls_certificate_new_from_pem(ca_pem, -1, &error);
	g_autoptr(GSocketConnectable) identity = g_network_address_new(host, 443);

	g_assert_no_error(error);
	return g_tls_certificate_verify(leaf, identity, ca);
}

static void
test_ca(void)
{
	const gchar *hosts[] = {"api.example.com", "*.allowed.test", NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxNetpolCa) ca = sbx_netpol_ca_new("sbx-1", hosts, &error);
	g_autoptr(SbxNetpolCa) other = sbx_netpol_ca_new("sbx-2", hosts, &error);
	g_autoptr(SbxNetpolCa) copy = NULL;
	g_autoptr(SbxNetpolCa) mismatch = NULL;
	g_autofree gchar *leaf = NULL;
	g_autofree gchar *leaf2 = NULL;
	g_autofree gchar *outside = NULL;
	g_autoptr(GTlsCertificate) cert = NULL;

	g_assert_no_error(error);
	g_assert_true(g_str_has_prefix(sbx_netpol_ca_get_cert_pem(ca), "-----BEGIN CERTIFICATE"));
	g_assert_true(strstr(sbx_netpol_ca_get_key_pem(ca), "PRIVATE KEY") != NULL);
	leaf = sbx_netpol_ca_issue(ca, "api.example.com", &error);
	g_assert_no_error(error);
	/* a certificate and its key: what a TLS server needs */
	cert = g_tls_certificate_new_from_pem(leaf, -1, &error);
	g_assert_no_error(error);
	g_assert_cmpint(verify(leaf, sbx_netpol_ca_get_cert_pem(ca), "api.example.com"), ==, 0);
	/* another name, another sandbox's CA: refused */
	g_assert_cmpint(verify(leaf, sbx_netpol_ca_get_cert_pem(ca), "evil.example.com") &
			    G_TLS_CERTIFICATE_BAD_IDENTITY,
			!=, 0);
	g_assert_cmpint(verify(leaf, sbx_netpol_ca_get_cert_pem(other), "api.example.com") &
			    G_TLS_CERTIFICATE_UNKNOWN_CA,
			!=, 0);
	/* the CA survives the trip through the control channel */
	copy = sbx_netpol_ca_new_from_pem(sbx_netpol_ca_get_cert_pem(ca),
					  sbx_netpol_ca_get_key_pem(ca), &error);
	g_assert_no_error(error);
	leaf2 = sbx_netpol_ca_issue(copy, "x.allowed.test", &error);
	g_assert_no_error(error);
	g_assert_cmpint(verify(leaf2, sbx_netpol_ca_get_cert_pem(ca), "x.allowed.test"), ==, 0);
	/* name constraints: a leaf for a name outside the secrets' hosts is not
	 * trusted, even signed by the CA */
	outside = sbx_netpol_ca_issue(ca, "bank.example.org", &error);
	g_assert_no_error(error);
	g_assert_cmpint(verify(outside, sbx_netpol_ca_get_cert_pem(ca), "bank.example.org"), !=, 0);
	/* a key that is not the certificate's */
	mismatch = sbx_netpol_ca_new_from_pem(sbx_netpol_ca_get_cert_pem(ca),
					      sbx_netpol_ca_get_key_pem(other), &error);
	g_assert_null(mismatch);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
	g_clear_error(&error);
	g_assert_null(sbx_netpol_ca_new_from_pem("junk", "junk", &error));
	g_assert_nonnull(error);
}

static GPtrArray *
make_secrets(void)
{
	const gchar *hosts[] = {"api.example.com", "*.allowed.test", NULL};
	g_autoptr(GError) error = NULL;
	GPtrArray *secrets = g_ptr_array_new_with_free_func((GDestroyNotify)sbx_egress_secret_free);

	g_ptr_array_add(secrets,
			sbx_egress_secret_new(PLACEHOLDER, VALUE, strlen(VALUE), hosts, &error));
	g_assert_no_error(error);
	return secrets;
}

static void
test_secret(void)
{
	g_autoptr(GPtrArray) secrets = make_secrets();
	const gchar *hosts[] = {"api.example.com", NULL};
	const gchar *bad_hosts[] = {"not a host", NULL};
	g_autoptr(GString) h = g_string_new("Authorization: Bearer " PLACEHOLDER "\r\n"
					    "x-api-key: " PLACEHOLDER "\r\n\r\n");
	g_autoptr(GString) other = g_string_new(h->str);
	g_autoptr(GError) error = NULL;

	g_assert_cmpuint(sbx_egress_secret_substitute(secrets, "api.example.com", h), ==, 2);
	g_assert_cmpstr(h->str, ==,
			"Authorization: Bearer " VALUE "\r\nx-api-key: " VALUE "\r\n\r\n");
	g_assert_cmpuint(sbx_egress_secret_substitute(secrets, "a.b.allowed.test", other), ==, 2);
	g_string_assign(other, "Authorization: " PLACEHOLDER "\r\n");
	/* to any other host the placeholder goes out unchanged */
	g_assert_cmpuint(sbx_egress_secret_substitute(secrets, "allowed.test", other), ==, 0);
	g_assert_cmpuint(sbx_egress_secret_substitute(secrets, "evil.com", other), ==, 0);
	g_assert_cmpstr(other->str, ==, "Authorization: " PLACEHOLDER "\r\n");

	/* bounds; the messages never carry the value */
	g_assert_null(sbx_egress_secret_new("short", VALUE, strlen(VALUE), hosts, &error));
	g_clear_error(&error);
	g_assert_null(sbx_egress_secret_new(PLACEHOLDER, "a\r\nX-Injected: 1", 16, hosts, &error));
	g_assert_null(strstr(error->message, "Injected"));
	g_clear_error(&error);
	g_assert_null(sbx_egress_secret_new(PLACEHOLDER, "", 0, hosts, &error));
	g_clear_error(&error);
	g_assert_null(sbx_egress_secret_new(PLACEHOLDER, VALUE, strlen(VALUE), bad_hosts, &error));
	g_clear_error(&error);
	{
		g_autofree gchar *big = g_strnfill(SBX_EGRESS_SECRET_VALUE_MAX + 1, 'x');
		g_assert_null(sbx_egress_secret_new(PLACEHOLDER, big, strlen(big), hosts, &error));
		g_clear_error(&error);
	}
}

/* feeds @in in pieces of @step bytes; NULL on an error (its message in @why) */
static gchar *
run_http(const gchar *host, GPtrArray *secrets, const gchar *in, gsize step, gchar **why)
{
	g_autoptr(SbxEgressHttp) http = sbx_egress_http_new(host, secrets);
	g_autoptr(GByteArray) out = g_byte_array_new();
	gsize len = strlen(in);

	for (gsize pos = 0; pos < len; pos += step) {
		g_autoptr(GError) error = NULL;
		if (!sbx_egress_http_feed(http, (const guint8 *)in + pos, MIN(step, len - pos), out,
					  &error)) {
			if (why != NULL)
				*why = g_strdup(error->message);
			return NULL;
		}
	}
	g_byte_array_append(out, (const guint8 *)"", 1);
	return g_strdup((const gchar *)out->data);
}

static void
test_http_keepalive(void)
{
	g_autoptr(GPtrArray) secrets = make_secrets();
	/* two requests, the first with a body holding the placeholder (bodies
	 * pass unchanged), the second chunked, then a third */
	const gchar *in =
	    "POST /a HTTP/1.1\r\nHost: api.example.com\r\n"
	    "Authorization: Bearer " PLACEHOLDER "\r\nContent-Length: 43\r\n\r\n" PLACEHOLDER
	    "GET /b HTTP/1.1\r\nHost: api.example.com:443\r\n"
	    "Transfer-Encoding: chunked\r\nx-key: " PLACEHOLDER "\r\n\r\n"
	    "5\r\nhello\r\n0\r\nTrailer: 1\r\n\r\n"
	    "GET /c HTTP/1.1\r\nHost: api.example.com\r\n\r\n";
	const gchar *want =
	    "POST /a HTTP/1.1\r\nHost: api.example.com\r\n"
	    "Authorization: Bearer " VALUE "\r\nContent-Length: 43\r\n\r\n" PLACEHOLDER
	    "GET /b HTTP/1.1\r\nHost: api.example.com:443\r\n"
	    "Transfer-Encoding: chunked\r\nx-key: " VALUE "\r\n\r\n"
	    "5\r\nhello\r\n0\r\nTrailer: 1\r\n\r\n"
	    "GET /c HTTP/1.1\r\nHost: api.example.com\r\n\r\n";
	gsize steps[] = {1, 2, 7, 64, 100000};

	/* the same whatever the pieces the bytes come in */
	for (guint i = 0; i < G_N_ELEMENTS(steps); i++) {
		g_autofree gchar *out = run_http("api.example.com", secrets, in, steps[i], NULL);
		g_assert_cmpstr(out, ==, want);
	}
	/* plain HTTP (no secrets): the placeholder goes out as it is */
	{
		g_autofree gchar *out = run_http("api.example.com", NULL, in, 100000, NULL);
		g_assert_cmpstr(out, ==, in);
	}
}

static void
test_http_hostile(void)
{
	struct {
		const gchar *in;
		const gchar *why;
	} cases[] = {
	    /* a keep-alive connection turning to another name */
	    {"GET / HTTP/1.1\r\nHost: api.example.com\r\n\r\n"
	     "GET / HTTP/1.1\r\nHost: evil.test\r\n\r\n",
	     "another host"},
	    /* the first request already elsewhere, or without a Host */
	    {"GET / HTTP/1.1\r\nHost: evil.test\r\n\r\n", "another host"},
	    {"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", "no HTTP Host"},
	    {"GET / HTTP/1.1\r\nHost: api.example.com\r\nHost: evil.test\r\n\r\n", "no HTTP Host"},
	    /* smuggling: both framings, two lengths, other codings */
	    {"POST / HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 3\r\n"
	     "Transfer-Encoding: chunked\r\n\r\n",
	     "both"},
	    {"POST / HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 3\r\n"
	     "Content-Length: 4\r\n\r\n",
	     "Content-Length"},
	    {"POST / HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: -1\r\n\r\n",
	     "Content-Length"},
	    {"POST / HTTP/1.1\r\nHost: api.example.com\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	     "Transfer-Encoding"},
	    {"POST / HTTP/1.1\r\nHost: api.example.com\r\nTransfer-Encoding: chunked\r\n\r\n"
	     "zz\r\n",
	     "chunk size"},
	    {"POST / HTTP/1.1\r\nHost: api.example.com\r\nTransfer-Encoding: chunked\r\n\r\n"
	     "1\r\nab\r\n",
	     "malformed chunk"},
	    {"POST / HTTP/1.1\r\nHost: api.example.com\r\nTransfer-Encoding: chunked\r\n\r\n"
	     "fffffffffffffffff\r\n",
	     "chunk size"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *why = NULL;
		g_autofree gchar *out = run_http("api.example.com", NULL, cases[i].in, 3, &why);
		if (out != NULL)
			g_error("case %u passed: %s", i, out);
		g_assert_nonnull(strstr(why, cases[i].why));
	}
	/* a head beyond the bound */
	{
		g_autoptr(GString) big =
		    g_string_new("GET / HTTP/1.1\r\nHost: api.example.com\r\n");
		g_autofree gchar *why = NULL;
		g_autofree gchar *out = NULL;
		while (big->len <= SBX_EGRESS_HTTP_HEAD_MAX)
			g_string_append(big, "X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
		g_string_append(big, "\r\n");
		out = run_http("api.example.com", NULL, big->str, 4096, &why);
		g_assert_null(out);
	}
	/* an Upgrade (WebSocket) ends the parsing: frames pass as they are */
	{
		const gchar *in =
		    "GET / HTTP/1.1\r\nHost: api.example.com\r\nUpgrade: websocket\r\n"
		    "Connection: Upgrade\r\n\r\n\x81\x05hello binary \x00 bytes";
		g_autofree gchar *out = run_http("api.example.com", NULL, in, 5, NULL);
		g_assert_cmpstr(out, ==, in);
	}
}

static void
test_control(void)
{
	const gchar *hosts[] = {"allowed.test", NULL};
	const gchar *allow[] = {"allowed.test", "other.test", NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxEgressPolicy) policy = sbx_egress_policy_new();
	g_autoptr(SbxNetpolCa) ca = sbx_netpol_ca_new("sbx-1", hosts, &error);
	g_autofree gchar *cert64 = NULL;
	g_autofree gchar *key64 = NULL;
	g_autofree gchar *value64 = g_base64_encode((const guchar *)VALUE, strlen(VALUE));
	g_autofree gchar *line = NULL;
	g_autofree gchar *set = g_strjoinv(" ", (gchar **)allow);
	const gchar *leaf;

	g_assert_no_error(error);
	cert64 = g_base64_encode((const guchar *)sbx_netpol_ca_get_cert_pem(ca),
				 strlen(sbx_netpol_ca_get_cert_pem(ca)));
	key64 = g_base64_encode((const guchar *)sbx_netpol_ca_get_key_pem(ca),
				strlen(sbx_netpol_ca_get_key_pem(ca)));
	/* set comes first */
	line = g_strdup_printf("ca 10.0.0.5 %s %s", cert64, key64);
	g_assert_false(sbx_egress_control_apply(policy, line, &error));
	g_clear_error(&error);
	g_clear_pointer(&line, g_free);
	line = g_strdup_printf("set 10.0.0.5 sbx-1 %s", set);
	g_assert_true(sbx_egress_control_apply(policy, line, &error));
	g_clear_pointer(&line, g_free);
	line = g_strdup_printf("ca 10.0.0.5 %s %s", cert64, key64);
	g_assert_true(sbx_egress_control_apply(policy, line, &error));
	g_assert_no_error(error);
	g_clear_pointer(&line, g_free);
	/* no secret yet: nothing intercepted */
	g_assert_null(sbx_egress_policy_intercept(policy, "10.0.0.5", "allowed.test", &error));
	line = g_strdup_printf("secret 10.0.0.5 " PLACEHOLDER " %s allowed.test", value64);
	g_assert_true(sbx_egress_control_apply(policy, line, &error));
	g_assert_no_error(error);
	leaf = sbx_egress_policy_intercept(policy, "10.0.0.5", "allowed.test", &error);
	g_assert_no_error(error);
	g_assert_nonnull(leaf);
	g_assert_cmpint(verify(leaf, sbx_netpol_ca_get_cert_pem(ca), "allowed.test"), ==, 0);
	/* made once */
	g_assert_true(leaf ==
		      sbx_egress_policy_intercept(policy, "10.0.0.5", "allowed.test", NULL));
	/* other hosts' TLS passes through */
	g_assert_null(sbx_egress_policy_intercept(policy, "10.0.0.5", "other.test", &error));
	g_assert_no_error(error);
	g_assert_null(sbx_egress_policy_intercept(policy, "10.0.0.6", "allowed.test", &error));
	g_assert_cmpuint(sbx_egress_policy_get_secrets(policy, "10.0.0.5")->len, ==, 1);
	g_clear_pointer(&line, g_free);

	/* bad lines fail without naming the value */
	line = g_strdup_printf("secret 10.0.0.5 " PLACEHOLDER " %s not_a_host!", value64);
	g_assert_false(sbx_egress_control_apply(policy, line, &error));
	g_assert_null(strstr(error->message, VALUE));
	g_clear_error(&error);
	g_clear_pointer(&line, g_free);
	line = g_strdup_printf("secret 10.0.0.5 " PLACEHOLDER " %s allowed.test", "!!!");
	g_assert_false(sbx_egress_control_apply(policy, line, &error));
	g_clear_error(&error);
	g_clear_pointer(&line, g_free);
	/* bounded per sandbox */
	for (guint i = 1; i < SBX_EGRESS_SECRET_MAX; i++) {
		line = g_strdup_printf("secret 10.0.0.5 " PLACEHOLDER " %s allowed.test", value64);
		g_assert_true(sbx_egress_control_apply(policy, line, &error));
		g_clear_pointer(&line, g_free);
	}
	line = g_strdup_printf("secret 10.0.0.5 " PLACEHOLDER " %s allowed.test", value64);
	g_assert_false(sbx_egress_control_apply(policy, line, &error));
	g_clear_error(&error);
	/* forget drops them */
	g_assert_true(sbx_egress_control_apply(policy, "forget 10.0.0.5", &error));
	g_assert_null(sbx_egress_policy_get_secrets(policy, "10.0.0.5"));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/egress/secrets/ca", test_ca);
	g_test_add_func("/egress/secrets/substitute", test_secret);
	g_test_add_func("/egress/secrets/http-keepalive", test_http_keepalive);
	g_test_add_func("/egress/secrets/http-hostile", test_http_hostile);
	g_test_add_func("/egress/secrets/control", test_control);
	return g_test_run();
}
