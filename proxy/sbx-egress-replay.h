/* egress proxy: an input stream that gives back the bytes already read from
 * the guest (its ClientHello, read to find the server name) before the rest
 * of the guest's stream, so a TLS server can start over from the first byte.
 * Pollable, as GTlsConnection needs its base stream to be.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define SBX_TYPE_EGRESS_REPLAY (sbx_egress_replay_get_type())
G_DECLARE_FINAL_TYPE(SbxEgressReplay, sbx_egress_replay, SBX, EGRESS_REPLAY, GInputStream)

/* @base must be pollable; closing the replay leaves @base open */
GInputStream *sbx_egress_replay_new(GInputStream *base, const guint8 *data, gsize len);

G_END_DECLS
