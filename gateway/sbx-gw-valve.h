/* a GIOStream around a client's socket whose input can be shut and opened again:
 * libsoup's SoupWebsocketConnection reads whatever arrives and has no way to pause,
 * so the gateway pauses it underneath. While shut, reads answer G_IO_ERROR_WOULD_BLOCK
 * and the stream's sources stop polling the socket; TCP then slows the client.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define SBX_GW_TYPE_VALVE (sbx_gw_valve_get_type())
G_DECLARE_FINAL_TYPE(SbxGwValve, sbx_gw_valve, SBX_GW, VALVE, GIOStream)

/* takes a ref on @base; closing the valve closes @base */
SbxGwValve *sbx_gw_valve_new(GIOStream *base);
void sbx_gw_valve_set_open(SbxGwValve *self, gboolean open);
gboolean sbx_gw_valve_get_open(SbxGwValve *self);

G_END_DECLS
