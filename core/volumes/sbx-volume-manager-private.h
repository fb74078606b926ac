/* SbxVolumeManager's insides, shared by sbx-volume-manager.c and sbx-volume-ops.c.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "sbx-volume-manager.h"

struct _SbxVolumeManager {
	GObject parent_instance;
	SbxConfig *config;
	GDBusObjectManagerServer *object_manager;
	GHashTable *backends;	   /* name -> SbxVolumeBackend */
	GHashTable *volumes;	   /* id -> SbxVolume */
	GHashTable *pending_names; /* "UID/NAME" being created -> NULL */
};

/* exports @volume's object and connects its method handlers */
void sbx_volume_dbus_export(SbxVolumeManager *self, SbxVolume *volume);
