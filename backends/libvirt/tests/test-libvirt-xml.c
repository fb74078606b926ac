/* golden-file tests of the libvirt domain XML, validated by libvirt's own
 * parser (test:///default driver, schema validation on)
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gio/gio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "sbx-libvirt-util.h"
#include "sbx-libvirt-xml.h"

typedef struct {
	const gchar *name;
	SbxVmSpec spec;
	SbxLibvirtXmlOptions opts;
} XmlCase;

static const XmlCase cases[] = {
    {"basic",
     {"sbx-0123abcd", 1024, 2, "/var/lib/sandboxd/images/default/vmlinuz",
      "/var/lib/sandboxd/images/default/initrd.img", "console=ttyS0 quiet panic=-1",
      "/run/sandboxd/sbx-0123abcd", "/run/sandboxd/sbx-0123abcd/agent.sock",
      "/run/sandboxd/sbx-0123abcd/console.log"},
     {"qemu", "pc", NULL, NULL}},
    {"escaping",
     {"a-1", 768, 1, "/images/k<e>rnel&'\"", "/images/i&nitrd<'>",
      "console=ttyS0 sbx.x=\"a<b\" sbx.y='&amp;' </cmdline><devices>", "/run/s&d/<a-1>",
      "/run/s&d/<a-1>/agent'\".sock", "/run/s&d/<a-1>/con&sole.log"},
     {"kvm", "pc-i440fx-7.2", "/usr/bin/qemu-system-x86_64", "Skylake-Client"}},
    {"kvm",
     {"sbx-kvm", 2048, 2, "/var/lib/sandboxd/images/default/vmlinux",
      "/var/lib/sandboxd/images/default/initrd.img", "console=ttyS0", "/run/sandboxd/sbx-kvm",
      "/run/sandboxd/sbx-kvm/agent.sock", "/run/sandboxd/sbx-kvm/console.log"},
     {"kvm", "q35", NULL, NULL}},
    {"minimal",
     {"x", 4096, 2, "/boot/vmlinuz", NULL, NULL, NULL, "/tmp/x/agent.sock", "/tmp/x/console.log"},
     {"qemu", NULL, NULL, NULL}},
    {"disk-net",
     {"sbx-debian1", 1024, 2, "/var/lib/sandboxd/images/debian/vmlinuz",
      "/var/lib/sandboxd/images/debian/initrd.img", "console=ttyS0 sbx.root=/dev/vda",
      "/run/sandboxd/sbx-debian1", "/run/sandboxd/sbx-debian1/agent.sock",
      "/run/sandboxd/sbx-debian1/console.log", "/var/lib/sandboxd/images/debian/debian.qcow2",
      "qcow2", 10ull << 30, TRUE},
     {"qemu", "pc", NULL, NULL, "/run/sandboxd/sbx-debian1/root.qcow2", "qcow2",
      "/var/lib/sandboxd/images/debian/debian.qcow2", "qcow2", "sandboxd", "52:54:00:d5:01:02",
      "10.213.1.2", "sbx.ip=10.213.1.2/16 sbx.gw=10.213.0.1 sbx.dns=10.213.0.1 sbx.mtu=1400"}},
};

static void
silent_error_func(void *opaque, virErrorPtr error)
{
}

/* the strongest check we have without a VM: libvirt parses and validates it */
static void
validate_with_libvirt(const XmlCase *c, const gchar *xml)
{
	virConnectPtr conn = virConnectOpen("test:///default");
	virDomainPtr dom;
	g_autofree gchar *formatted = NULL;
	g_autofree gchar *cmdline = NULL;
	g_autofree gchar *meta = NULL;
	g_autofree gchar *console_log = NULL;

	g_assert_nonnull(conn);
	dom = virDomainDefineXMLFlags(conn, xml, VIR_DOMAIN_DEFINE_VALIDATE);
	if (dom == NULL)
		g_error("libvirt refused %s: %s", c->name, virGetLastErrorMessage());
	g_assert_cmpstr(virDomainGetName(dom), ==, c->spec.id);
	g_assert_cmpuint(virDomainGetMaxMemory(dom), ==, (gulong)c->spec.memory_mib * 1024);
	formatted = virDomainGetXMLDesc(dom, 0);
	/* values survive the round trip, so they were escaped right */
	g_assert_nonnull(strstr(formatted, "https://sandboxd.org/xmlns/libvirt/1"));
	if (c->spec.cmdline != NULL) {
		cmdline = g_markup_escape_text(c->spec.cmdline, -1);
		g_assert_nonnull(strstr(formatted, cmdline));
	}
	g_assert_nonnull(strstr(formatted, "org.sandboxd.agent.0"));
	/* list_vms and destroy find our domains and logs through the metadata */
	meta = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, SBX_LIBVIRT_METADATA_URI, 0);
	g_assert_nonnull(meta);
	console_log = sbx_libvirt_util_metadata_get_console_log(meta);
	g_assert_cmpstr(console_log, ==, c->spec.console_log);
	g_assert_cmpint(virDomainUndefine(dom), ==, 0);
	virDomainFree(dom);
	virConnectClose(conn);
}

static void
test_golden(gconstpointer data)
{
	const XmlCase *c = data;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *xml = NULL;
	g_autofree gchar *expected = NULL;
	g_autofree gchar *fn = NULL;

	xml = sbx_libvirt_xml_domain_new(&c->spec, &c->opts, &error);
	g_assert_no_error(error);
	g_assert_nonnull(xml);

	fn = g_strdup_printf("%s/%s.xml", TEST_DATA_DIR, c->name);
	if (g_getenv("SBX_TEST_REGENERATE_OUTPUT") != NULL) {
		g_file_set_contents(fn, xml, -1, &error);
		g_assert_no_error(error);
	}
	g_file_get_contents(fn, &expected, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(xml, ==, expected);
	validate_with_libvirt(c, xml);
}

static void
test_bad_specs(void)
{
	SbxLibvirtXmlOptions opts = {"qemu", "pc", NULL, NULL};
	const gchar *bad_ids[] = {
	    "",		"A",
	    "a<b",	"a b",
	    "a&",	"a/../b",
	    "\xc3\xa9", "0123456789012345678901234567890123456789012345678901234567890123"};

	for (guint i = 0; i < G_N_ELEMENTS(bad_ids); i++) {
		SbxVmSpec spec = {
		    (gchar *)bad_ids[i], 1024, 1, "/k", NULL, NULL, "/r", "/r/s", "/r/l"};
		g_autoptr(GError) error = NULL;
		g_autofree gchar *xml = sbx_libvirt_xml_domain_new(&spec, &opts, &error);
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
		g_assert_null(xml);
	}
	{
		/* relative paths and bad UTF-8 never reach the XML */
		SbxVmSpec spec = {"ok", 1024, 1, "k", NULL, NULL, "/r", "/r/s", "/r/l"};
		SbxVmSpec spec2 = {"ok", 1024, 1, "/k", NULL, "\xff", "/r", "/r/s", "/r/l"};
		SbxVmSpec spec3 = {"ok", 0, 1, "/k", NULL, NULL, "/r", "/r/s", "/r/l"};
		SbxVmSpec spec4 = {"ok", 1024, 1, "/k", NULL, NULL, "/r", NULL, "/r/l"};
		SbxVmSpec spec5 = {"ok", 1024, 1,      "/k",   NULL,
				   NULL, "/r", "/r/s", "/r/l", "d.qcow2"};
		SbxVmSpec spec6 = {"ok", 1024,	 1,	 "/k",	 NULL,	NULL,
				   "/r", "/r/s", "/r/l", "/d.x", "vmdk"};
		const SbxVmSpec *specs[] = {&spec, &spec2, &spec3, &spec4, &spec5, &spec6};
		for (guint i = 0; i < G_N_ELEMENTS(specs); i++) {
			g_autoptr(GError) error = NULL;
			g_autofree gchar *xml = sbx_libvirt_xml_domain_new(specs[i], &opts, &error);
			g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
			g_assert_null(xml);
		}
	}
}

/* durable volumes: a qcow2 file disk and a read-only rbd network disk */
static void
test_volumes_golden(void)
{
	XmlCase c = {"volumes",
		     {"sbx-vol1", 1024, 2, "/var/lib/sandboxd/images/default/vmlinuz",
		      "/var/lib/sandboxd/images/default/initrd.img",
		      "console=ttyS0 sbx.vol=vol0123456789abc:/data:rw,vol99:/ro:ro",
		      "/run/sandboxd/sbx-vol1", "/run/sandboxd/sbx-vol1/agent.sock",
		      "/run/sandboxd/sbx-vol1/console.log"},
		     {"qemu", "pc", NULL, NULL}};
	const gchar *const secrets[] = {"", "0b8a3c1e-1c2d-4e5f-8a9b-0c1d2e3f4a5b", NULL};
	SbxVmDisk *disk;

	c.spec.disks = g_ptr_array_new_with_free_func((GDestroyNotify)sbx_vm_disk_free);
	disk = sbx_vm_disk_new();
	disk->source = sbx_disk_source_new(SBX_DISK_SOURCE_FILE);
	disk->source->path = g_strdup("/var/lib/sandboxd/volumes/vol0123456789abc.qcow2");
	disk->source->format = g_strdup("qcow2");
	disk->serial = g_strdup("vol0123456789abc");
	disk->target = g_strdup("vda");
	disk->mount_path = g_strdup("/data");
	g_ptr_array_add(c.spec.disks, disk);
	disk = sbx_vm_disk_new();
	disk->source = sbx_disk_source_new(SBX_DISK_SOURCE_RBD);
	disk->source->pool = g_strdup("rbd");
	disk->source->image = g_strdup("vol99");
	disk->source->monitors = g_strsplit("127.0.0.1:40001,[::1]:3300", ",", -1);
	disk->source->auth_user = g_strdup("admin");
	disk->source->auth_key = g_strdup("QVFCdGVzdA==");
	disk->serial = g_strdup("vol99");
	disk->target = g_strdup("vdb");
	disk->mount_path = g_strdup("/ro");
	disk->read_only = TRUE;
	g_ptr_array_add(c.spec.disks, disk);
	c.opts.disk_secrets = secrets;
	/* a bounded TCG translation buffer */
	c.opts.tb_cache_mib = 64;
	test_golden(&c);
	g_ptr_array_unref(c.spec.disks);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	virSetErrorFunc(NULL, silent_error_func);
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *path = g_strdup_printf("/libvirt/xml/%s", cases[i].name);
		g_test_add_data_func(path, &cases[i], test_golden);
	}
	g_test_add_func("/libvirt/xml/bad-specs", test_bad_specs);
	g_test_add_func("/libvirt/xml/volumes", test_volumes_golden);
	return g_test_run();
}
