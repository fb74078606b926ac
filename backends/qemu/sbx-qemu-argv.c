/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sbx-qemu-argv.h"

/* QEMU's option syntax doubles commas inside a value */
static gchar *
opt_escape(const gchar *value)
{
	GString *out = g_string_new(NULL);
	for (const gchar *p = value; *p != '\0'; p++) {
		if (*p == ',')
			g_string_append_c(out, ',');
		g_string_append_c(out, *p);
	}
	return g_string_free(out, FALSE);
}

static void
add(GPtrArray *argv, const gchar *arg)
{
	g_ptr_array_add(argv, g_strdup(arg));
}

static void addf(GPtrArray *argv, const gchar *format, ...) G_GNUC_PRINTF(2, 3);

static void
addf(GPtrArray *argv, const gchar *format, ...)
{
	va_list ap;
	va_start(ap, format);
	g_ptr_array_add(argv, g_strdup_vprintf(format, ap));
	va_end(ap);
}

/* a volume as virtio-blk with its serial (how the guest agent finds it);
 * files through fd sets, the rbd key through its memfd, never in argv */
static void
add_volume(GPtrArray *argv, const SbxQemuVolume *vol, guint index, guint *fdset)
{
	g_autofree gchar *node = g_strdup_printf("vol%u", index);
	g_autofree gchar *secret = NULL;
	g_autofree gchar *json = NULL;
	gchar *filenames[SBX_BLOCKDEV_CHAIN_MAX] = {NULL};
	SbxBlockdevOptions opts = {
	    .node_name = node,
	    .read_only = vol->disk->read_only || vol->disk->source->read_only,
	    .discard = TRUE,
	};

	if (vol->disk->source->kind == SBX_DISK_SOURCE_RBD && vol->secret_fd >= 0) {
		secret = g_strdup_printf("%s-key", node);
		add(argv, "-object");
		addf(argv, "secret,id=%s,file=/proc/self/fd/%d,format=base64", secret,
		     vol->secret_fd);
		opts.secret_id = secret;
	}
	for (guint i = 0; i < vol->n_layers && i < SBX_BLOCKDEV_CHAIN_MAX; i++) {
		guint set = (*fdset)++;
		add(argv, "-add-fd");
		addf(argv, "fd=%d,set=%u,opaque=%s", vol->fds[i], set, node);
		filenames[i] = g_strdup_printf("/dev/fdset/%u", set);
	}
	opts.filenames = (const gchar *const *)filenames;
	opts.formats = vol->formats;
	opts.n_layers = MIN(vol->n_layers, SBX_BLOCKDEV_CHAIN_MAX);
	json = sbx_blockdev_json(vol->disk->source, &opts);
	for (guint i = 0; i < SBX_BLOCKDEV_CHAIN_MAX; i++)
		g_free(filenames[i]);
	add(argv, "-blockdev");
	add(argv, json);
	add(argv, "-device");
	/* the serial was checked: [A-Za-z0-9_-] */
	addf(argv, "virtio-blk-pci,drive=%s,serial=%s,addr=0x%x", node, vol->disk->serial,
	     SBX_QEMU_ARGV_VOLUME_SLOT + index);
}

GStrv
sbx_qemu_argv_new(const SbxQemuArgs *a)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	const SbxVmSpec *spec = a->spec;
	g_autofree gchar *console = opt_escape(spec->console_log);

	add(argv, a->binary);
	addf(argv, "-name");
	addf(argv, "%s,debug-threads=on", spec->id);
	/* nothing QEMU would add by itself, no config files read */
	add(argv, "-nodefaults");
	add(argv, "-no-user-config");
	add(argv, "-nographic");
	add(argv, "-display");
	add(argv, "none");
	add(argv, "-sandbox");
	addf(argv, "on,obsolete=deny,elevateprivileges=deny,spawn=%s,resourcecontrol=deny",
	     a->may_spawn ? "allow" : "deny");
	add(argv, "-machine");
	add(argv, a->machine);
	add(argv, "-accel");
	/* the translation buffer is touched as code is translated, up to its size:
	 * bounded, an idle TCG guest's QEMU stays small */
	if (g_strcmp0(a->accel, "tcg") == 0 && a->tb_size_mib > 0)
		addf(argv, "tcg,tb-size=%u", a->tb_size_mib);
	else
		add(argv, a->accel);
	if (g_strcmp0(a->accel, "kvm") == 0) {
		add(argv, "-cpu");
		add(argv, "host");
	}
	add(argv, "-m");
	addf(argv, "%uM", spec->memory_mib);
	add(argv, "-smp");
	addf(argv, "%u", spec->vcpus);
	if (a->mem_path != NULL) {
		g_autofree gchar *path = opt_escape(a->mem_path);
		add(argv, "-object");
		addf(argv, "memory-backend-file,id=ram0,size=%uM,mem-path=%s,share=%s",
		     spec->memory_mib, path, a->mem_share ? "on" : "off");
		add(argv, "-numa");
		add(argv, "node,memdev=ram0");
	}
	add(argv, "-kernel");
	add(argv, a->kernel != NULL ? a->kernel : spec->kernel);
	if (spec->initrd != NULL && !a->no_initrd) {
		add(argv, "-initrd");
		add(argv, spec->initrd);
	}
	add(argv, "-append");
	if (g_strcmp0(a->accel, "tcg") == 0)
		addf(argv, "%s%s" SBX_QEMU_TCG_CMDLINE, a->cmdline != NULL ? a->cmdline : "",
		     a->cmdline != NULL && a->cmdline[0] != '\0' ? " " : "");
	else
		add(argv, a->cmdline != NULL ? a->cmdline : "");
	add(argv, "-chardev");
	addf(argv, "file,id=console0,path=%s", console);
	add(argv, "-serial");
	add(argv, "chardev:console0");
	/* the daemon listens, QEMU accepts: the sockets are root's, in root's folder */
	add(argv, "-chardev");
	addf(argv, "socket,id=qmp0,fd=%d,server=on,wait=off", a->qmp_fd);
	add(argv, "-mon");
	add(argv, "chardev=qmp0,mode=control");
	if (a->disk != NULL) {
		g_autofree gchar *disk = opt_escape(a->disk);
		add(argv, "-drive");
		/* the overlay lives and dies with the VM: flushes buy nothing */
		addf(argv, "file=%s,if=none,id=vda,format=qcow2,cache=unsafe,discard=unmap", disk);
		add(argv, "-device");
		add(argv, "virtio-blk-pci,drive=vda,addr=0x4");
	}
	{
		guint fdset = 1;
		for (guint i = 0; i < a->n_volumes; i++)
			add_volume(argv, &a->volumes[i], i, &fdset);
	}
	if (a->nic) {
		add(argv, "-netdev");
		if (a->tap_fd >= 0)
			addf(argv, "tap,id=net0,fd=%d", a->tap_fd);
		else
			add(argv, "hubport,id=net0,hubid=0");
		add(argv, "-device");
		addf(argv, "virtio-net-pci,netdev=net0,addr=0x5%s%s", a->mac != NULL ? ",mac=" : "",
		     a->mac != NULL ? a->mac : "");
	}
	add(argv, "-device");
	add(argv, "virtio-serial-pci,id=vs0,addr=0x6");
	add(argv, "-chardev");
	addf(argv, "socket,id=agent0,fd=%d,server=on,wait=off", a->agent_fd);
	add(argv, "-device");
	add(argv, "virtserialport,chardev=agent0,name=org.sandboxd.agent.0");
	/* a new generation id tells the guest kernel it runs as a clone (it
	 * reseeds its RNG); restored with the command line's GUID, not the saved one */
	add(argv, "-device");
	addf(argv, "vmgenid,guid=%s", a->vmgenid != NULL ? a->vmgenid : "auto");
	if (a->incoming) {
		add(argv, "-incoming");
		add(argv, "defer");
	}
	g_ptr_array_add(argv, NULL);
	return (GStrv)g_ptr_array_free(g_steal_pointer(&argv), FALSE);
}
