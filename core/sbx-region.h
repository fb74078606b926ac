/* regions: one hypervisor backend instance each, from [region NAME]
 * sections; without any, one implicit region "local" from [daemon] Backend.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "sbx-config.h"
#include "sbx-hypervisor-backend.h"
#include "sbx-plugin-loader.h"

G_BEGIN_DECLS

#define SBX_REGION_IMPLICIT "local"
#define SBX_REGION_SECTION_PREFIX "region "

typedef struct {
	gchar *name;
	gchar *backend_name; /* the plugin */
	SbxHypervisorBackend *backend;
} SbxRegion;

void sbx_region_free(SbxRegion *region);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxRegion, sbx_region_free)

/* the region names the config defines, sorted ("local" when it defines none) */
GPtrArray *sbx_config_get_region_names(SbxConfig *config);
/* [daemon] DefaultRegion, else the only region; NULL (with an error naming
 * DefaultRegion) when that is unset and there are several, or names none */
gchar *sbx_config_get_default_region(SbxConfig *config, GError **error);
/* for the CreateSandbox "region" option: UnknownRegion listing the known ones */
gboolean sbx_config_check_region(SbxConfig *config, const gchar *name, GError **error);

/* makes and configures one backend per region (SbxRegion, sorted by name):
 * a region's section overrides the keys of its backend's own section */
GPtrArray *sbx_regions_setup(SbxPluginLoader *loader, SbxConfig *config, const gchar *plugin_dir,
			     GError **error);
SbxRegion *sbx_regions_lookup(GPtrArray *regions, const gchar *name);

G_END_DECLS
