/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <string.h>

#include "sbx-error.h"
#include "sbx-config-region.h"
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
sbx_region_setup_all(SbxPluginLoader *loader, SbxConfig *config, const gchar *plugin_dir,
		     GError **error)
{
	g_autoptr(GPtrArray) regions =
	    g_ptr_array_new_with_free_func((GDestroyNotify)sbx_region_free);
	g_autoptr(GPtrArray) names = sbx_config_region_get_names(config);
	GKeyFile *merged = sbx_config_get_keyfile(config);
	g_autofree gchar *default_region = sbx_config_region_get_default(config, error);

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
sbx_region_lookup(GPtrArray *regions, const gchar *name)
{
	for (guint i = 0; regions != NULL && i < regions->len; i++) {
		SbxRegion *region = g_ptr_array_index(regions, i);
		if (g_strcmp0(region->name, name) == 0)
			return region;
	}
	return NULL;
}
