/* DomainType=auto: which probe results pick kvm and which pick qemu (TCG)
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <glib/gstdio.h>

#include "sbx-libvirt-domain-type.h"

static void
test_pick(void)
{
	const struct {
		SbxLibvirtProbe probe;
		SbxLibvirtDomainType expected;
		gboolean needs_caps;
	} rows[] = {
	    /* dev usable, pvm, caps kvm */
	    {{FALSE, FALSE, FALSE}, SBX_LIBVIRT_DOMAIN_TYPE_QEMU, FALSE},
	    {{FALSE, FALSE, TRUE}, SBX_LIBVIRT_DOMAIN_TYPE_QEMU, FALSE},
	    {{FALSE, TRUE, TRUE}, SBX_LIBVIRT_DOMAIN_TYPE_QEMU, FALSE},
	    /* the machines here: kvm answers, but guests hang under PVM */
	    {{TRUE, TRUE, TRUE}, SBX_LIBVIRT_DOMAIN_TYPE_QEMU, FALSE},
	    {{TRUE, FALSE, FALSE}, SBX_LIBVIRT_DOMAIN_TYPE_QEMU, TRUE},
	    {{TRUE, FALSE, TRUE}, SBX_LIBVIRT_DOMAIN_TYPE_KVM, TRUE},
	};

	for (guint i = 0; i < G_N_ELEMENTS(rows); i++) {
		g_assert_cmpint(sbx_libvirt_domain_type_pick(&rows[i].probe), ==, rows[i].expected);
		g_assert_cmpint(sbx_libvirt_domain_type_needs_caps(&rows[i].probe), ==,
				rows[i].needs_caps);
	}
}

static void
test_strings(void)
{
	g_assert_cmpint(sbx_libvirt_domain_type_from_string("kvm"), ==,
			SBX_LIBVIRT_DOMAIN_TYPE_KVM);
	g_assert_cmpint(sbx_libvirt_domain_type_from_string("qemu"), ==,
			SBX_LIBVIRT_DOMAIN_TYPE_QEMU);
	g_assert_cmpint(sbx_libvirt_domain_type_from_string("auto"), ==,
			SBX_LIBVIRT_DOMAIN_TYPE_AUTO);
	g_assert_cmpstr(sbx_libvirt_domain_type_to_string(SBX_LIBVIRT_DOMAIN_TYPE_KVM), ==, "kvm");
	g_assert_cmpstr(sbx_libvirt_domain_type_to_string(SBX_LIBVIRT_DOMAIN_TYPE_QEMU), ==,
			"qemu");
}

/* the host probe against a fake root */
static void
test_probe_host(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *root = g_dir_make_tmp("sbx-probe-XXXXXX", &error);
	g_autofree gchar *dev = NULL;
	g_autofree gchar *kvm = NULL;
	g_autofree gchar *pvm = NULL;
	SbxLibvirtProbe probe = {TRUE, TRUE, FALSE};

	g_assert_no_error(error);
	sbx_libvirt_domain_type_probe_host(&probe, root);
	g_assert_false(probe.kvm_dev_usable);
	g_assert_false(probe.kvm_pvm_loaded);

	dev = g_build_filename(root, "dev", NULL);
	kvm = g_build_filename(dev, "kvm", NULL);
	pvm = g_build_filename(root, "sys", "module", "kvm_pvm", NULL);
	g_assert_cmpint(g_mkdir_with_parents(dev, 0700), ==, 0);
	g_assert_cmpint(g_mkdir_with_parents(pvm, 0700), ==, 0);
	g_file_set_contents(kvm, "", 0, &error);
	g_assert_no_error(error);
	/* a read-only node counts as unusable (unless we are root, who opens anything) */
	g_assert_cmpint(g_chmod(kvm, 0400), ==, 0);
	sbx_libvirt_domain_type_probe_host(&probe, root);
	g_assert_true(probe.kvm_pvm_loaded);
	g_assert_cmpint(probe.kvm_dev_usable, ==, geteuid() == 0);
	g_assert_cmpint(g_chmod(kvm, 0600), ==, 0);
	sbx_libvirt_domain_type_probe_host(&probe, root);
	g_assert_true(probe.kvm_dev_usable);
	g_assert_cmpint(sbx_libvirt_domain_type_pick(&probe), ==, SBX_LIBVIRT_DOMAIN_TYPE_QEMU);

	g_unlink(kvm);
	g_rmdir(dev);
	g_rmdir(pvm);
	g_autofree gchar *module = g_build_filename(root, "sys", "module", NULL);
	g_autofree gchar *sys = g_build_filename(root, "sys", NULL);
	g_rmdir(module);
	g_rmdir(sys);
	g_assert_cmpint(g_rmdir(root), ==, 0);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/libvirt/domain-type/pick", test_pick);
	g_test_add_func("/libvirt/domain-type/strings", test_strings);
	g_test_add_func("/libvirt/domain-type/probe-host", test_probe_host);
	return g_test_run();
}
