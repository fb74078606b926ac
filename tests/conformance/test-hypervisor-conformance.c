/* one conformance suite for every hypervisor backend plugin
 *
 *   test-hypervisor-conformance --plugin PATH.so --config FILE --image-dir DIR
 *
 * loads the plugin like the daemon does (the SDK comes from this binary),
 * configures it from the [<name>] section of FILE, boots the guest image in
 * DIR (vmlinuz, initrd.img, cmdline) and checks what sbx-hypervisor-backend.h
 * promises: start completes with the agent reachable (through the backend's
 * connect_agent: a unix socket, or cloud-hypervisor's hybrid vsock), the agent
 * answers HELLO, list_vms names the VM, duplicate ids are refused, destroy
 * leaves nothing in the run folder and emits no vm-exited, an unknown id
 * destroys fine, a second VM boots beside the first.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "sbx-hypervisor-backend.h"
#include "sbx-plugin.h"
#include "sbx-protocol.h"

static gchar *opt_plugin;
static gchar *opt_config;
static gchar *opt_image_dir;
static const SbxPluginInfo *plugin_info;
/* this run's VM names: a shared libvirtd may run another run's at once */
static gchar *id_prefix;

typedef struct {
	SbxHypervisorBackend *backend;
	gchar *dir;
	GAsyncResult *res;
	guint exited;
} Fixture;

static void
load_plugin(void)
{
	GModule *module = g_module_open(opt_plugin, G_MODULE_BIND_LOCAL);
	SbxPluginQueryFunc query = NULL;

	if (module == NULL)
		g_error("%s", g_module_error());
	g_assert_true(g_module_symbol(module, SBX_PLUGIN_QUERY_SYMBOL, (gpointer *)&query));
	g_module_make_resident(module);
	plugin_info = query();
	g_assert_cmpuint(plugin_info->abi_version, ==, SBX_PLUGIN_ABI_VERSION);
	g_assert_cmpint(plugin_info->kind, ==, SBX_PLUGIN_KIND_HYPERVISOR);
}

static void
on_vm_exited(SbxHypervisorBackend *backend, const gchar *id, gpointer user_data)
{
	Fixture *f = user_data;
	/* only ours: a shared libvirtd reports every sandboxd domain it runs */
	if (g_str_has_prefix(id, id_prefix))
		f->exited++;
}

static void
setup(Fixture *f, gconstpointer data)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) error = NULL;

	g_assert_true(g_key_file_load_from_file(kf, opt_config, G_KEY_FILE_NONE, &error));
	g_assert_no_error(error);
	f->backend = g_object_new(plugin_info->get_type(), NULL);
	g_signal_connect(f->backend, "vm-exited", G_CALLBACK(on_vm_exited), f);
	g_assert_true(sbx_hypervisor_backend_configure(f->backend, kf, plugin_info->name, &error));
	g_assert_no_error(error);
	f->dir = g_dir_make_tmp("sbx-hv-conformance-XXXXXX", &error);
	g_assert_no_error(error);
	/* the VMM may run as another user: it must reach the run folders */
	g_assert_cmpint(g_chmod(f->dir, 0711), ==, 0);
}

static void
teardown(Fixture *f, gconstpointer data)
{
	g_clear_object(&f->backend);
	g_assert_cmpint(g_rmdir(f->dir), ==, 0);
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

/* a spec as the core makes it: the image's kernel, initrd and command line,
 * a run folder of its own */
static SbxVmSpec *
make_spec(Fixture *f, const gchar *id)
{
	SbxVmSpec *spec = sbx_vm_spec_new();
	g_autofree gchar *cmdline_path = g_build_filename(opt_image_dir, "cmdline", NULL);
	g_autofree gchar *cmdline = NULL;

	spec->id = g_strconcat(id_prefix, id, NULL);
	spec->memory_mib = 512;
	spec->vcpus = 1;
	spec->kernel = g_build_filename(opt_image_dir, "vmlinuz", NULL);
	spec->initrd = g_build_filename(opt_image_dir, "initrd.img", NULL);
	if (g_file_get_contents(cmdline_path, &cmdline, NULL, NULL))
		spec->cmdline = g_strdup(g_strstrip(cmdline));
	else
		spec->cmdline = g_strdup("console=ttyS0");
	spec->run_dir = g_build_filename(f->dir, spec->id, NULL);
	spec->agent_socket = g_build_filename(spec->run_dir, "agent.sock", NULL);
	spec->console_log = g_build_filename(spec->run_dir, "console.log", NULL);
	g_assert_cmpint(g_mkdir(spec->run_dir, 0750), ==, 0);
	return spec;
}

static gboolean
cancel_cb(gpointer data)
{
	g_cancellable_cancel(data);
	return G_SOURCE_REMOVE;
}

static gboolean
start(Fixture *f, const SbxVmSpec *spec, GError **error)
{
	g_autoptr(GAsyncResult) res = NULL;
	/* a guest boots within a minute even under TCG */
	g_autoptr(GCancellable) cancellable = g_cancellable_new();
	guint timer = g_timeout_add_seconds(120, cancel_cb, cancellable);

	sbx_hypervisor_backend_start_vm_async(f->backend, spec, cancellable, on_done, f);
	res = wait_result(f);
	g_source_remove(timer);
	return sbx_hypervisor_backend_start_vm_finish(f->backend, res, error);
}

static void
destroy(Fixture *f, const gchar *id)
{
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(GError) error = NULL;

	sbx_hypervisor_backend_destroy_vm_async(f->backend, id, NULL, on_done, f);
	res = wait_result(f);
	g_assert_true(sbx_hypervisor_backend_destroy_vm_finish(f->backend, res, &error));
	g_assert_no_error(error);
}

/* the core's job, here: remove the run folder once the backend is done; it
 * must hold nothing but the console log the core reads */
static void
remove_run_dir(const SbxVmSpec *spec)
{
	g_autoptr(GDir) dir = g_dir_open(spec->run_dir, 0, NULL);
	const gchar *name;

	g_unlink(spec->console_log);
	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL)
		g_error("%s left %s in the run folder", plugin_info->name, name);
	g_assert_cmpint(g_rmdir(spec->run_dir), ==, 0);
}

static gboolean
listed(Fixture *f, const gchar *id)
{
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) ids = NULL;

	sbx_hypervisor_backend_list_vms_async(f->backend, NULL, on_done, f);
	res = wait_result(f);
	ids = sbx_hypervisor_backend_list_vms_finish(f->backend, res, &error);
	g_assert_no_error(error);
	return g_strv_contains((const gchar *const *)ids, id);
}

/* the core's connect loop: retry until the agent answers HELLO (the core's
 * BootTimeoutSec is 300 s in the integration tests: a boot under TCG on a
 * loaded host) */
static void
agent_hello(Fixture *f, const SbxVmSpec *spec)
{
	gint64 deadline = g_get_monotonic_time() + 120 * G_USEC_PER_SEC;

	for (;;) {
		g_autoptr(GAsyncResult) res = NULL;
		g_autoptr(GError) error = NULL;
		g_autoptr(GIOStream) stream = NULL;
		guint8 frame[SBX_PROTO_HEADER_SIZE + 12];
		guint8 reply[SBX_PROTO_HEADER_SIZE];
		SbxFrameHeader h = {.type = SBX_MSG_HELLO, .channel = 0, .length = 12};
		gsize n = 0;

		sbx_hypervisor_backend_connect_agent_async(f->backend, spec->id, spec->agent_socket,
							   NULL, on_done, f);
		res = wait_result(f);
		stream = sbx_hypervisor_backend_connect_agent_finish(f->backend, res, &error);
		if (stream == NULL) {
			g_assert_cmpint(g_get_monotonic_time(), <, deadline);
			g_usleep(50000);
			continue;
		}
		sbx_proto_header_encode(frame, &h);
		sbx_proto_put_u32(frame + SBX_PROTO_HEADER_SIZE, SBX_PROTO_MAGIC);
		sbx_proto_put_u32(frame + SBX_PROTO_HEADER_SIZE + 4, 1);
		sbx_proto_put_u32(frame + SBX_PROTO_HEADER_SIZE + 8, SBX_PROTO_VERSION);
		g_assert_true(g_output_stream_write_all(g_io_stream_get_output_stream(stream),
							frame, sizeof(frame), NULL, NULL, &error));
		g_assert_true(g_input_stream_read_all(g_io_stream_get_input_stream(stream), reply,
						      sizeof(reply), &n, NULL, &error));
		g_assert_no_error(error);
		g_assert_cmpuint(n, ==, sizeof(reply));
		sbx_proto_header_decode(reply, &h);
		g_assert_cmpuint(h.type, ==, SBX_MSG_HELLO_REPLY);
		return;
	}
}

static void
test_lifecycle(Fixture *f, gconstpointer data)
{
	g_autoptr(SbxVmSpec) spec = make_spec(f, "1");
	g_autoptr(SbxVmSpec) twin = NULL;
	g_autoptr(SbxVmSpec) other = make_spec(f, "2");
	g_autoptr(GError) error = NULL;

	g_assert_true(start(f, spec, &error));
	g_assert_no_error(error);
	g_assert_true(listed(f, spec->id));
	agent_hello(f, spec);
	/* the same id twice: refused, the first one untouched */
	twin = sbx_vm_spec_copy(spec);
	g_assert_false(start(f, twin, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS);
	g_clear_error(&error);
	/* a second VM beside it */
	g_assert_true(start(f, other, &error));
	g_assert_no_error(error);
	agent_hello(f, other);
	agent_hello(f, spec);
	destroy(f, spec->id);
	destroy(f, other->id);
	g_assert_false(listed(f, spec->id));
	g_assert_false(listed(f, other->id));
	g_assert_cmpuint(f->exited, ==, 0);
	remove_run_dir(spec);
	remove_run_dir(other);
	destroy(f, "sbxnosuch");
}

int
main(int argc, char **argv)
{
	gboolean tap = FALSE;
	GOptionEntry entries[] = {
	    {"plugin", 0, 0, G_OPTION_ARG_FILENAME, &opt_plugin, "the plugin", "PATH"},
	    {"config", 0, 0, G_OPTION_ARG_FILENAME, &opt_config, "the config file", "FILE"},
	    {"image-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_image_dir, "the guest image", "DIR"},
	    {"tap", 0, 0, G_OPTION_ARG_NONE, &tap, "TAP output (meson)", NULL},
	    {NULL},
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
	g_autoptr(GError) error = NULL;

	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_ignore_unknown_options(ctx, TRUE);
	if (!g_option_context_parse(ctx, &argc, &argv, &error))
		g_error("%s", error->message);
	if (opt_plugin == NULL || opt_config == NULL || opt_image_dir == NULL)
		g_error("usage: %s --plugin PATH.so --config FILE --image-dir DIR", argv[0]);
	g_test_init(&argc, &argv, NULL);
	id_prefix = g_strdup_printf("sbxconf%d-", (gint)getpid());
	load_plugin();
	g_test_add("/hypervisor-conformance/lifecycle", Fixture, NULL, setup, test_lifecycle,
		   teardown);
	return g_test_run();
}
