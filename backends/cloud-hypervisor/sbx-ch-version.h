/* cloud-hypervisor backend: the VMM's version and what each version can do.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* X.Y.Z as vmm.ping's "version" (CARGO_PKG_VERSION) says it */
typedef struct {
	guint major;
	guint minor;
	guint micro;
} SbxChVersion;

/* the oldest version the backend drives: bzImage direct boot (the Debian
 * kernel of the guest images) came in v39 */
#define SBX_CH_VERSION_MIN_DEFAULT "39.0"

gboolean sbx_ch_version_parse(const gchar *text, SbxChVersion *version, GError **error);
gint sbx_ch_version_compare(const SbxChVersion *a, const SbxChVersion *b);
gboolean sbx_ch_version_at_least(const SbxChVersion *version, guint major, guint minor);
gchar *sbx_ch_version_to_string(const SbxChVersion *version);

/* v51+: qcow2 backing chains only with "backing_files": true */
gboolean sbx_ch_version_needs_backing_files(const SbxChVersion *version);
/* v52+: vm.restore takes "resume" and "memory_restore_mode" */
gboolean sbx_ch_version_has_restore_mode(const SbxChVersion *version);

G_END_DECLS
