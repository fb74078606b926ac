/* libvirt backend: the sandbox network (a libvirt NAT network):
 * pure helpers, no libvirt connection.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define SBX_LIBVIRT_NETWORK_DEFAULT "sandboxd"
#define SBX_LIBVIRT_NETWORK_ADDRESS_DEFAULT "10.213.0.1/16"
#define SBX_LIBVIRT_NETWORK_BRIDGE_DEFAULT "sbxbr0"

typedef struct {
	guint32 gateway; /* host order: the host's address on the network */
	guint prefix;	 /* 8-30 */
	guint mtu;	 /* 0: not set */
} SbxLibvirtNetInfo;

/* a libvirt network or bridge name we accept: [A-Za-z0-9_.-], 1-64 bytes */
gboolean sbx_libvirt_net_name_is_valid(const gchar *name);
/* "10.213.0.1/16" */
gboolean sbx_libvirt_net_parse_cidr(const gchar *cidr, SbxLibvirtNetInfo *info, GError **error);
/* the <ip address= netmask=|prefix=> and <mtu size=> of a network's XML */
gboolean sbx_libvirt_net_parse_xml(const gchar *xml, SbxLibvirtNetInfo *info, GError **error);
/* a NAT network with DNS (dnsmasq) and no DHCP: the backend assigns addresses */
gchar *sbx_libvirt_net_xml_new(const gchar *name, const gchar *bridge,
			       const SbxLibvirtNetInfo *info);
/* the MTU of the host's default route's interface, or 0 */
guint sbx_libvirt_net_host_mtu(const gchar *root);

gchar *sbx_libvirt_net_ip_to_string(guint32 ip);
gboolean sbx_libvirt_net_ip_from_string(const gchar *str, guint32 *ip);
/* 52:54:00 and the address's low 24 bits: unique per address in a /8 or smaller */
gchar *sbx_libvirt_net_mac_for_ip(guint32 ip);
/* a free host address of the network, starting at a place derived from @seed;
 * @taken holds GUINT_TO_POINTER(ip) of every address in use. 0 if full. */
guint32 sbx_libvirt_net_ip_pick(const SbxLibvirtNetInfo *info, const gchar *seed,
				GHashTable *taken);
/* "sbx.ip=A/P sbx.gw=G sbx.dns=G [sbx.mtu=M]" for the agent */
gchar *sbx_libvirt_net_cmdline(const SbxLibvirtNetInfo *info, guint32 ip);

G_END_DECLS
