/* the test hypervisor plugin, loaded like the daemon loads it
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>

#include "sbx-hypervisor-backend.h"
#include "sbx-plugin.h"

typedef struct {
	SbxHypervisorBackend *backend;
	GMainLoop *loop;
	GAsyncResult *res;
	gchar *exited_id;
	gchar *run_dir;
	guint timeout_id;
} Fixture;

static GType
load_type(void)
{
	static GType type = 0;
	g_autofree gchar *path = NULL;
	GModule *module;
	SbxPluginQueryFunc query = NULL;
	const SbxPluginInfo *info;

	if (type != 0)
		return type;
	path = g_build_filename(TEST_PLUGIN_DIR, "libsbx-test.so", NULL);
	module = g_module_open(path, G_MODULE_BIND_LOCAL);
	if (module == NULL)
		g_error("%s", g_module_error());
	g_assert_true(g_module_symbol(module, SBX_PLUGIN_QUERY_SYMBOL, (gpointer *)&query));
	info = query();
	g_assert_cmpuint(info->abi_version, ==, SBX_PLUGIN_ABI_VERSION);
	g_assert_cmpint(info->kind, ==, SBX_PLUGIN_KIND_HYPERVISOR);
	g_assert_cmpstr(info->name, ==, "test");
	g_module_make_resident(module);
	type = info->get_type();
	return type;
}

static gboolean
timeout_cb(gpointer user_data)
{
	g_error("test timed out");
	return G_SOURCE_REMOVE;
}

static void
exited_cb(SbxHypervisorBackend *backend, const gchar *id, gpointer user_data)
{
	Fixture *f = user_data;
	g_free(f->exited_id);
	f->exited_id = g_strdup(id);
	g_main_loop_quit(f->loop);
}

static void
setup(Fixture *f, const gchar *extra_config)
{
	g_autoptr(GKeyFile) config = g_key_file_new();
	g_autoptr(GError) error = NULL;
	g_autofree gchar *data = g_strdup_printf("[test]\nAgentPath=%s\n%s", FAKE_AGENT,
						 extra_config != NULL ? extra_config : "");

	f->loop = g_main_loop_new(NULL, FALSE);
	f->backend = g_object_new(load_type(), NULL);
	g_signal_connect(f->backend, "vm-exited", G_CALLBACK(exited_cb), f);
	g_assert_true(g_key_file_load_from_data(config, data, -1, 0, &error));
	g_assert_true(sbx_hypervisor_backend_configure(f->backend, config, "test", &error));
	g_assert_no_error(error);
	g_assert_cmpstr(sbx_hypervisor_backend_get_domain_type(f->backend), ==, "test");
	f->run_dir = g_dir_make_tmp("sbx-test-backend-XXXXXX", &error);
	g_assert_no_error(error);
	f->timeout_id = g_timeout_add_seconds(60, timeout_cb, NULL);
}

static void
teardown(Fixture *f)
{
	/* every test leaves the run dir empty */
	g_assert_cmpint(g_rmdir(f->run_dir), ==, 0);
	g_free(f->run_dir);
	g_source_remove(f->timeout_id);
	g_clear_object(&f->backend);
	g_main_loop_unref(f->loop);
	g_free(f->exited_id);
}

static SbxVmSpec *
make_spec(Fixture *f, const gchar *id)
{
	SbxVmSpec *spec = sbx_vm_spec_new();
	spec->id = g_strdup(id);
	spec->memory_mib = 1024;
	spec->vcpus = 1;
	spec->kernel = g_strdup("/nonexistent/vmlinuz");
	spec->run_dir = g_strdup(f->run_dir);
	spec->agent_socket = g_strdup_printf("%s/%s.sock", f->run_dir, id);
	spec->console_log = g_strdup_printf("%s/%s.log", f->run_dir, id);
	return spec;
}

static void
async_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Fixture *f = user_data;
	f->res = g_object_ref(res);
	g_main_loop_quit(f->loop);
}

static gboolean
start(Fixture *f, const SbxVmSpec *spec, GCancellable *cancellable, GError **error)
{
	g_autoptr(GAsyncResult) res = NULL;

	sbx_hypervisor_backend_start_vm_async(f->backend, spec, cancellable, async_cb, f);
	g_main_loop_run(f->loop);
	res = g_steal_pointer(&f->res);
	return sbx_hypervisor_backend_start_vm_finish(f->backend, res, error);
}

static gboolean
destroy(Fixture *f, const gchar *id, GError **error)
{
	g_autoptr(GAsyncResult) res = NULL;

	sbx_hypervisor_backend_destroy_vm_async(f->backend, id, NULL, async_cb, f);
	g_main_loop_run(f->loop);
	res = g_steal_pointer(&f->res);
	return sbx_hypervisor_backend_destroy_vm_finish(f->backend, res, error);
}

static gchar **
list(Fixture *f)
{
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(GError) error = NULL;
	gchar **ids;

	sbx_hypervisor_backend_list_vms_async(f->backend, NULL, async_cb, f);
	g_main_loop_run(f->loop);
	res = g_steal_pointer(&f->res);
	ids = sbx_hypervisor_backend_list_vms_finish(f->backend, res, &error);
	g_assert_no_error(error);
	return ids;
}

static void
test_lifecycle(void)
{
	Fixture f = {0};
	g_autoptr(SbxVmSpec) spec = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *log = NULL;
	g_auto(GStrv) ids = NULL;

	setup(&f, NULL);
	spec = make_spec(&f, "vm-1");
	g_assert_true(start(&f, spec, NULL, &error));
	g_assert_no_error(error);
	g_assert_true(g_file_test(spec->agent_socket, G_FILE_TEST_EXISTS));
	ids = list(&f);
	g_assert_cmpuint(g_strv_length(ids), ==, 1);
	g_assert_cmpstr(ids[0], ==, "vm-1");

	/* the same id twice is refused, and the first vm survives it */
	g_assert_false(start(&f, spec, NULL, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS);
	g_clear_error(&error);
	g_assert_true(g_file_test(spec->agent_socket, G_FILE_TEST_EXISTS));

	/* the agent's output is the "console" */
	g_assert_true(g_file_get_contents(spec->console_log, &log, NULL, NULL));
	g_assert_nonnull(strstr(log, "listening"));

	g_assert_true(destroy(&f, "vm-1", &error));
	g_assert_no_error(error);
	g_assert_false(g_file_test(spec->agent_socket, G_FILE_TEST_EXISTS));
	g_assert_false(g_file_test(spec->console_log, G_FILE_TEST_EXISTS));
	g_strfreev(ids);
	ids = list(&f);
	g_assert_cmpuint(g_strv_length(ids), ==, 0);
	/* destroying what does not exist succeeds */
	g_assert_true(destroy(&f, "vm-1", &error));
	g_assert_no_error(error);
	g_assert_null(f.exited_id);
	teardown(&f);
}

static void
test_exited(void)
{
	Fixture f = {0};
	g_autoptr(SbxVmSpec) spec = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GSocketClient) client = g_socket_client_new();
	g_autoptr(GSocketAddress) addr = NULL;
	g_autoptr(GSocketConnection) conn = NULL;
	g_auto(GStrv) ids = NULL;

	setup(&f, NULL);
	spec = make_spec(&f, "vm-2");
	g_assert_true(start(&f, spec, NULL, &error));
	g_assert_no_error(error);

	/* the agent goes away by itself: vm-exited */
	addr = g_unix_socket_address_new(spec->agent_socket);
	conn = g_socket_client_connect(client, G_SOCKET_CONNECTABLE(addr), NULL, &error);
	g_assert_no_error(error);
	g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(conn)), "exit", 4, NULL,
				  NULL, &error);
	g_assert_no_error(error);
	g_main_loop_run(f.loop);
	g_assert_cmpstr(f.exited_id, ==, "vm-2");
	ids = list(&f);
	g_assert_cmpuint(g_strv_length(ids), ==, 0);

	/* the id can be started again, then destroy removes its files */
	g_assert_true(start(&f, spec, NULL, &error));
	g_assert_no_error(error);
	g_assert_true(destroy(&f, "vm-2", &error));
	g_assert_no_error(error);
	g_assert_false(g_file_test(spec->agent_socket, G_FILE_TEST_EXISTS));
	g_assert_false(g_file_test(spec->console_log, G_FILE_TEST_EXISTS));
	teardown(&f);
}

static void
test_fail_start(void)
{
	Fixture f = {0};
	g_autoptr(SbxVmSpec) spec = NULL;
	g_autoptr(GError) error = NULL;

	setup(&f, "FailStart=true\n");
	spec = make_spec(&f, "vm-3");
	g_assert_false(start(&f, spec, NULL, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_FAILED);
	g_assert_nonnull(strstr(error->message, "vm-3"));
	g_assert_false(g_file_test(spec->agent_socket, G_FILE_TEST_EXISTS));
	teardown(&f);
}

static void
test_fail_destroy(void)
{
	Fixture f = {0};
	g_autoptr(SbxVmSpec) spec = NULL;
	g_autoptr(GError) error = NULL;

	setup(&f, "FailDestroy=true\n");
	spec = make_spec(&f, "vm-4");
	g_assert_true(start(&f, spec, NULL, &error));
	g_assert_no_error(error);
	g_assert_false(destroy(&f, "vm-4", &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_FAILED);
	g_clear_error(&error);
	g_assert_true(g_file_test(spec->agent_socket, G_FILE_TEST_EXISTS));

	/* turn the injection off again to clean up */
	{
		g_autoptr(GKeyFile) config = g_key_file_new();
		g_key_file_set_string(config, "test", "AgentPath", FAKE_AGENT);
		g_assert_true(sbx_hypervisor_backend_configure(f.backend, config, "test", NULL));
	}
	g_assert_true(destroy(&f, "vm-4", &error));
	g_assert_no_error(error);
	teardown(&f);
}

static void
destroy_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	gboolean *done = user_data;
	g_autoptr(GError) error = NULL;

	g_assert_true(
	    sbx_hypervisor_backend_destroy_vm_finish(SBX_HYPERVISOR_BACKEND(source), res, &error));
	g_assert_no_error(error);
	*done = TRUE;
}

static gboolean
cancel_cb(gpointer user_data)
{
	g_cancellable_cancel(user_data);
	return G_SOURCE_REMOVE;
}

/* StartDelayMs: destroying or cancelling a vm that is still starting */
static void
test_delay(void)
{
	Fixture f = {0};
	g_autoptr(SbxVmSpec) spec = NULL;
	g_autoptr(SbxVmSpec) spec2 = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GCancellable) cancellable = g_cancellable_new();
	g_autoptr(GAsyncResult) res = NULL;
	gboolean destroyed = FALSE;

	/* the maximum delay: only a prompt cancellation lets this test finish */
	setup(&f, "StartDelayMs=60000\n");
	spec = make_spec(&f, "vm-5");
	sbx_hypervisor_backend_start_vm_async(f.backend, spec, NULL, async_cb, &f);
	sbx_hypervisor_backend_destroy_vm_async(f.backend, "vm-5", NULL, destroy_cb, &destroyed);
	g_main_loop_run(f.loop);
	res = g_steal_pointer(&f.res);
	g_assert_false(sbx_hypervisor_backend_start_vm_finish(f.backend, res, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
	g_clear_error(&error);
	while (!destroyed)
		g_main_context_iteration(NULL, TRUE);

	spec2 = make_spec(&f, "vm-6");
	g_timeout_add(50, cancel_cb, cancellable);
	g_assert_false(start(&f, spec2, cancellable, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
	g_assert_false(g_file_test(spec2->agent_socket, G_FILE_TEST_EXISTS));
	teardown(&f);
}

static void
test_bad_agent(void)
{
	Fixture f = {0};
	g_autoptr(SbxVmSpec) spec = NULL;
	g_autoptr(GError) error = NULL;

	setup(&f, "AgentPath=/nonexistent/sandboxd-agent\n");
	spec = make_spec(&f, "vm-7");
	g_assert_false(start(&f, spec, NULL, &error));
	g_assert_nonnull(error);
	g_assert_false(g_file_test(spec->console_log, G_FILE_TEST_EXISTS));
	g_clear_error(&error);

	/* a bad id never gets anywhere */
	g_free(spec->id);
	spec->id = g_strdup("../x");
	g_assert_false(start(&f, spec, NULL, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	teardown(&f);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/test-backend/lifecycle", test_lifecycle);
	g_test_add_func("/test-backend/exited", test_exited);
	g_test_add_func("/test-backend/fail-start", test_fail_start);
	g_test_add_func("/test-backend/fail-destroy", test_fail_destroy);
	g_test_add_func("/test-backend/delay", test_delay);
	g_test_add_func("/test-backend/bad-agent", test_bad_agent);
	return g_test_run();
}
