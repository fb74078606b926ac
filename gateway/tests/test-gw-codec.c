/* unit tests of what the gateway decodes from network clients: sandbox ids, JSON-RPC
 * frames, the sandbox config header, error mapping.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>

#include "sbx-gw-error.h"
#include "sbx-gw-id.h"
#include "sbx-gw-limits.h"
#include "sbx-gw-rpc.h"
#include "sbx-gw-sandbox-config.h"

static void
test_id_roundtrip(void)
{
	static const gchar alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	g_autoptr(GRegex) sdk_form =
	    g_regex_new("^sbx_([a-z]{3})_[0-9a-hjkmnp-z]{20}$", 0, 0, NULL);

	for (guint i = 0; i < 2000; i++) {
		gchar id[17] = "sbx";
		g_autofree gchar *sdk = NULL;
		g_autofree gchar *back = NULL;
		for (guint j = 3; j < 16; j++)
			id[j] = alnum[g_random_int_range(0, 36)];
		if (i == 0)
			memcpy(id + 3, "zzzzzzzzzzzzz", 13);
		if (i == 1)
			memcpy(id + 3, "0000000000000", 13);
		sdk = sbx_gw_id_to_sdk(id, "loc");
		g_assert_nonnull(sdk);
		g_assert_true(g_regex_match(sdk_form, sdk, 0, NULL));
		back = sbx_gw_id_from_sdk(sdk, NULL);
		g_assert_cmpstr(back, ==, id);
	}
}

static void
test_id_rejects(void)
{
	static const gchar *const bad[] = {
	    "",
	    "sbx_loc_0000000000000000000",   /* 19 digits */
	    "sbx_loc_000000000000000000000", /* 21 */
	    "sbx_lo1_00000000000000000000",  /* region */
	    "sbx_loc_0000000000000000000i",  /* not in the alphabet */
	    "sbx_loc_zzzzzzzzzzzzzzzzzzzz",  /* beyond 36^13 */
	    "xbx_loc_00000000000000000000",
	    "sbx-loc_00000000000000000000",
	    NULL,
	};
	for (guint i = 0; bad[i] != NULL; i++) {
		g_autoptr(GError) error = NULL;
		g_autofree gchar *id = sbx_gw_id_from_sdk(bad[i], &error);
		g_assert_null(id);
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
	}
	g_assert_null(sbx_gw_id_to_sdk("sbxABC", "loc"));
	g_assert_null(sbx_gw_id_to_sdk("sbx4k2m9q0z7w1b3C", "loc"));
}

static gboolean
parse(const gchar *text, SbxGwRpcMessage *msg, gint *code, gint64 *id)
{
	g_autoptr(GError) error = NULL;
	gboolean ok = sbx_gw_rpc_parse(text, strlen(text), msg, code, id, &error);
	g_assert_true(ok == (error == NULL));
	return ok;
}

static void
test_rpc_parse(void)
{
	g_auto(SbxGwRpcMessage) ping = {0};
	g_auto(SbxGwRpcMessage) req = {0};
	g_auto(SbxGwRpcMessage) note = {0};
	gint code = 0;
	gint64 id = 0;

	g_assert_true(parse("ping", &ping, &code, &id));
	g_assert_cmpint(ping.kind, ==, SBX_GW_RPC_PING);
	g_assert_true(
	    parse("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"stat\",\"params\":{\"path\":"
		  "\"/\"}}",
		  &req, &code, &id));
	g_assert_cmpint(req.kind, ==, SBX_GW_RPC_REQUEST);
	g_assert_cmpint(req.id, ==, 7);
	g_assert_cmpstr(req.method, ==, "stat");
	g_assert_cmpstr(json_object_get_string_member(req.params, "path"), ==, "/");
	g_assert_true(
	    parse("{\"jsonrpc\":\"2.0\",\"method\":\"$sandbox.stream.end\"}", &note, &code, &id));
	g_assert_cmpint(note.kind, ==, SBX_GW_RPC_NOTIFICATION);
	g_assert_nonnull(note.params);
}

static void
test_rpc_errors(void)
{
	static const struct {
		const gchar *text;
		gint code;
		gint64 id;
	} cases[] = {
	    {"{", SBX_GW_RPC_PARSE_ERROR, -1},
	    {"[1,2]", SBX_GW_RPC_INVALID_REQUEST, -1},
	    {"{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"x\"}", SBX_GW_RPC_INVALID_REQUEST, 1},
	    {"{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"x\"}", SBX_GW_RPC_INVALID_REQUEST, -1},
	    {"{\"jsonrpc\":\"2.0\",\"id\":-3,\"method\":\"x\"}", SBX_GW_RPC_INVALID_REQUEST, -1},
	    {"{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"x\"}", SBX_GW_RPC_INVALID_REQUEST, -1},
	    {"{\"jsonrpc\":\"2.0\",\"id\":4}", SBX_GW_RPC_INVALID_REQUEST, 4},
	    {"{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"x\",\"params\":[1]}",
	     SBX_GW_RPC_INVALID_PARAMS, 5},
	};
	g_autofree gchar *deep = g_strnfill(SBX_GW_RPC_MAX_DEPTH + 1, '[');
	const gchar invalid_utf8[] = "{\"a\":\"\xff\"}";
	g_auto(SbxGwRpcMessage) msg = {0};
	gint code = 0;
	gint64 id = 0;

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_auto(SbxGwRpcMessage) m = {0};
		g_assert_false(parse(cases[i].text, &m, &code, &id));
		g_assert_cmpint(code, ==, cases[i].code);
		g_assert_cmpint(id, ==, cases[i].id);
		g_assert_null(m.method);
	}
	g_assert_false(parse(deep, &msg, &code, &id));
	g_assert_cmpint(code, ==, SBX_GW_RPC_PARSE_ERROR);
	g_assert_false(parse(invalid_utf8, &msg, &code, &id));
	g_assert_cmpint(code, ==, SBX_GW_RPC_PARSE_ERROR);
}

static void
test_rpc_encode(void)
{
	g_autofree gchar *ok = sbx_gw_rpc_ok(3, NULL);
	g_autofree gchar *enq = sbx_gw_rpc_stream_enqueue(9, (const guint8 *)"hi", 2);
	g_autoptr(JsonNode) err = sbx_gw_error_object_new("NotFound", "/x: gone", "ENOENT");
	g_autofree gchar *app = sbx_gw_rpc_app_error(4, err);

	g_assert_cmpstr(ok, ==, "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"ok\":null}}");
	g_assert_cmpstr(enq, ==,
			"{\"jsonrpc\":\"2.0\",\"method\":\"$sandbox.stream.enqueue\","
			"\"params\":{\"streamId\":9,\"data\":\"aGk=\"}}");
	g_assert_cmpstr(app, ==,
			"{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{\"error\":{\"constructorName\":"
			"\"NotFound\",\"message\":\"/x: gone\",\"code\":\"ENOENT\"}}}");
}

static void
test_error_mapping(void)
{
	g_autoptr(GError) remote = g_dbus_error_new_for_dbus_error(
	    "org.sandboxd.Error.AlreadyExists", "/tmp/x: File exists");
	g_autoptr(JsonNode) node = sbx_gw_error_to_json(remote);
	JsonObject *obj = json_node_get_object(node);
	const gchar *code = NULL;

	g_assert_cmpstr(json_object_get_string_member(obj, "constructorName"), ==, "AlreadyExists");
	g_assert_cmpstr(json_object_get_string_member(obj, "code"), ==, "EEXIST");
	g_assert_cmpstr(json_object_get_string_member(obj, "message"), ==, "/tmp/x: File exists");
	g_assert_cmpuint(sbx_gw_error_http_status(remote, &code), ==, 409);

	/* what the SDK turns into InvalidTokenError, and "too many" */
	{
		g_autoptr(GError) token = g_dbus_error_new_for_dbus_error(
		    "org.sandboxd.Error.InvalidToken", "the access token is unknown or revoked");
		g_autoptr(GError) full = g_dbus_error_new_for_dbus_error(
		    "org.sandboxd.Error.Capacity", "the create queue is full");
		g_assert_cmpuint(sbx_gw_error_http_status(token, &code), ==, 401);
		g_assert_cmpstr(code, ==, "INVALID_TOKEN");
		g_assert_cmpuint(sbx_gw_error_http_status(full, &code), ==, 429);
		g_assert_cmpstr(code, ==, "CAPACITY");
	}
}

static gchar *
header_for(const gchar *json)
{
	/* the SDK's btoa(): the JSON text as Latin-1 */
	g_autofree gchar *latin1 = g_convert(json, -1, "ISO-8859-1", "UTF-8", NULL, NULL, NULL);
	return g_base64_encode((const guchar *)latin1, strlen(latin1));
}

static void
test_sandbox_config(void)
{
	g_autofree gchar *h =
	    header_for("{\"stop_at_ms\":61500,\"memory_mb\":1280,"
		       "\"labels\":{\"caf\xc3\xa9\":\"x\"},\"volumes\":[{\"volume\":"
		       "\"data\",\"path\":\"/data\"}],\"future_field\":1}");
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) opts = sbx_gw_sandbox_config_parse(h, "debian", 1000, &error);
	g_autoptr(GVariant) labels = NULL;
	g_autoptr(GVariant) vols = NULL;
	const gchar *s = NULL;
	guint32 mem = 0;

	g_assert_no_error(error);
	g_assert_true(g_variant_lookup(opts, "memory", "u", &mem));
	g_assert_cmpuint(mem, ==, 1280);
	g_assert_true(g_variant_lookup(opts, "timeout", "&s", &s));
	g_assert_cmpstr(s, ==, "61s");
	g_assert_true(g_variant_lookup(opts, "image", "&s", &s));
	g_assert_cmpstr(s, ==, "debian");
	labels = g_variant_lookup_value(opts, "labels", G_VARIANT_TYPE("a{ss}"));
	g_assert_true(g_variant_lookup(labels, "caf\xc3\xa9", "&s", &s));
	vols = g_variant_lookup_value(opts, "volumes", G_VARIANT_TYPE_VARDICT);
	g_assert_true(g_variant_lookup(vols, "/data", "&s", &s));
	g_assert_cmpstr(s, ==, "data");
}

/* allowNet and secrets in the SDK's shape -> allow_net and secrets */
static void
test_sandbox_config_net(void)
{
	g_autofree gchar *h = header_for(
	    "{\"memory_mb\":1280,\"allow_net\":[\"api.example.com\",\"*.test:8443\"],"
	    "\"secrets\":{\"API_KEY\":{\"hosts\":[\"api.example.com\"],\"value\":\"sk-1\"}}}");
	g_autofree gchar *none = header_for("{\"memory_mb\":1280,\"allow_net\":[],"
					    "\"secrets\":{}}");
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) opts = sbx_gw_sandbox_config_parse(h, NULL, 0, &error);
	g_autoptr(GVariant) opts2 = NULL;
	g_autoptr(GVariant) allow = NULL;
	g_autoptr(GVariant) secrets = NULL;
	g_autoptr(GVariant) empty = NULL;
	g_autofree const gchar **list = NULL;
	g_autofree const gchar **hosts = NULL;
	const gchar *value = NULL;
	const gchar *want[] = {"api.example.com", "*.test:8443", NULL};

	g_assert_no_error(error);
	allow = g_variant_lookup_value(opts, "allow_net", G_VARIANT_TYPE_STRING_ARRAY);
	list = g_variant_get_strv(allow, NULL);
	g_assert_cmpstrv(list, want);
	secrets = g_variant_lookup_value(opts, "secrets", G_VARIANT_TYPE("a{s(ass)}"));
	g_assert_nonnull(secrets);
	g_assert_true(g_variant_lookup(secrets, "API_KEY", "(^a&s&s)", &hosts, &value));
	g_assert_cmpstr(hosts[0], ==, "api.example.com");
	g_assert_cmpstr(value, ==, "sk-1");
	/* [] is "no network"; {} no secrets */
	opts2 = sbx_gw_sandbox_config_parse(none, NULL, 0, &error);
	g_assert_no_error(error);
	empty = g_variant_lookup_value(opts2, "allow_net", G_VARIANT_TYPE_STRING_ARRAY);
	g_assert_cmpuint(g_variant_n_children(empty), ==, 0);
	g_assert_false(g_variant_lookup(opts2, "secrets", "*", NULL));
}

static void
test_sandbox_config_errors(void)
{
	static const struct {
		const gchar *json;
		const gchar *message;
	} cases[] = {
	    {"{\"memory_mb\":512}", "memory_mb: 512 MiB is out of range (768-4096)"},
	    {"{\"memory_mb\":8192}", "out of range"},
	    {"{}", "memory_mb is required"},
	    {"{\"memory_mb\":\"1GiB\"}", "memory_mb: expected"},
	    {"{\"memory_mb\":1280,\"allow_net\":\"a.test\"}", "allowNet: expected"},
	    {"{\"memory_mb\":1280,\"allow_net\":[1]}", "allowNet: expected"},
	    {"{\"memory_mb\":1280,\"secrets\":[]}", "secrets: expected an object"},
	    {"{\"memory_mb\":1280,\"secrets\":{\"K\":{\"hosts\":[\"a.test\"]}}}",
	     "secrets: expected {hosts"},
	    {"{\"memory_mb\":1280,\"secrets\":{\"K\":{\"hosts\":\"a.test\",\"value\":\"v\"}}}",
	     "secrets: expected {hosts"},
	    {"{\"memory_mb\":1280,\"secrets\":{\"K\":{\"hosts\":[2],\"value\":\"v\"}}}",
	     "hosts must be strings"},
	    {"{\"memory_mb\":1280,\"labels\":{\"a\":1}}", "labels: expected"},
	    {"{\"memory_mb\":1280,\"volumes\":[{\"volume\":\"v\"}]}", "volumes: expected"},
	    {"[]", "not base64 of a JSON object"},
	};
	g_autoptr(GError) error = NULL;

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *h = header_for(cases[i].json);
		g_autoptr(GError) e = NULL;
		g_autoptr(GVariant) opts = sbx_gw_sandbox_config_parse(h, NULL, 0, &e);
		g_assert_null(opts);
		g_assert_nonnull(e);
		if (strstr(e->message, cases[i].message) == NULL)
			g_error("%s: '%s' lacks '%s'", cases[i].json, e->message, cases[i].message);
	}
	g_assert_null(sbx_gw_sandbox_config_parse(NULL, NULL, 0, &error));
	g_assert_nonnull(error);
}

/* the bucket empties, refills with time, and one token's flood spares another */
static void
test_limits_rate(void)
{
	g_autoptr(SbxGwLimits) limits = sbx_gw_limits_new(2, 5, 0);
	gint64 t = (gint64)1000 * G_USEC_PER_SEC;
	guint retry = 0;

	for (guint i = 0; i < 5; i++)
		g_assert_true(sbx_gw_limits_admit(limits, "ddo_a", t, &retry));
	g_assert_false(sbx_gw_limits_admit(limits, "ddo_a", t, &retry));
	g_assert_cmpuint(retry, >=, 1);
	g_assert_true(sbx_gw_limits_admit(limits, "ddo_b", t, &retry));
	/* 2 per second: half a second later, one more */
	g_assert_true(sbx_gw_limits_admit(limits, "ddo_a", t + G_USEC_PER_SEC / 2, &retry));
	g_assert_false(sbx_gw_limits_admit(limits, "ddo_a", t + G_USEC_PER_SEC / 2, &retry));
	/* the bucket never holds more than the burst */
	for (guint i = 0; i < 5; i++)
		g_assert_true(sbx_gw_limits_admit(limits, "ddo_a",
						  t + (gint64)3600 * G_USEC_PER_SEC, &retry));
	g_assert_false(
	    sbx_gw_limits_admit(limits, "ddo_a", t + (gint64)3600 * G_USEC_PER_SEC, &retry));
	/* 0: no limit */
	{
		g_autoptr(SbxGwLimits) open = sbx_gw_limits_new(0, 1, 0);
		for (guint i = 0; i < 1000; i++)
			g_assert_true(sbx_gw_limits_admit(open, "ddo_a", t, &retry));
	}
}

static void
test_limits_sandboxes(void)
{
	g_autoptr(SbxGwLimits) limits = sbx_gw_limits_new(0, 1, 2);
	g_autoptr(GError) error = NULL;

	/* two places per token: a create under way holds one */
	g_assert_true(sbx_gw_limits_reserve(limits, "ddo_a", &error));
	g_assert_true(sbx_gw_limits_reserve(limits, "ddo_a", &error));
	g_assert_false(sbx_gw_limits_reserve(limits, "ddo_a", &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_OPEN_FILES);
	g_clear_error(&error);
	g_assert_true(sbx_gw_limits_reserve(limits, "ddo_b", &error));
	sbx_gw_limits_release(limits, "ddo_b");
	/* a failed create gives its place back; a bound sandbox keeps it until it ends */
	sbx_gw_limits_release(limits, "ddo_a");
	sbx_gw_limits_bind(limits, "ddo_a", "sbx1");
	g_assert_true(sbx_gw_limits_reserve(limits, "ddo_a", &error));
	sbx_gw_limits_bind(limits, "ddo_a", "sbx2");
	g_assert_false(sbx_gw_limits_reserve(limits, "ddo_a", &error));
	g_clear_error(&error);
	sbx_gw_limits_sandbox_gone(limits, "sbx1");
	sbx_gw_limits_sandbox_gone(limits, "sbx1"); /* twice: counted once */
	sbx_gw_limits_sandbox_gone(limits, "unknown");
	g_assert_true(sbx_gw_limits_reserve(limits, "ddo_a", &error));
	/* one that ended before its create answered holds nothing */
	sbx_gw_limits_sandbox_gone(limits, "sbx3");
	sbx_gw_limits_bind(limits, "ddo_a", "sbx3");
	g_assert_true(sbx_gw_limits_reserve(limits, "ddo_a", &error));
	sbx_gw_limits_release(limits, "ddo_a");
	sbx_gw_limits_sandbox_gone(limits, "sbx2");
	/* nothing held: nothing tracked */
	g_assert_cmpuint(sbx_gw_limits_get_n_tracked(limits), ==, 0);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/gateway/id/roundtrip", test_id_roundtrip);
	g_test_add_func("/gateway/id/rejects", test_id_rejects);
	g_test_add_func("/gateway/rpc/parse", test_rpc_parse);
	g_test_add_func("/gateway/rpc/errors", test_rpc_errors);
	g_test_add_func("/gateway/rpc/encode", test_rpc_encode);
	g_test_add_func("/gateway/error/mapping", test_error_mapping);
	g_test_add_func("/gateway/sandbox-config/parse", test_sandbox_config);
	g_test_add_func("/gateway/sandbox-config/errors", test_sandbox_config_errors);
	g_test_add_func("/gateway/limits/rate", test_limits_rate);
	g_test_add_func("/gateway/limits/sandboxes", test_limits_sandboxes);
	g_test_add_func("/gateway/sandbox-config/net", test_sandbox_config_net);
	return g_test_run();
}
