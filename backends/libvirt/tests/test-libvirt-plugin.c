/* the libvirt plugin loaded like the daemon loads it, booting real VMs
 * through a real libvirtd (qemu:///system unless SBX_TEST_LIBVIRT_URI)
 *
 * needs root, libvirtd and the guest image (see get_image())
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gio/gio.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <unistd.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "sbx-hypervisor-backend.h"
#include "sbx-plugin.h"
#include "sbx-test-supervisor.h"

typedef struct {
	SbxHypervisorBackend *backend;
	GMainLoop *loop;
	GAsyncResult *res;
	gchar *exited_id;
} Fixture;

/* the supervisor's folder (sbx_supervisor_fork()) */
static gchar *supervisor_dir;

static const gchar *
uri(void)
{
	const gchar *env = g_getenv("SBX_TEST_LIBVIRT_URI");
	return env != NULL ? env : "qemu:///system";
}

static SbxHypervisorBackend *
load_backend(void)
{
	g_autofree gchar *path = g_build_filename(TEST_PLUGIN_DIR, "libsbx-libvirt.so", NULL);
	GModule *module = g_module_open(path, G_MODULE_BIND_LOCAL);
	SbxPluginQueryFunc query = NULL;
	const SbxPluginInfo *info;

	if (module == NULL)
		g_error("%s", g_module_error());
	g_assert_true(g_module_symbol(module, SBX_PLUGIN_QUERY_SYMBOL, (gpointer *)&query));
	info = query();
	g_assert_cmpuint(info->abi_version, ==, SBX_PLUGIN_ABI_VERSION);
	g_assert_cmpuint(info->struct_size, ==, sizeof(SbxPluginInfo));
	g_assert_cmpint(info->kind, ==, SBX_PLUGIN_KIND_HYPERVISOR);
	g_assert_cmpstr(info->name, ==, "libvirt");
	/* types are static: the module must stay */
	g_module_make_resident(module);
	return g_object_new(info->get_type(), NULL);
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
	g_autofree gchar *ours = g_strdup_printf("sbx-test-%d-", (int)getpid());

	/* list_vms watches every sandboxd domain of a shared libvirtd: another
	 * daemon's VM that stops is reported too; only ours matter here */
	if (!g_str_has_prefix(id, ours)) {
		g_test_message("ignoring vm-exited of %s (not this test's)", id);
		return;
	}
	g_free(f->exited_id);
	f->exited_id = g_strdup(id);
	g_main_loop_quit(f->loop);
}

/* the guest image: SBX_TEST_IMAGE_DIR (vmlinuz, initrd.img, cmdline as
 * image/build-image.sh writes them), or SBX_TEST_KERNEL/_INITRD/_CMDLINE */
static void
get_image(gchar **kernel, gchar **initrd, gchar **cmdline)
{
	const gchar *dir = g_getenv("SBX_TEST_IMAGE_DIR");

	if (g_getenv("SBX_TEST_KERNEL") != NULL) {
		*kernel = g_strdup(g_getenv("SBX_TEST_KERNEL"));
		*initrd = g_strdup(g_getenv("SBX_TEST_INITRD"));
		*cmdline = g_strdup(g_getenv("SBX_TEST_CMDLINE"));
	} else if (dir != NULL) {
		g_autofree gchar *fn = g_build_filename(dir, "cmdline", NULL);
		*kernel = g_build_filename(dir, "vmlinuz", NULL);
		*initrd = g_build_filename(dir, "initrd.img", NULL);
		if (g_file_get_contents(fn, cmdline, NULL, NULL))
			g_strstrip(*cmdline);
	}
	if (*kernel == NULL || !g_file_test(*kernel, G_FILE_TEST_EXISTS))
		g_error("no guest kernel: set SBX_TEST_IMAGE_DIR (ninja -C BUILDDIR image)");
	if (*cmdline == NULL)
		*cmdline = g_strdup("console=ttyS0");
}

static SbxVmSpec *
make_spec(const gchar *id, const gchar *run_dir)
{
	SbxVmSpec *spec = sbx_vm_spec_new();

	spec->id = g_strdup(id);
	spec->memory_mib = 768;
	spec->vcpus = 1;
	get_image(&spec->kernel, &spec->initrd, &spec->cmdline);
	spec->run_dir = g_build_filename(run_dir, id, NULL);
	spec->agent_socket = g_build_filename(spec->run_dir, "agent.sock", NULL);
	spec->console_log = g_build_filename(spec->run_dir, "console.log", NULL);
	/* like the core: root-owned, 0750 */
	g_assert_cmpint(g_mkdir(spec->run_dir, 0750), ==, 0);
	return spec;
}

static void
start(Fixture *f, const SbxVmSpec *spec)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GAsyncResult) res = NULL;
	gint64 begin = g_get_monotonic_time();

	sbx_hypervisor_backend_start_vm_async(f->backend, spec, NULL, async_cb, f);
	res = wait_result(f);
	g_assert_true(sbx_hypervisor_backend_start_vm_finish(f->backend, res, &error));
	g_assert_no_error(error);
	g_test_message("start of %s took %.3f s", spec->id, (g_get_monotonic_time() - begin) / 1e6);
	g_assert_true(g_file_test(spec->agent_socket, G_FILE_TEST_EXISTS));
}

static void
destroy(Fixture *f, const gchar *id)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GAsyncResult) res = NULL;
	gint64 begin = g_get_monotonic_time();

	sbx_hypervisor_backend_destroy_vm_async(f->backend, id, NULL, async_cb, f);
	res = wait_result(f);
	g_assert_true(sbx_hypervisor_backend_destroy_vm_finish(f->backend, res, &error));
	g_assert_no_error(error);
	g_test_message("destroy of %s took %.3f s", id, (g_get_monotonic_time() - begin) / 1e6);
}

static gchar **
list(Fixture *f)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GAsyncResult) res = NULL;
	gchar **ids;

	sbx_hypervisor_backend_list_vms_async(f->backend, NULL, async_cb, f);
	res = wait_result(f);
	ids = sbx_hypervisor_backend_list_vms_finish(f->backend, res, &error);
	g_assert_no_error(error);
	g_assert_nonnull(ids);
	return ids;
}

static gboolean
timeout_cb(gpointer user_data)
{
	g_error("timed out");
	return G_SOURCE_REMOVE;
}

/* the guest's serial console reaches the log file */
static void
wait_console_output(Fixture *f, const gchar *path)
{
	gint64 begin = g_get_monotonic_time();

	for (guint i = 0; i < 600; i++) {
		g_autofree gchar *contents = NULL;
		if (g_file_get_contents(path, &contents, NULL, NULL) && contents[0] != '\0') {
			g_test_message("console output after %.3f s",
				       (g_get_monotonic_time() - begin) / 1e6);
			return;
		}
		g_usleep(100000);
	}
	g_error("nothing on the console in %s", path);
}

/* destroy returns once QEMU is gone; libvirt drops the domain right after,
 * in the background */
static void
assert_domain_gone_soon(const gchar *id)
{
	virConnectPtr conn = virConnectOpen(uri());
	virDomainPtr dom;
	gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

	g_assert_nonnull(conn);
	while ((dom = virDomainLookupByName(conn, id)) != NULL) {
		virDomainFree(dom);
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_usleep(G_USEC_PER_SEC / 10);
	}
	g_assert_cmpint(virGetLastError()->code, ==, VIR_ERR_NO_DOMAIN);
	virConnectClose(conn);
}

static void
destroy_from_outside(const gchar *id)
{
	virConnectPtr conn = virConnectOpen(uri());
	virDomainPtr dom;

	g_assert_nonnull(conn);
	dom = virDomainLookupByName(conn, id);
	g_assert_nonnull(dom);
	g_assert_cmpint(virDomainDestroy(dom), ==, 0);
	virDomainFree(dom);
	virConnectClose(conn);
}

static gchar *
run(const gchar *const *argv)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	gchar *out = NULL;

	proc = g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
	g_assert_no_error(error);
	g_assert_true(g_subprocess_communicate_utf8(proc, NULL, NULL, &out, NULL, &error));
	g_assert_no_error(error);
	g_assert_true(g_subprocess_get_successful(proc));
	return out;
}

/* makes libvirtd drop the plugin's connection (as a libvirtd restart would);
 * returns how many connections of this process it dropped */
static guint
disconnect_from_libvirtd(void)
{
	const gchar *list_argv[] = {"virt-admin", "srv-clients-list", "libvirtd", NULL};
	g_autofree gchar *list = run(list_argv);
	g_auto(GStrv) lines = g_strsplit(list, "\n", -1);
	g_autofree gchar *pid_line = g_strdup_printf("unix_process_id: %d", (int)getpid());
	guint dropped = 0;

	for (guint i = 0; lines[i] != NULL; i++) {
		g_autofree gchar *id = NULL;
		g_autofree gchar *info = NULL;
		gchar *end = NULL;
		guint64 n = g_ascii_strtoull(g_strstrip(lines[i]), &end, 10);

		if (end == lines[i] || (*end != ' ' && *end != '\0') || n == 0)
			continue;
		id = g_strdup_printf("%" G_GUINT64_FORMAT, n);
		{
			const gchar *info_argv[] = {"virt-admin", "client-info", "libvirtd", id,
						    NULL};
			info = run(info_argv);
		}
		if (strstr(info, pid_line) == NULL)
			continue;
		{
			const gchar *dc_argv[] = {"virt-admin", "client-disconnect", "libvirtd", id,
						  NULL};
			g_free(run(dc_argv));
		}
		dropped++;
	}
	return dropped;
}

static gboolean
quit_cb(gpointer user_data)
{
	g_main_loop_quit(user_data);
	return G_SOURCE_REMOVE;
}

static void
silent_error_func(void *opaque, virErrorPtr error)
{
}

static void
test_lifecycle(void)
{
	Fixture f = {0};
	g_autoptr(GKeyFile) config = g_key_file_new();
	g_autoptr(GError) error = NULL;
	/* below the supervisor's folder: it removes everything if we are killed */
	g_autofree gchar *run_dir = g_build_filename(supervisor_dir, "run", NULL);
	/* unique per process: two test runs may share the host */
	g_autofree gchar *id1 = g_strdup_printf("sbx-test-%d-1", (int)getpid());
	g_autofree gchar *id2 = g_strdup_printf("sbx-test-%d-2", (int)getpid());
	g_autoptr(SbxVmSpec) spec1 = NULL;
	g_autoptr(SbxVmSpec) spec2 = NULL;
	g_auto(GStrv) ids = NULL;
	const gchar *type;
	guint timeout_id;
	int fd;

	/* the run dirs sit in 0755 parents like /run/sandboxd */
	g_assert_cmpint(g_mkdir(run_dir, 0755), ==, 0);
	g_assert_cmpint(g_chmod(supervisor_dir, 0755), ==, 0);
	f.loop = g_main_loop_new(NULL, FALSE);
	f.backend = load_backend();
	g_signal_connect(f.backend, "vm-exited", G_CALLBACK(exited_cb), &f);
	g_key_file_set_string(config, "libvirt", "URI", uri());
	g_assert_true(sbx_hypervisor_backend_configure(f.backend, config, "libvirt", &error));
	g_assert_no_error(error);
	timeout_id = g_timeout_add_seconds(300, timeout_cb, NULL);

	/* without /dev/kvm, or under PVM, auto must pick TCG */
	fd = g_open("/dev/kvm", O_RDWR, 0);
	if (fd < 0 || g_file_test("/sys/module/kvm_pvm", G_FILE_TEST_EXISTS)) {
		g_assert_cmpstr(sbx_hypervisor_backend_get_domain_type(f.backend), ==, "qemu");
	}
	if (fd >= 0)
		close(fd);

	/* one vm stopped from outside: vm-exited, then destroy cleans up */
	spec1 = make_spec(id1, run_dir);
	sbx_supervisor_record_domain(supervisor_dir, id1);
	start(&f, spec1);
	type = sbx_hypervisor_backend_get_domain_type(f.backend);
	g_assert_true(g_strcmp0(type, "qemu") == 0 || g_strcmp0(type, "kvm") == 0);
	g_test_message("domain type %s", type);
	ids = list(&f);
	g_assert_true(g_strv_contains((const gchar *const *)ids, id1));
	wait_console_output(&f, spec1->console_log);
	/* the plugin notices a lost connection, reconnects and still reports the
	 * exit (from the event, or from its sweep after reconnecting) */
	if (g_getenv("SBX_TEST_LIBVIRT_URI") == NULL) {
		/* our client may be mid-reconnect (keepalive under load): retry */
		guint dropped = 0;
		for (guint i = 0; i < 20 && dropped == 0; i++) {
			dropped = disconnect_from_libvirtd();
			if (dropped == 0)
				g_usleep(G_USEC_PER_SEC / 2);
		}
		g_assert_cmpuint(dropped, ==, 1);
	}
	destroy_from_outside(id1);
	g_main_loop_run(f.loop);
	g_assert_cmpstr(f.exited_id, ==, id1);
	g_clear_pointer(&f.exited_id, g_free);
	destroy(&f, id1);
	g_assert_false(g_file_test(spec1->console_log, G_FILE_TEST_EXISTS));
	g_assert_false(g_file_test(spec1->agent_socket, G_FILE_TEST_EXISTS));
	g_assert_cmpint(g_rmdir(spec1->run_dir), ==, 0);

	/* a second one destroyed by us: no vm-exited, nothing left */
	spec2 = make_spec(id2, run_dir);
	sbx_supervisor_record_domain(supervisor_dir, id2);
	start(&f, spec2);
	destroy(&f, id2);
	assert_domain_gone_soon(id2);
	/* libvirt's own per-domain log goes too (sandbox ids are never reused) */
	if (g_getenv("SBX_TEST_LIBVIRT_URI") == NULL) {
		g_autofree gchar *qemu_log = g_strdup_printf("/var/log/libvirt/qemu/%s.log", id2);
		gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
		/* removed by the backend once libvirtd stopped writing it */
		while (g_file_test(qemu_log, G_FILE_TEST_EXISTS)) {
			g_assert_cmpint(g_get_monotonic_time(), <, deadline);
			g_usleep(G_USEC_PER_SEC / 10);
		}
	}
	/* the run dir is empty again: the core can rmdir it */
	g_assert_cmpint(g_rmdir(spec2->run_dir), ==, 0);
	/* destroying what does not exist succeeds */
	destroy(&f, id2);
	g_strfreev(ids);
	ids = list(&f);
	g_assert_false(g_strv_contains((const gchar *const *)ids, id2));
	/* let a late (wrong) vm-exited arrive if there is one */
	g_timeout_add(500, quit_cb, f.loop);
	g_main_loop_run(f.loop);
	g_assert_null(f.exited_id);

	g_source_remove(timeout_id);
	g_assert_cmpint(g_rmdir(run_dir), ==, 0);
	g_object_unref(f.backend);
	g_main_loop_unref(f.loop);
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;

	/* a forked parent destroys the recorded domains and removes the folder
	 * when this process ends, however it ends (meson's timeout, a crash) */
	supervisor_dir = g_dir_make_tmp("sbx-libvirt-test-XXXXXX", &error);
	g_assert_no_error(error);
	sbx_supervisor_fork(supervisor_dir);
	g_test_init(&argc, &argv, NULL);
	virSetErrorFunc(NULL, silent_error_func);
	g_test_add_func("/libvirt/plugin/lifecycle", test_lifecycle);
	return g_test_run();
}
