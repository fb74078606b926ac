/* Spawn/Exec process options: types, bounds, combinations.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "sbx-error.h"
#include "sbx-options.h"

static SbxExecOptions *
parse(const gchar *text, GError **error)
{
	g_autoptr(GVariant) v = g_variant_ref_sink(g_variant_new_parsed(text));
	return sbx_options_exec_parse(v, error);
}

static void
assert_invalid(const gchar *text, const gchar *fragment)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxExecOptions) opts = parse(text, &error);
	g_assert_null(opts);
	g_assert_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT);
	if (strstr(error->message, fragment) == NULL)
		g_error("%s: '%s' does not contain '%s'", text, error->message, fragment);
}

static void
test_defaults(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxExecOptions) opts = parse("@a{sv} {}", &error);
	g_assert_no_error(error);
	g_assert_cmpint(opts->uid, ==, -1);
	g_assert_cmpint(opts->gid, ==, -1);
	g_assert_null(opts->user);
	g_assert_false(opts->clear_env);
	g_assert_false(opts->detach);
	g_assert_false(opts->pty);
	g_assert_cmpuint(opts->timeout_ms, ==, 0);
	for (guint i = 0; i < 3; i++)
		g_assert_cmpint(opts->stdio[i], ==, SBX_STDIO_PIPED);
}

static void
test_all(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxExecOptions) opts =
	    parse("{'clear_env': <true>, 'uid': <uint32 1000>, 'stdin': <'null'>, "
		  "'stdout': <'piped'>, 'stderr': <'merged'>, 'timeout': <uint32 1500>, "
		  "'detach': <true>, 'env': <{'A': 'b'}>, 'cwd': <'/tmp'>}",
		  &error);
	g_assert_no_error(error);
	g_assert_true(opts->clear_env);
	g_assert_cmpint(opts->uid, ==, 1000);
	g_assert_cmpint(opts->gid, ==, 1000); /* defaults to uid */
	g_assert_cmpint(opts->stdio[0], ==, SBX_STDIO_NULL);
	g_assert_cmpint(opts->stdio[1], ==, SBX_STDIO_PIPED);
	g_assert_cmpint(opts->stdio[2], ==, SBX_STDIO_MERGED);
	g_assert_cmpuint(opts->timeout_ms, ==, 1500);
	g_assert_true(opts->detach);
	g_clear_pointer(&opts, sbx_options_exec_free);

	opts = parse("{'user': <'nobody'>, 'pty': <true>, 'rows': <uint32 40>, "
		     "'cols': <uint32 132>, 'timeout': <'2m'>}",
		     &error);
	g_assert_no_error(error);
	g_assert_cmpstr(opts->user, ==, "nobody");
	g_assert_true(opts->pty);
	g_assert_cmpuint(opts->rows, ==, 40);
	g_assert_cmpuint(opts->cols, ==, 132);
	g_assert_cmpuint(opts->timeout_ms, ==, 120000);
	/* a terminal merges stderr */
	g_assert_cmpint(opts->stdio[2], ==, SBX_STDIO_MERGED);
	g_clear_pointer(&opts, sbx_options_exec_free);

	opts = parse("{'timeout': <'250ms'>, 'uid': <uint32 0>, 'gid': <uint32 5>}", &error);
	g_assert_no_error(error);
	g_assert_cmpuint(opts->timeout_ms, ==, 250);
	g_assert_cmpint(opts->uid, ==, 0);
	g_assert_cmpint(opts->gid, ==, 5);
}

static void
test_invalid(void)
{
	assert_invalid("{'frobnicate': <true>}", "unknown option 'frobnicate'");
	assert_invalid("{'detach': <'yes'>}", "detach: expected a boolean");
	assert_invalid("{'clear_env': <1>}", "clear_env: expected a boolean");
	assert_invalid("{'stdin': <'merged'>}", "stdin: 'merged' is not one of piped, null");
	assert_invalid("{'stdout': <'file'>}", "stdout: 'file' is not one of");
	assert_invalid("{'stderr': <'pipe'>}", "piped, null, merged");
	assert_invalid("{'stdout': <1>}", "expected a string");
	assert_invalid("{'timeout': <uint32 0>}", "timeout: must be between 1 ms");
	assert_invalid("{'timeout': <'0s'>}", "timeout:");
	assert_invalid("{'timeout': <'soon'>}", "timeout:");
	assert_invalid("{'timeout': <'xms'>}", "timeout: 'xms' is not a duration");
	assert_invalid("{'timeout': <-5>}", "timeout: -5 is out of range");
	assert_invalid("{'timeout': <uint64 99999999999>}", "timeout: must be between");
	assert_invalid("{'timeout': <true>}", "expected an unsigned integer");
	assert_invalid("{'uid': <-1>}", "uid: -1 is out of range");
	assert_invalid("{'uid': <uint32 4294967295>}", "uid: 4294967295 is out of range");
	assert_invalid("{'gid': <uint32 5>}", "gid: needs uid");
	assert_invalid("{'user': <'root'>, 'uid': <uint32 0>}", "either user or uid/gid");
	assert_invalid("{'user': <''>}", "is not a user name");
	assert_invalid("{'user': <'a:b'>}", "is not a user name");
	assert_invalid("{'user': <'-rf'>}", "is not a user name");
	assert_invalid("{'user': <'r\\noot'>}", "is not a user name");
	assert_invalid("{'user': <uint32 0>}", "user: expected a string");
	assert_invalid("{'rows': <uint32 24>}", "rows, cols: only with pty");
	assert_invalid("{'pty': <true>, 'rows': <uint32 0>}", "rows: must be 1-65535");
	assert_invalid("{'pty': <true>, 'cols': <uint32 65536>}", "cols: 65536 is out of range");
	assert_invalid("{'pty': <true>, 'stdout': <'null'>}", "pty: the terminal's output needs");
	assert_invalid("{'detach': <true>, 'detach': <false>}", "given more than once");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/spawn-options/defaults", test_defaults);
	g_test_add_func("/spawn-options/all", test_all);
	g_test_add_func("/spawn-options/invalid", test_invalid);
	return g_test_run();
}
