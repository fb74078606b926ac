/* sandbox ids: "sbx" + 13 random [a-z0-9], unique on the host; also the
 * libvirt domain name and the run folder name, so checked wherever one comes
 * back from disk or the bus.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SBX_SANDBOX_ID_PREFIX "sbx"
#define SBX_SANDBOX_ID_RANDOM_LEN 13

gchar *sbx_sandbox_id_new(void);
gboolean sbx_sandbox_id_is_valid(const gchar *id);

G_END_DECLS
