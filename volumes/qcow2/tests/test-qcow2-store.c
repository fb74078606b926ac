/* the qcow2 plugin's volume folder without qemu-img: records round-trip and
 * are written privately, a bad record is skipped by the listing, and the lock
 * files exclude each other without ever waiting.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbx-qcow2-store.h"

typedef struct {
	gchar *dir;
} Fixture;

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	f->dir = g_dir_make_tmp("sbx-test-qcow2-XXXXXX", &error);
	g_assert_no_error(error);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	g_autoptr(GDir) dir = g_dir_open(f->dir, 0, NULL);
	const gchar *name;
	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *path = g_build_filename(f->dir, name, NULL);
		g_unlink(path);
	}
	g_rmdir(f->dir);
	g_free(f->dir);
}

static void
test_meta(Fixture *f, gconstpointer data)
{
	g_autoptr(SbxVolumeInfo) info = sbx_volume_info_new("vol1", SBX_VOLUME_KIND_VOLUME);
	g_autoptr(SbxVolumeInfo) back = NULL;
	g_autoptr(GPtrArray) all = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = sbx_qcow2_store_path(f->dir, "vol1", ".json");
	g_autofree gchar *bad = sbx_qcow2_store_path(f->dir, "broken", ".json");
	struct stat st;

	info->capacity = 1 << 30;
	info->created = 1700000000000000;
	g_hash_table_insert(info->attributes, g_strdup("name"), g_strdup("data"));
	g_assert_true(sbx_qcow2_store_meta_save(f->dir, info, &error));
	g_assert_no_error(error);
	g_assert_cmpint(stat(path, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0600);

	back = sbx_qcow2_store_meta_load(f->dir, "vol1", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(back->id, ==, "vol1");
	g_assert_cmpint(back->kind, ==, SBX_VOLUME_KIND_VOLUME);
	g_assert_cmpuint(back->capacity, ==, 1 << 30);
	g_assert_cmpint(back->created, ==, 1700000000000000);
	g_assert_cmpstr(g_hash_table_lookup(back->attributes, "name"), ==, "data");

	g_assert_null(sbx_qcow2_store_meta_load(f->dir, "missing", &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
	g_clear_error(&error);

	/* a record that does not parse: an error on its own, skipped in the list */
	g_assert_true(g_file_set_contents(bad, "{not json", -1, NULL));
	g_assert_null(sbx_qcow2_store_meta_load(f->dir, "broken", &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
	g_clear_error(&error);
	g_test_expect_message("sbx-qcow2", G_LOG_LEVEL_WARNING, "*skipping broken.json*");
	all = sbx_qcow2_store_meta_list(f->dir, &error);
	g_test_assert_expected_messages();
	g_assert_no_error(error);
	g_assert_cmpuint(all->len, ==, 1);
	g_assert_cmpstr(((SbxVolumeInfo *)g_ptr_array_index(all, 0))->id, ==, "vol1");
}

static void
test_lock(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = sbx_qcow2_store_path(f->dir, "vol1", ".lock");
	gint ex, sh1, sh2;

	/* without create, a missing lock file is NotFound */
	g_assert_cmpint(sbx_qcow2_store_lock(f->dir, "vol1", LOCK_SH, FALSE, &error), ==, -1);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
	g_clear_error(&error);

	ex = sbx_qcow2_store_lock(f->dir, "vol1", LOCK_EX, TRUE, &error);
	g_assert_no_error(error);
	g_assert_cmpint(ex, >=, 0);
	/* held exclusively: Busy at once, never a wait */
	g_assert_cmpint(sbx_qcow2_store_lock(f->dir, "vol1", LOCK_SH, FALSE, &error), ==, -1);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_BUSY);
	g_clear_error(&error);
	close(ex);

	/* readers share */
	sh1 = sbx_qcow2_store_lock(f->dir, "vol1", LOCK_SH, FALSE, &error);
	g_assert_no_error(error);
	sh2 = sbx_qcow2_store_lock(f->dir, "vol1", LOCK_SH, FALSE, &error);
	g_assert_no_error(error);
	g_assert_cmpint(sbx_qcow2_store_lock(f->dir, "vol1", LOCK_EX, FALSE, &error), ==, -1);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_BUSY);
	g_clear_error(&error);
	close(sh1);
	close(sh2);

	/* removal under an exclusive lock */
	ex = sbx_qcow2_store_lock(f->dir, "vol1", LOCK_EX, FALSE, &error);
	g_assert_no_error(error);
	sbx_qcow2_store_lock_remove(f->dir, "vol1", ex);
	g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/qcow2/store/meta", Fixture, NULL, fixture_setup, test_meta, fixture_teardown);
	g_test_add("/qcow2/store/lock", Fixture, NULL, fixture_setup, test_lock, fixture_teardown);
	return g_test_run();
}
