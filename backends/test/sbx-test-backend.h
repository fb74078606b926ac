/* in-memory hypervisor backend for fast core tests: the "vm" is the agent
 * binary running on the host in --listen mode.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "sbx-hypervisor-backend.h"

G_BEGIN_DECLS

#define SBX_TYPE_TEST_BACKEND (sbx_test_backend_get_type())
G_DECLARE_FINAL_TYPE(SbxTestBackend, sbx_test_backend, SBX, TEST_BACKEND, SbxHypervisorBackend)

G_END_DECLS
