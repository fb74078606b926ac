/* the shipped sandboxd.conf loads, and every value it shows commented out is the real default
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "sbx-config.h"

static const gchar *shipped_conf = NULL;

static void
test_shipped_loads(void)
{
	g_autoptr(SbxConfig) config = sbx_config_new();
	g_autoptr(GError) error = NULL;

	g_assert_true(sbx_config_load_file(config, shipped_conf, &error));
	g_assert_no_error(error);
	g_assert_true(sbx_config_check(config, &error));
	g_assert_no_error(error);
}

/* uncomment every "#Key=value" with a value, leaving out the plugin sections, whose schema
 * only the plugin knows */
static gchar *
uncomment(const gchar *contents, guint *n_keys)
{
	g_auto(GStrv) lines = g_strsplit(contents, "\n", -1);
	g_autoptr(GString) out = g_string_new(NULL);
	gboolean skip = FALSE;

	for (guint i = 0; lines[i] != NULL; i++) {
		const gchar *line = lines[i];

		if (g_str_has_prefix(line, "[") || g_str_has_prefix(line, "#[")) {
			skip = g_str_has_prefix(line, "#[libvirt]");
			if (!skip)
				g_string_append_printf(out, "%s\n",
						       line[0] == '#' ? line + 1 : line);
			continue;
		}
		if (skip || !g_regex_match_simple("^#[A-Za-z]+=.", line, 0, 0))
			continue;
		g_string_append_printf(out, "%s\n", line + 1);
		(*n_keys)++;
	}
	return g_string_free(g_steal_pointer(&out), FALSE);
}

static void
test_shipped_defaults(void)
{
	g_autoptr(SbxConfig) defaults = sbx_config_new();
	g_autoptr(SbxConfig) config = sbx_config_new();
	g_autoptr(GError) error = NULL;
	g_autofree gchar *contents = NULL;
	g_autofree gchar *uncommented = NULL;
	g_autofree gchar *path = NULL;
	const SbxImage *image_default;
	const SbxImage *image_shipped;
	guint n_keys = 0;
	gint fd;

	g_assert_true(g_file_get_contents(shipped_conf, &contents, NULL, &error));
	g_assert_no_error(error);
	uncommented = uncomment(contents, &n_keys);
	g_test_message("uncommented %u keys:\n%s", n_keys, uncommented);
	/* daemon 6, limits 6, image 2 */
	g_assert_cmpuint(n_keys, >=, 14);

	fd = g_file_open_tmp("sbx-test-shipped-XXXXXX.conf", &path, &error);
	g_assert_no_error(error);
	g_close(fd, NULL);
	g_assert_true(g_file_set_contents(path, uncommented, -1, &error));
	g_assert_no_error(error);
	g_assert_true(sbx_config_load_file(config, path, &error));
	g_assert_no_error(error);
	g_assert_true(sbx_config_check(config, &error));
	g_assert_no_error(error);
	g_unlink(path);

	g_assert_cmpstr(sbx_config_get_backend(config), ==, sbx_config_get_backend(defaults));
	g_assert_cmpstr(sbx_config_get_default_image(config), ==,
			sbx_config_get_default_image(defaults));
	g_assert_cmpstr(sbx_config_get_state_dir(config), ==, sbx_config_get_state_dir(defaults));
	g_assert_cmpstr(sbx_config_get_runtime_dir(config), ==,
			sbx_config_get_runtime_dir(defaults));
	g_assert_cmpuint(sbx_config_get_boot_timeout_sec(config), ==,
			 sbx_config_get_boot_timeout_sec(defaults));
	g_assert_cmpuint(sbx_config_get_max_lifetime_sec(config), ==,
			 sbx_config_get_max_lifetime_sec(defaults));
	g_assert_cmpuint(sbx_config_get_memory_min_mib(config), ==,
			 sbx_config_get_memory_min_mib(defaults));
	g_assert_cmpuint(sbx_config_get_memory_max_mib(config), ==,
			 sbx_config_get_memory_max_mib(defaults));
	g_assert_cmpuint(sbx_config_get_memory_default_mib(config), ==,
			 sbx_config_get_memory_default_mib(defaults));
	g_assert_cmpuint(sbx_config_get_vcpus_max(config), ==, sbx_config_get_vcpus_max(defaults));
	g_assert_cmpuint(sbx_config_get_vcpus_default(config), ==,
			 sbx_config_get_vcpus_default(defaults));
	g_assert_cmpuint(sbx_config_get_max_sandboxes(config), ==,
			 sbx_config_get_max_sandboxes(defaults));

	image_default = sbx_config_get_image(defaults, "minimal");
	image_shipped = sbx_config_get_image(config, "minimal");
	g_assert_nonnull(image_default);
	g_assert_nonnull(image_shipped);
	g_assert_cmpstr(image_shipped->kernel, ==, image_default->kernel);
	g_assert_cmpstr(image_shipped->initrd, ==, image_default->initrd);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_cmpint(argc, ==, 2);
	shipped_conf = argv[1];
	g_test_add_func("/shipped-conf/loads", test_shipped_loads);
	g_test_add_func("/shipped-conf/defaults", test_shipped_defaults);
	return g_test_run();
}
