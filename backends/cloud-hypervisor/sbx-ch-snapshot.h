/* cloud-hypervisor backend: snapshot folders (vm.snapshot writes config.json,
 * state.json, memory-ranges) and the per-clone folder vm.restore reads.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

#include "sbx-ch-version.h"

G_BEGIN_DECLS

/* the template's overlay lives in the snapshot: it is the clones' frozen layer */
#define SBX_CH_SNAPSHOT_ROOT "root.qcow2"

/* a clone's restore folder: the snapshot's config.json with the clone's own
 * overlay, vsock socket and console (restore re-opens them all), state.json
 * copied and memory-ranges linked */
gboolean sbx_ch_snapshot_prepare_restore(const gchar *snapshot_dir, const gchar *restore_dir,
					 const gchar *overlay, const gchar *vsock_socket,
					 const gchar *console_log, GError **error);
/* removes what prepare_restore made */
void sbx_ch_snapshot_remove_restore(const gchar *restore_dir);
/* after vm.snapshot: every file read-only, readable by the clones' VMM user */
gboolean sbx_ch_snapshot_seal(const gchar *snapshot_dir, GError **error);
/* the vm.restore body: memory_restore_mode and resume from v52 on */
JsonNode *sbx_ch_snapshot_restore_body(const gchar *restore_dir, const SbxChVersion *version,
				       gboolean on_demand);

G_END_DECLS
