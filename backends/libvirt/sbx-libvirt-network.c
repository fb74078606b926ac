/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sbx-libvirt-network.h"

static void
set_error(GError **error, const gchar *what)
{
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", what, virGetLastErrorMessage());
	virResetLastError();
}

/* the network runs (defined from @wanted with @bridge when it is the default
 * one and missing); its address and MTU in @info. Blocks: call from a thread
 * or at start-up. */
gboolean
sbx_libvirt_network_ensure(virConnectPtr conn, const gchar *name, const gchar *bridge,
			   const SbxLibvirtNetInfo *wanted, SbxLibvirtNetInfo *info, GError **error)
{
	virNetworkPtr net = virNetworkLookupByName(conn, name);
	g_autofree gchar *xml = NULL;

	if (net == NULL) {
		g_autofree gchar *def = NULL;
		virResetLastError();
		if (g_strcmp0(name, SBX_LIBVIRT_NETWORK_DEFAULT) != 0) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
				    "libvirt network '%s' does not exist", name);
			return FALSE;
		}
		def = sbx_libvirt_net_xml_new(name, bridge, wanted);
		g_info("libvirt: defining network %s (%s)", name, bridge);
		net = virNetworkDefineXML(conn, def);
		if (net == NULL) {
			/* another daemon may have defined it meanwhile */
			net = virNetworkLookupByName(conn, name);
			if (net == NULL) {
				set_error(error, "cannot define the sandbox network");
				return FALSE;
			}
		}
		virNetworkSetAutostart(net, 1);
		virResetLastError();
	}
	if (virNetworkIsActive(net) != 1 && virNetworkCreate(net) < 0 &&
	    virNetworkIsActive(net) != 1) {
		g_autofree gchar *what = g_strdup_printf("cannot start libvirt network '%s'", name);
		set_error(error, what);
		virNetworkFree(net);
		return FALSE;
	}
	xml = virNetworkGetXMLDesc(net, 0);
	virNetworkFree(net);
	if (xml == NULL) {
		set_error(error, "cannot read the sandbox network");
		return FALSE;
	}
	if (!sbx_libvirt_net_parse_xml(xml, info, error)) {
		g_prefix_error(error, "libvirt network '%s': ", name);
		return FALSE;
	}
	return TRUE;
}

/* the same through a connection of its own to @uri */
gboolean
sbx_libvirt_network_ensure_at(const gchar *uri, const gchar *name, const gchar *bridge,
			      const SbxLibvirtNetInfo *wanted, GError **error)
{
	virConnectPtr conn = virConnectOpen(uri);
	SbxLibvirtNetInfo info;
	gboolean ok;

	if (conn == NULL) {
		g_autofree gchar *what = g_strdup_printf("cannot connect to %s", uri);
		set_error(error, what);
		return FALSE;
	}
	ok = sbx_libvirt_network_ensure(conn, name, bridge, wanted, &info, error);
	virConnectClose(conn);
	return ok;
}
