/* the VMM records: a record is removed only by the VM that wrote it, and the
 * ACL grants a crashed daemon left are revoked from the run folder's list
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <sys/acl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <acl/libacl.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "sbx-ch-record.h"
#include "sbx-jail-acl.h"

/* a killed VMM is reaped late: its VM's cleanup must not take the record of
 * the VM of the same id that started meanwhile */
static void
test_remove_own_only(void)
{
	g_autofree gchar *dir = g_dir_make_tmp("sbx-ch-record-XXXXXX", NULL);
	g_autofree gchar *path = g_build_filename(dir, "sbxtest1", NULL);
	g_autoptr(GError) error = NULL;

	g_assert_true(sbx_ch_record_write(dir, "sbxtest1", 222, "/run/x/sbxtest1", &error));
	g_assert_no_error(error);
	sbx_ch_record_remove(dir, "sbxtest1", 111);
	g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
	sbx_ch_record_remove(dir, "sbxtest1", 0);
	g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
	sbx_ch_record_remove(dir, "sbxtest1", 222);
	g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

/* more than the three entries of the mode, read back with libacl */
static gboolean
has_acl(const gchar *path)
{
	gint r = acl_extended_file_nofollow(path);
	g_assert_cmpint(r, >=, 0);
	return r == 1;
}

/* @path's access ACL as libacl prints it, ids numeric */
static gchar *
acl_text(const gchar *path)
{
	acl_t acl = acl_get_file(path, ACL_TYPE_ACCESS);
	gchar *text, *copy;

	g_assert_nonnull(acl);
	text = acl_to_any_text(acl, NULL, ',', TEXT_NUMERIC_IDS);
	g_assert_nonnull(text);
	copy = g_strdup(text);
	acl_free(text);
	acl_free(acl);
	return copy;
}

static void
assert_acl(const gchar *path, const gchar *expected)
{
	g_autofree gchar *text = acl_text(path);
	g_assert_cmpstr(text, ==, expected);
}

/* grants: the mode shows the mask while granted; a second named entry (the
 * operator's) survives our revoke, the mask following what is left; the last
 * revoke takes the ACL and leaves the mode as it was */
static void
test_grants(void)
{
	g_autofree gchar *dir = g_dir_make_tmp("sbx-ch-record-XXXXXX", NULL);
	g_autofree gchar *vol = g_build_filename(dir, "vol.qcow2", NULL);
	g_autofree gchar *gone = g_build_filename(dir, "deleted.qcow2", NULL);
	g_autofree gchar *list = g_build_filename(dir, SBX_CH_RECORD_GRANTS, NULL);
	g_autofree gchar *text = g_strdup_printf("65534\t%s\n65534\t%s\nbad line\n", vol, gone);
	g_autoptr(GError) error = NULL;
	GStatBuf st;

	if (getuid() != 0) {
		g_test_skip("ACLs on root's files need root");
		return;
	}
	g_assert_true(g_file_set_contents(vol, "x", 1, NULL));
	g_assert_cmpint(g_chmod(vol, 0640), ==, 0);
	g_assert_true(sbx_jail_acl_grant(vol, 65534, TRUE, &error));
	g_assert_no_error(error);
	g_assert_true(has_acl(vol));
	assert_acl(vol, "user::rw-,user:65534:rw-,group::r--,mask::rw-,other::---");
	g_assert_cmpint(g_stat(vol, &st), ==, 0);
	g_assert_cmpuint(st.st_mode & 0777, ==, 0660); /* the mask: rw- */
	/* the owner needs none; root neither */
	g_assert_true(sbx_jail_acl_grant(vol, 0, TRUE, &error));
	g_assert_true(sbx_jail_acl_grant(vol, getuid(), TRUE, &error));
	assert_acl(vol, "user::rw-,user:65534:rw-,group::r--,mask::rw-,other::---");

	/* the run folder's list, as a crashed daemon leaves it */
	g_assert_true(g_file_set_contents(list, text, -1, NULL));
	sbx_ch_record_revoke_grants(dir);
	g_assert_false(has_acl(vol));
	assert_acl(vol, "user::rw-,group::r--,other::---");
	g_assert_cmpint(g_stat(vol, &st), ==, 0);
	g_assert_cmpuint(st.st_mode & 0777, ==, 0640);
	g_assert_false(g_file_test(list, G_FILE_TEST_EXISTS));

	/* someone else's entry stays, ours goes; read-only is r-- */
	g_assert_true(sbx_jail_acl_grant(vol, 65533, FALSE, &error));
	g_assert_true(sbx_jail_acl_grant(vol, 65534, FALSE, &error));
	g_assert_cmpint(g_stat(vol, &st), ==, 0);
	g_assert_cmpuint(st.st_mode & 0777, ==, 0640); /* mask r--: group r, r */
	assert_acl(vol, "user::rw-,user:65533:r--,user:65534:r--,group::r--,mask::r--,other::---");
	/* granted again, writable: the same entry, the mask widened */
	g_assert_true(sbx_jail_acl_grant(vol, 65534, TRUE, &error));
	assert_acl(vol, "user::rw-,user:65533:r--,user:65534:rw-,group::r--,mask::rw-,other::---");
	g_assert_true(sbx_jail_acl_revoke(vol, 65534, &error));
	g_assert_no_error(error);
	g_assert_true(has_acl(vol));
	assert_acl(vol, "user::rw-,user:65533:r--,group::r--,mask::r--,other::---");
	g_assert_cmpint(g_stat(vol, &st), ==, 0);
	g_assert_cmpuint(st.st_mode & 0777, ==, 0640);
	/* never granted: nothing changes */
	g_assert_true(sbx_jail_acl_revoke(vol, 65534, &error));
	assert_acl(vol, "user::rw-,user:65533:r--,group::r--,mask::r--,other::---");
	g_assert_true(sbx_jail_acl_revoke(vol, 65533, &error));
	g_assert_no_error(error);
	g_assert_false(has_acl(vol));
	assert_acl(vol, "user::rw-,group::r--,other::---");
	g_assert_cmpint(g_stat(vol, &st), ==, 0);
	g_assert_cmpuint(st.st_mode & 07777, ==, 0640);
	/* a symlink in its place is not followed; the error names the path */
	g_assert_cmpint(symlink(vol, gone), ==, 0);
	g_assert_false(sbx_jail_acl_grant(gone, 65534, TRUE, &error));
	g_assert_nonnull(error);
	g_assert_true(g_str_has_prefix(error->message, gone));
	g_clear_error(&error);
	g_assert_false(sbx_jail_acl_revoke(gone, 65534, &error));
	g_assert_nonnull(error);
	g_assert_true(g_str_has_prefix(error->message, gone));
	g_unlink(gone);
	g_unlink(vol);
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

/* a daemon that crashed while a VM was starting (record with pid 0: no VMM
 * yet): the next one's reap removes its overlay, revokes its grants and
 * drops the record; a record of a VM it runs itself stays */
static void
test_reap_starting(void)
{
	g_autofree gchar *dir = g_dir_make_tmp("sbx-ch-record-XXXXXX", NULL);
	g_autofree gchar *records = g_build_filename(dir, "records", NULL);
	g_autofree gchar *run_dir = g_build_filename(dir, "sbxrec1", NULL);
	g_autofree gchar *overlay = g_build_filename(run_dir, "root.qcow2", NULL);
	g_autofree gchar *vol = g_build_filename(dir, "vol.qcow2", NULL);
	g_autofree gchar *list = g_build_filename(run_dir, SBX_CH_RECORD_GRANTS, NULL);
	g_autofree gchar *text = g_strdup_printf("65534\t%s\n", vol);
	g_autofree gchar *live_record = g_build_filename(records, "sbxrec2", NULL);
	g_autoptr(GHashTable) live = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GError) error = NULL;

	if (getuid() != 0) {
		g_test_skip("ACLs on root's files and taps need root");
		return;
	}
	g_assert_cmpint(g_mkdir(records, 0700), ==, 0);
	g_assert_cmpint(g_mkdir(run_dir, 0700), ==, 0);
	g_assert_true(g_file_set_contents(overlay, "", 0, NULL));
	g_assert_true(g_file_set_contents(vol, "x", 1, NULL));
	g_assert_cmpint(g_chmod(vol, 0600), ==, 0);
	g_assert_true(sbx_jail_acl_grant(vol, 65534, TRUE, &error));
	g_assert_true(g_file_set_contents(list, text, -1, NULL));
	g_assert_true(sbx_ch_record_write(records, "sbxrec1", 0, run_dir, &error));
	g_assert_true(sbx_ch_record_write(records, "sbxrec2", 0, run_dir, &error));
	g_assert_no_error(error);
	g_hash_table_add(live, (gpointer) "sbxrec2");
	g_assert_cmpuint(sbx_ch_record_reap(records, live), ==, 0);
	g_assert_false(has_acl(vol));
	g_assert_false(g_file_test(overlay, G_FILE_TEST_EXISTS));
	g_assert_false(g_file_test(list, G_FILE_TEST_EXISTS));
	g_assert_true(g_file_test(live_record, G_FILE_TEST_EXISTS));
	g_unlink(live_record);
	g_unlink(vol);
	g_assert_cmpint(g_rmdir(run_dir), ==, 0);
	g_assert_cmpint(g_rmdir(records), ==, 0);
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ch-record/remove-own-only", test_remove_own_only);
	g_test_add_func("/ch-record/grants", test_grants);
	g_test_add_func("/ch-record/reap-starting", test_reap_starting);
	return g_test_run();
}
