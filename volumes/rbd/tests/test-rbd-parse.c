/* the rbd plugin's parsers: ceph.conf "mon host" values and keyrings
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "sbx-rbd-conn.h"

static void
check_mon_host(const gchar *value, const gchar *expected)
{
	g_auto(GStrv) monitors = sbx_rbd_conn_parse_mon_host(value);
	g_autofree gchar *joined = monitors != NULL ? g_strjoinv(" ", monitors) : NULL;
	g_assert_cmpstr(joined, ==, expected);
}

static void
test_mon_host(void)
{
	check_mon_host("127.0.0.1:6789", "127.0.0.1:6789");
	check_mon_host("v1:127.0.0.1:40000", "127.0.0.1:40000");
	check_mon_host("10.0.0.1,10.0.0.2", "10.0.0.1:6789 10.0.0.2:6789");
	check_mon_host("10.0.0.1:6789 10.0.0.2:6789; 10.0.0.3:6789",
		       "10.0.0.1:6789 10.0.0.2:6789 10.0.0.3:6789");
	/* one monitor with both protocols: v1 for QEMU and libvirt */
	check_mon_host(
	    "[v2:10.0.0.1:3300,v1:10.0.0.1:6789],[v2:10.0.0.2:3300/0,v1:10.0.0.2:6789/0]",
	    "10.0.0.1:6789 10.0.0.2:6789");
	check_mon_host("[v2:10.0.0.1:3300]", "10.0.0.1:3300");
	check_mon_host("mon.example.com", "mon.example.com:6789");
	check_mon_host("", NULL);
	check_mon_host(" , ;", NULL);
	check_mon_host("[]", NULL);
	check_mon_host(NULL, NULL);
}

static void
test_keyring(void)
{
	const gchar *keyring = "[client.other]\n"
			       "\tkey = AQBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB==\n"
			       "# a comment\n"
			       "[client.admin]\n"
			       "\tcaps mon = \"allow *\"\n"
			       "\tkey=AQD+LQlrsafCExAA9beAcILtKpEvL4nU4T4HQQ==  \n";
	g_autofree gchar *admin = sbx_rbd_conn_keyring_find_key(keyring, "client.admin");
	g_autofree gchar *other = sbx_rbd_conn_keyring_find_key(keyring, "client.other");
	g_autofree gchar *missing = sbx_rbd_conn_keyring_find_key(keyring, "client.nobody");
	g_autofree gchar *bad =
	    sbx_rbd_conn_keyring_find_key("[client.x]\nkey = a b\n", "client.x");
	g_autofree gchar *empty = sbx_rbd_conn_keyring_find_key("[client.x]\nkey =\n", "client.x");

	g_assert_cmpstr(admin, ==, "AQD+LQlrsafCExAA9beAcILtKpEvL4nU4T4HQQ==");
	g_assert_cmpstr(other, ==, "AQBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB==");
	g_assert_null(missing);
	g_assert_null(bad);
	g_assert_null(empty);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/rbd/mon-host", test_mon_host);
	g_test_add_func("/rbd/keyring", test_keyring);
	return g_test_run();
}
