/* the plugin loader against purpose-built plugins
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbx-error.h"
#include "sbx-hypervisor-backend.h"
#include "sbx-plugin-loader.h"

static gchar *
plugin_path(const gchar *name)
{
	g_autofree gchar *file = g_strdup_printf("libsbx-test-plugin-%s.so", name);
	return g_build_filename(TEST_PLUGIN_BUILD_DIR, file, NULL);
}

/* a private copy with mode 0644, so the build tree's modes do not matter */
static gchar *
copy_plugin(const gchar *dir, const gchar *name, const gchar *dest_name)
{
	g_autofree gchar *src = plugin_path(name);
	g_autofree gchar *contents = NULL;
	g_autoptr(GError) error = NULL;
	gchar *dest = g_build_filename(dir, dest_name, NULL);
	gsize len = 0;

	g_assert_true(g_file_get_contents(src, &contents, &len, &error));
	g_assert_no_error(error);
	g_assert_true(g_file_set_contents(dest, contents, len, &error));
	g_assert_no_error(error);
	g_assert_cmpint(g_chmod(dest, 0644), ==, 0);
	return dest;
}

static gchar *
make_tmpdir(void)
{
	g_autoptr(GError) error = NULL;
	gchar *dir = g_dir_make_tmp("sbx-test-loader-XXXXXX", &error);
	g_assert_no_error(error);
	return dir;
}

static void
rm_dir(const gchar *dir)
{
	g_autoptr(GDir) gdir = g_dir_open(dir, 0, NULL);
	const gchar *name;
	while (gdir != NULL && (name = g_dir_read_name(gdir)) != NULL) {
		g_autofree gchar *path = g_build_filename(dir, name, NULL);
		g_unlink(path);
	}
	g_rmdir(dir);
}

static void
test_good(void)
{
	g_autofree gchar *dir = make_tmpdir();
	g_autofree gchar *path = copy_plugin(dir, "good", "good.so");
	g_autoptr(SbxPluginLoader) loader = sbx_plugin_loader_new();
	g_autoptr(GError) error = NULL;
	const SbxPlugin *plugin;
	const SbxConfigKey *keys;
	g_autofree gchar *readme = g_build_filename(dir, "README", NULL);

	/* anything not named *.so is not looked at, even if writable by all; this is
	 * the only test that registers the good plugin's type (once per process) */
	g_assert_true(g_file_set_contents(readme, "hi", -1, NULL));
	g_assert_cmpint(g_chmod(readme, 0666), ==, 0);
	g_assert_true(sbx_plugin_loader_load_dir(loader, dir, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(sbx_plugin_loader_get_plugins(loader)->len, ==, 1);
	plugin = sbx_plugin_loader_lookup(loader, SBX_PLUGIN_KIND_HYPERVISOR, "good");
	g_assert_nonnull(plugin);
	g_assert_cmpstr(plugin->filename, ==, path);
	g_assert_true(g_type_is_a(plugin->type, SBX_TYPE_HYPERVISOR_BACKEND));
	g_assert_null(sbx_plugin_loader_lookup(loader, SBX_PLUGIN_KIND_VOLUME, "good"));
	keys = sbx_plugin_loader_get_config_keys(plugin);
	g_assert_nonnull(keys);
	g_assert_cmpstr(keys[0].name, ==, "Level");

	/* the same plugin name twice is refused, naming both files */
	{
		g_autofree gchar *again = copy_plugin(dir, "good", "good-again.so");
		g_assert_null(sbx_plugin_loader_load_file(loader, again, &error));
		g_assert_error(error, SBX_ERROR, SBX_ERROR_PLUGIN);
		g_assert_nonnull(strstr(error->message, again));
		g_assert_nonnull(strstr(error->message, "already used"));
	}
	rm_dir(dir);
}

static void
expect_refused(const gchar *name, const gchar *needle)
{
	g_autofree gchar *dir = make_tmpdir();
	g_autofree gchar *path = copy_plugin(dir, name, "plugin.so");
	g_autoptr(SbxPluginLoader) loader = sbx_plugin_loader_new();
	g_autoptr(GError) error = NULL;

	g_assert_false(sbx_plugin_loader_load_dir(loader, dir, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_PLUGIN);
	g_test_message("%s: %s", name, error->message);
	g_assert_nonnull(strstr(error->message, path));
	g_assert_nonnull(strstr(error->message, needle));
	g_assert_cmpuint(sbx_plugin_loader_get_plugins(loader)->len, ==, 0);
	rm_dir(dir);
}

static void
test_bad_abi(void)
{
	g_autofree gchar *both =
	    g_strdup_printf("version %u, this sandboxd has version %u",
			    (guint)SBX_PLUGIN_ABI_VERSION + 41, (guint)SBX_PLUGIN_ABI_VERSION);
	/* bad-abi's get_type aborts: passing proves the check comes first */
	expect_refused("bad-abi", both);
}

static void
test_bad_size(void)
{
	expect_refused("bad-size", "bytes");
}

static void
test_no_symbol(void)
{
	expect_refused("no-symbol", "sbx_plugin_query");
}

static void
test_wrong_type(void)
{
	expect_refused("wrong-type", "SbxHypervisorBackend");
}

static void
test_not_a_library(void)
{
	g_autofree gchar *dir = make_tmpdir();
	g_autofree gchar *path = g_build_filename(dir, "junk.so", NULL);
	g_autoptr(SbxPluginLoader) loader = sbx_plugin_loader_new();
	g_autoptr(GError) error = NULL;

	g_assert_true(g_file_set_contents(path, "not an ELF file", -1, NULL));
	g_assert_cmpint(g_chmod(path, 0644), ==, 0);
	g_assert_false(sbx_plugin_loader_load_dir(loader, dir, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_PLUGIN);
	g_assert_nonnull(strstr(error->message, path));
	rm_dir(dir);
}

static void
test_group_writable(void)
{
	g_autofree gchar *dir = make_tmpdir();
	g_autofree gchar *path = copy_plugin(dir, "good", "good.so");
	g_autoptr(SbxPluginLoader) loader = sbx_plugin_loader_new();
	g_autoptr(GError) error = NULL;

	g_assert_cmpint(g_chmod(path, 0664), ==, 0);
	g_assert_false(sbx_plugin_loader_load_dir(loader, dir, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_PLUGIN);
	g_assert_nonnull(strstr(error->message, path));
	g_assert_nonnull(strstr(error->message, "writable by group or others"));
	g_clear_error(&error);

	g_assert_cmpint(g_chmod(path, 0646), ==, 0);
	g_assert_null(sbx_plugin_loader_load_file(loader, path, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_PLUGIN);
	g_assert_nonnull(strstr(error->message, "writable by group or others"));
	rm_dir(dir);
}

static void
test_foreign_owner(void)
{
	g_autofree gchar *dir = NULL;
	g_autofree gchar *path = NULL;
	g_autoptr(SbxPluginLoader) loader = sbx_plugin_loader_new();
	g_autoptr(GError) error = NULL;

	if (getuid() != 0) {
		g_test_skip("changing a file's owner needs root (CI runs as root)");
		return;
	}
	dir = make_tmpdir();
	path = copy_plugin(dir, "good", "good.so");
	g_assert_cmpint(chown(path, 65534, 65534), ==, 0);
	g_assert_false(sbx_plugin_loader_load_dir(loader, dir, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_PLUGIN);
	g_assert_nonnull(strstr(error->message, path));
	g_assert_nonnull(strstr(error->message, "owned by uid 65534"));
	rm_dir(dir);
}

static void
test_missing_dir(void)
{
	g_autoptr(SbxPluginLoader) loader = sbx_plugin_loader_new();
	g_autoptr(GError) error = NULL;
	g_assert_false(sbx_plugin_loader_load_dir(loader, "/nonexistent/sbx-plugins", &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_PLUGIN);
	g_assert_nonnull(strstr(error->message, "/nonexistent/sbx-plugins"));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/plugin-loader/good", test_good);
	g_test_add_func("/plugin-loader/bad-abi", test_bad_abi);
	g_test_add_func("/plugin-loader/bad-size", test_bad_size);
	g_test_add_func("/plugin-loader/no-symbol", test_no_symbol);
	g_test_add_func("/plugin-loader/wrong-type", test_wrong_type);
	g_test_add_func("/plugin-loader/not-a-library", test_not_a_library);
	g_test_add_func("/plugin-loader/group-writable", test_group_writable);
	g_test_add_func("/plugin-loader/foreign-owner", test_foreign_owner);
	g_test_add_func("/plugin-loader/missing-dir", test_missing_dir);
	return g_test_run();
}
