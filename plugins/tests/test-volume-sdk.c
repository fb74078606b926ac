/* the volume SDK helpers every backend relies on
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "sbx-volume-backend.h"

static void
test_ids(void)
{
	g_autofree gchar *longest = g_strnfill(SBX_VOLUME_ID_MAX, 'a');
	g_autofree gchar *too_long = g_strnfill(SBX_VOLUME_ID_MAX + 1, 'a');
	const gchar *good[] = {"a", "A-b_9", "0123", "vol-1", NULL};
	const gchar *bad[] = {"",    "-a",  "a/b", "..", ".",	"a b",
			      "a.b", "a:b", "a@b", "ä",	 "a\n", NULL};

	for (guint i = 0; good[i] != NULL; i++)
		g_assert_true(sbx_volume_id_is_valid(good[i]));
	for (guint i = 0; bad[i] != NULL; i++)
		g_assert_false(sbx_volume_id_is_valid(bad[i]));
	g_assert_true(sbx_volume_id_is_valid(longest));
	g_assert_false(sbx_volume_id_is_valid(too_long));
	g_assert_false(sbx_volume_id_is_valid(NULL));
}

static void
test_attributes(void)
{
	g_autoptr(GHashTable) attrs =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *big = g_strnfill(SBX_VOLUME_ATTRIBUTE_VALUE_MAX, 'x');
	g_autofree gchar *too_big = g_strnfill(SBX_VOLUME_ATTRIBUTE_VALUE_MAX + 1, 'x');

	g_assert_true(sbx_volume_attributes_check(NULL, &error));
	g_hash_table_insert(attrs, g_strdup("name"), g_strdup("anything / .. : ünïcode"));
	g_hash_table_insert(attrs, g_strdup("label.a-b_c"), g_strdup(""));
	g_hash_table_insert(attrs, g_strdup("big"), g_strdup(big));
	g_assert_true(sbx_volume_attributes_check(attrs, &error));
	g_assert_no_error(error);

	g_hash_table_insert(attrs, g_strdup("big"), g_strdup(too_big));
	g_assert_false(sbx_volume_attributes_check(attrs, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_hash_table_remove(attrs, "big");

	g_hash_table_insert(attrs, g_strdup("bad\xff"), g_strdup("x"));
	g_assert_false(sbx_volume_attributes_check(attrs, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_hash_table_remove(attrs, "bad\xff");

	g_hash_table_insert(attrs, g_strdup("Upper"), g_strdup("x"));
	g_assert_false(sbx_volume_attributes_check(attrs, &error));
	g_clear_error(&error);
	g_hash_table_remove(attrs, "Upper");

	g_hash_table_insert(attrs, g_strdup("utf8"), g_strdup("\xc3\x28"));
	g_assert_false(sbx_volume_attributes_check(attrs, &error));
	g_clear_error(&error);
	g_hash_table_remove(attrs, "utf8");

	for (guint i = g_hash_table_size(attrs); i < SBX_VOLUME_ATTRIBUTES_MAX; i++)
		g_hash_table_insert(attrs, g_strdup_printf("k%u", i), g_strdup("v"));
	g_assert_true(sbx_volume_attributes_check(attrs, &error));
	g_assert_no_error(error);
	g_hash_table_insert(attrs, g_strdup("one-more"), g_strdup("v"));
	g_assert_false(sbx_volume_attributes_check(attrs, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
}

static void
test_info(void)
{
	g_autoptr(SbxVolumeInfo) info = sbx_volume_info_new("v", SBX_VOLUME_KIND_SNAPSHOT);

	g_assert_cmpstr(info->id, ==, "v");
	g_assert_cmpint(info->kind, ==, SBX_VOLUME_KIND_SNAPSHOT);
	g_assert_cmpuint(info->used, ==, SBX_VOLUME_USED_UNKNOWN);
	g_assert_nonnull(info->attributes);
	g_assert_null(info->parent);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/volume-sdk/ids", test_ids);
	g_test_add_func("/volume-sdk/attributes", test_attributes);
	g_test_add_func("/volume-sdk/info", test_info);
	return g_test_run();
}
