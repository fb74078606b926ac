/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <net/if.h>

#include <glib/gstdio.h>

#include "sbx-ch-backend.h"
#include "sbx-ch-record.h"
#include "sbx-ch-vm.h"
#include "sbx-ch-vsock.h"
#include "sbx-plugin.h"

/* one agent connection attempt; the core retries until its boot timeout */
#define AGENT_CONNECT_TIMEOUT_MS 2000
/* the jail, as for the qemu backend: the VMM never runs as root */
#define DEFAULT_USER "libvirt-qemu"
#define DEFAULT_CGROUP_ROOT "/sys/fs/cgroup/sandboxd-cloud-hypervisor"
#define DEFAULT_RECORD_DIR "/run/sandboxd-cloud-hypervisor"

struct _SbxChBackend {
	SbxHypervisorBackend parent_instance;
	gchar *compat; /* the snapshot compat string of the configured binary */
	SbxChSettings settings;
	GHashTable *vms;  /* id -> SbxChVm (one reference) */
	GPtrArray *jails; /* every jail made: VMs that are still dying borrow theirs */
};

G_DEFINE_FINAL_TYPE(SbxChBackend, sbx_ch_backend, SBX_TYPE_HYPERVISOR_BACKEND)

static const gchar *const restore_modes[] = {"copy", "ondemand", NULL};

static const SbxConfigKey ch_config_keys[] = {
    {"Binary", SBX_CONFIG_PATH},
    {"MinVersion", SBX_CONFIG_STRING},
    {"AgentPort", SBX_CONFIG_UINT, 1, G_MAXUINT32 - 1},
    {"ApiTimeoutSec", SBX_CONFIG_UINT, 1, 3600},
    {"GracefulStopSec", SBX_CONFIG_UINT, 0, 300},
    {"User", SBX_CONFIG_STRING},
    {"CgroupRoot", SBX_CONFIG_PATH},
    {"PrivateTmp", SBX_CONFIG_BOOL},
    {"PrivateDev", SBX_CONFIG_BOOL},
    {"RestoreMode", SBX_CONFIG_ENUM, 0, 0, restore_modes},
    {"RecordDir", SBX_CONFIG_PATH},
    {"NetworkBridge", SBX_CONFIG_STRING},
    {"NetworkAddress", SBX_CONFIG_STRING},
    {"StorageDaemon", SBX_CONFIG_PATH},
    {NULL},
};

static gboolean
spec_validate(const SbxVmSpec *spec, GError **error)
{
	gsize len = spec->id != NULL ? strlen(spec->id) : 0;

	if (len == 0 || len > 63 ||
	    strspn(spec->id, "abcdefghijklmnopqrstuvwxyz0123456789-") != len) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "vm id must be 1 to 63 characters of [a-z0-9-]");
		return FALSE;
	}
	if (spec->run_dir == NULL || !g_path_is_absolute(spec->run_dir) || spec->kernel == NULL ||
	    !g_path_is_absolute(spec->kernel)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "vm %s: run folder and kernel must be absolute paths", spec->id);
		return FALSE;
	}
	if (spec->vcpus == 0 || spec->memory_mib == 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "vm %s: needs at least one vCPU and some memory", spec->id);
		return FALSE;
	}
	return TRUE;
}

static void
on_vm_exited(SbxChVm *vm, gpointer user_data)
{
	SbxChBackend *self = SBX_CH_BACKEND(user_data);
	g_debug("vm %s: stopped on its own", sbx_ch_vm_get_id(vm));
	sbx_hypervisor_backend_emit_vm_exited(SBX_HYPERVISOR_BACKEND(self), sbx_ch_vm_get_id(vm));
}

/* a failed start: its files are gone; a VMM still dying is reaped by the vm
 * itself (and a destroy that came meanwhile holds its own reference) */
static void
forget(SbxChBackend *self, SbxChVm *vm)
{
	if (g_hash_table_lookup(self->vms, sbx_ch_vm_get_id(vm)) == vm)
		g_hash_table_remove(self->vms, sbx_ch_vm_get_id(vm));
}

static void
on_vm_started(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	SbxChBackend *self = g_task_get_source_object(task);
	SbxChVm *vm = g_task_get_task_data(task);
	GError *error = NULL;

	if (!sbx_ch_vm_start_finish(vm, res, &error)) {
		forget(self, vm);
		g_task_return_error(task, error);
		return;
	}
	g_task_return_boolean(task, TRUE);
}

/* the part of start and restore before the VM itself: checks, the table */
static SbxChVm *
new_vm(SbxChBackend *self, const SbxVmSpec *spec, GTask *task)
{
	GError *error = NULL;
	SbxChVm *vm;

	if (!spec_validate(spec, &error)) {
		g_task_return_error(task, error);
		return NULL;
	}
	if (self->settings.jail == NULL) {
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
					"vm %s: the cloud-hypervisor backend is not configured",
					spec->id);
		return NULL;
	}
	vm = g_hash_table_lookup(self->vms, spec->id);
	if (vm != NULL && sbx_ch_vm_get_state(vm) == SBX_CH_VM_EXITED) {
		/* stopped on its own and never destroyed: its files go now */
		g_hash_table_remove(self->vms, spec->id);
	} else if (vm != NULL) {
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_EXISTS, "vm %s already exists",
					spec->id);
		return NULL;
	}
	vm = sbx_ch_vm_new(spec, &self->settings, on_vm_exited, self);
	g_hash_table_insert(self->vms, g_strdup(spec->id), vm);
	g_task_set_task_data(task, sbx_ch_vm_ref(vm), (GDestroyNotify)sbx_ch_vm_unref);
	return vm;
}

/* a free address on the bridge, as the qemu backend picks them */
static guint32
pick_address(SbxChBackend *self, const gchar *id)
{
	g_autoptr(GHashTable) taken = g_hash_table_new(NULL, NULL);
	GHashTableIter iter;
	SbxChVm *vm;

	g_hash_table_iter_init(&iter, self->vms);
	while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&vm)) {
		if (sbx_ch_vm_get_address(vm) != 0)
			g_hash_table_add(taken, GUINT_TO_POINTER(sbx_ch_vm_get_address(vm)));
	}
	return sbx_libvirt_net_ip_pick(&self->settings.net, id, taken);
}

/* a sandbox with network: an address on the bridge, its tap made from it */
static gboolean
give_address(SbxChBackend *self, SbxChVm *vm, const SbxVmSpec *spec, GTask *task)
{
	guint32 ip;

	if (!spec->network || self->settings.bridge == NULL)
		return TRUE;
	ip = pick_address(self, spec->id);
	if (ip == 0) {
		forget(self, vm);
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
					"vm %s: no free address on bridge %s", spec->id,
					self->settings.bridge);
		return FALSE;
	}
	sbx_ch_vm_set_address(vm, ip);
	return TRUE;
}

static void
sbx_ch_backend_start_vm_async(SbxHypervisorBackend *backend, const SbxVmSpec *spec,
			      GCancellable *cancellable, GAsyncReadyCallback callback,
			      gpointer user_data)
{
	SbxChBackend *self = SBX_CH_BACKEND(backend);
	g_autoptr(GTask) task = g_task_new(self, cancellable, callback, user_data);
	SbxChVm *vm;

	g_task_set_source_tag(task, sbx_ch_backend_start_vm_async);
	vm = new_vm(self, spec, task);
	if (vm == NULL)
		return;
	/* a template gets no NIC (CH restores a tap by its name): its clones
	 * get theirs hot-plugged after vm.restore */
	if (spec->snapshot_dir == NULL && !give_address(self, vm, spec, task))
		return;
	sbx_ch_vm_start_async(vm, cancellable, on_vm_started, g_steal_pointer(&task));
}

static void
on_vm_restored(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	SbxChBackend *self = g_task_get_source_object(task);
	SbxChVm *vm = g_task_get_task_data(task);
	GError *error = NULL;

	if (!sbx_ch_vm_start_finish(vm, res, &error)) {
		forget(self, vm);
		g_task_return_error(task, error);
		return;
	}
	/* the clone's own address, for the core's IDENTITY (as the qemu backend's) */
	if (sbx_ch_vm_get_address(vm) != 0) {
		g_autofree gchar *net =
		    sbx_libvirt_net_cmdline(&self->settings.net, sbx_ch_vm_get_address(vm));
		g_autofree gchar *mac = sbx_libvirt_net_mac_for_ip(sbx_ch_vm_get_address(vm));
		g_task_return_pointer(task, g_strdup_printf("%s sbx.mac=%s", net, mac), g_free);
		return;
	}
	g_task_return_pointer(task, g_strdup(""), g_free);
}

static void
sbx_ch_backend_restore_vm_async(SbxHypervisorBackend *backend, const SbxVmSpec *spec,
				GCancellable *cancellable, GAsyncReadyCallback callback,
				gpointer user_data)
{
	SbxChBackend *self = SBX_CH_BACKEND(backend);
	g_autoptr(GTask) task = g_task_new(self, cancellable, callback, user_data);
	SbxChVm *vm;

	g_task_set_source_tag(task, sbx_ch_backend_restore_vm_async);
	if (spec->snapshot_dir == NULL) {
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
					"vm %s: restore without a snapshot", spec->id);
		return;
	}
	vm = new_vm(self, spec, task);
	if (vm != NULL && give_address(self, vm, spec, task))
		sbx_ch_vm_restore_async(vm, cancellable, on_vm_restored, g_steal_pointer(&task));
}

static gchar *
sbx_ch_backend_restore_vm_finish(SbxHypervisorBackend *backend, GAsyncResult *res, GError **error)
{
	return g_task_propagate_pointer(G_TASK(res), error);
}

static void
on_vm_snapshotted(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	SbxChVm *vm = g_task_get_task_data(task);
	GError *error = NULL;

	if (!sbx_ch_vm_snapshot_finish(vm, res, &error))
		g_task_return_error(task, error);
	else
		g_task_return_boolean(task, TRUE);
}

static void
sbx_ch_backend_snapshot_vm_async(SbxHypervisorBackend *backend, const gchar *id,
				 GCancellable *cancellable, GAsyncReadyCallback callback,
				 gpointer user_data)
{
	SbxChBackend *self = SBX_CH_BACKEND(backend);
	g_autoptr(GTask) task = g_task_new(self, cancellable, callback, user_data);
	SbxChVm *vm = g_hash_table_lookup(self->vms, id);

	g_task_set_source_tag(task, sbx_ch_backend_snapshot_vm_async);
	if (vm == NULL) {
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "vm %s not found",
					id);
		return;
	}
	g_task_set_task_data(task, sbx_ch_vm_ref(vm), (GDestroyNotify)sbx_ch_vm_unref);
	sbx_ch_vm_snapshot_async(vm, cancellable, on_vm_snapshotted, g_steal_pointer(&task));
}

/* snapshots restore only into the binary that took them (CH README) */
static const gchar *
sbx_ch_backend_get_snapshot_compat(SbxHypervisorBackend *backend)
{
	return SBX_CH_BACKEND(backend)->compat;
}

static void
on_vm_destroyed(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	SbxChBackend *self = g_task_get_source_object(task);
	SbxChVm *vm = g_task_get_task_data(task);
	GError *error = NULL;

	forget(self, vm);
	if (!sbx_ch_vm_destroy_finish(vm, res, &error)) {
		g_task_return_error(task, error);
		return;
	}
	g_task_return_boolean(task, TRUE);
}

static void
sbx_ch_backend_destroy_vm_async(SbxHypervisorBackend *backend, const gchar *id,
				GCancellable *cancellable, GAsyncReadyCallback callback,
				gpointer user_data)
{
	SbxChBackend *self = SBX_CH_BACKEND(backend);
	g_autoptr(GTask) task = g_task_new(self, cancellable, callback, user_data);
	SbxChVm *vm = g_hash_table_lookup(self->vms, id);

	g_task_set_source_tag(task, sbx_ch_backend_destroy_vm_async);
	if (vm == NULL) {
		g_task_return_boolean(task, TRUE);
		return;
	}
	g_task_set_task_data(task, sbx_ch_vm_ref(vm), (GDestroyNotify)sbx_ch_vm_unref);
	sbx_ch_vm_destroy_async(vm, on_vm_destroyed, g_steal_pointer(&task));
}

static void
sbx_ch_backend_list_vms_async(SbxHypervisorBackend *backend, GCancellable *cancellable,
			      GAsyncReadyCallback callback, gpointer user_data)
{
	SbxChBackend *self = SBX_CH_BACKEND(backend);
	g_autoptr(GTask) task = g_task_new(self, cancellable, callback, user_data);
	g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
	GHashTableIter iter;
	SbxChVm *vm;

	g_task_set_source_tag(task, sbx_ch_backend_list_vms_async);
	/* what a previous daemon left running cannot be taken back: stop it */
	if (self->settings.record_dir != NULL)
		sbx_ch_record_reap(self->settings.record_dir, self->vms);
	g_hash_table_iter_init(&iter, self->vms);
	while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&vm)) {
		if (sbx_ch_vm_get_state(vm) == SBX_CH_VM_RUNNING)
			g_ptr_array_add(ids, g_strdup(sbx_ch_vm_get_id(vm)));
	}
	g_ptr_array_add(ids, NULL);
	g_task_return_pointer(task, g_ptr_array_steal(ids, NULL), (GDestroyNotify)g_strfreev);
}

static void
on_agent_connected(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	GError *error = NULL;
	GIOStream *stream = sbx_ch_vsock_connect_finish(res, &error);

	if (stream == NULL)
		g_task_return_error(task, error);
	else
		g_task_return_pointer(task, stream, g_object_unref);
}

/* the agent listens on a vsock port in the guest: CONNECT through the VMM */
static void
sbx_ch_backend_connect_agent_async(SbxHypervisorBackend *backend, const gchar *id,
				   const gchar *agent_socket, GCancellable *cancellable,
				   GAsyncReadyCallback callback, gpointer user_data)
{
	SbxChBackend *self = SBX_CH_BACKEND(backend);
	g_autoptr(GTask) task = g_task_new(self, cancellable, callback, user_data);
	SbxChVm *vm = g_hash_table_lookup(self->vms, id);

	g_task_set_source_tag(task, sbx_ch_backend_connect_agent_async);
	if (vm == NULL || sbx_ch_vm_get_state(vm) != SBX_CH_VM_RUNNING) {
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
					"vm %s is not running", id);
		return;
	}
	sbx_ch_vsock_connect_async(sbx_ch_vm_get_vsock_socket(vm), self->settings.agent_port,
				   AGENT_CONNECT_TIMEOUT_MS, cancellable, on_agent_connected,
				   g_steal_pointer(&task));
}

static GIOStream *
sbx_ch_backend_connect_agent_finish(SbxHypervisorBackend *backend, GAsyncResult *res,
				    GError **error)
{
	return g_task_propagate_pointer(G_TASK(res), error);
}

/* the core puts its isolation table on it; NULL when it does not exist
 * (then no guest gets a NIC) */
static const gchar *
sbx_ch_backend_get_network_bridge(SbxHypervisorBackend *backend)
{
	return SBX_CH_BACKEND(backend)->settings.bridge;
}

/* the tap's anti-spoofing rules pin it */
static gchar *
sbx_ch_backend_get_vm_address(SbxHypervisorBackend *backend, const gchar *id)
{
	SbxChBackend *self = SBX_CH_BACKEND(backend);
	SbxChVm *vm = g_hash_table_lookup(self->vms, id);

	if (vm == NULL || sbx_ch_vm_get_address(vm) == 0)
		return NULL;
	return sbx_libvirt_net_ip_to_string(sbx_ch_vm_get_address(vm));
}

/* the guests' bridge and addresses, the same keys as the qemu backend's */
static gboolean
configure_network(SbxChBackend *self, GKeyFile *config, const gchar *group, GError **error)
{
	g_autofree gchar *bridge = g_key_file_get_string(config, group, "NetworkBridge", NULL);
	g_autofree gchar *cidr = g_key_file_get_string(config, group, "NetworkAddress", NULL);
	g_autoptr(GError) error_local = NULL;

	if (bridge == NULL)
		bridge = g_strdup(SBX_LIBVIRT_NETWORK_BRIDGE_DEFAULT);
	if (strlen(bridge) > 15 || !sbx_libvirt_net_name_is_valid(bridge)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "[%s] NetworkBridge: '%s' is not a valid interface name", group,
			    bridge);
		return FALSE;
	}
	if (!sbx_libvirt_net_parse_cidr(cidr != NULL ? cidr : SBX_LIBVIRT_NETWORK_ADDRESS_DEFAULT,
					&self->settings.net, &error_local)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "[%s] NetworkAddress: %s", group, error_local->message);
		return FALSE;
	}
	self->settings.net.mtu = sbx_libvirt_net_host_mtu("/");
	g_clear_pointer(&self->settings.bridge, g_free);
	if (if_nametoindex(bridge) == 0)
		g_info("cloud-hypervisor: bridge %s does not exist: guests get no network", bridge);
	else
		self->settings.bridge = g_steal_pointer(&bridge);
	return TRUE;
}

/* Cloud Hypervisor runs on KVM (or MSHV), never emulated */
static const gchar *
sbx_ch_backend_get_domain_type(SbxHypervisorBackend *backend)
{
	return "kvm";
}

static gboolean
sbx_ch_backend_configure(SbxHypervisorBackend *backend, GKeyFile *config, const gchar *group,
			 GError **error)
{
	SbxChBackend *self = SBX_CH_BACKEND(backend);
	g_autofree gchar *binary = g_key_file_get_string(config, group, "Binary", NULL);
	g_autofree gchar *min_version = g_key_file_get_string(config, group, "MinVersion", NULL);
	g_autofree gchar *user = NULL;
	g_autofree gchar *cgroup = NULL;

	if (binary != NULL) {
		g_free(self->settings.binary);
		self->settings.binary = g_steal_pointer(&binary);
	}
	if (!sbx_ch_version_parse(min_version != NULL ? min_version : SBX_CH_VERSION_MIN_DEFAULT,
				  &self->settings.min_version, error)) {
		g_prefix_error(error, "[%s] MinVersion: ", group);
		return FALSE;
	}
	if (!configure_network(self, config, group, error))
		return FALSE;
	if (g_key_file_has_key(config, group, "StorageDaemon", NULL)) {
		g_free(self->settings.qsd_binary);
		self->settings.qsd_binary =
		    g_key_file_get_string(config, group, "StorageDaemon", NULL);
	}
	/* the core checked the ranges: absent keys read as 0 */
	if (g_key_file_has_key(config, group, "AgentPort", NULL))
		self->settings.agent_port =
		    (guint)g_key_file_get_uint64(config, group, "AgentPort", NULL);
	if (g_key_file_has_key(config, group, "ApiTimeoutSec", NULL))
		self->settings.api_timeout_sec =
		    (guint)g_key_file_get_uint64(config, group, "ApiTimeoutSec", NULL);
	self->settings.graceful_stop_sec =
	    (guint)g_key_file_get_uint64(config, group, "GracefulStopSec", NULL);
	user = g_key_file_get_string(config, group, "User", NULL);
	cgroup = g_key_file_get_string(config, group, "CgroupRoot", NULL);
	/* PrivateTmp off only where the sandboxes' files are under /tmp (tests) */
	self->settings.jail = sbx_jail_new(
	    user != NULL ? user : DEFAULT_USER, cgroup != NULL ? cgroup : DEFAULT_CGROUP_ROOT,
	    !g_key_file_has_key(config, group, "PrivateTmp", NULL) ||
		g_key_file_get_boolean(config, group, "PrivateTmp", NULL),
	    error);
	if (self->settings.jail == NULL) {
		g_prefix_error(error, "[%s] User: ", group);
		return FALSE;
	}
	if (g_key_file_has_key(config, group, "PrivateDev", NULL))
		sbx_jail_set_private_dev(self->settings.jail,
					 g_key_file_get_boolean(config, group, "PrivateDev", NULL));
	g_ptr_array_add(self->jails, self->settings.jail);
	g_free(self->settings.record_dir);
	self->settings.record_dir = g_key_file_get_string(config, group, "RecordDir", NULL);
	if (self->settings.record_dir == NULL)
		self->settings.record_dir = g_strdup(DEFAULT_RECORD_DIR);
	if (g_mkdir_with_parents(self->settings.record_dir, 0700) != 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "[%s] RecordDir %s: %s", group, self->settings.record_dir,
			    g_strerror(errno));
		return FALSE;
	}
	{
		g_autofree gchar *mode = g_key_file_get_string(config, group, "RestoreMode", NULL);
		GStatBuf st = {0};
		self->settings.restore_on_demand = g_strcmp0(mode, "ondemand") == 0;
		/* a new build of the binary is a new compat string: old snapshots unused */
		g_stat(self->settings.binary, &st);
		g_free(self->compat);
		self->compat = g_strdup_printf(
		    "cloud-hypervisor %s %" G_GINT64_FORMAT " %" G_GINT64_FORMAT " %s",
		    self->settings.binary, (gint64)st.st_size, (gint64)st.st_mtime,
		    self->settings.restore_on_demand ? "ondemand" : "copy");
	}
	return TRUE;
}

static void
sbx_ch_backend_finalize(GObject *object)
{
	SbxChBackend *self = SBX_CH_BACKEND(object);

	g_hash_table_unref(self->vms);
	g_free(self->settings.binary);
	g_free(self->settings.record_dir);
	g_free(self->settings.bridge);
	g_free(self->settings.qsd_binary);
	g_ptr_array_unref(self->jails);
	g_free(self->compat);
	G_OBJECT_CLASS(sbx_ch_backend_parent_class)->finalize(object);
}

static void
sbx_ch_backend_class_init(SbxChBackendClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	SbxHypervisorBackendClass *backend_class = SBX_HYPERVISOR_BACKEND_CLASS(klass);

	object_class->finalize = sbx_ch_backend_finalize;
	backend_class->config_keys = ch_config_keys;
	backend_class->configure = sbx_ch_backend_configure;
	backend_class->start_vm_async = sbx_ch_backend_start_vm_async;
	backend_class->destroy_vm_async = sbx_ch_backend_destroy_vm_async;
	backend_class->list_vms_async = sbx_ch_backend_list_vms_async;
	backend_class->get_domain_type = sbx_ch_backend_get_domain_type;
	backend_class->connect_agent_async = sbx_ch_backend_connect_agent_async;
	backend_class->connect_agent_finish = sbx_ch_backend_connect_agent_finish;
	backend_class->get_snapshot_compat = sbx_ch_backend_get_snapshot_compat;
	backend_class->snapshot_vm_async = sbx_ch_backend_snapshot_vm_async;
	backend_class->restore_vm_async = sbx_ch_backend_restore_vm_async;
	backend_class->restore_vm_finish = sbx_ch_backend_restore_vm_finish;
	backend_class->get_network_bridge = sbx_ch_backend_get_network_bridge;
	backend_class->get_vm_address = sbx_ch_backend_get_vm_address;
}

static void
sbx_ch_backend_init(SbxChBackend *self)
{
	g_autofree gchar *found = g_find_program_in_path("cloud-hypervisor");

	self->settings.binary =
	    found != NULL ? g_steal_pointer(&found) : g_strdup("/usr/bin/cloud-hypervisor");
	found = g_find_program_in_path("qemu-storage-daemon");
	self->settings.qsd_binary =
	    found != NULL ? g_steal_pointer(&found) : g_strdup("/usr/bin/qemu-storage-daemon");
	sbx_ch_version_parse(SBX_CH_VERSION_MIN_DEFAULT, &self->settings.min_version, NULL);
	self->settings.agent_port = 1024;
	self->settings.api_timeout_sec = 30;
	self->vms =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)sbx_ch_vm_unref);
	self->jails = g_ptr_array_new_with_free_func((GDestroyNotify)sbx_jail_free);
}

SBX_PLUGIN_DEFINE(SBX_PLUGIN_KIND_HYPERVISOR, "cloud-hypervisor", sbx_ch_backend_get_type)
