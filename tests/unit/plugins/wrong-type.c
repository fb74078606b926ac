/* a "hypervisor" plugin whose type is a plain GObject
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "sbx-plugin.h"

static GType
wrong_type_get_type(void)
{
	return G_TYPE_OBJECT;
}

SBX_PLUGIN_DEFINE(SBX_PLUGIN_KIND_HYPERVISOR, "wrong-type", wrong_type_get_type)
