/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <glib-unix.h>

#include "sbx-plugin.h"
#include "sbx-test-backend.h"

#ifndef SBX_TEST_AGENT_PATH
#define SBX_TEST_AGENT_PATH ""
#endif
#ifndef SBX_TEST_INSTALLED_AGENT_PATH
#define SBX_TEST_INSTALLED_AGENT_PATH ""
#endif
/* a second build of this file ("test-b", uninstalled) is another backend
 * in the same daemon: tests of recovery across backends */
#ifndef SBX_TEST_PLUGIN_NAME
#define SBX_TEST_PLUGIN_NAME "test"
#endif
#ifndef SBX_TEST_TYPE_NAME
#define SBX_TEST_TYPE_NAME "SbxTestBackend"
#endif

/* how long start waits for the agent's socket, and how often it looks */
#define SOCKET_WAIT_US (10 * G_USEC_PER_SEC)
#define SOCKET_POLL_MS 10

typedef enum {
	VM_STARTING,
	VM_RUNNING,
	VM_EXITED, /* stopped on its own; files stay until destroy */
	VM_DESTROYING,
} VmState;

typedef struct {
	SbxTestBackend *self; /* borrowed: the backend owns the table of vms */
	gchar *id;
	gchar *agent_socket;
	gchar *console_log;
	VmState state;
	GSubprocess *proc;
	gboolean exited;
	GTask *start_task;
	guint timeout_id;
	gint64 deadline;
	GPtrArray *destroy_tasks;
	/* adopted from a previous daemon (StateDir): not our child */
	GPid pid;
	gint pidfd;
	guint pidfd_watch;
} SbxTestVm;

struct _SbxTestBackend {
	SbxHypervisorBackend parent_instance;
	gchar *agent_path;
	gboolean fail_start;
	guint start_delay_ms;
	gboolean fail_destroy;
	gchar *state_dir;      /* where running vms are recorded, or NULL */
	gchar *network_bridge; /* reported only: no bridge is made, no NIC given */
	GHashTable *vms;       /* id -> SbxTestVm (one reference) */
};

static gpointer sbx_test_backend_parent_class;
static void sbx_test_backend_class_init(SbxTestBackendClass *klass);
static void sbx_test_backend_init(SbxTestBackend *self);

static void
sbx_test_backend_class_intern_init(gpointer klass, gpointer data)
{
	sbx_test_backend_parent_class = g_type_class_peek_parent(klass);
	sbx_test_backend_class_init(klass);
}

static void
sbx_test_backend_instance_init(GTypeInstance *instance, gpointer klass)
{
	sbx_test_backend_init((SbxTestBackend *)instance);
}

/* G_DEFINE_FINAL_TYPE by hand: the type name differs between the builds */
GType
sbx_test_backend_get_type(void)
{
	static gsize type = 0;
	if (g_once_init_enter(&type)) {
		GType t = g_type_register_static_simple(
		    SBX_TYPE_HYPERVISOR_BACKEND, g_intern_static_string(SBX_TEST_TYPE_NAME),
		    sizeof(SbxTestBackendClass), sbx_test_backend_class_intern_init,
		    sizeof(SbxTestBackend), sbx_test_backend_instance_init, G_TYPE_FLAG_FINAL);
		g_once_init_leave(&type, t);
	}
	return type;
}

static const SbxConfigKey test_config_keys[] = {
    {"AgentPath", SBX_CONFIG_PATH},
    {"FailStart", SBX_CONFIG_BOOL},
    {"StartDelayMs", SBX_CONFIG_UINT, 0, 60000},
    {"FailDestroy", SBX_CONFIG_BOOL},
    {"StateDir", SBX_CONFIG_PATH},
    {"NetworkBridge", SBX_CONFIG_STRING},
    {NULL},
};

static void
vm_clear(SbxTestVm *vm)
{
	g_free(vm->id);
	g_free(vm->agent_socket);
	g_free(vm->console_log);
	g_clear_object(&vm->proc);
	g_clear_object(&vm->start_task);
	g_ptr_array_unref(vm->destroy_tasks);
	if (vm->pidfd_watch != 0)
		g_source_remove(vm->pidfd_watch);
	if (vm->pidfd >= 0)
		close(vm->pidfd);
}

static SbxTestVm *
vm_ref(SbxTestVm *vm)
{
	return g_rc_box_acquire(vm);
}

static void
vm_unref(SbxTestVm *vm)
{
	g_rc_box_release_full(vm, (GDestroyNotify)vm_clear);
}

/* StateDir/<id>.vm: "pid\nagent_socket\nconsole_log\n", so a restarted
 * daemon's list_vms finds the agents that outlived it */
static gchar *
vm_record_path(SbxTestBackend *self, const gchar *id)
{
	g_autofree gchar *name = g_strconcat(id, ".vm", NULL);
	return g_build_filename(self->state_dir, name, NULL);
}

static void
vm_write_record(SbxTestVm *vm, GPid pid)
{
	g_autofree gchar *path = NULL;
	g_autofree gchar *text = NULL;
	g_autoptr(GError) error = NULL;

	if (vm->self->state_dir == NULL)
		return;
	path = vm_record_path(vm->self, vm->id);
	text = g_strdup_printf("%d\n%s\n%s\n", (gint)pid, vm->agent_socket,
			       vm->console_log != NULL ? vm->console_log : "");
	if (!g_file_set_contents(path, text, -1, &error))
		g_warning("vm %s: %s", vm->id, error->message);
}

static void
vm_remove_record(SbxTestVm *vm)
{
	g_autofree gchar *path = NULL;
	if (vm->self->state_dir == NULL)
		return;
	path = vm_record_path(vm->self, vm->id);
	g_unlink(path);
}

static void
vm_remove_files(SbxTestVm *vm)
{
	vm_remove_record(vm);
	if (g_unlink(vm->agent_socket) != 0 && errno != ENOENT)
		g_debug("cannot remove %s: %s", vm->agent_socket, g_strerror(errno));
	if (vm->console_log != NULL)
		g_unlink(vm->console_log);
}

static void
vm_cancel_timeout(SbxTestVm *vm)
{
	if (vm->timeout_id != 0) {
		g_source_remove(vm->timeout_id);
		vm->timeout_id = 0;
	}
}

static void
vm_kill(SbxTestVm *vm)
{
	if (vm->proc != NULL && !vm->exited)
		g_subprocess_force_exit(vm->proc);
	/* an adopted agent: the pidfd says when it is gone */
	if (vm->pidfd >= 0 && !vm->exited)
		syscall(SYS_pidfd_send_signal, vm->pidfd, SIGKILL, NULL, 0);
}

/* the vm leaves the table; its process (if any) is killed and reaped later */
static void
start_fail(SbxTestVm *vm, GError *error)
{
	g_autoptr(GTask) task = g_steal_pointer(&vm->start_task);

	vm_cancel_timeout(vm);
	vm_kill(vm);
	vm_remove_files(vm);
	g_prefix_error(&error, "vm %s: ", vm->id);
	g_hash_table_remove(vm->self->vms, vm->id);
	g_task_return_error(task, error);
}

static void
finish_destroy(SbxTestVm *vm)
{
	g_autoptr(GPtrArray) tasks = g_ptr_array_ref(vm->destroy_tasks);

	vm_remove_files(vm);
	g_hash_table_remove(vm->self->vms, vm->id);
	for (guint i = 0; i < tasks->len; i++)
		g_task_return_boolean(g_ptr_array_index(tasks, i), TRUE);
	g_ptr_array_set_size(tasks, 0);
}

static void
vm_exited(SbxTestVm *vm)
{
	SbxTestBackend *self = vm->self;

	vm->exited = TRUE;
	switch (vm->state) {
	case VM_STARTING:
		/* the poll notices */
		break;
	case VM_RUNNING:
		vm->state = VM_EXITED;
		g_debug("vm %s: agent exited on its own", vm->id);
		sbx_hypervisor_backend_emit_vm_exited(SBX_HYPERVISOR_BACKEND(self), vm->id);
		break;
	case VM_DESTROYING:
		finish_destroy(vm);
		break;
	case VM_EXITED:
		break;
	}
}

static void
vm_wait_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	SbxTestVm *vm = user_data;
	SbxTestBackend *self = vm->self;

	g_subprocess_wait_finish(G_SUBPROCESS(source), res, NULL);
	vm_exited(vm);
	vm_unref(vm);
	g_object_unref(self);
}

static gboolean
vm_pidfd_cb(gint fd, GIOCondition condition, gpointer user_data)
{
	SbxTestVm *vm = user_data;
	SbxTestBackend *self = g_object_ref(vm->self);

	vm->pidfd_watch = 0;
	vm_ref(vm);
	vm_exited(vm);
	vm_unref(vm);
	g_object_unref(self);
	return G_SOURCE_REMOVE;
}

/* is @pid still the agent serving @socket (not a recycled pid)? */
static gboolean
pid_is_agent(GPid pid, const gchar *socket)
{
	g_autofree gchar *path = g_strdup_printf("/proc/%d/cmdline", (gint)pid);
	g_autofree gchar *cmdline = NULL;
	gsize len = 0;

	if (!g_file_get_contents(path, &cmdline, &len, NULL))
		return FALSE;
	for (gsize i = 0; i < len;) {
		if (g_strcmp0(cmdline + i, socket) == 0)
			return TRUE;
		i += strlen(cmdline + i) + 1;
	}
	return FALSE;
}

/* takes back the agents a previous daemon started (their records) */
static void
adopt_recorded(SbxTestBackend *self)
{
	g_autoptr(GDir) dir = NULL;
	const gchar *name;

	if (self->state_dir == NULL || (dir = g_dir_open(self->state_dir, 0, NULL)) == NULL)
		return;
	while ((name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *path = g_build_filename(self->state_dir, name, NULL);
		g_autofree gchar *id = NULL;
		g_autofree gchar *text = NULL;
		g_auto(GStrv) lines = NULL;
		SbxTestVm *vm;
		GPid pid;
		gint pidfd;

		if (!g_str_has_suffix(name, ".vm"))
			continue;
		id = g_strndup(name, strlen(name) - 3);
		if (g_hash_table_contains(self->vms, id))
			continue;
		if (!g_file_get_contents(path, &text, NULL, NULL) ||
		    g_strv_length(lines = g_strsplit(text, "\n", 4)) < 3) {
			g_unlink(path);
			continue;
		}
		pid = (GPid)g_ascii_strtoll(lines[0], NULL, 10);
		pidfd = pid > 0 ? (gint)syscall(SYS_pidfd_open, pid, 0) : -1;
		if (pidfd < 0 || !pid_is_agent(pid, lines[1])) {
			if (pidfd >= 0)
				close(pidfd);
			g_unlink(path);
			continue;
		}
		vm = g_rc_box_new0(SbxTestVm);
		vm->self = self;
		vm->id = g_steal_pointer(&id);
		vm->agent_socket = g_strdup(lines[1]);
		vm->console_log = lines[2][0] != '\0' ? g_strdup(lines[2]) : NULL;
		vm->state = VM_RUNNING;
		vm->pid = pid;
		vm->pidfd = pidfd;
		vm->destroy_tasks = g_ptr_array_new_with_free_func(g_object_unref);
		vm->pidfd_watch = g_unix_fd_add(pidfd, G_IO_IN, vm_pidfd_cb, vm);
		g_hash_table_insert(self->vms, vm->id, vm);
		g_debug("vm %s: adopted agent %d", vm->id, (gint)pid);
	}
}

static gboolean
start_poll_cb(gpointer user_data)
{
	SbxTestVm *vm = user_data;
	GCancellable *cancellable = g_task_get_cancellable(vm->start_task);
	GError *error = NULL;
	struct stat st;

	if (g_cancellable_set_error_if_cancelled(cancellable, &error)) {
		vm->timeout_id = 0;
		start_fail(vm, error);
		return G_SOURCE_REMOVE;
	}
	if (vm->exited) {
		vm->timeout_id = 0;
		start_fail(vm,
			   g_error_new(G_IO_ERROR, G_IO_ERROR_FAILED,
				       "agent exited before listening (see %s)", vm->console_log));
		return G_SOURCE_REMOVE;
	}
	if (lstat(vm->agent_socket, &st) == 0 && S_ISSOCK(st.st_mode)) {
		g_autoptr(GTask) task = g_steal_pointer(&vm->start_task);
		vm->timeout_id = 0;
		vm->state = VM_RUNNING;
		g_task_return_boolean(task, TRUE);
		return G_SOURCE_REMOVE;
	}
	if (g_get_monotonic_time() > vm->deadline) {
		vm->timeout_id = 0;
		start_fail(vm, g_error_new(G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
					   "agent socket %s did not appear", vm->agent_socket));
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static void
start_spawn(SbxTestVm *vm)
{
	SbxTestBackend *self = vm->self;
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	GError *error = NULL;

	if (self->fail_start) {
		start_fail(vm, g_error_new(G_IO_ERROR, G_IO_ERROR_FAILED,
					   "start failed (FailStart is set)"));
		return;
	}
	if (g_cancellable_set_error_if_cancelled(g_task_get_cancellable(vm->start_task), &error)) {
		start_fail(vm, error);
		return;
	}
	if (self->agent_path == NULL || self->agent_path[0] == '\0') {
		start_fail(vm, g_error_new(G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
					   "no agent binary: set [test] AgentPath"));
		return;
	}
	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_INHERIT |
					     G_SUBPROCESS_FLAGS_STDERR_MERGE);
	if (vm->console_log != NULL)
		g_subprocess_launcher_set_stdout_file_path(launcher, vm->console_log);
	vm->proc = g_subprocess_launcher_spawn(launcher, &error, self->agent_path, "--listen",
					       vm->agent_socket, NULL);
	if (vm->proc == NULL) {
		start_fail(vm, error);
		return;
	}
	g_subprocess_wait_async(vm->proc, NULL, vm_wait_cb, vm_ref(vm));
	g_object_ref(self);
	vm_write_record(vm, (GPid)g_ascii_strtoll(g_subprocess_get_identifier(vm->proc), NULL, 10));
	vm->deadline = g_get_monotonic_time() + SOCKET_WAIT_US;
	vm->timeout_id = g_timeout_add_full(G_PRIORITY_DEFAULT, SOCKET_POLL_MS, start_poll_cb,
					    vm_ref(vm), (GDestroyNotify)vm_unref);
}

/* polls, so that a cancelled start ends at once rather than after the delay */
static gboolean
start_delay_cb(gpointer user_data)
{
	SbxTestVm *vm = user_data;
	GError *error = NULL;

	if (g_cancellable_set_error_if_cancelled(g_task_get_cancellable(vm->start_task), &error)) {
		vm->timeout_id = 0;
		start_fail(vm, error);
		return G_SOURCE_REMOVE;
	}
	if (g_get_monotonic_time() < vm->deadline)
		return G_SOURCE_CONTINUE;
	vm->timeout_id = 0;
	start_spawn(vm);
	return G_SOURCE_REMOVE;
}

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
	if (spec->agent_socket == NULL || !g_path_is_absolute(spec->agent_socket)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "vm %s: agent socket must be an absolute path", spec->id);
		return FALSE;
	}
	return TRUE;
}

static void
sbx_test_backend_start_vm_async(SbxHypervisorBackend *backend, const SbxVmSpec *spec,
				GCancellable *cancellable, GAsyncReadyCallback callback,
				gpointer user_data)
{
	SbxTestBackend *self = SBX_TEST_BACKEND(backend);
	g_autoptr(GTask) task = g_task_new(self, cancellable, callback, user_data);
	GError *error = NULL;
	SbxTestVm *vm;

	g_task_set_source_tag(task, sbx_test_backend_start_vm_async);
	if (!spec_validate(spec, &error)) {
		g_task_return_error(task, error);
		return;
	}
	vm = g_hash_table_lookup(self->vms, spec->id);
	if (vm != NULL && vm->state == VM_EXITED) {
		/* it stopped on its own and was never destroyed: its files go now */
		vm_remove_files(vm);
		g_hash_table_remove(self->vms, spec->id);
	} else if (vm != NULL) {
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_EXISTS, "vm %s already exists",
					spec->id);
		return;
	}
	vm = g_rc_box_new0(SbxTestVm);
	vm->self = self;
	vm->id = g_strdup(spec->id);
	vm->agent_socket = g_strdup(spec->agent_socket);
	vm->console_log = g_strdup(spec->console_log);
	vm->state = VM_STARTING;
	vm->pidfd = -1;
	vm->start_task = g_object_ref(task);
	vm->destroy_tasks = g_ptr_array_new_with_free_func(g_object_unref);
	g_hash_table_insert(self->vms, vm->id, vm);

	if (self->start_delay_ms > 0) {
		vm->deadline = g_get_monotonic_time() + self->start_delay_ms * (gint64)1000;
		vm->timeout_id =
		    g_timeout_add_full(G_PRIORITY_DEFAULT, SOCKET_POLL_MS, start_delay_cb,
				       vm_ref(vm), (GDestroyNotify)vm_unref);
	} else {
		start_spawn(vm);
	}
}

static void
sbx_test_backend_destroy_vm_async(SbxHypervisorBackend *backend, const gchar *id,
				  GCancellable *cancellable, GAsyncReadyCallback callback,
				  gpointer user_data)
{
	SbxTestBackend *self = SBX_TEST_BACKEND(backend);
	g_autoptr(GTask) task = g_task_new(self, cancellable, callback, user_data);
	SbxTestVm *vm;

	g_task_set_source_tag(task, sbx_test_backend_destroy_vm_async);
	if (self->fail_destroy) {
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_FAILED,
					"vm %s: destroy failed (FailDestroy is set)", id);
		return;
	}
	vm = g_hash_table_lookup(self->vms, id);
	if (vm == NULL) {
		g_task_return_boolean(task, TRUE);
		return;
	}
	if (vm->state == VM_STARTING) {
		vm_ref(vm);
		vm_cancel_timeout(vm);
		/* start_fail drops the vm from the table; keep it while reaping */
		start_fail(
		    vm, g_error_new(G_IO_ERROR, G_IO_ERROR_CANCELLED, "destroyed while starting"));
		if (vm->proc != NULL && !vm->exited) {
			vm->state = VM_DESTROYING;
			g_hash_table_insert(self->vms, vm->id, vm_ref(vm));
			g_ptr_array_add(vm->destroy_tasks, g_object_ref(task));
		} else {
			g_task_return_boolean(task, TRUE);
		}
		vm_unref(vm);
		return;
	}
	if (vm->state == VM_EXITED) {
		g_autofree gchar *key = g_strdup(id);
		vm_remove_files(vm);
		g_hash_table_remove(self->vms, key);
		g_task_return_boolean(task, TRUE);
		return;
	}
	vm->state = VM_DESTROYING;
	g_ptr_array_add(vm->destroy_tasks, g_object_ref(task));
	vm_kill(vm);
}

static void
sbx_test_backend_list_vms_async(SbxHypervisorBackend *backend, GCancellable *cancellable,
				GAsyncReadyCallback callback, gpointer user_data)
{
	SbxTestBackend *self = SBX_TEST_BACKEND(backend);
	g_autoptr(GTask) task = g_task_new(self, cancellable, callback, user_data);
	g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
	GHashTableIter iter;
	SbxTestVm *vm;

	g_task_set_source_tag(task, sbx_test_backend_list_vms_async);
	adopt_recorded(self);
	g_hash_table_iter_init(&iter, self->vms);
	while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&vm)) {
		if (vm->state == VM_RUNNING)
			g_ptr_array_add(ids, g_strdup(vm->id));
	}
	g_ptr_array_add(ids, NULL);
	g_task_return_pointer(task, g_ptr_array_steal(ids, NULL), (GDestroyNotify)g_strfreev);
}

static const gchar *
sbx_test_backend_get_domain_type(SbxHypervisorBackend *backend)
{
	return "test";
}

static const gchar *
sbx_test_backend_get_network_bridge(SbxHypervisorBackend *backend)
{
	return SBX_TEST_BACKEND(backend)->network_bridge;
}

static gboolean
sbx_test_backend_configure(SbxHypervisorBackend *backend, GKeyFile *config, const gchar *group,
			   GError **error)
{
	SbxTestBackend *self = SBX_TEST_BACKEND(backend);
	g_autofree gchar *agent_path = g_key_file_get_string(config, group, "AgentPath", NULL);

	if (agent_path != NULL && agent_path[0] != '\0') {
		g_free(self->agent_path);
		self->agent_path = g_steal_pointer(&agent_path);
	}
	/* the core checked the values already: absent keys read as 0/false */
	self->fail_start = g_key_file_get_boolean(config, group, "FailStart", NULL);
	self->fail_destroy = g_key_file_get_boolean(config, group, "FailDestroy", NULL);
	self->start_delay_ms =
	    MIN(g_key_file_get_uint64(config, group, "StartDelayMs", NULL), 60000);
	g_free(self->network_bridge);
	self->network_bridge = g_key_file_get_string(config, group, "NetworkBridge", NULL);
	g_free(self->state_dir);
	self->state_dir = g_key_file_get_string(config, group, "StateDir", NULL);
	if (self->state_dir != NULL && g_mkdir_with_parents(self->state_dir, 0700) != 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "[test] StateDir %s: %s", self->state_dir, g_strerror(errno));
		return FALSE;
	}
	return TRUE;
}

static void
sbx_test_backend_dispose(GObject *object)
{
	SbxTestBackend *self = SBX_TEST_BACKEND(object);
	GHashTableIter iter;
	SbxTestVm *vm;

	/* running vms hold a reference, so only idle or starting ones are left */
	g_hash_table_iter_init(&iter, self->vms);
	while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&vm)) {
		vm_cancel_timeout(vm);
		vm_remove_files(vm);
	}
	g_hash_table_remove_all(self->vms);
	G_OBJECT_CLASS(sbx_test_backend_parent_class)->dispose(object);
}

static void
sbx_test_backend_finalize(GObject *object)
{
	SbxTestBackend *self = SBX_TEST_BACKEND(object);

	g_hash_table_unref(self->vms);
	g_free(self->agent_path);
	g_free(self->state_dir);
	g_free(self->network_bridge);
	G_OBJECT_CLASS(sbx_test_backend_parent_class)->finalize(object);
}

static void
sbx_test_backend_class_init(SbxTestBackendClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	SbxHypervisorBackendClass *backend_class = SBX_HYPERVISOR_BACKEND_CLASS(klass);

	object_class->dispose = sbx_test_backend_dispose;
	object_class->finalize = sbx_test_backend_finalize;
	backend_class->config_keys = test_config_keys;
	backend_class->configure = sbx_test_backend_configure;
	backend_class->start_vm_async = sbx_test_backend_start_vm_async;
	backend_class->destroy_vm_async = sbx_test_backend_destroy_vm_async;
	backend_class->list_vms_async = sbx_test_backend_list_vms_async;
	backend_class->get_domain_type = sbx_test_backend_get_domain_type;
	backend_class->get_network_bridge = sbx_test_backend_get_network_bridge;
}

static void
sbx_test_backend_init(SbxTestBackend *self)
{
	/* the agent of the build tree when it is there, else the installed one */
	if (SBX_TEST_AGENT_PATH[0] != '\0' && g_file_test(SBX_TEST_AGENT_PATH, G_FILE_TEST_EXISTS))
		self->agent_path = g_strdup(SBX_TEST_AGENT_PATH);
	else
		self->agent_path = g_strdup(SBX_TEST_INSTALLED_AGENT_PATH);
	/* keys are the vms' own id strings */
	self->vms = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)vm_unref);
}

SBX_PLUGIN_DEFINE(SBX_PLUGIN_KIND_HYPERVISOR, SBX_TEST_PLUGIN_NAME, sbx_test_backend_get_type)
