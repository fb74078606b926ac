/* rbd volume backend: sandboxd's records on RBD images (blocking; call from
 * worker threads).
 *
 * A volume is an image named after its id, marked with image metadata
 * "sandboxd.kind" = "volume", plus "sandboxd.created" (µs since the epoch),
 * "sandboxd.parent" (the snapshot a clone came from) and
 * "sandboxd.attr.<key>" (attributes). A snapshot is a protected RBD snapshot
 * named after its id on the image of the volume it was taken of, recorded as
 * "sandboxd.snap.<id>.created" and "sandboxd.snap.<id>.attr.<key>" on that
 * image. A volume deleted while it still has snapshots keeps its image,
 * marked "sandboxd.deleted", until the last snapshot goes.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <rbd/librbd.h>

#include "sbx-rbd-conn.h"
#include "sbx-volume-backend.h"

G_BEGIN_DECLS

#define SBX_RBD_META_PREFIX "sandboxd."
#define SBX_RBD_META_KIND "sandboxd.kind"
#define SBX_RBD_META_CREATED "sandboxd.created"
#define SBX_RBD_META_PARENT "sandboxd.parent"
#define SBX_RBD_META_DELETED "sandboxd.deleted"
#define SBX_RBD_META_ATTR "sandboxd.attr."

/* what one of our images holds */
typedef struct {
	gchar *name;
	GHashTable *meta;      /* every "sandboxd." key -> value */
	SbxVolumeInfo *volume; /* NULL when deleted (kept for its snapshots) */
	GPtrArray *snapshots;  /* SbxVolumeInfo of our snapshots on it */
	guint rbd_snapshots;   /* all RBD snapshots, ours or not */
} SbxRbdImage;

void sbx_rbd_image_free(SbxRbdImage *image);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxRbdImage, sbx_rbd_image_free)

/* opens image @name; G_IO_ERROR_NOT_FOUND if there is none */
gboolean sbx_rbd_image_open(SbxRbdConn *conn, const gchar *name, gboolean read_only,
			    rbd_image_t *image, GError **error);
/* reads @name; G_IO_ERROR_NOT_FOUND if it is missing or not ours */
SbxRbdImage *sbx_rbd_image_read(SbxRbdConn *conn, const gchar *name, GError **error);
/* names of every image in the pool */
gchar **sbx_rbd_image_list(SbxRbdConn *conn, GError **error);
/* the image holding snapshot @snapshot_id, read; G_IO_ERROR_NOT_FOUND if none */
SbxRbdImage *sbx_rbd_image_find_snapshot(SbxRbdConn *conn, const gchar *snapshot_id,
					 const gchar *hint, GError **error);

gboolean sbx_rbd_image_meta_set(rbd_image_t image, const gchar *key, const gchar *value,
				GError **error);
/* removes every key of @meta starting with @prefix from the image */
gboolean sbx_rbd_image_meta_remove_prefix(rbd_image_t image, GHashTable *meta, const gchar *prefix,
					  GError **error);
/* stores @attributes under @prefix, replacing what @meta has there */
gboolean sbx_rbd_image_meta_replace_attributes(rbd_image_t image, GHashTable *meta,
					       const gchar *prefix, GHashTable *attributes,
					       GError **error);

G_END_DECLS
