/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "sbx-ch-overlay.h"
#include "sbx-ch-qsd.h"
#include "sbx-ch-record.h"
#include "sbx-ch-snapshot.h"
#include "sbx-ch-spawn.h"
#include "sbx-ch-vm-config.h"
#include "sbx-ch-vm.h"
#include "sbx-ch-vsock.h"
#include "sbx-jail-acl.h"
#include "sbx-tap.h"

/* how long one agent probe may take, and the pause between probes */
#define PROBE_TIMEOUT_MS 1000
#define PROBE_RETRY_MS 50
/* a VMM that has not exited this long after vmm.shutdown is killed */
#define KILL_AFTER_MS 3000

struct _SbxChVm {
	SbxVmSpec *spec;
	SbxChSettings settings;
	gchar *api_socket;
	gchar *vsock_socket;
	gchar *overlay;
	gchar *log_path;
	SbxChVmState state;
	GPid pid; /* 0 before the VMM runs */
	guint child_watch;
	gboolean exited;
	SbxChApi *api;
	SbxChEvents *events;
	SbxChVersion version;
	GPtrArray *volumes; /* SbxChDisk */
	guint next_volume;
	GTask *start_task;
	GCancellable *start_cancellable;
	GCancellable *outer_cancellable;
	gulong outer_id;
	GPtrArray *destroy_tasks;
	guint timer_id;
	SbxChVmExitedFunc exited_func;
	gpointer exited_data;
	gboolean files_removed;	      /* once: a new VM of the same id reuses the paths */
	gboolean restoring;	      /* from spec->snapshot_dir, not booted */
	gboolean overlay_in_snapshot; /* a template's: the clones' frozen layer */
	gchar *restore_dir;
	guint32 ip;	      /* the guest's address on the bridge, 0: no NIC */
	gchar *tap;	      /* its tap's name */
	gboolean tap_made;    /* the tap and its anti-spoofing rules are there */
	gboolean net_plugged; /* a clone's NIC: hot-plugged after vm.restore */
	GPtrArray *exports;   /* Export: rbd volumes through qemu-storage-daemon */
	gboolean granted;     /* the VMM's user has ACL entries on the file volumes */
	guint next_export;
};

/* one rbd volume exported as vhost-user-blk */
typedef struct {
	const SbxDiskSource *source; /* borrowed from the spec */
	gboolean read_only;
	gchar *socket;
	guint index;
	gchar *disk_id; /* the VMM's id of its disk */
	SbxChQsd *qsd;	/* running, or NULL */
} Export;

static void
export_free(Export *e)
{
	if (e->qsd != NULL)
		sbx_ch_qsd_stop(e->qsd);
	g_free(e->socket);
	g_free(e->disk_id);
	g_free(e);
}

static void
vm_clear(SbxChVm *vm)
{
	g_clear_handle_id(&vm->timer_id, g_source_remove);
	if (vm->outer_cancellable != NULL)
		g_cancellable_disconnect(vm->outer_cancellable, vm->outer_id);
	g_clear_object(&vm->outer_cancellable);
	g_clear_object(&vm->start_cancellable);
	g_clear_object(&vm->start_task);
	g_clear_pointer(&vm->events, sbx_ch_events_free);
	g_clear_object(&vm->api);
	g_clear_handle_id(&vm->child_watch, g_source_remove);
	g_ptr_array_unref(vm->destroy_tasks);
	g_ptr_array_unref(vm->volumes);
	g_ptr_array_unref(vm->exports);
	sbx_vm_spec_free(vm->spec);
	g_free(vm->settings.binary);
	g_free(vm->settings.record_dir);
	g_free(vm->settings.bridge);
	g_free(vm->settings.qsd_binary);
	g_free(vm->tap);
	g_free(vm->api_socket);
	g_free(vm->vsock_socket);
	g_free(vm->overlay);
	g_free(vm->restore_dir);
	g_free(vm->log_path);
	g_object_unref(vm->exited_data);
}

SbxChVm *
sbx_ch_vm_ref(SbxChVm *vm)
{
	return g_rc_box_acquire(vm);
}

void
sbx_ch_vm_unref(SbxChVm *vm)
{
	g_rc_box_release_full(vm, (GDestroyNotify)vm_clear);
}

const gchar *
sbx_ch_vm_get_id(SbxChVm *vm)
{
	return vm->spec->id;
}

SbxChVmState
sbx_ch_vm_get_state(SbxChVm *vm)
{
	return vm->state;
}

const gchar *
sbx_ch_vm_get_vsock_socket(SbxChVm *vm)
{
	return vm->vsock_socket;
}

guint32
sbx_ch_vm_get_address(SbxChVm *vm)
{
	return vm->ip;
}

void
sbx_ch_vm_set_address(SbxChVm *vm, guint32 ip)
{
	vm->ip = ip;
}

/* an rbd volume: a vhost-user-blk export. Every export reports the same
 * serial, so the guest is told "@N": the Nth such disk in PCI order, which
 * is disks[] order (checked after boot: check_pci_order) */
static gboolean
export_from_spec(SbxChVm *vm, SbxVmDisk *d, SbxChDisk *disk, guint index, GError **error)
{
	Export *e;
	g_autofree gchar *cmdline = NULL;
	g_autofree gchar *key = NULL;

	if (d->source->pool == NULL || d->source->image == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "volume %s: an rbd volume needs a pool and an image", d->serial);
		return FALSE;
	}
	key = g_strdup_printf("@%u", vm->exports->len);
	e = g_new0(Export, 1);
	e->source = d->source;
	e->read_only = d->read_only || d->source->read_only;
	e->index = index;
	e->socket = g_strdup_printf("%s/%s.vhost.sock", vm->spec->run_dir, disk->id);
	e->disk_id = g_strdup(disk->id);
	g_ptr_array_add(vm->exports, e);
	disk->vhost_socket = g_strdup(e->socket);
	disk->serial = g_strdup(d->serial);
	cmdline = sbx_ch_vm_config_cmdline_alias_volume(vm->spec->cmdline, d->serial, key);
	g_free(vm->spec->cmdline);
	vm->spec->cmdline = g_steal_pointer(&cmdline);
	return TRUE;
}

static gboolean
volumes_from_spec(SbxChVm *vm, GError **error)
{
	for (guint i = 0; vm->spec->disks != NULL && i < vm->spec->disks->len; i++) {
		SbxVmDisk *d = g_ptr_array_index(vm->spec->disks, i);
		g_autofree gchar *id = g_strdup_printf("disk%u", i + 1);
		g_autoptr(SbxChDisk) disk = sbx_ch_vm_config_disk_new(id);

		if (d->source != NULL && d->source->kind == SBX_DISK_SOURCE_RBD) {
			if (!export_from_spec(vm, d, disk, i, error))
				return FALSE;
			g_ptr_array_add(vm->volumes, g_steal_pointer(&disk));
			continue;
		}
		if (d->source == NULL || d->source->kind != SBX_DISK_SOURCE_FILE) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
				    "volume %s: only file and rbd volumes attach to "
				    "cloud-hypervisor sandboxes",
				    d->serial);
			return FALSE;
		}
		disk->path = g_strdup(d->source->path);
		disk->image_type =
		    g_strdup(g_strcmp0(d->source->format, "raw") == 0 ? "Raw" : "Qcow2");
		/* a clone of a volume snapshot: an overlay of it (docs/volumes.md);
		 * the plugin wrote that header, so its chain is trusted (v51+ opts in) */
		if (g_strcmp0(disk->image_type, "Qcow2") == 0)
			disk->backing = sbx_ch_overlay_backing_path(disk->path);
		disk->backing_files = disk->backing != NULL;
		disk->readonly = d->read_only || d->source->read_only;
		disk->serial = g_strdup(d->serial);
		g_ptr_array_add(vm->volumes, g_steal_pointer(&disk));
	}
	return TRUE;
}

SbxChVm *
sbx_ch_vm_new(const SbxVmSpec *spec, const SbxChSettings *settings, SbxChVmExitedFunc exited,
	      gpointer user_data)
{
	SbxChVm *vm = g_rc_box_new0(SbxChVm);

	vm->spec = sbx_vm_spec_copy(spec);
	vm->settings = *settings;
	vm->settings.binary = g_strdup(settings->binary);
	vm->settings.record_dir = g_strdup(settings->record_dir);
	vm->settings.bridge = g_strdup(settings->bridge);
	vm->settings.qsd_binary = g_strdup(settings->qsd_binary);
	vm->exports = g_ptr_array_new_with_free_func((GDestroyNotify)export_free);
	vm->tap = sbx_tap_name(spec->id);
	vm->api_socket = g_build_filename(spec->run_dir, "ch-api.sock", NULL);
	vm->vsock_socket = g_build_filename(spec->run_dir, "vsock.sock", NULL);
	vm->log_path = g_build_filename(spec->run_dir, "cloud-hypervisor.log", NULL);
	vm->state = SBX_CH_VM_STARTING;
	vm->destroy_tasks = g_ptr_array_new_with_free_func(g_object_unref);
	vm->volumes = g_ptr_array_new_with_free_func((GDestroyNotify)sbx_ch_vm_config_disk_free);
	vm->exited_func = exited;
	/* the backend (and the jail it owns) lives until its last VMM is reaped */
	vm->exited_data = g_object_ref(user_data);
	return vm;
}

/* the snapshots volume clones are overlays of: several running clones may
 * share one, and every VMM is the same uid, so its read grant goes with the
 * last of them (path -> count; main loop only) */
static GHashTable *backing_grants;

static gboolean
grant_backing(const gchar *path, uid_t uid, GError **error)
{
	guint n;

	if (backing_grants == NULL)
		backing_grants = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	n = GPOINTER_TO_UINT(g_hash_table_lookup(backing_grants, path));
	if (n == 0 && !sbx_jail_acl_grant(path, uid, FALSE, error))
		return FALSE;
	g_hash_table_insert(backing_grants, g_strdup(path), GUINT_TO_POINTER(n + 1));
	return TRUE;
}

static void
revoke_backing(const gchar *path, uid_t uid)
{
	g_autoptr(GError) error = NULL;
	guint n = backing_grants != NULL
		      ? GPOINTER_TO_UINT(g_hash_table_lookup(backing_grants, path))
		      : 0;

	if (n == 0)
		return; /* never granted (the grant failed) */
	if (n > 1) {
		g_hash_table_insert(backing_grants, g_strdup(path), GUINT_TO_POINTER(n - 1));
		return;
	}
	g_hash_table_remove(backing_grants, path);
	if (!sbx_jail_acl_revoke(path, uid, &error) &&
	    !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
		g_warning("%s", error->message);
}

/* file volumes stay their owner's (root, mode 0600): the jailed VMM, which
 * opens them by path, gets a named-user ACL entry on each while this
 * sandbox runs (read-only on a clone's backing snapshot). The list goes to
 * the run folder first, so a daemon that crashes leaves what the next one
 * revokes (sbx-ch-record.c) */
static gboolean
grant_volumes(SbxChVm *vm, GError **error)
{
	uid_t uid = sbx_jail_get_uid(vm->settings.jail);
	g_autoptr(GString) list = g_string_new(NULL);
	g_autofree gchar *list_path = NULL;

	for (guint i = 0; i < vm->volumes->len; i++) {
		SbxChDisk *disk = g_ptr_array_index(vm->volumes, i);
		if (disk->path != NULL)
			g_string_append_printf(list, "%u\t%s\n", (guint)uid, disk->path);
		if (disk->backing != NULL)
			g_string_append_printf(list, "%u\t%s\n", (guint)uid, disk->backing);
	}
	if (uid == 0 || list->len == 0)
		return TRUE;
	list_path = g_build_filename(vm->spec->run_dir, SBX_CH_RECORD_GRANTS, NULL);
	if (!g_file_set_contents_full(list_path, list->str, (gssize)list->len,
				      G_FILE_SET_CONTENTS_CONSISTENT, 0600, error))
		return FALSE;
	vm->granted = TRUE;
	for (guint i = 0; i < vm->volumes->len; i++) {
		SbxChDisk *disk = g_ptr_array_index(vm->volumes, i);
		if (disk->path != NULL &&
		    !sbx_jail_acl_grant(disk->path, uid, !disk->readonly, error)) {
			g_prefix_error(error, "giving the volume to the VMM's user: ");
			return FALSE;
		}
		if (disk->backing != NULL) {
			if (!grant_backing(disk->backing, uid, error)) {
				g_prefix_error(error, "giving the volume's snapshot to the VMM's "
						      "user: ");
				return FALSE;
			}
			disk->backing_granted = TRUE;
		}
	}
	return TRUE;
}

static void
revoke_volumes(SbxChVm *vm)
{
	uid_t uid = sbx_jail_get_uid(vm->settings.jail);
	g_autofree gchar *list_path = NULL;

	if (!vm->granted)
		return;
	vm->granted = FALSE;
	for (guint i = 0; i < vm->volumes->len; i++) {
		SbxChDisk *disk = g_ptr_array_index(vm->volumes, i);
		g_autoptr(GError) error = NULL;

		if (disk->path != NULL && !sbx_jail_acl_revoke(disk->path, uid, &error) &&
		    !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
			g_warning("%s", error->message);
		if (disk->backing_granted) {
			disk->backing_granted = FALSE;
			revoke_backing(disk->backing, uid);
		}
	}
	list_path = g_build_filename(vm->spec->run_dir, SBX_CH_RECORD_GRANTS, NULL);
	g_unlink(list_path);
}

static void
remove_files(SbxChVm *vm)
{
	const gchar *paths[] = {vm->overlay_in_snapshot ? NULL : vm->overlay, vm->api_socket,
				vm->vsock_socket, vm->log_path};

	if (vm->files_removed)
		return;
	vm->files_removed = TRUE;
	/* the exports' daemons go with the files (their sockets are there) */
	g_ptr_array_set_size(vm->exports, 0);
	if (vm->settings.record_dir != NULL && (vm->pid == 0 || vm->exited))
		sbx_ch_record_remove(vm->settings.record_dir, vm->spec->id, vm->pid);
	if (vm->tap_made) {
		vm->tap_made = FALSE;
		sbx_tap_release(vm->tap);
	}
	revoke_volumes(vm);
	if (vm->restore_dir != NULL)
		sbx_ch_snapshot_remove_restore(vm->restore_dir);
	for (guint i = 0; i < G_N_ELEMENTS(paths); i++) {
		if (paths[i] != NULL && g_unlink(paths[i]) != 0 && errno != ENOENT)
			g_debug("vm %s: cannot remove %s: %s", vm->spec->id, paths[i],
				g_strerror(errno));
	}
}

/* the VMM's last log line, for an error message */
static gchar *
log_tail(SbxChVm *vm)
{
	g_autofree gchar *text = NULL;
	gsize len = 0;
	gchar *end;
	gchar *start;

	if (!g_file_get_contents(vm->log_path, &text, &len, NULL) || len == 0)
		return g_strdup("no output");
	end = text + len;
	while (end > text && (end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	start = strrchr(text, '\n');
	start = start != NULL ? start + 1 : text;
	if (strlen(start) > 300)
		start[300] = '\0';
	return g_utf8_make_valid(start, -1);
}

static void
kill_vmm(SbxChVm *vm)
{
	/* the child watch reaps it: the pid cannot be reused before */
	if (vm->pid > 0 && !vm->exited)
		kill(vm->pid, SIGKILL);
}

static void
start_fail(SbxChVm *vm, GError *error)
{
	g_autoptr(GTask) task = g_steal_pointer(&vm->start_task);

	if (task == NULL) {
		g_error_free(error);
		return;
	}
	g_clear_handle_id(&vm->timer_id, g_source_remove);
	g_cancellable_cancel(vm->start_cancellable);
	kill_vmm(vm);
	/* reaped in on_exited; a destroy now waits for that */
	vm->state = vm->pid > 0 && !vm->exited ? SBX_CH_VM_STOPPING : SBX_CH_VM_EXITED;
	remove_files(vm);
	g_prefix_error(&error, "vm %s: ", vm->spec->id);
	g_task_return_error(task, error);
}

static void
finish_destroy(SbxChVm *vm)
{
	g_autoptr(GPtrArray) tasks = g_ptr_array_ref(vm->destroy_tasks);

	g_clear_handle_id(&vm->timer_id, g_source_remove);
	remove_files(vm);
	for (guint i = 0; i < tasks->len; i++)
		g_task_return_boolean(g_ptr_array_index(tasks, i), TRUE);
	g_ptr_array_set_size(tasks, 0);
}

static void
on_exited(GPid pid, gint status, gpointer user_data)
{
	SbxChVm *vm = user_data;
	g_autofree gchar *tail = NULL;

	vm->child_watch = 0;
	vm->exited = TRUE;
	g_debug("vm %s: cloud-hypervisor exited (%s %d)", vm->spec->id,
		WIFSIGNALED(status) ? "signal" : "status",
		WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	sbx_jail_remove_cgroup(vm->settings.jail, vm->spec->id);
	/* the tap and the exports stay until destroy: so does the record */
	if (vm->settings.record_dir != NULL && vm->files_removed)
		sbx_ch_record_remove(vm->settings.record_dir, vm->spec->id, vm->pid);
	/* the process is the final word, whatever the events said */
	switch (vm->state) {
	case SBX_CH_VM_STARTING:
		tail = log_tail(vm);
		start_fail(vm, g_error_new(G_IO_ERROR, G_IO_ERROR_FAILED,
					   "cloud-hypervisor exited while starting: %s", tail));
		if (vm->destroy_tasks->len > 0)
			finish_destroy(vm);
		break;
	case SBX_CH_VM_RUNNING:
		vm->state = SBX_CH_VM_EXITED;
		if (vm->exited_func != NULL)
			vm->exited_func(vm, vm->exited_data);
		break;
	case SBX_CH_VM_STOPPING:
		vm->state = SBX_CH_VM_EXITED;
		finish_destroy(vm);
		break;
	case SBX_CH_VM_EXITED:
		break;
	}
}

static void
on_event(const gchar *source, const gchar *event, JsonObject *properties, gpointer user_data)
{
	SbxChVm *vm = user_data;

	if (source == NULL)
		return; /* the pipe closed: the exit follows */
	g_debug("vm %s: event %s/%s", vm->spec->id, source, event);
	if (g_strcmp0(source, "guest") == 0 && g_strcmp0(event, "panic") == 0) {
		/* a panicked guest never answers again: stop it, the exit reports it */
		g_message("vm %s: guest kernel panic, stopping it", vm->spec->id);
		kill_vmm(vm);
	}
}

static gboolean
start_cancelled(SbxChVm *vm)
{
	GError *error = NULL;
	if (!g_cancellable_set_error_if_cancelled(vm->start_cancellable, &error))
		return FALSE;
	start_fail(vm, error);
	return TRUE;
}

static void probe_agent(SbxChVm *vm);

static gboolean
on_probe_retry(gpointer user_data)
{
	SbxChVm *vm = user_data;
	vm->timer_id = 0;
	probe_agent(vm);
	return G_SOURCE_REMOVE;
}

static void
on_probed(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxChVm) vm = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GIOStream) stream = sbx_ch_vsock_connect_finish(res, &error);
	g_autoptr(GTask) task = NULL;

	if (vm->start_task == NULL || start_cancelled(vm))
		return;
	if (stream == NULL) {
		/* the guest is still booting: its agent is not listening yet */
		g_debug("vm %s: agent not reachable yet: %s", vm->spec->id, error->message);
		vm->timer_id =
		    g_timeout_add_full(G_PRIORITY_DEFAULT, PROBE_RETRY_MS, on_probe_retry,
				       sbx_ch_vm_ref(vm), (GDestroyNotify)sbx_ch_vm_unref);
		return;
	}
	g_io_stream_close(stream, NULL, NULL);
	task = g_steal_pointer(&vm->start_task);
	vm->state = SBX_CH_VM_RUNNING;
	g_task_return_boolean(task, TRUE);
}

static void
probe_agent(SbxChVm *vm)
{
	sbx_ch_vsock_connect_async(vm->vsock_socket, vm->settings.agent_port, PROBE_TIMEOUT_MS,
				   vm->start_cancellable, on_probed, sbx_ch_vm_ref(vm));
}

/* the PCI address vm.info's device_tree gives device @id: its parent's
 * (the virtio-pci transport) pci_bdf; NULL if not there */
static const gchar *
device_bdf(JsonObject *info, const gchar *id)
{
	JsonNode *tree_node = json_object_get_member(info, "device_tree");
	JsonObject *tree;
	JsonNode *node;
	const gchar *parent;

	if (tree_node == NULL || !JSON_NODE_HOLDS_OBJECT(tree_node))
		return NULL;
	tree = json_node_get_object(tree_node);
	node = json_object_get_member(tree, id);
	if (node == NULL || !JSON_NODE_HOLDS_OBJECT(node))
		return NULL;
	parent =
	    json_object_get_string_member_with_default(json_node_get_object(node), "parent", NULL);
	node = parent != NULL ? json_object_get_member(tree, parent) : NULL;
	if (node == NULL || !JSON_NODE_HOLDS_OBJECT(node))
		return NULL;
	return json_object_get_string_member_with_default(json_node_get_object(node), "pci_bdf",
							  NULL);
}

/* the guest takes "@N" as the Nth vhost-user-blk disk by PCI address: that
 * must be the Nth export, or a volume would be mounted at another's path.
 * CH gives devices increasing slots in disks[] order; this checks it did.
 * "%04x:%02x:%02x.%x" is fixed width: the text sorts as the address */
static gboolean
check_pci_order(SbxChVm *vm, JsonObject *info, GError **error)
{
	const gchar *previous = NULL;

	if (vm->exports->len < 2)
		return TRUE;
	for (guint i = 0; i < vm->exports->len; i++) {
		Export *e = g_ptr_array_index(vm->exports, i);
		const gchar *bdf = device_bdf(info, e->disk_id);

		if (bdf == NULL || strlen(bdf) != 12) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "cloud-hypervisor gives no PCI address for %s: the guest "
				    "could not tell its rbd volumes apart",
				    e->disk_id);
			return FALSE;
		}
		if (previous != NULL && strcmp(previous, bdf) >= 0) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "cloud-hypervisor put %s at %s, before the previous rbd "
				    "volume's %s: the guest would mount the wrong image",
				    e->disk_id, bdf, previous);
			return FALSE;
		}
		previous = bdf;
	}
	return TRUE;
}

/* the API's own word that the guest runs */
static void
on_info(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxChVm) vm = user_data;
	g_autoptr(JsonNode) reply = NULL;
	GError *error = NULL;
	const gchar *state = NULL;

	if (!sbx_ch_api_call_finish(vm->api, res, &reply, &error)) {
		start_fail(vm, error);
		return;
	}
	if (reply != NULL && JSON_NODE_HOLDS_OBJECT(reply))
		state = json_object_get_string_member_with_default(json_node_get_object(reply),
								   "state", NULL);
	if (g_strcmp0(state, "Running") != 0) {
		start_fail(vm, g_error_new(G_IO_ERROR, G_IO_ERROR_FAILED,
					   "cloud-hypervisor reports the VM %s after vm.boot",
					   state != NULL ? state : "in no state"));
		return;
	}
	if (!check_pci_order(vm, json_node_get_object(reply), &error)) {
		start_fail(vm, error);
		return;
	}
	if (start_cancelled(vm))
		return;
	probe_agent(vm);
}

static void
query_info(SbxChVm *vm)
{
	sbx_ch_api_call_async(vm->api, "GET", "vm.info", NULL, vm->start_cancellable, on_info,
			      sbx_ch_vm_ref(vm));
}

static void on_booted(GObject *source, GAsyncResult *res, gpointer user_data);

/* vm.add-net's answer for a booted VM: 200 and where the device went */
static void
on_net_plugged(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxChVm) vm = user_data;
	g_autoptr(JsonNode) reply = NULL;
	GError *error = NULL;
	const gchar *bdf = NULL;

	if (!sbx_ch_api_call_finish(vm->api, res, &reply, &error)) {
		g_prefix_error(&error, "hot-plugging the NIC: ");
		start_fail(vm, error);
		return;
	}
	if (reply != NULL && JSON_NODE_HOLDS_OBJECT(reply))
		bdf = json_object_get_string_member_with_default(json_node_get_object(reply), "bdf",
								 NULL);
	/* a 204 is a cold add: the VM was not booted, the guest sees nothing */
	if (bdf == NULL) {
		start_fail(vm, g_error_new(G_IO_ERROR, G_IO_ERROR_FAILED,
					   "cloud-hypervisor did not hot-plug the NIC (no PCI "
					   "address in its answer to vm.add-net)"));
		return;
	}
	g_debug("vm %s: NIC %s at PCI %s", vm->spec->id, vm->tap, bdf);
	vm->net_plugged = TRUE;
	on_booted(source, NULL, sbx_ch_vm_ref(vm));
}

/* a clone: the snapshot has no NIC (CH would re-open the template's tap by
 * name), so its own tap is hot-plugged once the VM runs again; the guest
 * kernel sees an ACPI PCI hot-plug, virtio_net (loaded at boot) probes it
 * and the agent, told the address by IDENTITY, waits for it (sbx-agent-net.c) */
static void
plug_net(SbxChVm *vm)
{
	g_autofree gchar *mac = sbx_libvirt_net_mac_for_ip(vm->ip);
	g_autoptr(JsonNode) body = sbx_ch_vm_config_net_to_json(vm->tap, mac);

	sbx_ch_api_put_async(vm->api, "vm.add-net", body, vm->start_cancellable, on_net_plugged,
			     sbx_ch_vm_ref(vm));
}

/* vm.boot, vm.resume, or a v52+ vm.restore that resumed (@res NULL: done) */
static void
on_booted(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxChVm) vm = user_data;
	GError *error = NULL;

	if (res != NULL && !sbx_ch_api_call_finish(vm->api, res, NULL, &error)) {
		start_fail(vm, error);
		return;
	}
	if (start_cancelled(vm))
		return;
	if (vm->restoring && vm->tap_made && !vm->net_plugged) {
		plug_net(vm);
		return;
	}
	query_info(vm);
}

/* before v52 a restored VM waits paused for vm.resume */
static void
on_restored(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxChVm) vm = user_data;
	GError *error = NULL;

	if (!sbx_ch_api_call_finish(vm->api, res, NULL, &error)) {
		start_fail(vm, error);
		return;
	}
	if (sbx_ch_version_has_restore_mode(&vm->version)) {
		on_booted(source, NULL, sbx_ch_vm_ref(vm));
		return;
	}
	sbx_ch_api_put_async(vm->api, "vm.resume", NULL, vm->start_cancellable, on_booted,
			     sbx_ch_vm_ref(vm));
}

static void
restore_vmm(SbxChVm *vm)
{
	g_autoptr(JsonNode) body = NULL;
	GError *error = NULL;

	vm->restore_dir = g_build_filename(vm->spec->run_dir, "restore", NULL);
	if (!sbx_ch_snapshot_prepare_restore(vm->spec->snapshot_dir, vm->restore_dir, vm->overlay,
					     vm->vsock_socket, vm->spec->console_log, &error) ||
	    !sbx_jail_chown(vm->settings.jail, vm->restore_dir, &error)) {
		g_prefix_error(&error, "snapshot %s: ", vm->spec->snapshot_dir);
		start_fail(vm, error);
		return;
	}
	g_unlink(vm->vsock_socket);
	body = sbx_ch_snapshot_restore_body(vm->restore_dir, &vm->version,
					    vm->settings.restore_on_demand);
	sbx_ch_api_put_async(vm->api, "vm.restore", body, vm->start_cancellable, on_restored,
			     sbx_ch_vm_ref(vm));
}

static void add_next_volume(SbxChVm *vm);

/* vm.create and each vm.add-disk: then the next volume, or boot */
static void
on_volume_added(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxChVm) vm = user_data;
	GError *error = NULL;

	if (!sbx_ch_api_call_finish(vm->api, res, NULL, &error)) {
		start_fail(vm, error);
		return;
	}
	add_next_volume(vm);
}

/* volumes are cold-added to the created VM, one request each, then boot */
static void
add_next_volume(SbxChVm *vm)
{
	g_autoptr(JsonNode) body = NULL;

	if (vm->next_volume >= vm->volumes->len) {
		sbx_ch_api_put_async(vm->api, "vm.boot", NULL, vm->start_cancellable, on_booted,
				     sbx_ch_vm_ref(vm));
		return;
	}
	body = sbx_ch_vm_config_disk_to_json(g_ptr_array_index(vm->volumes, vm->next_volume++),
					     &vm->version);
	sbx_ch_api_put_async(vm->api, "vm.add-disk", body, vm->start_cancellable, on_volume_added,
			     sbx_ch_vm_ref(vm));
}

static void
on_pinged(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxChVm) vm = user_data;
	g_autoptr(JsonNode) body = NULL;
	g_autofree gchar *mac = NULL;
	g_autofree gchar *words = NULL;
	GError *error = NULL;
	SbxChVmConfig config = {0};

	if (!sbx_ch_api_ping_finish(vm->api, res, &vm->version, &error)) {
		start_fail(vm, error);
		return;
	}
	if (vm->restoring) {
		restore_vmm(vm);
		return;
	}
	config.spec = vm->spec;
	config.version = vm->version;
	config.root_overlay = vm->overlay;
	config.vsock_socket = vm->vsock_socket;
	config.agent_port = vm->settings.agent_port;
	config.volumes = vm->volumes;
	if (vm->tap_made) {
		mac = sbx_libvirt_net_mac_for_ip(vm->ip);
		words = sbx_libvirt_net_cmdline(&vm->settings.net, vm->ip);
		config.tap = vm->tap;
		config.mac = mac;
		config.net_cmdline = words;
	}
	body = sbx_ch_vm_config_build(&config);
	/* CH binds the vsock socket at boot and fails if a stale one is there */
	g_unlink(vm->vsock_socket);
	sbx_ch_api_put_async(vm->api, "vm.create", body, vm->start_cancellable, on_volume_added,
			     sbx_ch_vm_ref(vm));
}

/* what the jailed VMM opens by path: its run folder (it binds the vsock
 * socket there), the console file, the overlay */
static gboolean
give_to_jail(SbxChVm *vm, GError **error)
{
	if (vm->spec->console_log != NULL) {
		gint fd = g_open(vm->spec->console_log, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
		if (!sbx_jail_chown(vm->settings.jail, vm->spec->console_log, error))
			return FALSE;
	}
	if (vm->overlay != NULL && !sbx_jail_chown(vm->settings.jail, vm->overlay, error))
		return FALSE;
	/* a template's VMM writes the snapshot there */
	if (vm->spec->snapshot_dir != NULL && !vm->restoring &&
	    !sbx_jail_chown(vm->settings.jail, vm->spec->snapshot_dir, error))
		return FALSE;
	return sbx_jail_chown(vm->settings.jail, vm->spec->run_dir, error);
}

static void
spawn_vmm(SbxChVm *vm)
{
	GError *error = NULL;
	gint events_fd = -1;

	if (start_cancelled(vm))
		return;
	/* the cgroup's memory.max: the guest plus the VMM's own overhead */
	if (!give_to_jail(vm, &error) ||
	    !sbx_ch_spawn(vm->settings.jail, vm->spec->id, vm->settings.binary, vm->api_socket,
			  vm->log_path, ((guint64)vm->spec->memory_mib + 128) << 20,
			  vm->spec->vcpus, &vm->pid, &events_fd, &error)) {
		start_fail(vm, error);
		return;
	}
	g_debug("vm %s: cloud-hypervisor pid %d", vm->spec->id, (gint)vm->pid);
	if (vm->settings.record_dir != NULL &&
	    !sbx_ch_record_write(vm->settings.record_dir, vm->spec->id, vm->pid, vm->spec->run_dir,
				 &error)) {
		/* without it a daemon crash would leave this VMM running unseen */
		start_fail(vm, error);
		return;
	}
	if (!grant_volumes(vm, &error)) {
		/* the VMM is killed, reaped and its grants revoked by start_fail */
		g_prefix_error(&error, "vm %s: ", vm->spec->id);
		start_fail(vm, error);
		return;
	}
	vm->child_watch =
	    g_child_watch_add_full(G_PRIORITY_DEFAULT, vm->pid, on_exited, sbx_ch_vm_ref(vm),
				   (GDestroyNotify)sbx_ch_vm_unref);
	vm->events = sbx_ch_events_new(events_fd, on_event, vm);
	vm->api = sbx_ch_api_new(vm->api_socket, vm->settings.api_timeout_sec);
	sbx_ch_api_ping_async(vm->api, &vm->settings.min_version, vm->start_cancellable, on_pinged,
			      sbx_ch_vm_ref(vm));
}

typedef struct {
	gchar *tap;
	gchar *bridge;
	gchar *mac;
	gchar *ip;
	uid_t owner;
} TapSetup;

static void
tap_setup_free(TapSetup *t)
{
	g_free(t->tap);
	g_free(t->bridge);
	g_free(t->mac);
	g_free(t->ip);
	g_free(t);
}

/* ioctls, netlink and nft: off the main loop */
static void
tap_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
	TapSetup *t = task_data;
	GError *error = NULL;

	if (!sbx_tap_create(t->tap, t->bridge, t->owner, &error)) {
		g_task_return_error(task, error);
		return;
	}
	if (!sbx_tap_guard(t->tap, t->mac, t->ip, &error)) {
		sbx_tap_delete(t->tap, NULL);
		sbx_tap_unguard(t->tap);
		g_task_return_error(task, error);
		return;
	}
	g_task_return_boolean(task, TRUE);
}

static void
on_tap_made(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxChVm) vm = user_data;
	GError *error = NULL;

	if (!g_task_propagate_boolean(G_TASK(res), &error)) {
		start_fail(vm, error);
		return;
	}
	if (vm->start_task == NULL || vm->files_removed) {
		/* the start failed or was destroyed meanwhile: nothing owns it */
		sbx_tap_release(vm->tap);
		return;
	}
	vm->tap_made = TRUE;
	spawn_vmm(vm);
}

/* the guest's NIC: a persistent tap the jailed VMM opens by name */
static void
make_tap(SbxChVm *vm)
{
	g_autoptr(GTask) task = NULL;
	TapSetup *t;

	if (vm->ip == 0 || vm->settings.bridge == NULL) {
		spawn_vmm(vm);
		return;
	}
	if (start_cancelled(vm))
		return;
	t = g_new0(TapSetup, 1);
	t->tap = g_strdup(vm->tap);
	t->bridge = g_strdup(vm->settings.bridge);
	t->mac = sbx_libvirt_net_mac_for_ip(vm->ip);
	t->ip = sbx_libvirt_net_ip_to_string(vm->ip);
	t->owner = sbx_jail_get_uid(vm->settings.jail);
	task = g_task_new(NULL, NULL, on_tap_made, sbx_ch_vm_ref(vm));
	g_task_set_task_data(task, t, (GDestroyNotify)tap_setup_free);
	g_task_run_in_thread(task, tap_thread);
}

static void start_next_export(SbxChVm *vm);

static void
on_export_started(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxChVm) vm = user_data;
	GError *error = NULL;
	SbxChQsd *qsd = sbx_ch_qsd_start_finish(res, &error);
	Export *e;

	if (qsd == NULL) {
		g_prefix_error(&error, "rbd volume: ");
		start_fail(vm, error);
		return;
	}
	if (vm->start_task == NULL || vm->next_export > vm->exports->len) {
		/* the start failed meanwhile: nothing owns it */
		sbx_ch_qsd_stop(qsd);
		return;
	}
	e = g_ptr_array_index(vm->exports, vm->next_export - 1);
	e->qsd = qsd;
	start_next_export(vm);
}

/* each rbd volume's qemu-storage-daemon, one after the other, then the tap */
static void
start_next_export(SbxChVm *vm)
{
	GError *error = NULL;
	Export *e;
	g_autofree gchar *name = NULL;

	if (start_cancelled(vm))
		return;
	if (vm->next_export >= vm->exports->len) {
		make_tap(vm);
		return;
	}
	/* the daemon runs as the VMM's user and makes its socket there */
	if (vm->next_export == 0 && !sbx_jail_chown(vm->settings.jail, vm->spec->run_dir, &error)) {
		start_fail(vm, error);
		return;
	}
	e = g_ptr_array_index(vm->exports, vm->next_export++);
	name = g_strdup_printf("%s-vol%u", vm->spec->id, e->index + 1);
	sbx_ch_qsd_start_async(vm->settings.jail, name, vm->settings.qsd_binary, e->source,
			       e->read_only, e->socket, vm->start_cancellable, on_export_started,
			       sbx_ch_vm_ref(vm));
}

static void
on_overlay(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxChVm) vm = user_data;
	GError *error = NULL;

	if (!sbx_ch_overlay_create_finish(res, &error)) {
		g_clear_pointer(&vm->overlay, g_free); /* not ours to remove */
		start_fail(vm, error);
		return;
	}
	start_next_export(vm);
}

static void
on_outer_cancelled(GCancellable *outer, gpointer user_data)
{
	g_cancellable_cancel(G_CANCELLABLE(user_data));
}

void
sbx_ch_vm_start_async(SbxChVm *vm, GCancellable *cancellable, GAsyncReadyCallback callback,
		      gpointer user_data)
{
	GError *error = NULL;
	g_autofree gchar *base = NULL;
	const gchar *format = vm->spec->root_format;

	vm->start_task = g_task_new(NULL, cancellable, callback, user_data);
	g_task_set_source_tag(vm->start_task, sbx_ch_vm_start_async);
	vm->start_cancellable = g_cancellable_new();
	if (cancellable != NULL) {
		vm->outer_cancellable = g_object_ref(cancellable);
		vm->outer_id =
		    g_cancellable_connect(cancellable, G_CALLBACK(on_outer_cancelled),
					  g_object_ref(vm->start_cancellable), g_object_unref);
	}
	if (!volumes_from_spec(vm, &error)) {
		start_fail(vm, error);
		return;
	}
	/* recorded (pid 0: no VMM yet) before the overlay, exports and tap: a
	 * daemon crash from here on leaks none of them */
	if (vm->settings.record_dir != NULL &&
	    !sbx_ch_record_write(vm->settings.record_dir, vm->spec->id, 0, vm->spec->run_dir,
				 &error)) {
		start_fail(vm, error);
		return;
	}
	if (vm->restoring) {
		/* a clone writes its own overlay on the snapshot's frozen one */
		base = g_build_filename(vm->spec->snapshot_dir, SBX_CH_SNAPSHOT_ROOT, NULL);
		format = "qcow2";
		if (!g_file_test(base, G_FILE_TEST_EXISTS))
			g_clear_pointer(&base, g_free);
	} else {
		base = g_strdup(vm->spec->root_disk);
	}
	if (base == NULL) {
		start_next_export(vm);
		return;
	}
	/* a template's overlay is the snapshot's frozen layer once taken */
	vm->overlay_in_snapshot = vm->spec->snapshot_dir != NULL && !vm->restoring;
	vm->overlay =
	    g_build_filename(vm->overlay_in_snapshot ? vm->spec->snapshot_dir : vm->spec->run_dir,
			     SBX_CH_SNAPSHOT_ROOT, NULL);
	sbx_ch_overlay_create_async(base, format, vm->overlay, vm->spec->disk_size,
				    vm->start_cancellable, on_overlay, sbx_ch_vm_ref(vm));
}

gboolean
sbx_ch_vm_start_finish(SbxChVm *vm, GAsyncResult *res, GError **error)
{
	return g_task_propagate_boolean(G_TASK(res), error);
}

static gboolean
on_kill_timeout(gpointer user_data)
{
	SbxChVm *vm = user_data;
	vm->timer_id = 0;
	g_debug("vm %s: cloud-hypervisor still there, killing it", vm->spec->id);
	kill_vmm(vm);
	return G_SOURCE_REMOVE;
}

static void
on_shutdown_sent(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxChVm) vm = user_data;
	g_autoptr(GError) error = NULL;

	/* a VMM that does not answer is killed by the timer anyway */
	if (!sbx_ch_api_call_finish(SBX_CH_API(source), res, NULL, &error))
		g_debug("vm %s: %s", vm->spec->id, error->message);
}

/* vmm.shutdown: the VM is deleted and the process exits; the kill timer
 * covers a VMM that cannot */
static void
shutdown_vmm(SbxChVm *vm)
{
	g_clear_handle_id(&vm->timer_id, g_source_remove);
	vm->timer_id = g_timeout_add(KILL_AFTER_MS, on_kill_timeout, vm);
	sbx_ch_api_put_async(vm->api, "vmm.shutdown", NULL, NULL, on_shutdown_sent,
			     sbx_ch_vm_ref(vm));
}

static gboolean
on_graceful_timeout(gpointer user_data)
{
	SbxChVm *vm = user_data;
	vm->timer_id = 0;
	g_debug("vm %s: guest did not power off in time", vm->spec->id);
	shutdown_vmm(vm);
	return G_SOURCE_REMOVE;
}

static void
on_power_button(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxChVm) vm = user_data;
	g_autoptr(GError) error = NULL;

	if (vm->exited)
		return;
	if (!sbx_ch_api_call_finish(SBX_CH_API(source), res, NULL, &error)) {
		g_debug("vm %s: %s", vm->spec->id, error->message);
		shutdown_vmm(vm);
		return;
	}
	/* the guest powers off, the VMM exits: on_exited finishes the destroy */
	vm->timer_id =
	    g_timeout_add_seconds(vm->settings.graceful_stop_sec, on_graceful_timeout, vm);
}

void
sbx_ch_vm_destroy_async(SbxChVm *vm, GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(NULL, NULL, callback, user_data);

	g_task_set_source_tag(task, sbx_ch_vm_destroy_async);
	switch (vm->state) {
	case SBX_CH_VM_STARTING:
		start_fail(
		    vm, g_error_new(G_IO_ERROR, G_IO_ERROR_CANCELLED, "destroyed while starting"));
		if (vm->state == SBX_CH_VM_EXITED) {
			g_task_return_boolean(task, TRUE);
			return;
		}
		g_ptr_array_add(vm->destroy_tasks, g_steal_pointer(&task));
		return;
	case SBX_CH_VM_EXITED:
		remove_files(vm);
		g_task_return_boolean(task, TRUE);
		return;
	case SBX_CH_VM_STOPPING:
		g_ptr_array_add(vm->destroy_tasks, g_steal_pointer(&task));
		return;
	case SBX_CH_VM_RUNNING:
		break;
	}
	vm->state = SBX_CH_VM_STOPPING;
	g_ptr_array_add(vm->destroy_tasks, g_steal_pointer(&task));
	if (vm->settings.graceful_stop_sec > 0)
		sbx_ch_api_put_async(vm->api, "vm.power-button", NULL, NULL, on_power_button,
				     sbx_ch_vm_ref(vm));
	else
		shutdown_vmm(vm);
}

gboolean
sbx_ch_vm_destroy_finish(SbxChVm *vm, GAsyncResult *res, GError **error)
{
	return g_task_propagate_boolean(G_TASK(res), error);
}

void
sbx_ch_vm_restore_async(SbxChVm *vm, GCancellable *cancellable, GAsyncReadyCallback callback,
			gpointer user_data)
{
	vm->restoring = TRUE;
	sbx_ch_vm_start_async(vm, cancellable, callback, user_data);
}

static void
on_snapshotted(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	SbxChVm *vm = g_task_get_task_data(task);
	GError *error = NULL;

	if (!sbx_ch_api_call_finish(vm->api, res, NULL, &error) ||
	    !sbx_ch_snapshot_seal(vm->spec->snapshot_dir, &error)) {
		g_prefix_error(&error, "vm %s: ", vm->spec->id);
		g_task_return_error(task, error);
		return;
	}
	g_task_return_boolean(task, TRUE);
}

static void
on_paused(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	SbxChVm *vm = g_task_get_task_data(task);
	g_autofree gchar *url = g_strconcat("file://", vm->spec->snapshot_dir, NULL);
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) body = NULL;
	GError *error = NULL;

	if (!sbx_ch_api_call_finish(vm->api, res, NULL, &error)) {
		g_prefix_error(&error, "vm %s: ", vm->spec->id);
		g_task_return_error(task, error);
		return;
	}
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "destination_url");
	json_builder_add_string_value(b, url);
	json_builder_end_object(b);
	body = json_builder_get_root(b);
	GCancellable *cancellable = g_task_get_cancellable(task);
	sbx_ch_api_put_async(vm->api, "vm.snapshot", body, cancellable, on_snapshotted,
			     g_steal_pointer(&task));
}

void
sbx_ch_vm_snapshot_async(SbxChVm *vm, GCancellable *cancellable, GAsyncReadyCallback callback,
			 gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(NULL, cancellable, callback, user_data);

	g_task_set_source_tag(task, sbx_ch_vm_snapshot_async);
	g_task_set_task_data(task, sbx_ch_vm_ref(vm), (GDestroyNotify)sbx_ch_vm_unref);
	if (vm->state != SBX_CH_VM_RUNNING || vm->spec->snapshot_dir == NULL) {
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
					"vm %s: not a running snapshot template", vm->spec->id);
		return;
	}
	/* the VM must be paused for vm.snapshot; the core destroys it afterwards */
	sbx_ch_api_put_async(vm->api, "vm.pause", NULL, cancellable, on_paused,
			     g_steal_pointer(&task));
}

gboolean
sbx_ch_vm_snapshot_finish(SbxChVm *vm, GAsyncResult *res, GError **error)
{
	return g_task_propagate_boolean(G_TASK(res), error);
}
