/* integration tests of the Debian guest image (image/build-debian.sh): real VMs with
 * a copy-on-write root disk and outbound network, through the real sandboxd.
 * Needs root, libvirtd, the minimal image (SBX_TEST_IMAGE_DIR), the debian image
 * (SBX_TEST_DEBIAN_IMAGE_DIR) and access to Debian's mirror.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbx-test-env.h"
#include "sbx-test-main.h"
#include "sbx-test-supervisor.h"

static const gchar *debian_dir;
static gchar *base_disk;
static gchar *base_sha256;
/* one Debian sandbox shared by the tests: each boot costs seconds under TCG */
static gchar *deb_path;

static gchar *
file_sha256(const gchar *path)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GMappedFile) map = g_mapped_file_new(path, FALSE, &error);
	g_assert_no_error(error);
	return g_compute_checksum_for_data(G_CHECKSUM_SHA256,
					   (const guchar *)g_mapped_file_get_contents(map),
					   g_mapped_file_get_length(map));
}

static gchar *
create_sandbox(const gchar *image)
{
	g_autoptr(GError) error = NULL;
	GVariantBuilder opts;
	gchar *path;

	g_variant_builder_init(&opts, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&opts, "{sv}", "image", g_variant_new_string(image));
	g_variant_builder_add(&opts, "{sv}", "vcpus", g_variant_new_uint32(1));
	path = sbx_test_create(NULL, g_variant_builder_end(&opts), &error);
	g_assert_no_error(error);
	g_assert_nonnull(path);
	return path;
}

static const gchar *
debian_sandbox(void)
{
	if (deb_path == NULL)
		deb_path = create_sandbox("debian");
	return deb_path;
}

static void
test_python(void)
{
	g_autofree gchar *out = sbx_test_sh_ok(debian_sandbox(), "python3 -c 'print(1+1)'");
	g_assert_cmpstr(out, ==, "2\n");
}

/* the agent's PID 1 duties in a disk root */
static void
test_pid1(void)
{
	g_autofree gchar *id = sbx_test_get_id(NULL, debian_sandbox());
	/* named by its id, cold (sbx.hostname=) or restored (IDENTITY) */
	g_autofree gchar *want =
	    g_strdup_printf("%s\nproc\next4 devtmpfs devpts tmpfs sysfs \nbookworm\n", id);
	g_autofree gchar *out =
	    sbx_test_sh_ok(debian_sandbox(),
			   "hostname; cat /proc/1/comm >/dev/null && echo proc; "
			   "for m in / /dev /dev/pts /tmp /sys; do findmnt -n -o FSTYPE $m; done "
			   "| tr '\\n' ' '; "
			   "echo; . /etc/os-release; echo $VERSION_CODENAME");
	g_assert_cmpstr(out, ==, want);
}

/* 10 GiB by default, the ext4 on it as big */
static void
test_disk_size(void)
{
	g_autofree gchar *out =
	    sbx_test_sh_ok(debian_sandbox(), "df -B1M --output=size / | tail -n1");
	guint64 mib = g_ascii_strtoull(g_strstrip(out), NULL, 10);
	g_assert_cmpuint(mib, >, 9 * 1024);
	g_assert_cmpuint(mib, <=, 10 * 1024);
}

static void
test_network(void)
{
	g_autofree gchar *out = sbx_test_sh_ok(
	    debian_sandbox(), "getent hosts deb.debian.org >/dev/null && echo dns; "
			      "curl -sS -I --max-time 60 http://deb.debian.org/ | head -n1");
	g_assert_true(g_str_has_prefix(out, "dns\nHTTP/"));
}

/* apt under TCG on a busy host can outlast one Exec's time limit: run it in the
 * background of the guest and poll for its status file */
#define APT_WAIT_SEC 900

static void
test_apt(void)
{
	g_autofree gchar *out = NULL;
	gint64 deadline = g_get_monotonic_time() + (gint64)APT_WAIT_SEC * G_USEC_PER_SEC;

	/* its own session: the agent kills an Exec's process group when it ends */
	g_free(sbx_test_sh_ok(
	    debian_sandbox(),
	    "export DEBIAN_FRONTEND=noninteractive; rm -f /root/apt.rc; "
	    "setsid -f sh -c '(apt-get -q -o Acquire::Languages=none update && "
	    "apt-get install -y -q --no-install-recommends hello) >/root/apt.log 2>&1 "
	    "</dev/null; echo $? >/root/apt.rc.tmp && mv /root/apt.rc.tmp /root/apt.rc' "
	    ">/dev/null 2>&1 </dev/null"));
	for (;;) {
		g_autofree gchar *rc =
		    sbx_test_sh_ok(debian_sandbox(), "cat /root/apt.rc 2>/dev/null || :");
		if (rc[0] != '\0') {
			g_autofree gchar *log =
			    sbx_test_sh_ok(debian_sandbox(), "tail -n 20 /root/apt.log");
			if (g_strcmp0(rc, "0\n") != 0)
				g_error("apt-get failed (%s): %s", g_strstrip(rc), log);
			break;
		}
		if (g_get_monotonic_time() > deadline)
			g_error("apt-get did not finish in %d s", APT_WAIT_SEC);
		g_usleep(5 * G_USEC_PER_SEC);
	}
	out = sbx_test_sh_ok(debian_sandbox(), "hello");
	g_assert_cmpstr(out, ==, "Hello, world!\n");
}

/* what one sandbox writes, another (with a bigger disk) does not see; the base
 * never changes; the overlay goes with its sandbox */
static void
test_isolation(void)
{
	SbxTestEnv *env = sbx_test_env_get();
	g_autoptr(GError) error = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *other = NULL;
	g_autofree gchar *other_id = NULL;
	g_autofree gchar *overlay = NULL;
	g_autofree gchar *sha = NULL;
	struct stat st;

	g_free(sbx_test_sh_ok(debian_sandbox(),
			      "echo one > /root/only-here && echo x >> /etc/hostname && "
			      "sync"));
	other = create_sandbox("debian-big");
	other_id = sbx_test_get_id(NULL, other);
	overlay = g_build_filename(env->runtime_dir, other_id, "root.qcow2", NULL);
	g_assert_true(g_file_test(overlay, G_FILE_TEST_IS_REGULAR));
	out = sbx_test_sh_ok(other, "test -e /root/only-here && echo seen; cat /etc/hostname; "
				    "df -B1M --output=size / | tail -n1");
	g_strstrip(out);
	g_test_message("second sandbox: %s", out);
	g_assert_true(g_str_has_prefix(out, "sandbox\n"));
	/* DiskSizeGiB=12 grew the file system at boot */
	g_assert_cmpuint(g_ascii_strtoull(out + strlen("sandbox\n"), NULL, 10), >, 11 * 1024);
	g_free(sbx_test_sh_ok(other, "echo two > /root/other && sync"));
	g_free(out);
	out = sbx_test_sh_ok(debian_sandbox(),
			     "cat /root/only-here; test -e /root/other || echo absent");
	g_assert_cmpstr(out, ==, "one\nabsent\n");

	SBX_TEST_ASSERT_OK(sbx_test_kill(NULL, other, &error));
	g_assert_false(g_file_test(overlay, G_FILE_TEST_EXISTS));
	/* the base is untouched and still root's, read-only */
	sha = file_sha256(base_disk);
	g_assert_cmpstr(sha, ==, base_sha256);
	g_assert_cmpint(g_stat(base_disk, &st), ==, 0);
	g_assert_cmpuint(st.st_uid, ==, 0);
	g_assert_cmpuint(st.st_mode & 07777, ==, 0444);
}

static gboolean
write_dropin(const gchar *tmpdir, GError **error)
{
	g_autofree gchar *dir = g_build_filename(tmpdir, "config", "sandboxd.conf.d", NULL);
	g_autofree gchar *path = g_build_filename(dir, "50-debian.conf", NULL);
	g_autofree gchar *cmdline_file = g_build_filename(debian_dir, "cmdline", NULL);
	g_autofree gchar *cmdline = NULL;
	g_autofree gchar *kernel = g_build_filename(debian_dir, "vmlinuz", NULL);
	g_autofree gchar *vmlinux = g_build_filename(debian_dir, "vmlinux", NULL);
	g_autofree gchar *initrd = g_build_filename(debian_dir, "initrd.img", NULL);
	g_autofree gchar *section = NULL;
	g_autofree gchar *conf = NULL;

	if (!g_file_test(base_disk, G_FILE_TEST_IS_REGULAR) ||
	    !g_file_get_contents(cmdline_file, &cmdline, NULL, NULL)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "no debian image in %s (build it: meson compile -C BUILDDIR "
			    "image-debian)",
			    debian_dir);
		return FALSE;
	}
	/* the PVH kernel boots faster when the builder could extract it */
	section = g_strdup_printf("Kernel=%s\nInitrd=%s\nCmdline=%s\nRootDisk=%s\n",
				  g_file_test(vmlinux, G_FILE_TEST_EXISTS) ? vmlinux : kernel,
				  initrd, g_strstrip(cmdline), base_disk);
	conf = g_strdup_printf("# written by the debian integration tests\n"
			       "[image debian]\n%s\n"
			       "[image debian-big]\n%sDiskSizeGiB=12\n",
			       section, section);
	if (g_mkdir_with_parents(dir, 0755) != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot create %s", dir);
		return FALSE;
	}
	return g_file_set_contents(path, conf, -1, error);
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *tmpdir = NULL;
	SbxTestEnv *env = sbx_test_env_get();
	int rc;

	debian_dir = g_getenv("SBX_TEST_DEBIAN_IMAGE_DIR");
	if (debian_dir == NULL) {
		g_printerr("SBX_TEST_DEBIAN_IMAGE_DIR is not set\n");
		return 1;
	}
	base_disk = g_build_filename(debian_dir, "debian.qcow2", NULL);
	tmpdir = sbx_test_main_init("debian", &argc, &argv);
	if (!write_dropin(tmpdir, &error)) {
		g_printerr("%s\n", error->message);
		return 1;
	}
	base_sha256 = file_sha256(base_disk);
	sbx_test_main_start(tmpdir);

	g_test_add_func("/debian/python", test_python);
	g_test_add_func("/debian/pid1", test_pid1);
	g_test_add_func("/debian/disk-size", test_disk_size);
	g_test_add_func("/debian/network", test_network);
	g_test_add_func("/debian/isolation", test_isolation);
	g_test_add_func("/debian/apt", test_apt);
	rc = g_test_run();

	sbx_test_env_stop(env);
	g_free(deb_path);
	g_free(base_disk);
	g_free(base_sha256);
	return rc;
}
