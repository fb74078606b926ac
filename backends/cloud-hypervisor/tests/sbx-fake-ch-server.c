/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <gio/gunixsocketaddress.h>

#include "sbx-ch-overlay.h"
#include "sbx-fake-ch-server.h"

/* micro_http: each request/header line fits a 1024-byte buffer; body <= 4 MiB */
#define LINE_MAX_BYTES 1024
#define PAYLOAD_MAX (4 << 20)
#define MAX_CONNECTIONS 10

struct _FakeChServer {
	GSocketService *service;
	SbxChVersion version;
	gint event_fd;
	gint64 started;
	FakeChVmState state;
	JsonObject *config;
	guint connections;
	guint open_connections;
	guint max_open;
	GPtrArray *requests;
	gchar *last_raw;
	gchar *fail_endpoint;
	gchar *fail_message;
	FakeChHooks hooks;
	gpointer hooks_data;
	gboolean exiting;
	GCancellable *cancellable; /* every connection's I/O */
	GList *conns;
	GArray *tap_fds;	 /* the taps the booted VM holds, as CH does */
	JsonObject *device_tree; /* a booted VM's devices and their PCI addresses */
	guint last_slot;
	gboolean disks_reversed;
};

typedef struct {
	FakeChServer *server;
	GSocketConnection *conn;
	GDataInputStream *in;
	gchar *method;
	gchar *path;
	GString *raw;
	gsize content_length;
	gboolean bad;
	guint8 *body;
	GCancellable *cancellable;
} Conn;

typedef struct {
	guint status;
	gchar *body; /* NULL: no body */
} Reply;

static const gchar *const body_less[] = {"vm.boot",	    "vm.shutdown", "vm.reboot",
					 "vm.pause",	    "vm.resume",   "vm.delete",
					 "vm.power-button", "vm.nmi",	   NULL};
static const gchar *const get_endpoints[] = {"vmm.ping", "vm.info", "vm.counters", NULL};
static const gchar *const state_names[] = {"Created", "Created", "Running", "Paused"};

static gboolean
at_least(FakeChServer *self, guint major)
{
	return sbx_ch_version_at_least(&self->version, major, 0);
}

static void
conn_free(Conn *c)
{
	/* the server may be gone: its free cancelled our I/O */
	if (c->server != NULL) {
		c->server->open_connections--;
		c->server->conns = g_list_remove(c->server->conns, c);
	}
	g_clear_object(&c->cancellable);
	g_clear_object(&c->in);
	g_clear_object(&c->conn);
	g_free(c->method);
	g_free(c->path);
	g_free(c->body);
	if (c->raw != NULL)
		g_string_free(c->raw, TRUE);
	g_free(c);
}

void
fake_ch_server_emit(FakeChServer *self, const gchar *source, const gchar *event,
		    const gchar *prop_key, const gchar *prop_value)
{
	gint64 us = g_get_monotonic_time() - self->started;
	g_autofree gchar *props = NULL;
	g_autofree gchar *text = NULL;

	if (self->event_fd < 0)
		return;
	props = prop_key != NULL
		    ? g_strdup_printf("{\n    \"%s\": \"%s\"\n  }", prop_key, prop_value)
		    : g_strdup("null");
	/* serde_json's pretty printer, then "\n\n" */
	text = g_strdup_printf("{\n  \"timestamp\": {\n    \"secs\": %" G_GINT64_FORMAT
			       ",\n    \"nanos\": %" G_GINT64_FORMAT
			       "\n  },\n  \"source\": \"%s\",\n  \"event\": \"%s\",\n"
			       "  \"properties\": %s\n}\n\n",
			       us / G_USEC_PER_SEC, (us % G_USEC_PER_SEC) * 1000, source, event,
			       props);
	/* CH sets the fd non-blocking and drops what does not fit */
	if (write(self->event_fd, text, strlen(text)) < 0)
		g_debug("event %s/%s: %s", source, event, g_strerror(errno));
}

/* the error chain, shaped as the version writes it */
static Reply
error_reply(FakeChServer *self, guint status, const gchar *top, const gchar *root)
{
	Reply r = {status, NULL};
	if (at_least(self, 47)) {
		g_autoptr(JsonBuilder) b = json_builder_new();
		g_autoptr(JsonNode) node = NULL;
		json_builder_begin_array(b);
		json_builder_add_string_value(b, "Error from API");
		json_builder_add_string_value(b, top);
		if (root != NULL)
			json_builder_add_string_value(b, root);
		json_builder_end_array(b);
		node = json_builder_get_root(b);
		r.body = json_to_string(node, FALSE);
	} else if (at_least(self, 38)) {
		r.body = root != NULL ? g_strdup_printf("Error from API: %s: %s", top, root)
				      : g_strdup_printf("Error from API: %s", top);
	} else {
		r.body = g_strdup_printf("VmError(\"%s\")", top);
	}
	return r;
}

/* ≤v52 everything is a 500; v53 says 404 for a missing VM */
static Reply
not_created(FakeChServer *self, const gchar *top)
{
	return error_reply(self, at_least(self, 53) ? 404 : 500, top, "VM is not created");
}

static Reply
ok_empty(void)
{
	return (Reply){204, NULL};
}

static guint
next_slot(FakeChServer *self)
{
	return ++self->last_slot;
}

/* vm.info's device_tree: a virtio-pci transport node with the PCI address,
 * parent of the device node named by the config's id */
static void
tree_add(FakeChServer *self, const gchar *id, guint slot)
{
	g_autofree gchar *pci_id = g_strconcat("_virtio-pci-", id, NULL);
	g_autofree gchar *bdf = g_strdup_printf("0000:00:%02x.0", slot);
	JsonObject *pci = json_object_new();
	JsonObject *dev = json_object_new();
	JsonArray *children = json_array_new();

	json_array_add_string_element(children, id);
	json_object_set_string_member(pci, "id", pci_id);
	json_object_set_array_member(pci, "resources", json_array_new());
	json_object_set_array_member(pci, "children", children);
	json_object_set_string_member(pci, "pci_bdf", bdf);
	json_object_set_object_member(self->device_tree, pci_id, pci);
	json_object_set_string_member(dev, "id", id);
	json_object_set_array_member(dev, "resources", json_array_new());
	json_object_set_string_member(dev, "parent", pci_id);
	json_object_set_array_member(dev, "children", json_array_new());
	json_object_set_object_member(self->device_tree, id, dev);
}

static void
tree_add_all(FakeChServer *self, const gchar *member)
{
	JsonArray *list = json_object_has_member(self->config, member)
			      ? json_object_get_array_member(self->config, member)
			      : NULL;

	for (guint i = 0; list != NULL && i < json_array_get_length(list); i++) {
		JsonObject *o = json_array_get_object_element(list, i);
		tree_add(self, json_object_get_string_member_with_default(o, "id", "_unnamed"),
			 next_slot(self));
	}
}

/* the devices of a VM being made (boot, restore): CH's device manager makes
 * the block devices in disks[] order, then the NICs, then the rest, each in
 * the next free PCI slot after the host bridge's (00:00.0) */
static void
build_device_tree(FakeChServer *self)
{
	g_clear_pointer(&self->device_tree, json_object_unref);
	self->device_tree = json_object_new();
	self->last_slot = 0;
	if (self->disks_reversed && json_object_has_member(self->config, "disks")) {
		JsonArray *disks = json_object_get_array_member(self->config, "disks");
		for (guint i = json_array_get_length(disks); i > 0; i--)
			tree_add(self,
				 json_object_get_string_member_with_default(
				     json_array_get_object_element(disks, i - 1), "id", "_unnamed"),
				 next_slot(self));
	} else {
		tree_add_all(self, "disks");
	}
	tree_add_all(self, "net");
	if (json_object_has_member(self->config, "vsock"))
		tree_add(self, "vsock0", next_slot(self));
}

static void
halt_vm(FakeChServer *self)
{
	if (self->state != FAKE_CH_VM_RUNNING && self->state != FAKE_CH_VM_PAUSED)
		return;
	g_clear_pointer(&self->device_tree, json_object_unref);
	if (self->hooks.halt != NULL)
		self->hooks.halt(self, self->hooks_data);
	self->state = FAKE_CH_VM_CREATED;
	fake_ch_server_emit(self, "vm", "shutdown", NULL, NULL);
}

static gboolean
qcow2_has_backing(const gchar *path, gboolean *is_qcow2)
{
	guint8 hdr[16];
	gint fd = g_open(path, O_RDONLY | O_CLOEXEC, 0);
	gssize n = fd >= 0 ? pread(fd, hdr, sizeof(hdr), 0) : -1;
	guint64 backing = 0;

	if (fd >= 0)
		close(fd);
	*is_qcow2 = n == (gssize)sizeof(hdr) && memcmp(hdr, "QFI\xfb", 4) == 0;
	if (!*is_qcow2)
		return FALSE;
	for (guint i = 8; i < 16; i++)
		backing = backing << 8 | hdr[i];
	return backing != 0;
}

static gboolean
vhost_user_reachable(const gchar *path)
{
	g_autoptr(GSocketClient) client = g_socket_client_new();
	g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(path);
	g_autoptr(GSocketConnection) conn =
	    g_socket_client_connect(client, G_SOCKET_CONNECTABLE(addr), NULL, NULL);

	return conn != NULL;
}

/* CH opens a named tap itself (net_util open_tap): with a vnet header,
 * multi-queue only for more than one queue pair; it must be there already
 * when CH may not create taps (no CAP_NET_ADMIN in a jail) */
static gboolean
open_taps(FakeChServer *self, JsonObject *config, gchar **root)
{
	JsonArray *nets = json_object_has_member(config, "net")
			      ? json_object_get_array_member(config, "net")
			      : NULL;

	for (guint i = 0; nets != NULL && i < json_array_get_length(nets); i++) {
		JsonObject *n = json_array_get_object_element(nets, i);
		const gchar *tap = json_object_get_string_member_with_default(n, "tap", NULL);
		gint64 queues = json_object_get_int_member_with_default(n, "num_queues", 2);
		struct ifreq ifr = {0};
		int fd;

		if (tap == NULL || strlen(tap) >= IFNAMSIZ) {
			*root = g_strdup("Error creating Net: no usable tap name");
			return FALSE;
		}
		fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
		ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
		if (queues > 2)
			ifr.ifr_flags |= IFF_MULTI_QUEUE;
		g_strlcpy(ifr.ifr_name, tap, IFNAMSIZ);
		if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) != 0) {
			*root = g_strdup_printf("Error creating Net: Failed to open tap %s: %s",
						tap, g_strerror(errno));
			if (fd >= 0)
				close(fd);
			return FALSE;
		}
		g_array_append_val(self->tap_fds, fd);
	}
	return TRUE;
}

/* what Vm::new / config.validate() check at boot time, for what we send */
static gboolean
validate_config(FakeChServer *self, JsonObject *config, gchar **top, gchar **root)
{
	JsonObject *payload = json_object_get_object_member(config, "payload");
	JsonObject *cpus = json_object_get_object_member(config, "cpus");
	JsonObject *memory = json_object_get_object_member(config, "memory");
	JsonArray *disks = json_object_has_member(config, "disks")
			       ? json_object_get_array_member(config, "disks")
			       : NULL;
	gboolean shared =
	    memory != NULL && json_object_get_boolean_member_with_default(memory, "shared", FALSE);

	*top = g_strdup("Error booting VM");
	if (payload == NULL || json_object_has_member(payload, "kernel") ==
				   json_object_has_member(payload, "firmware")) {
		*root = g_strdup("Error validating configuration: MissingBootitem");
		return FALSE;
	}
	if (cpus != NULL && (!json_object_has_member(cpus, "boot_vcpus") ||
			     !json_object_has_member(cpus, "max_vcpus"))) {
		*root = g_strdup("missing field `max_vcpus`");
		return FALSE;
	}
	for (guint i = 0; disks != NULL && i < json_array_get_length(disks); i++) {
		JsonObject *d = json_array_get_object_element(disks, i);
		const gchar *path = json_object_get_string_member_with_default(d, "path", NULL);
		const gchar *type =
		    json_object_get_string_member_with_default(d, "image_type", NULL);
		gboolean is_qcow2 = FALSE;
		gboolean backing;

		if (json_object_get_boolean_member_with_default(d, "vhost_user", FALSE)) {
			if (path != NULL) {
				*root = g_strdup("vhost-user disk with a path");
				return FALSE;
			}
			if (!shared) {
				*root = g_strdup("Error validating configuration: "
						 "VhostUserRequiresSharedMemory");
				return FALSE;
			}
			/* CH connects to the backend's socket when it makes the device */
			if (!vhost_user_reachable(json_object_get_string_member_with_default(
				d, "vhost_socket", ""))) {
				*root = g_strdup("Error creating vhost-user-blk: Failed to connect "
						 "to the vhost-user socket");
				return FALSE;
			}
			continue;
		}
		if (path == NULL || !g_file_test(path, G_FILE_TEST_EXISTS)) {
			*root = g_strdup_printf(
			    "Failed to open disk image %s: No such file or directory",
			    path != NULL ? path : "(null)");
			return FALSE;
		}
		/* CH opens each image itself, read-write unless readonly */
		{
			gboolean ro =
			    json_object_get_boolean_member_with_default(d, "readonly", FALSE);
			gint fd = g_open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC, 0);
			if (fd < 0) {
				*root = g_strdup_printf("Failed to open disk image %s: %s", path,
							g_strerror(errno));
				return FALSE;
			}
			close(fd);
		}
		backing = qcow2_has_backing(path, &is_qcow2);
		/* the chain is opened read-only (before v51 always followed) */
		if (backing) {
			g_autofree gchar *base = sbx_ch_overlay_backing_path(path);
			gint fd = base != NULL ? g_open(base, O_RDONLY | O_CLOEXEC, 0) : -1;
			if (fd < 0) {
				*root = g_strdup_printf("Failed to open backing file %s: %s",
							base != NULL ? base : "(unreadable header)",
							g_strerror(errno));
				return FALSE;
			}
			close(fd);
		}
		if (!at_least(self, 51))
			continue;
		if (type != NULL && g_strcmp0(type, is_qcow2 ? "Qcow2" : "Raw") != 0) {
			*root = g_strdup_printf("DiskImageTypeMismatch: %s is not %s", path, type);
			return FALSE;
		}
		/* auto-detected qcow2 forces backing files off */
		if (backing && (type == NULL || !json_object_get_boolean_member_with_default(
						    d, "backing_files", FALSE))) {
			*root = g_strdup_printf("BackingFilesDisabled: %s", path);
			return FALSE;
		}
	}
	if (!open_taps(self, config, root))
		return FALSE;
	g_clear_pointer(top, g_free);
	return TRUE;
}

static JsonObject *
parse_object(const guint8 *body, gsize len)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonNode *root;
	if (len == 0 || !json_parser_load_from_data(parser, (const gchar *)body, (gssize)len, NULL))
		return NULL;
	root = json_parser_get_root(parser);
	return JSON_NODE_HOLDS_OBJECT(root) ? json_object_ref(json_node_get_object(root)) : NULL;
}

static JsonArray *
config_disks(FakeChServer *self)
{
	if (!json_object_has_member(self->config, "disks"))
		json_object_set_array_member(self->config, "disks", json_array_new());
	return json_object_get_array_member(self->config, "disks");
}

static Reply
handle_add_disk(FakeChServer *self, JsonObject *disk)
{
	JsonArray *disks;
	const gchar *id;

	if (self->config == NULL)
		return not_created(self, "The disk could not be added to the VM");
	disks = config_disks(self);
	id = json_object_get_string_member_with_default(disk, "id", NULL);
	for (guint i = 0; id != NULL && i < json_array_get_length(disks); i++) {
		JsonObject *d = json_array_get_object_element(disks, i);
		if (g_strcmp0(json_object_get_string_member_with_default(d, "id", NULL), id) == 0)
			return error_reply(self, at_least(self, 54) ? 409 : 500,
					   "The disk could not be added to the VM",
					   "Identifier is not unique");
	}
	json_array_add_object_element(disks, json_object_ref(disk));
	if (self->state == FAKE_CH_VM_RUNNING) {
		Reply r = {200, NULL};
		guint slot = next_slot(self);
		tree_add(self, id != NULL ? id : "_disk0", slot);
		r.body = g_strdup_printf("{\"id\":\"%s\",\"bdf\":\"0000:00:%02x.0\"}",
					 id != NULL ? id : "_disk0", slot);
		return r;
	}
	return ok_empty();
}

/* cold (only created: into the config, the tap opened at boot) or hot (a
 * VM object exists, running or paused: the device is made now, its tap
 * opened as at boot, and its PCI address answered) */
static Reply
handle_add_net(FakeChServer *self, JsonObject *net)
{
	JsonArray *nets;
	const gchar *id;
	guint slot;

	if (self->config == NULL)
		return not_created(self, "The network device could not be added to the VM");
	if (!json_object_has_member(self->config, "net"))
		json_object_set_array_member(self->config, "net", json_array_new());
	nets = json_object_get_array_member(self->config, "net");
	id = json_object_get_string_member_with_default(net, "id", NULL);
	for (guint i = 0; id != NULL && i < json_array_get_length(nets); i++) {
		JsonObject *n = json_array_get_object_element(nets, i);
		if (g_strcmp0(json_object_get_string_member_with_default(n, "id", NULL), id) == 0)
			return error_reply(self, at_least(self, 54) ? 409 : 500,
					   "The network device could not be added to the VM",
					   "Identifier is not unique");
	}
	if (self->state == FAKE_CH_VM_RUNNING || self->state == FAKE_CH_VM_PAUSED) {
		g_autoptr(JsonObject) one = json_object_new();
		g_autofree gchar *root = NULL;
		JsonArray *list = json_array_new();
		Reply r = {200, NULL};

		json_array_add_object_element(list, json_object_ref(net));
		json_object_set_array_member(one, "net", list);
		if (!open_taps(self, one, &root))
			return error_reply(self, at_least(self, 54) ? 400 : 500,
					   "The network device could not be added to the VM", root);
		json_array_add_object_element(nets, json_object_ref(net));
		slot = next_slot(self);
		tree_add(self, id != NULL ? id : "_net0", slot);
		r.body = g_strdup_printf("{\"id\":\"%s\",\"bdf\":\"0000:00:%02x.0\"}",
					 id != NULL ? id : "_net0", slot);
		return r;
	}
	json_array_add_object_element(nets, json_object_ref(net));
	return ok_empty();
}

static Reply
handle_remove_device(FakeChServer *self, JsonObject *req)
{
	const gchar *id = json_object_get_string_member_with_default(req, "id", "");
	JsonArray *disks;

	if (self->config == NULL)
		return not_created(self, "The device could not be removed from the VM");
	disks = config_disks(self);
	for (guint i = 0; i < json_array_get_length(disks); i++) {
		JsonObject *d = json_array_get_object_element(disks, i);
		if (g_strcmp0(json_object_get_string_member_with_default(d, "id", NULL), id) != 0)
			continue;
		json_array_remove_element(disks, i);
		if (self->state == FAKE_CH_VM_RUNNING)
			fake_ch_server_emit(self, "vm", "device-removed", "id", id);
		return ok_empty();
	}
	return error_reply(self, at_least(self, 54) ? 404 : 500,
			   "The device could not be removed from the VM", "Unknown device id");
}

static gchar *
url_to_dir(const gchar *url)
{
	if (url == NULL || !g_str_has_prefix(url, "file://"))
		return NULL;
	return g_strdup(url + strlen("file://"));
}

static Reply
handle_snapshot(FakeChServer *self, JsonObject *req)
{
	g_autofree gchar *dir =
	    url_to_dir(json_object_get_string_member_with_default(req, "destination_url", NULL));
	g_autofree gchar *config_path = NULL;
	g_autofree gchar *text = NULL;
	g_autoptr(JsonNode) node = NULL;

	if (self->config == NULL)
		return not_created(self, "Error creating VM snapshot");
	if (self->state != FAKE_CH_VM_PAUSED)
		return error_reply(self, 500, "Error creating VM snapshot",
				   "Trying to snapshot while VM is running");
	if (dir == NULL || !g_file_test(dir, G_FILE_TEST_IS_DIR))
		return error_reply(self, 500, "Error creating VM snapshot",
				   "Invalid destination URL");
	node = json_node_init_object(json_node_alloc(), self->config);
	text = json_to_string(node, TRUE);
	config_path = g_build_filename(dir, "config.json", NULL);
	if (!g_file_set_contents(config_path, text, -1, NULL))
		return error_reply(self, 500, "Error creating VM snapshot", "write failed");
	{
		g_autofree gchar *state = g_build_filename(dir, "state.json", NULL);
		g_autofree gchar *mem = g_build_filename(dir, "memory-ranges", NULL);
		g_file_set_contents(state, "{}", -1, NULL);
		g_file_set_contents(mem, "", 0, NULL);
	}
	fake_ch_server_emit(self, "vm", "snapshotted", NULL, NULL);
	return ok_empty();
}

static Reply
handle_restore(FakeChServer *self, JsonObject *req)
{
	g_autofree gchar *dir =
	    url_to_dir(json_object_get_string_member_with_default(req, "source_url", NULL));
	g_autofree gchar *config_path = NULL;
	g_autofree gchar *text = NULL;
	gsize len = 0;
	JsonObject *config;
	g_autofree gchar *top = NULL;
	g_autofree gchar *root = NULL;
	g_autoptr(GError) error = NULL;

	if (self->config != NULL)
		return error_reply(self, 500, "Error restoring VM", "VM is already created");
	if (dir == NULL)
		return error_reply(self, 500, "Error restoring VM", "Invalid source URL");
	config_path = g_build_filename(dir, "config.json", NULL);
	if (!g_file_get_contents(config_path, &text, &len, NULL) ||
	    (config = parse_object((const guint8 *)text, len)) == NULL)
		return error_reply(self, 500, "Error restoring VM", "Cannot read config.json");
	if (!validate_config(self, config, &top, &root)) {
		json_object_unref(config);
		return error_reply(self, 500, "Error restoring VM", root);
	}
	self->config = config;
	if (self->hooks.boot != NULL && !self->hooks.boot(self, config, self->hooks_data, &error)) {
		g_clear_pointer(&self->config, json_object_unref);
		return error_reply(self, 500, "Error restoring VM", error->message);
	}
	self->state = FAKE_CH_VM_PAUSED;
	build_device_tree(self);
	fake_ch_server_emit(self, "vm", "restored", NULL, NULL);
	/* "resume" only exists from v52 on; older versions ignore it */
	if (at_least(self, 52) && json_object_get_boolean_member_with_default(req, "resume", FALSE))
		self->state = FAKE_CH_VM_RUNNING;
	return ok_empty();
}

static Reply
handle_info(FakeChServer *self)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) node = NULL;
	Reply r = {200, NULL};

	if (self->config == NULL)
		return not_created(self, "The VM info is not available");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "config");
	json_builder_add_value(b, json_node_init_object(json_node_alloc(), self->config));
	json_builder_set_member_name(b, "state");
	json_builder_add_string_value(b, state_names[self->state]);
	json_builder_set_member_name(b, "memory_actual_size");
	json_builder_add_int_value(b, 0);
	/* absent until the VM is booted */
	if (self->device_tree != NULL) {
		json_builder_set_member_name(b, "device_tree");
		json_builder_add_value(b,
				       json_node_init_object(json_node_alloc(), self->device_tree));
	}
	json_builder_end_object(b);
	node = json_builder_get_root(b);
	r.body = json_to_string(node, FALSE);
	return r;
}

static Reply
handle_ping(FakeChServer *self)
{
	g_autofree gchar *version = sbx_ch_version_to_string(&self->version);
	GString *s = g_string_new("{");
	/* build_version and pid since v32, features since v36 */
	if (at_least(self, 32))
		g_string_append_printf(s, "\"build_version\":\"v%s\",", version);
	g_string_append_printf(s, "\"version\":\"%s\"", version);
	if (at_least(self, 32))
		g_string_append_printf(s, ",\"pid\":%d", (gint)getpid());
	if (at_least(self, 36))
		g_string_append(s, ",\"features\":[\"kvm\"]");
	g_string_append_c(s, '}');
	return (Reply){200, g_string_free(s, FALSE)};
}

static gboolean
poweroff_cb(gpointer user_data)
{
	fake_ch_server_guest_poweroff(user_data);
	return G_SOURCE_REMOVE;
}

static Reply
dispatch(FakeChServer *self, const gchar *method, const gchar *endpoint, const guint8 *body,
	 gsize len)
{
	gboolean is_get = g_strv_contains(get_endpoints, endpoint);
	g_autoptr(JsonObject) obj = NULL;

	if (g_strcmp0(method, is_get ? "GET" : "PUT") != 0)
		return error_reply(self, 400, "Invalid HTTP method", NULL);
	if ((is_get || g_strv_contains(body_less, endpoint)) && len > 0)
		return error_reply(self, 400, "Unexpected body", NULL);
	if (self->fail_endpoint != NULL && g_strcmp0(self->fail_endpoint, endpoint) == 0) {
		g_autofree gchar *message = g_steal_pointer(&self->fail_message);
		g_clear_pointer(&self->fail_endpoint, g_free);
		return error_reply(self, 500, "Injected failure", message);
	}

	if (g_strcmp0(endpoint, "vmm.ping") == 0)
		return handle_ping(self);
	if (g_strcmp0(endpoint, "vm.info") == 0)
		return handle_info(self);
	if (g_strcmp0(endpoint, "vm.counters") == 0)
		return self->state == FAKE_CH_VM_RUNNING
			   ? (Reply){200, g_strdup("{}")}
			   : error_reply(self, 500, "Error getting counters", "VM is not booted");
	if (g_strcmp0(endpoint, "vmm.shutdown") == 0) {
		halt_vm(self);
		if (self->config != NULL)
			fake_ch_server_emit(self, "vm", "deleted", NULL, NULL);
		g_clear_pointer(&self->config, json_object_unref);
		self->state = FAKE_CH_VM_NONE;
		self->exiting = TRUE;
		fake_ch_server_emit(self, "vmm", "shutdown", NULL, NULL);
		/* 200 with an empty body, whatever the OpenAPI file says */
		return (Reply){200, g_strdup("")};
	}
	if (g_strv_contains(body_less, endpoint) ||
	    g_strv_contains((const gchar *const[]){"vm.create", "vm.add-disk", "vm.add-net",
						   "vm.remove-device", "vm.snapshot", "vm.restore",
						   NULL},
			    endpoint)) {
		if (!g_strv_contains(body_less, endpoint) &&
		    (obj = parse_object(body, len)) == NULL)
			return error_reply(self, 400, "Error parsing the request body",
					   "expected value at line 1 column 1");
	} else {
		return (Reply){404, g_strdup("")};
	}

	if (g_strcmp0(endpoint, "vm.create") == 0) {
		if (self->config != NULL)
			return error_reply(self, 500, "Failed to create the VM",
					   "VM is already created");
		self->config = json_object_ref(obj);
		self->state = FAKE_CH_VM_CREATED;
		return ok_empty();
	}
	if (g_strcmp0(endpoint, "vm.boot") == 0) {
		g_autofree gchar *top = NULL;
		g_autofree gchar *root = NULL;
		g_autoptr(GError) error = NULL;
		if (self->config == NULL)
			return not_created(self, "Error booting VM");
		if (self->state != FAKE_CH_VM_CREATED)
			return error_reply(self, 500, "Error booting VM", "VM is already booted");
		fake_ch_server_emit(self, "vm", "booting", NULL, NULL);
		if (!validate_config(self, self->config, &top, &root))
			return error_reply(self, 500, top, root);
		if (self->hooks.boot != NULL &&
		    !self->hooks.boot(self, self->config, self->hooks_data, &error))
			return error_reply(self, 500, "Error booting VM", error->message);
		self->state = FAKE_CH_VM_RUNNING;
		build_device_tree(self);
		fake_ch_server_emit(self, "vm", "booted", NULL, NULL);
		return ok_empty();
	}
	if (g_strcmp0(endpoint, "vm.shutdown") == 0) {
		if (self->config == NULL)
			return not_created(self, "Error shutting down VM");
		if (self->state == FAKE_CH_VM_CREATED)
			return error_reply(self, 500, "Error shutting down VM", "VM is not booted");
		halt_vm(self);
		return ok_empty();
	}
	if (g_strcmp0(endpoint, "vm.delete") == 0) {
		halt_vm(self);
		if (self->config != NULL)
			fake_ch_server_emit(self, "vm", "deleted", NULL, NULL);
		g_clear_pointer(&self->config, json_object_unref);
		self->state = FAKE_CH_VM_NONE;
		return ok_empty();
	}
	if (g_strcmp0(endpoint, "vm.power-button") == 0) {
		if (self->state != FAKE_CH_VM_RUNNING)
			return error_reply(self, 500, "Error activating power button",
					   "VM is not booted");
		/* the guest takes a moment to act on ACPI */
		g_timeout_add(50, poweroff_cb, self);
		return ok_empty();
	}
	if (g_strcmp0(endpoint, "vm.pause") == 0 || g_strcmp0(endpoint, "vm.resume") == 0) {
		gboolean pause = g_strcmp0(endpoint, "vm.pause") == 0;
		if (self->config == NULL)
			return not_created(self, pause ? "Error pausing VM" : "Error resuming VM");
		if (self->state != (pause ? FAKE_CH_VM_RUNNING : FAKE_CH_VM_PAUSED))
			return error_reply(self, 500,
					   pause ? "Error pausing VM" : "Error resuming VM",
					   "Invalid VM state transition");
		self->state = pause ? FAKE_CH_VM_PAUSED : FAKE_CH_VM_RUNNING;
		fake_ch_server_emit(self, "vm", pause ? "paused" : "resumed", NULL, NULL);
		return ok_empty();
	}
	if (g_strcmp0(endpoint, "vm.add-disk") == 0)
		return handle_add_disk(self, obj);
	if (g_strcmp0(endpoint, "vm.add-net") == 0)
		return handle_add_net(self, obj);
	if (g_strcmp0(endpoint, "vm.remove-device") == 0)
		return handle_remove_device(self, obj);
	if (g_strcmp0(endpoint, "vm.snapshot") == 0)
		return handle_snapshot(self, obj);
	if (g_strcmp0(endpoint, "vm.restore") == 0)
		return handle_restore(self, obj);
	/* reboot, nmi: accepted, nothing to simulate */
	return ok_empty();
}

static const gchar *
reason(guint status)
{
	switch (status) {
	case 200:
		return "OK";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 409:
		return "Conflict";
	case 429:
		return "Too Many Requests";
	default:
		return "Internal Server Error";
	}
}

static void read_request(Conn *c);

static void
on_written(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Conn *c = user_data;
	FakeChServer *self = c->server;

	if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(source), res, NULL, NULL) ||
	    self == NULL) {
		conn_free(c);
		return;
	}
	if (self->exiting && self->hooks.exit != NULL) {
		g_output_stream_flush(G_OUTPUT_STREAM(source), NULL, NULL);
		self->hooks.exit(self, self->hooks_data);
	}
	/* keep-alive: the next request on the same connection */
	read_request(c);
}

static void
respond(Conn *c, Reply r)
{
	GString *out = g_string_new(NULL);
	gsize len = 0;
	gchar *data;

	g_string_append_printf(out,
			       "HTTP/1.1 %u %s\r\nServer: Cloud Hypervisor API\r\n"
			       "Connection: keep-alive\r\n",
			       r.status, reason(r.status));
	/* 204 has neither Content-Type nor Content-Length */
	if (r.status != 204)
		g_string_append_printf(out,
				       "Content-Type: application/json\r\nContent-Length: %zu\r\n",
				       r.body != NULL ? strlen(r.body) : 0);
	g_string_append(out, "\r\n");
	if (r.status != 204 && r.body != NULL)
		g_string_append(out, r.body);
	g_free(r.body);
	len = out->len;
	data = g_string_free(out, FALSE);
	g_object_set_data_full(G_OBJECT(c->conn), "reply", data, g_free);
	g_output_stream_write_all_async(g_io_stream_get_output_stream(G_IO_STREAM(c->conn)), data,
					len, G_PRIORITY_DEFAULT, c->cancellable, on_written, c);
}

static void
handle(Conn *c)
{
	FakeChServer *self = c->server;
	const gchar *endpoint;

	/* the snapshot calls and hot-plugs with their bodies: what the tests check */
	if (g_str_has_suffix(c->path, "/vm.restore") || g_str_has_suffix(c->path, "/vm.snapshot") ||
	    g_str_has_suffix(c->path, "/vm.add-net"))
		g_ptr_array_add(self->requests,
				g_strdup_printf("%s %s %.*s", c->method, c->path,
						(gint)c->content_length, (const gchar *)c->body));
	else
		g_ptr_array_add(self->requests, g_strdup_printf("%s %s", c->method, c->path));
	g_string_append_len(c->raw, (const gchar *)c->body, (gssize)c->content_length);
	g_free(self->last_raw);
	self->last_raw = g_strdup(c->raw->str);
	if (c->bad) {
		respond(c, error_reply(self, 400, "Bad request", NULL));
		return;
	}
	if (!g_str_has_prefix(c->path, "/api/v1/")) {
		respond(c, (Reply){404, g_strdup("")});
		return;
	}
	endpoint = c->path + strlen("/api/v1/");
	respond(c, dispatch(self, c->method, endpoint, c->body, c->content_length));
}

static void
on_body(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Conn *c = user_data;
	gsize n = 0;
	if (!g_input_stream_read_all_finish(G_INPUT_STREAM(source), res, &n, NULL) ||
	    n != c->content_length || c->server == NULL) {
		conn_free(c);
		return;
	}
	handle(c);
}

static void
on_line(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Conn *c = user_data;
	gsize len = 0;
	g_autofree gchar *line =
	    g_data_input_stream_read_line_finish(G_DATA_INPUT_STREAM(source), res, &len, NULL);

	if (line == NULL || len >= LINE_MAX_BYTES || c->server == NULL) {
		conn_free(c);
		return;
	}
	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	g_string_append_printf(c->raw, "%s\r\n", line);
	if (c->method == NULL) {
		g_auto(GStrv) parts = g_strsplit(line, " ", 3);
		if (g_strv_length(parts) != 3 || !g_str_has_prefix(parts[2], "HTTP/1.")) {
			conn_free(c);
			return;
		}
		c->method = g_strdup(parts[0]);
		c->path = g_strdup(parts[1]);
	} else if (len == 0) {
		if (c->content_length == 0) {
			handle(c);
			return;
		}
		c->body = g_malloc(c->content_length);
		g_input_stream_read_all_async(G_INPUT_STREAM(c->in), c->body, c->content_length,
					      G_PRIORITY_DEFAULT, c->cancellable, on_body, c);
		return;
	} else if (g_ascii_strncasecmp(line, "Content-Length:", 15) == 0) {
		guint64 value = 0;
		g_autofree gchar *v = g_strstrip(g_strdup(line + 15));
		/* an invalid value is fatal for micro_http */
		if (!g_ascii_string_to_unsigned(v, 10, 0, PAYLOAD_MAX, &value, NULL)) {
			conn_free(c);
			return;
		}
		c->content_length = (gsize)value;
	} else if (g_ascii_strncasecmp(line, "Transfer-Encoding:", 18) == 0) {
		/* micro_http still reads by Content-Length: never valid for us */
		c->bad = TRUE;
	}
	g_data_input_stream_read_line_async(c->in, G_PRIORITY_DEFAULT, c->cancellable, on_line, c);
}

static void
read_request(Conn *c)
{
	g_clear_pointer(&c->method, g_free);
	g_clear_pointer(&c->path, g_free);
	g_clear_pointer(&c->body, g_free);
	c->content_length = 0;
	c->bad = FALSE;
	g_string_truncate(c->raw, 0);
	g_data_input_stream_read_line_async(c->in, G_PRIORITY_DEFAULT, c->cancellable, on_line, c);
}

static gboolean
on_incoming(GSocketService *service, GSocketConnection *conn, GObject *source, gpointer user_data)
{
	FakeChServer *self = user_data;
	Conn *c;

	if (self->open_connections >= MAX_CONNECTIONS)
		return FALSE;
	c = g_new0(Conn, 1);
	c->server = self;
	c->conn = g_object_ref(conn);
	c->in = g_data_input_stream_new(g_io_stream_get_input_stream(G_IO_STREAM(conn)));
	g_data_input_stream_set_newline_type(c->in, G_DATA_STREAM_NEWLINE_TYPE_LF);
	c->raw = g_string_new(NULL);
	c->cancellable = g_object_ref(self->cancellable);
	self->conns = g_list_prepend(self->conns, c);
	self->connections++;
	self->open_connections++;
	self->max_open = MAX(self->max_open, self->open_connections);
	read_request(c);
	return TRUE;
}

FakeChServer *
fake_ch_server_new(GSocket *listener, const SbxChVersion *version, gint event_fd)
{
	FakeChServer *self = g_new0(FakeChServer, 1);
	g_autoptr(GError) error = NULL;

	self->version = *version;
	self->event_fd = event_fd;
	self->started = g_get_monotonic_time();
	self->requests = g_ptr_array_new_with_free_func(g_free);
	self->tap_fds = g_array_new(FALSE, FALSE, sizeof(int));
	self->cancellable = g_cancellable_new();
	self->service = g_socket_service_new();
	if (!g_socket_listener_add_socket(G_SOCKET_LISTENER(self->service), listener, NULL, &error))
		g_error("fake cloud-hypervisor: %s", error->message);
	g_signal_connect(self->service, "incoming", G_CALLBACK(on_incoming), self);
	g_socket_service_start(self->service);
	fake_ch_server_emit(self, "vmm", "starting", NULL, NULL);
	return self;
}

void
fake_ch_server_set_hooks(FakeChServer *self, const FakeChHooks *hooks, gpointer user_data)
{
	self->hooks = *hooks;
	self->hooks_data = user_data;
}

void
fake_ch_server_free(FakeChServer *self)
{
	for (GList *l = self->conns; l != NULL; l = l->next)
		((Conn *)l->data)->server = NULL;
	g_list_free(self->conns);
	g_cancellable_cancel(self->cancellable);
	g_object_unref(self->cancellable);
	g_socket_service_stop(self->service);
	g_socket_listener_close(G_SOCKET_LISTENER(self->service));
	g_object_unref(self->service);
	g_clear_pointer(&self->device_tree, json_object_unref);
	g_clear_pointer(&self->config, json_object_unref);
	g_ptr_array_unref(self->requests);
	g_free(self->last_raw);
	g_free(self->fail_endpoint);
	g_free(self->fail_message);
	for (guint i = 0; i < self->tap_fds->len; i++)
		close(g_array_index(self->tap_fds, int, i));
	g_array_unref(self->tap_fds);
	g_free(self);
}

FakeChVmState
fake_ch_server_get_state(FakeChServer *self)
{
	return self->state;
}

JsonObject *
fake_ch_server_get_config(FakeChServer *self)
{
	return self->config;
}

guint
fake_ch_server_get_connections(FakeChServer *self)
{
	return self->connections;
}

guint
fake_ch_server_get_max_open(FakeChServer *self)
{
	return self->max_open;
}

GPtrArray *
fake_ch_server_get_requests(FakeChServer *self)
{
	return self->requests;
}

const gchar *
fake_ch_server_get_last_raw(FakeChServer *self)
{
	return self->last_raw;
}

void
fake_ch_server_guest_poweroff(FakeChServer *self)
{
	if (self->state != FAKE_CH_VM_RUNNING)
		return;
	halt_vm(self);
	fake_ch_server_emit(self, "vm", "deleted", NULL, NULL);
	g_clear_pointer(&self->config, json_object_unref);
	self->state = FAKE_CH_VM_NONE;
	fake_ch_server_emit(self, "vmm", "shutdown", NULL, NULL);
	if (self->hooks.exit != NULL)
		self->hooks.exit(self, self->hooks_data);
}

void
fake_ch_server_set_disks_reversed(FakeChServer *self, gboolean reversed)
{
	self->disks_reversed = reversed;
}

void
fake_ch_server_inject_failure(FakeChServer *self, const gchar *endpoint, const gchar *message)
{
	g_free(self->fail_endpoint);
	g_free(self->fail_message);
	self->fail_endpoint = g_strdup(endpoint);
	self->fail_message = g_strdup(message);
}
