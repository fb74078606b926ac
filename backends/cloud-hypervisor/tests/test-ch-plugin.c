/* the loaded cloud-hypervisor plugin driven through the fake binary
 * (fake-cloud-hypervisor: the real flags, the API and events on the passed
 * fds, the real agent behind a hybrid-vsock socket): start, agent over vsock,
 * destroy, guest poweroff and panic, version refusal, error bodies, qcow2
 * overlays per version, volumes, cancellation; nothing left behind
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <pwd.h>
#include <signal.h>
#include <sys/acl.h>
#include <unistd.h>
#include <sys/stat.h>

#include <acl/libacl.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "sbx-ch-api.h"
#include "sbx-hypervisor-backend.h"
#include "sbx-plugin.h"
#include "sbx-protocol.h"

static GType backend_type;
/* unique per run, so two runs at once share no tap or nftables table: valid
 * sandbox ids ("sbx" and 13 of a-z 0-9) from the pid (main()) */
static gchar *vm_id;
static gchar *clone_id;

/* as sbx_tap_name() (backends/tap/sbx-tap.c): "st" and the id's last 13 */
static gchar *
tap_of(const gchar *id)
{
	return g_strdup_printf("st%s", id + strlen(id) - 13);
}

/* the plugin's error domain, by name: its code lives in the loaded plugin */
#undef SBX_CH_API_ERROR
#define SBX_CH_API_ERROR (g_quark_from_static_string("sbx-ch-api-error-quark"))

typedef struct {
	SbxHypervisorBackend *backend;
	gchar *dir;
	gchar *run_dir;
	gchar *trace;
	gchar *guest_dir;
	SbxVmSpec *spec;
	GAsyncResult *res;
	GAsyncResult *res2;
	guint exited;
	gchar *exited_id;
} Fixture;

static void
load_plugin(void)
{
	g_autofree gchar *path =
	    g_build_filename(TEST_PLUGIN_DIR, "libsbx-cloud-hypervisor.so", NULL);
	GModule *module = g_module_open(path, G_MODULE_BIND_LOCAL);
	SbxPluginQueryFunc query = NULL;
	const SbxPluginInfo *info;

	if (module == NULL)
		g_error("%s", g_module_error());
	g_assert_true(g_module_symbol(module, SBX_PLUGIN_QUERY_SYMBOL, (gpointer *)&query));
	g_module_make_resident(module);
	info = query();
	g_assert_cmpuint(info->abi_version, ==, SBX_PLUGIN_ABI_VERSION);
	g_assert_cmpint(info->kind, ==, SBX_PLUGIN_KIND_HYPERVISOR);
	g_assert_cmpstr(info->name, ==, "cloud-hypervisor");
	backend_type = info->get_type();
}

static void
on_vm_exited(SbxHypervisorBackend *backend, const gchar *id, gpointer user_data)
{
	Fixture *f = user_data;
	f->exited++;
	g_free(f->exited_id);
	f->exited_id = g_strdup(id);
}

static void
configure(Fixture *f, const gchar *extra)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) error = NULL;
	/* the jail without a user switch or cgroup (this test is not root's
	 * business), and /tmp shared: the run folder is under it */
	g_autofree gchar *text = g_strdup_printf(
	    "[cloud-hypervisor]\nBinary=%s\nUser=root\nPrivateTmp=false\nCgroupRoot=%s/cg\n"
	    "RecordDir=%s/records\n%s",
	    FAKE_CH, f->dir, f->dir, extra != NULL ? extra : "");

	g_assert_true(g_key_file_load_from_data(kf, text, -1, G_KEY_FILE_NONE, &error));
	g_assert_true(sbx_hypervisor_backend_configure(f->backend, kf, "cloud-hypervisor", &error));
	g_assert_no_error(error);
}

static void
setup(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	f->dir = g_dir_make_tmp("sbx-ch-plugin-XXXXXX", &error);
	g_assert_no_error(error);
	f->run_dir = g_build_filename(f->dir, vm_id, NULL);
	g_assert_cmpint(g_mkdir(f->run_dir, 0750), ==, 0);
	f->trace = g_build_filename(f->dir, "trace", NULL);
	f->backend = g_object_new(backend_type, NULL);
	g_signal_connect(f->backend, "vm-exited", G_CALLBACK(on_vm_exited), f);
	configure(f, NULL);
	f->spec = sbx_vm_spec_new();
	f->spec->id = g_strdup(vm_id);
	f->spec->memory_mib = 256;
	f->spec->vcpus = 1;
	f->spec->kernel = g_strdup("/boot/vmlinuz-test");
	f->spec->cmdline = g_strdup("console=ttyS0");
	f->spec->run_dir = g_strdup(f->run_dir);
	f->spec->agent_socket = g_build_filename(f->run_dir, "agent.sock", NULL);
	f->spec->console_log = g_build_filename(f->run_dir, "console.log", NULL);
	g_setenv("SBX_FAKE_CH_AGENT", AGENT, TRUE);
	g_setenv("SBX_FAKE_CH_TRACE", f->trace, TRUE);
	f->guest_dir = g_build_filename(f->dir, "guest", NULL);
	g_setenv("SBX_FAKE_CH_GUEST_DIR", f->guest_dir, TRUE);
	/* "" = unset to the fake; unsetenv() is not thread-safe (GLib says so) */
	g_setenv("SBX_FAKE_CH_VERSION", "", TRUE);
	g_setenv("SBX_FAKE_CH_FAIL", "", TRUE);
	g_setenv("SBX_FAKE_CH_DISKS_REVERSED", "", TRUE);
}

/* the fake's guest folders: guest-PID/agent.sock from a fake that was killed,
 * or agent.sock.PID when its agent died between bind() and rename() */
static void
rm_guest_dir(const gchar *path)
{
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	const gchar *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *sub = g_build_filename(path, name, NULL);
		g_autoptr(GDir) guest = g_dir_open(sub, 0, NULL);
		const gchar *file;

		while (guest != NULL && (file = g_dir_read_name(guest)) != NULL) {
			g_autofree gchar *sock = g_build_filename(sub, file, NULL);
			if (g_str_has_prefix(file, "agent.sock"))
				g_unlink(sock);
		}
		g_rmdir(sub);
	}
	g_rmdir(path);
}

static void
teardown(Fixture *f, gconstpointer data)
{
	g_autofree gchar *console = g_build_filename(f->run_dir, "console.log", NULL);
	g_autoptr(GDir) dir = NULL;
	const gchar *name;

	g_clear_object(&f->backend);
	/* the core removes the run folder; the backend leaves nothing but the console */
	g_unlink(console);
	dir = g_dir_open(f->run_dir, 0, NULL);
	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL)
		g_test_message("left behind in the run folder: %s", name);
	g_assert_cmpint(g_rmdir(f->run_dir), ==, 0);
	g_unlink(f->trace);
	rm_guest_dir(f->guest_dir);
	{
		/* every record went with its VMM */
		/* a VMM killed by a failed start is reaped a moment later */
		g_autofree gchar *records = g_build_filename(f->dir, "records", NULL);
		gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
		while (g_rmdir(records) != 0) {
			g_assert_cmpint(g_get_monotonic_time(), <, deadline);
			g_main_context_iteration(NULL, FALSE);
			g_usleep(10000);
		}
	}
	{
		/* a storage daemon's exit watch removes its files when it fires; a
		 * killed fake's guest may leave its socket a moment later */
		gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
		while (rm_guest_dir(f->guest_dir), g_rmdir(f->dir) != 0) {
			if (g_get_monotonic_time() >= deadline) {
				g_autoptr(GDir) left = g_dir_open(f->dir, 0, NULL);
				g_autoptr(GDir) guest = g_dir_open(f->guest_dir, 0, NULL);
				while (left != NULL && (name = g_dir_read_name(left)) != NULL)
					g_test_message("left behind in the test folder: %s", name);
				while (guest != NULL && (name = g_dir_read_name(guest)) != NULL) {
					g_autofree gchar *sub =
					    g_build_filename(f->guest_dir, name, NULL);
					g_autoptr(GDir) d = g_dir_open(sub, 0, NULL);
					const gchar *n2;
					g_test_message("left behind in the guest folder: %s", name);
					while (d != NULL && (n2 = g_dir_read_name(d)) != NULL)
						g_test_message("  %s/%s", name, n2);
				}
			}
			g_assert_cmpint(g_get_monotonic_time(), <, deadline);
			g_main_context_iteration(NULL, FALSE);
			g_usleep(10000);
		}
	}
	sbx_vm_spec_free(f->spec);
	g_free(f->exited_id);
	g_free(f->trace);
	g_free(f->guest_dir);
	g_free(f->run_dir);
	g_free(f->dir);
}

static void
on_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Fixture *f = user_data;
	f->res = g_object_ref(res);
}

static void
on_done2(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Fixture *f = user_data;
	f->res2 = g_object_ref(res);
}

static GAsyncResult *
wait_result(Fixture *f)
{
	while (f->res == NULL)
		g_main_context_iteration(NULL, TRUE);
	return g_steal_pointer(&f->res);
}

static gboolean
start(Fixture *f, GCancellable *cancellable, GError **error)
{
	g_autoptr(GAsyncResult) res = NULL;
	sbx_hypervisor_backend_start_vm_async(f->backend, f->spec, cancellable, on_done, f);
	res = wait_result(f);
	return sbx_hypervisor_backend_start_vm_finish(f->backend, res, error);
}

static void
destroy(Fixture *f)
{
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(GError) error = NULL;
	sbx_hypervisor_backend_destroy_vm_async(f->backend, f->spec->id, NULL, on_done, f);
	res = wait_result(f);
	g_assert_true(sbx_hypervisor_backend_destroy_vm_finish(f->backend, res, &error));
	g_assert_no_error(error);
}

static gchar **
list(Fixture *f)
{
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(GError) error = NULL;
	gchar **ids;
	sbx_hypervisor_backend_list_vms_async(f->backend, NULL, on_done, f);
	res = wait_result(f);
	ids = sbx_hypervisor_backend_list_vms_finish(f->backend, res, &error);
	g_assert_no_error(error);
	return ids;
}

/* GET @endpoint of the VMM's API (plain blocking HTTP: the VMM is another
 * process); the answer's JSON object */
static JsonObject *
api_get(Fixture *f, const gchar *endpoint)
{
	g_autofree gchar *path = g_build_filename(f->spec->run_dir, "ch-api.sock", NULL);
	g_autoptr(GSocketClient) client = g_socket_client_new();
	g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(path);
	g_autoptr(GSocketConnection) conn = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autofree gchar *req =
	    g_strdup_printf("GET /api/v1/%s HTTP/1.1\r\nHost: localhost\r\n\r\n", endpoint);
	g_autoptr(GString) buf = g_string_new(NULL);
	const gchar *body;

	conn = g_socket_client_connect(client, G_SOCKET_CONNECTABLE(addr), NULL, &error);
	g_assert_no_error(error);
	g_assert_true(g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(conn)),
						req, strlen(req), NULL, NULL, &error));
	/* the answer ends with its JSON object */
	while (buf->len == 0 || buf->str[buf->len - 1] != '}') {
		gchar chunk[1024];
		gssize n = g_input_stream_read(g_io_stream_get_input_stream(G_IO_STREAM(conn)),
					       chunk, sizeof(chunk), NULL, &error);
		g_assert_no_error(error);
		g_assert_cmpint(n, >, 0);
		g_string_append_len(buf, chunk, n);
	}
	g_assert_true(g_str_has_prefix(buf->str, "HTTP/1.1 200 OK\r\n"));
	body = strstr(buf->str, "\r\n\r\n") + 4;
	g_assert_true(json_parser_load_from_data(parser, body, -1, &error));
	return json_object_ref(json_node_get_object(json_parser_get_root(parser)));
}

/* the VMM's pid, from its own vmm.ping */
static GPid
vmm_pid(Fixture *f)
{
	g_autoptr(JsonObject) ping = api_get(f, "vmm.ping");
	return (GPid)json_object_get_int_member(ping, "pid");
}

static gboolean
pid_gone(GPid pid)
{
	/* the backend reaps its child: no zombie either */
	return kill(pid, 0) != 0;
}

static gchar *
read_trace(Fixture *f)
{
	gchar *text = NULL;
	/* the fake writes its trace every 10 ms and when it exits */
	for (guint i = 0; i < 50; i++) {
		g_clear_pointer(&text, g_free);
		g_file_get_contents(f->trace, &text, NULL, NULL);
		if (text != NULL && strstr(text, "vmm.shutdown") != NULL)
			break;
		g_usleep(10000);
	}
	return text != NULL ? text : g_strdup("");
}

/* HELLO over the stream the plugin hands the core: the real agent answers */
static void
agent_hello(Fixture *f)
{
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GIOStream) stream = NULL;
	guint8 frame[SBX_PROTO_HEADER_SIZE + 12];
	guint8 reply[SBX_PROTO_HEADER_SIZE];
	SbxFrameHeader h = {.type = SBX_MSG_HELLO, .channel = 0, .length = 12};
	gsize n = 0;

	sbx_hypervisor_backend_connect_agent_async(f->backend, f->spec->id, f->spec->agent_socket,
						   NULL, on_done, f);
	res = wait_result(f);
	stream = sbx_hypervisor_backend_connect_agent_finish(f->backend, res, &error);
	g_assert_no_error(error);
	sbx_proto_header_encode(frame, &h);
	sbx_proto_put_u32(frame + SBX_PROTO_HEADER_SIZE, SBX_PROTO_MAGIC);
	sbx_proto_put_u32(frame + SBX_PROTO_HEADER_SIZE + 4, 1);
	sbx_proto_put_u32(frame + SBX_PROTO_HEADER_SIZE + 8, 1);
	g_assert_true(g_output_stream_write_all(g_io_stream_get_output_stream(stream), frame,
						sizeof(frame), NULL, NULL, &error));
	g_assert_true(g_input_stream_read_all(g_io_stream_get_input_stream(stream), reply,
					      sizeof(reply), &n, NULL, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(n, ==, sizeof(reply));
	sbx_proto_header_decode(reply, &h);
	g_assert_cmpuint(h.type, ==, SBX_MSG_HELLO_REPLY);
}

static void
test_lifecycle(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) ids = NULL;
	g_autofree gchar *trace = NULL;
	g_autofree gchar *console = NULL;
	GPid pid;

	g_assert_true(start(f, NULL, &error));
	g_assert_no_error(error);
	ids = list(f);
	g_assert_cmpuint(g_strv_length(ids), ==, 1);
	g_assert_cmpstr(ids[0], ==, vm_id);
	g_assert_cmpstr(sbx_hypervisor_backend_get_domain_type(f->backend), ==, "kvm");
	/* the console goes to the spec's file, the agent's port to the cmdline */
	g_assert_true(g_file_get_contents(f->spec->console_log, &console, NULL, NULL));
	g_assert_nonnull(strstr(console, "console=ttyS0 sbx.transport=vsock:1024"));
	agent_hello(f);
	agent_hello(f); /* a second connection: a new session */
	pid = vmm_pid(f);
	destroy(f);
	g_assert_true(pid_gone(pid));
	g_assert_cmpuint(f->exited, ==, 0);
	g_clear_pointer(&ids, g_strfreev);
	ids = list(f);
	g_assert_cmpuint(g_strv_length(ids), ==, 0);
	trace = read_trace(f);
	g_assert_cmpstr(trace, ==,
			"GET /api/v1/vmm.ping\nPUT /api/v1/vm.create\nPUT /api/v1/vm.boot\n"
			"GET /api/v1/vm.info\nGET /api/v1/vmm.ping\nPUT /api/v1/vmm.shutdown\n");
	/* an unknown id destroys fine */
	g_free(f->spec->id);
	f->spec->id = g_strdup_printf("sbxnone%09u", (guint)getpid());
	destroy(f);
}

static void
wait_exited(Fixture *f)
{
	while (f->exited == 0)
		g_main_context_iteration(NULL, TRUE);
}

static void
test_guest_poweroff(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) ids = NULL;
	GPid pid;

	g_assert_true(start(f, NULL, &error));
	pid = vmm_pid(f);
	g_assert_cmpint(kill(pid, SIGUSR1), ==, 0);
	wait_exited(f);
	g_assert_cmpuint(f->exited, ==, 1);
	g_assert_cmpstr(f->exited_id, ==, vm_id);
	g_assert_true(pid_gone(pid));
	ids = list(f);
	g_assert_cmpuint(g_strv_length(ids), ==, 0);
	destroy(f);
	g_assert_cmpuint(f->exited, ==, 1);
}

static void
test_guest_panic(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	GPid pid;

	g_assert_true(start(f, NULL, &error));
	pid = vmm_pid(f);
	/* guest/panic on the event monitor: the backend stops the VM itself */
	g_assert_cmpint(kill(pid, SIGUSR2), ==, 0);
	wait_exited(f);
	g_assert_true(pid_gone(pid));
	destroy(f);
}

static void
test_graceful(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *trace = NULL;

	configure(f, "GracefulStopSec=30\n");
	g_assert_true(start(f, NULL, &error));
	destroy(f);
	/* the power button, and the guest's own poweroff ended it: no vmm.shutdown */
	g_file_get_contents(f->trace, &trace, NULL, NULL);
	g_assert_nonnull(strstr(trace, "PUT /api/v1/vm.power-button\n"));
	g_assert_null(strstr(trace, "vmm.shutdown"));
	g_assert_cmpuint(f->exited, ==, 0);
}

static void
test_too_old(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	g_setenv("SBX_FAKE_CH_VERSION", "38.0.0", TRUE);
	g_assert_false(start(f, NULL, &error));
	g_assert_error(error, SBX_CH_API_ERROR, SBX_CH_API_ERROR_TOO_OLD);
	{
		g_autofree gchar *message =
		    g_strdup_printf("vm %s: cloud-hypervisor 38.0.0 is too old: this backend needs "
				    "39.0.0 or newer ([cloud-hypervisor] MinVersion)",
				    vm_id);
		g_assert_cmpstr(error->message, ==, message);
	}
	/* a lower minimum in the config lets it through */
	configure(f, "MinVersion=38.0\n");
	g_clear_error(&error);
	start(f, NULL, &error);
	g_assert_no_error(error);
	destroy(f);
}

/* the hypervisor's own message, whatever shape its version gives it */
static void
test_boot_error(Fixture *f, gconstpointer data)
{
	const gchar *version = data;
	g_autoptr(GError) error = NULL;
	SbxVmDisk *disk = sbx_vm_disk_new();

	g_setenv("SBX_FAKE_CH_VERSION", version, TRUE);
	disk->source = sbx_disk_source_new(SBX_DISK_SOURCE_FILE);
	disk->source->path = g_build_filename(f->dir, "missing.qcow2", NULL);
	disk->source->format = g_strdup("qcow2");
	disk->serial = g_strdup("vol1");
	disk->target = g_strdup("vdb");
	f->spec->disks = g_ptr_array_new_with_free_func((GDestroyNotify)sbx_vm_disk_free);
	g_ptr_array_add(f->spec->disks, disk);
	g_assert_false(start(f, NULL, &error));
	g_assert_error(error, SBX_CH_API_ERROR, SBX_CH_API_ERROR_FAILED);
	g_assert_nonnull(strstr(error->message, "cloud-hypervisor vm.boot: "));
	g_assert_nonnull(strstr(error->message, "Error booting VM: Failed to open disk image"));
	g_assert_nonnull(strstr(error->message, "missing.qcow2: No such file or directory"));
	/* the start failed: no VM, no process */
	destroy(f);
}

static void
test_injected_failure(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	g_setenv("SBX_FAKE_CH_FAIL", "vm.create:out of memory", TRUE);
	g_assert_false(start(f, NULL, &error));
	{
		g_autofree gchar *message =
		    g_strdup_printf("vm %s: cloud-hypervisor vm.create: Error from API: Injected "
				    "failure: out of memory (HTTP 500)",
				    vm_id);
		g_assert_cmpstr(error->message, ==, message);
	}
	destroy(f);
}

static void
make_base(Fixture *f, const gchar *path)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GSubprocess) proc =
	    g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error, "qemu-img", "create", "-q",
			     "-f", "qcow2", path, "64M", NULL);
	g_assert_no_error(error);
	g_assert_true(g_subprocess_wait_check(proc, NULL, &error));
}

/* v51+ opens a qcow2 backing chain only when asked; older ones always do */
static void
test_root_disk(Fixture *f, gconstpointer data)
{
	g_autofree gchar *base = g_build_filename(f->dir, "base.qcow2", NULL);
	g_autofree gchar *overlay = g_build_filename(f->run_dir, "root.qcow2", NULL);
	g_autoptr(GError) error = NULL;
	struct stat st;

	g_setenv("SBX_FAKE_CH_VERSION", data, TRUE);
	make_base(f, base);
	f->spec->root_disk = g_strdup(base);
	f->spec->root_format = g_strdup("qcow2");
	g_assert_true(start(f, NULL, &error));
	g_assert_no_error(error);
	g_assert_cmpint(g_stat(overlay, &st), ==, 0);
	g_assert_cmpuint(st.st_mode & 0777, ==, 0600);
	destroy(f);
	g_assert_false(g_file_test(overlay, G_FILE_TEST_EXISTS));
	g_unlink(base);
}

static void
test_volumes(Fixture *f, gconstpointer data)
{
	g_autofree gchar *vol = g_build_filename(f->dir, "vol.qcow2", NULL);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *trace = NULL;
	SbxVmDisk *disk = sbx_vm_disk_new();

	make_base(f, vol);
	disk->source = sbx_disk_source_new(SBX_DISK_SOURCE_FILE);
	disk->source->path = g_strdup(vol);
	disk->source->format = g_strdup("qcow2");
	disk->serial = g_strdup("vol1");
	disk->target = g_strdup("vdb");
	f->spec->disks = g_ptr_array_new_with_free_func((GDestroyNotify)sbx_vm_disk_free);
	g_ptr_array_add(f->spec->disks, disk);
	g_assert_true(start(f, NULL, &error));
	g_assert_no_error(error);
	destroy(f);
	trace = read_trace(f);
	g_assert_nonnull(strstr(trace, "PUT /api/v1/vm.create\nPUT /api/v1/vm.add-disk\n"
				       "PUT /api/v1/vm.boot\n"));
	g_unlink(vol);

	/* rbd volumes without pool and image are refused before anything runs */
	disk = sbx_vm_disk_new();
	disk->source = sbx_disk_source_new(SBX_DISK_SOURCE_RBD);
	disk->serial = g_strdup("vol2");
	g_ptr_array_add(f->spec->disks, disk);
	g_assert_false(start(f, NULL, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	destroy(f);
}

static gboolean run_quiet(const gchar *command);
static const gchar *device_bdf(JsonObject *info, const gchar *id);

/* a process's command line, its arguments joined by spaces */
static gchar *
process_cmdline(GPid pid)
{
	g_autofree gchar *path = g_strdup_printf("/proc/%d/cmdline", (gint)pid);
	gchar *text = NULL;
	gsize len = 0;

	g_assert_true(g_file_get_contents(path, &text, &len, NULL));
	for (gsize i = 0; i + 1 < len; i++)
		if (text[i] == '\0')
			text[i] = ' ';
	return text;
}

/* the pid of the qemu-storage-daemon serving @socket, or 0 */
static GPid
find_qsd(const gchar *socket)
{
	g_autoptr(GDir) proc = g_dir_open("/proc", 0, NULL);
	const gchar *name;

	while ((name = g_dir_read_name(proc)) != NULL) {
		g_autofree gchar *path = g_strdup_printf("/proc/%s/cmdline", name);
		g_autofree gchar *text = NULL;
		gsize len = 0;
		if (!g_ascii_isdigit(name[0]) || !g_file_get_contents(path, &text, &len, NULL) ||
		    len == 0)
			continue;
		for (gsize i = 0; i + 1 < len; i++)
			if (text[i] == '\0')
				text[i] = ' ';
		if (g_str_has_prefix(text, "/") && strstr(text, "qemu-storage-daemon ") != NULL &&
		    memmem(text, len, socket, strlen(socket)) != NULL)
			return (GPid)g_ascii_strtoll(name, NULL, 10);
	}
	return 0;
}

static gchar *
ceph_value(const gchar *path, const gchar *key)
{
	g_autofree gchar *text = NULL;
	g_auto(GStrv) lines = NULL;

	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		gchar *line = g_strstrip(lines[i]);
		if (g_str_has_prefix(line, key) && strchr(line, '=') != NULL)
			return g_strdup(g_strstrip(strchr(line, '=') + 1));
	}
	g_error("%s: no %s", path, key);
	return NULL;
}

/* the daemon is the backend's child: gone once its child watch ran */
static gboolean
qsd_reaped(GPid pid)
{
	for (guint i = 0; i < 500 && kill(pid, 0) == 0; i++) {
		g_main_context_iteration(NULL, FALSE);
		g_usleep(10000);
	}
	return pid_gone(pid);
}

static SbxVmDisk *
rbd_disk(const gchar *cluster, const gchar *image, const gchar *serial)
{
	g_autofree gchar *conf = g_build_filename(cluster, "ceph.conf", NULL);
	g_autofree gchar *keyring = g_build_filename(cluster, "keyring", NULL);
	g_autofree gchar *mon = ceph_value(conf, "mon host");
	SbxVmDisk *disk = sbx_vm_disk_new();
	gchar *monitors[2] = {g_str_has_prefix(mon, "v1:") ? mon + 3 : mon, NULL};

	disk->source = sbx_disk_source_new(SBX_DISK_SOURCE_RBD);
	disk->source->pool = g_strdup("rbd");
	disk->source->image = g_strdup(image);
	disk->source->auth_user = g_strdup("admin");
	disk->source->auth_key = ceph_value(keyring, "key");
	disk->source->monitors = g_strdupv(monitors);
	disk->serial = g_strdup(serial);
	return disk;
}

/* an rbd volume of a real throwaway cluster (scripts/ceph-dev.sh): a real
 * qemu-storage-daemon exports it, the VMM gets the vhost-user socket (the
 * fake connects to it as CH does), the guest is told the export's serial;
 * the daemon and its files are gone after destroy and after a failed start */
static void
test_rbd_volume(Fixture *f, gconstpointer data)
{
	g_autofree gchar *cluster = g_build_filename(f->dir, "ceph", NULL);
	g_autofree gchar *conf = g_build_filename(cluster, "ceph.conf", NULL);
	g_autofree gchar *up = g_strdup_printf("%s up %s", CEPH_DEV_SH, cluster);
	g_autofree gchar *down = g_strdup_printf("%s down %s", CEPH_DEV_SH, cluster);
	g_autofree gchar *create = g_strdup_printf("rbd -c %s create rbd/chvol --size 16M", conf);
	g_autofree gchar *socket = g_build_filename(f->run_dir, "disk1.vhost.sock", NULL);
	g_autofree gchar *console = NULL;
	g_autofree gchar *trace = NULL;
	g_autoptr(JsonObject) info = NULL;
	g_autoptr(GError) error = NULL;
	JsonObject *config;
	JsonArray *disks;
	JsonObject *vhost = NULL;
	GPid pid;

	g_assert_true(run_quiet(up));
	g_assert_true(run_quiet(create));
	g_free(f->spec->cmdline);
	f->spec->cmdline = g_strdup("console=ttyS0 sbx.vol=vol-rbd:/data:rw");
	f->spec->disks = g_ptr_array_new_with_free_func((GDestroyNotify)sbx_vm_disk_free);
	g_ptr_array_add(f->spec->disks, rbd_disk(cluster, "chvol", "vol-rbd"));
	g_assert_true(start(f, NULL, &error));
	g_assert_no_error(error);

	pid = find_qsd(socket);
	g_assert_cmpint(pid, >, 0);
	g_assert_true(g_file_get_contents(f->spec->console_log, &console, NULL, NULL));
	g_assert_nonnull(strstr(console, "sbx.vol=@0:/data:rw"));
	info = api_get(f, "vm.info");
	config = json_object_get_object_member(info, "config");
	g_assert_true(json_object_get_boolean_member(
	    json_object_get_object_member(config, "memory"), "shared"));
	disks = json_object_get_array_member(config, "disks");
	for (guint i = 0; i < json_array_get_length(disks); i++) {
		JsonObject *d = json_array_get_object_element(disks, i);
		if (json_object_get_boolean_member_with_default(d, "vhost_user", FALSE))
			vhost = d;
	}
	g_assert_nonnull(vhost);
	g_assert_cmpstr(json_object_get_string_member(vhost, "vhost_socket"), ==, socket);
	g_assert_cmpstr(json_object_get_string_member(vhost, "id"), ==, "disk1");

	destroy(f);
	trace = read_trace(f);
	g_assert_nonnull(strstr(trace, "PUT /api/v1/vm.add-disk\nPUT /api/v1/vm.boot\n"));
	g_assert_true(qsd_reaped(pid));
	g_assert_false(g_file_test(socket, G_FILE_TEST_EXISTS));

	/* a failed vm.create stops the daemon too */
	g_setenv("SBX_FAKE_CH_FAIL", "vm.create:out of memory", TRUE);
	g_assert_false(start(f, NULL, &error));
	destroy(f);
	for (guint i = 0; i < 500 && find_qsd(socket) != 0; i++) {
		g_main_context_iteration(NULL, FALSE);
		g_usleep(10000);
	}
	g_assert_cmpint(find_qsd(socket), ==, 0);
	g_assert_false(g_file_test(socket, G_FILE_TEST_EXISTS));
	g_clear_error(&error);
	g_setenv("SBX_FAKE_CH_FAIL", "", TRUE);

	/* a restarted daemon stops the export a crashed one left */
	g_assert_true(start(f, NULL, &error));
	g_assert_no_error(error);
	pid = find_qsd(socket);
	g_assert_cmpint(pid, >, 0);
	{
		g_autoptr(SbxHypervisorBackend) first = g_steal_pointer(&f->backend);
		g_auto(GStrv) ids = NULL;
		f->backend = g_object_new(backend_type, NULL);
		configure(f, NULL);
		ids = list(f);
		g_assert_cmpuint(g_strv_length(ids), ==, 0);
		g_signal_connect(first, "vm-exited", G_CALLBACK(on_vm_exited), f);
		wait_exited(f);
		g_assert_true(qsd_reaped(pid));
		f->exited = 0;
		sbx_hypervisor_backend_destroy_vm_async(first, vm_id, NULL, on_done, f);
		g_object_unref(wait_result(f));
	}

	/* two rbd volumes: the guest tells them apart by PCI order (@N), which
	 * the VMM's device tree confirms; each export serves its own image */
	{
		g_autofree gchar *create2 =
		    g_strdup_printf("rbd -c %s create rbd/chvol2 --size 16M", conf);
		g_autofree gchar *socket2 = g_build_filename(f->run_dir, "disk2.vhost.sock", NULL);
		g_autofree gchar *cmd1 = NULL;
		g_autofree gchar *cmd2 = NULL;
		g_autofree gchar *console2 = NULL;
		g_autoptr(JsonObject) info2 = NULL;
		const gchar *bdf1;
		const gchar *bdf2;
		GPid pid2;

		g_assert_true(run_quiet(create2));
		g_free(f->spec->cmdline);
		f->spec->cmdline =
		    g_strdup("console=ttyS0 sbx.vol=vol-rbd:/data:rw,vol-rbd2:/logs:ro");
		g_ptr_array_add(f->spec->disks, rbd_disk(cluster, "chvol2", "vol-rbd2"));
		((SbxVmDisk *)g_ptr_array_index(f->spec->disks, 1))->read_only = TRUE;
		g_assert_true(start(f, NULL, &error));
		g_assert_no_error(error);
		g_assert_true(g_file_get_contents(f->spec->console_log, &console2, NULL, NULL));
		g_assert_nonnull(strstr(console2, "sbx.vol=@0:/data:rw,@1:/logs:ro"));
		info2 = api_get(f, "vm.info");
		bdf1 = device_bdf(info2, "disk1");
		bdf2 = device_bdf(info2, "disk2");
		g_assert_nonnull(bdf1);
		g_assert_nonnull(bdf2);
		g_assert_cmpstr(bdf1, <, bdf2);
		pid = find_qsd(socket);
		pid2 = find_qsd(socket2);
		g_assert_cmpint(pid, >, 0);
		g_assert_cmpint(pid2, >, 0);
		cmd1 = process_cmdline(pid);
		cmd2 = process_cmdline(pid2);
		g_assert_nonnull(strstr(cmd1, "\"chvol\""));
		g_assert_null(strstr(cmd1, "\"chvol2\""));
		g_assert_nonnull(strstr(cmd2, "\"chvol2\""));
		g_assert_nonnull(strstr(cmd2, "writable=off"));
		destroy(f);
		g_assert_true(qsd_reaped(pid));
		g_assert_true(qsd_reaped(pid2));

		/* a VMM that put them out of order is refused: wrong mounts otherwise */
		g_setenv("SBX_FAKE_CH_DISKS_REVERSED", "1", TRUE);
		g_assert_false(start(f, NULL, &error));
		g_assert_nonnull(error);
		g_assert_nonnull(strstr(error->message, "the guest would mount the wrong image"));
		g_clear_error(&error);
		g_setenv("SBX_FAKE_CH_DISKS_REVERSED", "", TRUE);
		destroy(f);
		for (guint i = 0; i < 500 && (find_qsd(socket) != 0 || find_qsd(socket2) != 0);
		     i++) {
			g_main_context_iteration(NULL, FALSE);
			g_usleep(10000);
		}
		g_assert_cmpint(find_qsd(socket), ==, 0);
		g_assert_cmpint(find_qsd(socket2), ==, 0);
	}

	g_assert_true(run_quiet(down));
}

static gboolean
run_quiet(const gchar *command)
{
	gint status = -1;
	return g_spawn_command_line_sync(command, NULL, NULL, &status, NULL) &&
	       g_spawn_check_wait_status(status, NULL);
}

/* whether a test-ch-plugin process whose pid ends in @suffix (the bridge
 * names hold pid % 100000) still runs */
static gboolean
owner_runs(guint suffix)
{
	g_autoptr(GDir) proc = g_dir_open("/proc", 0, NULL);
	const gchar *entry;

	while (proc != NULL && (entry = g_dir_read_name(proc)) != NULL) {
		g_autofree gchar *path = NULL;
		g_autofree gchar *comm = NULL;
		if (!g_ascii_isdigit(entry[0]) ||
		    (guint)g_ascii_strtoull(entry, NULL, 10) % 100000 != suffix)
			continue;
		path = g_build_filename("/proc", entry, "comm", NULL);
		if (g_file_get_contents(path, &comm, NULL, NULL) &&
		    g_str_has_prefix(comm, "test-ch-plugin"))
			return TRUE;
	}
	return FALSE;
}

/* the bridges of runs that died before deleting theirs */
static void
delete_stale_bridges(void)
{
	g_autoptr(GDir) net = g_dir_open("/sys/class/net", 0, NULL);
	const gchar *name;

	while (net != NULL && (name = g_dir_read_name(net)) != NULL) {
		g_autofree gchar *del = NULL;
		if ((!g_str_has_prefix(name, "sbxtch") && !g_str_has_prefix(name, "sbxtcr")) ||
		    !g_ascii_isdigit(name[6]) ||
		    owner_runs((guint)g_ascii_strtoull(name + 6, NULL, 10)))
			continue;
		del = g_strdup_printf("ip link delete %s", name);
		if (run_quiet(del))
			g_test_message("deleted the bridge %s of a run that died", name);
	}
}

static gboolean
nft_table_exists(const gchar *tap)
{
	g_autofree gchar *cmd = g_strdup_printf("nft list table bridge sbxq_%s", tap);
	return run_quiet(cmd);
}

/* the rules go in a thread after the tap: a few seconds at most */
static gboolean
nft_table_gone(const gchar *tap)
{
	for (guint i = 0; i < 500; i++) {
		if (!nft_table_exists(tap))
			return TRUE;
		g_main_context_iteration(NULL, FALSE);
		g_usleep(10000);
	}
	return FALSE;
}

static gchar *
sysfs_read(const gchar *tap, const gchar *file)
{
	g_autofree gchar *path = g_strdup_printf("/sys/class/net/%s/%s", tap, file);
	gchar *text = NULL;
	if (!g_file_get_contents(path, &text, NULL, NULL))
		return NULL;
	return g_strstrip(text);
}

/* the guest's NIC: a real tap on a real bridge (this test's own), isolated,
 * owned by the VMM's user, with anti-spoofing rules; CH gets it by name in
 * vm.create; gone after destroy and after a failed start */
static void
test_network(Fixture *f, gconstpointer data)
{
	g_autofree gchar *bridge = g_strdup_printf("sbxtch%u", (guint)getpid() % 100000);
	g_autofree gchar *add = g_strdup_printf("ip link add %s type bridge", bridge);
	g_autofree gchar *up = g_strdup_printf("ip link set %s up", bridge);
	g_autofree gchar *del = g_strdup_printf("ip link delete %s", bridge);
	g_autofree gchar *extra = NULL;
	g_autofree gchar *address = NULL;
	g_autofree gchar *words = NULL;
	g_autofree gchar *console = NULL;
	g_autofree gchar *master = NULL;
	g_autofree gchar *isolated = NULL;
	g_autofree gchar *owner = NULL;
	g_autofree gchar *master_path = NULL;
	g_autoptr(JsonObject) info = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *tap = tap_of(vm_id);
	JsonObject *net;

	if (getuid() != 0) {
		g_test_skip("tap devices and nftables need root");
		return;
	}
	delete_stale_bridges();
	g_assert_true(run_quiet(add));
	g_assert_true(run_quiet(up));
	extra = g_strdup_printf("NetworkBridge=%s\nNetworkAddress=10.251.7.1/24\n", bridge);
	configure(f, extra);
	g_assert_cmpstr(sbx_hypervisor_backend_get_network_bridge(f->backend), ==, bridge);
	f->spec->network = TRUE;
	g_assert_true(start(f, NULL, &error));
	g_assert_no_error(error);

	/* what the core's firewall pins, and what the guest is told */
	address = sbx_hypervisor_backend_get_vm_address(f->backend, f->spec->id);
	g_assert_nonnull(address);
	g_assert_true(g_str_has_prefix(address, "10.251.7."));
	g_assert_cmpstr(address, !=, "10.251.7.1");
	words = g_strdup_printf("sbx.ip=%s/24 sbx.gw=10.251.7.1 sbx.dns=10.251.7.1", address);
	g_assert_true(g_file_get_contents(f->spec->console_log, &console, NULL, NULL));
	g_assert_nonnull(strstr(console, words));

	/* the tap, on the bridge, isolated, the VMM's user's; the VMM opened it */
	master_path = g_strdup_printf("/sys/class/net/%s/master", tap);
	master = g_file_read_link(master_path, NULL);
	g_assert_nonnull(master);
	g_assert_true(g_str_has_suffix(master, bridge));
	isolated = sysfs_read(tap, "brport/isolated");
	g_assert_cmpstr(isolated, ==, "1");
	owner = sysfs_read(tap, "owner");
	g_assert_cmpstr(owner, ==, "0");
	g_assert_true(nft_table_exists(tap));
	info = api_get(f, "vm.info");
	net = json_array_get_object_element(
	    json_object_get_array_member(json_object_get_object_member(info, "config"), "net"), 0);
	g_assert_cmpstr(json_object_get_string_member(net, "tap"), ==, tap);
	g_assert_cmpstr(json_object_get_string_member(net, "id"), ==, "net0");
	g_assert_true(g_str_has_prefix(json_object_get_string_member(net, "mac"), "52:54:00:"));

	destroy(f);
	g_assert_null(sysfs_read(tap, "ifindex"));
	g_assert_true(nft_table_gone(tap));
	g_assert_null(sbx_hypervisor_backend_get_vm_address(f->backend, f->spec->id));

	/* a failed vm.create leaves no tap and no rules */
	g_setenv("SBX_FAKE_CH_FAIL", "vm.create:out of memory", TRUE);
	g_assert_false(start(f, NULL, &error));
	g_assert_nonnull(error);
	g_assert_null(sysfs_read(tap, "ifindex"));
	g_assert_true(nft_table_gone(tap));
	destroy(f);

	/* a tap of that name that is not ours is never taken over */
	g_setenv("SBX_FAKE_CH_FAIL", "", TRUE);
	g_clear_error(&error);
	{
		g_autofree gchar *squat = g_strdup_printf("ip tuntap add dev %s mode tap", tap);
		g_autofree gchar *unsquat = g_strdup_printf("ip link delete %s", tap);
		g_assert_true(run_quiet(squat));
		g_assert_false(start(f, NULL, &error));
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS);
		g_assert_nonnull(sysfs_read(tap, "ifindex"));
		g_assert_true(run_quiet(unsquat));
		destroy(f);
	}

	/* the tap outlives a crashed daemon: the next one removes it with the VMM */
	g_clear_error(&error);
	g_assert_true(start(f, NULL, &error));
	g_assert_no_error(error);
	g_assert_nonnull(sysfs_read(tap, "ifindex"));
	{
		g_autoptr(SbxHypervisorBackend) first = g_steal_pointer(&f->backend);
		g_auto(GStrv) ids = NULL;
		f->backend = g_object_new(backend_type, NULL);
		configure(f, extra);
		ids = list(f);
		g_assert_cmpuint(g_strv_length(ids), ==, 0);
		g_assert_null(sysfs_read(tap, "ifindex"));
		g_assert_true(nft_table_gone(tap));
		g_signal_connect(first, "vm-exited", G_CALLBACK(on_vm_exited), f);
		wait_exited(f);
		sbx_hypervisor_backend_destroy_vm_async(first, vm_id, NULL, on_done, f);
		g_object_unref(wait_result(f));
	}
	g_assert_true(run_quiet(del));
}

static gboolean
cancel_cb(gpointer data)
{
	g_cancellable_cancel(data);
	return G_SOURCE_REMOVE;
}

/* a guest whose agent never listens: the core's boot timeout cancels */
static void
test_cancelled(Fixture *f, gconstpointer data)
{
	g_autoptr(GCancellable) cancellable = g_cancellable_new();
	g_autoptr(GError) error = NULL;

	g_unsetenv("SBX_FAKE_CH_AGENT");
	g_timeout_add(500, cancel_cb, cancellable);
	g_assert_false(start(f, cancellable, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
	destroy(f);
	/* the killed VMM is reaped: wait for it before the folder check */
	while (g_main_context_iteration(NULL, FALSE))
		;
}

static void
test_destroy_while_starting(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GAsyncResult) start_res = NULL;
	g_autoptr(GAsyncResult) destroy_res = NULL;

	g_unsetenv("SBX_FAKE_CH_AGENT");
	sbx_hypervisor_backend_start_vm_async(f->backend, f->spec, NULL, on_done, f);
	/* let it get as far as probing the agent */
	for (guint i = 0; i < 20; i++) {
		g_main_context_iteration(NULL, FALSE);
		g_usleep(10000);
	}
	g_assert_null(f->res);
	sbx_hypervisor_backend_destroy_vm_async(f->backend, f->spec->id, NULL, on_done2, f);
	start_res = wait_result(f);
	g_assert_false(sbx_hypervisor_backend_start_vm_finish(f->backend, start_res, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
	while (f->res2 == NULL)
		g_main_context_iteration(NULL, TRUE);
	destroy_res = g_steal_pointer(&f->res2);
	g_assert_true(sbx_hypervisor_backend_destroy_vm_finish(f->backend, destroy_res, NULL));
}

/* the VMM runs as the configured user, not as root, and still gets to every
 * file it needs (run folder, console, log) */
static void
test_jailed_user(Fixture *f, gconstpointer data)
{
	struct passwd *pw = getpwnam("nobody");
	g_autofree gchar *status_path = NULL;
	g_autofree gchar *status = NULL;
	g_autofree gchar *uid_line = NULL;
	g_autoptr(GError) error = NULL;
	GPid pid;

	g_assert_nonnull(pw);
	if (getuid() != 0) {
		g_test_skip("switching users needs root");
		return;
	}
	/* nobody must reach the run folder and write its guest's socket */
	g_assert_cmpint(g_chmod(f->dir, 0711), ==, 0);
	g_assert_cmpint(g_mkdir(f->guest_dir, 0777), ==, 0);
	g_assert_cmpint(g_chmod(f->guest_dir, 0777), ==, 0);
	g_unsetenv("SBX_FAKE_CH_TRACE");
	configure(f, "User=nobody\n");
	g_assert_true(start(f, NULL, &error));
	g_assert_no_error(error);
	agent_hello(f);
	pid = vmm_pid(f);
	status_path = g_strdup_printf("/proc/%d/status", (gint)pid);
	g_assert_true(g_file_get_contents(status_path, &status, NULL, NULL));
	uid_line = g_strdup_printf("\nUid:\t%u\t%u\t", pw->pw_uid, pw->pw_uid);
	g_assert_nonnull(strstr(status, uid_line));
	/* no new privileges for anything it runs */
	g_assert_nonnull(strstr(status, "\nNoNewPrivs:\t1\n"));
	destroy(f);
	g_assert_true(pid_gone(pid));
}

/* @uid's permission bits in @path's access ACL (read with libacl), -1: none */
static gint
acl_perm(const gchar *path, uid_t uid)
{
	acl_t acl = acl_get_file(path, ACL_TYPE_ACCESS);
	acl_entry_t entry;
	gint perm = -1;

	g_assert_nonnull(acl);
	for (gint r = acl_get_entry(acl, ACL_FIRST_ENTRY, &entry); r == 1 && perm < 0;
	     r = acl_get_entry(acl, ACL_NEXT_ENTRY, &entry)) {
		acl_tag_t tag;
		acl_permset_t perms;
		uid_t *id;

		if (acl_get_tag_type(entry, &tag) != 0 || tag != ACL_USER)
			continue;
		id = acl_get_qualifier(entry);
		if (id != NULL && *id == uid && acl_get_permset(entry, &perms) == 0)
			perm = (acl_get_perm(perms, ACL_READ) == 1 ? 4 : 0) |
			       (acl_get_perm(perms, ACL_WRITE) == 1 ? 2 : 0) |
			       (acl_get_perm(perms, ACL_EXECUTE) == 1 ? 1 : 0);
		acl_free(id);
	}
	acl_free(acl);
	return perm;
}

static SbxVmDisk *
file_disk(const gchar *path, const gchar *serial, gboolean read_only)
{
	SbxVmDisk *disk = sbx_vm_disk_new();
	disk->source = sbx_disk_source_new(SBX_DISK_SOURCE_FILE);
	disk->source->path = g_strdup(path);
	disk->source->format = g_strdup("qcow2");
	disk->serial = g_strdup(serial);
	disk->read_only = read_only;
	return disk;
}

/* file volumes stay root's, mode 0600: the VMM's user (nobody) opens them
 * through an ACL entry of its own while the sandbox runs (rw, or r for a
 * read-only one), revoked after destroy, after a failed start and by a
 * restarted daemon; the files' owner and mode never change */
static void
test_file_volume_user(Fixture *f, gconstpointer data)
{
	struct passwd *pw = getpwnam("nobody");
	g_autofree gchar *vol = g_build_filename(f->dir, "vol.qcow2", NULL);
	g_autofree gchar *ro = g_build_filename(f->dir, "ro.qcow2", NULL);
	g_autofree gchar *snap = g_build_filename(f->dir, "snp.qcow2", NULL);
	g_autofree gchar *clone = g_build_filename(f->dir, "clone.qcow2", NULL);
	g_autoptr(GError) error = NULL;
	GStatBuf st;

	g_assert_nonnull(pw);
	if (getuid() != 0) {
		g_test_skip("switching users needs root");
		return;
	}
	g_assert_cmpint(g_chmod(f->dir, 0711), ==, 0);
	g_assert_cmpint(g_mkdir(f->guest_dir, 0777), ==, 0);
	g_assert_cmpint(g_chmod(f->guest_dir, 0777), ==, 0);
	g_unsetenv("SBX_FAKE_CH_TRACE");
	configure(f, "User=nobody\n");
	make_base(f, vol);
	make_base(f, ro);
	g_assert_cmpint(g_chmod(vol, 0600), ==, 0);
	g_assert_cmpint(g_chmod(ro, 0600), ==, 0);
	/* a clone of a volume snapshot, as the qcow2 plugin makes it: an overlay
	 * with a relative backing name, the snapshot root's and 0400 */
	make_base(f, snap);
	{
		g_autoptr(GSubprocess) proc = g_subprocess_new(
		    G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error, "qemu-img", "create", "-q", "-f",
		    "qcow2", "-b", "snp.qcow2", "-F", "qcow2", clone, NULL);
		g_assert_no_error(error);
		g_assert_true(g_subprocess_wait_check(proc, NULL, &error));
	}
	g_assert_cmpint(g_chmod(snap, 0400), ==, 0);
	g_assert_cmpint(g_chmod(clone, 0600), ==, 0);
	f->spec->disks = g_ptr_array_new_with_free_func((GDestroyNotify)sbx_vm_disk_free);
	g_ptr_array_add(f->spec->disks, file_disk(vol, "vol1", FALSE));
	g_ptr_array_add(f->spec->disks, file_disk(ro, "vol2", TRUE));
	g_ptr_array_add(f->spec->disks, file_disk(clone, "vol3", FALSE));

	g_assert_true(start(f, NULL, &error));
	g_assert_no_error(error);
	agent_hello(f);
	g_assert_cmpint(acl_perm(vol, pw->pw_uid), ==, 6);
	g_assert_cmpint(acl_perm(ro, pw->pw_uid), ==, 4);
	g_assert_cmpint(acl_perm(clone, pw->pw_uid), ==, 6);
	g_assert_cmpint(acl_perm(snap, pw->pw_uid), ==, 4);
	destroy(f);
	g_assert_cmpint(acl_perm(vol, pw->pw_uid), ==, -1);
	g_assert_cmpint(acl_perm(ro, pw->pw_uid), ==, -1);
	g_assert_cmpint(acl_perm(clone, pw->pw_uid), ==, -1);
	g_assert_cmpint(acl_perm(snap, pw->pw_uid), ==, -1);
	g_assert_cmpint(g_stat(snap, &st), ==, 0);
	g_assert_cmpuint(st.st_mode & 07777, ==, 0400);
	g_assert_cmpint(g_stat(vol, &st), ==, 0);
	g_assert_cmpuint(st.st_mode & 07777, ==, 0600);
	g_assert_cmpuint(st.st_uid, ==, 0);
	g_assert_cmpint(acl_extended_file(vol), ==, 0);

	/* a failed start revokes them too */
	g_setenv("SBX_FAKE_CH_FAIL", "vm.boot:out of memory", TRUE);
	g_assert_false(start(f, NULL, &error));
	g_clear_error(&error);
	g_assert_cmpint(acl_perm(vol, pw->pw_uid), ==, -1);
	destroy(f);
	g_setenv("SBX_FAKE_CH_FAIL", "", TRUE);

	/* a crashed daemon's grants: the next one revokes them with its VMM */
	g_assert_true(start(f, NULL, &error));
	g_assert_no_error(error);
	g_assert_cmpint(acl_perm(vol, pw->pw_uid), ==, 6);
	{
		g_autoptr(SbxHypervisorBackend) first = g_steal_pointer(&f->backend);
		g_auto(GStrv) ids = NULL;
		f->backend = g_object_new(backend_type, NULL);
		configure(f, "User=nobody\n");
		ids = list(f);
		g_assert_cmpuint(g_strv_length(ids), ==, 0);
		g_assert_cmpint(acl_perm(vol, pw->pw_uid), ==, -1);
		g_assert_cmpint(acl_perm(ro, pw->pw_uid), ==, -1);
		g_assert_cmpint(acl_perm(snap, pw->pw_uid), ==, -1);
		g_signal_connect(first, "vm-exited", G_CALLBACK(on_vm_exited), f);
		wait_exited(f);
		sbx_hypervisor_backend_destroy_vm_async(first, vm_id, NULL, on_done, f);
		g_object_unref(wait_result(f));
	}
	g_assert_cmpint(g_stat(vol, &st), ==, 0);
	g_assert_cmpuint(st.st_mode & 07777, ==, 0600);
	g_unlink(vol);
	g_unlink(ro);
	g_unlink(clone);
	g_unlink(snap);
}

static gchar *
snapshot_file(Fixture *f, const gchar *name)
{
	return g_build_filename(f->dir, "snap", name, NULL);
}

/* a template boots with snapshot_dir, is saved there (vm.pause, vm.snapshot)
 * and destroyed; a clone restores from it with its own overlay, vsock socket
 * and console, and its agent answers */
static void
test_snapshot_restore(Fixture *f, gconstpointer data)
{
	const gchar *version = data;
	gboolean has_mode = g_str_has_prefix(version, "53.");
	g_autofree gchar *base = g_build_filename(f->dir, "base.qcow2", NULL);
	g_autofree gchar *snap = g_build_filename(f->dir, "snap", NULL);
	g_autofree gchar *clone_dir = g_build_filename(f->dir, clone_id, NULL);
	g_autofree gchar *clone_console = g_build_filename(clone_dir, "console.log", NULL);
	g_autofree gchar *frozen = snapshot_file(f, "root.qcow2");
	g_autofree gchar *restore_line = NULL;
	g_autofree gchar *trace = NULL;
	g_autoptr(SbxVmSpec) clone = NULL;
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *words = NULL;
	const gchar *names[] = {"config.json", "state.json", "memory-ranges", "root.qcow2"};
	GStatBuf st;

	g_setenv("SBX_FAKE_CH_VERSION", version, TRUE);
	g_assert_nonnull(sbx_hypervisor_backend_get_snapshot_compat(f->backend));
	make_base(f, base);
	g_assert_cmpint(g_mkdir(snap, 0700), ==, 0);
	f->spec->root_disk = g_strdup(base);
	f->spec->root_format = g_strdup("qcow2");
	f->spec->snapshot_dir = g_strdup(snap);
	g_assert_true(start(f, NULL, &error));
	g_assert_no_error(error);
	sbx_hypervisor_backend_snapshot_vm_async(f->backend, f->spec->id, NULL, on_done, f);
	res = wait_result(f);
	g_assert_true(sbx_hypervisor_backend_snapshot_vm_finish(f->backend, res, &error));
	g_assert_no_error(error);
	g_clear_object(&res);
	destroy(f);
	/* the snapshot: read-only, and the template's overlay kept as its frozen layer */
	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree gchar *path = snapshot_file(f, names[i]);
		g_assert_cmpint(g_stat(path, &st), ==, 0);
		g_assert_cmpuint(st.st_mode & 0777, ==, 0444);
	}

	clone = sbx_vm_spec_copy(f->spec);
	g_free(clone->id);
	clone->id = g_strdup(clone_id);
	g_free(clone->run_dir);
	clone->run_dir = g_strdup(clone_dir);
	g_free(clone->console_log);
	clone->console_log = g_strdup(clone_console);
	g_free(clone->agent_socket);
	clone->agent_socket = g_build_filename(clone_dir, "agent.sock", NULL);
	g_assert_cmpint(g_mkdir(clone_dir, 0750), ==, 0);
	sbx_hypervisor_backend_restore_vm_async(f->backend, clone, NULL, on_done, f);
	res = wait_result(f);
	words = sbx_hypervisor_backend_restore_vm_finish(f->backend, res, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(words, ==, "");
	{
		/* the clone's agent, through the clone's own vsock socket */
		SbxVmSpec *tmpl = f->spec;
		f->spec = clone;
		agent_hello(f);
		destroy(f);
		f->spec = tmpl;
	}
	trace = read_trace(f);
	restore_line = g_strdup_printf(
	    "PUT /api/v1/vm.restore {\"source_url\":\"file://%s/restore\","
	    "\"prefault\":false%s}\n",
	    clone_dir, has_mode ? ",\"memory_restore_mode\":\"Copy\",\"resume\":true" : "");
	g_assert_nonnull(strstr(trace, restore_line));
	/* before v52 a restored VM waits for vm.resume */
	g_assert_true((strstr(trace, "PUT /api/v1/vm.resume\n") != NULL) == !has_mode);
	g_assert_nonnull(strstr(trace, "PUT /api/v1/vm.pause\nPUT /api/v1/vm.snapshot"));
	/* the frozen layer outlives the clone; the clone left nothing */
	g_assert_true(g_file_test(frozen, G_FILE_TEST_EXISTS));
	g_unlink(clone_console);
	g_assert_cmpint(g_rmdir(clone_dir), ==, 0);
	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree gchar *path = snapshot_file(f, names[i]);
		g_unlink(path);
	}
	g_assert_cmpint(g_rmdir(snap), ==, 0);
	g_unlink(base);
}

/* a template (network on: it gets no NIC) saved in f->dir/snap, destroyed */
static void
take_snapshot(Fixture *f, const gchar *base)
{
	g_autofree gchar *snap = g_build_filename(f->dir, "snap", NULL);
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(GError) error = NULL;

	make_base(f, base);
	g_assert_cmpint(g_mkdir(snap, 0700), ==, 0);
	f->spec->root_disk = g_strdup(base);
	f->spec->root_format = g_strdup("qcow2");
	f->spec->snapshot_dir = g_strdup(snap);
	g_assert_true(start(f, NULL, &error));
	g_assert_no_error(error);
	sbx_hypervisor_backend_snapshot_vm_async(f->backend, f->spec->id, NULL, on_done, f);
	res = wait_result(f);
	g_assert_true(sbx_hypervisor_backend_snapshot_vm_finish(f->backend, res, &error));
	g_assert_no_error(error);
	destroy(f);
}

static SbxVmSpec *
clone_spec(Fixture *f, const gchar *clone_dir)
{
	SbxVmSpec *clone = sbx_vm_spec_copy(f->spec);

	g_free(clone->id);
	clone->id = g_strdup(clone_id);
	g_free(clone->run_dir);
	clone->run_dir = g_strdup(clone_dir);
	g_free(clone->console_log);
	clone->console_log = g_build_filename(clone_dir, "console.log", NULL);
	g_free(clone->agent_socket);
	clone->agent_socket = g_build_filename(clone_dir, "agent.sock", NULL);
	if (!g_file_test(clone_dir, G_FILE_TEST_IS_DIR))
		g_assert_cmpint(g_mkdir(clone_dir, 0750), ==, 0);
	return clone;
}

static gchar *
restore(Fixture *f, SbxVmSpec *clone, GError **error)
{
	g_autoptr(GAsyncResult) res = NULL;

	sbx_hypervisor_backend_restore_vm_async(f->backend, clone, NULL, on_done, f);
	res = wait_result(f);
	return sbx_hypervisor_backend_restore_vm_finish(f->backend, res, error);
}

/* the PCI address vm.info's device_tree gives device @id, or NULL */
static const gchar *
device_bdf(JsonObject *info, const gchar *id)
{
	JsonObject *tree = json_object_get_object_member(info, "device_tree");
	JsonObject *dev = tree != NULL && json_object_has_member(tree, id)
			      ? json_object_get_object_member(tree, id)
			      : NULL;
	const gchar *parent =
	    dev != NULL ? json_object_get_string_member_with_default(dev, "parent", NULL) : NULL;

	if (parent == NULL || !json_object_has_member(tree, parent))
		return NULL;
	return json_object_get_string_member_with_default(
	    json_object_get_object_member(tree, parent), "pci_bdf", NULL);
}

/* a clone of a template without NIC gets its own tap, hot-plugged with
 * vm.add-net once it runs again (after vm.restore's resume from v52, after
 * vm.resume before), and its address as restore's words for IDENTITY; its
 * tap and rules go with it, and with a failed hot-plug */
static void
test_network_restore(Fixture *f, gconstpointer data)
{
	const gchar *version = data;
	gboolean has_mode = g_str_has_prefix(version, "53.");
	g_autofree gchar *bridge = g_strdup_printf("sbxtcr%u", (guint)getpid() % 100000);
	g_autofree gchar *add = g_strdup_printf("ip link add %s type bridge", bridge);
	g_autofree gchar *up = g_strdup_printf("ip link set %s up", bridge);
	g_autofree gchar *del = g_strdup_printf("ip link delete %s", bridge);
	g_autofree gchar *base = g_build_filename(f->dir, "base.qcow2", NULL);
	g_autofree gchar *clone_dir = g_build_filename(f->dir, clone_id, NULL);
	g_autofree gchar *extra = NULL;
	g_autofree gchar *words = NULL;
	g_autofree gchar *address = NULL;
	g_autofree gchar *expected = NULL;
	g_autofree gchar *mac = NULL;
	g_autofree gchar *trace = NULL;
	g_autofree gchar *add_net = NULL;
	g_autofree gchar *master = NULL;
	g_autofree gchar *isolated = NULL;
	g_autofree gchar *config = NULL;
	g_autoptr(SbxVmSpec) clone = NULL;
	g_autoptr(JsonObject) info = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *tap = tap_of(clone_id);
	const gchar *names[] = {"config.json", "state.json", "memory-ranges", "root.qcow2"};
	JsonObject *net;

	if (getuid() != 0) {
		g_test_skip("tap devices and nftables need root");
		return;
	}
	g_setenv("SBX_FAKE_CH_VERSION", version, TRUE);
	delete_stale_bridges();
	g_assert_true(run_quiet(add));
	g_assert_true(run_quiet(up));
	extra = g_strdup_printf("NetworkBridge=%s\nNetworkAddress=10.251.8.1/24\n", bridge);
	configure(f, extra);
	f->spec->network = TRUE;
	take_snapshot(f, base);
	/* the snapshot has no NIC: a clone's would be the template's tap */
	config = snapshot_file(f, "config.json");
	{
		g_autofree gchar *text = NULL;
		g_assert_true(g_file_get_contents(config, &text, NULL, NULL));
		g_assert_null(strstr(text, "\"net\""));
	}

	clone = clone_spec(f, clone_dir);
	words = restore(f, clone, &error);
	g_assert_no_error(error);
	address = sbx_hypervisor_backend_get_vm_address(f->backend, clone->id);
	g_assert_nonnull(address);
	g_assert_true(g_str_has_prefix(address, "10.251.8."));
	{
		SbxVmSpec *tmpl = f->spec;
		f->spec = clone;
		info = api_get(f, "vm.info");
		f->spec = tmpl;
	}
	g_assert_cmpstr(json_object_get_string_member(info, "state"), ==, "Running");
	net = json_array_get_object_element(
	    json_object_get_array_member(json_object_get_object_member(info, "config"), "net"), 0);
	g_assert_cmpstr(json_object_get_string_member(net, "tap"), ==, tap);
	g_assert_cmpstr(json_object_get_string_member(net, "id"), ==, "net0");
	mac = g_strdup(json_object_get_string_member(net, "mac"));
	g_assert_true(g_str_has_prefix(mac, "52:54:00:"));
	g_assert_nonnull(device_bdf(info, "net0"));
	/* what the core's IDENTITY gives the guest: as the qemu backend words it */
	expected = g_strdup_printf("sbx.ip=%s/24 sbx.gw=10.251.8.1 sbx.dns=10.251.8.1 ", address);
	g_assert_true(g_str_has_prefix(words, expected));
	g_assert_nonnull(strstr(words, " sbx.mtu="));
	g_assert_true(g_str_has_suffix(words, mac));
	g_assert_nonnull(strstr(words, " sbx.mac="));
	/* the clone's tap: on the bridge, isolated, guarded */
	{
		g_autofree gchar *master_path = g_strdup_printf("/sys/class/net/%s/master", tap);
		master = g_file_read_link(master_path, NULL);
	}
	g_assert_nonnull(master);
	g_assert_true(g_str_has_suffix(master, bridge));
	isolated = sysfs_read(tap, "brport/isolated");
	g_assert_cmpstr(isolated, ==, "1");
	g_assert_true(nft_table_exists(tap));
	{
		SbxVmSpec *tmpl = f->spec;
		f->spec = clone;
		agent_hello(f);
		destroy(f);
		f->spec = tmpl;
	}
	g_assert_null(sysfs_read(tap, "ifindex"));
	g_assert_true(nft_table_gone(tap));
	g_assert_null(sbx_hypervisor_backend_get_vm_address(f->backend, clone->id));
	trace = read_trace(f);
	/* hot-plugged once the VM runs: after vm.restore's resume, or vm.resume */
	add_net =
	    g_strdup_printf("%s\nPUT /api/v1/vm.add-net {\"id\":\"net0\",\"tap\":\"%s\","
			    "\"mac\":\"%s\",\"num_queues\":2}\nGET /api/v1/vm.info\n",
			    has_mode ? "\"resume\":true}" : "PUT /api/v1/vm.resume", tap, mac);
	g_assert_nonnull(strstr(trace, add_net));

	/* a refused hot-plug fails the restore and leaves no tap, no rules */
	g_setenv("SBX_FAKE_CH_FAIL", "vm.add-net:no PCI slot left", TRUE);
	g_clear_pointer(&words, g_free);
	words = restore(f, clone, &error);
	g_assert_null(words);
	g_assert_nonnull(error);
	g_assert_nonnull(strstr(error->message, "no PCI slot left"));
	g_assert_null(sysfs_read(tap, "ifindex"));
	g_assert_true(nft_table_gone(tap));
	{
		SbxVmSpec *tmpl = f->spec;
		f->spec = clone;
		destroy(f);
		f->spec = tmpl;
	}
	g_setenv("SBX_FAKE_CH_FAIL", "", TRUE);
	/* the killed VMM is reaped, and its files go, before the folders are
	 * checked: bounded, not a fixed second */
	{
		gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
		while (g_unlink(clone->console_log), g_rmdir(clone_dir) != 0) {
			g_assert_cmpint(g_get_monotonic_time(), <, deadline);
			g_main_context_iteration(NULL, FALSE);
			g_usleep(10000);
		}
	}
	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree gchar *path = snapshot_file(f, names[i]);
		g_unlink(path);
	}
	{
		g_autofree gchar *snap = g_build_filename(f->dir, "snap", NULL);
		g_assert_cmpint(g_rmdir(snap), ==, 0);
	}
	g_unlink(base);
	g_assert_true(run_quiet(del));
}

/* a daemon that died left its VMM running: the next one stops it (it cannot
 * take it back: the event pipe is gone) and removes its files */
static void
test_reap_leftover(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxHypervisorBackend) first = NULL;
	g_autofree gchar *record = g_build_filename(f->dir, "records", vm_id, NULL);
	g_autofree gchar *api = g_build_filename(f->run_dir, "ch-api.sock", NULL);
	g_auto(GStrv) ids = NULL;
	GPid pid;

	g_assert_true(start(f, NULL, &error));
	pid = vmm_pid(f);
	g_assert_true(g_file_test(record, G_FILE_TEST_EXISTS));
	/* "restart": a new instance with the same config; the old one stays
	 * only to reap its child, as init would */
	first = g_steal_pointer(&f->backend);
	f->backend = g_object_new(backend_type, NULL);
	configure(f, NULL);
	ids = list(f);
	g_assert_cmpuint(g_strv_length(ids), ==, 0);
	g_assert_false(g_file_test(record, G_FILE_TEST_EXISTS));
	g_assert_false(g_file_test(api, G_FILE_TEST_EXISTS));
	/* the old instance sees its VMM die */
	g_signal_connect(first, "vm-exited", G_CALLBACK(on_vm_exited), f);
	wait_exited(f);
	g_assert_true(pid_gone(pid));
	sbx_hypervisor_backend_destroy_vm_async(first, vm_id, NULL, on_done, f);
	g_clear_object(&f->res);
	g_object_unref(wait_result(f));
}

static void
test_bad_binary(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	configure(f, "Binary=/nonexistent/cloud-hypervisor\n");
	g_assert_false(start(f, NULL, &error));
	g_assert_nonnull(strstr(error->message, "cannot start /nonexistent/cloud-hypervisor"));
	destroy(f);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	load_plugin();
	vm_id = g_strdup_printf("sbxtest%09u", (guint)getpid());
	clone_id = g_strdup_printf("sbxclon%09u", (guint)getpid());
	g_test_add("/ch-plugin/lifecycle", Fixture, NULL, setup, test_lifecycle, teardown);
	g_test_add("/ch-plugin/guest-poweroff", Fixture, NULL, setup, test_guest_poweroff,
		   teardown);
	g_test_add("/ch-plugin/guest-panic", Fixture, NULL, setup, test_guest_panic, teardown);
	g_test_add("/ch-plugin/graceful", Fixture, NULL, setup, test_graceful, teardown);
	g_test_add("/ch-plugin/too-old", Fixture, NULL, setup, test_too_old, teardown);
	g_test_add("/ch-plugin/boot-error/v53-json", Fixture, "53.0.0", setup, test_boot_error,
		   teardown);
	g_test_add("/ch-plugin/boot-error/v46-text", Fixture, "46.0.0", setup, test_boot_error,
		   teardown);
	g_test_add("/ch-plugin/injected-failure", Fixture, NULL, setup, test_injected_failure,
		   teardown);
	g_test_add("/ch-plugin/root-disk/v53", Fixture, "53.0.0", setup, test_root_disk, teardown);
	g_test_add("/ch-plugin/root-disk/v50", Fixture, "50.0.0", setup, test_root_disk, teardown);
	g_test_add("/ch-plugin/volumes", Fixture, NULL, setup, test_volumes, teardown);
	g_test_add("/ch-plugin/cancelled", Fixture, NULL, setup, test_cancelled, teardown);
	g_test_add("/ch-plugin/destroy-while-starting", Fixture, NULL, setup,
		   test_destroy_while_starting, teardown);
	g_test_add("/ch-plugin/snapshot-restore/v53", Fixture, "53.0.0", setup,
		   test_snapshot_restore, teardown);
	g_test_add("/ch-plugin/snapshot-restore/v50", Fixture, "50.0.0", setup,
		   test_snapshot_restore, teardown);
	g_test_add("/ch-plugin/jailed-user", Fixture, NULL, setup, test_jailed_user, teardown);
	g_test_add("/ch-plugin/reap-leftover", Fixture, NULL, setup, test_reap_leftover, teardown);
	g_test_add("/ch-plugin/rbd-volume", Fixture, NULL, setup, test_rbd_volume, teardown);
	g_test_add("/ch-plugin/network", Fixture, NULL, setup, test_network, teardown);
	g_test_add("/ch-plugin/network-restore/v53", Fixture, "53.0.0", setup, test_network_restore,
		   teardown);
	g_test_add("/ch-plugin/network-restore/v50", Fixture, "50.0.0", setup, test_network_restore,
		   teardown);
	g_test_add("/ch-plugin/file-volume-user", Fixture, NULL, setup, test_file_volume_user,
		   teardown);
	g_test_add("/ch-plugin/bad-binary", Fixture, NULL, setup, test_bad_binary, teardown);
	return g_test_run();
}
