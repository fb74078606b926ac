/* sandboxd plugin SDK: what a plugin exports.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>
#include <gmodule.h>

G_BEGIN_DECLS

/**
 * SBX_PLUGIN_ABI_VERSION:
 *
 * Bumped whenever a base class or #SbxPluginInfo changes incompatibly. The
 * loader refuses a plugin built against another version before it registers
 * any of the plugin's types. Every symbol of the SDK says in a "Since:" line
 * the ABI version it appeared in.
 *
 * Since: 1
 */
#define SBX_PLUGIN_ABI_VERSION 1

/**
 * SBX_PLUGIN_ABI_REVISION:
 *
 * Compatible additions within %SBX_PLUGIN_ABI_VERSION: vfuncs appended in a
 * class's padding (their defaults fail with %G_IO_ERROR_NOT_SUPPORTED) and
 * fields appended to #SbxVmSpec. A plugin built against an older revision
 * loads and runs unchanged; the core falls back where it lacks a vfunc.
 *
 * - 1: the first release
 * - 2: snapshot and restore of hypervisor VMs (get_snapshot_compat,
 *   snapshot_vm, restore_vm; #SbxVmSpec.snapshot_dir)
 * - 3: the host side of network isolation (get_network_bridge, get_vm_address)
 * - 4: connect_agent: the backend opens the agent stream (cloud-hypervisor's
 *   hybrid vsock); the default connects to the spec's agent socket as before
 */
#define SBX_PLUGIN_ABI_REVISION 4

/**
 * SbxPluginKind:
 * @SBX_PLUGIN_KIND_HYPERVISOR: the type derives from #SbxHypervisorBackend
 * @SBX_PLUGIN_KIND_VOLUME: the type derives from #SbxVolumeBackend
 *
 * Since: 1
 */
typedef enum {
	SBX_PLUGIN_KIND_HYPERVISOR = 1,
	SBX_PLUGIN_KIND_VOLUME = 2,
} SbxPluginKind;

/**
 * SbxPluginInfo:
 * @abi_version: %SBX_PLUGIN_ABI_VERSION the plugin was built with
 * @struct_size: sizeof (SbxPluginInfo) the plugin was built with
 * @kind: what the plugin provides
 * @name: the backend name, also its config section name (e.g. "libvirt")
 * @get_type: returns the backend's #GType (called only after the ABI check)
 *
 * Since: 1
 */
typedef struct {
	guint32 abi_version;
	guint32 struct_size;
	SbxPluginKind kind;
	const gchar *name;
	GType (*get_type)(void);
} SbxPluginInfo;

#define SBX_PLUGIN_QUERY_SYMBOL "sbx_plugin_query"
typedef const SbxPluginInfo *(*SbxPluginQueryFunc)(void);

/**
 * SBX_PLUGIN_DEFINE:
 * @kind: a #SbxPluginKind
 * @name: the backend name, a string literal
 * @get_type: the backend's get_type function
 *
 * Defines the one symbol a plugin exports.
 *
 * Since: 1
 */
#define SBX_PLUGIN_DEFINE(kind, name, get_type)                                                    \
	G_MODULE_EXPORT const SbxPluginInfo *sbx_plugin_query(void);                               \
	G_MODULE_EXPORT const SbxPluginInfo *sbx_plugin_query(void)                                \
	{                                                                                          \
		static const SbxPluginInfo info = {SBX_PLUGIN_ABI_VERSION, sizeof(SbxPluginInfo),  \
						   (kind), (name), (get_type)};                    \
		return &info;                                                                      \
	}

G_END_DECLS
