/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <string.h>

#include "sbx-duration.h"
#include "sbx-error.h"
#include "sbx-text.h"
#include "sbx-options.h"
#include "sbx-config-region.h"

gboolean
sbx_options_invalid(GError **error, const gchar *format, ...)
{
	va_list args;
	g_autofree gchar *msg = NULL;
	va_start(args, format);
	msg = g_strdup_vprintf(format, args);
	va_end(args);
	g_set_error_literal(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT, msg);
	return FALSE;
}

/* any D-Bus integer type is accepted; the value is what is range-checked */
static gboolean
get_integer(const gchar *key, GVariant *value, gint64 *out, GError **error)
{
	const GVariantType *type = g_variant_get_type(value);
	if (g_variant_type_equal(type, G_VARIANT_TYPE_BYTE))
		*out = g_variant_get_byte(value);
	else if (g_variant_type_equal(type, G_VARIANT_TYPE_INT16))
		*out = g_variant_get_int16(value);
	else if (g_variant_type_equal(type, G_VARIANT_TYPE_UINT16))
		*out = g_variant_get_uint16(value);
	else if (g_variant_type_equal(type, G_VARIANT_TYPE_INT32))
		*out = g_variant_get_int32(value);
	else if (g_variant_type_equal(type, G_VARIANT_TYPE_UINT32))
		*out = g_variant_get_uint32(value);
	else if (g_variant_type_equal(type, G_VARIANT_TYPE_INT64))
		*out = g_variant_get_int64(value);
	else if (g_variant_type_equal(type, G_VARIANT_TYPE_UINT64))
		*out = (gint64)MIN(g_variant_get_uint64(value), (guint64)G_MAXINT64);
	else
		return sbx_options_invalid(error,
					   "%s: expected an unsigned integer (u), got type '%s'",
					   key, g_variant_get_type_string(value));
	return TRUE;
}

static gboolean
get_string(const gchar *key, GVariant *value, const gchar **out, GError **error)
{
	if (!g_variant_is_of_type(value, G_VARIANT_TYPE_STRING))
		return sbx_options_invalid(error, "%s: expected a string (s), got type '%s'", key,
					   g_variant_get_type_string(value));
	*out = g_variant_get_string(value, NULL);
	return TRUE;
}

gboolean
sbx_options_env_name_is_valid(const gchar *name)
{
	gsize len = strlen(name);
	if (len == 0 || len > SBX_ENV_NAME_MAX || g_ascii_isdigit(name[0]))
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isalnum(name[i]) && name[i] != '_')
			return FALSE;
	}
	return TRUE;
}

static GHashTable *
parse_env(const gchar *key, GVariant *value, GError **error)
{
	g_autoptr(GHashTable) env = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	GVariantIter iter;
	const gchar *name;
	const gchar *val;
	gsize n;
	gsize total = 0;

	/* the type check must come first: n_children aborts on non-containers */
	if (!g_variant_is_of_type(value, G_VARIANT_TYPE("a{ss}"))) {
		sbx_options_invalid(error,
				    "%s: expected a string dictionary (a{ss}), got type '%s'", key,
				    g_variant_get_type_string(value));
		return NULL;
	}
	n = g_variant_n_children(value);
	if (n > SBX_ENV_MAX) {
		sbx_options_invalid(error,
				    "%s: %" G_GSIZE_FORMAT " variables, at most %u are allowed",
				    key, n, (guint)SBX_ENV_MAX);
		return NULL;
	}
	g_variant_iter_init(&iter, value);
	while (g_variant_iter_next(&iter, "{&s&s}", &name, &val)) {
		if (!sbx_options_env_name_is_valid(name)) {
			sbx_options_invalid(
			    error,
			    "%s: '%.64s' is not a valid variable name (1-%u bytes of A-Z a-z "
			    "0-9 _, not starting with a digit)",
			    key, name, (guint)SBX_ENV_NAME_MAX);
			return NULL;
		}
		if (strlen(val) > SBX_ENV_VALUE_MAX) {
			sbx_options_invalid(error,
					    "%s: value of %s is %" G_GSIZE_FORMAT
					    " bytes, at most %u are allowed",
					    key, name, strlen(val), (guint)SBX_ENV_VALUE_MAX);
			return NULL;
		}
		if (g_hash_table_contains(env, name)) {
			sbx_options_invalid(error, "%s: %s is given more than once", key, name);
			return NULL;
		}
		total += strlen(name) + 1 + strlen(val);
		g_hash_table_insert(env, g_strdup(name), g_strdup(val));
	}
	if (total > SBX_ENV_TOTAL_MAX) {
		sbx_options_invalid(
		    error, "%s: %" G_GSIZE_FORMAT " bytes in total, at most %u are allowed", key,
		    total, (guint)SBX_ENV_TOTAL_MAX);
		return NULL;
	}
	return g_steal_pointer(&env);
}

static GHashTable *
parse_labels(const gchar *key, GVariant *value, GError **error)
{
	g_autoptr(GHashTable) labels =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	GVariantIter iter;
	const gchar *k;
	const gchar *v;
	gsize n;

	if (!g_variant_is_of_type(value, G_VARIANT_TYPE("a{ss}"))) {
		sbx_options_invalid(error,
				    "%s: expected a string dictionary (a{ss}), got type '%s'", key,
				    g_variant_get_type_string(value));
		return NULL;
	}
	n = g_variant_n_children(value);
	if (n > SBX_LABELS_MAX) {
		sbx_options_invalid(error, "%s: %" G_GSIZE_FORMAT " labels, at most %u are allowed",
				    key, n, (guint)SBX_LABELS_MAX);
		return NULL;
	}
	g_variant_iter_init(&iter, value);
	while (g_variant_iter_next(&iter, "{&s&s}", &k, &v)) {
		gsize klen = strlen(k);
		gsize vlen = strlen(v);
		if (klen == 0 || klen > SBX_LABEL_KEY_MAX) {
			sbx_options_invalid(error,
					    "%s: key '%.64s' is %" G_GSIZE_FORMAT
					    " bytes, it must be 1-%u bytes",
					    key, k, klen, (guint)SBX_LABEL_KEY_MAX);
			return NULL;
		}
		if (vlen > SBX_LABEL_VALUE_MAX) {
			sbx_options_invalid(error,
					    "%s: value of '%s' is %" G_GSIZE_FORMAT
					    " bytes, at most %u are allowed",
					    key, k, vlen, (guint)SBX_LABEL_VALUE_MAX);
			return NULL;
		}
		if (sbx_text_has_control_chars(k) || sbx_text_has_control_chars(v)) {
			sbx_options_invalid(error, "%s: '%s' contains control characters", key, k);
			return NULL;
		}
		if (g_hash_table_contains(labels, k)) {
			sbx_options_invalid(error, "%s: '%s' is given more than once", key, k);
			return NULL;
		}
		g_hash_table_insert(labels, g_strdup(k), g_strdup(v));
	}
	return g_steal_pointer(&labels);
}

gboolean
sbx_options_parse_duration(const gchar *text, guint64 *seconds, GError **error)
{
	if (sbx_duration_parse(text, seconds))
		return TRUE;
	return sbx_options_invalid(error, "'%.20s' is not a duration", text);
}

static gboolean
parse_timeout(const gchar *key, GVariant *value, guint max_sec, guint *out, GError **error)
{
	guint64 seconds = 0;

	if (g_variant_is_of_type(value, G_VARIANT_TYPE_STRING)) {
		const gchar *text = g_variant_get_string(value, NULL);
		if (g_strcmp0(text, "session") == 0) {
			*out = 0;
			return TRUE;
		}
		if (!sbx_options_parse_duration(text, &seconds, NULL))
			return sbx_options_invalid(
			    error,
			    "%s: '%.32s' is neither \"session\" nor a duration such as "
			    "90, 30s, 5m or 1h",
			    key, text);
	} else {
		gint64 n = 0;
		if (!get_integer(key, value, &n, NULL))
			return sbx_options_invalid(
			    error,
			    "%s: expected a string (s) such as \"session\" or \"5m\", "
			    "got type '%s'",
			    key, g_variant_get_type_string(value));
		if (n < 0)
			return sbx_options_invalid(
			    error, "%s: %" G_GINT64_FORMAT "s is out of range (1s-%us)", key, n,
			    max_sec);
		seconds = (guint64)n;
	}
	if (seconds < 1 || seconds > max_sec)
		return sbx_options_invalid(error,
					   "%s: %" G_GUINT64_FORMAT "s is out of range (1s-%us)",
					   key, seconds, max_sec);
	*out = (guint)seconds;
	return TRUE;
}

static gboolean
parse_range(const gchar *key, GVariant *value, const gchar *unit, guint min, guint max, guint *out,
	    GError **error)
{
	gint64 n = 0;
	if (!get_integer(key, value, &n, error))
		return FALSE;
	if (n < min || n > max)
		return sbx_options_invalid(error,
					   "%s: %" G_GINT64_FORMAT "%s is out of range (%u-%u)",
					   key, n, unit, min, max);
	*out = (guint)n;
	return TRUE;
}

void
sbx_options_create_free(SbxCreateOptions *opts)
{
	if (opts == NULL)
		return;
	g_clear_pointer(&opts->env, g_hash_table_unref);
	g_clear_pointer(&opts->labels, g_hash_table_unref);
	g_free(opts->image);
	g_free(opts->region);
	g_clear_pointer(&opts->allow_net, sbx_netpol_policy_free);
	g_clear_pointer(&opts->secrets, sbx_netpol_secrets_free);
	g_free(opts);
}

static gboolean
check_once(GHashTable *seen, const gchar *key, GError **error)
{
	if (!g_hash_table_add(seen, (gpointer)key))
		return sbx_options_invalid(error, "%s: given more than once", key);
	return TRUE;
}

SbxCreateOptions *
sbx_options_create_parse(GVariant *options, SbxConfig *config, GError **error)
{
	g_autoptr(SbxCreateOptions) opts = g_new0(SbxCreateOptions, 1);
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
	GVariantIter iter;
	const gchar *key;
	GVariant *value_raw;
	g_autoptr(GVariant) secrets = NULL;

	g_return_val_if_fail(g_variant_is_of_type(options, G_VARIANT_TYPE_VARDICT), NULL);
	g_return_val_if_fail(SBX_IS_CONFIG(config), NULL);

	opts->memory_mib = sbx_config_get_memory_default_mib(config);
	opts->vcpus = sbx_config_get_vcpus_default(config);
	opts->image = g_strdup(sbx_config_get_default_image(config));

	g_variant_iter_init(&iter, options);
	while (g_variant_iter_next(&iter, "{&sv}", &key, &value_raw)) {
		g_autoptr(GVariant) value = value_raw;
		if (!check_once(seen, key, error))
			return NULL;
		if (g_strcmp0(key, "memory") == 0) {
			if (!parse_range(key, value, " MiB", sbx_config_get_memory_min_mib(config),
					 sbx_config_get_memory_max_mib(config), &opts->memory_mib,
					 error))
				return NULL;
		} else if (g_strcmp0(key, "vcpus") == 0) {
			if (!parse_range(key, value, "", 1, sbx_config_get_vcpus_max(config),
					 &opts->vcpus, error))
				return NULL;
		} else if (g_strcmp0(key, "env") == 0) {
			opts->env = parse_env(key, value, error);
			if (opts->env == NULL)
				return NULL;
		} else if (g_strcmp0(key, "labels") == 0) {
			opts->labels = parse_labels(key, value, error);
			if (opts->labels == NULL)
				return NULL;
		} else if (g_strcmp0(key, "image") == 0) {
			const gchar *name = "";
			if (!get_string(key, value, &name, error))
				return NULL;
			if (!sbx_image_name_is_valid(name) ||
			    sbx_config_get_image(config, name) == NULL) {
				g_autofree gchar *known = sbx_config_list_images(config);
				sbx_options_invalid(error, "%s: no image '%.64s' (known: %s)", key,
						    name, known);
				return NULL;
			}
			g_free(opts->image);
			opts->image = g_strdup(name);
		} else if (g_strcmp0(key, "timeout") == 0) {
			if (!parse_timeout(key, value, sbx_config_get_max_lifetime_sec(config),
					   &opts->timeout_sec, error))
				return NULL;
		} else if (g_strcmp0(key, "region") == 0) {
			const gchar *name = "";
			if (!get_string(key, value, &name, error) ||
			    !sbx_config_region_check(config, name, error))
				return NULL;
			g_free(opts->region);
			opts->region = g_strdup(name);
		} else if (g_strcmp0(key, "allow_net") == 0) {
			g_autofree const gchar **hosts = NULL;
			g_autoptr(GError) error_local = NULL;
			if (!g_variant_is_of_type(value, G_VARIANT_TYPE_STRING_ARRAY)) {
				sbx_options_invalid(error, "%s: must be an array of strings (as)",
						    key);
				return NULL;
			}
			hosts = g_variant_get_strv(value, NULL);
			opts->allow_net = sbx_netpol_policy_new(hosts, &error_local);
			if (opts->allow_net == NULL) {
				sbx_options_invalid(error, "%s", error_local->message);
				return NULL;
			}
		} else if (g_strcmp0(key, "secrets") == 0) {
			/* after the loop: it needs allow_net */
			secrets = g_variant_ref(value);
		} else {
			sbx_options_invalid(
			    error,
			    "unknown option '%.64s' (known: memory, vcpus, env, labels, "
			    "image, timeout, region, allow_net, secrets)",
			    key);
			return NULL;
		}
	}
	if (secrets != NULL && g_variant_n_children(secrets) > 0) {
		g_autoptr(GError) error_local = NULL;
		opts->secrets = sbx_netpol_secrets_new(secrets, opts->allow_net, &error_local);
		if (opts->secrets == NULL) {
			sbx_options_invalid(error, "%s", error_local->message);
			return NULL;
		}
	}
	if (opts->env == NULL)
		opts->env = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	if (opts->labels == NULL)
		opts->labels = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	/* the guest's env holds the placeholders, never the values */
	if (opts->secrets != NULL)
		sbx_netpol_secrets_add_env(opts->secrets, opts->env);
	return g_steal_pointer(&opts);
}

void
sbx_options_exec_free(SbxExecOptions *opts)
{
	if (opts == NULL)
		return;
	g_clear_pointer(&opts->env, g_hash_table_unref);
	g_free(opts->cwd);
	g_free(opts->user);
	g_free(opts);
}

SbxExecOptions *
sbx_options_exec_parse(GVariant *options, GError **error)
{
	g_autoptr(SbxExecOptions) opts = g_new0(SbxExecOptions, 1);
	opts->uid = opts->gid = -1;
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
	GVariantIter iter;
	const gchar *key;
	GVariant *value_raw;

	g_return_val_if_fail(g_variant_is_of_type(options, G_VARIANT_TYPE_VARDICT), NULL);

	g_variant_iter_init(&iter, options);
	while (g_variant_iter_next(&iter, "{&sv}", &key, &value_raw)) {
		g_autoptr(GVariant) value = value_raw;
		if (!check_once(seen, key, error))
			return NULL;
		if (g_strcmp0(key, "env") == 0) {
			opts->env = parse_env(key, value, error);
			if (opts->env == NULL)
				return NULL;
		} else if (g_strcmp0(key, "cwd") == 0) {
			const gchar *cwd = "";
			if (!get_string(key, value, &cwd, error))
				return NULL;
			if (cwd[0] != '/') {
				sbx_options_invalid(error, "%s: '%.64s' is not an absolute path",
						    key, cwd);
				return NULL;
			}
			if (strlen(cwd) > SBX_CWD_MAX) {
				sbx_options_invalid(error,
						    "%s: the path is %" G_GSIZE_FORMAT
						    " bytes, at most %u are allowed",
						    key, strlen(cwd), (guint)SBX_CWD_MAX);
				return NULL;
			}
			opts->cwd = g_strdup(cwd);
		} else if (!sbx_spawn_options_parse_key(opts, key, value, error)) {
			return NULL;
		}
	}
	if (!sbx_spawn_options_check(opts, error))
		return NULL;
	if (opts->env == NULL)
		opts->env = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	return g_steal_pointer(&opts);
}

gboolean
sbx_options_exec_check_argv(const gchar *const *argv, GError **error)
{
	guint argc;

	if (argv == NULL || argv[0] == NULL)
		return sbx_options_invalid(error, "argv: empty; give at least the program to run");
	argc = g_strv_length((gchar **)argv);
	if (argc > SBX_ARGV_MAX)
		return sbx_options_invalid(error, "argv: %u arguments, at most %u are allowed",
					   argc, (guint)SBX_ARGV_MAX);
	if (argv[0][0] == '\0')
		return sbx_options_invalid(error, "argv: the program name is empty");
	for (guint i = 0; i < argc; i++) {
		gsize len = strlen(argv[i]);
		if (len > SBX_ARG_MAX)
			return sbx_options_invalid(error,
						   "argv: argument %u is %" G_GSIZE_FORMAT
						   " bytes, at most %u are allowed",
						   i, len, (guint)SBX_ARG_MAX);
	}
	return TRUE;
}

static gint
str_cmp_cb(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const gchar *const *)a, *(const gchar *const *)b);
}

gchar **
sbx_options_exec_build_envp(GHashTable *sandbox_env, GHashTable *exec_env)
{
	g_autoptr(GHashTable) merged = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GPtrArray) envp = g_ptr_array_new();
	GHashTableIter iter;
	gpointer k, v;

	if (sandbox_env != NULL) {
		g_hash_table_iter_init(&iter, sandbox_env);
		while (g_hash_table_iter_next(&iter, &k, &v))
			g_hash_table_insert(merged, k, v);
	}
	if (exec_env != NULL) {
		g_hash_table_iter_init(&iter, exec_env);
		while (g_hash_table_iter_next(&iter, &k, &v))
			g_hash_table_insert(merged, k, v);
	}
	g_hash_table_iter_init(&iter, merged);
	while (g_hash_table_iter_next(&iter, &k, &v))
		g_ptr_array_add(envp, g_strconcat(k, "=", v, NULL));
	g_ptr_array_sort(envp, str_cmp_cb);
	g_ptr_array_add(envp, NULL);
	return (gchar **)g_ptr_array_free(g_steal_pointer(&envp), FALSE);
}

gboolean
sbx_options_exec_check_size(const gchar *const *argv, const gchar *const *envp, const gchar *cwd,
			    GError **error)
{
	/* flags, two windows, uid, gid, timeout, argc, envc, cwd length */
	gsize total = 9 * 4;
	for (guint i = 0; argv != NULL && argv[i] != NULL; i++)
		total += 4 + strlen(argv[i]);
	for (guint i = 0; envp != NULL && envp[i] != NULL; i++)
		total += 4 + strlen(envp[i]);
	if (cwd != NULL)
		total += strlen(cwd);
	if (total > SBX_EXEC_REQUEST_MAX)
		return sbx_options_invalid(error,
					   "argv, env and cwd take %" G_GSIZE_FORMAT
					   " bytes together, at most %u fit in one request",
					   total, (guint)SBX_EXEC_REQUEST_MAX);
	return TRUE;
}

GVariant *
sbx_options_string_table_to_variant(GHashTable *table)
{
	g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a{ss}"));
	g_autoptr(GPtrArray) keys = g_ptr_array_new();
	GHashTableIter iter;
	gpointer k;

	if (table != NULL) {
		g_hash_table_iter_init(&iter, table);
		while (g_hash_table_iter_next(&iter, &k, NULL))
			g_ptr_array_add(keys, k);
	}
	g_ptr_array_sort(keys, str_cmp_cb);
	for (guint i = 0; i < keys->len; i++) {
		const gchar *key = g_ptr_array_index(keys, i);
		g_variant_builder_add(&builder, "{ss}", key, g_hash_table_lookup(table, key));
	}
	return g_variant_builder_end(&builder);
}
