/* the process options of Exec and Spawn (sbx_options_exec_parse() handles
 * env and cwd): strict types, bounds and combinations.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <string.h>

#include "sbx-error.h"
#include "sbx-options.h"

static gboolean
get_bool(const gchar *key, GVariant *value, gboolean *out, GError **error)
{
	if (!g_variant_is_of_type(value, G_VARIANT_TYPE_BOOLEAN))
		return sbx_options_invalid(error, "%s: expected a boolean (b), got type '%s'", key,
					   g_variant_get_type_string(value));
	*out = g_variant_get_boolean(value);
	return TRUE;
}

/* u, or any unsigned/non-negative integer type */
static gboolean
get_uint(const gchar *key, GVariant *value, guint64 max, guint64 *out, GError **error)
{
	const GVariantType *type = g_variant_get_type(value);
	gint64 v;
	if (g_variant_type_equal(type, G_VARIANT_TYPE_UINT32))
		v = g_variant_get_uint32(value);
	else if (g_variant_type_equal(type, G_VARIANT_TYPE_INT32))
		v = g_variant_get_int32(value);
	else if (g_variant_type_equal(type, G_VARIANT_TYPE_UINT64))
		v = (gint64)MIN(g_variant_get_uint64(value), (guint64)G_MAXINT64);
	else if (g_variant_type_equal(type, G_VARIANT_TYPE_INT64))
		v = g_variant_get_int64(value);
	else if (g_variant_type_equal(type, G_VARIANT_TYPE_UINT16))
		v = g_variant_get_uint16(value);
	else if (g_variant_type_equal(type, G_VARIANT_TYPE_BYTE))
		v = g_variant_get_byte(value);
	else
		return sbx_options_invalid(error,
					   "%s: expected an unsigned integer (u), got type '%s'",
					   key, g_variant_get_type_string(value));
	if (v < 0 || (guint64)v > max)
		return sbx_options_invalid(
		    error, "%s: %" G_GINT64_FORMAT " is out of range (0-%" G_GUINT64_FORMAT ")",
		    key, v, max);
	*out = (guint64)v;
	return TRUE;
}

static gboolean
get_mode(const gchar *key, GVariant *value, gboolean merge_ok, SbxStdioMode *out, GError **error)
{
	const gchar *s;
	if (!g_variant_is_of_type(value, G_VARIANT_TYPE_STRING))
		return sbx_options_invalid(error, "%s: expected a string (s), got type '%s'", key,
					   g_variant_get_type_string(value));
	s = g_variant_get_string(value, NULL);
	if (g_strcmp0(s, "piped") == 0)
		*out = SBX_STDIO_PIPED;
	else if (g_strcmp0(s, "null") == 0)
		*out = SBX_STDIO_NULL;
	else if (merge_ok && g_strcmp0(s, "merged") == 0)
		*out = SBX_STDIO_MERGED;
	else
		return sbx_options_invalid(error, "%s: '%.32s' is not one of %s", key, s,
					   merge_ok ? "piped, null, merged" : "piped, null");
	return TRUE;
}

static gboolean
user_is_valid(const gchar *user)
{
	gsize len = strlen(user);
	if (len == 0 || len > SBX_USER_NAME_MAX || user[0] == '-')
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isalnum(user[i]) && strchr("._-$", user[i]) == NULL)
			return FALSE;
	}
	return TRUE;
}

gboolean
sbx_spawn_options_parse_timeout_ms(const gchar *key, GVariant *value, guint *out, GError **error)
{
	guint64 ms = 0;
	if (g_variant_is_of_type(value, G_VARIANT_TYPE_STRING)) {
		const gchar *s = g_variant_get_string(value, NULL);
		gsize len = strlen(s);
		g_autoptr(GError) local = NULL;
		if (len > 2 && len < 32 && g_str_has_suffix(s, "ms")) {
			g_autofree gchar *num = g_strndup(s, len - 2);
			if (!g_ascii_string_to_unsigned(num, 10, 0, G_MAXUINT64, &ms, NULL))
				return sbx_options_invalid(error, "%s: '%.32s' is not a duration",
							   key, s);
		} else {
			guint64 sec = 0;
			if (!sbx_options_parse_duration(s, &sec, &local))
				return sbx_options_invalid(error, "%s: %s", key, local->message);
			ms = sec > G_MAXUINT64 / 1000 ? G_MAXUINT64 : sec * 1000;
		}
	} else if (!get_uint(key, value, G_MAXUINT64, &ms, error)) {
		return FALSE;
	}
	if (ms == 0 || ms > SBX_EXEC_TIMEOUT_MAX_MS)
		return sbx_options_invalid(error, "%s: must be between 1 ms and %u days", key,
					   SBX_EXEC_TIMEOUT_MAX_MS / (24u * 3600u * 1000u));
	*out = (guint)ms;
	return TRUE;
}

gboolean
sbx_spawn_options_parse_key(SbxExecOptions *opts, const gchar *key, GVariant *value, GError **error)
{
	guint64 v = 0;

	if (g_strcmp0(key, "clear_env") == 0)
		return get_bool(key, value, &opts->clear_env, error);
	if (g_strcmp0(key, "detach") == 0)
		return get_bool(key, value, &opts->detach, error);
	if (g_strcmp0(key, "pty") == 0)
		return get_bool(key, value, &opts->pty, error);
	if (g_strcmp0(key, "uid") == 0 || g_strcmp0(key, "gid") == 0) {
		/* -1 means "unset" on the wire: the largest id is reserved */
		if (!get_uint(key, value, G_MAXINT32 - 1, &v, error))
			return FALSE;
		if (key[0] == 'u')
			opts->uid = (gint)v;
		else
			opts->gid = (gint)v;
		return TRUE;
	}
	if (g_strcmp0(key, "user") == 0) {
		const gchar *user;
		if (!g_variant_is_of_type(value, G_VARIANT_TYPE_STRING))
			return sbx_options_invalid(error,
						   "%s: expected a string (s), got type '%s'", key,
						   g_variant_get_type_string(value));
		user = g_variant_get_string(value, NULL);
		if (!user_is_valid(user))
			return sbx_options_invalid(
			    error, "%s: '%.64s' is not a user name (1-%u of A-Z a-z 0-9 . _ - $)",
			    key, user, (guint)SBX_USER_NAME_MAX);
		opts->user = g_strdup(user);
		return TRUE;
	}
	if (g_strcmp0(key, "stdin") == 0)
		return get_mode(key, value, FALSE, &opts->stdio[0], error);
	if (g_strcmp0(key, "stdout") == 0)
		return get_mode(key, value, FALSE, &opts->stdio[1], error);
	if (g_strcmp0(key, "stderr") == 0)
		return get_mode(key, value, TRUE, &opts->stdio[2], error);
	if (g_strcmp0(key, "timeout") == 0)
		return sbx_spawn_options_parse_timeout_ms(key, value, &opts->timeout_ms, error);
	if (g_strcmp0(key, "rows") == 0 || g_strcmp0(key, "cols") == 0) {
		if (!get_uint(key, value, 65535, &v, error))
			return FALSE;
		if (v == 0)
			return sbx_options_invalid(error, "%s: must be 1-65535", key);
		if (key[0] == 'r')
			opts->rows = (guint)v;
		else
			opts->cols = (guint)v;
		return TRUE;
	}
	return sbx_options_invalid(
	    error,
	    "unknown option '%.64s' (known: env, cwd, clear_env, uid, gid, user, stdin, "
	    "stdout, stderr, timeout, detach, pty, rows, cols)",
	    key);
}

gboolean
sbx_spawn_options_check(SbxExecOptions *opts, GError **error)
{
	if (opts->user != NULL && (opts->uid >= 0 || opts->gid >= 0))
		return sbx_options_invalid(error, "user: give either user or uid/gid, not both");
	if (opts->gid >= 0 && opts->uid < 0)
		return sbx_options_invalid(error, "gid: needs uid");
	if (opts->uid >= 0 && opts->gid < 0)
		opts->gid = opts->uid;
	if ((opts->rows != 0 || opts->cols != 0) && !opts->pty)
		return sbx_options_invalid(error, "rows, cols: only with pty");
	if (opts->pty && opts->stdio[1] == SBX_STDIO_NULL)
		return sbx_options_invalid(error,
					   "pty: the terminal's output needs stdout \"piped\"");
	if (opts->pty && opts->stdio[2] == SBX_STDIO_PIPED)
		opts->stdio[2] = SBX_STDIO_MERGED;
	return TRUE;
}
