/* sandboxd: the libvirt network sandboxes' NICs join (NAT, DNS by dnsmasq),
 * made ready by the libvirt backend and by the qemu backend, whose taps join
 * its bridge.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "sbx-libvirt-net.h"

G_BEGIN_DECLS

gboolean sbx_libvirt_network_ensure(virConnectPtr conn, const gchar *name, const gchar *bridge,
				    const SbxLibvirtNetInfo *wanted, SbxLibvirtNetInfo *info,
				    GError **error);
gboolean sbx_libvirt_network_ensure_at(const gchar *uri, const gchar *name, const gchar *bridge,
				       const SbxLibvirtNetInfo *wanted, GError **error);

G_END_DECLS
