/* libvirt secrets holding the cephx keys of a vm's rbd disks.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "sbx-vm-spec.h"

G_BEGIN_DECLS

/* defines one ephemeral, private secret per rbd disk of @spec (usage
 * "sandboxd/VMID/SERIAL") and returns their uuids, NULL-terminated and aligned
 * with spec->disks ("" for other disks); blocks */
gchar **sbx_libvirt_secret_define_all(virConnectPtr conn, const SbxVmSpec *spec, GError **error);
/* undefines every secret of vm @id; blocks */
void sbx_libvirt_secret_undefine_all(virConnectPtr conn, const gchar *id);

G_END_DECLS
