/* durable volumes in real VMs (Debian image: it has mkfs.ext4), on a qcow2 volume and
 * an rbd volume of a throwaway Ceph cluster (scripts/ceph-dev.sh): data survives the
 * sandbox and the daemon, resize shows inside, snapshots are independent, delete is
 * refused while attached, a stopped cluster is a clear error, nothing leaks; a
 * sandbox with volumes is adopted by a daemon restarted after SIGKILL, its volumes
 * locked again. Four sandboxes in all, each with both volumes.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "sbx-test-env.h"
#include "sbx-test-main.h"
#include "sbx-test-supervisor.h"

#define MIB (G_GUINT64_CONSTANT(1) << 20)
static const gchar *debian_dir;
static const gchar *ceph_dev;
static gchar *tmpdir;
static gchar *ceph_dir;
static gchar *vol_dir;
static const gchar *const backends[] = {"qcow2", "rbd"};

static GVariant *
manager_call(const gchar *method, GVariant *params, const gchar *type, GError **error)
{
	return g_dbus_connection_call_sync(sbx_test_env_get()->conn, "org.sandboxd",
					   "/org/sandboxd/Manager1", "org.sandboxd.Manager1",
					   method, params, G_VARIANT_TYPE(type),
					   G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
}

static gchar *
create_volume(const gchar *name, GVariant *options, GError **error)
{
	g_autoptr(GVariant) reply =
	    manager_call("CreateVolume", g_variant_new("(s@a{sv})", name, options), "(o)", error);
	gchar *path = NULL;
	if (reply != NULL)
		g_variant_get(reply, "(o)", &path);
	return path;
}

static GVariant *
volume_call(const gchar *name, const gchar *method, GVariant *params, const gchar *type,
	    GError **error)
{
	g_autoptr(GVariant) reply =
	    manager_call("GetVolume", g_variant_new("(s)", name), "(o)", error);
	const gchar *path = NULL;
	if (reply == NULL)
		return NULL;
	g_variant_get(reply, "(&o)", &path);
	return g_dbus_connection_call_sync(
	    sbx_test_env_get()->conn, "org.sandboxd", path, "org.sandboxd.Volume1", method, params,
	    type != NULL ? G_VARIANT_TYPE(type) : NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
}

/* a Debian sandbox with NAME -> PATH for each backend's volume */
static gchar *
create_sandbox(const gchar *data_suffix, const gchar *clone_suffix)
{
	g_autoptr(GError) error = NULL;
	GVariantBuilder opts;
	GVariantBuilder vols;
	gchar *path;

	g_variant_builder_init(&opts, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_init(&vols, G_VARIANT_TYPE_VARDICT);
	for (guint i = 0; i < G_N_ELEMENTS(backends); i++) {
		g_autofree gchar *mnt = g_strdup_printf("/mnt/%s", backends[i]);
		g_autofree gchar *name = g_strdup_printf("%s-data%s", backends[i], data_suffix);
		g_variant_builder_add(&vols, "{sv}", mnt, g_variant_new_string(name));
		if (clone_suffix != NULL) {
			g_autofree gchar *cm = g_strdup_printf("/mnt/%s-clone", backends[i]);
			g_autofree gchar *cn =
			    g_strdup_printf("%s-clone%s", backends[i], clone_suffix);
			g_variant_builder_add(&vols, "{sv}", cm, g_variant_new_string(cn));
		}
	}
	g_variant_builder_add(&opts, "{sv}", "image", g_variant_new_string("debian"));
	g_variant_builder_add(&opts, "{sv}", "vcpus", g_variant_new_uint32(1));
	g_variant_builder_add(&opts, "{sv}", "volumes", g_variant_builder_end(&vols));
	path = sbx_test_create(NULL, g_variant_builder_end(&opts), &error);
	g_assert_no_error(error);
	g_assert_nonnull(path);
	return path;
}

static void
kill_sandbox(const gchar *path)
{
	g_autoptr(GError) error = NULL;
	SBX_TEST_ASSERT_OK(sbx_test_kill(NULL, path, &error));
}

static gchar *
ceph(const gchar *cmd)
{
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_autofree gchar *conf = g_build_filename(ceph_dir, "ceph.conf", NULL);
	g_autofree gchar *line = g_strdup_printf("rbd -c %s %s", conf, cmd);
	gint status = 0;
	g_autoptr(GError) error = NULL;
	SBX_TEST_ASSERT_OK(g_spawn_command_line_sync(line, &out, &err, &status, &error));
	if (!g_spawn_check_wait_status(status, NULL))
		g_error("%s: %s", line, err);
	return g_steal_pointer(&out);
}

static void
test_data_lifecycle(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *sb1 = NULL;
	g_autofree gchar *sb2 = NULL;
	g_autofree gchar *sb3 = NULL;
	g_autofree gchar *out = NULL;

	for (guint i = 0; i < G_N_ELEMENTS(backends); i++) {
		g_autofree gchar *name = g_strdup_printf("%s-data", backends[i]);
		g_autofree gchar *path = create_volume(
		    name,
		    g_variant_new_parsed("{'backend': <%s>, 'capacity': <'512MiB'>}", backends[i]),
		    &error);
		g_assert_no_error(error);
		g_assert_nonnull(path);
	}

	/* 1: written, then the sandbox is killed */
	sb1 = create_sandbox("", NULL);
	g_free(sbx_test_sh_ok(sb1, "for b in qcow2 rbd; do mountpoint -q /mnt/$b || exit 1; "
				   "echo hello-$b > /mnt/$b/f; done; sync"));
	{
		/* delete refused while attached */
		g_autoptr(GError) e = NULL;
		g_autoptr(GVariant) r = volume_call("rbd-data", "Delete", NULL, NULL, &e);
		g_autofree gchar *remote = g_dbus_error_get_remote_error(e);
		g_assert_cmpstr(remote, ==, "org.sandboxd.Error.VolumeAttached");
	}
	kill_sandbox(sb1);

	/* grow, snapshot, clone from the snapshot */
	for (guint i = 0; i < G_N_ELEMENTS(backends); i++) {
		g_autofree gchar *name = g_strdup_printf("%s-data", backends[i]);
		g_autofree gchar *snap = g_strdup_printf("%s-snap", backends[i]);
		g_autofree gchar *clone = g_strdup_printf("%s-clone", backends[i]);
		g_autoptr(GVariant) r1 =
		    volume_call(name, "Resize", g_variant_new("(t)", 1024 * MIB), NULL, &error);
		g_autoptr(GVariant) r2 = NULL;
		g_autofree gchar *c = NULL;
		g_assert_no_error(error);
		r2 = volume_call(name, "Snapshot", g_variant_new_parsed("(%s, @a{sv} {})", snap),
				 "(o)", &error);
		g_assert_no_error(error);
		c = create_volume(clone, g_variant_new_parsed("{'from_snapshot': <%s>}", snap),
				  &error);
		g_assert_no_error(error);
	}

	/* 2: the data is back, the new size shows, the clone holds the snapshot's data
	 * while the original changes */
	sb2 = create_sandbox("", "");
	out = sbx_test_sh_ok(sb2, "for b in qcow2 rbd; do cat /mnt/$b/f; "
				  "df -B1M --output=size /mnt/$b | tail -n1; "
				  "echo changed-$b > /mnt/$b/f; cat /mnt/$b-clone/f; done; sync");
	{
		g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
		g_assert_cmpuint(g_strv_length(lines), >=, 6);
		for (guint i = 0; i < G_N_ELEMENTS(backends); i++) {
			g_autofree gchar *hello = g_strdup_printf("hello-%s", backends[i]);
			guint64 mib = g_ascii_strtoull(g_strstrip(lines[3 * i + 1]), NULL, 10);
			g_assert_cmpstr(lines[3 * i], ==, hello);
			/* ext4's own metadata takes some of the 1024 MiB */
			g_assert_cmpuint(mib, >, 900);
			g_assert_cmpstr(lines[3 * i + 2], ==, hello);
		}
	}
	kill_sandbox(sb2);

	/* 3: after a daemon restart, the changed data is found, the clone kept the old */
	g_assert_cmpint(sbx_test_env_stop_daemon(sbx_test_env_get(), 60000), ==, 0);
	SBX_TEST_ASSERT_OK(sbx_test_env_restart_daemon(sbx_test_env_get(), &error));
	sb3 = create_sandbox("", "");
	g_free(out);
	out = sbx_test_sh_ok(sb3, "for b in qcow2 rbd; do cat /mnt/$b/f /mnt/$b-clone/f; done");
	g_assert_cmpstr(out, ==, "changed-qcow2\nhello-qcow2\nchanged-rbd\nhello-rbd\n");
	kill_sandbox(sb3);

	/* everything deleted: nothing left in the folder or the pool */
	for (guint i = 0; i < G_N_ELEMENTS(backends); i++) {
		const gchar *kinds[] = {"clone", "snap", "data"};
		for (guint k = 0; k < G_N_ELEMENTS(kinds); k++) {
			g_autofree gchar *name = g_strdup_printf("%s-%s", backends[i], kinds[k]);
			g_autoptr(GVariant) r = volume_call(name, "Delete", NULL, NULL, &error);
			g_assert_no_error(error);
		}
	}
	{
		g_autoptr(GPtrArray) files = sbx_test_list_files(vol_dir);
		for (guint i = 0; i < files->len; i++) {
			const gchar *f = g_ptr_array_index(files, i);
			g_assert_false(g_str_has_suffix(f, ".qcow2") ||
				       g_str_has_suffix(f, ".json"));
		}
	}
	g_free(out);
	out = ceph("ls rbd");
	g_assert_cmpstr(g_strstrip(out), ==, "");
}

/* a duration sandbox with both volumes outlives a daemon killed with SIGKILL:
 * adopted with the same QEMU, its volumes still mounted and written, their locks
 * taken again (delete and a second read-write attachment refused), and
 * released once the sandbox is killed */
static void
test_adopted(void)
{
	g_autoptr(GError) error = NULL;
	SbxTestEnv *env = sbx_test_env_get();
	g_autofree gchar *path = NULL;
	g_autofree gchar *id = NULL;
	g_autofree gchar *out = NULL;
	g_autoptr(GArray) qemu_before = NULL;
	g_autoptr(GArray) qemu_after = NULL;
	GVariantBuilder opts;
	GVariantBuilder vols;

	g_variant_builder_init(&opts, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_init(&vols, G_VARIANT_TYPE_VARDICT);
	for (guint i = 0; i < G_N_ELEMENTS(backends); i++) {
		g_autofree gchar *name = g_strdup_printf("%s-keep", backends[i]);
		g_autofree gchar *mnt = g_strdup_printf("/mnt/%s", backends[i]);
		g_autofree gchar *vp = create_volume(
		    name, g_variant_new_parsed("{'backend': <%s>}", backends[i]), &error);
		g_assert_no_error(error);
		g_variant_builder_add(&vols, "{sv}", mnt, g_variant_new_string(name));
	}
	g_variant_builder_add(&opts, "{sv}", "image", g_variant_new_string("debian"));
	g_variant_builder_add(&opts, "{sv}", "vcpus", g_variant_new_uint32(1));
	g_variant_builder_add(&opts, "{sv}", "timeout", g_variant_new_string("20m"));
	g_variant_builder_add(&opts, "{sv}", "volumes", g_variant_builder_end(&vols));
	path = sbx_test_create(NULL, g_variant_builder_end(&opts), &error);
	g_assert_no_error(error);
	id = sbx_test_get_id(NULL, path);
	g_free(
	    sbx_test_sh_ok(path, "for b in qcow2 rbd; do echo before-$b > /mnt/$b/f; done; sync"));
	qemu_before = sbx_test_find_qemu(id);
	g_assert_cmpuint(qemu_before->len, ==, 1);
	{
		/* the sandbox's record is on disk before the crash */
		g_autofree gchar *record = g_strconcat(id, ".json", NULL);
		g_autofree gchar *rec_path = g_build_filename(env->state_dir, record, NULL);
		gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
		while (!g_file_test(rec_path, G_FILE_TEST_EXISTS)) {
			g_assert_cmpint(g_get_monotonic_time(), <, deadline);
			g_usleep(50 * 1000);
		}
	}

	g_subprocess_send_signal(env->daemon, SIGKILL);
	g_assert_true(g_subprocess_wait(env->daemon, NULL, NULL));
	g_clear_object(&env->daemon);
	SBX_TEST_ASSERT_OK(sbx_test_env_restart_daemon(env, &error));

	qemu_after = sbx_test_find_qemu(id);
	g_assert_cmpuint(qemu_after->len, ==, 1);
	g_assert_cmpint(g_array_index(qemu_after, gint, 0), ==,
			g_array_index(qemu_before, gint, 0));
	out = sbx_test_sh_ok(path, "for b in qcow2 rbd; do mountpoint -q /mnt/$b || exit 1; "
				   "cat /mnt/$b/f; echo after-$b > /mnt/$b/f; cat /mnt/$b/f; "
				   "done; sync");
	g_assert_cmpstr(out, ==, "before-qcow2\nafter-qcow2\nbefore-rbd\nafter-rbd\n");
	for (guint i = 0; i < G_N_ELEMENTS(backends); i++) {
		g_autofree gchar *name = g_strdup_printf("%s-keep", backends[i]);
		g_autoptr(GError) e = NULL;
		g_autoptr(GVariant) r = volume_call(name, "Delete", NULL, NULL, &e);
		g_autofree gchar *remote = g_dbus_error_get_remote_error(e);
		g_assert_cmpstr(remote, ==, "org.sandboxd.Error.VolumeAttached");
	}
	{
		/* a second read-write attachment: refused, the adopted one holds it */
		g_autoptr(GError) e = NULL;
		g_autofree gchar *other = sbx_test_create(
		    NULL,
		    g_variant_new_parsed(
			"{'image': <'debian'>, 'volumes': <{'/mnt/q': <'qcow2-keep'>}>}"),
		    &e);
		g_autofree gchar *remote = e != NULL ? g_dbus_error_get_remote_error(e) : NULL;
		g_assert_null(other);
		g_assert_cmpstr(remote, ==, "org.sandboxd.Error.VolumeAttached");
	}
	kill_sandbox(path);
	for (guint i = 0; i < G_N_ELEMENTS(backends); i++) {
		g_autofree gchar *name = g_strdup_printf("%s-keep", backends[i]);
		g_autoptr(GVariant) r = volume_call(name, "Delete", NULL, NULL, &error);
		g_assert_no_error(error);
	}
	{
		g_autoptr(GArray) left = sbx_test_find_qemu(id);
		g_assert_cmpuint(left->len, ==, 0);
	}
}

/* the cluster stops: CreateVolume fails with Timeout (MountTimeoutSec=5) and the daemon
 * keeps answering */
static void
test_ceph_stopped(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *remote = NULL;
	g_autoptr(GVariant) list = NULL;
	const gchar *argv[] = {ceph_dev, "stop", ceph_dir, NULL};
	gint status = 0;

	SBX_TEST_ASSERT_OK(g_spawn_sync(NULL, (gchar **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
					NULL, NULL, &status, &error));
	g_assert_true(g_spawn_check_wait_status(status, NULL));
	path = create_volume("unreachable", g_variant_new_parsed("{'backend': <'rbd'>}"), &error);
	g_assert_null(path);
	remote = g_dbus_error_get_remote_error(error);
	g_assert_cmpstr(remote, ==, "org.sandboxd.Error.Timeout");
	g_clear_error(&error);
	list = manager_call("ListVolumes", g_variant_new_parsed("(@a{sv} {},)"), "(ao)", &error);
	g_assert_no_error(error);
	{
		g_autofree gchar *q = create_volume(
		    "still-works", g_variant_new_parsed("{'backend': <'qcow2'>}"), &error);
		g_autoptr(GVariant) r = NULL;
		g_assert_no_error(error);
		r = volume_call("still-works", "Delete", NULL, NULL, &error);
		g_assert_no_error(error);
	}
}

static gboolean
write_dropin(GError **error)
{
	g_autofree gchar *dir = g_build_filename(tmpdir, "config", "sandboxd.conf.d", NULL);
	g_autofree gchar *path = g_build_filename(dir, "50-volumes.conf", NULL);
	g_autofree gchar *rbd_src = g_build_filename(ceph_dir, "sandboxd-rbd.conf", NULL);
	g_autofree gchar *rbd_dst = g_build_filename(dir, "60-rbd.conf", NULL);
	g_autofree gchar *cmdline_file = g_build_filename(debian_dir, "cmdline", NULL);
	g_autofree gchar *cmdline = NULL;
	g_autofree gchar *rbd_conf = NULL;
	g_autofree gchar *kernel = g_build_filename(debian_dir, "vmlinuz", NULL);
	g_autofree gchar *vmlinux = g_build_filename(debian_dir, "vmlinux", NULL);
	g_autofree gchar *initrd = g_build_filename(debian_dir, "initrd.img", NULL);
	g_autofree gchar *disk = g_build_filename(debian_dir, "debian.qcow2", NULL);
	g_autofree gchar *conf = NULL;

	if (!g_file_get_contents(cmdline_file, &cmdline, NULL, error))
		return FALSE;
	if (!g_file_get_contents(rbd_src, &rbd_conf, NULL, error))
		return FALSE;
	conf = g_strdup_printf("[image debian]\nKernel=%s\nInitrd=%s\nCmdline=%s\nRootDisk=%s\n"
			       "Network=false\n"
			       "[volumes]\nDefaultBackend=qcow2\n[qcow2]\nDirectory=%s\n",
			       g_file_test(vmlinux, G_FILE_TEST_EXISTS) ? vmlinux : kernel, initrd,
			       g_strstrip(cmdline), disk, vol_dir);
	if (g_mkdir_with_parents(dir, 0755) != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot create %s", dir);
		return FALSE;
	}
	/* the script's drop-in, with a short timeout for the stopped-cluster case */
	{
		g_autofree gchar *rbd = g_strdup_printf("%sMountTimeoutSec=5\n", rbd_conf);
		if (!g_file_set_contents(rbd_dst, rbd, -1, error))
			return FALSE;
	}
	return g_file_set_contents(path, conf, -1, error);
}

/* both plugin folders in one: symlinks */
static gchar *
make_plugin_dir(void)
{
	gchar *dir = g_build_filename(tmpdir, "plugins", NULL);
	const gchar *srcs[] = {g_getenv("SBX_TEST_PLUGIN_DIR"),
			       g_getenv("SBX_TEST_VOLUME_PLUGIN_DIR")};
	g_mkdir_with_parents(dir, 0755);
	for (guint i = 0; i < G_N_ELEMENTS(srcs); i++) {
		g_autoptr(GDir) d = srcs[i] != NULL ? g_dir_open(srcs[i], 0, NULL) : NULL;
		const gchar *name;
		while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
			g_autofree gchar *src = NULL;
			g_autofree gchar *dst = NULL;
			if (!g_str_has_suffix(name, ".so"))
				continue;
			src = g_build_filename(srcs[i], name, NULL);
			dst = g_build_filename(dir, name, NULL);
			if (symlink(src, dst) != 0)
				g_printerr("symlink %s: %s\n", dst, g_strerror(errno));
		}
	}
	return dir;
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *plugin_dir = NULL;
	SbxTestEnv *env = sbx_test_env_get();
	const gchar *up[] = {NULL, "up", NULL, NULL};
	const gchar *down[] = {NULL, "down", NULL, NULL};
	gint status = 0;
	int rc;

	debian_dir = g_getenv("SBX_TEST_DEBIAN_IMAGE_DIR");
	ceph_dev = g_getenv("SBX_TEST_CEPH_DEV");
	if (debian_dir == NULL || ceph_dev == NULL) {
		g_printerr("SBX_TEST_DEBIAN_IMAGE_DIR and SBX_TEST_CEPH_DEV must be set\n");
		return 1;
	}
	tmpdir = sbx_test_main_init("volume", &argc, &argv);

	ceph_dir = g_build_filename(tmpdir, "ceph", NULL);
	vol_dir = g_build_filename(tmpdir, "volumes", NULL);
	up[0] = down[0] = ceph_dev;
	up[2] = down[2] = ceph_dir;
	if (!g_spawn_sync(NULL, (gchar **)up, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL,
			  &status, &error) ||
	    !g_spawn_check_wait_status(status, &error)) {
		g_printerr("ceph-dev.sh up: %s\n", error->message);
		return 1;
	}
	/* the supervisor kills the cluster if an assertion aborts us before "down" */
	{
		g_autofree gchar *run = g_build_filename(ceph_dir, "run", NULL);
		g_autoptr(GDir) d = g_dir_open(run, 0, NULL);
		const gchar *name;
		while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
			g_autofree gchar *pidfile = g_build_filename(run, name, NULL);
			g_autofree gchar *text = NULL;
			if (g_str_has_suffix(name, ".pid") &&
			    g_file_get_contents(pidfile, &text, NULL, NULL))
				sbx_supervisor_record_pid(tmpdir, (pid_t)atoi(text));
		}
	}
	plugin_dir = make_plugin_dir();
	g_setenv("SBX_TEST_PLUGIN_DIR", plugin_dir, TRUE);
	if (!write_dropin(&error) || !sbx_test_env_start(env, tmpdir, &error)) {
		g_printerr("cannot start the test environment: %s\n", error->message);
		sbx_test_env_stop(env);
		g_spawn_sync(NULL, (gchar **)down, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL,
			     NULL, NULL);
		return 1;
	}
	g_test_add_func("/volumes/data-lifecycle", test_data_lifecycle);
	g_test_add_func("/volumes/adopted", test_adopted);
	g_test_add_func("/volumes/ceph-stopped", test_ceph_stopped);
	rc = g_test_run();

	sbx_test_env_stop(env);
	g_spawn_sync(NULL, (gchar **)down, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, NULL,
		     NULL);
	return rc;
}
