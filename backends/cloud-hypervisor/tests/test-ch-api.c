/* the REST client (libsoup3 over a unix socket) against the API server
 * written from the API document: lifecycle, keep-alive, 204s, error bodies
 * and status codes per version
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>

#include "sbx-ch-api.h"
#include "sbx-fake-ch-server.h"

typedef struct {
	gchar *dir;
	gchar *path;
	FakeChServer *server;
	SbxChApi *api;
	GAsyncResult *res;
} Fixture;

static void
setup_version(Fixture *f, const gchar *version_text)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GSocketAddress) addr = NULL;
	g_autoptr(GSocket) sock = NULL;
	SbxChVersion version;

	g_assert_true(sbx_ch_version_parse(version_text, &version, NULL));
	f->dir = g_dir_make_tmp("sbx-ch-api-XXXXXX", &error);
	g_assert_no_error(error);
	f->path = g_build_filename(f->dir, "api.sock", NULL);
	addr = g_unix_socket_address_new(f->path);
	sock = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, 0, &error);
	g_assert_no_error(error);
	g_assert_true(g_socket_bind(sock, addr, FALSE, &error));
	g_assert_true(g_socket_listen(sock, &error));
	f->server = fake_ch_server_new(sock, &version, -1);
	f->api = sbx_ch_api_new(f->path, 10);
}

static void
teardown(Fixture *f, gconstpointer data)
{
	g_clear_object(&f->api);
	fake_ch_server_free(f->server);
	g_unlink(f->path);
	g_rmdir(f->dir);
	g_free(f->path);
	g_free(f->dir);
}

static void
on_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Fixture *f = user_data;
	f->res = g_object_ref(res);
}

static GAsyncResult *
wait_result(Fixture *f)
{
	while (f->res == NULL)
		g_main_context_iteration(NULL, TRUE);
	return g_steal_pointer(&f->res);
}

/* one call, run to completion; returns the reply (or NULL) and sets @error */
static JsonNode *
call(Fixture *f, const gchar *method, const gchar *endpoint, const gchar *json, GError **error)
{
	g_autoptr(JsonNode) body = json != NULL ? json_from_string(json, NULL) : NULL;
	g_autoptr(GAsyncResult) res = NULL;
	JsonNode *reply = NULL;

	sbx_ch_api_call_async(f->api, method, endpoint, body, NULL, on_done, f);
	res = wait_result(f);
	if (!sbx_ch_api_call_finish(f->api, res, &reply, error))
		return NULL;
	return reply;
}

static void
call_ok(Fixture *f, const gchar *method, const gchar *endpoint, const gchar *json)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) reply = call(f, method, endpoint, json, &error);
	g_assert_no_error(error);
}

static gchar *
info_state(Fixture *f)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) reply = call(f, "GET", "vm.info", NULL, &error);
	g_assert_no_error(error);
	g_assert_nonnull(reply);
	return g_strdup(json_object_get_string_member(json_node_get_object(reply), "state"));
}

static const gchar *config_json =
    "{\"cpus\":{\"boot_vcpus\":1,\"max_vcpus\":1},\"memory\":{\"size\":268435456},"
    "\"payload\":{\"kernel\":\"/k\",\"cmdline\":\"console=ttyS0\"}}";

static void
test_ping(Fixture *f, gconstpointer data)
{
	const gchar *version_text = data;
	SbxChVersion minimum = {39, 0, 0};
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(GError) error = NULL;
	SbxChVersion version;
	gboolean ok;

	setup_version(f, version_text);
	sbx_ch_api_ping_async(f->api, &minimum, NULL, on_done, f);
	res = wait_result(f);
	ok = sbx_ch_api_ping_finish(f->api, res, &version, &error);
	if (g_str_has_prefix(version_text, "31.")) {
		/* v31 answers only {"version":...}: parsed, then refused as too old */
		g_assert_error(error, SBX_CH_API_ERROR, SBX_CH_API_ERROR_TOO_OLD);
		g_assert_nonnull(strstr(error->message, "31.0.0 is too old"));
		g_assert_nonnull(strstr(error->message, "39.0.0 or newer"));
		g_assert_false(ok);
		return;
	}
	g_assert_no_error(error);
	g_assert_true(ok);
	g_assert_cmpuint(version.major, ==, g_ascii_strtoull(version_text, NULL, 10));
}

static void
test_lifecycle(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) reply = NULL;
	gchar *state;

	setup_version(f, "53.0.0");
	call_ok(f, "PUT", "vm.create", config_json);
	state = info_state(f);
	g_assert_cmpstr(state, ==, "Created");
	g_free(state);
	call_ok(f, "PUT", "vm.boot", NULL);
	state = info_state(f);
	g_assert_cmpstr(state, ==, "Running");
	g_free(state);
	/* a hard stop keeps the config: Created, and it boots again */
	call_ok(f, "PUT", "vm.shutdown", NULL);
	state = info_state(f);
	g_assert_cmpstr(state, ==, "Created");
	g_free(state);
	call_ok(f, "PUT", "vm.boot", NULL);
	call_ok(f, "PUT", "vm.pause", NULL);
	state = info_state(f);
	g_assert_cmpstr(state, ==, "Paused");
	g_free(state);
	call_ok(f, "PUT", "vm.delete", NULL);
	reply = call(f, "GET", "vm.info", NULL, &error);
	g_assert_error(error, SBX_CH_API_ERROR, SBX_CH_API_ERROR_NOT_FOUND);
	g_clear_error(&error);
	/* vm.delete without a VM is still a 204 */
	call_ok(f, "PUT", "vm.delete", NULL);
	/* vmm.shutdown: 200 with an empty body */
	g_assert_null(call(f, "PUT", "vmm.shutdown", NULL, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(fake_ch_server_get_requests(f->server)->len, ==, 13);
	/* answers with a body keep the connection; libsoup 3.2 drops it after a
	 * 204 without Content-Length (it reads the missing length as "body until
	 * EOF"), so those 7 cost a new connection: never more than that, and the
	 * dropped ones are closed, not leaked against micro_http's 10 */
	g_assert_cmpuint(fake_ch_server_get_connections(f->server), <=, 8);
	g_assert_cmpuint(fake_ch_server_get_max_open(f->server), <=, 2);
}

/* what the client sends: no body and no chunking on actions, an exact
 * Content-Length on the rest */
static void
test_request_shape(Fixture *f, gconstpointer data)
{
	g_autofree gchar *length = g_strdup_printf("Content-Length: %zu\r\n", strlen(config_json));
	const gchar *raw;

	setup_version(f, "53.0.0");
	call_ok(f, "PUT", "vm.create", config_json);
	raw = fake_ch_server_get_last_raw(f->server);
	g_assert_true(g_str_has_prefix(raw, "PUT /api/v1/vm.create HTTP/1.1\r\n"));
	g_assert_nonnull(strcasestr(raw, length));
	g_assert_null(strcasestr(raw, "Transfer-Encoding"));
	g_assert_true(g_str_has_suffix(raw, "\r\n\r\n{\"cpus\":{\"boot_vcpus\":1,\"max_vcpus\":1},"
					    "\"memory\":{\"size\":268435456},\"payload\":{"
					    "\"kernel\":\"/k\",\"cmdline\":\"console=ttyS0\"}}"));
	call_ok(f, "PUT", "vm.boot", NULL);
	raw = fake_ch_server_get_last_raw(f->server);
	g_assert_true(g_str_has_prefix(raw, "PUT /api/v1/vm.boot HTTP/1.1\r\n"));
	g_assert_true(g_str_has_suffix(raw, "\r\n\r\n"));
	g_assert_null(strcasestr(raw, "Transfer-Encoding"));
	/* every header line fits micro_http's 1024-byte line buffer */
	{
		g_auto(GStrv) lines = g_strsplit(raw, "\r\n", -1);
		for (guint i = 0; lines[i] != NULL; i++)
			g_assert_cmpuint(strlen(lines[i]), <, 1024);
	}
}

typedef struct {
	const gchar *version;
	gint code;
	const gchar *message;
} ErrorCase;

static const ErrorCase boot_errors[] = {
    /* v53: a JSON array and 404 */
    {"53.0.0", SBX_CH_API_ERROR_NOT_FOUND,
     "cloud-hypervisor vm.boot: Error from API: Error booting VM: VM is not created (HTTP 404)"},
    /* v47-v52: a JSON array and 500 */
    {"50.0.0", SBX_CH_API_ERROR_FAILED,
     "cloud-hypervisor vm.boot: Error from API: Error booting VM: VM is not created (HTTP 500)"},
    /* v38-v46: plain text */
    {"46.0.0", SBX_CH_API_ERROR_FAILED,
     "cloud-hypervisor vm.boot: Error from API: Error booting VM: VM is not created (HTTP 500)"},
};

static void
test_boot_errors(Fixture *f, gconstpointer data)
{
	const ErrorCase *c = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) reply = NULL;

	setup_version(f, c->version);
	reply = call(f, "PUT", "vm.boot", NULL, &error);
	g_assert_error(error, SBX_CH_API_ERROR, c->code);
	g_assert_cmpstr(error->message, ==, c->message);
	/* the connection survives an error answer */
	call_ok(f, "GET", "vmm.ping", NULL);
	g_assert_cmpuint(fake_ch_server_get_connections(f->server), ==, 1);
}

static void
test_create_twice(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) reply = NULL;

	setup_version(f, "53.0.0");
	call_ok(f, "PUT", "vm.create", config_json);
	reply = call(f, "PUT", "vm.create", config_json, &error);
	g_assert_error(error, SBX_CH_API_ERROR, SBX_CH_API_ERROR_FAILED);
	g_assert_nonnull(strstr(error->message, "VM is already created"));
	g_clear_error(&error);
	call_ok(f, "PUT", "vm.boot", NULL);
	reply = call(f, "PUT", "vm.boot", NULL, &error);
	g_assert_error(error, SBX_CH_API_ERROR, SBX_CH_API_ERROR_FAILED);
	g_assert_nonnull(strstr(error->message, "VM is already booted"));
}

static void
test_devices(Fixture *f, gconstpointer data)
{
	const gchar *version = data;
	gboolean post53 = g_str_has_prefix(version, "54.");
	gint dup_code = post53 ? SBX_CH_API_ERROR_CONFLICT : SBX_CH_API_ERROR_FAILED;
	gint unknown_code = post53 ? SBX_CH_API_ERROR_NOT_FOUND : SBX_CH_API_ERROR_FAILED;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) reply = NULL;

	setup_version(f, version);
	call_ok(f, "PUT", "vm.create", config_json);
	/* cold add: 204, no body */
	reply = call(f, "PUT", "vm.add-disk", "{\"id\":\"disk1\",\"path\":\"/dev/null\"}", &error);
	g_assert_no_error(error);
	g_assert_null(reply);
	/* a duplicate id: 409 after v53, 500 before */
	reply = call(f, "PUT", "vm.add-disk", "{\"id\":\"disk1\",\"path\":\"/dev/zero\"}", &error);
	g_assert_error(error, SBX_CH_API_ERROR, dup_code);
	g_clear_error(&error);
	call_ok(f, "PUT", "vm.boot", NULL);
	/* hot add: 200 with the PCI address */
	reply = call(f, "PUT", "vm.add-disk", "{\"id\":\"disk2\",\"path\":\"/dev/null\"}", &error);
	g_assert_no_error(error);
	g_assert_nonnull(reply);
	g_assert_cmpstr(json_object_get_string_member(json_node_get_object(reply), "id"), ==,
			"disk2");
	g_clear_pointer(&reply, json_node_unref);
	call_ok(f, "PUT", "vm.remove-device", "{\"id\":\"disk1\"}");
	reply = call(f, "PUT", "vm.remove-device", "{\"id\":\"disk1\"}", &error);
	g_assert_error(error, SBX_CH_API_ERROR, unknown_code);
	g_assert_nonnull(strstr(error->message, "Unknown device id"));
}

static void
test_error_from_reply(void)
{
	g_autoptr(GError) e1 = NULL;
	g_autoptr(GError) e2 = NULL;
	g_autoptr(GError) e3 = NULL;
	g_autoptr(GError) e4 = NULL;
	const gchar *text = "Error from API:\n\x1b[31mboom\x7f\n";

	/* control characters from the VMM never reach a log line */
	e1 = sbx_ch_api_error_from_reply("vm.boot", 500, text, strlen(text));
	g_assert_cmpstr(e1->message, ==,
			"cloud-hypervisor vm.boot: Error from API:??[31mboom? (HTTP 500)");
	e2 = sbx_ch_api_error_from_reply("vm.info", 404, "", 0);
	g_assert_error(e2, SBX_CH_API_ERROR, SBX_CH_API_ERROR_NOT_FOUND);
	g_assert_cmpstr(e2->message, ==, "cloud-hypervisor vm.info: no message (HTTP 404)");
	/* ≤v37: Debug text */
	e3 = sbx_ch_api_error_from_reply("vm.boot", 500, "VmBoot(VmNotCreated)", 20);
	g_assert_cmpstr(e3->message, ==,
			"cloud-hypervisor vm.boot: VmBoot(VmNotCreated) (HTTP 500)");
	/* a JSON array with a non-string element: the strings are kept */
	e4 = sbx_ch_api_error_from_reply("vm.resize", 429, "[\"a\",3,\"b\"]", 11);
	g_assert_error(e4, SBX_CH_API_ERROR, SBX_CH_API_ERROR_BUSY);
	g_assert_cmpstr(e4->message, ==, "cloud-hypervisor vm.resize: a: b (HTTP 429)");
}

/* the server itself, byte for byte as the API document describes micro_http */
static void
test_wire_format(Fixture *f, gconstpointer data)
{
	g_autoptr(GSocketClient) client = g_socket_client_new();
	g_autoptr(GSocketAddress) addr = NULL;
	g_autoptr(GSocketConnection) conn = NULL;
	g_autoptr(GError) error = NULL;
	const gchar *req = "PUT /api/v1/vm.create HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n"
			   "Content-Length: 2\r\n\r\n{}PUT /api/v1/vm.boot HTTP/1.1\r\n"
			   "Host: localhost\r\nContent-Length: 2\r\n\r\n{}";
	const gchar *want = "HTTP/1.1 204 No Content\r\nServer: Cloud Hypervisor API\r\n"
			    "Connection: keep-alive\r\n\r\n"
			    "HTTP/1.1 400 Bad Request\r\nServer: Cloud Hypervisor API\r\n"
			    "Connection: keep-alive\r\nContent-Type: application/json\r\n"
			    "Content-Length: 36\r\n\r\n[\"Error from API\",\"Unexpected body\"]";
	gchar buf[512];
	gsize got = 0;

	setup_version(f, "53.0.0");
	addr = g_unix_socket_address_new(f->path);
	g_socket_client_connect_async(client, G_SOCKET_CONNECTABLE(addr), NULL, on_done, f);
	{
		g_autoptr(GAsyncResult) res = wait_result(f);
		conn = g_socket_client_connect_finish(client, res, &error);
	}
	g_assert_no_error(error);
	g_assert_true(g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(conn)),
						req, strlen(req), NULL, NULL, &error));
	while (got < strlen(want)) {
		GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(conn));
		g_input_stream_read_async(in, buf + got, sizeof(buf) - 1 - got, G_PRIORITY_DEFAULT,
					  NULL, on_done, f);
		g_autoptr(GAsyncResult) res = wait_result(f);
		gssize n = g_input_stream_read_finish(in, res, &error);
		g_assert_no_error(error);
		g_assert_cmpint(n, >, 0);
		got += (gsize)n;
	}
	buf[got] = '\0';
	g_assert_cmpstr(buf, ==, want);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/ch-api/ping/v53", Fixture, "53.0.0", NULL, test_ping, teardown);
	g_test_add("/ch-api/ping/v46", Fixture, "46.0.0", NULL, test_ping, teardown);
	g_test_add("/ch-api/ping/v31-too-old", Fixture, "31.0.0", NULL, test_ping, teardown);
	g_test_add("/ch-api/lifecycle", Fixture, NULL, NULL, test_lifecycle, teardown);
	g_test_add("/ch-api/request-shape", Fixture, NULL, NULL, test_request_shape, teardown);
	g_test_add("/ch-api/errors/v53", Fixture, &boot_errors[0], NULL, test_boot_errors,
		   teardown);
	g_test_add("/ch-api/errors/v50", Fixture, &boot_errors[1], NULL, test_boot_errors,
		   teardown);
	g_test_add("/ch-api/errors/v46-text", Fixture, &boot_errors[2], NULL, test_boot_errors,
		   teardown);
	g_test_add("/ch-api/create-twice", Fixture, NULL, NULL, test_create_twice, teardown);
	g_test_add("/ch-api/devices/v53", Fixture, "53.0.0", NULL, test_devices, teardown);
	g_test_add("/ch-api/devices/post-v53", Fixture, "54.0.0", NULL, test_devices, teardown);
	g_test_add("/ch-api/wire-format", Fixture, NULL, NULL, test_wire_format, teardown);
	g_test_add_func("/ch-api/error-from-reply", test_error_from_reply);
	return g_test_run();
}
