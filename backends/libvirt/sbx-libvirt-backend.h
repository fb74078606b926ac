/* libvirt hypervisor backend.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "sbx-hypervisor-backend.h"

G_BEGIN_DECLS

#define SBX_TYPE_LIBVIRT_BACKEND (sbx_libvirt_backend_get_type())
G_DECLARE_FINAL_TYPE(SbxLibvirtBackend, sbx_libvirt_backend, SBX, LIBVIRT_BACKEND,
		     SbxHypervisorBackend)

G_END_DECLS
