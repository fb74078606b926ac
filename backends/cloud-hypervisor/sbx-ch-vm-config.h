/* cloud-hypervisor backend: the JSON of vm.create, vm.add-disk and vm.add-net.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

#include "sbx-ch-version.h"
#include "sbx-vm-spec.h"

G_BEGIN_DECLS

/* one disk as the VMM opens it: an image file, or a vhost-user-blk socket */
typedef struct {
	gchar *id;
	gchar *path;
	gchar *image_type; /* "Qcow2" or "Raw"; always sent (older versions ignore it) */
	gboolean backing_files;
	gchar *backing; /* the backing file it names (not sent: the VMM reads it), or NULL */
	gboolean backing_granted; /* the VMM's user got read access to it (sbx-ch-vm.c) */
	gchar *vhost_socket;
	gchar *serial;
	gboolean readonly;
} SbxChDisk;

SbxChDisk *sbx_ch_vm_config_disk_new(const gchar *id);
void sbx_ch_vm_config_disk_free(SbxChDisk *disk);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxChDisk, sbx_ch_vm_config_disk_free)

/* what vm.create needs beyond the spec */
typedef struct {
	const SbxVmSpec *spec;
	SbxChVersion version;
	const gchar *root_overlay; /* the guest's qcow2 overlay of spec->root_disk, or NULL */
	const gchar *vsock_socket; /* the hybrid vsock's unix socket */
	guint agent_port;	   /* the vsock port the agent listens on */
	GPtrArray *volumes;	   /* SbxChDisk, attached with vm.add-disk, or NULL */
	const gchar *tap;	   /* the guest's NIC: a tap the backend made, or NULL */
	const gchar *mac;	   /* the guest's MAC on it */
	const gchar *net_cmdline;  /* its address for the agent (sbx.ip=...), or NULL */
} SbxChVmConfig;

/* the agent's transport on the kernel command line */
gchar *sbx_ch_vm_config_cmdline(const gchar *cmdline, guint agent_port);
/* @cmdline with the sbx.vol= entry of volume @serial naming @alias instead:
 * the serial the guest will see on that disk */
gchar *sbx_ch_vm_config_cmdline_alias_volume(const gchar *cmdline, const gchar *serial,
					     const gchar *alias);
JsonNode *sbx_ch_vm_config_build(const SbxChVmConfig *config);
JsonNode *sbx_ch_vm_config_net_to_json(const gchar *tap, const gchar *mac);
JsonNode *sbx_ch_vm_config_disk_to_json(const SbxChDisk *disk, const SbxChVersion *version);

G_END_DECLS
