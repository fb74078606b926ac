/* a plugin built against another ABI version: its get_type must never run
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdlib.h>

#include "sbx-plugin.h"

static GType
bad_abi_get_type(void)
{
	/* the loader checks the ABI before calling this */
	abort();
}

G_MODULE_EXPORT const SbxPluginInfo *sbx_plugin_query(void);
G_MODULE_EXPORT const SbxPluginInfo *
sbx_plugin_query(void)
{
	static const SbxPluginInfo info = {SBX_PLUGIN_ABI_VERSION + 41, sizeof(SbxPluginInfo),
					   SBX_PLUGIN_KIND_HYPERVISOR, "bad-abi", bad_abi_get_type};
	return &info;
}
