/* qcow2 volume backend: one qcow2 file per volume in a local folder.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "sbx-volume-backend.h"

G_BEGIN_DECLS

#define SBX_TYPE_QCOW2_BACKEND (sbx_qcow2_backend_get_type())
G_DECLARE_FINAL_TYPE(SbxQcow2Backend, sbx_qcow2_backend, SBX, QCOW2_BACKEND, SbxVolumeBackend)

G_END_DECLS
