/* golden-file tests of the JSON sent to vm.create and vm.add-disk
 * (regenerate: SBX_TEST_REGENERATE_OUTPUT=1 meson test ch-vm-config)
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gio/gio.h>

#include "sbx-ch-vm-config.h"

typedef struct {
	const gchar *name;
	const gchar *version;
	SbxVmSpec spec;
	const gchar *root_overlay;
	gboolean volumes;
	gboolean network;
} ConfigCase;

#define NET_WORDS "sbx.ip=10.213.0.7/16 sbx.gw=10.213.0.1 sbx.dns=10.213.0.1 sbx.mtu=1500"

static const ConfigCase cases[] = {
    {"initramfs",
     "53.0.0",
     {"sbx-0123abcd", 1024, 2, "/var/lib/sandboxd/images/minimal/vmlinuz",
      "/var/lib/sandboxd/images/minimal/initrd.img", "console=ttyS0 quiet panic=-1",
      "/run/sandboxd/sbx-0123abcd", "/run/sandboxd/sbx-0123abcd/agent.sock",
      "/run/sandboxd/sbx-0123abcd/console.log"},
     NULL,
     FALSE},
    {"root-disk",
     "53.0.0",
     {"sbx-debian1", 2048, 1, "/var/lib/sandboxd/images/debian/vmlinuz",
      "/var/lib/sandboxd/images/debian/initrd.img", "console=ttyS0 sbx.root=/dev/vda",
      "/run/sandboxd/sbx-debian1", "/run/sandboxd/sbx-debian1/agent.sock",
      "/run/sandboxd/sbx-debian1/console.log", "/var/lib/sandboxd/images/debian/debian.qcow2",
      "qcow2", 10ull << 30},
     "/run/sandboxd/sbx-debian1/root.qcow2",
     FALSE},
    /* before v51 backing chains are followed without being asked */
    {"root-disk-v50",
     "50.0.0",
     {"sbx-debian1", 2048, 1, "/var/lib/sandboxd/images/debian/vmlinuz",
      "/var/lib/sandboxd/images/debian/initrd.img", "console=ttyS0 sbx.root=/dev/vda",
      "/run/sandboxd/sbx-debian1", "/run/sandboxd/sbx-debian1/agent.sock",
      "/run/sandboxd/sbx-debian1/console.log", "/var/lib/sandboxd/images/debian/debian.qcow2",
      "qcow2", 10ull << 30},
     "/run/sandboxd/sbx-debian1/root.qcow2",
     FALSE},
    /* a qcow2 volume, a raw read-only one and an rbd one through vhost-user:
     * shared memory */
    {"volumes",
     "53.0.0",
     {"sbx-vols", 512, 1, "/k/vmlinuz", NULL, "console=ttyS0", "/run/sandboxd/sbx-vols",
      "/run/sandboxd/sbx-vols/agent.sock", "/run/sandboxd/sbx-vols/console.log"},
     "/run/sandboxd/sbx-vols/root.qcow2",
     TRUE},
    {"escaping",
     "53.0.0",
     {"x", 256, 1, "/images/k\"er\\nel", NULL, "sbx.x=\"a b\" sbx.y=\\ \t\x01 é", "/run/x",
      "/run/x/agent.sock", NULL},
     NULL,
     FALSE},
    /* a tap made by the backend, its address for the agent */
    {"network",
     "53.0.0",
     {"sbx-0123abcd", 1024, 2, "/var/lib/sandboxd/images/minimal/vmlinuz",
      "/var/lib/sandboxd/images/minimal/initrd.img", "console=ttyS0 quiet panic=-1",
      "/run/sandboxd/sbx-0123abcd", "/run/sandboxd/sbx-0123abcd/agent.sock",
      "/run/sandboxd/sbx-0123abcd/console.log"},
     NULL,
     FALSE,
     TRUE},
};

static GPtrArray *
case_volumes(void)
{
	GPtrArray *volumes =
	    g_ptr_array_new_with_free_func((GDestroyNotify)sbx_ch_vm_config_disk_free);
	SbxChDisk *d = sbx_ch_vm_config_disk_new("disk1");
	d->path = g_strdup("/var/lib/sandboxd/volumes/data.qcow2");
	d->image_type = g_strdup("Qcow2");
	d->serial = g_strdup("vol-data");
	g_ptr_array_add(volumes, d);
	d = sbx_ch_vm_config_disk_new("disk2");
	d->path = g_strdup("/var/lib/sandboxd/volumes/ro.raw");
	d->image_type = g_strdup("Raw");
	d->readonly = TRUE;
	d->serial = g_strdup("vol-ro");
	g_ptr_array_add(volumes, d);
	d = sbx_ch_vm_config_disk_new("disk3");
	d->vhost_socket = g_strdup("/run/sandboxd/sbx-vols/disk3.vhost.sock");
	d->serial = g_strdup("vol-rbd");
	g_ptr_array_add(volumes, d);
	return volumes;
}

static void
append_request(GString *out, const gchar *endpoint, JsonNode *node)
{
	g_autofree gchar *text = json_to_string(node, TRUE);
	g_string_append_printf(out, "PUT /api/v1/%s\n%s\n", endpoint, text);
}

/* what the VMM needs of every disk, checked on the parsed JSON */
static void
check_disk(JsonObject *disk)
{
	g_assert_true(json_object_has_member(disk, "id"));
	if (json_object_get_boolean_member_with_default(disk, "vhost_user", FALSE)) {
		g_assert_false(json_object_has_member(disk, "path"));
		return;
	}
	g_assert_true(json_object_has_member(disk, "image_type"));
}

static void
test_case(gconstpointer data)
{
	const ConfigCase *c = data;
	g_autoptr(GPtrArray) volumes = c->volumes ? case_volumes() : NULL;
	SbxChVmConfig config = {&c->spec, {0},	  c->root_overlay, "/run/sandboxd/vsock.sock",
				1024,	  volumes};
	g_autoptr(JsonNode) node = NULL;
	g_autoptr(GString) out = g_string_new(NULL);
	g_autofree gchar *path = NULL;
	g_autofree gchar *expected = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autofree gchar *compact = NULL;
	g_autofree gchar *cmdline = NULL;
	g_autofree gchar *words = NULL;
	JsonObject *root;

	if (c->network) {
		config.tap = "st0123abcd";
		config.mac = "52:54:00:d5:00:07";
		config.net_cmdline = NET_WORDS;
	}
	g_assert_true(sbx_ch_version_parse(c->version, &config.version, NULL));
	node = sbx_ch_vm_config_build(&config);
	append_request(out, "vm.create", node);
	for (guint i = 0; volumes != NULL && i < volumes->len; i++) {
		g_autoptr(JsonNode) disk =
		    sbx_ch_vm_config_disk_to_json(g_ptr_array_index(volumes, i), &config.version);
		check_disk(json_node_get_object(disk));
		append_request(out, "vm.add-disk", disk);
	}

	/* the body as sent parses back to the spec's values */
	compact = json_to_string(node, FALSE);
	g_assert_true(json_parser_load_from_data(parser, compact, -1, &error));
	root = json_node_get_object(json_parser_get_root(parser));
	words = c->network ? g_strconcat(c->spec.cmdline, " ", NET_WORDS, NULL)
			   : g_strdup(c->spec.cmdline);
	cmdline = sbx_ch_vm_config_cmdline(words, 1024);
	g_assert_cmpstr(json_object_get_string_member(
			    json_object_get_object_member(root, "payload"), "cmdline"),
			==, cmdline);
	g_assert_cmpstr(
	    json_object_get_string_member(json_object_get_object_member(root, "payload"), "kernel"),
	    ==, c->spec.kernel);
	g_assert_cmpint(
	    json_object_get_int_member(json_object_get_object_member(root, "memory"), "size"), ==,
	    (gint64)c->spec.memory_mib << 20);
	g_assert_cmpint(json_object_has_member(root, "net"), ==, c->network);
	if (c->network) {
		JsonObject *net =
		    json_array_get_object_element(json_object_get_array_member(root, "net"), 0);
		g_assert_cmpstr(json_object_get_string_member(net, "tap"), ==, config.tap);
		g_assert_cmpstr(json_object_get_string_member(net, "mac"), ==, config.mac);
		g_assert_cmpstr(json_object_get_string_member(net, "id"), ==, "net0");
		/* the tap is up and not multi-queue: CH must not touch it */
		g_assert_false(json_object_has_member(net, "ip"));
		g_assert_false(json_object_has_member(net, "mtu"));
		g_assert_false(json_object_has_member(net, "host_mac"));
	}
	if (json_object_has_member(root, "disks")) {
		JsonArray *disks = json_object_get_array_member(root, "disks");
		for (guint i = 0; i < json_array_get_length(disks); i++)
			check_disk(json_array_get_object_element(disks, i));
	}

	path = g_strdup_printf("%s/%s.json", TEST_DATA_DIR, c->name);
	if (g_getenv("SBX_TEST_REGENERATE_OUTPUT") != NULL) {
		g_assert_true(g_file_set_contents(path, out->str, -1, &error));
		return;
	}
	g_assert_true(g_file_get_contents(path, &expected, NULL, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(out->str, ==, expected);
}

static void
test_cmdline(void)
{
	g_autofree gchar *a = sbx_ch_vm_config_cmdline("console=ttyS0", 1024);
	g_autofree gchar *b = sbx_ch_vm_config_cmdline(NULL, 5);
	g_autofree gchar *c = sbx_ch_vm_config_cmdline("", 65535);
	g_assert_cmpstr(a, ==, "console=ttyS0 sbx.transport=vsock:1024");
	g_assert_cmpstr(b, ==, "sbx.transport=vsock:5");
	g_assert_cmpstr(c, ==, "sbx.transport=vsock:65535");
}

/* the guest finds an rbd volume by the serial its export reports */
static void
test_alias_volume(void)
{
	g_autofree gchar *a = sbx_ch_vm_config_cmdline_alias_volume(
	    "console=ttyS0 sbx.vol=vol-a:/data:rw,vol-rbd:/mnt/r:ro quiet", "vol-rbd",
	    "vhost_user_blk");
	g_autofree gchar *b = sbx_ch_vm_config_cmdline_alias_volume(
	    "sbx.vol=vol-rbd2:/x:rw,vol-rbd:/y:rw", "vol-rbd", "vhost_user_blk");
	g_autofree gchar *c = sbx_ch_vm_config_cmdline_alias_volume("console=ttyS0", "v", "w");

	g_assert_cmpstr(a, ==,
			"console=ttyS0 sbx.vol=vol-a:/data:rw,vhost_user_blk:/mnt/r:ro quiet");
	/* a serial that only starts like it is left alone */
	g_assert_cmpstr(b, ==, "sbx.vol=vol-rbd2:/x:rw,vhost_user_blk:/y:rw");
	g_assert_cmpstr(c, ==, "console=ttyS0");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *name = g_strdup_printf("/ch-vm-config/%s", cases[i].name);
		g_test_add_data_func(name, &cases[i], test_case);
	}
	g_test_add_func("/ch-vm-config/cmdline", test_cmdline);
	g_test_add_func("/ch-vm-config/alias-volume", test_alias_volume);
	return g_test_run();
}
