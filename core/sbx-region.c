/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <string.h>

#include "sbx-error.h"
#include "sbx-region.h"

void
sbx_region_free(SbxRegion *region)
{
	if (region == NULL)
		return;
	g_free(region->name);
	g_free(region->backend_name);
	g_clear_object(&region->backend);
	g_free(region);
}

static gint
str_cmp_cb(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const gchar *const *)a, *(const gchar *const *)b);
}

GPtrArray *
sbx_config_get_region_names(SbxConfig *config)
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
sbx_config_get_default_region(SbxConfig *config, GError **error)
{
	g_autoptr(GPtrArray) names = sbx_config_get_region_names(config);
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
sbx_config_check_region(SbxConfig *config, const gchar *name, GError **error)
{
	g_autoptr(GPtrArray) names = sbx_config_get_region_names(config);
	g_autofree gchar *known = NULL;

	if (names_contain(names, name))
		return TRUE;
	known = join_names(names);
	g_set_error(error, SBX_ERROR, SBX_ERROR_UNKNOWN_REGION,
		    "region: no region '%.64s' (known: %s)", name, known);
	return FALSE;
}

/* the backend's own section, then the region's keys on top */
static GKeyFile *
region_keyfile(GKeyFile *merged, const gchar *backend_name, const gchar *group)
{
	GKeyFile *kf = g_key_file_new();
	const gchar *groups[] = {backend_name, group};

	for (guint g = 0; g < G_N_ELEMENTS(groups); g++) {
		g_auto(GStrv) keys = g_key_file_get_keys(merged, groups[g], NULL, NULL);
		for (guint i = 0; keys != NULL && keys[i] != NULL; i++) {
			g_autofree gchar *value =
			    g_key_file_get_string(merged, groups[g], keys[i], NULL);
			if (value != NULL && g_strcmp0(keys[i], "Backend") != 0)
				g_key_file_set_string(kf, group, keys[i], value);
		}
	}
	return kf;
}

static SbxRegion *
setup_one(SbxPluginLoader *loader, SbxConfig *config, const gchar *plugin_dir, const gchar *name,
	  const gchar *backend_name, const gchar *group, GError **error)
{
	const SbxPlugin *plugin =
	    sbx_plugin_loader_lookup(loader, SBX_PLUGIN_KIND_HYPERVISOR, backend_name);
	g_autoptr(SbxRegion) region = g_new0(SbxRegion, 1);
	g_autoptr(GKeyFile) kf = NULL;

	if (plugin == NULL) {
		g_autofree gchar *known =
		    sbx_plugin_loader_list_names(loader, SBX_PLUGIN_KIND_HYPERVISOR);
		const gchar *key_section = group != NULL ? group : "daemon";
		g_set_error(error, SBX_ERROR, SBX_ERROR_CONFIG,
			    "%s: [%s] Backend: no hypervisor plugin '%s' in %s (found: %s)",
			    sbx_config_get_origin(config, key_section, "Backend"), key_section,
			    backend_name, plugin_dir, known);
		return NULL;
	}
	region->name = g_strdup(name);
	region->backend_name = g_strdup(backend_name);
	region->backend = g_object_new(plugin->type, NULL);
	if (group == NULL) {
		/* the implicit region: exactly what a single-backend daemon did */
		if (!sbx_hypervisor_backend_configure(
			region->backend, sbx_config_get_keyfile(config), backend_name, error)) {
			g_prefix_error(error, "backend %s (%s): ", backend_name, plugin->filename);
			return NULL;
		}
		return g_steal_pointer(&region);
	}
	kf = region_keyfile(sbx_config_get_keyfile(config), backend_name, group);
	if (!sbx_hypervisor_backend_configure(region->backend, kf, group, error)) {
		g_prefix_error(error, "region %s: backend %s (%s): ", name, backend_name,
			       plugin->filename);
		return NULL;
	}
	return g_steal_pointer(&region);
}

GPtrArray *
sbx_regions_setup(SbxPluginLoader *loader, SbxConfig *config, const gchar *plugin_dir,
		  GError **error)
{
	g_autoptr(GPtrArray) regions =
	    g_ptr_array_new_with_free_func((GDestroyNotify)sbx_region_free);
	g_autoptr(GPtrArray) names = sbx_config_get_region_names(config);
	GKeyFile *merged = sbx_config_get_keyfile(config);
	g_autofree gchar *default_region = sbx_config_get_default_region(config, error);

	if (default_region == NULL)
		return NULL;
	for (guint i = 0; i < names->len; i++) {
		const gchar *name = g_ptr_array_index(names, i);
		g_autofree gchar *group = g_strconcat(SBX_REGION_SECTION_PREFIX, name, NULL);
		SbxRegion *region;

		if (!g_key_file_has_group(merged, group)) {
			region = setup_one(loader, config, plugin_dir, name,
					   sbx_config_get_backend(config), NULL, error);
		} else {
			g_autofree gchar *backend =
			    g_key_file_get_string(merged, group, "Backend", NULL);
			region = setup_one(loader, config, plugin_dir, name, backend, group, error);
		}
		if (region == NULL)
			return NULL;
		g_ptr_array_add(regions, region);
	}
	return g_steal_pointer(&regions);
}

SbxRegion *
sbx_regions_lookup(GPtrArray *regions, const gchar *name)
{
	for (guint i = 0; regions != NULL && i < regions->len; i++) {
		SbxRegion *region = g_ptr_array_index(regions, i);
		if (g_strcmp0(region->name, name) == 0)
			return region;
	}
	return NULL;
}
