/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <string.h>

#include "sbx-config-region.h"
#include "sbx-error.h"

static gint
str_cmp_cb(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const gchar *const *)a, *(const gchar *const *)b);
}

GPtrArray *
sbx_config_region_get_names(SbxConfig *config)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	g_auto(GStrv) groups = g_key_file_get_groups(sbx_config_get_keyfile(config), NULL);

	for (guint i = 0; groups != NULL && groups[i] != NULL; i++) {
		if (g_str_has_prefix(groups[i], SBX_REGION_SECTION_PREFIX))
			g_ptr_array_add(names,
					g_strdup(groups[i] + strlen(SBX_REGION_SECTION_PREFIX)));
	}
	if (names->len == 0)
		g_ptr_array_add(names, g_strdup(SBX_REGION_IMPLICIT));
	g_ptr_array_sort(names, str_cmp_cb);
	return names;
}

static gchar *
join_names(GPtrArray *names)
{
	g_autoptr(GString) str = g_string_new(NULL);
	for (guint i = 0; i < names->len; i++) {
		if (i > 0)
			g_string_append(str, ", ");
		g_string_append(str, g_ptr_array_index(names, i));
	}
	return g_string_free(g_steal_pointer(&str), FALSE);
}

static gboolean
names_contain(GPtrArray *names, const gchar *name)
{
	for (guint i = 0; i < names->len; i++) {
		if (g_strcmp0(g_ptr_array_index(names, i), name) == 0)
			return TRUE;
	}
	return FALSE;
}

gchar *
sbx_config_region_get_default(SbxConfig *config, GError **error)
{
	g_autoptr(GPtrArray) names = sbx_config_region_get_names(config);
	const gchar *wanted = sbx_config_get_string(config, "daemon", "DefaultRegion");

	if (wanted != NULL && wanted[0] != '\0') {
		if (!names_contain(names, wanted)) {
			g_autofree gchar *known = join_names(names);
			g_set_error(error, SBX_ERROR, SBX_ERROR_CONFIG,
				    "%s: [daemon] DefaultRegion: no region '%s' (known: %s)",
				    sbx_config_get_origin(config, "daemon", "DefaultRegion"),
				    wanted, known);
			return NULL;
		}
		return g_strdup(wanted);
	}
	if (names->len == 1)
		return g_strdup(g_ptr_array_index(names, 0));
	{
		g_autofree gchar *known = join_names(names);
		g_set_error(error, SBX_ERROR, SBX_ERROR_CONFIG,
			    "[daemon] DefaultRegion: must be set when there are several regions "
			    "(%s)",
			    known);
	}
	return NULL;
}

gboolean
sbx_config_region_check(SbxConfig *config, const gchar *name, GError **error)
{
	g_autoptr(GPtrArray) names = sbx_config_region_get_names(config);
	g_autofree gchar *known = NULL;

	if (names_contain(names, name))
		return TRUE;
	known = join_names(names);
	g_set_error(error, SBX_ERROR, SBX_ERROR_UNKNOWN_REGION,
		    "region: no region '%.64s' (known: %s)", name, known);
	return FALSE;
}
