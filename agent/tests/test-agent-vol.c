/* the agent's volume matching on a copy of sysfs: by serial, and @N (the Nth
 * vhost-user-blk disk by PCI address, only once all of them are there)
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "sbx-agent.h"

/* what the kernel makes: devices/pci0000:00/BDF/virtioN/block/NAME with its
 * serial, /sys/block/NAME linking there, NAME/device linking to virtioN */
static void
add_disk(const gchar *root, const gchar *name, const gchar *bdf, guint virtio, const gchar *serial)
{
	g_autofree gchar *virtio_dir =
	    g_strdup_printf("%s/sys/devices/pci0000:00/%s/virtio%u", root, bdf, virtio);
	g_autofree gchar *block = g_strdup_printf("%s/block/%s", virtio_dir, name);
	g_autofree gchar *serial_path = g_build_filename(block, "serial", NULL);
	g_autofree gchar *device = g_build_filename(block, "device", NULL);
	g_autofree gchar *sys_block = g_strdup_printf("%s/sys/block", root);
	g_autofree gchar *link = g_build_filename(sys_block, name, NULL);
	g_autofree gchar *target =
	    g_strdup_printf("../devices/pci0000:00/%s/virtio%u/block/%s", bdf, virtio, name);
	g_autofree gchar *text = g_strconcat(serial, "\n", NULL);

	g_assert_cmpint(g_mkdir_with_parents(block, 0755), ==, 0);
	g_assert_cmpint(g_mkdir_with_parents(sys_block, 0755), ==, 0);
	g_assert_true(g_file_set_contents(serial_path, text, -1, NULL));
	g_assert_cmpint(symlink("../..", device), ==, 0);
	g_assert_cmpint(symlink(target, link), ==, 0);
}

static gchar *
find(const gchar *root, const gchar *key, guint n_vhost)
{
	char name[17];
	if (!sbx_vol_find_disk(root, key, n_vhost, 0, name, sizeof(name)))
		return NULL;
	return g_strdup(name);
}

static void
rm_rf(const gchar *path)
{
	g_autofree gchar *cmd = g_strdup_printf("rm -rf '%s'", path);
	g_assert_cmpint(system(cmd), ==, 0);
}

static void
test_by_serial(void)
{
	g_autofree gchar *root = g_dir_make_tmp("sbx-agent-vol-XXXXXX", NULL);
	g_autofree gchar *a = NULL;
	g_autofree gchar *b = NULL;
	g_autofree gchar *none = NULL;

	add_disk(root, "vda", "0000:00:02.0", 0, "root");
	add_disk(root, "vdb", "0000:00:03.0", 1, "vol-a");
	add_disk(root, "vdc", "0000:00:04.0", 2, "vol-b");
	a = find(root, "vol-a", 0);
	b = find(root, "vol-b", 0);
	none = find(root, "vol-c", 0);
	g_assert_cmpstr(a, ==, "vdb");
	g_assert_cmpstr(b, ==, "vdc");
	g_assert_null(none);
	rm_rf(root);
}

/* the kernel names disks in probe order, which need not be PCI order: @N
 * follows the addresses, file disks (own serials) are not counted */
static void
test_by_pci_order(void)
{
	g_autofree gchar *root = g_dir_make_tmp("sbx-agent-vol-XXXXXX", NULL);
	g_autofree gchar *first = NULL;
	g_autofree gchar *second = NULL;
	g_autofree gchar *third = NULL;
	g_autofree gchar *beyond = NULL;
	g_autofree gchar *bad = NULL;

	add_disk(root, "vda", "0000:00:02.0", 0, "root");
	add_disk(root, "vdb", "0000:00:0a.0", 1, "vhost_user_blk");
	add_disk(root, "vdc", "0000:00:03.0", 2, "vol-file");
	add_disk(root, "vdd", "0000:00:05.0", 3, "vhost_user_blk");
	add_disk(root, "vde", "0000:00:06.0", 4, "vhost_user_blk");
	first = find(root, "@0", 3);
	second = find(root, "@1", 3);
	third = find(root, "@2", 3);
	g_assert_cmpstr(first, ==, "vdd");
	g_assert_cmpstr(second, ==, "vde");
	g_assert_cmpstr(third, ==, "vdb");
	beyond = find(root, "@3", 3);
	g_assert_null(beyond);
	bad = find(root, "@x", 3);
	g_assert_null(bad);
	/* the serial itself is no key for them: it names no single disk */
	{
		g_autofree gchar *file = find(root, "vol-file", 0);
		g_assert_cmpstr(file, ==, "vdc");
	}
	rm_rf(root);
}

/* one of two has not appeared yet: no guess, whichever index */
static void
test_waits_for_all(void)
{
	g_autofree gchar *root = g_dir_make_tmp("sbx-agent-vol-XXXXXX", NULL);
	g_autofree gchar *early = NULL;
	g_autofree gchar *late = NULL;
	g_autofree gchar *more = NULL;

	add_disk(root, "vda", "0000:00:06.0", 0, "vhost_user_blk");
	early = find(root, "@0", 2);
	g_assert_null(early);
	add_disk(root, "vdb", "0000:00:05.0", 1, "vhost_user_blk");
	late = find(root, "@0", 2);
	g_assert_cmpstr(late, ==, "vdb");
	/* more than announced: the order means nothing */
	add_disk(root, "vdc", "0000:00:04.0", 2, "vhost_user_blk");
	more = find(root, "@0", 2);
	g_assert_null(more);
	rm_rf(root);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/agent-vol/by-serial", test_by_serial);
	g_test_add_func("/agent-vol/by-pci-order", test_by_pci_order);
	g_test_add_func("/agent-vol/waits-for-all", test_waits_for_all);
	return g_test_run();
}
