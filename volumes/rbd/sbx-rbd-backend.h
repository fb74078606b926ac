/* rbd volume backend: Ceph RBD images through librbd.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "sbx-volume-backend.h"

G_BEGIN_DECLS

#define SBX_TYPE_RBD_BACKEND (sbx_rbd_backend_get_type())
G_DECLARE_FINAL_TYPE(SbxRbdBackend, sbx_rbd_backend, SBX, RBD_BACKEND, SbxVolumeBackend)

G_END_DECLS
