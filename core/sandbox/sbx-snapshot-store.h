/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "sbx-hypervisor-backend.h"

G_BEGIN_DECLS

/* snapshots of booted guests, one per (image, shape, backend build), in
 * ROOT/<key>/: taken on first use, restored by later sandboxes */
typedef struct _SbxSnapshotStore SbxSnapshotStore;

SbxSnapshotStore *sbx_snapshot_store_new(const gchar *root, const gchar *runtime_dir,
					 guint boot_timeout_sec);
void sbx_snapshot_store_free(SbxSnapshotStore *store);
/* at shutdown: destroys the template VMs of the builds under way */
void sbx_snapshot_store_stop(SbxSnapshotStore *store);

gchar *sbx_snapshot_store_lookup(SbxSnapshotStore *store, SbxHypervisorBackend *backend,
				 const SbxVmSpec *spec, gboolean *ready, gchar **why);
void sbx_snapshot_store_build(SbxSnapshotStore *store, SbxHypervisorBackend *backend,
			      const SbxVmSpec *spec, const gchar *snapshot_dir);
/* completes once the snapshot in @snapshot_dir is taken (at once when it
 * exists), with an error when taking it failed or nothing is taking it */
void sbx_snapshot_store_wait_async(SbxSnapshotStore *store, const gchar *snapshot_dir,
				   GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_snapshot_store_wait_finish(GAsyncResult *res, GError **error);
void sbx_snapshot_store_forget(SbxSnapshotStore *store, const gchar *snapshot_dir,
			       const gchar *why);

G_END_DECLS
