/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sbx-ch-vm-config.h"
#include "sbx-cmdline-keys.h"

/* the guest's context id: any value > 2 will do, each VMM has its own device */
#define SBX_CH_GUEST_CID 3

SbxChDisk *
sbx_ch_vm_config_disk_new(const gchar *id)
{
	SbxChDisk *disk = g_new0(SbxChDisk, 1);
	disk->id = g_strdup(id);
	return disk;
}

void
sbx_ch_vm_config_disk_free(SbxChDisk *disk)
{
	if (disk == NULL)
		return;
	g_free(disk->id);
	g_free(disk->path);
	g_free(disk->image_type);
	g_free(disk->backing);
	g_free(disk->vhost_socket);
	g_free(disk->serial);
	g_free(disk);
}

gchar *
sbx_ch_vm_config_cmdline(const gchar *cmdline, guint agent_port)
{
	return g_strdup_printf("%s%s" SBX_CMDLINE_TRANSPORT "=vsock:%u",
			       cmdline != NULL ? cmdline : "",
			       cmdline != NULL && cmdline[0] != '\0' ? " " : "", agent_port);
}

gchar *
sbx_ch_vm_config_cmdline_alias_volume(const gchar *cmdline, const gchar *serial, const gchar *alias)
{
	g_auto(GStrv) words = g_strsplit(cmdline != NULL ? cmdline : "", " ", -1);
	g_autofree gchar *prefix = g_strconcat(serial, ":", NULL);

	for (guint i = 0; words[i] != NULL; i++) {
		g_auto(GStrv) items = NULL;
		if (!g_str_has_prefix(words[i], SBX_CMDLINE_VOL "="))
			continue;
		items = g_strsplit(words[i] + strlen(SBX_CMDLINE_VOL "="), ",", -1);
		for (guint j = 0; items[j] != NULL; j++) {
			if (g_str_has_prefix(items[j], prefix)) {
				gchar *item = g_strconcat(alias, items[j] + strlen(serial), NULL);
				g_free(items[j]);
				items[j] = item;
			}
		}
		g_free(words[i]);
		{
			g_autofree gchar *value = g_strjoinv(",", items);
			words[i] = g_strconcat(SBX_CMDLINE_VOL "=", value, NULL);
		}
	}
	return g_strjoinv(" ", words);
}

/* a tap CH opens by name (vm.create takes no fds): up already, so the jailed
 * VMM needs no CAP_NET_ADMIN; no ip/mtu/host_mac, which CH would set on it;
 * one queue pair, as the tap is not multi-queue. vm.create's net[0], and a
 * clone's vm.add-net */
JsonNode *
sbx_ch_vm_config_net_to_json(const gchar *tap, const gchar *mac)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "id");
	json_builder_add_string_value(b, "net0");
	json_builder_set_member_name(b, "tap");
	json_builder_add_string_value(b, tap);
	json_builder_set_member_name(b, "mac");
	json_builder_add_string_value(b, mac);
	json_builder_set_member_name(b, "num_queues");
	json_builder_add_int_value(b, 2);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

JsonNode *
sbx_ch_vm_config_disk_to_json(const SbxChDisk *disk, const SbxChVersion *version)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "id");
	json_builder_add_string_value(b, disk->id);
	if (disk->vhost_socket != NULL) {
		/* vhost-user: no path, no image type; the export decides read-only */
		json_builder_set_member_name(b, "vhost_user");
		json_builder_add_boolean_value(b, TRUE);
		json_builder_set_member_name(b, "vhost_socket");
		json_builder_add_string_value(b, disk->vhost_socket);
		json_builder_set_member_name(b, "num_queues");
		json_builder_add_int_value(b, 1);
	} else {
		json_builder_set_member_name(b, "path");
		json_builder_add_string_value(b, disk->path);
		json_builder_set_member_name(b, "readonly");
		json_builder_add_boolean_value(b, disk->readonly);
		/* never auto-detected: v51+ would refuse backing chains and
		 * forbid sector-0 writes on raw images */
		json_builder_set_member_name(b, "image_type");
		json_builder_add_string_value(b, disk->image_type);
		if (disk->backing_files && sbx_ch_version_needs_backing_files(version)) {
			json_builder_set_member_name(b, "backing_files");
			json_builder_add_boolean_value(b, TRUE);
		}
	}
	if (disk->serial != NULL) {
		json_builder_set_member_name(b, "serial");
		json_builder_add_string_value(b, disk->serial);
	}
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

static gboolean
any_vhost_user(GPtrArray *volumes)
{
	for (guint i = 0; volumes != NULL && i < volumes->len; i++) {
		SbxChDisk *disk = g_ptr_array_index(volumes, i);
		if (disk->vhost_socket != NULL)
			return TRUE;
	}
	return FALSE;
}

JsonNode *
sbx_ch_vm_config_build(const SbxChVmConfig *config)
{
	const SbxVmSpec *spec = config->spec;
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autofree gchar *words =
	    config->net_cmdline == NULL
		? g_strdup(spec->cmdline)
		: g_strjoin(spec->cmdline != NULL && spec->cmdline[0] != '\0' ? " " : "",
			    spec->cmdline != NULL ? spec->cmdline : "", config->net_cmdline, NULL);
	g_autofree gchar *cmdline = sbx_ch_vm_config_cmdline(words, config->agent_port);

	json_builder_begin_object(b);

	/* both counts are required once the object is there */
	json_builder_set_member_name(b, "cpus");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "boot_vcpus");
	json_builder_add_int_value(b, spec->vcpus);
	json_builder_set_member_name(b, "max_vcpus");
	json_builder_add_int_value(b, spec->vcpus);
	json_builder_end_object(b);

	json_builder_set_member_name(b, "memory");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "size");
	json_builder_add_int_value(b, (gint64)spec->memory_mib << 20);
	/* vhost-user devices need the guest RAM shared with their backend */
	json_builder_set_member_name(b, "shared");
	json_builder_add_boolean_value(b, any_vhost_user(config->volumes));
	json_builder_end_object(b);

	json_builder_set_member_name(b, "payload");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "kernel");
	json_builder_add_string_value(b, spec->kernel);
	if (spec->initrd != NULL) {
		json_builder_set_member_name(b, "initramfs");
		json_builder_add_string_value(b, spec->initrd);
	}
	json_builder_set_member_name(b, "cmdline");
	json_builder_add_string_value(b, cmdline);
	json_builder_end_object(b);

	if (config->root_overlay != NULL) {
		g_autoptr(SbxChDisk) root = sbx_ch_vm_config_disk_new("disk0");
		root->path = g_strdup(config->root_overlay);
		root->image_type = g_strdup("Qcow2");
		root->backing_files = TRUE;
		json_builder_set_member_name(b, "disks");
		json_builder_begin_array(b);
		json_builder_add_value(b, sbx_ch_vm_config_disk_to_json(root, &config->version));
		json_builder_end_array(b);
	}

	if (config->tap != NULL) {
		json_builder_set_member_name(b, "net");
		json_builder_begin_array(b);
		json_builder_add_value(b, sbx_ch_vm_config_net_to_json(config->tap, config->mac));
		json_builder_end_array(b);
	}

	json_builder_set_member_name(b, "rng");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "src");
	json_builder_add_string_value(b, "/dev/urandom");
	json_builder_end_object(b);

	json_builder_set_member_name(b, "serial");
	json_builder_begin_object(b);
	if (spec->console_log != NULL) {
		json_builder_set_member_name(b, "mode");
		json_builder_add_string_value(b, "File");
		json_builder_set_member_name(b, "file");
		json_builder_add_string_value(b, spec->console_log);
	} else {
		json_builder_set_member_name(b, "mode");
		json_builder_add_string_value(b, "Null");
	}
	json_builder_end_object(b);

	json_builder_set_member_name(b, "console");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "mode");
	json_builder_add_string_value(b, "Off");
	json_builder_end_object(b);

	json_builder_set_member_name(b, "vsock");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "id");
	json_builder_add_string_value(b, "vsock0");
	json_builder_set_member_name(b, "cid");
	json_builder_add_int_value(b, SBX_CH_GUEST_CID);
	json_builder_set_member_name(b, "socket");
	json_builder_add_string_value(b, config->vsock_socket);
	json_builder_end_object(b);

	/* guest/panic events (older versions ignore the field) */
	json_builder_set_member_name(b, "pvpanic");
	json_builder_add_boolean_value(b, TRUE);

	json_builder_end_object(b);
	return json_builder_get_root(b);
}
