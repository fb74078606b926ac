/* sbx-options: every bound of CreateSandbox's and Exec's options
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>

#include "sbx-error.h"
#include "sbx-options.h"

static SbxConfig *config = NULL;

static SbxCreateOptions *
parse(const gchar *text, GError **error)
{
	g_autoptr(GVariant) v = g_variant_ref_sink(g_variant_new_parsed(text));
	return sbx_options_create_parse(v, config, error);
}

static void
expect_ok(const gchar *text)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxCreateOptions) opts = parse(text, &error);
	if (error != NULL)
		g_error("%s: unexpected error: %s", text, error->message);
	g_assert_nonnull(opts);
}

static void
expect_invalid(const gchar *text, const gchar *message)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxCreateOptions) opts = parse(text, &error);
	g_assert_null(opts);
	g_assert_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT);
	if (strstr(error->message, message) == NULL)
		g_error("%s: '%s' not in '%s'", text, message, error->message);
}

static void
test_defaults(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxCreateOptions) opts = parse("@a{sv} {}", &error);
	g_assert_no_error(error);
	g_assert_cmpuint(opts->memory_mib, ==, 1024);
	g_assert_cmpuint(opts->vcpus, ==, 2);
	g_assert_cmpuint(opts->timeout_sec, ==, 0);
	g_assert_cmpstr(opts->image, ==, "debian");
	g_assert_cmpuint(g_hash_table_size(opts->env), ==, 0);
	g_assert_cmpuint(g_hash_table_size(opts->labels), ==, 0);
}

static void
test_memory(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxCreateOptions) opts = NULL;

	expect_invalid("{'memory': <uint32 767>}", "memory: 767 MiB is out of range (768-4096)");
	expect_ok("{'memory': <uint32 768>}");
	expect_ok("{'memory': <uint32 4096>}");
	expect_invalid("{'memory': <uint32 4097>}", "memory: 4097 MiB is out of range (768-4096)");
	expect_invalid("{'memory': <uint32 0>}", "out of range (768-4096)");
	expect_invalid("{'memory': <uint32 4294967295>}", "out of range");
	/* any integer type, range-checked */
	expect_ok("{'memory': <2048>}");
	expect_ok("{'memory': <uint64 2048>}");
	expect_ok("{'memory': <int16 2048>}");
	expect_invalid("{'memory': <-1024>}", "memory: -1024 MiB is out of range");
	expect_invalid("{'memory': <uint64 18446744073709551615>}", "out of range");
	expect_invalid("{'memory': <'2048'>}", "memory: expected an unsigned integer (u)");
	expect_invalid("{'memory': <2048.0>}", "got type 'd'");
	expect_invalid("{'memory': <true>}", "got type 'b'");

	opts = parse("{'memory': <uint32 3000>}", &error);
	g_assert_no_error(error);
	g_assert_cmpuint(opts->memory_mib, ==, 3000);
}

static void
test_vcpus(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxCreateOptions) opts = NULL;

	expect_invalid("{'vcpus': <uint32 0>}", "vcpus: 0 is out of range (1-2)");
	expect_ok("{'vcpus': <uint32 1>}");
	expect_ok("{'vcpus': <uint32 2>}");
	expect_invalid("{'vcpus': <uint32 3>}", "vcpus: 3 is out of range (1-2)");
	expect_invalid("{'vcpus': <'two'>}", "vcpus: expected an unsigned integer");

	opts = parse("{'vcpus': <byte 1>}", &error);
	g_assert_no_error(error);
	g_assert_cmpuint(opts->vcpus, ==, 1);
}

static gchar *
labels_text(guint n, gsize key_len, gsize value_len)
{
	g_autoptr(GString) s = g_string_new("{'labels': <@a{ss} {");
	for (guint i = 0; i < n; i++) {
		g_autofree gchar *key = g_strnfill(key_len, 'a' + i);
		g_autofree gchar *value = g_strnfill(value_len, 'v');
		g_string_append_printf(s, "%s'%s': '%s'", i > 0 ? ", " : "", key, value);
	}
	g_string_append(s, "}>}");
	return g_string_free(g_steal_pointer(&s), FALSE);
}

static void
test_labels(void)
{
	g_autofree gchar *five = labels_text(5, 3, 3);
	g_autofree gchar *six = labels_text(6, 3, 3);
	g_autofree gchar *key64 = labels_text(1, 64, 1);
	g_autofree gchar *key65 = labels_text(1, 65, 1);
	g_autofree gchar *key1 = labels_text(1, 1, 0);
	g_autofree gchar *key0 = labels_text(1, 0, 1);
	g_autofree gchar *value128 = labels_text(1, 4, 128);
	g_autofree gchar *value129 = labels_text(1, 4, 129);
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxCreateOptions) opts = NULL;
	g_autoptr(GVariant) v = NULL;

	expect_ok("{'labels': <@a{ss} {}>}");
	expect_ok(five);
	expect_invalid(six, "labels: 6 labels, at most 5 are allowed");
	expect_ok(key1);
	expect_ok(key64);
	expect_invalid(key0, "is 0 bytes, it must be 1-64 bytes");
	expect_invalid(key65, "is 65 bytes, it must be 1-64 bytes");
	expect_ok(value128);
	expect_invalid(value129, "is 129 bytes, at most 128 are allowed");
	expect_invalid("{'labels': <{'a': 'b\\nc'}>}", "control characters");
	expect_invalid("{'labels': <{'a': <1>}>}", "labels: expected a string dictionary (a{ss})");
	expect_invalid("{'labels': <['a']>}", "got type 'as'");

	opts = parse("{'labels': <{'team': 'ci', 'run': '7'}>}", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(g_hash_table_lookup(opts->labels, "team"), ==, "ci");
	v = g_variant_ref_sink(sbx_options_string_table_to_variant(opts->labels));
	g_assert_cmpstr(g_variant_print(v, FALSE), ==, "{'run': '7', 'team': 'ci'}");
}

static gchar *
env_text(guint n, gsize value_len)
{
	g_autoptr(GString) s = g_string_new("{'env': <@a{ss} {");
	g_autofree gchar *value = g_strnfill(value_len, 'x');
	for (guint i = 0; i < n; i++)
		g_string_append_printf(s, "%s'V%u': '%s'", i > 0 ? ", " : "", i, value);
	g_string_append(s, "}>}");
	return g_string_free(g_steal_pointer(&s), FALSE);
}

static void
test_env(void)
{
	g_autofree gchar *count_max = env_text(SBX_ENV_MAX, 1);
	g_autofree gchar *count_over = env_text(SBX_ENV_MAX + 1, 1);
	g_autofree gchar *value_max = env_text(1, SBX_ENV_VALUE_MAX);
	g_autofree gchar *value_over = env_text(1, SBX_ENV_VALUE_MAX + 1);
	/* 4 values of 16384 bytes exceed the 48 KiB total */
	g_autofree gchar *total_over = env_text(4, SBX_ENV_VALUE_MAX);
	g_autofree gchar *name_max = NULL;
	g_autofree gchar *name_over = NULL;
	g_autofree gchar *long_name = g_strnfill(SBX_ENV_NAME_MAX, 'N');
	g_autofree gchar *longer_name = g_strnfill(SBX_ENV_NAME_MAX + 1, 'N');

	name_max = g_strdup_printf("{'env': <{'%s': '1'}>}", long_name);
	name_over = g_strdup_printf("{'env': <{'%s': '1'}>}", longer_name);

	expect_ok("{'env': <{'PATH': '/bin', 'LANG': 'C.UTF-8', '_x1': ''}>}");
	expect_ok(count_max);
	expect_invalid(count_over, "env: 257 variables, at most 256 are allowed");
	expect_ok(value_max);
	expect_invalid(value_over, "env: value of V0 is 16385 bytes, at most 16384");
	expect_invalid(total_over, "bytes in total, at most 49152");
	expect_ok(name_max);
	expect_invalid(name_over, "is not a valid variable name");
	expect_invalid("{'env': <{'A=B': '1'}>}", "'A=B' is not a valid variable name");
	expect_invalid("{'env': <{'': '1'}>}", "'' is not a valid variable name");
	expect_invalid("{'env': <{'1A': '1'}>}", "'1A' is not a valid variable name");
	expect_invalid("{'env': <{'A B': '1'}>}", "not a valid variable name");
	expect_invalid("{'env': <{'A': <1>}>}", "env: expected a string dictionary (a{ss})");
}

static void
test_image(void)
{
	expect_ok("{'image': <'minimal'>}");
	expect_invalid("{'image': <'nope'>}", "image: no image 'nope' (known: debian, minimal)");
	expect_invalid("{'image': <'../etc'>}", "image: no image");
	expect_invalid("{'image': <1>}", "image: expected a string (s)");
}

static void
test_timeout(void)
{
	const struct {
		const gchar *text;
		guint seconds; /* 0 = refused */
	} cases[] = {
	    {"{'timeout': <'session'>}", 0},
	    {"{'timeout': <'90'>}", 90},
	    {"{'timeout': <'30s'>}", 30},
	    {"{'timeout': <'5m'>}", 300},
	    {"{'timeout': <'1s'>}", 1},
	    {"{'timeout': <'1800'>}", 1800},
	    {"{'timeout': <'30m'>}", 1800},
	    {"{'timeout': <uint32 60>}", 60},
	    {"{'timeout': <'0'>}", 0},
	    {"{'timeout': <'1801'>}", 0},
	    {"{'timeout': <'1h'>}", 0},
	    {"{'timeout': <'31m'>}", 0},
	    {"{'timeout': <'abc'>}", 0},
	    {"{'timeout': <''>}", 0},
	    {"{'timeout': <'5 m'>}", 0},
	    {"{'timeout': <'-5'>}", 0},
	    {"{'timeout': <'5d'>}", 0},
	    {"{'timeout': <'s'>}", 0},
	    {"{'timeout': <'99999999999999h'>}", 0},
	    {"{'timeout': <-1>}", 0},
	    {"{'timeout': <uint32 1801>}", 0},
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(SbxCreateOptions) opts = parse(cases[i].text, &error);
		gboolean session = i == 0;
		g_test_message("%s: %s", cases[i].text, error != NULL ? error->message : "ok");
		if (cases[i].seconds > 0 || session) {
			g_assert_no_error(error);
			g_assert_cmpuint(opts->timeout_sec, ==, cases[i].seconds);
			continue;
		}
		g_assert_null(opts);
		g_assert_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT);
		g_assert_true(g_str_has_prefix(error->message, "timeout: "));
	}
	expect_invalid("{'timeout': <'1h'>}", "timeout: 3600s is out of range (1s-1800s)");
	expect_invalid("{'timeout': <'0'>}", "timeout: 0s is out of range (1s-1800s)");
	expect_invalid("{'timeout': <'soon'>}", "neither \"session\" nor a duration");
}

/* unset, empty (no network) and a list are three different things */
static void
test_allow_net(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxCreateOptions) unset = parse("{'memory': <uint32 1024>}", &error);
	g_autoptr(SbxCreateOptions) empty = parse("{'allow_net': <@as []>}", &error);
	g_autoptr(SbxCreateOptions) list =
	    parse("{'allow_net': <['*.Example.com:443', '10.0.0.1/8']>}", &error);
	g_auto(GStrv) back = NULL;
	const gchar *want[] = {"*.example.com:443", "10.0.0.0/8", NULL};

	g_assert_no_error(error);
	g_assert_null(unset->allow_net);
	g_assert_true(sbx_netpol_policy_is_offline(empty->allow_net));
	back = sbx_netpol_policy_to_strv(list->allow_net);
	g_assert_cmpstrv(back, want);
	expect_invalid("{'allow_net': <'example.com'>}", "allow_net: must be an array of strings");
	expect_invalid("{'allow_net': <['example.com', 'a b']>}", "'a b' is not a host name");
	expect_invalid("{'allow_net': <['example.com:99999']>}", "'example.com:99999'");
}

/* secrets: the env holds a placeholder and the CA variables, never the
 * value; bad input is refused without echoing the value */
static void
test_secrets(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxCreateOptions) opts =
	    parse("{'allow_net': <['api.example.com', '*.test']>, 'env': <{'A': 'b'}>,"
		  " 'secrets': <{'API_KEY': (['api.example.com', 'x.test'], 'v4lue-S3CRET'),"
		  " 'OTHER': (['api.example.com'], 'other-S3CRET')}>}",
		  &error);
	const gchar *placeholder;
	g_autofree gchar *control = NULL;

	g_assert_no_error(error);
	g_assert_nonnull(opts->secrets);
	g_assert_cmpuint(opts->secrets->items->len, ==, 2);
	placeholder = g_hash_table_lookup(opts->env, "API_KEY");
	g_assert_true(g_str_has_prefix(placeholder, SBX_NETPOL_SECRET_PREFIX));
	g_assert_cmpuint(strlen(placeholder), ==, strlen(SBX_NETPOL_SECRET_PREFIX) + 32);
	g_assert_cmpstr(g_hash_table_lookup(opts->env, "OTHER"), !=, placeholder);
	g_assert_cmpstr(g_hash_table_lookup(opts->env, "A"), ==, "b");
	g_assert_cmpstr(g_hash_table_lookup(opts->env, "NODE_EXTRA_CA_CERTS"), ==,
			SBX_NETPOL_SECRETS_CA_PATH);
	g_assert_cmpstr(g_hash_table_lookup(opts->env, "SSL_CERT_FILE"), ==,
			SBX_NETPOL_SECRETS_BUNDLE_PATH);
	/* no env value carries a secret value */
	{
		GHashTableIter iter;
		gpointer value;
		g_hash_table_iter_init(&iter, opts->env);
		while (g_hash_table_iter_next(&iter, NULL, &value))
			g_assert_null(strstr(value, "S3CRET"));
	}
	/* the proxy's lines do (base64), with the CA */
	control = sbx_netpol_secrets_to_control(opts->secrets, "10.0.0.2");
	g_assert_true(g_str_has_prefix(control, "ca 10.0.0.2 "));
	g_assert_nonnull(strstr(control, "secret 10.0.0.2 "));

	/* without allow_net: the sandbox's HTTPS goes through the proxy */
	{
		g_autoptr(SbxCreateOptions) open =
		    parse("{'secrets': <{'K': (['api.example.com'], 'v')}>}", &error);
		g_assert_no_error(error);
		g_assert_null(open->allow_net);
		g_assert_nonnull(open->secrets);
	}
	expect_invalid("{'allow_net': <['api.example.com']>,"
		       " 'secrets': <{'K': (['other.example.com'], 'v')}>}",
		       "not in allow_net");
	expect_invalid("{'allow_net': <['api.example.com']>,"
		       " 'secrets': <{'1K': (['api.example.com'], 'v')}>}",
		       "not an environment variable name");
	expect_invalid("{'allow_net': <['api.example.com']>,"
		       " 'secrets': <{'K': (['api.example.com:8443'], 'v')}>}",
		       "without a port");
	expect_invalid(
	    "{'allow_net': <['api.example.com']>, 'secrets': <{'K': (['api.example.com'],"
	    " 'S3CRET\\r\\nX-Evil: 1')}>}",
	    "without CR or LF");
	expect_invalid("{'allow_net': <['api.example.com']>, 'secrets': <{'K': (@as [], 'v')}>}",
		       "1 to 16 hosts");
	expect_invalid("{'allow_net': <['api.example.com']>, 'secrets': <['K']>}",
		       "must be a{s(ass)}");
}

static void
test_unknown_and_duplicate(void)
{
	g_autoptr(GVariantBuilder) b = g_variant_builder_new(G_VARIANT_TYPE_VARDICT);
	g_autoptr(GVariant) v = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxCreateOptions) opts = NULL;

	expect_invalid("{'Memory': <1024>}", "unknown option 'Memory' (known: memory, vcpus");
	expect_invalid("{'memory': <1024>, 'disk': <1>}", "unknown option 'disk'");

	/* a{sv} may repeat a key on the wire */
	g_variant_builder_add(b, "{sv}", "memory", g_variant_new_uint32(1024));
	g_variant_builder_add(b, "{sv}", "memory", g_variant_new_uint32(2048));
	v = g_variant_ref_sink(g_variant_builder_end(b));
	opts = sbx_options_create_parse(v, config, &error);
	g_assert_null(opts);
	g_assert_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT);
	g_assert_nonnull(strstr(error->message, "memory: given more than once"));
}

static void
test_config_limits(void)
{
	g_autoptr(SbxConfig) small = sbx_config_new();
	g_autofree gchar *dir = g_dir_make_tmp("sbx-test-options-XXXXXX", NULL);
	g_autofree gchar *path = g_build_filename(dir, "sandboxd.conf", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) v =
	    g_variant_ref_sink(g_variant_new_parsed("{'memory': <uint32 3000>}"));
	g_autoptr(SbxCreateOptions) opts = NULL;

	/* the ranges come from the config */
	g_assert_true(g_file_set_contents(
	    path, "[limits]\nMemoryMaxMiB=2048\n[daemon]\nMaxLifetimeSec=60\n", -1, NULL));
	g_assert_true(sbx_config_load_dir(small, dir, &error));
	g_assert_no_error(error);
	opts = sbx_options_create_parse(v, small, &error);
	g_assert_null(opts);
	g_assert_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT);
	g_assert_cmpstr(error->message, ==, "memory: 3000 MiB is out of range (768-2048)");
	g_remove(path);
	g_rmdir(dir);
}

static SbxExecOptions *
parse_exec(const gchar *text, GError **error)
{
	g_autoptr(GVariant) v = g_variant_ref_sink(g_variant_new_parsed(text));
	return sbx_options_exec_parse(v, error);
}

static void
test_exec_options(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxExecOptions) opts = NULL;
	g_autofree gchar *cwd_max = g_strdup_printf("/%s", g_strnfill(SBX_CWD_MAX - 1, 'd'));
	g_autofree gchar *cwd_over = g_strdup_printf("/%s", g_strnfill(SBX_CWD_MAX, 'd'));
	g_autoptr(GVariant) v_max = NULL;
	g_autoptr(GVariant) v_over = NULL;

	opts = parse_exec("{'env': <{'A': '1'}>, 'cwd': <'/tmp'>}", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(opts->cwd, ==, "/tmp");
	g_assert_cmpstr(g_hash_table_lookup(opts->env, "A"), ==, "1");
	g_clear_pointer(&opts, sbx_options_exec_free);

	opts = parse_exec("@a{sv} {}", &error);
	g_assert_no_error(error);
	g_assert_null(opts->cwd);
	g_clear_pointer(&opts, sbx_options_exec_free);

	opts = parse_exec("{'cwd': <'tmp'>}", &error);
	g_assert_null(opts);
	g_assert_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT);
	g_assert_cmpstr(error->message, ==, "cwd: 'tmp' is not an absolute path");
	g_clear_error(&error);

	opts = parse_exec("{'cwd': <7>}", &error);
	g_assert_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);

	opts = parse_exec("{'bogus': <'root'>}", &error);
	g_assert_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT);
	g_assert_nonnull(strstr(error->message, "unknown option 'bogus' (known: env, cwd, "));
	g_clear_error(&error);

	opts = parse_exec("{'env': <{'A-B': '1'}>}", &error);
	g_assert_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);

	v_max = g_variant_ref_sink(g_variant_new_parsed("{'cwd': <%s>}", cwd_max));
	opts = sbx_options_exec_parse(v_max, &error);
	g_assert_no_error(error);
	g_assert_nonnull(opts);
	g_clear_pointer(&opts, sbx_options_exec_free);
	v_over = g_variant_ref_sink(g_variant_new_parsed("{'cwd': <%s>}", cwd_over));
	opts = sbx_options_exec_parse(v_over, &error);
	g_assert_null(opts);
	g_assert_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT);
	g_assert_nonnull(strstr(error->message, "4097 bytes, at most 4096"));
}

static void
test_argv(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free);
	const gchar *empty[] = {NULL};
	const gchar *empty_name[] = {"", NULL};
	const gchar *ok[] = {"echo", "", "hi", NULL};
	g_autofree gchar *arg_max = g_strnfill(SBX_ARG_MAX, 'a');
	g_autofree gchar *arg_over = g_strnfill(SBX_ARG_MAX + 1, 'a');
	const gchar *long_ok[] = {"echo", arg_max, NULL};
	const gchar *long_bad[] = {"echo", arg_over, NULL};

	g_assert_true(sbx_options_exec_check_argv(ok, &error));
	g_assert_no_error(error);
	g_assert_false(sbx_options_exec_check_argv(empty, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_assert_false(sbx_options_exec_check_argv(NULL, &error));
	g_clear_error(&error);
	g_assert_false(sbx_options_exec_check_argv(empty_name, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_assert_true(sbx_options_exec_check_argv(long_ok, &error));
	g_assert_false(sbx_options_exec_check_argv(long_bad, &error));
	g_assert_nonnull(strstr(error->message, "argument 1 is 32769 bytes, at most 32768"));
	g_clear_error(&error);

	for (guint i = 0; i < SBX_ARGV_MAX; i++)
		g_ptr_array_add(args, g_strdup("x"));
	g_ptr_array_add(args, NULL);
	g_assert_true(sbx_options_exec_check_argv((const gchar *const *)args->pdata, &error));
	g_assert_no_error(error);
	args->pdata[SBX_ARGV_MAX] = g_strdup("x");
	g_ptr_array_add(args, NULL);
	g_assert_false(sbx_options_exec_check_argv((const gchar *const *)args->pdata, &error));
	g_assert_nonnull(strstr(error->message, "4097 arguments, at most 4096"));
}

static void
test_envp_and_size(void)
{
	g_autoptr(GHashTable) sandbox_env = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GHashTable) exec_env = g_hash_table_new(g_str_hash, g_str_equal);
	g_auto(GStrv) envp = NULL;
	g_autoptr(GError) error = NULL;
	const gchar *argv[] = {"x", NULL};
	/* 36 fixed bytes + (4 + 1) for argv + 4 for the one env string's length */
	gsize fixed = 9 * 4 + 5 + 4;
	g_autofree gchar *fits = g_strnfill(SBX_EXEC_REQUEST_MAX - fixed, 'e');
	g_autofree gchar *too_big = g_strnfill(SBX_EXEC_REQUEST_MAX - fixed + 1, 'e');
	const gchar *envp_fits[] = {fits, NULL};
	const gchar *envp_too_big[] = {too_big, NULL};

	g_hash_table_insert(sandbox_env, "A", "sandbox");
	g_hash_table_insert(sandbox_env, "B", "sandbox");
	g_hash_table_insert(exec_env, "B", "exec");
	g_hash_table_insert(exec_env, "C", "exec");
	envp = sbx_options_exec_build_envp(sandbox_env, exec_env);
	g_assert_cmpuint(g_strv_length(envp), ==, 3);
	g_assert_cmpstr(envp[0], ==, "A=sandbox");
	g_assert_cmpstr(envp[1], ==, "B=exec");
	g_assert_cmpstr(envp[2], ==, "C=exec");

	g_assert_true(sbx_options_exec_check_size(argv, envp_fits, NULL, &error));
	g_assert_no_error(error);
	g_assert_false(sbx_options_exec_check_size(argv, envp_too_big, NULL, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_assert_false(sbx_options_exec_check_size(argv, envp_fits, "/", &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT);
}

static void
test_duration(void)
{
	guint64 s = 0;
	g_assert_true(sbx_options_parse_duration("45", &s, NULL));
	g_assert_cmpuint(s, ==, 45);
	g_assert_true(sbx_options_parse_duration("2h", &s, NULL));
	g_assert_cmpuint(s, ==, 7200);
	g_assert_false(sbx_options_parse_duration("+5", &s, NULL));
	g_assert_false(sbx_options_parse_duration("5ms", &s, NULL));
	g_assert_false(sbx_options_parse_duration("h", &s, NULL));
}

int
main(int argc, char **argv)
{
	int rc;
	g_test_init(&argc, &argv, NULL);
	config = sbx_config_new();
	g_test_add_func("/options/create/allow-net", test_allow_net);
	g_test_add_func("/options/create/secrets", test_secrets);
	g_test_add_func("/options/defaults", test_defaults);
	g_test_add_func("/options/memory", test_memory);
	g_test_add_func("/options/vcpus", test_vcpus);
	g_test_add_func("/options/labels", test_labels);
	g_test_add_func("/options/env", test_env);
	g_test_add_func("/options/image", test_image);
	g_test_add_func("/options/timeout", test_timeout);
	g_test_add_func("/options/unknown-and-duplicate", test_unknown_and_duplicate);
	g_test_add_func("/options/config-limits", test_config_limits);
	g_test_add_func("/options/exec-options", test_exec_options);
	g_test_add_func("/options/argv", test_argv);
	g_test_add_func("/options/envp-and-size", test_envp_and_size);
	g_test_add_func("/options/duration", test_duration);
	rc = g_test_run();
	g_object_unref(config);
	return rc;
}
