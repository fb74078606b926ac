/* regions: one hypervisor backend instance each, from [region NAME]
 * sections; without any, one implicit region "local" from [daemon] Backend.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "sbx-config-region.h"
#include "sbx-config.h"
#include "sbx-hypervisor-backend.h"
#include "sbx-plugin-loader.h"

G_BEGIN_DECLS

typedef struct {
	gchar *name;
	gchar *backend_name; /* the plugin */
	SbxHypervisorBackend *backend;
} SbxRegion;

void sbx_region_free(SbxRegion *region);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxRegion, sbx_region_free)

/* makes and configures one backend per region (SbxRegion, sorted by name):
 * a region's section overrides the keys of its backend's own section */
GPtrArray *sbx_region_setup_all(SbxPluginLoader *loader, SbxConfig *config, const gchar *plugin_dir,
				GError **error);
SbxRegion *sbx_region_lookup(GPtrArray *regions, const gchar *name);

G_END_DECLS
