/* The sandbox network made ready (defined, started, read back) against
 * libvirt's in-process test driver: no libvirtd, no bridge on the host.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "sbx-libvirt-network.h"

#define TEST_URI "test:///default"

static void
quiet_errors(void *data, virErrorPtr error)
{
}

static void
test_ensure(void)
{
	virConnectPtr conn = virConnectOpen(TEST_URI);
	SbxLibvirtNetInfo wanted = {0}, info = {0};
	g_autoptr(GError) error = NULL;
	virNetworkPtr net;
	g_autofree gchar *xml = NULL;
	int autostart = 0;

	g_assert_nonnull(conn);
	g_assert_true(sbx_libvirt_net_parse_cidr("10.215.0.1/20", &wanted, &error));
	wanted.mtu = 1400;

	/* missing: defined, started, autostarted, read back */
	g_assert_null(virNetworkLookupByName(conn, SBX_LIBVIRT_NETWORK_DEFAULT));
	g_assert_true(sbx_libvirt_network_ensure(conn, SBX_LIBVIRT_NETWORK_DEFAULT, "sbxtb0",
						 &wanted, &info, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(info.gateway, ==, wanted.gateway);
	g_assert_cmpuint(info.prefix, ==, 20);
	g_assert_cmpuint(info.mtu, ==, 1400);
	net = virNetworkLookupByName(conn, SBX_LIBVIRT_NETWORK_DEFAULT);
	g_assert_nonnull(net);
	g_assert_cmpint(virNetworkIsActive(net), ==, 1);
	g_assert_cmpint(virNetworkGetAutostart(net, &autostart), ==, 0);
	g_assert_cmpint(autostart, ==, 1);
	xml = virNetworkGetXMLDesc(net, 0);
	g_assert_nonnull(strstr(xml, "name='sbxtb0'"));

	/* stopped under us: started again, not redefined */
	g_assert_cmpint(virNetworkDestroy(net), ==, 0);
	memset(&info, 0, sizeof(info));
	g_assert_true(sbx_libvirt_network_ensure(conn, SBX_LIBVIRT_NETWORK_DEFAULT, "other0",
						 &wanted, &info, &error));
	g_assert_no_error(error);
	g_assert_cmpint(virNetworkIsActive(net), ==, 1);
	g_assert_cmpuint(info.prefix, ==, 20);
	virNetworkFree(net);

	/* a network the operator named must exist: never defined by us */
	g_assert_false(
	    sbx_libvirt_network_ensure(conn, "operators-net", "sbxtb1", &wanted, &info, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
	g_assert_null(virNetworkLookupByName(conn, "operators-net"));
	virConnectClose(conn);
}

static void
test_ensure_at_bad_uri(void)
{
	SbxLibvirtNetInfo wanted = {0};
	g_autoptr(GError) error = NULL;

	g_assert_true(sbx_libvirt_net_parse_cidr("10.215.0.1/20", &wanted, &error));
	g_assert_false(sbx_libvirt_network_ensure_at("nosuchdriver:///x", "sandboxd", "sbxtb0",
						     &wanted, &error));
	g_assert_nonnull(error);
	g_assert_nonnull(strstr(error->message, "cannot connect to nosuchdriver:///x"));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	virSetErrorFunc(NULL, quiet_errors);
	g_test_add_func("/libvirt/network/ensure", test_ensure);
	g_test_add_func("/libvirt/network/ensure-at-bad-uri", test_ensure_at_bad_uri);
	return g_test_run();
}
