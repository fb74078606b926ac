/* cloud-hypervisor backend: one VMM process per sandbox, driven over its REST API.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "sbx-hypervisor-backend.h"

G_BEGIN_DECLS

#define SBX_TYPE_CH_BACKEND (sbx_ch_backend_get_type())
G_DECLARE_FINAL_TYPE(SbxChBackend, sbx_ch_backend, SBX, CH_BACKEND, SbxHypervisorBackend)

G_END_DECLS
