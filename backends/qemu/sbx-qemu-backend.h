/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "sbx-hypervisor-backend.h"

G_BEGIN_DECLS

#define SBX_TYPE_QEMU_BACKEND (sbx_qemu_backend_get_type())
G_DECLARE_FINAL_TYPE(SbxQemuBackend, sbx_qemu_backend, SBX, QEMU_BACKEND, SbxHypervisorBackend)

G_END_DECLS
