/* libvirt backend: choosing kvm or qemu (TCG) for DomainType=auto.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
	SBX_LIBVIRT_DOMAIN_TYPE_AUTO,
	SBX_LIBVIRT_DOMAIN_TYPE_KVM,
	SBX_LIBVIRT_DOMAIN_TYPE_QEMU,
} SbxLibvirtDomainType;

/* what the host looks like; filled by sbx_libvirt_domain_type_probe_host() except
 * caps_offer_kvm, which needs a libvirt connection */
typedef struct {
	gboolean kvm_dev_usable; /* /dev/kvm opens read-write */
	gboolean kvm_pvm_loaded; /* /sys/module/kvm_pvm: nested PVM, guests hang */
	gboolean caps_offer_kvm; /* libvirt offers domain type kvm */
} SbxLibvirtProbe;

SbxLibvirtDomainType sbx_libvirt_domain_type_from_string(const gchar *str);
const gchar *sbx_libvirt_domain_type_to_string(SbxLibvirtDomainType type);
void sbx_libvirt_domain_type_probe_host(SbxLibvirtProbe *probe, const gchar *sysroot);
SbxLibvirtDomainType sbx_libvirt_domain_type_pick(const SbxLibvirtProbe *probe);
gboolean sbx_libvirt_domain_type_needs_caps(const SbxLibvirtProbe *probe);

G_END_DECLS
