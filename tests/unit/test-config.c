/* sbx-config: files, drop-ins, schema checks and the errors they give
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>

#include "sbx-config.h"
#include "sbx-error.h"

static const gchar *const plugin_choices[] = {"auto", "kvm", "qemu", NULL};
static const SbxConfigKey plugin_keys[] = {
    {"DomainType", SBX_CONFIG_ENUM, 0, 0, plugin_choices},
    {"Socket", SBX_CONFIG_PATH},
    {"Debug", SBX_CONFIG_BOOL},
    {"Level", SBX_CONFIG_UINT, 1, 9},
    {"Uri", SBX_CONFIG_STRING},
    {NULL},
};

typedef struct {
	gchar *dir;
} Fixture;

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	f->dir = g_dir_make_tmp("sbx-test-config-XXXXXX", &error);
	g_assert_no_error(error);
}

static void
rm_rf(const gchar *path)
{
	if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
		g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
		const gchar *name;
		while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
			g_autofree gchar *child = g_build_filename(path, name, NULL);
			rm_rf(child);
		}
		g_rmdir(path);
		return;
	}
	g_unlink(path);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	rm_rf(f->dir);
	g_free(f->dir);
}

/* writes @contents to @name (relative to the fixture's folder) */
static gchar *
write_file(Fixture *f, const gchar *name, const gchar *contents)
{
	gchar *path = g_build_filename(f->dir, name, NULL);
	g_autofree gchar *parent = g_path_get_dirname(path);
	g_autoptr(GError) error = NULL;
	g_assert_cmpint(g_mkdir_with_parents(parent, 0755), ==, 0);
	g_assert_true(g_file_set_contents(path, contents, -1, &error));
	g_assert_no_error(error);
	return path;
}

static SbxConfig *
new_config(void)
{
	SbxConfig *config = sbx_config_new();
	sbx_config_add_section(config, "libvirt", plugin_keys);
	sbx_config_add_section(config, "empty", NULL);
	return config;
}

/* loads the fixture folder and expects an error mentioning every needle */
static void
expect_error(Fixture *f, const gchar *const *needles)
{
	g_autoptr(SbxConfig) config = new_config();
	g_autoptr(GError) error = NULL;
	g_assert_false(sbx_config_load_dir(config, f->dir, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_CONFIG);
	g_test_message("error: %s", error->message);
	for (guint i = 0; needles[i] != NULL; i++) {
		if (strstr(error->message, needles[i]) == NULL)
			g_error("'%s' not in '%s'", needles[i], error->message);
	}
}

static void
test_defaults(void)
{
	g_autoptr(SbxConfig) config = sbx_config_new();
	const SbxImage *image;

	g_assert_cmpstr(sbx_config_get_backend(config), ==, "qemu");
	g_assert_cmpstr(sbx_config_get_default_image(config), ==, "debian");
	g_assert_cmpuint(sbx_config_get_boot_timeout_sec(config), ==, 120);
	g_assert_cmpuint(sbx_config_get_max_lifetime_sec(config), ==, 1800);
	g_assert_cmpuint(sbx_config_get_memory_min_mib(config), ==, 768);
	g_assert_cmpuint(sbx_config_get_memory_max_mib(config), ==, 4096);
	g_assert_cmpuint(sbx_config_get_memory_default_mib(config), ==, 1024);
	g_assert_cmpuint(sbx_config_get_vcpus_max(config), ==, 2);
	g_assert_cmpuint(sbx_config_get_vcpus_default(config), ==, 2);
	g_assert_cmpuint(sbx_config_get_max_sandboxes(config), ==, 16);
	g_assert_cmpstr(sbx_config_get_runtime_dir(config), ==, SBX_RUNTIMEDIR);
	g_assert_cmpstr(sbx_config_get_state_dir(config), ==, SBX_STATEDIR "/sandboxes");
	g_assert_cmpstr(sbx_config_get_origin(config, "daemon", "Backend"), ==, "built-in default");
	image = sbx_config_get_image(config, "minimal");
	g_assert_nonnull(image);
	g_assert_true(g_str_has_prefix(image->kernel, SBX_IMAGEDIR));
	/* the PVH vmlinux when the installed image has one */
	if (g_file_test(SBX_IMAGEDIR "/minimal/vmlinux", G_FILE_TEST_IS_REGULAR))
		g_assert_true(g_str_has_suffix(image->kernel, "/minimal/vmlinux"));
	else
		g_assert_true(g_str_has_suffix(image->kernel, "/minimal/vmlinuz"));
	g_assert_true(g_str_has_suffix(image->initrd, "/minimal/initrd.img"));
	g_assert_null(sbx_config_get_image(config, "other"));
}

static void
test_missing_dir(Fixture *f, gconstpointer data)
{
	g_autoptr(SbxConfig) config = new_config();
	g_autoptr(GError) error = NULL;
	g_autofree gchar *missing = g_build_filename(f->dir, "nothing-here", NULL);

	/* no sandboxd.conf at all is fine: the defaults apply */
	g_assert_true(sbx_config_load_dir(config, missing, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(sbx_config_get_boot_timeout_sec(config), ==, 120);
}

static void
test_override_order(Fixture *f, gconstpointer data)
{
	g_autoptr(SbxConfig) config = new_config();
	g_autoptr(GError) error = NULL;
	g_autofree gchar *main_file =
	    write_file(f, "sandboxd.conf",
		       "# comment\n[daemon]\nBootTimeoutSec=30\nBackend=test\n"
		       "[limits]\nMemoryMaxMiB=2048\n[libvirt]\nDomainType=kvm\n");
	g_autofree gchar *b = write_file(f, "sandboxd.conf.d/20-b.conf",
					 "[daemon]\nBootTimeoutSec=50\n[libvirt]\nDebug=true\n");
	g_autofree gchar *a = write_file(f, "sandboxd.conf.d/10-a.conf",
					 "[daemon]\nBootTimeoutSec=40\nMaxLifetimeSec=60\n");
	g_autofree gchar *ignored =
	    write_file(f, "sandboxd.conf.d/30-c.conf.disabled", "[nonsense]\nFoo=1\n");
	GKeyFile *kf;
	g_autofree gchar *domain_type = NULL;

	g_assert_true(sbx_config_load_dir(config, f->dir, &error));
	g_assert_no_error(error);
	/* 10-a then 20-b: the later file wins */
	g_assert_cmpuint(sbx_config_get_boot_timeout_sec(config), ==, 50);
	g_assert_cmpstr(sbx_config_get_origin(config, "daemon", "BootTimeoutSec"), ==, b);
	g_assert_cmpuint(sbx_config_get_max_lifetime_sec(config), ==, 60);
	g_assert_cmpstr(sbx_config_get_origin(config, "daemon", "MaxLifetimeSec"), ==, a);
	g_assert_cmpstr(sbx_config_get_backend(config), ==, "test");
	g_assert_cmpuint(sbx_config_get_memory_max_mib(config), ==, 2048);
	g_assert_cmpuint(sbx_config_get_memory_min_mib(config), ==, 768);

	/* the merged key file is what plugins read */
	kf = sbx_config_get_keyfile(config);
	domain_type = g_key_file_get_string(kf, "libvirt", "DomainType", NULL);
	g_assert_cmpstr(domain_type, ==, "kvm");
	g_assert_true(g_key_file_get_boolean(kf, "libvirt", "Debug", NULL));
	g_assert_false(g_key_file_has_group(kf, "nonsense"));
}

static void
test_unknown_section(Fixture *f, gconstpointer data)
{
	g_autofree gchar *path = write_file(f, "sandboxd.conf", "[deamon]\nBackend=test\n");
	const gchar *needles[] = {path,	      "[deamon]",  "unknown section",
				  "[daemon]", "[libvirt]", NULL};
	expect_error(f, needles);
}

static void
test_unknown_key(Fixture *f, gconstpointer data)
{
	g_autofree gchar *path =
	    write_file(f, "sandboxd.conf.d/50-x.conf", "[daemon]\nBackend=test\nBootTimeout=5\n");
	const gchar *needles[] = {path, "[daemon]", "BootTimeout'", "BootTimeoutSec", NULL};
	expect_error(f, needles);
}

static void
test_unknown_plugin_key(Fixture *f, gconstpointer data)
{
	g_autofree gchar *path = write_file(f, "sandboxd.conf", "[libvirt]\nDomaintype=kvm\n");
	const gchar *needles[] = {path, "[libvirt]", "Domaintype", "DomainType, Socket", NULL};
	expect_error(f, needles);
}

static void
test_plugin_without_keys(Fixture *f, gconstpointer data)
{
	g_autofree gchar *path = write_file(f, "sandboxd.conf", "[empty]\nAnything=1\n");
	const gchar *needles[] = {path, "[empty]", "Anything", "allowed: none", NULL};
	expect_error(f, needles);
}

typedef struct {
	const gchar *section;
	const gchar *key;
	const gchar *value;
	gboolean ok;
	const gchar *needle; /* in the error */
} ValueCase;

static void
check_value_cases(Fixture *f, const ValueCase *cases, guint n)
{
	for (guint i = 0; i < n; i++) {
		g_autofree gchar *contents = g_strdup_printf("[%s]\n%s=%s\n", cases[i].section,
							     cases[i].key, cases[i].value);
		g_autofree gchar *path = write_file(f, "sandboxd.conf", contents);
		g_autoptr(SbxConfig) config = new_config();
		g_autoptr(GError) error = NULL;
		gboolean ok = sbx_config_load_dir(config, f->dir, &error);

		g_test_message("[%s] %s=%s: %s", cases[i].section, cases[i].key, cases[i].value,
			       error != NULL ? error->message : "ok");
		if (cases[i].ok) {
			g_assert_no_error(error);
			g_assert_true(ok);
			continue;
		}
		g_assert_false(ok);
		g_assert_error(error, SBX_ERROR, SBX_ERROR_CONFIG);
		g_assert_nonnull(strstr(error->message, path));
		g_assert_nonnull(strstr(error->message, cases[i].section));
		g_assert_nonnull(strstr(error->message, cases[i].key));
		if (cases[i].needle != NULL && strstr(error->message, cases[i].needle) == NULL)
			g_error("'%s' not in '%s'", cases[i].needle, error->message);
	}
}

static void
test_core_values(Fixture *f, gconstpointer data)
{
	const ValueCase cases[] = {
	    {"daemon", "BootTimeoutSec", "4", FALSE, "out of range (allowed: 5-600)"},
	    {"daemon", "BootTimeoutSec", "5", TRUE},
	    {"daemon", "BootTimeoutSec", "600", TRUE},
	    {"daemon", "BootTimeoutSec", "601", FALSE, "601 is out of range"},
	    {"daemon", "BootTimeoutSec", "ten", FALSE, "'ten' is not a number"},
	    {"daemon", "BootTimeoutSec", "-5", FALSE, "not a number"},
	    {"daemon", "BootTimeoutSec", "", FALSE, "not a number"},
	    {"daemon", "BootTimeoutSec", "1e2", FALSE, "not a number"},
	    {"daemon", "MaxLifetimeSec", "0", FALSE, "out of range"},
	    {"daemon", "MaxLifetimeSec", "1", TRUE},
	    {"daemon", "MaxLifetimeSec", "604800", TRUE},
	    {"daemon", "MaxLifetimeSec", "604801", FALSE, "out of range"},
	    {"daemon", "StateDir", "var/lib", FALSE, "relative path"},
	    {"daemon", "StateDir", "/var/lib/x", TRUE},
	    {"daemon", "RuntimeDir", "", FALSE, "absolute path"},
	    {"daemon", "Backend", "test", TRUE},
	    {"limits", "MemoryMinMiB", "127", FALSE, "out of range"},
	    {"limits", "MemoryMinMiB", "128", TRUE},
	    {"limits", "VCpusMax", "0", FALSE, "out of range (allowed: 1-256)"},
	    {"limits", "VCpusMax", "256", TRUE},
	    {"limits", "VCpusMax", "257", FALSE, "out of range"},
	    {"limits", "MaxSandboxes", "0", FALSE, "out of range"},
	    {"limits", "MaxSandboxes", "4096", TRUE},
	    {"limits", "MaxSandboxes", "4097", FALSE, "out of range"},
	    {"daemon", "PoolSize", "0", TRUE},
	    {"daemon", "PoolSize", "64", TRUE},
	    {"daemon", "PoolSize", "65", FALSE, "out of range (allowed: 0-64)"},
	    {"daemon", "PoolSize", "-1", FALSE, "PoolSize"},
	    {"daemon", "PoolSize", "two", FALSE, "PoolSize"},
	    {"daemon", "PoolMaxMemoryMiB", "1048577", FALSE, "out of range"},
	};
	check_value_cases(f, cases, G_N_ELEMENTS(cases));
}

static void
test_plugin_values(Fixture *f, gconstpointer data)
{
	const ValueCase cases[] = {
	    {"libvirt", "DomainType", "qemu", TRUE},
	    {"libvirt", "DomainType", "xen", FALSE, "allowed: auto, kvm, qemu"},
	    {"libvirt", "DomainType", "QEMU", FALSE, "'QEMU' is not allowed"},
	    {"libvirt", "Socket", "/run/x.sock", TRUE},
	    {"libvirt", "Socket", "run/x.sock", FALSE, "absolute path is required"},
	    {"libvirt", "Debug", "true", TRUE},
	    {"libvirt", "Debug", "false", TRUE},
	    {"libvirt", "Debug", "yes", FALSE, "allowed: true, false"},
	    {"libvirt", "Level", "0", FALSE, "allowed: 1-9"},
	    {"libvirt", "Level", "1", TRUE},
	    {"libvirt", "Level", "9", TRUE},
	    {"libvirt", "Level", "10", FALSE, "out of range"},
	    {"libvirt", "Uri", "qemu:///system", TRUE},
	};
	check_value_cases(f, cases, G_N_ELEMENTS(cases));
}

static void
test_syntax_error(Fixture *f, gconstpointer data)
{
	g_autofree gchar *path = write_file(f, "sandboxd.conf", "[daemon\nBackend=test\n");
	const gchar *needles[] = {path, NULL};
	expect_error(f, needles);
}

static void
test_bad_file_leaves_nothing(Fixture *f, gconstpointer data)
{
	g_autoptr(SbxConfig) config = new_config();
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = write_file(
	    f, "sandboxd.conf", "[daemon]\nBootTimeoutSec=33\n[limits]\nVCpusMax=many\n");

	/* a file with one bad key changes nothing */
	g_assert_false(sbx_config_load_file(config, path, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_CONFIG);
	g_assert_cmpuint(sbx_config_get_boot_timeout_sec(config), ==, 120);
}

static void
test_cross_checks(Fixture *f, gconstpointer data)
{
	{
		g_autofree gchar *path =
		    write_file(f, "sandboxd.conf", "[limits]\nMemoryDefaultMiB=512\n");
		const gchar *needles[] = {path, "[limits]", "MemoryDefaultMiB", "MemoryMinMiB",
					  NULL};
		expect_error(f, needles);
	}
	{
		g_autofree gchar *path =
		    write_file(f, "sandboxd.conf", "[limits]\nMemoryMaxMiB=1000\n");
		const gchar *needles[] = {path, "MemoryDefaultMiB (1024)", "MemoryMaxMiB (1000)",
					  NULL};
		expect_error(f, needles);
	}
	{
		g_autofree gchar *path = write_file(f, "sandboxd.conf", "[limits]\nVCpusMax=1\n");
		const gchar *needles[] = {path, "VCpusDefault", "VCpusMax", NULL};
		expect_error(f, needles);
	}
	{
		g_autofree gchar *path =
		    write_file(f, "sandboxd.conf", "[limits]\nVCpusMax=1\nVCpusDefault=1\n");
		g_autoptr(SbxConfig) config = new_config();
		g_autoptr(GError) error = NULL;
		g_assert_true(sbx_config_load_dir(config, f->dir, &error));
		g_assert_no_error(error);
		g_assert_cmpuint(sbx_config_get_vcpus_max(config), ==, 1);
	}
}

static void
test_images(Fixture *f, gconstpointer data)
{
	g_autoptr(SbxConfig) config = new_config();
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path =
	    write_file(f, "sandboxd.conf",
		       "[daemon]\nDefaultImage=dev\n"
		       "[image dev]\nKernel=kernels/vmlinuz\nInitrd=/boot/i.img\n"
		       "Cmdline=console=ttyS0 quiet\n"
		       "[image minimal]\nKernel=/opt/k\n");
	g_autofree gchar *expected_kernel = g_build_filename(f->dir, "kernels/vmlinuz", NULL);
	const SbxImage *dev;
	const SbxImage *minimal;
	g_autofree gchar *names = NULL;

	g_assert_true(sbx_config_load_dir(config, f->dir, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(sbx_config_get_default_image(config), ==, "dev");
	dev = sbx_config_get_image(config, "dev");
	g_assert_nonnull(dev);
	/* relative image paths are relative to the file that names them */
	g_assert_cmpstr(dev->kernel, ==, expected_kernel);
	g_assert_cmpstr(dev->initrd, ==, "/boot/i.img");
	g_assert_cmpstr(dev->cmdline, ==, "console=ttyS0 quiet");
	/* a section for the built-in image overrides only what it says */
	minimal = sbx_config_get_image(config, "minimal");
	g_assert_cmpstr(minimal->kernel, ==, "/opt/k");
	g_assert_true(g_str_has_suffix(minimal->initrd, "/minimal/initrd.img"));
	names = sbx_config_list_images(config);
	g_assert_cmpstr(names, ==, "debian, dev, minimal");
}

/* RootDisk, RootFormat, DiskSizeGiB, Network and the built-in disk image */
static void
test_image_disks(Fixture *f, gconstpointer data)
{
	g_autoptr(SbxConfig) config = new_config();
	g_autoptr(GError) error = NULL;
	const SbxImage *image;
	g_autofree gchar *path =
	    write_file(f, "sandboxd.conf",
		       "[limits]\nDiskSizeGiB=20\n"
		       "[image deb]\nKernel=/k\nRootDisk=disks/base.qcow2\n"
		       "[image big]\nKernel=/k\nRootDisk=/b.img\nRootFormat=raw\n"
		       "DiskSizeGiB=100\nNetwork=false\n");
	g_autofree gchar *expected_disk = g_build_filename(f->dir, "disks/base.qcow2", NULL);

	g_assert_true(sbx_config_load_dir(config, f->dir, &error));
	g_assert_no_error(error);
	image = sbx_config_get_image(config, "deb");
	g_assert_cmpstr(image->root_disk, ==, expected_disk);
	g_assert_cmpstr(image->root_format, ==, "qcow2");
	g_assert_cmpuint(image->disk_size_gib, ==, 20);
	g_assert_true(image->network);
	image = sbx_config_get_image(config, "big");
	g_assert_cmpstr(image->root_format, ==, "raw");
	g_assert_cmpuint(image->disk_size_gib, ==, 100);
	g_assert_false(image->network);
	image = sbx_config_get_image(config, "debian");
	g_assert_true(g_str_has_suffix(image->root_disk, "/debian/debian.qcow2"));
	g_assert_cmpstr(image->root_format, ==, "qcow2");
	g_assert_cmpuint(image->disk_size_gib, ==, 20);
	g_assert_true(image->network);
	image = sbx_config_get_image(config, "minimal");
	g_assert_null(image->root_disk);
	g_assert_false(image->network);
	g_assert_cmpuint(image->disk_size_gib, ==, 0);
}

static void
test_image_disk_errors(Fixture *f, gconstpointer data)
{
	{
		g_autofree gchar *path =
		    write_file(f, "sandboxd.conf", "[image x]\nKernel=/k\nDiskSizeGiB=5\n");
		const gchar *needles[] = {path, "[image x]", "DiskSizeGiB", "RootDisk", NULL};
		expect_error(f, needles);
	}
	{
		g_autofree gchar *path = write_file(
		    f, "sandboxd.conf", "[image x]\nKernel=/k\nRootDisk=/d\nRootFormat=vmdk\n");
		const gchar *needles[] = {path, "RootFormat", "vmdk", "qcow2, raw", NULL};
		expect_error(f, needles);
	}
	{
		g_autofree gchar *path = write_file(
		    f, "sandboxd.conf", "[image x]\nKernel=/k\nRootDisk=/d\nDiskSizeGiB=0\n");
		const gchar *needles[] = {path, "DiskSizeGiB", "out of range", NULL};
		expect_error(f, needles);
	}
}

static void
test_image_errors(Fixture *f, gconstpointer data)
{
	{
		g_autofree gchar *path =
		    write_file(f, "sandboxd.conf", "[image dev]\nInitrd=/boot/i.img\n");
		const gchar *needles[] = {path, "[image dev]", "Kernel", "missing", NULL};
		expect_error(f, needles);
	}
	{
		g_autofree gchar *path =
		    write_file(f, "sandboxd.conf", "[image a/b]\nKernel=/boot/k\n");
		const gchar *needles[] = {path, "[image a/b]", "not a valid image name", NULL};
		expect_error(f, needles);
	}
	{
		g_autofree gchar *path =
		    write_file(f, "sandboxd.conf", "[image dev]\nKernel=/k\nRootfs=/r\n");
		const gchar *needles[] = {path, "[image dev]", "Rootfs", "Kernel, Initrd, Cmdline",
					  NULL};
		expect_error(f, needles);
	}
	{
		g_autofree gchar *path =
		    write_file(f, "sandboxd.conf", "[daemon]\nDefaultImage=nope\n");
		const gchar *needles[] = {path,	    "[daemon]", "DefaultImage",
					  "'nope'", "minimal",	NULL};
		expect_error(f, needles);
	}
}

static void
test_cmdline_file(Fixture *f, gconstpointer data)
{
	g_autoptr(SbxImage) image = sbx_image_new("x");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *cmdline = NULL;

	image->kernel = g_strdup("/k");
	image->cmdline_file = write_file(f, "cmdline", "console=ttyS0 panic=-1\n");
	cmdline = sbx_image_resolve_cmdline(image, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(cmdline, ==, "console=ttyS0 panic=-1");
	g_clear_pointer(&cmdline, g_free);

	/* Cmdline= wins over the file */
	image->cmdline = g_strdup("quiet");
	cmdline = sbx_image_resolve_cmdline(image, &error);
	g_assert_cmpstr(cmdline, ==, "quiet");
	g_clear_pointer(&cmdline, g_free);
	g_clear_pointer(&image->cmdline, g_free);

	/* a control character is refused */
	g_free(write_file(f, "cmdline", "console=ttyS0\001x"));
	cmdline = sbx_image_resolve_cmdline(image, &error);
	g_assert_null(cmdline);
	g_assert_error(error, SBX_ERROR, SBX_ERROR_CONFIG);
}

static void
test_relative_config_dir(Fixture *f, gconstpointer data)
{
	g_autoptr(SbxConfig) config = new_config();
	g_autoptr(GError) error = NULL;
	g_autofree gchar *cwd = g_get_current_dir();
	g_autofree gchar *path =
	    write_file(f, "etc/sandboxd.conf", "[image dev]\nKernel=vmlinuz\n");
	g_autofree gchar *expected = g_build_filename(f->dir, "etc", "vmlinuz", NULL);
	const SbxImage *image;

	/* --config-dir etc: relative image paths still end up absolute */
	g_assert_cmpint(g_chdir(f->dir), ==, 0);
	g_assert_true(sbx_config_load_dir(config, "etc", &error));
	g_assert_cmpint(g_chdir(cwd), ==, 0);
	g_assert_no_error(error);
	image = sbx_config_get_image(config, "dev");
	g_assert_nonnull(image);
	g_assert_cmpstr(image->kernel, ==, expected);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/config/defaults", test_defaults);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
	ADD("/config/missing-dir", test_missing_dir);
	ADD("/config/override-order", test_override_order);
	ADD("/config/unknown-section", test_unknown_section);
	ADD("/config/unknown-key", test_unknown_key);
	ADD("/config/unknown-plugin-key", test_unknown_plugin_key);
	ADD("/config/plugin-without-keys", test_plugin_without_keys);
	ADD("/config/core-values", test_core_values);
	ADD("/config/plugin-values", test_plugin_values);
	ADD("/config/syntax-error", test_syntax_error);
	ADD("/config/bad-file-leaves-nothing", test_bad_file_leaves_nothing);
	ADD("/config/cross-checks", test_cross_checks);
	ADD("/config/images", test_images);
	ADD("/config/image-disks", test_image_disks);
	ADD("/config/image-disk-errors", test_image_disk_errors);
	ADD("/config/image-errors", test_image_errors);
	ADD("/config/cmdline-file", test_cmdline_file);
	ADD("/config/relative-config-dir", test_relative_config_dir);
#undef ADD
	return g_test_run();
}
