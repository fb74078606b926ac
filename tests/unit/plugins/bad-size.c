/* a plugin whose info struct has another size than ours
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdlib.h>

#include "sbx-plugin.h"

static GType
bad_size_get_type(void)
{
	abort();
}

G_MODULE_EXPORT const SbxPluginInfo *sbx_plugin_query(void);
G_MODULE_EXPORT const SbxPluginInfo *
sbx_plugin_query(void)
{
	static const SbxPluginInfo info = {SBX_PLUGIN_ABI_VERSION, sizeof(SbxPluginInfo) + 8,
					   SBX_PLUGIN_KIND_HYPERVISOR, "bad-size",
					   bad_size_get_type};
	return &info;
}
