/* libvirt backend: domain XML for a sandbox.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "sbx-vm-spec.h"

G_BEGIN_DECLS

/* our metadata namespace: list_vms only returns domains carrying it */
#define SBX_LIBVIRT_METADATA_URI "https://sandboxd.org/xmlns/libvirt/1"
#define SBX_LIBVIRT_METADATA_PREFIX "sbx" /* as written by sbx-libvirt-xml.c */

/* the guest agent's virtio-serial port name (agent/sbx-protocol.h) */
#define SBX_LIBVIRT_AGENT_PORT "org.sandboxd.agent.0"

typedef struct {
	const gchar *domain_type; /* "kvm" or "qemu" */
	const gchar *machine;	  /* e.g. "pc", or NULL for libvirt's default */
	const gchar *emulator;	  /* or NULL for libvirt's default */
	const gchar *cpu_model;	  /* or NULL for the hypervisor's default */
	/* the sandbox's own copy-on-write disk (vda), or NULL for none */
	const gchar *disk_path;
	const gchar *disk_format; /* "qcow2" (default) or "raw" */
	/* the overlay's read-only base, which libvirt must not relabel, or NULL */
	const gchar *disk_backing;
	const gchar *disk_backing_format;
	/* a NIC on this libvirt network, or NULL for none */
	const gchar *network;
	const gchar *mac;	    /* "52:54:00:..", or NULL for libvirt's pick */
	const gchar *ip;	    /* recorded in our metadata: the address we gave it */
	const gchar *extra_cmdline; /* appended to the kernel command line */
	/* per spec->disks entry: the libvirt secret uuid holding an rbd disk's
	 * cephx key (NULL or "" for file disks); NULL when there are none */
	const gchar *const *disk_secrets;
	/* TCG's translation buffer (domain type "qemu"), MiB; 0: QEMU's default */
	guint tb_cache_mib;
} SbxLibvirtXmlOptions;

/* the guest NIC's host-side tap device, "sbt" + 12 hex digits of sha256(@id):
 * stable for a sandbox, so host rules (and people) can find it */
gchar *sbx_libvirt_xml_tap_name(const gchar *id);
gboolean sbx_libvirt_xml_validate_spec(const SbxVmSpec *spec, GError **error);
gchar *sbx_libvirt_xml_domain_new(const SbxVmSpec *spec, const SbxLibvirtXmlOptions *opts,
				  GError **error);

G_END_DECLS
