/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#include "sbx-blockdev-chain.h"
#include "sbx-jail.h"
#include "sbx-libvirt-net.h"
#ifdef SBX_QEMU_HAVE_LIBVIRT
#include "sbx-libvirt-network.h"
#endif
#include "sbx-libvirt-overlay.h"
#include "sbx-libvirt-xml.h"
#include "sbx-plugin.h"
#include "sbx-qemu-argv.h"
#include "sbx-qemu-backend.h"
#include "sbx-qemu-qmp.h"
#include "sbx-qemu-record.h"
#include "sbx-qemu-snapshot.h"
#include "sbx-tap.h"

#define QMP_NAME "qmp.sock"
#define OVERLAY_NAME "root.qcow2"
/* how long a restore may take to load its state */
#define RESTORE_TIMEOUT_US (30 * G_USEC_PER_SEC)
#define SNAPSHOT_TIMEOUT_US (120 * G_USEC_PER_SEC)
#define QMP_CONNECT_MS 10000
#define CGROUP_SWEEP_AGE_SEC 60
/* a VM with volumes gets SIGTERM first (as libvirt's destroy does), SIGKILL
 * after this long */
#define STOP_GRACE_SEC 10
/* PCI slots 7 to 0x1f; the core attaches at most 8 */
#define VOLUMES_MAX 24
/* agent, QMP, tap, state, memfd, and per volume its files or its key */
#define FDS_MAX (5 + VOLUMES_MAX * SBX_BLOCKDEV_CHAIN_MAX)

typedef enum {
	LAUNCH_COLD,
	LAUNCH_TEMPLATE,
	LAUNCH_RESTORE,
} LaunchMode;

typedef struct {
	gint pid;
	gint pidfd; /* adopted VMs: not our child, watched through this */
	guint32 ip;
	gchar *run_dir;
	gchar *snapshot_dir; /* a template's */
	gchar *cgroup;
	guint memory_mib;
	gboolean watching;  /* report it when it stops on its own */
	gboolean destroyed; /* destroy_vm was called: clean up once it is gone */
	gboolean exited;
	guint watch_id;
	/* VMs with volumes, and adopted ones (their volumes are not known): destroy
	 * sends SIGTERM, so QEMU flushes and closes its images (librbd releases its
	 * exclusive lock and cache), and completes once QEMU is gone: the core then
	 * releases the volumes' locks, and QEMU's own must be gone too */
	gboolean wait_exit;
	GSList *waiters;  /* destroy GTasks */
	guint kill_timer; /* SIGKILL if SIGTERM was not enough */
} SbxQemuVm;

struct _SbxQemuBackend {
	SbxHypervisorBackend parent_instance;

	/* set by configure, read-only afterwards */
	gchar *binary;
	gchar *accel;
	gchar *machine;
	guint tb_size_mib;
	gchar *bridge;
	gboolean bridge_exists;
	gchar *record_dir;
	gchar *compat;
	SbxLibvirtNetInfo net;
	SbxJail *jail;
	GMainContext *main_ctx;

	GMutex lock;	    /* guards vms and memfds */
	GHashTable *vms;    /* id -> SbxQemuVm */
	GHashTable *memfds; /* snapshot dir -> fd + 1 */
};

G_DEFINE_FINAL_TYPE(SbxQemuBackend, sbx_qemu_backend, SBX_TYPE_HYPERVISOR_BACKEND)

static const gchar *const accel_choices[] = {"auto", "kvm", "tcg", NULL};

static const SbxConfigKey qemu_config_keys[] = {
    {"Binary", SBX_CONFIG_PATH},
    {"Accel", SBX_CONFIG_ENUM, 0, 0, accel_choices},
    {"Machine", SBX_CONFIG_STRING},
    {"User", SBX_CONFIG_STRING},
    {"CgroupRoot", SBX_CONFIG_PATH},
    {"NetworkBridge", SBX_CONFIG_STRING},
    {"NetworkAddress", SBX_CONFIG_STRING},
    {"Network", SBX_CONFIG_STRING},
    {"NetworkURI", SBX_CONFIG_STRING},
    {"RecordDir", SBX_CONFIG_PATH},
    {"PrivateTmp", SBX_CONFIG_BOOL},
    {"PrivateDev", SBX_CONFIG_BOOL},
    {"TbSizeMiB", SBX_CONFIG_UINT, 0, 4096},
    {NULL},
};

#define DEFAULT_BINARY "/usr/bin/qemu-system-x86_64"
#define DEFAULT_USER "libvirt-qemu"
#define DEFAULT_CGROUP_ROOT "/sys/fs/cgroup/sandboxd-qemu"
#define DEFAULT_RECORD_DIR "/run/sandboxd-qemu"
/* TCG's translation buffer per VM (MiB); QEMU 7.2's own default is min(1 GiB,
 * host RAM / 8), touched page by page as code is translated until it is full
 * (docs/instant-start.md, "Host memory") */
#define DEFAULT_TB_SIZE_MIB 64

static void
sbx_qemu_vm_free(SbxQemuVm *vm)
{
	for (GSList *l = vm->waiters; l != NULL; l = l->next) {
		g_task_return_new_error(l->data, G_IO_ERROR, G_IO_ERROR_CANCELLED,
					"the qemu backend went away");
		g_object_unref(l->data);
	}
	g_slist_free(vm->waiters);
	if (vm->pidfd >= 0)
		close(vm->pidfd);
	g_free(vm->run_dir);
	g_free(vm->snapshot_dir);
	g_free(vm->cgroup);
	g_free(vm);
}

static void
set_errno_error(GError **error, const gchar *id, const gchar *what)
{
	int errsv = errno;
	g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "vm %s: %s: %s", id, what,
		    g_strerror(errsv));
}

/* --- exit and cleanup ---------------------------------------------------- */

typedef struct {
	SbxQemuBackend *self;
	gchar *id;
} IdData;

static void
id_data_free(gpointer p)
{
	IdData *d = p;
	g_object_unref(d->self);
	g_free(d->id);
	g_free(d);
}

/* after QEMU is gone: its cgroup and its record; the tap went with its fd,
 * the run folder is the core's */
static void
cleanup_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
	SbxQemuBackend *self = SBX_QEMU_BACKEND(source);
	const gchar *id = task_data;
	g_autofree gchar *cgroup = NULL;
	guint32 ip = 0;

	g_mutex_lock(&self->lock);
	{
		SbxQemuVm *vm = g_hash_table_lookup(self->vms, id);
		if (vm != NULL) {
			cgroup = g_strdup(vm->cgroup);
			ip = vm->ip;
		}
		g_hash_table_remove(self->vms, id);
	}
	g_mutex_unlock(&self->lock);
	if (cgroup != NULL)
		sbx_jail_remove_cgroup(self->jail, cgroup);
	if (ip != 0) {
		g_autofree gchar *tap = sbx_tap_name(id);
		sbx_tap_unguard(tap);
	}
	sbx_qemu_record_remove(self->record_dir, id);
	g_task_return_boolean(task, TRUE);
}

static void
cleanup_in_background(SbxQemuBackend *self, const gchar *id)
{
	g_autoptr(GTask) task = g_task_new(self, NULL, NULL, NULL);
	g_task_set_task_data(task, g_strdup(id), g_free);
	g_task_run_in_thread(task, cleanup_thread);
}

/* main thread: QEMU @id exited */
static void
vm_gone(SbxQemuBackend *self, const gchar *id)
{
	gboolean report = FALSE, cleanup = FALSE;
	GSList *waiters = NULL;
	guint kill_timer = 0;

	g_mutex_lock(&self->lock);
	{
		SbxQemuVm *vm = g_hash_table_lookup(self->vms, id);
		if (vm != NULL) {
			vm->exited = TRUE;
			vm->watch_id = 0;
			report = vm->watching;
			vm->watching = FALSE;
			cleanup = vm->destroyed;
			waiters = g_steal_pointer(&vm->waiters);
			kill_timer = vm->kill_timer;
			vm->kill_timer = 0;
		}
	}
	g_mutex_unlock(&self->lock);
	if (kill_timer != 0) {
		GSource *timer = g_main_context_find_source_by_id(self->main_ctx, kill_timer);
		if (timer != NULL)
			g_source_destroy(timer);
	}
	for (GSList *l = waiters; l != NULL; l = l->next) {
		g_task_return_boolean(l->data, TRUE);
		g_object_unref(l->data);
	}
	g_slist_free(waiters);
	if (cleanup)
		cleanup_in_background(self, id);
	if (report) {
		g_debug("vm %s stopped on its own", id);
		sbx_hypervisor_backend_emit_vm_exited(SBX_HYPERVISOR_BACKEND(self), id);
	}
}

static void
child_exited_cb(GPid pid, gint status, gpointer user_data)
{
	IdData *d = user_data;
	g_spawn_close_pid(pid);
	vm_gone(d->self, d->id);
}

static gboolean
pidfd_ready_cb(gint fd, GIOCondition condition, gpointer user_data)
{
	IdData *d = user_data;
	vm_gone(d->self, d->id);
	return G_SOURCE_REMOVE;
}

static guint
watch_vm(SbxQemuBackend *self, const gchar *id, gint pid, gint pidfd)
{
	g_autoptr(GSource) source = NULL;
	IdData *d = g_new0(IdData, 1);

	d->self = g_object_ref(self);
	d->id = g_strdup(id);
	if (pidfd >= 0) {
		source = g_unix_fd_source_new(pidfd, G_IO_IN);
		g_source_set_callback(source, G_SOURCE_FUNC(pidfd_ready_cb), d, id_data_free);
	} else {
		source = g_child_watch_source_new(pid);
		g_source_set_callback(source, G_SOURCE_FUNC(child_exited_cb), d, id_data_free);
	}
	return g_source_attach(source, self->main_ctx);
}

/* --- launching ------------------------------------------------------------ */

static gint
listen_unix(const gchar *path, GError **error)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s: path too long",
			    path);
		return -1;
	}
	g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
	g_unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 4) != 0) {
		int errsv = errno;
		if (fd >= 0)
			close(fd);
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "listen on %s: %s",
			    path, g_strerror(errsv));
		return -1;
	}
	return fd;
}

static gboolean
make_file_for_qemu(SbxQemuBackend *self, const gchar *path, guint64 size, GError **error)
{
	int fd = g_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || (size > 0 && ftruncate(fd, (off_t)size) != 0)) {
		int errsv = errno;
		if (fd >= 0)
			close(fd);
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "%s: %s", path,
			    g_strerror(errsv));
		return FALSE;
	}
	close(fd);
	return sbx_jail_chown(self->jail, path, error);
}

static gboolean
make_overlay(SbxQemuBackend *self, const gchar *base, const gchar *format, guint64 want,
	     const gchar *overlay, GCancellable *cancellable, GError **error)
{
	guint64 base_size = 0;

	if (!sbx_libvirt_overlay_virtual_size(base, format, &base_size, error))
		return FALSE;
	if (!sbx_libvirt_overlay_create(base, format, overlay, MAX(want, base_size), cancellable,
					error))
		return FALSE;
	return sbx_jail_chown(self->jail, overlay, error);
}

/* the snapshot's RAM as a sealed memfd, made once per snapshot and kept;
 * keyed by the memory file's inode, which survives the core's rename of a
 * finished snapshot folder */
static gint
get_memfd(SbxQemuBackend *self, const gchar *snapshot_dir, guint64 size, GError **error)
{
	g_autofree gchar *mem = g_build_filename(snapshot_dir, SBX_QEMU_SNAPSHOT_MEMORY, NULL);
	g_autofree gchar *key = NULL;
	struct stat st;
	gint fd, other;

	if (stat(mem, &st) != 0) {
		set_errno_error(error, snapshot_dir, "snapshot memory");
		return -1;
	}
	key = g_strdup_printf("%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT, (guint64)st.st_dev,
			      (guint64)st.st_ino);
	g_mutex_lock(&self->lock);
	fd = GPOINTER_TO_INT(g_hash_table_lookup(self->memfds, key)) - 1;
	g_mutex_unlock(&self->lock);
	if (fd >= 0)
		return fd;
	/* copying the RAM takes seconds: never under the lock the main thread takes */
	fd = sbx_qemu_snapshot_memfd_new(snapshot_dir, size, error);
	if (fd < 0)
		return -1;
	g_mutex_lock(&self->lock);
	other = GPOINTER_TO_INT(g_hash_table_lookup(self->memfds, key)) - 1;
	if (other < 0)
		g_hash_table_insert(self->memfds, g_steal_pointer(&key), GINT_TO_POINTER(fd + 1));
	g_mutex_unlock(&self->lock);
	/* another thread made one meanwhile: theirs is kept */
	if (other >= 0) {
		close(fd);
		return other;
	}
	return fd;
}

static guint32
reserve_ip(SbxQemuBackend *self, const gchar *id)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&self->lock);
	g_autoptr(GHashTable) taken = g_hash_table_new(NULL, NULL);
	GHashTableIter iter;
	gpointer value;
	SbxQemuVm *mine;
	guint32 ip;

	g_hash_table_iter_init(&iter, self->vms);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		SbxQemuVm *vm = value;
		if (vm->ip != 0)
			g_hash_table_add(taken, GUINT_TO_POINTER(vm->ip));
	}
	ip = sbx_libvirt_net_ip_pick(&self->net, id, taken);
	mine = g_hash_table_lookup(self->vms, id);
	if (mine != NULL)
		mine->ip = ip;
	return ip;
}

static gboolean
remember_vm(SbxQemuBackend *self, const SbxVmSpec *spec, GError **error)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&self->lock);
	SbxQemuVm *vm;

	if (g_hash_table_contains(self->vms, spec->id)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS, "vm %s already exists", spec->id);
		return FALSE;
	}
	vm = g_new0(SbxQemuVm, 1);
	vm->pidfd = -1;
	vm->run_dir = g_strdup(spec->run_dir);
	vm->snapshot_dir = g_strdup(spec->snapshot_dir);
	vm->memory_mib = spec->memory_mib;
	vm->cgroup = sbx_jail_has_cgroups(self->jail) ? g_strdup(spec->id) : NULL;
	vm->wait_exit = spec->disks != NULL && spec->disks->len > 0;
	g_hash_table_insert(self->vms, g_strdup(spec->id), vm);
	return TRUE;
}

static void
forget_vm(SbxQemuBackend *self, const gchar *id)
{
	g_mutex_lock(&self->lock);
	g_hash_table_remove(self->vms, id);
	g_mutex_unlock(&self->lock);
	sbx_qemu_record_remove(self->record_dir, id);
}

/* exited (a zombie not yet reaped by its child watch) or gone */
static gboolean
process_exited(GPid pid)
{
	g_autofree gchar *path = g_strdup_printf("/proc/%d/stat", (gint)pid);
	g_autofree gchar *stat = NULL;
	const gchar *end;

	if (!g_file_get_contents(path, &stat, NULL, NULL))
		return TRUE;
	end = strrchr(stat, ')');
	return end != NULL && end[1] == ' ' && (end[2] == 'Z' || end[2] == 'X');
}

/* kills a VM whose start failed; the exit watch cleans up after it. One
 * with volumes is waited for (launch threads only): the core releases their
 * locks when the start fails */
static void
abort_vm(SbxQemuBackend *self, const gchar *id)
{
	gint pid = 0;
	gboolean wait = FALSE, cleanup = FALSE;

	g_mutex_lock(&self->lock);
	{
		SbxQemuVm *vm = g_hash_table_lookup(self->vms, id);
		if (vm != NULL) {
			vm->watching = FALSE;
			/* gone already: vm_gone did not clean up, it was not destroyed */
			cleanup = vm->exited && !vm->destroyed;
			vm->destroyed = TRUE;
			pid = vm->exited ? 0 : vm->pid;
			wait = vm->wait_exit;
		}
	}
	g_mutex_unlock(&self->lock);
	if (cleanup)
		cleanup_in_background(self, id);
	if (pid > 0) {
		gint64 deadline = g_get_monotonic_time() + STOP_GRACE_SEC * G_USEC_PER_SEC;
		kill(pid, SIGKILL);
		while (wait && !process_exited(pid) && g_get_monotonic_time() < deadline)
			g_usleep(5000);
	}
}

typedef struct {
	gint fds[FDS_MAX];
	guint n_fds;
} FdList;

static void
fd_list_add(FdList *fds, gint fd)
{
	g_assert(fds->n_fds < FDS_MAX);
	fds->fds[fds->n_fds++] = fd;
}

static void
fd_list_close(FdList *fds, gint keep)
{
	for (guint i = 0; i < fds->n_fds; i++) {
		if (fds->fds[i] != keep)
			close(fds->fds[i]);
	}
	fds->n_fds = 0;
}

/* QEMU waits with -incoming defer: feed it the state file it inherited,
 * then resume it (the snapshot was taken paused) */
static gboolean
restore_incoming(const gchar *qmp_path, gint state_fd, const gchar *id, GCancellable *cancellable,
		 GError **error)
{
	g_autoptr(SbxQemuQmp) qmp =
	    sbx_qemu_qmp_connect(qmp_path, QMP_CONNECT_MS, cancellable, error);
	g_autofree gchar *uri_json = g_strdup_printf("{\"uri\": \"fd:%d\"}", state_fd);
	g_autoptr(JsonNode) uri = json_from_string(uri_json, NULL);
	g_autoptr(JsonNode) ret = NULL;
	gint64 deadline = g_get_monotonic_time() + RESTORE_TIMEOUT_US;

	if (qmp == NULL || !sbx_qemu_qmp_set_ignore_shared(qmp, error))
		return FALSE;
	g_debug("vm %s: QMP ready in %.3f s", id,
		(g_get_monotonic_time() - deadline + RESTORE_TIMEOUT_US) / 1e6);
	ret = sbx_qemu_qmp_execute(qmp, "migrate-incoming", uri, error);
	if (ret == NULL)
		return FALSE;
	for (;;) {
		g_autofree gchar *status = sbx_qemu_qmp_query_status(qmp, error);
		if (status == NULL)
			return FALSE;
		if (g_strcmp0(status, "running") == 0)
			return TRUE;
		if (g_strcmp0(status, "paused") == 0 && !sbx_qemu_qmp_simple(qmp, "cont", error))
			return FALSE;
		if (g_strcmp0(status, "inmigrate") != 0 && g_strcmp0(status, "paused") != 0) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "vm %s: restore ended in state %s", id, status);
			return FALSE;
		}
		if (g_cancellable_set_error_if_cancelled(cancellable, error))
			return FALSE;
		if (g_get_monotonic_time() > deadline) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
				    "vm %s: restore did not finish", id);
			return FALSE;
		}
		g_usleep(1000);
	}
}

typedef struct {
	FdList fds;
	gint memfd;
	gint state_fd;
	guint32 ip;
	gboolean guarded; /* the tap's anti-spoofing rules are in */
	GPid pid;
	/* the volumes, their fds in @fds; the chains keep the format names */
	SbxQemuVolume volumes[VOLUMES_MAX];
	SbxBlockdevChain *chains[VOLUMES_MAX];
	guint n_volumes;
} Launched;

static void
launched_clear(Launched *l)
{
	/* QEMU has its copies; the memfd is kept for the next clone */
	fd_list_close(&l->fds, l->memfd);
	for (guint i = 0; i < l->n_volumes; i++)
		g_clear_pointer(&l->chains[i], sbx_blockdev_chain_free);
	l->n_volumes = 0;
}

/* the serial goes into a -device option and /sys/block/vd* /serial: the core's
 * volume id, 1-20 of [A-Za-z0-9_-] */
static gboolean
check_serial(const gchar *serial)
{
	gsize len = serial != NULL ? strlen(serial) : 0;

	if (len == 0 || len > 20)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isalnum(serial[i]) && serial[i] != '-' && serial[i] != '_')
			return FALSE;
	}
	return TRUE;
}

/* the cephx key in a sealed memfd: QEMU reads it as /proc/self/fd/N, so it
 * is never on a command line (/proc/PID/cmdline) nor in a file */
static gint
key_memfd(const gchar *key, GError **error)
{
	gint fd = memfd_create("sbx-rbd-key", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	gsize len = strlen(key);

	if (fd < 0 || write(fd, key, len) != (gssize)len ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
		int errsv = errno;
		if (fd >= 0)
			close(fd);
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "rbd key: %s",
			    g_strerror(errsv));
		return -1;
	}
	return fd;
}

/* before anything is made: the spec's volumes are complete and safe to put
 * on QEMU's command line */
static gboolean
check_volumes(const SbxVmSpec *spec, GError **error)
{
	guint n = spec->disks != NULL ? spec->disks->len : 0;

	/* a snapshot's devices are fixed: the core boots sandboxes with volumes cold */
	if (n > 0 && spec->snapshot_dir != NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "vm %s: a snapshot template or clone gets no volumes", spec->id);
		return FALSE;
	}
	if (n > VOLUMES_MAX) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "vm %s: %u volumes, at most %d", spec->id, n, VOLUMES_MAX);
		return FALSE;
	}
	for (guint i = 0; i < n; i++) {
		const SbxVmDisk *disk = g_ptr_array_index(spec->disks, i);
		if (disk == NULL || !check_serial(disk->serial)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "vm %s: volume %u: the serial must be 1-20 of [A-Za-z0-9_-]",
				    spec->id, i);
			return FALSE;
		}
		if (!sbx_blockdev_check_source(disk->source, error)) {
			g_prefix_error(error, "vm %s: volume %s: ", spec->id, disk->serial);
			return FALSE;
		}
	}
	return TRUE;
}

/* every volume opened by the daemon (QEMU's user could not open a root-owned
 * image, and needs no chown): files with their backing chain as fds, rbd
 * keys as memfds */
static gboolean
open_volumes(const SbxVmSpec *spec, Launched *l, GError **error)
{
	guint n = spec->disks != NULL ? spec->disks->len : 0;

	for (guint i = 0; i < n; i++) {
		const SbxVmDisk *disk = g_ptr_array_index(spec->disks, i);
		const SbxDiskSource *src = disk->source;
		SbxQemuVolume *vol = &l->volumes[i];

		vol->disk = disk;
		vol->secret_fd = -1;
		l->n_volumes = i + 1;
		if (src->kind == SBX_DISK_SOURCE_FILE) {
			SbxBlockdevChain *chain = sbx_blockdev_chain_open(
			    src->path, src->format, disk->read_only || src->read_only, error);
			if (chain == NULL) {
				g_prefix_error(error, "vm %s: volume %s: ", spec->id, disk->serial);
				return FALSE;
			}
			l->chains[i] = chain;
			for (guint j = 0; j < chain->n_layers; j++) {
				vol->fds[j] = chain->fds[j];
				vol->formats[j] = chain->formats[j];
				fd_list_add(&l->fds, chain->fds[j]);
				chain->fds[j] = -1;
			}
			vol->n_layers = chain->n_layers;
		} else if (src->auth_key != NULL) {
			vol->secret_fd = key_memfd(src->auth_key, error);
			if (vol->secret_fd < 0) {
				g_prefix_error(error, "vm %s: volume %s: ", spec->id, disk->serial);
				return FALSE;
			}
			fd_list_add(&l->fds, vol->secret_fd);
		}
	}
	return TRUE;
}

/* QEMU answers QMP once every device is made: its volumes opened. One that
 * cannot open them exits first: a clear error now, not a boot timeout */
static gboolean
wait_devices(const gchar *qmp_path, GPid pid, const gchar *id, GCancellable *cancellable,
	     GError **error)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)QMP_CONNECT_MS * 1000;

	for (;;) {
		g_autoptr(GError) error_local = NULL;
		g_autoptr(SbxQemuQmp) qmp =
		    sbx_qemu_qmp_connect(qmp_path, 0, cancellable, &error_local);
		if (qmp != NULL)
			return TRUE;
		if (process_exited(pid)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "vm %s: QEMU exited while opening its volumes (its message "
				    "is in the daemon's log)",
				    id);
			return FALSE;
		}
		if (g_cancellable_set_error_if_cancelled(cancellable, error))
			return FALSE;
		if (g_get_monotonic_time() > deadline) {
			g_propagate_prefixed_error(error, g_steal_pointer(&error_local),
						   "vm %s: QEMU did not answer: ", id);
			return FALSE;
		}
		g_usleep(10000);
	}
}

/* a clone's overlay is a copy of an empty one on the frozen layer, made once
 * per snapshot (in its folder, where the memfd's file is too): no qemu-img
 * process on the critical path of a restore */
static gboolean
clone_overlay(SbxQemuBackend *self, const gchar *snapshot_dir, const gchar *overlay,
	      GCancellable *cancellable, GError **error)
{
	g_autofree gchar *frozen = g_build_filename(snapshot_dir, SBX_QEMU_SNAPSHOT_DISK, NULL);
	g_autofree gchar *empty = g_build_filename(snapshot_dir, SBX_QEMU_SNAPSHOT_OVERLAY, NULL);
	g_autofree gchar *data = NULL;
	gsize len = 0;
	gint fd;

	if (!g_file_test(empty, G_FILE_TEST_IS_REGULAR)) {
		/* made aside and renamed: restores running at once never see half of it.
		 * It stays root's (0600): no QEMU may rewrite what every clone copies */
		g_autofree gchar *tmp =
		    g_strdup_printf("%s.%p.tmp", empty, (void *)g_thread_self());
		guint64 size = 0;
		if (!sbx_libvirt_overlay_virtual_size(frozen, "qcow2", &size, error) ||
		    !sbx_libvirt_overlay_create(frozen, "qcow2", tmp, size, cancellable, error))
			return FALSE;
		if (g_rename(tmp, empty) != 0) {
			set_errno_error(error, snapshot_dir, "empty overlay");
			g_unlink(tmp);
			return FALSE;
		}
	}
	if (!g_file_get_contents(empty, &data, &len, error))
		return FALSE;
	fd = g_open(overlay, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, len) != (gssize)len) {
		set_errno_error(error, overlay, "writing the overlay");
		if (fd >= 0)
			close(fd);
		return FALSE;
	}
	close(fd);
	return sbx_jail_chown(self->jail, overlay, error);
}

static gboolean
make_disk(SbxQemuBackend *self, const SbxVmSpec *spec, LaunchMode mode, gchar **disk,
	  GCancellable *cancellable, GError **error)
{
	const gchar *format = spec->root_format != NULL ? spec->root_format : "qcow2";

	if (mode == LAUNCH_TEMPLATE) {
		/* the template's disk becomes the snapshot's frozen layer */
		*disk = g_build_filename(spec->snapshot_dir, SBX_QEMU_SNAPSHOT_DISK, NULL);
		return make_overlay(self, spec->root_disk, format, spec->disk_size, *disk,
				    cancellable, error);
	}
	*disk = g_build_filename(spec->run_dir, OVERLAY_NAME, NULL);
	if (mode == LAUNCH_RESTORE)
		return clone_overlay(self, spec->snapshot_dir, *disk, cancellable, error);
	return make_overlay(self, spec->root_disk, format, spec->disk_size, *disk, cancellable,
			    error);
}

/* files, sockets, tap and argv, then the jailed QEMU; what it opened is in @l */
static gboolean
spawn_qemu(SbxQemuBackend *self, const SbxVmSpec *spec, LaunchMode mode, Launched *l,
	   GCancellable *cancellable, GError **error)
{
	g_autofree gchar *qmp_path = g_build_filename(spec->run_dir, QMP_NAME, NULL);
	g_autofree gchar *disk = NULL;
	g_autofree gchar *mem_path = NULL;
	g_autofree gchar *mac = NULL;
	g_autofree gchar *vmgenid = NULL;
	g_autofree gchar *kernel = NULL;
	g_autofree gchar *cmdline = g_strdup(spec->cmdline != NULL ? spec->cmdline : "");
	g_auto(GStrv) argv = NULL;
	SbxQemuArgs args = {0};

	args.tap_fd = -1;
	/* QEMU's user reaches the files we give it by path, without listing */
	if (g_chmod(spec->run_dir, 0711) != 0 ||
	    (mode == LAUNCH_TEMPLATE && g_chmod(spec->snapshot_dir, 0711) != 0)) {
		set_errno_error(error, spec->id, "chmod");
		return FALSE;
	}
	if (!make_file_for_qemu(self, spec->console_log, 0, error))
		return FALSE;
	if (!open_volumes(spec, l, error))
		return FALSE;
	if (spec->root_disk != NULL && !make_disk(self, spec, mode, &disk, cancellable, error))
		return FALSE;
	if (mode == LAUNCH_TEMPLATE) {
		mem_path = g_build_filename(spec->snapshot_dir, SBX_QEMU_SNAPSHOT_MEMORY, NULL);
		if (!make_file_for_qemu(self, mem_path, (guint64)spec->memory_mib << 20, error))
			return FALSE;
		args.mem_share = TRUE;
	} else if (mode == LAUNCH_RESTORE) {
		g_autofree gchar *state =
		    g_build_filename(spec->snapshot_dir, SBX_QEMU_SNAPSHOT_STATE, NULL);
		l->memfd =
		    get_memfd(self, spec->snapshot_dir, (guint64)spec->memory_mib << 20, error);
		if (l->memfd < 0)
			return FALSE;
		mem_path = g_strdup_printf("/proc/self/fd/%d", l->memfd);
		l->state_fd = g_open(state, O_RDONLY | O_CLOEXEC, 0);
		if (l->state_fd < 0) {
			set_errno_error(error, spec->id, state);
			return FALSE;
		}
		fd_list_add(&l->fds, l->state_fd);
	}
	if (spec->network) {
		args.nic = TRUE;
		/* a template's NIC stays unplugged: clones get a tap and an address */
		if (mode != LAUNCH_TEMPLATE) {
			g_autofree gchar *tap = sbx_tap_name(spec->id);
			l->ip = reserve_ip(self, spec->id);
			if (l->ip == 0) {
				g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
					    "vm %s: no free address on bridge %s", spec->id,
					    self->bridge);
				return FALSE;
			}
			args.tap_fd = sbx_tap_open(tap, self->bridge, error);
			if (args.tap_fd < 0)
				return FALSE;
			fd_list_add(&l->fds, args.tap_fd);
			mac = sbx_libvirt_net_mac_for_ip(l->ip);
			{
				g_autofree gchar *ip = sbx_libvirt_net_ip_to_string(l->ip);
				if (!sbx_tap_guard(tap, mac, ip, error))
					return FALSE;
				l->guarded = TRUE;
			}
			if (mode == LAUNCH_COLD) {
				g_autofree gchar *words =
				    sbx_libvirt_net_cmdline(&self->net, l->ip);
				g_autofree gchar *old = g_steal_pointer(&cmdline);
				cmdline = g_strjoin(" ", old, words, NULL);
			}
		}
	}
	args.agent_fd = listen_unix(spec->agent_socket, error);
	if (args.agent_fd < 0)
		return FALSE;
	fd_list_add(&l->fds, args.agent_fd);
	args.qmp_fd = listen_unix(qmp_path, error);
	if (args.qmp_fd < 0)
		return FALSE;
	fd_list_add(&l->fds, args.qmp_fd);
	if (l->memfd >= 0)
		fd_list_add(&l->fds, l->memfd);

	args.binary = self->binary;
	args.accel = self->accel;
	args.machine = self->machine;
	args.tb_size_mib = self->tb_size_mib;
	args.spec = spec;
	args.cmdline = cmdline;
	args.disk = disk;
	args.mem_path = mem_path;
	args.mac = mac;
	args.volumes = l->volumes;
	args.n_volumes = l->n_volumes;
	args.incoming = mode == LAUNCH_RESTORE;
	/* every clone a generation of its own */
	if (mode == LAUNCH_RESTORE) {
		kernel =
		    sbx_qemu_snapshot_kernel_for_restore(spec->snapshot_dir, spec->kernel, error);
		if (kernel == NULL)
			return FALSE;
		args.kernel = kernel;
		args.no_initrd = TRUE;
		vmgenid = g_uuid_string_random();
		args.vmgenid = vmgenid;
		g_debug("vm %s: generation id %s", spec->id, vmgenid);
	}
	/* the template saves itself through `exec:cat` */
	args.may_spawn = mode == LAUNCH_TEMPLATE;
	argv = sbx_qemu_argv_new(&args);
	/* the bench restores the snapshot with a bare QEMU, from these */
	if (mode == LAUNCH_TEMPLATE &&
	    !sbx_qemu_snapshot_save_args(spec->snapshot_dir, &args, error))
		return FALSE;
	if (!sbx_jail_spawn(self->jail, spec->id, (const gchar *const *)argv, l->fds.fds,
			    l->fds.n_fds, ((guint64)spec->memory_mib + 256) << 20, spec->vcpus,
			    &l->pid, error)) {
		g_prefix_error(error, "vm %s: cannot start %s: ", spec->id, self->binary);
		return FALSE;
	}
	return TRUE;
}

/* the common part of start, template start and restore; on success QEMU
 * runs and its pid is recorded */
static gboolean
launch(SbxQemuBackend *self, const SbxVmSpec *spec, LaunchMode mode, guint32 *ip_out,
       GCancellable *cancellable, GError **error)
{
	g_autofree gchar *qmp_path = g_build_filename(spec->run_dir, QMP_NAME, NULL);
	SbxQemuRecord rec = {0};
	Launched l = {.memfd = -1, .state_fd = -1};
	gint64 t0 = g_get_monotonic_time();
	gint64 t_spawned, t_saved;
	gboolean ok;

	if (!remember_vm(self, spec, error))
		return FALSE;
	rec.id = spec->id;
	rec.run_dir = spec->run_dir;
	rec.cgroup = sbx_jail_has_cgroups(self->jail) ? spec->id : NULL;
	/* first the record, so a crash from here on is cleaned up at restart */
	if (!sbx_qemu_record_save(self->record_dir, &rec, error)) {
		forget_vm(self, spec->id);
		return FALSE;
	}
	ok = spawn_qemu(self, spec, mode, &l, cancellable, error);
	t_spawned = g_get_monotonic_time();
	launched_clear(&l);
	if (!ok) {
		if (l.guarded) {
			g_autofree gchar *tap = sbx_tap_name(spec->id);
			sbx_tap_unguard(tap);
		}
		forget_vm(self, spec->id);
		return FALSE;
	}

	g_mutex_lock(&self->lock);
	{
		SbxQemuVm *vm = g_hash_table_lookup(self->vms, spec->id);
		vm->pid = l.pid;
		vm->ip = l.ip;
		/* reported as exited only once started: a start that fails is an error */
		vm->watching = FALSE;
		vm->watch_id = watch_vm(self, spec->id, l.pid, -1);
	}
	g_mutex_unlock(&self->lock);
	rec.pid = l.pid;
	rec.start_time = sbx_qemu_record_process_start_time(l.pid);
	rec.ip = l.ip;
	if (!sbx_qemu_record_save(self->record_dir, &rec, error)) {
		abort_vm(self, spec->id);
		return FALSE;
	}
	t_saved = g_get_monotonic_time();
	if (spec->disks != NULL && spec->disks->len > 0 &&
	    !wait_devices(qmp_path, l.pid, spec->id, cancellable, error)) {
		abort_vm(self, spec->id);
		return FALSE;
	}
	if (mode == LAUNCH_RESTORE &&
	    !restore_incoming(qmp_path, l.state_fd, spec->id, cancellable, error)) {
		abort_vm(self, spec->id);
		return FALSE;
	}
	g_mutex_lock(&self->lock);
	{
		SbxQemuVm *vm = g_hash_table_lookup(self->vms, spec->id);
		gboolean exited = vm->exited;
		vm->watching = !exited;
		g_mutex_unlock(&self->lock);
		if (exited) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "vm %s: QEMU exited while starting", spec->id);
			abort_vm(self, spec->id);
			return FALSE;
		}
	}
	g_debug("vm %s: spawned at %.3f s, pid recorded at %.3f s, running at %.3f s", spec->id,
		(t_spawned - t0) / 1e6, (t_saved - t0) / 1e6, (g_get_monotonic_time() - t0) / 1e6);
	if (ip_out != NULL)
		*ip_out = l.ip;
	return TRUE;
}

/* --- the vfuncs ------------------------------------------------------------ */

typedef struct {
	SbxVmSpec *spec;
	LaunchMode mode;
} LaunchData;

static void
launch_data_free(LaunchData *d)
{
	sbx_vm_spec_free(d->spec);
	g_free(d);
}

static void
launch_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
	SbxQemuBackend *self = SBX_QEMU_BACKEND(source);
	LaunchData *d = task_data;
	GError *error = NULL;
	guint32 ip = 0;

	if (!sbx_libvirt_xml_validate_spec(d->spec, &error) || !check_volumes(d->spec, &error) ||
	    !launch(self, d->spec, d->mode, &ip, cancellable, &error)) {
		g_task_return_error(task, error);
		return;
	}
	if (d->mode == LAUNCH_RESTORE) {
		g_autofree gchar *words = NULL;
		if (ip != 0) {
			g_autofree gchar *net = sbx_libvirt_net_cmdline(&self->net, ip);
			g_autofree gchar *mac = sbx_libvirt_net_mac_for_ip(ip);
			words = g_strdup_printf("%s sbx.mac=%s", net, mac);
		}
		g_task_return_pointer(task, words != NULL ? g_steal_pointer(&words) : g_strdup(""),
				      g_free);
		return;
	}
	g_task_return_boolean(task, TRUE);
}

static void
start_launch(SbxQemuBackend *self, const SbxVmSpec *spec, LaunchMode mode,
	     GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data,
	     gpointer tag)
{
	g_autoptr(GTask) task = g_task_new(self, cancellable, callback, user_data);
	LaunchData *d = g_new0(LaunchData, 1);

	d->spec = sbx_vm_spec_copy(spec);
	d->mode = mode;
	g_task_set_source_tag(task, tag);
	g_task_set_task_data(task, d, (GDestroyNotify)launch_data_free);
	/* a half-started QEMU must be killed by the thread itself */
	g_task_set_return_on_cancel(task, FALSE);
	g_task_run_in_thread(task, launch_thread);
}

static void
sbx_qemu_backend_start_vm_async(SbxHypervisorBackend *backend, const SbxVmSpec *spec,
				GCancellable *cancellable, GAsyncReadyCallback callback,
				gpointer user_data)
{
	start_launch(SBX_QEMU_BACKEND(backend), spec,
		     spec->snapshot_dir != NULL ? LAUNCH_TEMPLATE : LAUNCH_COLD, cancellable,
		     callback, user_data, sbx_qemu_backend_start_vm_async);
}

static void
sbx_qemu_backend_restore_vm_async(SbxHypervisorBackend *backend, const SbxVmSpec *spec,
				  GCancellable *cancellable, GAsyncReadyCallback callback,
				  gpointer user_data)
{
	start_launch(SBX_QEMU_BACKEND(backend), spec, LAUNCH_RESTORE, cancellable, callback,
		     user_data, sbx_qemu_backend_restore_vm_async);
}

static gboolean
snapshot_blocking(SbxQemuBackend *self, const gchar *id, GCancellable *cancellable, GError **error)
{
	g_autofree gchar *run_dir = NULL;
	g_autofree gchar *snapshot_dir = NULL;
	g_autofree gchar *qmp_path = NULL;
	g_autofree gchar *state = NULL;
	g_autofree gchar *quoted = NULL;
	g_autofree gchar *uri = NULL;
	g_autoptr(SbxQemuQmp) qmp = NULL;
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) args = NULL;
	g_autoptr(JsonNode) ret = NULL;
	gint64 deadline = g_get_monotonic_time() + SNAPSHOT_TIMEOUT_US;

	g_mutex_lock(&self->lock);
	{
		SbxQemuVm *vm = g_hash_table_lookup(self->vms, id);
		if (vm != NULL && !vm->exited) {
			run_dir = g_strdup(vm->run_dir);
			snapshot_dir = g_strdup(vm->snapshot_dir);
		}
	}
	g_mutex_unlock(&self->lock);
	if (run_dir == NULL || snapshot_dir == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "vm %s: no running snapshot template", id);
		return FALSE;
	}
	qmp_path = g_build_filename(run_dir, QMP_NAME, NULL);
	qmp = sbx_qemu_qmp_connect(qmp_path, QMP_CONNECT_MS, cancellable, error);
	if (qmp == NULL || !sbx_qemu_qmp_simple(qmp, "stop", error) ||
	    !sbx_qemu_qmp_set_ignore_shared(qmp, error)) {
		g_prefix_error(error, "vm %s: ", id);
		return FALSE;
	}
	state = g_build_filename(snapshot_dir, SBX_QEMU_SNAPSHOT_STATE, NULL);
	if (!make_file_for_qemu(self, state, 0, error))
		return FALSE;
	quoted = g_shell_quote(state);
	uri = g_strdup_printf("exec:cat > %s", quoted);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "uri");
	json_builder_add_string_value(b, uri);
	json_builder_end_object(b);
	args = json_builder_get_root(b);
	ret = sbx_qemu_qmp_execute(qmp, "migrate", args, error);
	if (ret == NULL) {
		g_prefix_error(error, "vm %s: ", id);
		return FALSE;
	}
	for (;;) {
		g_autoptr(JsonNode) info = sbx_qemu_qmp_execute(qmp, "query-migrate", NULL, error);
		const gchar *status;

		if (info == NULL || !JSON_NODE_HOLDS_OBJECT(info)) {
			g_prefix_error(error, "vm %s: ", id);
			return FALSE;
		}
		status = json_object_get_string_member_with_default(json_node_get_object(info),
								    "status", "");
		if (g_strcmp0(status, "completed") == 0)
			break;
		if (g_strcmp0(status, "failed") == 0 || g_strcmp0(status, "cancelled") == 0 ||
		    g_get_monotonic_time() > deadline) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "vm %s: saving the snapshot %s", id,
				    status[0] != '\0' ? status : "timed out");
			return FALSE;
		}
		g_usleep(5000);
	}
	if (!sbx_qemu_snapshot_seal(snapshot_dir, error))
		return FALSE;
	/* the first clone should not pay for copying the RAM */
	{
		guint memory_mib = 0;
		g_mutex_lock(&self->lock);
		{
			SbxQemuVm *vm = g_hash_table_lookup(self->vms, id);
			memory_mib = vm != NULL ? vm->memory_mib : 0;
		}
		g_mutex_unlock(&self->lock);
		if (memory_mib > 0)
			return get_memfd(self, snapshot_dir, (guint64)memory_mib << 20, error) >= 0;
	}
	return TRUE;
}

static void
snapshot_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
	GError *error = NULL;

	if (!snapshot_blocking(SBX_QEMU_BACKEND(source), task_data, cancellable, &error))
		g_task_return_error(task, error);
	else
		g_task_return_boolean(task, TRUE);
}

static void
sbx_qemu_backend_snapshot_vm_async(SbxHypervisorBackend *backend, const gchar *id,
				   GCancellable *cancellable, GAsyncReadyCallback callback,
				   gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(backend, cancellable, callback, user_data);

	g_task_set_source_tag(task, sbx_qemu_backend_snapshot_vm_async);
	g_task_set_task_data(task, g_strdup(id), g_free);
	g_task_run_in_thread(task, snapshot_thread);
}

/* a VM we only know from its record (adopted and lost, or left by a crash):
 * kill it if it still runs, then clean up; blocks a little */
static void
reap_record(SbxQemuBackend *self, SbxQemuRecord *rec)
{
	/* no pid recorded yet: the daemon died right after starting it */
	gint pid = sbx_qemu_record_is_alive(rec) ? rec->pid : sbx_qemu_record_find_process(rec->id);

	if (pid > 0) {
		gint pidfd = (gint)syscall(SYS_pidfd_open, pid, 0);
		g_info("vm %s: killing QEMU %d left from before", rec->id, pid);
		kill(pid, SIGKILL);
		if (pidfd >= 0) {
			GPollFD pfd = {pidfd, G_IO_IN, 0};
			g_poll(&pfd, 1, 5000);
			close(pidfd);
		}
	}
	if (rec->cgroup != NULL)
		sbx_jail_remove_cgroup(self->jail, rec->cgroup);
	if (rec->ip != 0) {
		g_autofree gchar *tap = sbx_tap_name(rec->id);
		sbx_tap_unguard(tap);
	}
	if (rec->run_dir != NULL && g_path_is_absolute(rec->run_dir)) {
		g_autofree gchar *overlay = g_build_filename(rec->run_dir, OVERLAY_NAME, NULL);
		g_unlink(overlay);
	}
	sbx_qemu_record_remove(self->record_dir, rec->id);
}

static void
reap_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
	SbxQemuBackend *self = SBX_QEMU_BACKEND(source);
	g_autoptr(SbxQemuRecord) rec = sbx_qemu_record_load(self->record_dir, task_data, NULL);

	if (rec != NULL)
		reap_record(self, rec);
	g_task_return_boolean(task, TRUE);
}

static gboolean
kill_late_cb(gpointer user_data)
{
	IdData *d = user_data;
	SbxQemuBackend *self = d->self;
	gint pid = 0;

	g_mutex_lock(&self->lock);
	{
		SbxQemuVm *vm = g_hash_table_lookup(self->vms, d->id);
		if (vm != NULL && !vm->exited)
			pid = vm->pid;
		if (vm != NULL)
			vm->kill_timer = 0;
	}
	g_mutex_unlock(&self->lock);
	/* not reaped before vm_gone: the pid is still QEMU's */
	if (pid > 0) {
		g_warning("vm %s: QEMU did not stop within %d s of SIGTERM: SIGKILL", d->id,
			  STOP_GRACE_SEC);
		kill(pid, SIGKILL);
	}
	return G_SOURCE_REMOVE;
}

static guint
kill_later(SbxQemuBackend *self, const gchar *id)
{
	g_autoptr(GSource) source = g_timeout_source_new_seconds(STOP_GRACE_SEC);
	IdData *d = g_new0(IdData, 1);

	d->self = g_object_ref(self);
	d->id = g_strdup(id);
	g_source_set_callback(source, kill_late_cb, d, id_data_free);
	return g_source_attach(source, self->main_ctx);
}

/* returns at once: QEMU gets SIGKILL (it exits in milliseconds), and its
 * cgroup and record go in the background once it is gone. The record says
 * "dying" first, so a daemon that crashes meanwhile finishes it at start.
 * A VM with volumes gets SIGTERM and the call completes once it is gone. */
static void
sbx_qemu_backend_destroy_vm_async(SbxHypervisorBackend *backend, const gchar *id,
				  GCancellable *cancellable, GAsyncReadyCallback callback,
				  gpointer user_data)
{
	SbxQemuBackend *self = SBX_QEMU_BACKEND(backend);
	g_autoptr(GTask) task = g_task_new(backend, cancellable, callback, user_data);
	gint pid = 0;
	gboolean known = FALSE, exited = FALSE, waiting = FALSE;

	g_task_set_source_tag(task, sbx_qemu_backend_destroy_vm_async);
	g_mutex_lock(&self->lock);
	{
		SbxQemuVm *vm = g_hash_table_lookup(self->vms, id);
		if (vm != NULL && !vm->destroyed) {
			known = TRUE;
			vm->watching = FALSE;
			vm->destroyed = TRUE;
			exited = vm->exited;
			pid = vm->pid;
		} else if (vm != NULL) {
			known = TRUE; /* already on its way */
			pid = -1;
		}
		/* vm_gone completes it; a VM without an exit watch cannot wait */
		if (vm != NULL && vm->wait_exit && !vm->exited && vm->pid > 0 &&
		    vm->watch_id != 0) {
			vm->waiters = g_slist_prepend(vm->waiters, g_object_ref(task));
			waiting = TRUE;
		}
	}
	g_mutex_unlock(&self->lock);

	if (!known) {
		/* not ours now: maybe a record from before a crash */
		g_task_set_task_data(task, g_strdup(id), g_free);
		g_task_run_in_thread(task, reap_thread);
		return;
	}
	if (pid > 0 && !exited) {
		g_autoptr(SbxQemuRecord) rec = sbx_qemu_record_load(self->record_dir, id, NULL);
		if (rec != NULL) {
			rec->dying = TRUE;
			sbx_qemu_record_save(self->record_dir, rec, NULL);
		}
		if (waiting) {
			guint timer = kill_later(self, id);
			g_mutex_lock(&self->lock);
			{
				SbxQemuVm *vm = g_hash_table_lookup(self->vms, id);
				if (vm != NULL)
					vm->kill_timer = timer;
			}
			g_mutex_unlock(&self->lock);
			kill(pid, SIGTERM);
		} else {
			kill(pid, SIGKILL);
		}
	} else if (pid == 0 || exited) {
		/* never started, or gone already: nothing will call vm_gone */
		cleanup_in_background(self, id);
	}
	if (!waiting)
		g_task_return_boolean(task, TRUE);
}

static void
list_vms_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
	SbxQemuBackend *self = SBX_QEMU_BACKEND(source);
	g_autoptr(GPtrArray) records = sbx_qemu_record_list(self->record_dir);
	g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; i < records->len; i++) {
		const gchar *id = g_ptr_array_index(records, i);
		g_autoptr(SbxQemuRecord) rec = sbx_qemu_record_load(self->record_dir, id, NULL);
		gboolean ours;

		if (rec == NULL) {
			sbx_qemu_record_remove(self->record_dir, id);
			continue;
		}
		g_mutex_lock(&self->lock);
		ours = g_hash_table_contains(self->vms, id);
		g_mutex_unlock(&self->lock);
		if (ours) {
			g_ptr_array_add(ids, g_strdup(id));
			continue;
		}
		/* killed while the daemon was down, or half cleaned up: finish it */
		if (rec->dying || !sbx_qemu_record_is_alive(rec)) {
			g_info("vm %s: finishing the cleanup of a QEMU from before", id);
			reap_record(self, rec);
			continue;
		}
		/* adopted: watched through a pidfd, it is not our child */
		{
			SbxQemuVm *vm = g_new0(SbxQemuVm, 1);
			vm->pid = rec->pid;
			vm->pidfd = (gint)syscall(SYS_pidfd_open, rec->pid, 0);
			vm->ip = rec->ip;
			vm->run_dir = g_strdup(rec->run_dir);
			vm->cgroup = g_strdup(rec->cgroup);
			vm->watching = TRUE;
			vm->wait_exit = TRUE;
			g_mutex_lock(&self->lock);
			g_hash_table_insert(self->vms, g_strdup(id), vm);
			if (vm->pidfd >= 0)
				vm->watch_id = watch_vm(self, id, vm->pid, vm->pidfd);
			g_mutex_unlock(&self->lock);
		}
		g_ptr_array_add(ids, g_strdup(id));
	}
	/* a cleanup cut short (the daemon exited between a QEMU's exit and its
	 * cleanup thread) leaves an empty cgroup and maybe no record */
	if (sbx_jail_sweep_cgroups(self->jail, CGROUP_SWEEP_AGE_SEC) > 0)
		g_info("qemu: removed empty cgroups left from before");
	g_ptr_array_add(ids, NULL);
	g_task_return_pointer(task, g_ptr_array_steal(ids, NULL), (GDestroyNotify)g_strfreev);
}

static void
sbx_qemu_backend_list_vms_async(SbxHypervisorBackend *backend, GCancellable *cancellable,
				GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(backend, cancellable, callback, user_data);
	g_task_set_source_tag(task, sbx_qemu_backend_list_vms_async);
	g_task_run_in_thread(task, list_vms_thread);
}

static const gchar *
sbx_qemu_backend_get_domain_type(SbxHypervisorBackend *backend)
{
	SbxQemuBackend *self = SBX_QEMU_BACKEND(backend);
	return g_strcmp0(self->accel, "kvm") == 0 ? "kvm" : "qemu";
}

static const gchar *
sbx_qemu_backend_get_snapshot_compat(SbxHypervisorBackend *backend)
{
	return SBX_QEMU_BACKEND(backend)->compat;
}

/* kvm only where it can boot a guest: not on nested PVM hosts */
static const gchar *
pick_accel(void)
{
	if (g_file_test("/sys/module/kvm_pvm", G_FILE_TEST_EXISTS) ||
	    access("/dev/kvm", R_OK | W_OK) != 0)
		return "tcg";
	return "kvm";
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

/* the bridge the taps join is a libvirt network's (NAT, DNS): made ready here
 * when it is missing, once, at start-up (the core puts its isolation rules
 * on the bridge before any sandbox starts). `Network=none`: the operator
 * provides the bridge. Without libvirt or on failure guests get no NIC. */
static gboolean
ensure_bridge(SbxQemuBackend *self, GKeyFile *config, const gchar *group, GError **error)
{
	g_autofree gchar *network =
	    get_string_or(config, group, "Network", SBX_LIBVIRT_NETWORK_DEFAULT);
	g_autofree gchar *uri = get_string_or(config, group, "NetworkURI", "qemu:///system");
	g_autoptr(GError) error_local = NULL;

	if (g_strcmp0(network, "none") == 0)
		return TRUE;
	if (!sbx_libvirt_net_name_is_valid(network)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "[%s] Network: '%s' is not a valid network name", group, network);
		return FALSE;
	}
	if (if_nametoindex(self->bridge) != 0)
		return TRUE;
#ifdef SBX_QEMU_HAVE_LIBVIRT
	if (!sbx_libvirt_network_ensure_at(uri, network, self->bridge, &self->net, &error_local))
		g_warning("qemu: cannot make libvirt network %s (bridge %s) ready: %s", network,
			  self->bridge, error_local->message);
#else
	g_info("qemu: built without libvirt: cannot make network %s ready at %s", network, uri);
#endif
	return TRUE;
}

static gboolean
sbx_qemu_backend_configure(SbxHypervisorBackend *backend, GKeyFile *config, const gchar *group,
			   GError **error)
{
	SbxQemuBackend *self = SBX_QEMU_BACKEND(backend);
	g_autofree gchar *accel = get_string_or(config, group, "Accel", "auto");
	g_autofree gchar *user = get_string_or(config, group, "User", DEFAULT_USER);
	g_autofree gchar *cgroup = get_string_or(config, group, "CgroupRoot", DEFAULT_CGROUP_ROOT);
	g_autofree gchar *cidr =
	    get_string_or(config, group, "NetworkAddress", SBX_LIBVIRT_NETWORK_ADDRESS_DEFAULT);
	g_autoptr(GError) error_local = NULL;
	struct stat st;

	g_free(self->binary);
	self->binary = get_string_or(config, group, "Binary", DEFAULT_BINARY);
	g_free(self->machine);
	self->machine = get_string_or(config, group, "Machine", "pc");
	g_free(self->bridge);
	self->bridge =
	    get_string_or(config, group, "NetworkBridge", SBX_LIBVIRT_NETWORK_BRIDGE_DEFAULT);
	g_free(self->record_dir);
	self->record_dir = get_string_or(config, group, "RecordDir", DEFAULT_RECORD_DIR);
	g_free(self->accel);
	self->accel = g_strdup(g_strcmp0(accel, "auto") == 0 ? pick_accel() : accel);
	self->tb_size_mib = g_key_file_has_key(config, group, "TbSizeMiB", NULL)
				? (guint)g_key_file_get_uint64(config, group, "TbSizeMiB", NULL)
				: DEFAULT_TB_SIZE_MIB;
	if (strlen(self->bridge) > 15 || !sbx_libvirt_net_name_is_valid(self->bridge)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "[%s] NetworkBridge: '%s' is not a valid interface name", group,
			    self->bridge);
		return FALSE;
	}
	if (!sbx_libvirt_net_parse_cidr(cidr, &self->net, &error_local)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "[%s] NetworkAddress: %s", group, error_local->message);
		return FALSE;
	}
	self->net.mtu = sbx_libvirt_net_host_mtu("/");
	if (!ensure_bridge(self, config, group, error))
		return FALSE;
	self->bridge_exists = if_nametoindex(self->bridge) != 0;
	if (!self->bridge_exists)
		g_info("qemu: bridge %s does not exist: guests get no network", self->bridge);
	sbx_jail_free(self->jail);
	/* off only where the sandboxes' files live under /tmp themselves (tests) */
	self->jail = sbx_jail_new(user, cgroup,
				  !g_key_file_has_key(config, group, "PrivateTmp", NULL) ||
				      g_key_file_get_boolean(config, group, "PrivateTmp", NULL),
				  error);
	if (self->jail == NULL) {
		g_prefix_error(error, "[%s] User: ", group);
		return FALSE;
	}
	if (g_key_file_has_key(config, group, "PrivateDev", NULL))
		sbx_jail_set_private_dev(self->jail,
					 g_key_file_get_boolean(config, group, "PrivateDev", NULL));
	if (g_mkdir_with_parents(self->record_dir, 0700) != 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "[%s] RecordDir %s: %s", group, self->record_dir, g_strerror(errno));
		return FALSE;
	}
	/* a snapshot restores only into the QEMU build and machine that took it */
	if (stat(self->binary, &st) != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "[%s] Binary %s: %s", group,
			    self->binary, g_strerror(errno));
		return FALSE;
	}
	g_free(self->compat);
	self->compat = g_strdup_printf("qemu %s size=%" G_GINT64_FORMAT " mtime=%" G_GINT64_FORMAT
				       " machine=%s accel=%s devices=%u",
				       self->binary, (gint64)st.st_size, (gint64)st.st_mtime,
				       self->machine, self->accel, SBX_QEMU_ARGV_DEVICES);
	if (self->main_ctx == NULL)
		self->main_ctx = g_main_context_ref_thread_default();
	g_info("qemu: %s, accel %s, machine %s, QEMU as %s", self->binary, self->accel,
	       self->machine, user);
	return TRUE;
}

/* the core puts its isolation table on it; none when it does not exist
 * (then no guest gets a NIC) */
static const gchar *
sbx_qemu_backend_get_network_bridge(SbxHypervisorBackend *backend)
{
	SbxQemuBackend *self = SBX_QEMU_BACKEND(backend);

	return self->bridge_exists ? self->bridge : NULL;
}

/* the tap's anti-spoofing rules pin it */
static gchar *
sbx_qemu_backend_get_vm_address(SbxHypervisorBackend *backend, const gchar *id)
{
	SbxQemuBackend *self = SBX_QEMU_BACKEND(backend);
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&self->lock);
	SbxQemuVm *vm = g_hash_table_lookup(self->vms, id);

	return vm != NULL && vm->ip != 0 ? sbx_libvirt_net_ip_to_string(vm->ip) : NULL;
}

static void
sbx_qemu_backend_finalize(GObject *object)
{
	SbxQemuBackend *self = SBX_QEMU_BACKEND(object);
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, self->memfds);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		close(GPOINTER_TO_INT(value) - 1);
	g_hash_table_unref(self->memfds);
	g_hash_table_unref(self->vms);
	g_mutex_clear(&self->lock);
	sbx_jail_free(self->jail);
	if (self->main_ctx != NULL)
		g_main_context_unref(self->main_ctx);
	g_free(self->binary);
	g_free(self->accel);
	g_free(self->machine);
	g_free(self->bridge);
	g_free(self->record_dir);
	g_free(self->compat);
	G_OBJECT_CLASS(sbx_qemu_backend_parent_class)->finalize(object);
}

static void
sbx_qemu_backend_class_init(SbxQemuBackendClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	SbxHypervisorBackendClass *backend_class = SBX_HYPERVISOR_BACKEND_CLASS(klass);

	object_class->finalize = sbx_qemu_backend_finalize;
	backend_class->config_keys = qemu_config_keys;
	backend_class->configure = sbx_qemu_backend_configure;
	backend_class->start_vm_async = sbx_qemu_backend_start_vm_async;
	backend_class->destroy_vm_async = sbx_qemu_backend_destroy_vm_async;
	backend_class->list_vms_async = sbx_qemu_backend_list_vms_async;
	backend_class->get_domain_type = sbx_qemu_backend_get_domain_type;
	backend_class->get_snapshot_compat = sbx_qemu_backend_get_snapshot_compat;
	backend_class->snapshot_vm_async = sbx_qemu_backend_snapshot_vm_async;
	backend_class->restore_vm_async = sbx_qemu_backend_restore_vm_async;
	backend_class->get_network_bridge = sbx_qemu_backend_get_network_bridge;
	backend_class->get_vm_address = sbx_qemu_backend_get_vm_address;
}

static void
sbx_qemu_backend_init(SbxQemuBackend *self)
{
	g_mutex_init(&self->lock);
	self->vms = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					  (GDestroyNotify)sbx_qemu_vm_free);
	self->memfds = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	self->binary = g_strdup(DEFAULT_BINARY);
	self->accel = g_strdup(pick_accel());
	self->machine = g_strdup("pc");
	self->bridge = g_strdup(SBX_LIBVIRT_NETWORK_BRIDGE_DEFAULT);
	self->record_dir = g_strdup(DEFAULT_RECORD_DIR);
}

SBX_PLUGIN_DEFINE(SBX_PLUGIN_KIND_HYPERVISOR, "qemu", sbx_qemu_backend_get_type)
