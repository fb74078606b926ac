/* the sandbox network and root disk helpers of the libvirt backend (no libvirt needed)
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <glib/gstdio.h>

#include "sbx-libvirt-net.h"
#include "sbx-libvirt-overlay.h"

static void
test_cidr(void)
{
	SbxLibvirtNetInfo info;
	const gchar *bad[] = {"",
			      "10.0.0.1",
			      "10.0.0.1/",
			      "10.0.0.1/33",
			      "10.0.0/16",
			      "10.0.0.256/16",
			      "10.0.0.1/31",
			      "10.0.0.1/7",
			      "a.b.c.d/8",
			      NULL};

	g_assert_true(sbx_libvirt_net_parse_cidr("10.213.0.1/16", &info, NULL));
	g_assert_cmpuint(info.gateway, ==, 0x0ad50001);
	g_assert_cmpuint(info.prefix, ==, 16);
	g_assert_cmpuint(info.mtu, ==, 0);
	for (guint i = 0; bad[i] != NULL; i++) {
		g_autoptr(GError) error = NULL;
		g_assert_false(sbx_libvirt_net_parse_cidr(bad[i], &info, &error));
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	}
}

static void
test_network_xml(void)
{
	SbxLibvirtNetInfo info = {0x0ad50001, 16, 1400};
	SbxLibvirtNetInfo parsed;
	g_autofree gchar *xml = sbx_libvirt_net_xml_new("sandboxd", "sbxbr0", &info);
	g_autoptr(GError) error = NULL;

	g_assert_nonnull(strstr(xml, "<forward mode='nat'/>"));
	g_assert_nonnull(strstr(xml, "<bridge name='sbxbr0'"));
	g_assert_nonnull(strstr(xml, "<mtu size='1400'/>"));
	/* no DHCP: the backend assigns every address */
	g_assert_null(strstr(xml, "dhcp"));
	g_assert_true(sbx_libvirt_net_parse_xml(xml, &parsed, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(parsed.gateway, ==, info.gateway);
	g_assert_cmpuint(parsed.prefix, ==, 16);
	g_assert_cmpuint(parsed.mtu, ==, 1400);

	/* libvirt's own formatting: netmask, an IPv6 address first */
	g_assert_true(sbx_libvirt_net_parse_xml(
	    "<network><name>default</name>"
	    "<ip family=\"ipv6\" address=\"fd00::1\" prefix=\"64\"/>"
	    "<ip address='192.168.122.1' netmask='255.255.255.0'><dhcp/></ip></network>",
	    &parsed, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(parsed.gateway, ==, 0xc0a87a01);
	g_assert_cmpuint(parsed.prefix, ==, 24);
	g_assert_cmpuint(parsed.mtu, ==, 0);

	g_assert_false(
	    sbx_libvirt_net_parse_xml("<network><name>x</name></network>", &parsed, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
}

static void
test_pick(void)
{
	SbxLibvirtNetInfo info = {0x0a000001, 29, 0}; /* 10.0.0.1/29: hosts .1-.6 */
	g_autoptr(GHashTable) taken = g_hash_table_new(NULL, NULL);
	g_autoptr(GHashTable) seen = g_hash_table_new(NULL, NULL);

	/* every free host address once, never the gateway, network or broadcast */
	for (guint i = 0; i < 5; i++) {
		guint32 ip = sbx_libvirt_net_ip_pick(&info, "sbx-same-seed", taken);
		g_assert_cmpuint(ip, >=, 0x0a000002);
		g_assert_cmpuint(ip, <=, 0x0a000006);
		g_assert_false(g_hash_table_contains(seen, GUINT_TO_POINTER(ip)));
		g_hash_table_add(seen, GUINT_TO_POINTER(ip));
		g_hash_table_add(taken, GUINT_TO_POINTER(ip));
	}
	g_assert_cmpuint(sbx_libvirt_net_ip_pick(&info, "sbx-same-seed", taken), ==, 0);
}

static void
test_strings(void)
{
	SbxLibvirtNetInfo info = {0x0ad50001, 16, 1400};
	g_autofree gchar *ip = sbx_libvirt_net_ip_to_string(0x0ad5dcff);
	g_autofree gchar *mac = sbx_libvirt_net_mac_for_ip(0x0ad5dcff);
	g_autofree gchar *cmdline = sbx_libvirt_net_cmdline(&info, 0x0ad50102);
	guint32 back = 0;

	g_assert_cmpstr(ip, ==, "10.213.220.255");
	g_assert_true(sbx_libvirt_net_ip_from_string(ip, &back));
	g_assert_cmpuint(back, ==, 0x0ad5dcff);
	g_assert_false(sbx_libvirt_net_ip_from_string("10.213.220", &back));
	g_assert_false(sbx_libvirt_net_ip_from_string("10.213.220.-1", &back));
	g_assert_cmpstr(mac, ==, "52:54:00:d5:dc:ff");
	g_assert_cmpstr(cmdline, ==,
			"sbx.ip=10.213.1.2/16 sbx.gw=10.213.0.1 sbx.dns=10.213.0.1 sbx.mtu=1400");
	g_assert_true(sbx_libvirt_net_name_is_valid("sandboxd"));
	g_assert_false(sbx_libvirt_net_name_is_valid("a b"));
	g_assert_false(sbx_libvirt_net_name_is_valid("-x"));
	g_assert_false(sbx_libvirt_net_name_is_valid("x'y"));
}

static void
test_host_mtu(void)
{
	g_autofree gchar *root = g_dir_make_tmp("sbx-net-XXXXXX", NULL);
	g_autofree gchar *proc = g_build_filename(root, "proc/net", NULL);
	g_autofree gchar *sys = g_build_filename(root, "sys/class/net/eth7", NULL);
	g_autofree gchar *route = g_build_filename(proc, "route", NULL);
	g_autofree gchar *mtu = g_build_filename(sys, "mtu", NULL);

	g_assert_cmpint(g_mkdir_with_parents(proc, 0755), ==, 0);
	g_assert_cmpint(g_mkdir_with_parents(sys, 0755), ==, 0);
	g_assert_cmpuint(sbx_libvirt_net_host_mtu(root), ==, 0);
	g_assert_true(g_file_set_contents(route,
					  "Iface\tDestination\tGateway \tFlags\n"
					  "sbxbr0\t0000D50A\t00000000\t0001\n"
					  "eth7\t00000000\t0100000A\t0003\n",
					  -1, NULL));
	g_assert_true(g_file_set_contents(mtu, "1400\n", -1, NULL));
	g_assert_cmpuint(sbx_libvirt_net_host_mtu(root), ==, 1400);
	g_unlink(mtu);
	g_unlink(route);
	/* the whole fake root, folder by folder up to it */
	for (const gchar *const *d =
		 (const gchar *const[]){"sys/class/net/eth7", "sys/class/net", "sys/class", "sys",
					"proc/net", "proc", NULL};
	     *d != NULL; d++) {
		g_autofree gchar *path = g_build_filename(root, *d, NULL);
		g_assert_cmpint(g_rmdir(path), ==, 0);
	}
	g_assert_cmpint(g_rmdir(root), ==, 0);
}

static void
test_disk_size(void)
{
	g_autofree gchar *dir = g_dir_make_tmp("sbx-disk-XXXXXX", NULL);
	g_autofree gchar *qcow = g_build_filename(dir, "a.qcow2", NULL);
	g_autofree gchar *raw = g_build_filename(dir, "a.raw", NULL);
	guint8 hdr[32] = {'Q', 'F', 'I', 0xfb, 0, 0, 0, 3};
	guint64 size = 0;
	g_autoptr(GError) error = NULL;

	/* 10 GiB, big-endian at offset 24 */
	hdr[27] = 0x02;
	hdr[28] = 0x80;
	g_assert_true(g_file_set_contents(qcow, (const gchar *)hdr, sizeof(hdr), NULL));
	g_assert_true(sbx_libvirt_overlay_virtual_size(qcow, "qcow2", &size, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(size, ==, 10ull << 30);
	g_assert_true(g_file_set_contents(raw, "12345", 5, NULL));
	g_assert_true(sbx_libvirt_overlay_virtual_size(raw, "raw", &size, &error));
	g_assert_cmpuint(size, ==, 5);
	/* a raw file is no qcow2 */
	g_assert_false(sbx_libvirt_overlay_virtual_size(raw, "qcow2", &size, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
	g_clear_error(&error);
	g_unlink(raw);
	g_assert_false(sbx_libvirt_overlay_virtual_size(raw, "raw", &size, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
	g_unlink(qcow);
	g_rmdir(dir);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/libvirt/net/cidr", test_cidr);
	g_test_add_func("/libvirt/net/network-xml", test_network_xml);
	g_test_add_func("/libvirt/net/pick", test_pick);
	g_test_add_func("/libvirt/net/strings", test_strings);
	g_test_add_func("/libvirt/net/host-mtu", test_host_mtu);
	g_test_add_func("/libvirt/disk/virtual-size", test_disk_size);
	return g_test_run();
}
