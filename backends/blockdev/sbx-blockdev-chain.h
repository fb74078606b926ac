/* sandboxd: a file volume opened by the daemon, with its backing files, so a
 * jailed hypervisor gets fds instead of paths it may not open.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "sbx-blockdev.h"

G_BEGIN_DECLS

typedef struct {
	guint n_layers;
	/* top first; -1 once taken by the caller */
	gint fds[SBX_BLOCKDEV_CHAIN_MAX];
	gchar *formats[SBX_BLOCKDEV_CHAIN_MAX];
	gchar *paths[SBX_BLOCKDEV_CHAIN_MAX];
} SbxBlockdevChain;

/* opens @path (read-write unless @read_only) and the backing files its qcow2
 * header names, read-only. Backing files must be regular files in the same
 * folder with a recorded format: the header is data a QEMU could have
 * written, never a way to make the daemon open anything else. */
SbxBlockdevChain *sbx_blockdev_chain_open(const gchar *path, const gchar *format,
					  gboolean read_only, GError **error);
void sbx_blockdev_chain_free(SbxBlockdevChain *chain);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxBlockdevChain, sbx_blockdev_chain_free)

G_END_DECLS
