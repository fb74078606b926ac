/* volumes on the qemu backend without a guest: the -blockdev JSON (shared with
 * qemu-storage-daemon), QEMU's volume arguments, the daemon-side opening of a
 * qcow2 chain (real qemu-img images), and the loaded plugin refusing bad
 * volume sources with a clear error and nothing left behind
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <gmodule.h>

#include "sbx-blockdev-chain.h"
#include "sbx-blockdev.h"
#include "sbx-hypervisor-backend.h"
#include "sbx-plugin.h"
#include "sbx-qemu-argv.h"

#define KEY "QVFCZXhhbXBsZWtleQ=="

static SbxDiskSource *
rbd_source(void)
{
	SbxDiskSource *src = sbx_disk_source_new(SBX_DISK_SOURCE_RBD);
	const gchar *monitors[] = {"10.0.0.1", "[fd00::1]:3300", NULL};

	src->pool = g_strdup("rbd");
	src->image = g_strdup("vol-1");
	src->auth_user = g_strdup("sbx");
	src->auth_key = g_strdup(KEY);
	src->monitors = g_strdupv((gchar **)monitors);
	return src;
}

static SbxVmDisk *
disk_new(SbxDiskSource *src, const gchar *serial, gboolean read_only)
{
	SbxVmDisk *disk = sbx_vm_disk_new();
	disk->source = src;
	disk->serial = g_strdup(serial);
	disk->target = g_strdup("vdb");
	disk->mount_path = g_strdup("/data");
	disk->read_only = read_only;
	return disk;
}

static gchar *
argv_joined(const SbxQemuVolume *vols, guint n)
{
	g_autoptr(SbxVmSpec) spec = sbx_vm_spec_new();
	g_auto(GStrv) argv = NULL;
	SbxQemuArgs args = {0};

	spec->id = g_strdup("vm1");
	spec->memory_mib = 256;
	spec->vcpus = 1;
	spec->kernel = g_strdup("/k");
	spec->console_log = g_strdup("/run/x/console.log");
	args.binary = "qemu";
	args.accel = "tcg";
	args.machine = "pc";
	args.spec = spec;
	args.agent_fd = 3;
	args.qmp_fd = 4;
	args.tap_fd = -1;
	args.volumes = vols;
	args.n_volumes = n;
	argv = sbx_qemu_argv_new(&args);
	return g_strjoinv(" ", argv);
}

/* a qcow2 clone (two layers, fds 10 and 11), a read-only raw file, an rbd
 * image with its key in fd 12: by fd set and memfd, in spec order */
static void
test_argv_volumes(void)
{
	g_autoptr(SbxVmDisk) clone = NULL;
	g_autoptr(SbxVmDisk) raw = NULL;
	g_autoptr(SbxVmDisk) rbd = disk_new(rbd_source(), "vol2", FALSE);
	SbxDiskSource *f1 = sbx_disk_source_new(SBX_DISK_SOURCE_FILE);
	SbxDiskSource *f2 = sbx_disk_source_new(SBX_DISK_SOURCE_FILE);
	SbxQemuVolume vols[3] = {{0}};
	g_autofree gchar *joined = NULL;
	g_autofree gchar *none = NULL;

	f1->path = g_strdup("/var/lib/v/vol0.qcow2");
	f1->format = g_strdup("qcow2");
	f2->path = g_strdup("/var/lib/v/vol1.raw");
	f2->format = g_strdup("raw");
	clone = disk_new(f1, "vol0", FALSE);
	raw = disk_new(f2, "vol1", TRUE);
	vols[0] = (SbxQemuVolume){clone, {10, 11}, {"qcow2", "qcow2"}, 2, -1};
	vols[1] = (SbxQemuVolume){raw, {13}, {"raw"}, 1, -1};
	vols[2] = (SbxQemuVolume){rbd, {0}, {NULL}, 0, 12};
	joined = argv_joined(vols, 3);
	g_assert_nonnull(strstr(
	    joined,
	    " -add-fd fd=10,set=1,opaque=vol0 -add-fd fd=11,set=2,opaque=vol0 -blockdev "
	    "{\"node-name\":\"vol0\",\"read-only\":false,\"driver\":\"qcow2\",\"file\":{\"driver\":"
	    "\"file\",\"filename\":\"/dev/fdset/1\",\"discard\":\"unmap\"},\"discard\":\"unmap\","
	    "\"backing\":{\"read-only\":true,\"driver\":\"qcow2\",\"file\":{\"driver\":\"file\","
	    "\"filename\":\"/dev/fdset/2\"},\"backing\":null}} -device "
	    "virtio-blk-pci,drive=vol0,serial=vol0,addr=0x7 "
	    "-add-fd fd=13,set=3,opaque=vol1 -blockdev "
	    "{\"node-name\":\"vol1\",\"read-only\":true,\"driver\":\"file\",\"filename\":\"/dev/"
	    "fdset/3\",\"discard\":\"unmap\"} -device "
	    "virtio-blk-pci,drive=vol1,serial=vol1,addr=0x8 "
	    "-object secret,id=vol2-key,file=/proc/self/fd/12,format=base64 -blockdev "
	    "{\"node-name\":\"vol2\",\"read-only\":false,\"driver\":\"rbd\",\"pool\":\"rbd\","
	    "\"image\":\"vol-1\",\"user\":\"sbx\",\"key-secret\":\"vol2-key\",\"server\":[{"
	    "\"host\":"
	    "\"10.0.0.1\",\"port\":\"6789\"},{\"host\":\"fd00::1\",\"port\":\"3300\"}],"
	    "\"discard\":\"unmap\"} -device virtio-blk-pci,drive=vol2,serial=vol2,addr=0x9 "));
	/* the key never on the command line, no path QEMU's user would have to open */
	g_assert_null(strstr(joined, KEY));
	g_assert_null(strstr(joined, "/var/lib/v"));
	/* after the root disk's slot, before the NIC and the agent */
	g_assert_true(strstr(joined, "serial=vol2") < strstr(joined, "virtio-serial-pci"));

	none = argv_joined(NULL, 0);
	g_assert_null(strstr(none, "-add-fd"));
	g_assert_null(strstr(none, "-blockdev"));
}

static void
expect_invalid(SbxDiskSource *src, const gchar *message)
{
	g_autoptr(GError) error = NULL;
	g_assert_false(sbx_blockdev_check_source(src, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_assert_cmpstr(error->message, ==, message);
}

static void
test_check_source(void)
{
	g_autoptr(SbxDiskSource) rbd = rbd_source();
	g_autoptr(SbxDiskSource) file = sbx_disk_source_new(SBX_DISK_SOURCE_FILE);

	g_assert_true(sbx_blockdev_check_source(rbd, NULL));
	g_clear_pointer(&rbd->pool, g_free);
	expect_invalid(rbd, "rbd volume pool: missing");
	rbd->pool = g_strdup("rbd");
	g_free(rbd->image);
	rbd->image = g_strdup("a\nb");
	expect_invalid(rbd, "rbd volume image: has control characters");
	g_free(rbd->image);
	rbd->image = g_strdup("img");
	g_free(rbd->monitors[0]);
	rbd->monitors[0] = g_strdup("10.0.0.1,mon_host=evil");
	expect_invalid(rbd, "rbd volume monitor: ',' is not allowed");
	g_strfreev(rbd->monitors);
	rbd->monitors = NULL;
	expect_invalid(rbd, "rbd volume: no monitors");
	rbd->monitors = g_strsplit("127.0.0.1:6789", " ", -1);
	g_free(rbd->auth_key);
	rbd->auth_key = g_strdup("key with spaces");
	expect_invalid(rbd, "rbd volume key: not base64 of at most 256 bytes");

	expect_invalid(file, "file volume: the path must be absolute UTF-8");
	file->path = g_strdup("/v/a.qcow2");
	expect_invalid(file, "file volume: the format must be qcow2 or raw");
	file->format = g_strdup("vmdk");
	expect_invalid(file, "file volume: the format must be qcow2 or raw");
	g_free(file->format);
	file->format = g_strdup("qcow2");
	g_assert_true(sbx_blockdev_check_source(file, NULL));
}

static guint
count_fds(void)
{
	g_autoptr(GDir) dir = g_dir_open("/proc/self/fd", 0, NULL);
	const gchar *name;
	guint n = 0;
	while ((name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *p = g_build_filename("/proc/self/fd", name, NULL);
		g_autofree gchar *t = g_file_read_link(p, NULL);
		g_test_message("fd %s -> %s", name, t != NULL ? t : "?");
		n++;
	}
	return n;
}

static void
qemu_img(const gchar *args)
{
	g_autofree gchar *line = g_strdup_printf("qemu-img %s", args);
	g_autofree gchar *err = NULL;
	gint status = -1;
	g_assert_true(g_spawn_command_line_sync(line, NULL, &err, &status, NULL));
	if (!g_spawn_check_wait_status(status, NULL))
		g_error("%s: %s", line, err);
}

/* the qcow2 plugin's layout: a snapshot, a clone with a relative backing name */
static void
test_chain(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *dir = g_dir_make_tmp("sbx-qemu-chain-XXXXXX", &error);
	g_autofree gchar *snap = g_build_filename(dir, "snp.qcow2", NULL);
	g_autofree gchar *clone = g_build_filename(dir, "vol.qcow2", NULL);
	g_autofree gchar *evil = g_build_filename(dir, "evil.qcow2", NULL);
	g_autofree gchar *text = g_build_filename(dir, "text.qcow2", NULL);
	g_autofree gchar *cmd = NULL;
	guint fds = count_fds();
	SbxBlockdevChain *chain;

	g_assert_no_error(error);
	cmd = g_strdup_printf("create -q -f qcow2 %s 16M", snap);
	qemu_img(cmd);
	g_free(cmd);
	cmd = g_strdup_printf("create -q -f qcow2 -b snp.qcow2 -F qcow2 %s 32M", clone);
	qemu_img(cmd);
	g_free(cmd);
	/* a header that names a file outside the folder (as a QEMU that owned the
	 * image could have written it) */
	cmd = g_strdup_printf("create -q -f qcow2 -b /etc/passwd -F raw -u %s 16M", evil);
	qemu_img(cmd);
	g_assert_true(g_file_set_contents(text, "not an image", -1, NULL));

	chain = sbx_blockdev_chain_open(clone, "qcow2", FALSE, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(chain->n_layers, ==, 2);
	g_assert_cmpstr(chain->paths[1], ==, snap);
	g_assert_cmpstr(chain->formats[1], ==, "qcow2");
	g_assert_cmpint(fcntl(chain->fds[0], F_GETFL) & O_ACCMODE, ==, O_RDWR);
	g_assert_cmpint(fcntl(chain->fds[1], F_GETFL) & O_ACCMODE, ==, O_RDONLY);
	sbx_blockdev_chain_free(chain);
	chain = sbx_blockdev_chain_open(clone, "qcow2", TRUE, &error);
	g_assert_no_error(error);
	g_assert_cmpint(fcntl(chain->fds[0], F_GETFL) & O_ACCMODE, ==, O_RDONLY);
	sbx_blockdev_chain_free(chain);

	chain = sbx_blockdev_chain_open(evil, "qcow2", FALSE, &error);
	g_assert_null(chain);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
	g_assert_nonnull(strstr(error->message, "not in the volume's folder"));
	g_clear_error(&error);
	chain = sbx_blockdev_chain_open(text, "qcow2", FALSE, &error);
	g_assert_null(chain);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
	g_clear_error(&error);
	chain = sbx_blockdev_chain_open(dir, "raw", FALSE, &error);
	g_assert_null(chain);
	g_clear_error(&error);
	/* nothing left open after failures */
	g_assert_cmpuint(count_fds(), ==, fds);

	g_unlink(snap);
	g_unlink(clone);
	g_unlink(evil);
	g_unlink(text);
	g_rmdir(dir);
}

/* --- the loaded plugin ---------------------------------------------------- */

static GType
load_plugin(void)
{
	g_autofree gchar *path = g_build_filename(TEST_PLUGIN_DIR, "libsbx-qemu.so", NULL);
	GModule *module = g_module_open(path, G_MODULE_BIND_LOCAL);
	SbxPluginQueryFunc query = NULL;

	if (module == NULL)
		g_error("%s", g_module_error());
	g_assert_true(g_module_symbol(module, SBX_PLUGIN_QUERY_SYMBOL, (gpointer *)&query));
	g_module_make_resident(module);
	return query()->get_type();
}

static void
on_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	*(GAsyncResult **)user_data = g_object_ref(res);
}

/* a bad source: refused before anything is made (no record, no fd, no
 * process, no file in the run folder), the message names the problem */
static void
test_plugin_bad_source(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *dir = g_dir_make_tmp("sbx-qemu-vol-XXXXXX", &error);
	g_autofree gchar *records = g_build_filename(dir, "records", NULL);
	g_autofree gchar *run_dir = g_build_filename(dir, "run", NULL);
	g_autofree gchar *conf =
	    g_strdup_printf("[qemu]\nUser=root\nRecordDir=%s\nCgroupRoot=%s/"
			    "cg\nNetworkBridge=sbxnone0\nNetwork=none\nPrivateTmp=false\n",
			    records, dir);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(SbxHypervisorBackend) backend = NULL;
	g_autoptr(SbxVmSpec) spec = sbx_vm_spec_new();
	g_autoptr(SbxDiskSource) src = rbd_source();
	const gchar *bad_serials[] = {"", "vol,addr=0x3", "012345678901234567890", NULL};
	guint fds;

	g_assert_no_error(error);
	backend = g_object_new(load_plugin(), NULL);
	g_assert_true(g_key_file_load_from_data(kf, conf, -1, G_KEY_FILE_NONE, &error));
	g_assert_true(sbx_hypervisor_backend_configure(backend, kf, "qemu", &error));
	g_assert_no_error(error);
	g_assert_cmpint(g_mkdir(run_dir, 0750), ==, 0);
	spec->id = g_strdup("qvol-bad");
	spec->memory_mib = 128;
	spec->vcpus = 1;
	spec->kernel = g_strdup("/nonexistent/vmlinuz");
	spec->run_dir = g_strdup(run_dir);
	spec->agent_socket = g_build_filename(run_dir, "agent.sock", NULL);
	spec->console_log = g_build_filename(run_dir, "console.log", NULL);
	spec->disks = g_ptr_array_new_with_free_func((GDestroyNotify)sbx_vm_disk_free);
	g_clear_pointer(&src->pool, g_free);
	g_ptr_array_add(spec->disks, disk_new(sbx_disk_source_copy(src), "vol1", FALSE));
	/* warm-up: GLib's worker threads and wakeup fds are made once */
	{
		g_autoptr(GAsyncResult) res = NULL;
		spec->memory_mib = 0;
		sbx_hypervisor_backend_start_vm_async(backend, spec, NULL, on_done, &res);
		while (res == NULL)
			g_main_context_iteration(NULL, TRUE);
		g_assert_false(sbx_hypervisor_backend_start_vm_finish(backend, res, NULL));
		spec->memory_mib = 128;
	}
	fds = count_fds();

	for (guint i = 0; i <= G_N_ELEMENTS(bad_serials); i++) {
		g_autoptr(GAsyncResult) res = NULL;
		g_autoptr(GPtrArray) left = NULL;
		g_autoptr(GDir) d = NULL;
		const gchar *expect = "vm qvol-bad: volume vol1: rbd volume pool: missing";

		if (i > 0 && bad_serials[i - 1] != NULL) {
			SbxVmDisk *disk = g_ptr_array_index(spec->disks, 0);
			g_free(disk->serial);
			disk->serial = g_strdup(bad_serials[i - 1]);
			expect = "vm qvol-bad: volume 0: the serial must be 1-20 of [A-Za-z0-9_-]";
		} else if (i > 0) {
			/* a snapshot template never gets volumes */
			SbxVmDisk *disk = g_ptr_array_index(spec->disks, 0);
			g_free(disk->serial);
			disk->serial = g_strdup("vol1");
			disk->source->pool = g_strdup("rbd");
			spec->snapshot_dir = g_strdup(dir);
			expect = "vm qvol-bad: a snapshot template or clone gets no volumes";
		}
		sbx_hypervisor_backend_start_vm_async(backend, spec, NULL, on_done, &res);
		while (res == NULL)
			g_main_context_iteration(NULL, TRUE);
		g_assert_false(sbx_hypervisor_backend_start_vm_finish(backend, res, &error));
		g_assert_nonnull(error);
		g_assert_cmpstr(error->message, ==, expect);
		g_clear_error(&error);
		/* nothing made: no record, nothing in the run folder, no fd */
		d = g_dir_open(run_dir, 0, NULL);
		g_assert_null(g_dir_read_name(d));
		g_clear_pointer(&d, g_dir_close);
		d = g_dir_open(records, 0, NULL);
		while (d != NULL) {
			const gchar *name = g_dir_read_name(d);
			if (name == NULL)
				break;
			g_error("record %s left behind", name);
		}
		g_clear_pointer(&d, g_dir_close);
		g_assert_cmpuint(count_fds(), ==, fds);
	}
	g_clear_object(&backend);
	g_rmdir(records);
	g_rmdir(run_dir);
	g_rmdir(dir);
}

/* a volume the real QEMU cannot take (its write lock held elsewhere, as by
 * another VM): the start fails at once with a clear error, not a boot timeout;
 * QEMU is gone, its record too, no fd is left */
static void
test_plugin_locked_volume(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *dir = g_dir_make_tmp("sbx-qemu-lock-XXXXXX", &error);
	g_autofree gchar *records = g_build_filename(dir, "records", NULL);
	g_autofree gchar *run_dir = g_build_filename(dir, "run", NULL);
	g_autofree gchar *image = g_build_filename(dir, "vol.raw", NULL);
	g_autofree gchar *conf =
	    g_strdup_printf("[qemu]\nUser=root\nRecordDir=%s\nCgroupRoot=%s/"
			    "cg\nNetworkBridge=sbxnone0\nNetwork=none\nPrivateTmp=false\n",
			    records, dir);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(SbxHypervisorBackend) backend = NULL;
	g_autoptr(SbxVmSpec) spec = sbx_vm_spec_new();
	g_autoptr(GAsyncResult) res = NULL;
	SbxDiskSource *src = sbx_disk_source_new(SBX_DISK_SOURCE_FILE);
	struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	gint64 deadline;
	gint holder;
	guint fds;

	g_assert_no_error(error);
	g_assert_true(g_file_set_contents(image, "", 0, NULL));
	g_assert_cmpint(truncate(image, 1 << 20), ==, 0);
	/* QEMU's locks are OFD locks on bytes 100+: one on the whole file blocks it */
	holder = g_open(image, O_RDWR | O_CLOEXEC, 0);
	g_assert_cmpint(holder, >=, 0);
	g_assert_cmpint(fcntl(holder, F_OFD_SETLK, &lock), ==, 0);
	backend = g_object_new(load_plugin(), NULL);
	g_assert_true(g_key_file_load_from_data(kf, conf, -1, G_KEY_FILE_NONE, &error));
	g_assert_true(sbx_hypervisor_backend_configure(backend, kf, "qemu", &error));
	g_assert_cmpint(g_mkdir(run_dir, 0750), ==, 0);
	/* a name of this run's own: the QEMU looked for below is ours */
	spec->id = g_strdup_printf("qvol-locked%d", (gint)getpid());
	spec->memory_mib = 128;
	spec->vcpus = 1;
	/* QEMU opens its block devices before it loads a kernel */
	spec->kernel = g_strdup(image);
	spec->run_dir = g_strdup(run_dir);
	spec->agent_socket = g_build_filename(run_dir, "agent.sock", NULL);
	spec->console_log = g_build_filename(run_dir, "console.log", NULL);
	spec->disks = g_ptr_array_new_with_free_func((GDestroyNotify)sbx_vm_disk_free);
	src->path = g_strdup(image);
	src->format = g_strdup("raw");
	g_ptr_array_add(spec->disks, disk_new(src, "vol1", FALSE));
	fds = count_fds();

	sbx_hypervisor_backend_start_vm_async(backend, spec, NULL, on_done, &res);
	while (res == NULL)
		g_main_context_iteration(NULL, TRUE);
	g_assert_false(sbx_hypervisor_backend_start_vm_finish(backend, res, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_FAILED);
	{
		g_autofree gchar *want =
		    g_strdup_printf("vm %s: QEMU exited while opening its volumes (its message is "
				    "in the daemon's log)",
				    spec->id);
		g_assert_cmpstr(error->message, ==, want);
	}
	/* the exit watch reaps it and the record goes in the background */
	deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
	for (;;) {
		g_autoptr(GDir) d = g_dir_open(records, 0, NULL);
		if (d == NULL || g_dir_read_name(d) == NULL)
			break;
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_main_context_iteration(NULL, FALSE);
		g_usleep(10000);
	}
	{
		g_autoptr(GPtrArray) left = g_ptr_array_new();
		g_autoptr(GDir) proc = g_dir_open("/proc", 0, NULL);
		g_autofree gchar *name_arg = g_strconcat(spec->id, ",", NULL);
		const gchar *name;
		while ((name = g_dir_read_name(proc)) != NULL) {
			g_autofree gchar *path = g_build_filename("/proc", name, "cmdline", NULL);
			g_autofree gchar *cmdline = NULL;
			gsize len = 0;
			if (g_ascii_isdigit(name[0]) &&
			    g_file_get_contents(path, &cmdline, &len, NULL) && len > 0 &&
			    memmem(cmdline, len, name_arg, strlen(name_arg)) != NULL)
				g_error("QEMU %s still runs", name);
		}
	}
	g_assert_cmpuint(count_fds(), ==, fds);
	close(holder);
	g_clear_object(&backend);
	{
		g_autoptr(GDir) d = g_dir_open(run_dir, 0, NULL);
		const gchar *name;
		while ((name = g_dir_read_name(d)) != NULL) {
			g_autofree gchar *path = g_build_filename(run_dir, name, NULL);
			g_unlink(path);
		}
	}
	g_rmdir(run_dir);
	g_rmdir(records);
	g_unlink(image);
	g_rmdir(dir);
}

/* a network name libvirt would not take is refused at configure, naming the key */
static void
test_plugin_bad_network(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *dir = g_dir_make_tmp("sbx-qemu-net-XXXXXX", &error);
	g_autofree gchar *conf =
	    g_strdup_printf("[qemu]\nUser=root\nRecordDir=%s/records\nCgroupRoot=%s/cg\n"
			    "NetworkBridge=sbxnone0\nNetwork=bad name/..\nPrivateTmp=false\n",
			    dir, dir);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(SbxHypervisorBackend) backend = NULL;
	g_autofree gchar *records = g_build_filename(dir, "records", NULL);

	g_assert_no_error(error);
	backend = g_object_new(load_plugin(), NULL);
	g_assert_true(g_key_file_load_from_data(kf, conf, -1, G_KEY_FILE_NONE, &error));
	g_assert_false(sbx_hypervisor_backend_configure(backend, kf, "qemu", &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_assert_nonnull(strstr(error->message, "[qemu] Network: 'bad name/..'"));
	g_rmdir(records);
	g_rmdir(dir);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/qemu-volumes/argv", test_argv_volumes);
	g_test_add_func("/qemu-volumes/check-source", test_check_source);
	g_test_add_func("/qemu-volumes/chain", test_chain);
	g_test_add_func("/qemu-volumes/plugin-bad-source", test_plugin_bad_source);
	g_test_add_func("/qemu-volumes/plugin-locked-volume", test_plugin_locked_volume);
	g_test_add_func("/qemu-volumes/plugin-bad-network", test_plugin_bad_network);
	return g_test_run();
}
