/* the libvirt plugin, loaded like the daemon loads it, against libvirt's
 * in-process test:///default driver: start, list, destroy, vm-exited and
 * foreign domains without booting anything
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sbx-hypervisor-backend.h"
#include "sbx-plugin.h"

#define TEST_URI "test:///default"

typedef struct {
	SbxHypervisorBackend *backend;
	GMainLoop *loop;
	GAsyncResult *res;
	gchar *exited_id;
	gchar *run_dir;
} Fixture;

static SbxHypervisorBackend *
load_backend(void)
{
	g_autofree gchar *path = g_build_filename(TEST_PLUGIN_DIR, "libsbx-libvirt.so", NULL);
	GModule *module = g_module_open(path, G_MODULE_BIND_LOCAL);
	SbxPluginQueryFunc query = NULL;

	if (module == NULL)
		g_error("%s", g_module_error());
	g_assert_true(g_module_symbol(module, SBX_PLUGIN_QUERY_SYMBOL, (gpointer *)&query));
	g_module_make_resident(module);
	return g_object_new(query()->get_type(), NULL);
}

static void
async_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Fixture *f = user_data;
	f->res = g_object_ref(res);
	g_main_loop_quit(f->loop);
}

static GAsyncResult *
wait_result(Fixture *f)
{
	g_main_loop_run(f->loop);
	return g_steal_pointer(&f->res);
}

static void
exited_cb(SbxHypervisorBackend *backend, const gchar *id, gpointer user_data)
{
	Fixture *f = user_data;
	g_free(f->exited_id);
	f->exited_id = g_strdup(id);
	g_main_loop_quit(f->loop);
}

static gboolean
start(Fixture *f, const SbxVmSpec *spec, GError **error)
{
	g_autoptr(GAsyncResult) res = NULL;
	sbx_hypervisor_backend_start_vm_async(f->backend, spec, NULL, async_cb, f);
	res = wait_result(f);
	return sbx_hypervisor_backend_start_vm_finish(f->backend, res, error);
}

static gboolean
destroy(Fixture *f, const gchar *id, GError **error)
{
	g_autoptr(GAsyncResult) res = NULL;
	sbx_hypervisor_backend_destroy_vm_async(f->backend, id, NULL, async_cb, f);
	res = wait_result(f);
	return sbx_hypervisor_backend_destroy_vm_finish(f->backend, res, error);
}

static gchar **
list(Fixture *f)
{
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(GError) error = NULL;
	gchar **ids;

	sbx_hypervisor_backend_list_vms_async(f->backend, NULL, async_cb, f);
	res = wait_result(f);
	ids = sbx_hypervisor_backend_list_vms_finish(f->backend, res, &error);
	g_assert_no_error(error);
	return ids;
}

/* the test driver runs nothing, so the test plays libvirt's part: the
 * listening agent socket */
static int
listen_on(const gchar *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpuint(strlen(path), <, sizeof(addr.sun_path));
	strcpy(addr.sun_path, path);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
	g_assert_cmpint(listen(fd, 1), ==, 0);
	return fd;
}

static SbxVmSpec *
make_spec(Fixture *f, const gchar *id)
{
	SbxVmSpec *spec = sbx_vm_spec_new();
	spec->id = g_strdup(id);
	spec->memory_mib = 1024;
	spec->vcpus = 2;
	spec->kernel = g_strdup("/boot/vmlinuz");
	spec->cmdline = g_strdup("console=ttyS0");
	spec->run_dir = g_strdup(f->run_dir);
	spec->agent_socket = g_strdup_printf("%s/%s.sock", f->run_dir, id);
	spec->console_log = g_strdup_printf("%s/%s.log", f->run_dir, id);
	return spec;
}

static gboolean
domain_is_active(const gchar *name)
{
	virConnectPtr conn = virConnectOpen(TEST_URI);
	virDomainPtr dom = virDomainLookupByName(conn, name);
	gboolean active = dom != NULL && virDomainIsActive(dom) == 1;

	if (dom != NULL)
		virDomainFree(dom);
	virConnectClose(conn);
	return active;
}

static void
silent_error_func(void *opaque, virErrorPtr error)
{
}

static void
test_testdriver(void)
{
	Fixture f = {0};
	g_autoptr(GKeyFile) config = g_key_file_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxVmSpec) spec = NULL;
	g_auto(GStrv) ids = NULL;
	virConnectPtr conn;
	virDomainPtr dom;
	int fd;

	f.loop = g_main_loop_new(NULL, FALSE);
	f.run_dir = g_dir_make_tmp("sbx-libvirt-td-XXXXXX", &error);
	g_assert_no_error(error);
	f.backend = load_backend();
	g_signal_connect(f.backend, "vm-exited", G_CALLBACK(exited_cb), &f);
	g_key_file_set_string(config, "libvirt", "URI", TEST_URI);
	g_key_file_set_string(config, "libvirt", "DomainType", "qemu");
	g_assert_true(sbx_hypervisor_backend_configure(f.backend, config, "libvirt", &error));
	g_assert_no_error(error);
	g_assert_cmpstr(sbx_hypervisor_backend_get_domain_type(f.backend), ==, "qemu");

	/* the test driver's own domain "test" is running, and not ours */
	g_assert_true(domain_is_active("test"));
	ids = list(&f);
	g_assert_cmpuint(g_strv_length(ids), ==, 0);
	g_assert_true(destroy(&f, "test", &error));
	g_assert_no_error(error);
	g_assert_true(domain_is_active("test"));
	/* nor is its name free for a sandbox */
	spec = make_spec(&f, "test");
	g_assert_false(start(&f, spec, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS);
	g_clear_error(&error);
	g_clear_pointer(&spec, sbx_vm_spec_free);

	/* start, list, destroy */
	spec = make_spec(&f, "sbx-td-1");
	fd = listen_on(spec->agent_socket);
	g_assert_true(start(&f, spec, &error));
	g_assert_no_error(error);
	g_assert_true(domain_is_active("sbx-td-1"));
	g_strfreev(ids);
	ids = list(&f);
	g_assert_cmpuint(g_strv_length(ids), ==, 1);
	g_assert_cmpstr(ids[0], ==, "sbx-td-1");
	/* a second start of the same id is refused and harms nothing */
	g_assert_false(start(&f, spec, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS);
	g_clear_error(&error);
	g_assert_true(domain_is_active("sbx-td-1"));
	g_file_set_contents(spec->console_log, "boot\n", -1, &error);
	g_assert_no_error(error);
	g_assert_true(destroy(&f, "sbx-td-1", &error));
	g_assert_no_error(error);
	g_assert_false(domain_is_active("sbx-td-1"));
	g_assert_false(g_file_test(spec->console_log, G_FILE_TEST_EXISTS));
	g_strfreev(ids);
	ids = list(&f);
	g_assert_cmpuint(g_strv_length(ids), ==, 0);

	/* stopped from outside: vm-exited; then destroy removes the log */
	g_assert_true(start(&f, spec, &error));
	g_assert_no_error(error);
	g_file_set_contents(spec->console_log, "boot\n", -1, &error);
	g_assert_no_error(error);
	conn = virConnectOpen(TEST_URI);
	dom = virDomainLookupByName(conn, "sbx-td-1");
	g_assert_nonnull(dom);
	g_assert_cmpint(virDomainDestroy(dom), ==, 0);
	virDomainFree(dom);
	virConnectClose(conn);
	g_main_loop_run(f.loop);
	g_assert_cmpstr(f.exited_id, ==, "sbx-td-1");
	g_assert_true(destroy(&f, "sbx-td-1", &error));
	g_assert_no_error(error);
	g_assert_false(g_file_test(spec->console_log, G_FILE_TEST_EXISTS));
	close(fd);
	g_unlink(spec->agent_socket);
	g_clear_pointer(&spec, sbx_vm_spec_free);

	/* no socket ever appears: start fails and leaves no domain (5 s) */
	spec = make_spec(&f, "sbx-td-2");
	g_assert_false(start(&f, spec, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
	g_assert_nonnull(strstr(error->message, "sbx-td-2"));
	g_clear_error(&error);
	g_assert_false(domain_is_active("sbx-td-2"));

	/* bad specs never reach libvirt */
	g_free(spec->id);
	spec->id = g_strdup("Bad<id>");
	g_assert_false(start(&f, spec, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);

	g_assert_cmpint(g_rmdir(f.run_dir), ==, 0);
	g_free(f.run_dir);
	g_free(f.exited_id);
	g_object_unref(f.backend);
	g_main_loop_unref(f.loop);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	virSetErrorFunc(NULL, silent_error_func);
	g_test_add_func("/libvirt/testdriver", test_testdriver);
	return g_test_run();
}
