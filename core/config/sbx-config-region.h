/* regions as the config names them: [region NAME] sections, else one implicit
 * region "local"; the backends themselves are made in daemon/sbx-region.c.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "sbx-config.h"

G_BEGIN_DECLS

#define SBX_REGION_IMPLICIT "local"
#define SBX_REGION_SECTION_PREFIX "region "

/* the region names the config defines, sorted ("local" when it defines none) */
GPtrArray *sbx_config_region_get_names(SbxConfig *config);
/* [daemon] DefaultRegion, else the only region; NULL (with an error naming
 * DefaultRegion) when that is unset and there are several, or names none */
gchar *sbx_config_region_get_default(SbxConfig *config, GError **error);
/* for the CreateSandbox "region" option: UnknownRegion listing the known ones */
gboolean sbx_config_region_check(SbxConfig *config, const gchar *name, GError **error);

G_END_DECLS
