/* one durable volume or snapshot: what the core knows of it, and its D-Bus object.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "sbx-dbus-generated.h"
#include "sbx-volume-backend.h"

G_BEGIN_DECLS

#define SBX_VOLUME_PATH_PREFIX "/org/sandboxd/Volume1/"
#define SBX_VOLUME_NAME_MAX 63
#define SBX_VOLUME_REGION_MAX 63
#define SBX_VOLUME_ID_RANDOM_LEN 13

/* attributes the core stores with every volume (sbx_volume_backend_set_attributes) */
#define SBX_VOLUME_ATTR_NAME "name"
#define SBX_VOLUME_ATTR_OWNER "owner"
#define SBX_VOLUME_ATTR_REGION "region"
#define SBX_VOLUME_ATTR_LABELS "labels"

#define SBX_TYPE_VOLUME (sbx_volume_get_type())
G_DECLARE_FINAL_TYPE(SbxVolume, sbx_volume, SBX, VOLUME, GObject)

/* "vol" or "snp" + 13 random [a-z0-9] */
gchar *sbx_volume_make_id(gboolean snapshot);
/* 1-63 of [A-Za-z0-9._-], not starting with '.' */
gboolean sbx_volume_name_is_valid(const gchar *name);

/* the attributes to store for a new volume */
GHashTable *sbx_volume_make_attributes(const gchar *name, guint owner, const gchar *region,
				       GHashTable *labels);

/* from what the backend listed; %NULL (and a debug message) for an entry the
 * core did not make (no name or owner attribute) */
SbxVolume *sbx_volume_new_from_info(SbxVolumeBackend *backend, const gchar *backend_name,
				    const SbxVolumeInfo *info);

const gchar *sbx_volume_get_id(SbxVolume *self);
const gchar *sbx_volume_get_name(SbxVolume *self);
const gchar *sbx_volume_get_backend_name(SbxVolume *self);
SbxVolumeBackend *sbx_volume_get_backend(SbxVolume *self);
const gchar *sbx_volume_get_object_path(SbxVolume *self);
SbxDBusObjectSkeleton *sbx_volume_get_object(SbxVolume *self);
SbxDBusVolume1 *sbx_volume_get_iface(SbxVolume *self);
guint sbx_volume_get_owner(SbxVolume *self);
gboolean sbx_volume_is_snapshot(SbxVolume *self);
guint64 sbx_volume_get_capacity(SbxVolume *self);
GHashTable *sbx_volume_get_labels(SbxVolume *self);

/* capacity and used from a fresh get_info */
void sbx_volume_update(SbxVolume *self, const SbxVolumeInfo *info);

/* bookkeeping of which sandboxes have it (AttachedTo); the lock itself is the backend's */
void sbx_volume_add_attachment(SbxVolume *self, const gchar *sandbox_id, gboolean read_only);
/* returns whether @sandbox_id had it, and how */
gboolean sbx_volume_remove_attachment(SbxVolume *self, const gchar *sandbox_id,
				      gboolean *read_only);
guint sbx_volume_get_n_attachments(SbxVolume *self);
gboolean sbx_volume_is_attached_rw(SbxVolume *self);

/* an operation (resize, snapshot, delete) is in flight: no attach, no other one */
gboolean sbx_volume_is_busy(SbxVolume *self);
void sbx_volume_set_busy(SbxVolume *self, gboolean busy);

G_END_DECLS
