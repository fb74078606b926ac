/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <unistd.h>

#include "sbx-libvirt-domain-type.h"

SbxLibvirtDomainType
sbx_libvirt_domain_type_from_string(const gchar *str)
{
	if (g_strcmp0(str, "kvm") == 0)
		return SBX_LIBVIRT_DOMAIN_TYPE_KVM;
	if (g_strcmp0(str, "qemu") == 0)
		return SBX_LIBVIRT_DOMAIN_TYPE_QEMU;
	return SBX_LIBVIRT_DOMAIN_TYPE_AUTO;
}

const gchar *
sbx_libvirt_domain_type_to_string(SbxLibvirtDomainType type)
{
	if (type == SBX_LIBVIRT_DOMAIN_TYPE_KVM)
		return "kvm";
	if (type == SBX_LIBVIRT_DOMAIN_TYPE_QEMU)
		return "qemu";
	return "auto";
}

/* @sysroot is "/" except in tests */
void
sbx_libvirt_domain_type_probe_host(SbxLibvirtProbe *probe, const gchar *sysroot)
{
	g_autofree gchar *dev = g_build_filename(sysroot, "dev", "kvm", NULL);
	g_autofree gchar *pvm = g_build_filename(sysroot, "sys", "module", "kvm_pvm", NULL);
	int fd = open(dev, O_RDWR | O_CLOEXEC | O_NOCTTY);

	probe->kvm_dev_usable = fd >= 0;
	if (fd >= 0)
		close(fd);
	probe->kvm_pvm_loaded = g_file_test(pvm, G_FILE_TEST_EXISTS);
}

/* whether the local probes leave kvm possible, so libvirt must be asked */
gboolean
sbx_libvirt_domain_type_needs_caps(const SbxLibvirtProbe *probe)
{
	return probe->kvm_dev_usable && !probe->kvm_pvm_loaded;
}

SbxLibvirtDomainType
sbx_libvirt_domain_type_pick(const SbxLibvirtProbe *probe)
{
	if (!probe->kvm_dev_usable)
		return SBX_LIBVIRT_DOMAIN_TYPE_QEMU;
	/* kvm works under PVM, but ordinary guest kernels hang in it */
	if (probe->kvm_pvm_loaded)
		return SBX_LIBVIRT_DOMAIN_TYPE_QEMU;
	if (!probe->caps_offer_kvm)
		return SBX_LIBVIRT_DOMAIN_TYPE_QEMU;
	return SBX_LIBVIRT_DOMAIN_TYPE_KVM;
}
