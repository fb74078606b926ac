/* a minimal, correct hypervisor plugin for the loader tests
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "sbx-hypervisor-backend.h"
#include "sbx-plugin.h"

#ifndef GOOD_PLUGIN_NAME
#define GOOD_PLUGIN_NAME "good"
#endif

#define SBX_TYPE_GOOD_BACKEND (sbx_good_backend_get_type())
G_DECLARE_FINAL_TYPE(SbxGoodBackend, sbx_good_backend, SBX, GOOD_BACKEND, SbxHypervisorBackend)

struct _SbxGoodBackend {
	SbxHypervisorBackend parent_instance;
};

G_DEFINE_TYPE(SbxGoodBackend, sbx_good_backend, SBX_TYPE_HYPERVISOR_BACKEND)

static const SbxConfigKey good_keys[] = {
    {"Level", SBX_CONFIG_UINT, 1, 9},
    {NULL},
};

static void
sbx_good_backend_class_init(SbxGoodBackendClass *klass)
{
	SBX_HYPERVISOR_BACKEND_CLASS(klass)->config_keys = good_keys;
}

static void
sbx_good_backend_init(SbxGoodBackend *self)
{
}

SBX_PLUGIN_DEFINE(SBX_PLUGIN_KIND_HYPERVISOR, GOOD_PLUGIN_NAME, sbx_good_backend_get_type)
