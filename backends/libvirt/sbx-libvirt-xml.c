/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gio/gio.h>
#include <string.h>

#include "sbx-libvirt-xml.h"

static gboolean
check_path(const gchar *what, const gchar *path, gboolean optional, GError **error)
{
	if (path == NULL && optional)
		return TRUE;
	if (path == NULL || !g_path_is_absolute(path) || !g_utf8_validate(path, -1, NULL)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "%s must be an absolute UTF-8 path", what);
		return FALSE;
	}
	return TRUE;
}

static gboolean
check_id(const gchar *id, GError **error)
{
	gsize len = id != NULL ? strlen(id) : 0;

	if (len == 0 || len > 63) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "vm id must be 1 to 63 bytes");
		return FALSE;
	}
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_islower(id[i]) && !g_ascii_isdigit(id[i]) && id[i] != '-') {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "vm id may only contain [a-z0-9-]");
			return FALSE;
		}
	}
	return TRUE;
}

gchar *
sbx_libvirt_xml_tap_name(const gchar *id)
{
	g_autofree gchar *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, id, -1);

	/* IFNAMSIZ leaves 15 bytes; libvirt keeps "vnet" names for itself */
	return g_strdup_printf("sbt%.12s", sum);
}

gboolean
sbx_libvirt_xml_validate_spec(const SbxVmSpec *spec, GError **error)
{
	if (!check_id(spec->id, error))
		return FALSE;
	if (spec->memory_mib == 0 || spec->vcpus == 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "vm %s: memory and vcpus must not be zero", spec->id);
		return FALSE;
	}
	if (!check_path("kernel", spec->kernel, FALSE, error) ||
	    !check_path("initrd", spec->initrd, TRUE, error) ||
	    !check_path("agent socket", spec->agent_socket, FALSE, error) ||
	    !check_path("console log", spec->console_log, FALSE, error)) {
		g_prefix_error(error, "vm %s: ", spec->id);
		return FALSE;
	}
	if (!check_path("root disk", spec->root_disk, TRUE, error)) {
		g_prefix_error(error, "vm %s: ", spec->id);
		return FALSE;
	}
	if (spec->root_format != NULL && g_strcmp0(spec->root_format, "qcow2") != 0 &&
	    g_strcmp0(spec->root_format, "raw") != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "vm %s: root disk format must be qcow2 or raw", spec->id);
		return FALSE;
	}
	if (spec->cmdline != NULL && !g_utf8_validate(spec->cmdline, -1, NULL)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "vm %s: kernel command line is not UTF-8", spec->id);
		return FALSE;
	}
	return TRUE;
}

/* every caller string goes through g_markup_printf_escaped */
static void append_escaped(GString *xml, const gchar *format, ...) G_GNUC_PRINTF(2, 3);

static void
append_escaped(GString *xml, const gchar *format, ...)
{
	va_list args;
	g_autofree gchar *tmp = NULL;

	va_start(args, format);
	tmp = g_markup_vprintf_escaped(format, args);
	va_end(args);
	g_string_append(xml, tmp);
}

static gboolean
volume_disk_check(const SbxVmDisk *disk, GError **error)
{
	const SbxDiskSource *src = disk->source;
	gboolean ok = src != NULL && disk->serial != NULL && disk->target != NULL &&
		      strlen(disk->serial) <= 20 && g_str_has_prefix(disk->target, "vd") &&
		      strlen(disk->target) == 3 && g_ascii_islower(disk->target[2]);

	for (const gchar *p = disk->serial; ok && *p != '\0'; p++)
		ok = g_ascii_isalnum(*p) || *p == '-' || *p == '_';
	if (ok && src->kind == SBX_DISK_SOURCE_FILE)
		ok = src->path != NULL && g_path_is_absolute(src->path) &&
		     g_utf8_validate(src->path, -1, NULL) &&
		     (g_strcmp0(src->format, "qcow2") == 0 || g_strcmp0(src->format, "raw") == 0);
	else if (ok && src->kind == SBX_DISK_SOURCE_RBD)
		ok = src->pool != NULL && src->image != NULL && src->monitors != NULL &&
		     src->monitors[0] != NULL && g_utf8_validate(src->pool, -1, NULL) &&
		     g_utf8_validate(src->image, -1, NULL);
	else
		ok = FALSE;
	if (!ok)
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "volume disk %s: incomplete or invalid disk source",
			    disk->serial != NULL ? disk->serial : "(none)");
	return ok;
}

/* a durable volume: found in the guest by its serial */
static gboolean
append_volume_disk(GString *xml, const SbxVmDisk *disk, const gchar *secret, GError **error)
{
	const SbxDiskSource *src = disk->source;

	if (!volume_disk_check(disk, error))
		return FALSE;
	if (src->kind == SBX_DISK_SOURCE_FILE) {
		append_escaped(xml,
			       "    <disk type='file' device='disk'>\n"
			       "      <driver name='qemu' type='%s' discard='unmap'/>\n"
			       "      <source file='%s'/>\n",
			       src->format, src->path);
	} else {
		g_string_append(xml, "    <disk type='network' device='disk'>\n"
				     "      <driver name='qemu' type='raw' discard='unmap'/>\n");
		if (src->auth_user != NULL && secret != NULL && secret[0] != '\0')
			append_escaped(xml,
				       "      <auth username='%s'>\n"
				       "        <secret type='ceph' uuid='%s'/>\n"
				       "      </auth>\n",
				       src->auth_user, secret);
		append_escaped(xml, "      <source protocol='rbd' name='%s/%s'>\n", src->pool,
			       src->image);
		for (guint i = 0; src->monitors[i] != NULL; i++) {
			g_autofree gchar *host = g_strdup(src->monitors[i]);
			gchar *colon = strrchr(host, ':');
			const gchar *port = "6789";
			if (colon != NULL && strchr(colon, ']') == NULL) {
				*colon = '\0';
				port = colon + 1;
			}
			/* "[::1]" -> "::1" */
			if (host[0] == '[' && host[strlen(host) - 1] == ']') {
				host[strlen(host) - 1] = '\0';
				memmove(host, host + 1, strlen(host));
			}
			append_escaped(xml, "        <host name='%s' port='%s'/>\n", host, port);
		}
		g_string_append(xml, "      </source>\n");
	}
	append_escaped(xml,
		       "      <target dev='%s' bus='virtio'/>\n"
		       "      <serial>%s</serial>\n",
		       disk->target, disk->serial);
	if (disk->read_only)
		g_string_append(xml, "      <readonly/>\n");
	g_string_append(xml, "    </disk>\n");
	return TRUE;
}

gchar *
sbx_libvirt_xml_domain_new(const SbxVmSpec *spec, const SbxLibvirtXmlOptions *opts, GError **error)
{
	g_autoptr(GString) xml = g_string_new(NULL);

	if (!sbx_libvirt_xml_validate_spec(spec, error))
		return NULL;
	if (!check_path("disk", opts->disk_path, TRUE, error) ||
	    !check_path("disk backing", opts->disk_backing, TRUE, error)) {
		g_prefix_error(error, "vm %s: ", spec->id);
		return NULL;
	}

	append_escaped(xml, "<domain type='%s'>\n", opts->domain_type);
	append_escaped(xml, "  <name>%s</name>\n", spec->id);
	g_string_append(xml, "  <metadata>\n");
	append_escaped(xml, "    <sbx:sandbox xmlns:sbx='%s'>\n", SBX_LIBVIRT_METADATA_URI);
	append_escaped(xml, "      <sbx:run-dir>%s</sbx:run-dir>\n",
		       spec->run_dir != NULL ? spec->run_dir : "");
	append_escaped(xml, "      <sbx:console-log>%s</sbx:console-log>\n", spec->console_log);
	if (opts->disk_path != NULL)
		append_escaped(xml, "      <sbx:disk>%s</sbx:disk>\n", opts->disk_path);
	if (opts->ip != NULL)
		append_escaped(xml, "      <sbx:ip>%s</sbx:ip>\n", opts->ip);
	g_string_append(xml, "    </sbx:sandbox>\n");
	g_string_append(xml, "  </metadata>\n");
	append_escaped(xml, "  <memory unit='MiB'>%u</memory>\n", spec->memory_mib);
	append_escaped(xml, "  <vcpu placement='static'>%u</vcpu>\n", spec->vcpus);

	g_string_append(xml, "  <os>\n");
	if (opts->machine != NULL)
		append_escaped(xml, "    <type machine='%s'>hvm</type>\n", opts->machine);
	else
		g_string_append(xml, "    <type>hvm</type>\n");
	append_escaped(xml, "    <kernel>%s</kernel>\n", spec->kernel);
	if (spec->initrd != NULL)
		append_escaped(xml, "    <initrd>%s</initrd>\n", spec->initrd);
	if (opts->extra_cmdline != NULL && opts->extra_cmdline[0] != '\0') {
		g_autofree gchar *cmdline = g_strjoin(
		    " ", spec->cmdline != NULL ? spec->cmdline : "", opts->extra_cmdline, NULL);
		append_escaped(xml, "    <cmdline>%s</cmdline>\n", g_strstrip(cmdline));
	} else if (spec->cmdline != NULL && spec->cmdline[0] != '\0') {
		append_escaped(xml, "    <cmdline>%s</cmdline>\n", spec->cmdline);
	}
	g_string_append(xml, "  </os>\n");
	g_string_append(xml, "  <features>\n    <acpi/>\n");
	/* bounded: QEMU touches its buffer page by page up to min(1 GiB, RAM / 8) */
	if (g_strcmp0(opts->domain_type, "qemu") == 0 && opts->tb_cache_mib > 0)
		append_escaped(xml,
			       "    <tcg>\n      <tb-cache unit='MiB'>%u</tb-cache>\n    </tcg>\n",
			       opts->tb_cache_mib);
	g_string_append(xml, "  </features>\n");
	if (opts->cpu_model != NULL) {
		append_escaped(xml,
			       "  <cpu mode='custom' match='exact' check='none'>\n"
			       "    <model fallback='forbid'>%s</model>\n"
			       "  </cpu>\n",
			       opts->cpu_model);
	} else if (g_strcmp0(opts->domain_type, "kvm") == 0) {
		/* sandboxes never migrate: give them everything the host cpu has */
		g_string_append(xml, "  <cpu mode='host-passthrough' check='none'/>\n");
	}
	g_string_append(xml, "  <clock offset='utc'/>\n");
	/* a sandbox never reboots: any stop ends it */
	g_string_append(xml, "  <on_poweroff>destroy</on_poweroff>\n"
			     "  <on_reboot>destroy</on_reboot>\n"
			     "  <on_crash>destroy</on_crash>\n");

	g_string_append(xml, "  <devices>\n");
	if (opts->emulator != NULL)
		append_escaped(xml, "    <emulator>%s</emulator>\n", opts->emulator);
	/* virtlogd opens the file as root and hands QEMU the fd */
	append_escaped(xml,
		       "    <serial type='file'>\n"
		       "      <source path='%s' append='off'/>\n"
		       "      <target port='0'/>\n"
		       "    </serial>\n",
		       spec->console_log);
	/* the overlay lives and dies with the sandbox: flushes buy nothing */
	if (opts->disk_path != NULL) {
		append_escaped(xml,
			       "    <disk type='file' device='disk'>\n"
			       "      <driver name='qemu' type='%s' cache='unsafe' "
			       "discard='unmap'/>\n"
			       "      <source file='%s'/>\n",
			       opts->disk_format != NULL ? opts->disk_format : "qcow2",
			       opts->disk_path);
		/* the shared base stays root's 0444: libvirt would chown it to
		 * QEMU's user for good (it never restores read-only images) */
		if (opts->disk_backing != NULL) {
			append_escaped(xml,
				       "      <backingStore type='file'>\n"
				       "        <format type='%s'/>\n"
				       "        <source file='%s'>\n"
				       "          <seclabel model='dac' relabel='no'/>\n"
				       "        </source>\n"
				       "        <backingStore/>\n"
				       "      </backingStore>\n",
				       opts->disk_backing_format != NULL ? opts->disk_backing_format
									 : "qcow2",
				       opts->disk_backing);
		}
		g_string_append(xml, "      <target dev='vda' bus='virtio'/>\n"
				     "    </disk>\n");
	}
	for (guint i = 0; spec->disks != NULL && i < spec->disks->len; i++) {
		const gchar *secret = opts->disk_secrets != NULL ? opts->disk_secrets[i] : NULL;
		if (!append_volume_disk(xml, g_ptr_array_index(spec->disks, i), secret, error))
			return NULL;
	}
	if (opts->network != NULL) {
		g_autofree gchar *tap = sbx_libvirt_xml_tap_name(spec->id);

		g_string_append(xml, "    <interface type='network'>\n");
		if (opts->mac != NULL)
			append_escaped(xml, "      <mac address='%s'/>\n", opts->mac);
		/* the guest is hostile: no frame to another sandbox's port, and
		 * only its own MAC and address, over IPv4 and ARP (clean-traffic
		 * drops every other ethertype, IPv6 included); the host's rules
		 * find it by its tap name */
		append_escaped(xml,
			       "      <source network='%s'/>\n"
			       "      <target dev='%s'/>\n"
			       "      <model type='virtio'/>\n"
			       "      <port isolated='yes'/>\n",
			       opts->network, tap);
		if (opts->ip != NULL)
			append_escaped(xml,
				       "      <filterref filter='clean-traffic'>\n"
				       "        <parameter name='IP' value='%s'/>\n"
				       "      </filterref>\n",
				       opts->ip);
		else
			g_string_append(xml, "      <filterref filter='clean-traffic'/>\n");
		g_string_append(xml, "    </interface>\n");
	}
	g_string_append(xml, "    <controller type='virtio-serial' index='0'/>\n");
	/* libvirtd creates the listening socket and passes it to QEMU */
	append_escaped(xml,
		       "    <channel type='unix'>\n"
		       "      <source mode='bind' path='%s'/>\n"
		       "      <target type='virtio' name='%s'/>\n"
		       "    </channel>\n",
		       spec->agent_socket, SBX_LIBVIRT_AGENT_PORT);
	/* nothing else: fewer devices boot faster */
	g_string_append(xml, "    <controller type='usb' model='none'/>\n"
			     "    <memballoon model='none'/>\n");
	g_string_append(xml, "  </devices>\n");
	g_string_append(xml, "</domain>\n");
	return g_string_free(g_steal_pointer(&xml), FALSE);
}
