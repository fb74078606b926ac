/* sandboxd: QEMU block node descriptions of volume disk sources, shared by the
 * qemu backend (-blockdev) and cloud-hypervisor's qemu-storage-daemon.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "sbx-volume-backend.h"

G_BEGIN_DECLS

/* the deepest file chain (the image and its backing files) we follow */
#define SBX_BLOCKDEV_CHAIN_MAX 4

typedef struct {
	const gchar *node_name;
	gboolean read_only;
	gboolean discard; /* pass the guest's discards down ("unmap") */
	/* rbd: the id of a `secret` object holding the cephx key, or NULL */
	const gchar *secret_id;
	/* files: each layer's file name (a path or /dev/fdset/N) and format, top
	 * first, every backing file given explicitly; n_layers 0: source->path,
	 * QEMU opens its backing files itself */
	const gchar *const *filenames;
	const gchar *const *formats;
	guint n_layers;
} SbxBlockdevOptions;

/* a disk source a hypervisor can be given: complete, and nothing in it that
 * could reach another option (the messages name what is wrong) */
gboolean sbx_blockdev_check_source(const SbxDiskSource *source, GError **error);

/* the source as -blockdev JSON; the key is never in it (see secret_id) */
gchar *sbx_blockdev_json(const SbxDiskSource *source, const SbxBlockdevOptions *opts);

G_END_DECLS
