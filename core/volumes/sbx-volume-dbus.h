/* the D-Bus side of volumes.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "sbx-dbus-generated.h"
#include "sbx-volume-manager.h"

G_BEGIN_DECLS

/* CreateVolume, ListVolumes, GetVolume on @iface */
void sbx_volume_dbus_connect_manager(SbxVolumeManager *self, SbxDBusManager1 *iface);

G_END_DECLS
