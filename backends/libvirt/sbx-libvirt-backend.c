/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "sbx-libvirt-backend.h"
#include "sbx-libvirt-domain-type.h"
#include "sbx-libvirt-kill.h"
#include "sbx-libvirt-net.h"
#include "sbx-libvirt-network.h"
#include "sbx-libvirt-overlay.h"
#include "sbx-libvirt-util.h"
#include "sbx-libvirt-secret.h"
#include "sbx-libvirt-xml.h"
#include "sbx-plugin.h"

/* how long start waits for the agent socket: libvirtd creates it before QEMU
 * starts, so it is normally there when virDomainCreateXML returns */
#define SOCKET_WAIT_MS 5000
#define SOCKET_POLL_MS 20

/* the sandbox's copy-on-write root disk, inside its run dir */
#define OVERLAY_NAME "root.qcow2"

typedef struct {
	gchar *console_log;
	gchar *disk;	   /* our overlay, removed on destroy; or NULL */
	guint32 ip;	   /* its address on the network, or 0 */
	gboolean watching; /* report it when it stops on its own */
	/* started here without volumes: nothing of it outlives it, no flush to wait for */
	gboolean no_volumes;
} SbxLibvirtVm;

struct _SbxLibvirtBackend {
	SbxHypervisorBackend parent_instance;

	/* set by configure, read-only afterwards */
	gchar *uri;
	gchar *machine;
	gchar *emulator;
	gchar *cpu_model;
	guint tb_cache_mib;
	SbxLibvirtDomainType configured_type;
	gchar *network; /* libvirt network name, or NULL for none */
	gchar *network_bridge;
	SbxLibvirtNetInfo network_wanted; /* for defining it */
	GMainContext *main_ctx;

	/* guards net_ready and net_info: the network is made ready once */
	GMutex net_lock;
	gboolean net_ready;
	SbxLibvirtNetInfo net_info;

	/* guards conn, event_cb_id, resolved_type and probe */
	GMutex conn_lock;
	virConnectPtr conn;
	int event_cb_id;
	gboolean lost_conn; /* a connection died: sweep after reopening */
	SbxLibvirtDomainType resolved_type;
	SbxLibvirtProbe probe;

	/* guards vms and dying; separate so the event callback never waits for a connect */
	GMutex vms_lock;
	GHashTable *vms;   /* id -> SbxLibvirtVm */
	GHashTable *dying; /* ids whose QEMU exited, until libvirtd has dropped the domain */
};

G_DEFINE_FINAL_TYPE(SbxLibvirtBackend, sbx_libvirt_backend, SBX_TYPE_HYPERVISOR_BACKEND)

static const gchar *const domain_type_choices[] = {"auto", "kvm", "qemu", NULL};

static const SbxConfigKey libvirt_config_keys[] = {
    {"URI", SBX_CONFIG_STRING},
    {"DomainType", SBX_CONFIG_ENUM, 0, 0, domain_type_choices},
    {"Emulator", SBX_CONFIG_PATH},
    {"Machine", SBX_CONFIG_STRING},
    {"CpuModel", SBX_CONFIG_STRING},
    {"TbCacheMiB", SBX_CONFIG_UINT, 0, 4096},
    {"Network", SBX_CONFIG_STRING},
    {"NetworkAddress", SBX_CONFIG_STRING},
    {"NetworkBridge", SBX_CONFIG_STRING},
    {NULL},
};

#define DEFAULT_URI "qemu:///system"
#define DEFAULT_MACHINE "pc"
/* TCG's translation buffer per domain (docs/instant-start.md, "Host memory") */
#define DEFAULT_TB_CACHE_MIB 64

static void
sbx_libvirt_vm_free(SbxLibvirtVm *vm)
{
	g_free(vm->console_log);
	g_free(vm->disk);
	g_free(vm);
}

static void
silent_error_func(void *opaque, virErrorPtr error)
{
	/* errors are returned as GErrors; libvirt's default prints to stderr */
}

/* libvirt >= 6.3 implements its default event loop with GLib sources on the
 * default main context: the daemon's main loop dispatches libvirt's events,
 * and the lifecycle callback runs in the main thread. A thread of our own
 * iterating that context would fight the daemon for it. */
static gpointer
libvirt_init_once(gpointer data)
{
	if (virInitialize() < 0)
		return GINT_TO_POINTER(FALSE);
	virSetErrorFunc(NULL, silent_error_func);
	if (virEventRegisterDefaultImpl() < 0)
		return GINT_TO_POINTER(FALSE);
	return GINT_TO_POINTER(TRUE);
}

/* libvirt's nwfilter runs ebtables per domain start; with the nf_tables ebtables,
 * starts that overlap (other domains, other daemons on the host) sometimes fail
 * with "Failed to apply firewall rules ... RULE_DELETE failed". Nothing started:
 * try again, a few times. (In a worker thread: sleeping is fine.) */
#define SBX_LIBVIRT_FIREWALL_RETRIES 3

static virDomainPtr
create_domain(virConnectPtr conn, const gchar *id, const gchar *xml)
{
	for (guint attempt = 0;; attempt++) {
		virDomainPtr dom = virDomainCreateXML(conn, xml, VIR_DOMAIN_NONE);
		virErrorPtr err;

		if (dom != NULL || attempt == SBX_LIBVIRT_FIREWALL_RETRIES)
			return dom;
		err = virGetLastError();
		if (err == NULL || err->message == NULL ||
		    strstr(err->message, "Failed to apply firewall rules") == NULL)
			return NULL;
		g_message("vm %s: the host firewall failed under a concurrent start (%s); "
			  "starting again",
			  id, err->message);
		g_usleep((attempt + 1) * 200 * 1000);
	}
}

static gboolean
libvirt_init(GError **error)
{
	static GOnce once = G_ONCE_INIT;

	if (!GPOINTER_TO_INT(g_once(&once, libvirt_init_once, NULL))) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot initialise libvirt: %s",
			    virGetLastErrorMessage());
		return FALSE;
	}
	return TRUE;
}

/* wraps libvirt's last error (thread-local) into @error, naming the vm */
static void
set_virt_error(GError **error, const gchar *id, const gchar *what)
{
	virErrorPtr err = virGetLastError();
	gint code = G_IO_ERROR_FAILED;

	if (err != NULL && err->code == VIR_ERR_NO_DOMAIN)
		code = G_IO_ERROR_NOT_FOUND;
	else if (err != NULL && err->code == VIR_ERR_OPERATION_TIMEOUT)
		code = G_IO_ERROR_TIMED_OUT;
	if (id != NULL)
		g_set_error(error, G_IO_ERROR, code, "vm %s: %s: %s", id, what,
			    virGetLastErrorMessage());
	else
		g_set_error(error, G_IO_ERROR, code, "%s: %s", what, virGetLastErrorMessage());
	virResetLastError();
}

static gint
last_virt_error_code(void)
{
	virErrorPtr err = virGetLastError();
	return err != NULL ? err->code : VIR_ERR_OK;
}

typedef struct {
	SbxLibvirtBackend *self;
	gchar *id;
} ExitedData;

static gboolean
emit_exited_cb(gpointer user_data)
{
	ExitedData *data = user_data;
	g_debug("vm %s stopped on its own", data->id);
	sbx_hypervisor_backend_emit_vm_exited(SBX_HYPERVISOR_BACKEND(data->self), data->id);
	return G_SOURCE_REMOVE;
}

static void
exited_data_free(gpointer user_data)
{
	ExitedData *data = user_data;
	g_object_unref(data->self);
	g_free(data->id);
	g_free(data);
}

/* emits vm-exited on the main context once per vm we still watch; any thread */
static void
report_exited(SbxLibvirtBackend *self, const gchar *id)
{
	SbxLibvirtVm *vm;
	gboolean report = FALSE;
	ExitedData *data;

	g_mutex_lock(&self->vms_lock);
	vm = g_hash_table_lookup(self->vms, id);
	if (vm != NULL && vm->watching) {
		vm->watching = FALSE;
		report = TRUE;
	}
	g_mutex_unlock(&self->vms_lock);
	if (!report)
		return;

	data = g_new0(ExitedData, 1);
	data->self = g_object_ref(self);
	data->id = g_strdup(id);
	g_main_context_invoke_full(self->main_ctx, G_PRIORITY_DEFAULT, emit_exited_cb, data,
				   exited_data_free);
}

/* runs wherever the default main context is dispatched (the main thread) */
static int
lifecycle_cb(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	const gchar *name = virDomainGetName(dom);

	if (event != VIR_DOMAIN_EVENT_STOPPED && event != VIR_DOMAIN_EVENT_CRASHED)
		return 0;
	if (name != NULL)
		report_exited(SBX_LIBVIRT_BACKEND(opaque), name);
	return 0;
}

/* events were lost while the connection was down: look at every vm we watch */
static void
sweep_watched_locked(SbxLibvirtBackend *self)
{
	g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
	GHashTableIter iter;
	gpointer key, value;

	g_mutex_lock(&self->vms_lock);
	g_hash_table_iter_init(&iter, self->vms);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		SbxLibvirtVm *vm = value;
		if (vm->watching)
			g_ptr_array_add(ids, g_strdup(key));
	}
	g_mutex_unlock(&self->vms_lock);
	for (guint i = 0; i < ids->len; i++) {
		const gchar *id = g_ptr_array_index(ids, i);
		virDomainPtr dom = virDomainLookupByName(self->conn, id);
		gboolean active = dom != NULL && virDomainIsActive(dom) == 1;

		if (dom != NULL)
			virDomainFree(dom);
		virResetLastError();
		if (!active)
			report_exited(self, id);
	}
}

static void reconnect_in_background(SbxLibvirtBackend *self);

/* libvirtd went away (or the keepalive failed): reconnect without waiting
 * for the next call, so vm-exited keeps working */
static void
close_cb(virConnectPtr conn, int reason, void *opaque)
{
	SbxLibvirtBackend *self = SBX_LIBVIRT_BACKEND(opaque);

	if (reason == VIR_CONNECT_CLOSE_REASON_CLIENT)
		return;
	g_info("libvirt: connection to %s closed (reason %d), reconnecting", self->uri, reason);
	reconnect_in_background(self);
}

static void
drop_conn_locked(SbxLibvirtBackend *self)
{
	if (self->conn == NULL)
		return;
	if (self->event_cb_id >= 0)
		virConnectDomainEventDeregisterAny(self->conn, self->event_cb_id);
	self->event_cb_id = -1;
	virConnectUnregisterCloseCallback(self->conn, close_cb);
	virConnectClose(self->conn);
	virResetLastError();
	self->conn = NULL;
}

/* for DomainType=auto: ask libvirt whether it can run kvm guests at all */
static void
resolve_domain_type_locked(SbxLibvirtBackend *self)
{
	if (self->resolved_type != SBX_LIBVIRT_DOMAIN_TYPE_AUTO)
		return;
	if (sbx_libvirt_domain_type_needs_caps(&self->probe)) {
		gchar *caps = virConnectGetDomainCapabilities(self->conn, self->emulator, NULL,
							      self->machine, "kvm", 0);
		self->probe.caps_offer_kvm = caps != NULL;
		free(caps);
		virResetLastError();
	}
	self->resolved_type = sbx_libvirt_domain_type_pick(&self->probe);
	g_info("libvirt: domain type %s", sbx_libvirt_domain_type_to_string(self->resolved_type));
}

/* the shared connection, opened lazily and reopened when it died; the
 * caller owns a reference. Blocks: worker threads only. */
static virConnectPtr
get_conn(SbxLibvirtBackend *self, GError **error)
{
	g_autoptr(GMutexLocker) locker = NULL;
	gboolean reopened = FALSE;

	if (!libvirt_init(error))
		return NULL;
	locker = g_mutex_locker_new(&self->conn_lock);
	if (self->conn != NULL && virConnectIsAlive(self->conn) != 1) {
		g_debug("libvirt: connection to %s died, reopening", self->uri);
		drop_conn_locked(self);
		self->lost_conn = TRUE;
	}
	if (self->conn == NULL) {
		self->conn = virConnectOpen(self->uri);
		if (self->conn == NULL) {
			g_autofree gchar *what = g_strdup_printf("cannot connect to %s", self->uri);
			set_virt_error(error, NULL, what);
			return NULL;
		}
		self->event_cb_id = virConnectDomainEventRegisterAny(
		    self->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
		    VIR_DOMAIN_EVENT_CALLBACK(lifecycle_cb), self, NULL);
		if (self->event_cb_id < 0) {
			g_warning("libvirt: cannot watch domain events: %s",
				  virGetLastErrorMessage());
			virResetLastError();
		}
		if (virConnectRegisterCloseCallback(self->conn, close_cb, self, NULL) < 0)
			virResetLastError();
		reopened = self->lost_conn;
		self->lost_conn = FALSE;
	}
	if (reopened)
		sweep_watched_locked(self);
	resolve_domain_type_locked(self);
	virConnectRef(self->conn);
	return self->conn;
}

static void
conn_unref(virConnectPtr conn)
{
	if (conn != NULL)
		virConnectClose(conn);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virConnect, conn_unref)

static void
domain_unref(virDomainPtr dom)
{
	if (dom != NULL)
		virDomainFree(dom);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virDomain, domain_unref)

static SbxLibvirtDomainType
get_resolved_type(SbxLibvirtBackend *self)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&self->conn_lock);
	return self->resolved_type;
}

/* stops watching @id and returns the console log we know for it (and its disk) */
static gchar *
forget_vm_full(SbxLibvirtBackend *self, const gchar *id, gchar **disk)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&self->vms_lock);
	SbxLibvirtVm *vm = g_hash_table_lookup(self->vms, id);
	gchar *console_log;

	if (vm == NULL)
		return NULL;
	console_log = g_steal_pointer(&vm->console_log);
	if (disk != NULL)
		*disk = g_steal_pointer(&vm->disk);
	g_hash_table_remove(self->vms, id);
	return console_log;
}

static gchar *
forget_vm(SbxLibvirtBackend *self, const gchar *id)
{
	return forget_vm_full(self, id, NULL);
}

/* forgets a vm whose start failed and removes its overlay */
static void
forget_failed_vm(SbxLibvirtBackend *self, const gchar *id)
{
	g_autofree gchar *disk = NULL;
	g_free(forget_vm_full(self, id, &disk));
	if (disk != NULL)
		g_unlink(disk);
}

static gboolean
remember_vm(SbxLibvirtBackend *self, const gchar *id, const gchar *console_log, const gchar *disk,
	    guint32 ip, GError **error)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&self->vms_lock);
	SbxLibvirtVm *vm;

	vm = g_hash_table_lookup(self->vms, id);
	if (vm != NULL && vm->watching) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS, "vm %s already exists", id);
		return FALSE;
	}
	/* it stopped on its own and was never destroyed: its files go now */
	if (vm != NULL)
		sbx_libvirt_util_remove_logs(vm->console_log);
	vm = g_new0(SbxLibvirtVm, 1);
	vm->console_log = g_strdup(console_log);
	vm->disk = g_strdup(disk);
	vm->ip = ip;
	vm->watching = TRUE;
	g_hash_table_insert(self->vms, g_strdup(id), vm);
	return TRUE;
}

/* sandbox ids are never reused: without this, one log per sandbox piles up */
static void
remove_domain_log(SbxLibvirtBackend *self, const gchar *id)
{
	g_autofree gchar *path = sbx_libvirt_util_domain_log_path(self->uri, id);
	sbx_libvirt_util_remove_logs(path);
}

/* <run-dir>/root.qcow2 of a domain we started with a disk */
static gchar *
overlay_from_metadata(const gchar *meta)
{
	g_autofree gchar *run_dir = sbx_libvirt_util_metadata_get(meta, "run-dir");
	g_autofree gchar *has_disk = sbx_libvirt_util_metadata_get(meta, "disk");

	if (run_dir == NULL || has_disk == NULL || !g_path_is_absolute(run_dir))
		return NULL;
	return g_build_filename(run_dir, OVERLAY_NAME, NULL);
}

/* virDomainDestroy: SIGTERM, libvirtd polls until QEMU exits, SIGKILL after
 * 10 s, then its own teardown (1.4-2.5 s under TCG); blocks */
static gboolean
destroy_domain_now(virDomainPtr dom, const gchar *id, GError **error)
{
	if (virDomainDestroyFlags(dom, 0) < 0) {
		gint code = last_virt_error_code();
		/* gone or stopped meanwhile: that's what we wanted */
		if (code != VIR_ERR_NO_DOMAIN && code != VIR_ERR_OPERATION_INVALID) {
			set_virt_error(error, id, "cannot destroy domain");
			return FALSE;
		}
		virResetLastError();
	}
	return TRUE;
}

/* as virDomainDestroy does, without its polling: SIGTERM, SIGKILL after
 * 10 s; TRUE once this host's QEMU of @id has exited. FALSE when we cannot
 * reach it (remote URI, no pid file): the caller destroys through libvirt.
 * Not @graceful (no volumes: the root overlay goes with it): SIGKILL at once,
 * which on a loaded host ends it sooner than QEMU's own SIGTERM handling. */
#define STOP_TERM_MS 10000
#define STOP_KILL_MS 5000

static gboolean
stop_qemu(SbxLibvirtBackend *self, const gchar *id, gboolean graceful)
{
	gint pidfd = sbx_libvirt_kill_open_qemu(self->uri, NULL, id);
	gint64 start = g_get_monotonic_time();
	gboolean stopped;

	if (pidfd < 0) {
		g_debug("vm %s: its QEMU is not reachable from here: destroying through libvirt",
			id);
		return FALSE;
	}
	stopped = sbx_libvirt_kill_qemu(pidfd, graceful ? STOP_TERM_MS : 0, STOP_KILL_MS);
	close(pidfd);
	if (!stopped)
		g_warning("vm %s: QEMU did not exit after SIGKILL; destroying through libvirt", id);
	else
		g_debug("vm %s: QEMU exited %.1f ms after %s", id,
			(g_get_monotonic_time() - start) / 1000.0,
			graceful ? "SIGTERM" : "SIGKILL");
	return stopped;
}

/* a dying domain is not listed: it is gone for the core once destroy_vm returned */
static void
set_dying(SbxLibvirtBackend *self, const gchar *id, gboolean dying)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&self->vms_lock);
	if (dying)
		g_hash_table_add(self->dying, g_strdup(id));
	else
		g_hash_table_remove(self->dying, id);
}

static gboolean
is_dying(SbxLibvirtBackend *self, const gchar *id)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&self->vms_lock);
	return g_hash_table_contains(self->dying, id);
}

static void
reap_domain_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
	SbxLibvirtBackend *self = SBX_LIBVIRT_BACKEND(source);
	const gchar *id = task_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(virConnect) conn = get_conn(self, &error);
	g_autoptr(virDomain) dom = NULL;

	if (conn != NULL)
		dom = virDomainLookupByName(conn, id);
	virResetLastError();
	/* libvirtd saw QEMU exit and removed the transient domain: the usual case */
	if (dom != NULL && virDomainIsActive(dom) == 1 && !destroy_domain_now(dom, id, &error))
		g_warning("%s", error->message);
	virResetLastError();
	/* libvirtd appends to the domain's log while it tears the domain down:
	 * removed again once it is done (sandbox ids are never reused) */
	remove_domain_log(self, id);
	set_dying(self, id, FALSE);
	g_task_return_boolean(task, TRUE);
}

/* QEMU has exited: libvirtd tears the domain down when it sees the monitor
 * close; this makes sure, without the caller waiting. A daemon that dies
 * meanwhile leaves nothing half done: the process is gone, libvirtd does the rest. */
static void
reap_domain_in_background(SbxLibvirtBackend *self, const gchar *id)
{
	g_autoptr(GTask) task = g_task_new(self, NULL, NULL, NULL);

	set_dying(self, id, TRUE);
	g_task_set_task_data(task, g_strdup(id), g_free);
	g_task_run_in_thread(task, reap_domain_thread);
}

/* whether we started @id without volumes (unknown after a restart: FALSE) */
static gboolean
vm_has_no_volumes(SbxLibvirtBackend *self, const gchar *id)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&self->vms_lock);
	SbxLibvirtVm *vm = g_hash_table_lookup(self->vms, id);
	return vm != NULL && vm->no_volumes;
}

/* destroys the domain (if any) and removes its files; blocks until its QEMU
 * has exited, not until libvirtd has forgotten the domain */
static gboolean
destroy_domain(SbxLibvirtBackend *self, virConnectPtr conn, const gchar *id, GError **error)
{
	gboolean graceful = !vm_has_no_volumes(self, id);
	g_autofree gchar *disk = NULL;
	g_autofree gchar *console_log = forget_vm_full(self, id, &disk);
	g_autoptr(virDomain) dom = virDomainLookupByName(conn, id);

	if (dom == NULL) {
		if (last_virt_error_code() != VIR_ERR_NO_DOMAIN) {
			set_virt_error(error, id, "cannot look up domain");
			return FALSE;
		}
		virResetLastError();
	} else {
		g_autofree gchar *meta = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT,
							      SBX_LIBVIRT_METADATA_URI, 0);
		virResetLastError();
		/* a domain without our metadata is not ours: leave it alone */
		if (meta == NULL) {
			g_debug("vm %s: domain is not sandboxd's, not destroying it", id);
			return TRUE;
		}
		/* after a daemon restart, the metadata still knows the log */
		if (console_log == NULL)
			console_log = sbx_libvirt_util_metadata_get_console_log(meta);
		if (disk == NULL)
			disk = overlay_from_metadata(meta);
		/* QEMU gone (its disks closed): libvirtd finishes on its own, and the
		 * destroy that makes sure of it goes on behind the caller's back */
		if (stop_qemu(self, id, graceful))
			reap_domain_in_background(self, id);
		else if (!destroy_domain_now(dom, id, error))
			return FALSE;
	}
	/* the rbd keys go with the vm (a no-op for vms without rbd disks) */
	sbx_libvirt_secret_undefine_all(conn, id);
	/* a log path means the vm was ours (from our table or metadata) */
	if (console_log != NULL) {
		sbx_libvirt_util_remove_logs(console_log);
		remove_domain_log(self, id);
	}
	/* nothing a sandbox wrote outlives it */
	if (disk != NULL && g_unlink(disk) != 0 && errno != ENOENT)
		g_warning("vm %s: cannot remove %s: %s", id, disk, g_strerror(errno));
	return TRUE;
}

static gboolean
wait_for_socket(const gchar *path, GCancellable *cancellable, GError **error)
{
	for (guint waited = 0; waited < SOCKET_WAIT_MS; waited += SOCKET_POLL_MS) {
		struct stat st;
		if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
			return TRUE;
		if (g_cancellable_set_error_if_cancelled(cancellable, error))
			return FALSE;
		g_usleep(SOCKET_POLL_MS * 1000);
	}
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "agent socket %s did not appear",
		    path);
	return FALSE;
}

/* the network exists and runs (defined by us when it is the default one and
 * missing); its address and MTU in @info. Blocks. */
static gboolean
ensure_network(SbxLibvirtBackend *self, virConnectPtr conn, SbxLibvirtNetInfo *info, GError **error)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&self->net_lock);

	if (self->net_ready) {
		*info = self->net_info;
		return TRUE;
	}
	if (!sbx_libvirt_network_ensure(conn, self->network, self->network_bridge,
					&self->network_wanted, &self->net_info, error))
		return FALSE;
	self->net_ready = TRUE;
	*info = self->net_info;
	return TRUE;
}

static void
network_changed(SbxLibvirtBackend *self)
{
	g_mutex_lock(&self->net_lock);
	self->net_ready = FALSE;
	g_mutex_unlock(&self->net_lock);
}

/* the addresses every running domain with our metadata has (other daemons'
 * too: they share the network) */
static void
scan_taken_ips(virConnectPtr conn, GHashTable *taken)
{
	virDomainPtr *doms = NULL;
	int n = virConnectListAllDomains(conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);

	for (int i = 0; i < n; i++) {
		g_autofree gchar *meta = virDomainGetMetadata(doms[i], VIR_DOMAIN_METADATA_ELEMENT,
							      SBX_LIBVIRT_METADATA_URI, 0);
		g_autofree gchar *ip_str = sbx_libvirt_util_metadata_get(meta, "ip");
		guint32 ip = 0;

		if (sbx_libvirt_net_ip_from_string(ip_str, &ip))
			g_hash_table_add(taken, GUINT_TO_POINTER(ip));
		virDomainFree(doms[i]);
	}
	free(doms);
	virResetLastError();
}

/* picks a free address for @id and records it; 0 when the network is full */
static guint32
reserve_ip(SbxLibvirtBackend *self, const gchar *id, const SbxLibvirtNetInfo *info,
	   GHashTable *taken)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&self->vms_lock);
	GHashTableIter iter;
	gpointer value;
	SbxLibvirtVm *mine;
	guint32 ip;

	g_hash_table_iter_init(&iter, self->vms);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		SbxLibvirtVm *vm = value;
		if (vm->ip != 0)
			g_hash_table_add(taken, GUINT_TO_POINTER(vm->ip));
	}
	ip = sbx_libvirt_net_ip_pick(info, id, taken);
	mine = g_hash_table_lookup(self->vms, id);
	if (mine != NULL)
		mine->ip = ip;
	return ip;
}

/* the sandbox's own disk: a qcow2 overlay on the image's base, in its run dir */
static gchar *
create_overlay(const SbxVmSpec *spec, GCancellable *cancellable, GError **error)
{
	const gchar *format = spec->root_format != NULL ? spec->root_format : "qcow2";
	g_autofree gchar *overlay = NULL;
	guint64 base_size = 0;
	guint64 size;

	if (spec->run_dir == NULL || !g_path_is_absolute(spec->run_dir)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "vm %s: a root disk needs a run dir", spec->id);
		return NULL;
	}
	if (!sbx_libvirt_overlay_virtual_size(spec->root_disk, format, &base_size, error)) {
		g_prefix_error(error, "vm %s: root disk: ", spec->id);
		return NULL;
	}
	/* never smaller than the file system on the base */
	size = MAX(spec->disk_size, base_size);
	overlay = g_build_filename(spec->run_dir, OVERLAY_NAME, NULL);
	if (!sbx_libvirt_overlay_create(spec->root_disk, format, overlay, size, cancellable,
					error)) {
		g_prefix_error(error, "vm %s: ", spec->id);
		return NULL;
	}
	/* QEMU (another user) opens the overlay by path: let it through the run
	 * dir, without listing it; every file in it is 0600 or a root socket */
	if (g_chmod(spec->run_dir, 0711) != 0) {
		int errsv = errno;
		g_unlink(overlay);
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "vm %s: chmod %s: %s",
			    spec->id, spec->run_dir, g_strerror(errsv));
		return NULL;
	}
	return g_steal_pointer(&overlay);
}

static gboolean
start_vm_blocking(SbxLibvirtBackend *self, const SbxVmSpec *spec, GCancellable *cancellable,
		  GError **error)
{
	g_autoptr(virConnect) conn = NULL;
	g_autoptr(virDomain) existing = NULL;
	g_autoptr(virDomain) dom = NULL;
	g_autofree gchar *xml = NULL;
	g_autofree gchar *disk = NULL;
	g_autofree gchar *ip_str = NULL;
	g_autofree gchar *mac = NULL;
	g_autofree gchar *net_cmdline = NULL;
	g_auto(GStrv) secrets = NULL;
	g_autoptr(GError) error_local = NULL;
	SbxLibvirtXmlOptions opts = {0};

	if (!sbx_libvirt_xml_validate_spec(spec, error))
		return FALSE;
	conn = get_conn(self, error);
	if (conn == NULL) {
		g_prefix_error(error, "vm %s: ", spec->id);
		return FALSE;
	}

	/* never touch (or clean up after) a domain somebody else started */
	existing = virDomainLookupByName(conn, spec->id);
	if (existing != NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS, "vm %s: domain already exists",
			    spec->id);
		return FALSE;
	}
	virResetLastError();
	if (!remember_vm(self, spec->id, spec->console_log, NULL, 0, error))
		return FALSE;
	if (g_cancellable_set_error_if_cancelled(cancellable, error)) {
		g_free(forget_vm(self, spec->id));
		return FALSE;
	}

	if (spec->disks == NULL || spec->disks->len == 0) {
		g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&self->vms_lock);
		SbxLibvirtVm *vm = g_hash_table_lookup(self->vms, spec->id);
		if (vm != NULL)
			vm->no_volumes = TRUE;
	}
	if (spec->root_disk != NULL) {
		disk = create_overlay(spec, cancellable, error);
		if (disk == NULL) {
			g_free(forget_vm(self, spec->id));
			return FALSE;
		}
		g_mutex_lock(&self->vms_lock);
		{
			SbxLibvirtVm *vm = g_hash_table_lookup(self->vms, spec->id);
			if (vm != NULL)
				vm->disk = g_strdup(disk);
		}
		g_mutex_unlock(&self->vms_lock);
	}
	if (spec->network && self->network != NULL) {
		SbxLibvirtNetInfo info = {0};
		g_autoptr(GHashTable) taken = g_hash_table_new(NULL, NULL);
		guint32 ip;

		if (!ensure_network(self, conn, &info, error)) {
			g_prefix_error(error, "vm %s: ", spec->id);
			forget_failed_vm(self, spec->id);
			return FALSE;
		}
		scan_taken_ips(conn, taken);
		ip = reserve_ip(self, spec->id, &info, taken);
		if (ip == 0) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
				    "vm %s: no free address on libvirt network '%s'", spec->id,
				    self->network);
			forget_failed_vm(self, spec->id);
			return FALSE;
		}
		ip_str = sbx_libvirt_net_ip_to_string(ip);
		mac = sbx_libvirt_net_mac_for_ip(ip);
		net_cmdline = sbx_libvirt_net_cmdline(&info, ip);
		opts.network = self->network;
		opts.mac = mac;
		opts.ip = ip_str;
		opts.extra_cmdline = net_cmdline;
	}

	opts.domain_type = sbx_libvirt_domain_type_to_string(get_resolved_type(self));
	opts.machine = self->machine;
	opts.emulator = self->emulator;
	opts.cpu_model = self->cpu_model;
	opts.tb_cache_mib = self->tb_cache_mib;
	opts.disk_path = disk;
	opts.disk_format = "qcow2";
	opts.disk_backing = disk != NULL ? spec->root_disk : NULL;
	opts.disk_backing_format = spec->root_format != NULL ? spec->root_format : "qcow2";
	if (spec->disks != NULL && spec->disks->len > 0) {
		secrets = sbx_libvirt_secret_define_all(conn, spec, error);
		if (secrets == NULL) {
			forget_failed_vm(self, spec->id);
			return FALSE;
		}
		opts.disk_secrets = (const gchar *const *)secrets;
	}
	xml = sbx_libvirt_xml_domain_new(spec, &opts, error);
	if (xml == NULL) {
		sbx_libvirt_secret_undefine_all(conn, spec->id);
		forget_failed_vm(self, spec->id);
		return FALSE;
	}

	g_debug("vm %s: creating domain\n%s", spec->id, xml);
	dom = create_domain(conn, spec->id, xml);
	if (dom == NULL) {
		set_virt_error(error, spec->id, "cannot start domain");
		sbx_libvirt_secret_undefine_all(conn, spec->id);
		forget_failed_vm(self, spec->id);
		sbx_libvirt_util_remove_logs(spec->console_log);
		remove_domain_log(self, spec->id);
		/* the network may have been stopped under us: look again next time */
		if (opts.network != NULL)
			network_changed(self);
		return FALSE;
	}
	if (!wait_for_socket(spec->agent_socket, cancellable, &error_local) ||
	    virDomainIsActive(dom) != 1) {
		if (error_local == NULL) {
			g_set_error(&error_local, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "domain stopped while starting");
			virResetLastError();
		}
		g_propagate_prefixed_error(error, g_steal_pointer(&error_local),
					   "vm %s: ", spec->id);
		if (!destroy_domain(self, conn, spec->id, &error_local))
			g_warning("cleaning up after failed start: %s", error_local->message);
		return FALSE;
	}
	return TRUE;
}

static void
start_vm_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
	GError *error = NULL;

	if (!start_vm_blocking(SBX_LIBVIRT_BACKEND(source), task_data, cancellable, &error))
		g_task_return_error(task, error);
	else
		g_task_return_boolean(task, TRUE);
}

static void
sbx_libvirt_backend_start_vm_async(SbxHypervisorBackend *backend, const SbxVmSpec *spec,
				   GCancellable *cancellable, GAsyncReadyCallback callback,
				   gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(backend, cancellable, callback, user_data);

	g_task_set_source_tag(task, sbx_libvirt_backend_start_vm_async);
	g_task_set_task_data(task, sbx_vm_spec_copy(spec), (GDestroyNotify)sbx_vm_spec_free);
	/* cancellation is checked by hand: a half-started domain must be destroyed */
	g_task_set_return_on_cancel(task, FALSE);
	g_task_run_in_thread(task, start_vm_thread);
}

static void
destroy_vm_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
	SbxLibvirtBackend *self = SBX_LIBVIRT_BACKEND(source);
	const gchar *id = task_data;
	g_autoptr(virConnect) conn = NULL;
	GError *error = NULL;

	conn = get_conn(self, &error);
	if (conn == NULL) {
		g_prefix_error(&error, "vm %s: ", id);
		g_task_return_error(task, error);
		return;
	}
	if (!destroy_domain(self, conn, id, &error)) {
		g_task_return_error(task, error);
		return;
	}
	g_task_return_boolean(task, TRUE);
}

static void
sbx_libvirt_backend_destroy_vm_async(SbxHypervisorBackend *backend, const gchar *id,
				     GCancellable *cancellable, GAsyncReadyCallback callback,
				     gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(backend, cancellable, callback, user_data);

	g_task_set_source_tag(task, sbx_libvirt_backend_destroy_vm_async);
	g_task_set_task_data(task, g_strdup(id), g_free);
	g_task_run_in_thread(task, destroy_vm_thread);
}

static void
list_vms_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
	SbxLibvirtBackend *self = SBX_LIBVIRT_BACKEND(source);
	g_autoptr(virConnect) conn = NULL;
	g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
	virDomainPtr *doms = NULL;
	GError *error = NULL;
	int n;

	conn = get_conn(self, &error);
	if (conn == NULL) {
		g_task_return_error(task, error);
		return;
	}
	n = virConnectListAllDomains(conn, &doms, 0);
	if (n < 0) {
		set_virt_error(&error, NULL, "cannot list domains");
		g_task_return_error(task, error);
		return;
	}
	for (int i = 0; i < n; i++) {
		g_autofree gchar *meta = virDomainGetMetadata(doms[i], VIR_DOMAIN_METADATA_ELEMENT,
							      SBX_LIBVIRT_METADATA_URI, 0);
		const gchar *name = virDomainGetName(doms[i]);

		virResetLastError();
		if (meta != NULL && name != NULL && !is_dying(self, name)) {
			g_autofree gchar *log = sbx_libvirt_util_metadata_get_console_log(meta);
			g_ptr_array_add(ids, g_strdup(name));
			/* adopted: report when it stops, clean up its log on destroy */
			if (virDomainIsActive(doms[i]) == 1) {
				g_autofree gchar *disk = overlay_from_metadata(meta);
				g_autofree gchar *ip_str =
				    sbx_libvirt_util_metadata_get(meta, "ip");
				guint32 ip = 0;
				if (!sbx_libvirt_net_ip_from_string(ip_str, &ip))
					ip = 0;
				remember_vm(self, name, log, disk, ip, NULL);
			}
		}
		virDomainFree(doms[i]);
	}
	free(doms);
	g_ptr_array_add(ids, NULL);
	g_task_return_pointer(task, g_ptr_array_steal(ids, NULL), (GDestroyNotify)g_strfreev);
}

static void
sbx_libvirt_backend_list_vms_async(SbxHypervisorBackend *backend, GCancellable *cancellable,
				   GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(backend, cancellable, callback, user_data);

	g_task_set_source_tag(task, sbx_libvirt_backend_list_vms_async);
	g_task_run_in_thread(task, list_vms_thread);
}

#define RECONNECT_RETRY_SEC 2

static gboolean
retry_reconnect_cb(gpointer user_data)
{
	reconnect_in_background(SBX_LIBVIRT_BACKEND(user_data));
	return G_SOURCE_REMOVE;
}

static void
warm_up_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
	SbxLibvirtBackend *self = SBX_LIBVIRT_BACKEND(source);
	g_autoptr(GError) error = NULL;
	g_autoptr(virConnect) conn = get_conn(self, &error);
	gboolean retry;

	if (conn != NULL && self->network != NULL) {
		SbxLibvirtNetInfo info;
		if (!ensure_network(self, conn, &info, &error)) {
			g_warning("libvirt: %s", error->message);
			g_clear_error(&error);
		}
	}
	if (conn == NULL) {
		g_debug("libvirt: not connected: %s", error->message);
		/* a lost connection is retried until libvirtd is back */
		g_mutex_lock(&self->conn_lock);
		retry = self->lost_conn;
		g_mutex_unlock(&self->conn_lock);
		if (retry) {
			g_autoptr(GSource) source_retry =
			    g_timeout_source_new_seconds(RECONNECT_RETRY_SEC);
			g_source_set_callback(source_retry, retry_reconnect_cb, g_object_ref(self),
					      g_object_unref);
			g_source_attach(source_retry, self->main_ctx);
		}
	}
	g_task_return_boolean(task, TRUE);
}

static void
reconnect_in_background(SbxLibvirtBackend *self)
{
	g_autoptr(GTask) task = g_task_new(self, NULL, NULL, NULL);
	g_task_run_in_thread(task, warm_up_thread);
}

static gchar *
get_string_or(GKeyFile *config, const gchar *group, const gchar *key, const gchar *fallback)
{
	gchar *value = g_key_file_get_string(config, group, key, NULL);

	if (value == NULL || value[0] == '\0') {
		g_free(value);
		return g_strdup(fallback);
	}
	return value;
}

static gboolean
sbx_libvirt_backend_configure(SbxHypervisorBackend *backend, GKeyFile *config, const gchar *group,
			      GError **error)
{
	SbxLibvirtBackend *self = SBX_LIBVIRT_BACKEND(backend);
	g_autofree gchar *type = get_string_or(config, group, "DomainType", "auto");

	g_free(self->uri);
	self->uri = get_string_or(config, group, "URI", DEFAULT_URI);
	g_free(self->machine);
	self->machine = get_string_or(config, group, "Machine", DEFAULT_MACHINE);
	g_free(self->emulator);
	self->emulator = get_string_or(config, group, "Emulator", NULL);
	g_free(self->cpu_model);
	self->cpu_model = get_string_or(config, group, "CpuModel", NULL);
	self->tb_cache_mib = g_key_file_has_key(config, group, "TbCacheMiB", NULL)
				 ? (guint)g_key_file_get_uint64(config, group, "TbCacheMiB", NULL)
				 : DEFAULT_TB_CACHE_MIB;
	self->configured_type = sbx_libvirt_domain_type_from_string(type);
	g_free(self->network);
	self->network = get_string_or(config, group, "Network", SBX_LIBVIRT_NETWORK_DEFAULT);
	if (g_strcmp0(self->network, "none") == 0)
		g_clear_pointer(&self->network, g_free);
	else if (!sbx_libvirt_net_name_is_valid(self->network)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "[%s] Network: '%s' is not a valid network name", group, self->network);
		return FALSE;
	}
	g_free(self->network_bridge);
	self->network_bridge =
	    get_string_or(config, group, "NetworkBridge", SBX_LIBVIRT_NETWORK_BRIDGE_DEFAULT);
	if (!sbx_libvirt_net_name_is_valid(self->network_bridge) ||
	    strlen(self->network_bridge) > 15) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "[%s] NetworkBridge: '%s' is not a valid interface name", group,
			    self->network_bridge);
		return FALSE;
	}
	{
		g_autofree gchar *cidr = get_string_or(config, group, "NetworkAddress",
						       SBX_LIBVIRT_NETWORK_ADDRESS_DEFAULT);
		g_autoptr(GError) error_local = NULL;
		if (!sbx_libvirt_net_parse_cidr(cidr, &self->network_wanted, &error_local)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "[%s] NetworkAddress: %s", group, error_local->message);
			return FALSE;
		}
		self->network_wanted.mtu = sbx_libvirt_net_host_mtu("/");
	}
	network_changed(self);
	if (self->main_ctx == NULL)
		self->main_ctx = g_main_context_ref_thread_default();

	/* the cheap local probes now; libvirt's capabilities on first connect */
	g_mutex_lock(&self->conn_lock);
	self->resolved_type = self->configured_type;
	if (self->resolved_type == SBX_LIBVIRT_DOMAIN_TYPE_AUTO) {
		sbx_libvirt_domain_type_probe_host(&self->probe, "/");
		if (!sbx_libvirt_domain_type_needs_caps(&self->probe))
			self->resolved_type = sbx_libvirt_domain_type_pick(&self->probe);
	}
	g_mutex_unlock(&self->conn_lock);

	/* only auto on a kvm-capable host needs libvirt to answer get_domain_type;
	 * the network is made ready early so the first sandbox does not wait */
	if (self->resolved_type == SBX_LIBVIRT_DOMAIN_TYPE_AUTO || self->network != NULL)
		reconnect_in_background(self);
	return TRUE;
}

static const gchar *
sbx_libvirt_backend_get_domain_type(SbxHypervisorBackend *backend)
{
	SbxLibvirtBackend *self = SBX_LIBVIRT_BACKEND(backend);
	SbxLibvirtDomainType type = get_resolved_type(self);

	/* auto not resolved yet (libvirt not reached): kvm is the best guess */
	if (type == SBX_LIBVIRT_DOMAIN_TYPE_AUTO)
		type = SBX_LIBVIRT_DOMAIN_TYPE_KVM;
	return sbx_libvirt_domain_type_to_string(type);
}

/* the bridge of the network we define; for a network defined by someone else
 * ([libvirt] Network), NetworkBridge must name its bridge */
static const gchar *
sbx_libvirt_backend_get_network_bridge(SbxHypervisorBackend *backend)
{
	SbxLibvirtBackend *self = SBX_LIBVIRT_BACKEND(backend);

	return self->network != NULL ? self->network_bridge : NULL;
}

/* clean-traffic pins it (the domain XML's filterref) */
static gchar *
sbx_libvirt_backend_get_vm_address(SbxHypervisorBackend *backend, const gchar *id)
{
	SbxLibvirtBackend *self = SBX_LIBVIRT_BACKEND(backend);
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&self->vms_lock);
	SbxLibvirtVm *vm = g_hash_table_lookup(self->vms, id);

	return vm != NULL && vm->ip != 0 ? sbx_libvirt_net_ip_to_string(vm->ip) : NULL;
}

static void
sbx_libvirt_backend_finalize(GObject *object)
{
	SbxLibvirtBackend *self = SBX_LIBVIRT_BACKEND(object);

	g_mutex_lock(&self->conn_lock);
	drop_conn_locked(self);
	g_mutex_unlock(&self->conn_lock);
	g_mutex_clear(&self->conn_lock);
	g_mutex_clear(&self->vms_lock);
	g_mutex_clear(&self->net_lock);
	g_free(self->network);
	g_free(self->network_bridge);
	g_hash_table_unref(self->vms);
	g_hash_table_unref(self->dying);
	if (self->main_ctx != NULL)
		g_main_context_unref(self->main_ctx);
	g_free(self->uri);
	g_free(self->machine);
	g_free(self->emulator);
	g_free(self->cpu_model);
	G_OBJECT_CLASS(sbx_libvirt_backend_parent_class)->finalize(object);
}

static void
sbx_libvirt_backend_class_init(SbxLibvirtBackendClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	SbxHypervisorBackendClass *backend_class = SBX_HYPERVISOR_BACKEND_CLASS(klass);

	object_class->finalize = sbx_libvirt_backend_finalize;
	backend_class->config_keys = libvirt_config_keys;
	backend_class->configure = sbx_libvirt_backend_configure;
	backend_class->start_vm_async = sbx_libvirt_backend_start_vm_async;
	backend_class->destroy_vm_async = sbx_libvirt_backend_destroy_vm_async;
	backend_class->list_vms_async = sbx_libvirt_backend_list_vms_async;
	backend_class->get_domain_type = sbx_libvirt_backend_get_domain_type;
	backend_class->get_network_bridge = sbx_libvirt_backend_get_network_bridge;
	backend_class->get_vm_address = sbx_libvirt_backend_get_vm_address;
}

static void
sbx_libvirt_backend_init(SbxLibvirtBackend *self)
{
	g_mutex_init(&self->conn_lock);
	g_mutex_init(&self->vms_lock);
	g_mutex_init(&self->net_lock);
	self->network = g_strdup(SBX_LIBVIRT_NETWORK_DEFAULT);
	self->network_bridge = g_strdup(SBX_LIBVIRT_NETWORK_BRIDGE_DEFAULT);
	sbx_libvirt_net_parse_cidr(SBX_LIBVIRT_NETWORK_ADDRESS_DEFAULT, &self->network_wanted,
				   NULL);
	self->event_cb_id = -1;
	self->uri = g_strdup(DEFAULT_URI);
	self->machine = g_strdup(DEFAULT_MACHINE);
	self->vms = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					  (GDestroyNotify)sbx_libvirt_vm_free);
	self->dying = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
}

SBX_PLUGIN_DEFINE(SBX_PLUGIN_KIND_HYPERVISOR, "libvirt", sbx_libvirt_backend_get_type)
