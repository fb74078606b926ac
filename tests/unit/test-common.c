/* common/: the one size and duration parsers of the daemon and sandboxctl.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "sbx-duration.h"
#include "sbx-size.h"

static void
test_good(void)
{
	const struct {
		const gchar *text;
		guint64 bytes;
	} cases[] = {
	    {"0", 0},
	    {"300000000", 300000000},
	    {"512b", 512},
	    {"4K", 4096},
	    {"512MiB", 512ull << 20},
	    {"10g", 10ull << 30},
	    {"1TiB", 1ull << 40},
	    {"16777215TiB", 16777215ull << 40},
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		guint64 bytes = 1;
		g_assert_true(sbx_size_parse(cases[i].text, &bytes));
		g_assert_cmpuint(bytes, ==, cases[i].bytes);
	}
}

static void
test_bad(void)
{
	const gchar *cases[] = {
	    "",	    "-1",   " 1",  "1 G",	  "G",
	    "1.5G", "1PiB", "1Gi", "16777216TiB", "18446744073709551616",
	};
	guint64 bytes = 7;

	g_assert_false(sbx_size_parse(NULL, &bytes));
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++)
		g_assert_false(sbx_size_parse(cases[i], &bytes));
	g_assert_cmpuint(bytes, ==, 7);
}

static void
test_duration(void)
{
	const gchar *bad[] = {"",
			      "s",
			      "-5",
			      "+5",
			      " 5",
			      "5 m",
			      "5ms",
			      "1d",
			      "1.5h",
			      "4294967296",
			      "99999999999999999"};
	guint64 s = 7;

	g_assert_true(sbx_duration_parse("0", &s));
	g_assert_cmpuint(s, ==, 0);
	g_assert_true(sbx_duration_parse("90", &s));
	g_assert_cmpuint(s, ==, 90);
	g_assert_true(sbx_duration_parse("30s", &s));
	g_assert_cmpuint(s, ==, 30);
	g_assert_true(sbx_duration_parse("5m", &s));
	g_assert_cmpuint(s, ==, 300);
	g_assert_true(sbx_duration_parse("4294967295h", &s));
	g_assert_cmpuint(s, ==, 4294967295ull * 3600);
	s = 7;
	g_assert_false(sbx_duration_parse(NULL, &s));
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++)
		g_assert_false(sbx_duration_parse(bad[i], &s));
	g_assert_cmpuint(s, ==, 7);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/size/good", test_good);
	g_test_add_func("/size/bad", test_bad);
	g_test_add_func("/duration", test_duration);
	return g_test_run();
}
