/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <gio/gunixsocketaddress.h>

#include "sbx-agent-client.h"
#include "sbx-agent-fs.h"
#include "sbx-cmdline-keys.h"
#include "sbx-error.h"
#include "sbx-log.h"
#include "sbx-netpol-firewall.h"
#include "sbx-protocol.h"
#include "sbx-sandbox-private.h"
#include "sbx-volume-manager.h"

G_DEFINE_TYPE(SbxSandbox, sbx_sandbox, G_TYPE_OBJECT)

enum { SIGNAL_GONE, SIGNAL_DISMISSED, SIGNAL_LAST };
static guint signals[SIGNAL_LAST];

/* how long to keep retrying the agent socket after the backend said it is up */
#define SBX_CONNECT_RETRY_MS 50
#define SBX_CONNECT_DEADLINE_US (10 * G_USEC_PER_SEC)

static const gchar *const state_names[] = {"starting", "running", "stopping", "stopped", "crashed"};

const gchar *
sbx_sandbox_state_to_string(SbxSandboxState state)
{
	if ((guint)state >= G_N_ELEMENTS(state_names))
		return "unknown";
	return state_names[state];
}

static void
sbx_sandbox_set_state(SbxSandbox *self, SbxSandboxState state)
{
	self->state = state;
	sbx_dbus_sandbox1_set_state(self->iface, sbx_sandbox_state_to_string(state));
	sbx_sandbox_debug(self->id, "sandbox %s is %s", self->id,
			  sbx_sandbox_state_to_string(state));
	/* the property first, so a client reacting to the signal reads the new value */
	g_dbus_interface_skeleton_flush(G_DBUS_INTERFACE_SKELETON(self->iface));
	sbx_dbus_sandbox1_emit_state_changed(self->iface, sbx_sandbox_state_to_string(state),
					     state >= SBX_SANDBOX_STATE_STOPPING &&
						     self->destroy_reason != NULL
						 ? self->destroy_reason
						 : "");
}

static void
sbx_sandbox_dispose(GObject *object)
{
	SbxSandbox *self = SBX_SANDBOX(object);
	g_clear_handle_id(&self->boot_timer_id, g_source_remove);
	g_clear_handle_id(&self->expiry_id, g_source_remove);
	sbx_sandbox_lifetime_stop(self);
	g_clear_handle_id(&self->connect_retry_id, g_source_remove);
	g_clear_handle_id(&self->owner_watch_id, g_bus_unwatch_name);
	/* a pooled VM this sandbox never started: nobody else knows it */
	if (self->pool_entry != NULL && self->backend != NULL)
		sbx_hypervisor_backend_destroy_vm_async(self->backend, self->id, NULL, NULL, NULL);
	g_clear_pointer(&self->pool_entry, sbx_pool_entry_free);
	g_clear_pointer(&self->files, g_hash_table_unref);
	if (self->agent != NULL && self->agent_closed_id != 0)
		g_clear_signal_handler(&self->agent_closed_id, self->agent);
	g_clear_object(&self->agent);
	g_clear_object(&self->owner_connection);
	if (self->egress_denied_id != 0 && sbx_netpol_firewall_get_default() != NULL)
		g_clear_signal_handler(
		    &self->egress_denied_id,
		    sbx_netpol_firewall_get_egress(sbx_netpol_firewall_get_default()));
	G_OBJECT_CLASS(sbx_sandbox_parent_class)->dispose(object);
}

static void
sbx_sandbox_finalize(GObject *object)
{
	SbxSandbox *self = SBX_SANDBOX(object);
	g_free(self->id);
	g_free(self->secrets_described);
	g_free(self->run_dir);
	g_free(self->object_path);
	g_free(self->owner_name);
	g_free(self->destroy_reason);
	g_free(self->guest_limits_cmdline);
	g_free(self->snapshot_dir);
	g_free(self->guest_net);
	g_free(self->snapshot_build_dir);
	g_clear_pointer(&self->snapshot_spec, sbx_vm_spec_free);
	g_clear_error(&self->start_error);
	g_clear_error(&self->destroy_error);
	g_clear_pointer(&self->opts, sbx_options_create_free);
	g_clear_pointer(&self->image, sbx_image_free);
	g_clear_pointer(&self->disks, g_ptr_array_unref);
	g_clear_object(&self->backend);
	g_clear_object(&self->start_cancellable);
	g_clear_object(&self->iface);
	g_clear_object(&self->object);
	g_ptr_array_unref(self->execs);
	sbx_sandbox_logs_free(self);
	g_clear_pointer(&self->processes, g_ptr_array_unref);
	g_ptr_array_unref(self->destroy_waiters);
	G_OBJECT_CLASS(sbx_sandbox_parent_class)->finalize(object);
}

static void
sbx_sandbox_class_init(SbxSandboxClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	object_class->dispose = sbx_sandbox_dispose;
	object_class->finalize = sbx_sandbox_finalize;
	signals[SIGNAL_GONE] = g_signal_new("gone", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
					    NULL, NULL, NULL, G_TYPE_NONE, 0);
	signals[SIGNAL_DISMISSED] =
	    g_signal_new("dismissed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
			 NULL, G_TYPE_NONE, 0);
}

static void
sbx_sandbox_init(SbxSandbox *self)
{
	self->execs = g_ptr_array_new();
	self->destroy_waiters = g_ptr_array_new_with_free_func(g_object_unref);
	self->start_cancellable = g_cancellable_new();
}

SbxSandbox *
sbx_sandbox_new(const gchar *id, SbxCreateOptions *opts, const SbxImage *image,
		SbxHypervisorBackend *backend, const gchar *runtime_dir, guint boot_timeout_sec)
{
	SbxSandbox *self = g_object_new(SBX_TYPE_SANDBOX, NULL);
	g_autoptr(GVariant) labels = NULL;

	self->id = g_strdup(id);
	self->created_time = g_get_monotonic_time();
	self->opts = opts;
	self->image = sbx_image_copy(image);
	self->backend = g_object_ref(backend);
	self->run_dir = g_build_filename(runtime_dir, id, NULL);
	self->object_path = g_strconcat(SBX_SANDBOX_PATH_PREFIX, id, NULL);
	self->boot_timeout_sec = boot_timeout_sec;
	self->created_at = g_get_real_time();

	self->object = sbx_dbus_object_skeleton_new(self->object_path);
	self->iface = sbx_dbus_sandbox1_skeleton_new();
	sbx_dbus_sandbox1_set_id(self->iface, id);
	sbx_dbus_sandbox1_set_image(self->iface, image->name);
	sbx_dbus_sandbox1_set_memory_mi_b(self->iface, opts->memory_mib);
	sbx_dbus_sandbox1_set_vcpus(self->iface, opts->vcpus);
	sbx_dbus_sandbox1_set_created_at(self->iface, (guint64)self->created_at);
	sbx_dbus_sandbox1_set_expires_at(self->iface, 0);
	sbx_dbus_sandbox1_set_labels(self->iface,
				     sbx_options_string_table_to_variant(opts->labels));
	sbx_sandbox_set_state(self, SBX_SANDBOX_STATE_STARTING);
	sbx_dbus_object_skeleton_set_sandbox1(self->object, self->iface);
	sbx_sandbox_exec_setup(self);
	sbx_sandbox_fs_setup(self);
	sbx_sandbox_file_setup(self);
	sbx_sandbox_tcp_setup(self);
	sbx_sandbox_lifetime_setup(self);
	sbx_sandbox_logs_setup(self);
	return self;
}

const gchar *
sbx_sandbox_get_id(SbxSandbox *self)
{
	return self->id;
}

const gchar *
sbx_sandbox_get_object_path(SbxSandbox *self)
{
	return self->object_path;
}

const gchar *
sbx_sandbox_get_snapshot_dir(SbxSandbox *self)
{
	g_return_val_if_fail(SBX_IS_SANDBOX(self), NULL);
	return self->snapshot_dir != NULL ? self->snapshot_dir : self->snapshot_build_dir;
}

const gchar *
sbx_sandbox_get_run_dir(SbxSandbox *self)
{
	return self->run_dir;
}

SbxSandboxState
sbx_sandbox_get_state(SbxSandbox *self)
{
	return self->state;
}

SbxDBusObjectSkeleton *
sbx_sandbox_get_object(SbxSandbox *self)
{
	return self->object;
}

guint
sbx_sandbox_get_owner_uid(SbxSandbox *self)
{
	return self->owner_uid;
}

GHashTable *
sbx_sandbox_get_labels(SbxSandbox *self)
{
	return self->opts->labels;
}

const gchar *
sbx_sandbox_get_owner_name(SbxSandbox *self)
{
	return self->owner_name;
}

static void
on_owner_vanished(GDBusConnection *connection, const gchar *name, gpointer user_data)
{
	SbxSandbox *self = SBX_SANDBOX(user_data);
	if (self->state >= SBX_SANDBOX_STATE_STOPPING)
		return;
	sbx_sandbox_info(self->id, "sandbox %s: its client %s left the bus", self->id, name);
	sbx_sandbox_destroy_async(self, "its session ended", NULL, NULL);
}

void
sbx_sandbox_set_owner(SbxSandbox *self, GDBusConnection *connection, const gchar *unique_name,
		      guint uid)
{
	g_return_if_fail(SBX_IS_SANDBOX(self));
	g_set_object(&self->owner_connection, connection);
	g_free(self->owner_name);
	self->owner_name = g_strdup(unique_name);
	self->owner_uid = uid;
	if (self->opts->timeout_sec == 0 && connection != NULL && unique_name != NULL &&
	    self->owner_watch_id == 0) {
		self->owner_watch_id = g_bus_watch_name_on_connection(
		    connection, unique_name, G_BUS_NAME_WATCHER_FLAGS_NONE, NULL, on_owner_vanished,
		    self, NULL);
	}
}

void
sbx_sandbox_set_disks(SbxSandbox *self, GPtrArray *disks)
{
	g_return_if_fail(SBX_IS_SANDBOX(self));
	g_clear_pointer(&self->disks, g_ptr_array_unref);
	self->disks = disks != NULL ? g_ptr_array_ref(disks) : NULL;
}

void
sbx_sandbox_set_guest_limits(SbxSandbox *self, guint pids_max, guint mem_reserve_mib,
			     guint child_nice)
{
	g_return_if_fail(SBX_IS_SANDBOX(self));
	g_free(self->guest_limits_cmdline);
	self->guest_limits_cmdline =
	    sbx_sandbox_guest_limits_new(pids_max, mem_reserve_mib, child_nice);
}

gchar *
sbx_sandbox_guest_limits_new(guint pids_max, guint mem_reserve_mib, guint child_nice)
{
	/* read by agent/sbx-agent-limits.c: a cgroup for sandbox processes, so a
	 * fork bomb or a memory hog cannot starve the agent */
	return g_strdup_printf(SBX_CMDLINE_PIDS_MAX "=%u " SBX_CMDLINE_MEM_RESERVE_MIB
						    "=%u " SBX_CMDLINE_CHILD_NICE "=%u",
			       pids_max, mem_reserve_mib, child_nice);
}

/* the manager's store; NULL (the default) always boots cold */
void
sbx_sandbox_set_snapshots(SbxSandbox *self, gpointer store)
{
	g_return_if_fail(SBX_IS_SANDBOX(self));
	self->snapshots = store;
}

void
sbx_sandbox_set_pool(SbxSandbox *self, gpointer pool)
{
	g_return_if_fail(SBX_IS_SANDBOX(self));
	self->pool = pool;
}

void
sbx_sandbox_set_pool_entry(SbxSandbox *self, gpointer entry)
{
	SbxPoolEntry *e = entry;
	g_return_if_fail(SBX_IS_SANDBOX(self));
	g_return_if_fail(self->pool_entry == NULL && g_strcmp0(e->id, self->id) == 0);
	self->pool_entry = e;
}

gboolean
sbx_sandbox_has_root_disk(SbxSandbox *self)
{
	return self->image->root_disk != NULL;
}

/* --- stopping ----------------------------------------------------------- */

static int
rm_rf_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (flag == FTW_DP || flag == FTW_D)
		return rmdir(path) != 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) != 0 && errno != ENOENT ? -1 : 0;
}

static void
remove_run_dir_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
	const gchar *run_dir = task_data;
	if (!g_file_test(run_dir, G_FILE_TEST_EXISTS)) {
		g_task_return_boolean(task, TRUE);
		return;
	}
	if (nftw(run_dir, rm_rf_cb, 16, FTW_DEPTH | FTW_PHYS) != 0) {
		gint errsv = errno;
		g_task_return_new_error(task, G_IO_ERROR, g_io_error_from_errno(errsv),
					"cannot remove %s: %s", run_dir, g_strerror(errsv));
		return;
	}
	g_task_return_boolean(task, TRUE);
}

static void
finish_stop(SbxSandbox *self)
{
	g_autoptr(GPtrArray) waiters = g_steal_pointer(&self->destroy_waiters);
	g_autoptr(GTask) start_task = g_steal_pointer(&self->start_task);

	self->destroy_waiters = g_ptr_array_new_with_free_func(g_object_unref);
	self->finished = TRUE;
	if (!self->crashed)
		sbx_sandbox_set_state(self, SBX_SANDBOX_STATE_STOPPED);
	sbx_sandbox_info(self->id, "sandbox %s destroyed (%s)", self->id,
			 self->destroy_reason != NULL ? self->destroy_reason : "start failed");
	sbx_event_log_add(self->events, "destroyed: %s",
			  self->destroy_reason != NULL ? self->destroy_reason : "start failed");
	sbx_sandbox_state_forget(self);
	sbx_sandbox_logs_stop(self);
	g_signal_emit(self, signals[SIGNAL_GONE], 0);

	if (start_task != NULL) {
		if (self->start_error != NULL)
			g_task_return_error(start_task, g_steal_pointer(&self->start_error));
		else
			g_task_return_new_error(start_task, SBX_ERROR, SBX_ERROR_SANDBOX_GONE,
						"sandbox %s was destroyed while starting",
						self->id);
	}
	for (guint i = 0; i < waiters->len; i++) {
		GTask *task = g_ptr_array_index(waiters, i);
		if (self->destroy_error != NULL)
			g_task_return_error(task, g_error_copy(self->destroy_error));
		else
			g_task_return_boolean(task, TRUE);
	}
}

static void
on_run_dir_removed(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxSandbox) self = SBX_SANDBOX(user_data);
	g_autoptr(GError) error = NULL;

	if (!g_task_propagate_boolean(G_TASK(res), &error)) {
		sbx_sandbox_warning(self->id, "sandbox %s: %s", self->id, error->message);
		if (self->destroy_error == NULL)
			self->destroy_error =
			    g_error_new(SBX_ERROR, SBX_ERROR_FAILED, "sandbox %s: %s", self->id,
					error->message);
	}
	finish_stop(self);
}

static void
on_vm_destroyed(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxSandbox) self = SBX_SANDBOX(user_data);
	g_autoptr(GError) error = NULL;
	g_autoptr(GTask) task = NULL;

	if (!sbx_hypervisor_backend_destroy_vm_finish(self->backend, res, &error)) {
		sbx_sandbox_warning(self->id, "sandbox %s: destroying the VM failed: %s", self->id,
				    error->message);
		self->destroy_error = g_error_new(SBX_ERROR, SBX_ERROR_BACKEND,
						  "sandbox %s: destroying the VM failed: %s",
						  self->id, error->message);
	}
	/* the guest is gone: its address may go to the next one */
	if (sbx_netpol_firewall_get_default() != NULL) {
		SbxNetpolFirewall *firewall = sbx_netpol_firewall_get_default();
		g_clear_signal_handler(&self->egress_denied_id,
				       sbx_netpol_firewall_get_egress(firewall));
		sbx_netpol_firewall_remove_sandbox(firewall, self->id);
	}
	task = g_task_new(NULL, NULL, on_run_dir_removed, g_object_ref(self));
	g_task_set_task_data(task, g_strdup(self->run_dir), g_free);
	g_task_run_in_thread(task, remove_run_dir_thread);
}

/* the one way down, from any state but stopped; the caller made sure no
 * backend start is in flight */
static void
begin_stop(SbxSandbox *self)
{
	g_autoptr(GError) gone = NULL;

	if (self->state >= SBX_SANDBOX_STATE_STOPPING)
		return;
	sbx_sandbox_set_state(self, self->crashed ? SBX_SANDBOX_STATE_CRASHED
						  : SBX_SANDBOX_STATE_STOPPING);
	g_clear_handle_id(&self->boot_timer_id, g_source_remove);
	g_clear_handle_id(&self->expiry_id, g_source_remove);
	sbx_sandbox_lifetime_stop(self);
	g_clear_handle_id(&self->connect_retry_id, g_source_remove);
	g_clear_handle_id(&self->owner_watch_id, g_bus_unwatch_name);
	g_cancellable_cancel(self->start_cancellable);

	/* pending execs fail with SandboxGone, from the agent client or here */
	gone =
	    g_error_new(SBX_ERROR, SBX_ERROR_SANDBOX_GONE, "sandbox %s was destroyed: %s", self->id,
			self->destroy_reason != NULL ? self->destroy_reason : "start failed");
	if (self->agent != NULL) {
		g_clear_signal_handler(&self->agent_closed_id, self->agent);
		if (!sbx_agent_client_is_closed(self->agent))
			sbx_agent_client_close(self->agent, gone);
	}
	/* its VM goes below, by the same id */
	g_clear_pointer(&self->pool_entry, sbx_pool_entry_free);
	sbx_sandbox_exec_cancel_all(self);

	sbx_hypervisor_backend_destroy_vm_async(self->backend, self->id, NULL, on_vm_destroyed,
						g_object_ref(self));
}

void
sbx_sandbox_destroy_async(SbxSandbox *self, const gchar *reason, GAsyncReadyCallback callback,
			  gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(self, NULL, callback, user_data);

	g_return_if_fail(SBX_IS_SANDBOX(self));
	g_task_set_source_tag(task, sbx_sandbox_destroy_async);

	if (self->finished) {
		g_task_return_boolean(task, TRUE);
		/* Kill on a crashed sandbox that is only kept for its logs */
		if (self->crashed)
			g_signal_emit(self, signals[SIGNAL_DISMISSED], 0);
		return;
	}
	g_ptr_array_add(self->destroy_waiters, g_steal_pointer(&task));
	if (self->destroy_reason == NULL)
		self->destroy_reason = g_strdup(reason);
	if (self->state == SBX_SANDBOX_STATE_STARTING) {
		/* the step in flight fails with CANCELLED and takes the same way down */
		g_cancellable_cancel(self->start_cancellable);
		return;
	}
	if (self->state == SBX_SANDBOX_STATE_RUNNING) {
		sbx_sandbox_info(self->id, "destroying sandbox %s: %s", self->id,
				 self->destroy_reason);
		begin_stop(self);
	}
}

gboolean
sbx_sandbox_destroy_finish(SbxSandbox *self, GAsyncResult *res, GError **error)
{
	return g_task_propagate_boolean(G_TASK(res), error);
}

/* --- starting ----------------------------------------------------------- */

/* the end of the guest's console says why a boot failed; the file goes away
 * with the run folder, so log it now (one small read) */
#define SBX_CONSOLE_TAIL_BYTES 2048

static void
log_console_tail(SbxSandbox *self)
{
	g_autofree gchar *path = g_build_filename(self->run_dir, "console.log", NULL);
	g_autoptr(GFile) file = g_file_new_for_path(path);
	g_autoptr(GFileInputStream) stream = g_file_read(file, NULL, NULL);
	g_autofree gchar *buf = NULL;
	gssize n;

	if (stream == NULL)
		return;
	/* from the end; a shorter file just starts at 0 */
	if (!g_seekable_seek(G_SEEKABLE(stream), -SBX_CONSOLE_TAIL_BYTES, G_SEEK_END, NULL, NULL))
		g_seekable_seek(G_SEEKABLE(stream), 0, G_SEEK_SET, NULL, NULL);
	buf = g_malloc0(SBX_CONSOLE_TAIL_BYTES + 1);
	n = g_input_stream_read(G_INPUT_STREAM(stream), buf, SBX_CONSOLE_TAIL_BYTES, NULL, NULL);
	if (n <= 0)
		return;
	/* guest bytes: keep printable text only, drop the serial line's CRs */
	{
		gssize j = 0;
		for (gssize i = 0; i < n; i++) {
			if (buf[i] == '\r')
				continue;
			if (((guchar)buf[i] < 0x20 && buf[i] != '\n') || (guchar)buf[i] >= 0x7f)
				buf[j++] = '?';
			else
				buf[j++] = buf[i];
		}
		buf[j] = '\0';
	}
	sbx_sandbox_message(self->id, "sandbox %s: end of its console log:\n%s", self->id,
			    g_strstrip(buf));
}

static void
fail_start(SbxSandbox *self, SbxError code, const gchar *what, const GError *error)
{
	if (self->state != SBX_SANDBOX_STATE_STARTING)
		return;
	g_clear_error(&self->start_error);
	if (self->boot_timed_out) {
		self->start_error =
		    g_error_new(SBX_ERROR, SBX_ERROR_TIMEOUT,
				"sandbox %s did not start within %u s (BootTimeoutSec)", self->id,
				self->boot_timeout_sec);
	} else if (self->destroy_reason != NULL) {
		self->start_error = g_error_new(SBX_ERROR, SBX_ERROR_SANDBOX_GONE,
						"sandbox %s was destroyed while starting: %s",
						self->id, self->destroy_reason);
	} else if (error != NULL && error->domain == SBX_ERROR &&
		   error->code != SBX_ERROR_SANDBOX_GONE) {
		self->start_error =
		    g_error_new(SBX_ERROR, error->code, "%s: %s", what, error->message);
	} else {
		self->start_error = g_error_new(SBX_ERROR, code, "%s: %s", what,
						error != NULL ? error->message : "failed");
	}
	sbx_sandbox_warning(self->id, "sandbox %s failed to start: %s", self->id,
			    self->start_error->message);
	log_console_tail(self);
	begin_stop(self);
}

static void
on_agent_closed(SbxAgentClient *agent, const GError *reason, gpointer user_data)
{
	SbxSandbox *self = SBX_SANDBOX(user_data);
	g_autofree gchar *why = NULL;

	if (self->state != SBX_SANDBOX_STATE_RUNNING)
		return;
	why = g_strdup_printf("the agent connection closed: %s",
			      reason != NULL ? reason->message : "hung up");
	sbx_sandbox_warning(self->id, "sandbox %s: %s", self->id, why);
	sbx_sandbox_state_crash(self, why);
}

static gboolean
on_expired(gpointer user_data)
{
	SbxSandbox *self = SBX_SANDBOX(user_data);
	self->expiry_id = 0;
	sbx_event_log_add(self->events, "expiring");
	sbx_sandbox_lifetime_expired(self);
	return G_SOURCE_REMOVE;
}

static void
become_running(SbxSandbox *self)
{
	g_autoptr(GTask) task = NULL;
	g_autofree gchar *snapshot = NULL;
	g_autofree gchar *since_call = NULL;

	g_clear_handle_id(&self->boot_timer_id, g_source_remove);
	self->agent_closed_id =
	    g_signal_connect(self->agent, "closed", G_CALLBACK(on_agent_closed), self);
	if (self->opts->timeout_sec > 0) {
		/* an adopted sandbox keeps the expiry it had */
		if (self->expires_at == 0)
			self->expires_at =
			    g_get_real_time() + (gint64)self->opts->timeout_sec * G_USEC_PER_SEC;
		sbx_sandbox_arm_expiry(self);
	}
	sbx_sandbox_set_state(self, SBX_SANDBOX_STATE_RUNNING);
	/* the snapshot's folder name lets the bench restore the same one bare */
	snapshot = self->snapshot_dir != NULL ? g_path_get_basename(self->snapshot_dir) : NULL;
	sbx_event_log_add(
	    self->events, "%s (agent %s)%s%s%s%s", self->adopted ? "adopted" : "running",
	    sbx_agent_client_get_agent_version(self->agent),
	    snapshot != NULL ? " from a snapshot (" : "", snapshot != NULL ? snapshot : "",
	    snapshot != NULL ? ")" : "", self->from_pool ? ", from the pool" : "");
	sbx_sandbox_state_save(self);
	/* an adopted one was created by an earlier daemon */
	since_call = self->adopted
			 ? g_strdup("")
			 : g_strdup_printf(", %.3f s after CreateSandbox",
					   (g_get_monotonic_time() - self->created_time) / 1e6);
	sbx_sandbox_info(self->id,
			 "sandbox %s running (agent %s, %u MiB, %u vCPUs, %s in %.3f s%s)",
			 self->id, sbx_agent_client_get_agent_version(self->agent),
			 self->opts->memory_mib, self->opts->vcpus,
			 self->from_pool	      ? "from the pool"
			 : self->snapshot_dir != NULL ? "restored"
						      : "booted",
			 (g_get_monotonic_time() - self->start_time) / 1e6, since_call);
	/* the first sandbox of its kind booted cold: now take the snapshot */
	if (self->snapshot_spec != NULL && self->snapshots != NULL) {
		sbx_snapshot_store_build(self->snapshots, self->backend, self->snapshot_spec,
					 self->snapshot_build_dir);
		/* and keep a few restored ones of its kind once it is there */
		sbx_pool_want(self->pool, self->backend, self->snapshot_spec,
			      self->snapshot_build_dir);
	}
	task = g_steal_pointer(&self->start_task);
	g_task_return_boolean(task, TRUE);
}

static void become_running_with_secrets(SbxSandbox *self);

static void
on_identity(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxSandbox) self = SBX_SANDBOX(user_data);
	g_autoptr(GError) error = NULL;

	if (!sbx_agent_client_set_identity_finish(SBX_AGENT_CLIENT(source), res, &error)) {
		fail_start(self, SBX_ERROR_AGENT, "the restored guest did not take its identity",
			   error);
		return;
	}
	if (self->state != SBX_SANDBOX_STATE_STARTING)
		return;
	if (g_cancellable_is_cancelled(self->start_cancellable)) {
		fail_start(self, SBX_ERROR_FAILED, "cancelled", NULL);
		return;
	}
	sbx_sandbox_debug(self->id, "sandbox %s: guest took its identity at %.3f s", self->id,
			  (g_get_monotonic_time() - self->start_time) / 1e6);
	self->identity_done = TRUE;
	if (self->handshake_done)
		become_running_with_secrets(self);
}

/* a clone of a snapshot starts as an exact copy: before anything runs in it,
 * it gets fresh entropy, the clock, a hostname, machine id and network */
static void
send_identity(SbxSandbox *self)
{
	guint8 entropy[64];
	guint8 mid_raw[16];
	gchar machine_id[33];
	SbxProtoIdentity identity = {0};

	if (getrandom(entropy, sizeof(entropy), 0) != sizeof(entropy) ||
	    getrandom(mid_raw, sizeof(mid_raw), 0) != sizeof(mid_raw)) {
		fail_start(self, SBX_ERROR_FAILED, "no entropy for the restored guest", NULL);
		return;
	}
	for (guint i = 0; i < sizeof(mid_raw); i++)
		g_snprintf(machine_id + 2 * i, 3, "%02x", mid_raw[i]);
	identity.realtime_us = g_get_real_time();
	identity.entropy = entropy;
	identity.entropy_len = sizeof(entropy);
	/* never shared between clones: the sandbox id is a valid host name */
	identity.hostname = self->id;
	identity.machine_id = machine_id;
	identity.net = self->guest_net;
	sbx_agent_client_set_identity_async(self->agent, &identity, on_identity,
					    g_object_ref(self));
	explicit_bzero(entropy, sizeof(entropy));
}

/* the PEM of the secrets' CA in a memfd, for the agent's WriteFile */
static gint
ca_memfd(SbxSandbox *self, GError **error)
{
	const gchar *pem = sbx_netpol_ca_get_cert_pem(self->opts->secrets->ca);
	gint fd = memfd_create("sandboxd-secrets-ca", MFD_CLOEXEC);

	if (fd < 0 || write(fd, pem, strlen(pem)) != (gssize)strlen(pem) ||
	    lseek(fd, 0, SEEK_SET) != 0) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_FAILED, "memfd: %s", g_strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void
on_ca_written(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxSandbox) self = SBX_SANDBOX(user_data);
	g_autoptr(GError) error = NULL;
	gint fd;

	if (!sbx_agent_fs_write_finish(SBX_AGENT_CLIENT(source), res, &error)) {
		fail_start(self, SBX_ERROR_AGENT, "cannot install the secrets' CA in the guest",
			   error);
		return;
	}
	if (self->state != SBX_SANDBOX_STATE_STARTING)
		return;
	self->ca_installed++;
	if (self->ca_installed == 2) {
		sbx_event_log_add(self->events, "secrets: CA installed for %s",
				  self->secrets_described);
		sbx_sandbox_state_keep_secrets(self);
		become_running(self);
		return;
	}
	/* then appended to the system bundle, which most clients read */
	fd = ca_memfd(self, &error);
	if (fd < 0) {
		fail_start(self, SBX_ERROR_FAILED, "cannot install the secrets' CA", error);
		return;
	}
	sbx_agent_fs_write_async(self->agent, NULL, SBX_NETPOL_SECRETS_BUNDLE_PATH,
				 SBX_FS_PARENTS | SBX_FS_APPEND, 0644, fd, self->start_cancellable,
				 on_ca_written, g_object_ref(self));
	close(fd);
}

/* a sandbox with secrets trusts its CA before anything runs in it */
static void
become_running_with_secrets(SbxSandbox *self)
{
	g_autoptr(GError) error = NULL;
	gint fd;

	if (self->adopted || self->opts->secrets == NULL || self->opts->secrets->ca == NULL) {
		become_running(self);
		return;
	}
	self->secrets_described = sbx_netpol_secrets_describe(self->opts->secrets);
	fd = ca_memfd(self, &error);
	if (fd < 0) {
		fail_start(self, SBX_ERROR_FAILED, "cannot install the secrets' CA", error);
		return;
	}
	sbx_agent_fs_write_async(self->agent, NULL, SBX_NETPOL_SECRETS_CA_PATH, SBX_FS_PARENTS,
				 0644, fd, self->start_cancellable, on_ca_written,
				 g_object_ref(self));
	close(fd);
}

static void
on_handshake(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxSandbox) self = SBX_SANDBOX(user_data);
	g_autoptr(GError) error = NULL;

	if (!sbx_agent_client_handshake_finish(SBX_AGENT_CLIENT(source), res, &error)) {
		fail_start(self, SBX_ERROR_AGENT, "the guest agent did not answer", error);
		return;
	}
	if (self->state != SBX_SANDBOX_STATE_STARTING)
		return;
	if (g_cancellable_is_cancelled(self->start_cancellable)) {
		fail_start(self, SBX_ERROR_FAILED, "cancelled", NULL);
		return;
	}
	sbx_sandbox_debug(self->id, "sandbox %s: agent answered HELLO at %.3f s", self->id,
			  (g_get_monotonic_time() - self->start_time) / 1e6);
	self->handshake_done = TRUE;
	/* a restored clone runs once it has its identity too (sent with HELLO) */
	if (self->snapshot_dir != NULL && !self->adopted && !self->identity_done)
		return;
	become_running_with_secrets(self);
}

static void try_connect(SbxSandbox *self);
static void take_pooled_agent(SbxSandbox *self);
static void add_net_rules(SbxSandbox *self);
static gboolean on_boot_timeout(gpointer user_data);

/* the on_expired timer, from ExpiresAt */
void
sbx_sandbox_arm_expiry(SbxSandbox *self)
{
	gint64 left = self->expires_at - g_get_real_time();
	g_clear_handle_id(&self->expiry_id, g_source_remove);
	sbx_dbus_sandbox1_set_expires_at(self->iface, (guint64)self->expires_at);
	left = CLAMP(left / 1000, 0, G_MAXUINT);
	self->expiry_id = g_timeout_add((guint)left, on_expired, self);
}

/* an adopted VM is up already: connect to its agent, then as for a start */
void
sbx_sandbox_adopt_async(SbxSandbox *self, GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(self, NULL, callback, user_data);

	g_return_if_fail(SBX_IS_SANDBOX(self));
	g_return_if_fail(self->start_task == NULL && self->state == SBX_SANDBOX_STATE_STARTING);
	g_task_set_source_tag(task, sbx_sandbox_start_async);
	self->start_task = g_steal_pointer(&task);
	self->adopted = TRUE;
	sbx_sandbox_info(self->id, "re-adopting sandbox %s", self->id);
	self->boot_timer_id = g_timeout_add_seconds(self->boot_timeout_sec, on_boot_timeout, self);
	/* the firewall was replaced at startup: its allow_net rules go back first.
	 * A sandbox without a NIC (an empty list, an image without network) has
	 * no address and needs none */
	if (self->opts->allow_net != NULL || self->opts->secrets != NULL) {
		g_autofree gchar *ip =
		    sbx_hypervisor_backend_get_vm_address(self->backend, self->id);
		if (ip != NULL) {
			self->needs_net_rules = TRUE;
			add_net_rules(self);
			return;
		}
	}
	self->connect_deadline = g_get_monotonic_time() + SBX_CONNECT_DEADLINE_US;
	try_connect(self);
}

gboolean
sbx_sandbox_adopt_finish(SbxSandbox *self, GAsyncResult *res, GError **error)
{
	return g_task_propagate_boolean(G_TASK(res), error);
}

static gboolean
on_connect_retry(gpointer user_data)
{
	SbxSandbox *self = SBX_SANDBOX(user_data);
	self->connect_retry_id = 0;
	try_connect(self);
	return G_SOURCE_REMOVE;
}

static void
on_connected(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxSandbox) self = SBX_SANDBOX(user_data);
	g_autoptr(GError) error = NULL;
	g_autoptr(GIOStream) conn =
	    sbx_hypervisor_backend_connect_agent_finish(self->backend, res, &error);

	if (conn == NULL) {
		if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
		    g_get_monotonic_time() < self->connect_deadline) {
			self->connect_retry_id = g_timeout_add_full(
			    G_PRIORITY_DEFAULT, SBX_CONNECT_RETRY_MS, on_connect_retry,
			    g_object_ref(self), g_object_unref);
			return;
		}
		fail_start(self, SBX_ERROR_AGENT, "cannot connect to the agent socket", error);
		return;
	}
	sbx_sandbox_debug(self->id, "sandbox %s: agent socket connected at %.3f s", self->id,
			  (g_get_monotonic_time() - self->start_time) / 1e6);
	self->agent = sbx_agent_client_new(conn, self->id);
	sbx_agent_client_handshake_async(self->agent, self->boot_timeout_sec * 1000,
					 self->start_cancellable, on_handshake, g_object_ref(self));
	if (self->snapshot_dir != NULL && !self->adopted)
		send_identity(self);
}

/* a pooled VM answered HELLO already: it only lacks its identity */
static void
take_pooled_agent(SbxSandbox *self)
{
	g_autoptr(SbxPoolEntry) entry = g_steal_pointer(&self->pool_entry);

	self->agent = g_steal_pointer(&entry->agent);
	self->handshake_done = TRUE;
	sbx_sandbox_debug(self->id, "sandbox %s: took the pooled VM's agent at %.3f s", self->id,
			  (g_get_monotonic_time() - self->start_time) / 1e6);
	send_identity(self);
}

static void
try_connect(SbxSandbox *self)
{
	g_autofree gchar *socket_path = g_build_filename(self->run_dir, "agent.sock", NULL);
	/* the backend knows how its agent is reached (a socket, a vsock handshake) */
	sbx_hypervisor_backend_connect_agent_async(self->backend, self->id, socket_path,
						   self->start_cancellable, on_connected,
						   g_object_ref(self));
}

static void
on_net_rules_added(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxSandbox) self = SBX_SANDBOX(user_data);
	g_autoptr(GError) error = NULL;

	if (!sbx_netpol_firewall_add_sandbox_finish(SBX_NETPOL_FIREWALL(source), res, &error)) {
		fail_start(self, SBX_ERROR_FAILED, "cannot install its network rules", error);
		return;
	}
	if (self->state != SBX_SANDBOX_STATE_STARTING)
		return;
	if (self->pool_entry != NULL) {
		take_pooled_agent(self);
		return;
	}
	self->connect_deadline = g_get_monotonic_time() + SBX_CONNECT_DEADLINE_US;
	try_connect(self);
}

#define SBX_SANDBOX_DENIALS_PER_MINUTE 20

/* the proxy's denials of this sandbox: names and ports, never payloads */
static void
on_egress_denied(SbxNetpolEgress *egress, const gchar *id, const gchar *host, guint port,
		 const gchar *why, gpointer user_data)
{
	SbxSandbox *self = user_data;
	gint64 now = g_get_monotonic_time();

	if (g_strcmp0(id, self->id) != 0)
		return;
	/* a guest can be denied as fast as it can ask: a few lines a minute,
	 * so its denials never push everything else out of the event log */
	if (now - self->egress_denied_since > 60 * G_USEC_PER_SEC) {
		self->egress_denied_since = now;
		self->egress_denied_count = 0;
	}
	self->egress_denied_count++;
	if (self->egress_denied_count <= SBX_SANDBOX_DENIALS_PER_MINUTE)
		sbx_event_log_add(self->events, "network: denied %s port %u: %s", host, port, why);
	else if (self->egress_denied_count == SBX_SANDBOX_DENIALS_PER_MINUTE + 1)
		sbx_event_log_add(self->events, "network: more denials this minute, not logged");
}

/* no caller process runs before the agent is used: the rules are in place by then */
static void
add_net_rules(SbxSandbox *self)
{
	SbxNetpolFirewall *firewall = sbx_netpol_firewall_get_default();
	g_autofree gchar *ip = sbx_hypervisor_backend_get_vm_address(self->backend, self->id);
	g_autoptr(GError) error = NULL;

	if (firewall == NULL || ip == NULL) {
		g_set_error(&error, SBX_ERROR, SBX_ERROR_FAILED,
			    "the backend gave no guest address to put them on");
		fail_start(self, SBX_ERROR_FAILED, "cannot install its network rules", error);
		return;
	}
	if (self->egress_denied_id == 0)
		self->egress_denied_id =
		    g_signal_connect(sbx_netpol_firewall_get_egress(firewall), "denied",
				     G_CALLBACK(on_egress_denied), self);
	sbx_netpol_firewall_add_sandbox_async(firewall, self->id, ip, self->opts->allow_net,
					      self->opts->secrets, self->start_cancellable,
					      on_net_rules_added, g_object_ref(self));
}

static void
on_vm_started(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxSandbox) self = SBX_SANDBOX(user_data);
	g_autoptr(GError) error = NULL;

	if (!sbx_hypervisor_backend_start_vm_finish(self->backend, res, &error)) {
		fail_start(self, SBX_ERROR_BACKEND, "the backend could not start the VM", error);
		return;
	}
	sbx_sandbox_debug(self->id, "sandbox %s: VM started, connecting to its agent", self->id);
	if (self->needs_net_rules) {
		add_net_rules(self);
		return;
	}
	self->connect_deadline = g_get_monotonic_time() + SBX_CONNECT_DEADLINE_US;
	try_connect(self);
}

static void
on_vm_restored(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxSandbox) self = SBX_SANDBOX(user_data);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *net =
	    sbx_hypervisor_backend_restore_vm_finish(self->backend, res, &error);

	if (net == NULL) {
		/* the next sandbox of its kind boots cold and takes a new one */
		if (self->snapshots != NULL &&
		    !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			sbx_snapshot_store_forget(self->snapshots, self->snapshot_dir,
						  error->message);
		fail_start(self, SBX_ERROR_BACKEND, "the backend could not restore the VM", error);
		return;
	}
	self->guest_net = g_steal_pointer(&net);
	sbx_sandbox_debug(self->id, "sandbox %s: VM restored in %.3f s, connecting to its agent",
			  self->id, (g_get_monotonic_time() - self->start_time) / 1e6);
	/* its allow_net rules before IDENTITY brings its NIC up */
	if (self->needs_net_rules) {
		add_net_rules(self);
		return;
	}
	self->connect_deadline = g_get_monotonic_time() + SBX_CONNECT_DEADLINE_US;
	try_connect(self);
}

static gboolean
on_boot_timeout(gpointer user_data)
{
	SbxSandbox *self = SBX_SANDBOX(user_data);
	self->boot_timer_id = 0;
	self->boot_timed_out = TRUE;
	g_cancellable_cancel(self->start_cancellable);
	return G_SOURCE_REMOVE;
}

SbxVmSpec *
sbx_sandbox_spec_new(const SbxImage *image, const SbxCreateOptions *opts,
		     const gchar *guest_limits_cmdline, GError **error)
{
	g_autoptr(SbxVmSpec) spec = sbx_vm_spec_new();
	g_autofree gchar *cmdline = sbx_image_resolve_cmdline(image, error);

	if (cmdline == NULL)
		return NULL;
	spec->memory_mib = opts->memory_mib;
	spec->vcpus = opts->vcpus;
	spec->kernel = g_strdup(image->kernel);
	spec->initrd = g_strdup(image->initrd);
	spec->cmdline = guest_limits_cmdline != NULL
			    ? g_strconcat(cmdline, " ", guest_limits_cmdline, NULL)
			    : g_steal_pointer(&cmdline);
	spec->root_disk = g_strdup(image->root_disk);
	spec->root_format = g_strdup(image->root_format);
	spec->disk_size = (guint64)image->disk_size_gib << 30;
	/* fail closed: no NIC unless the host's isolation rules are in place; an
	 * empty allow_net means no NIC at all */
	spec->network = image->network &&
			sbx_netpol_firewall_is_active(sbx_netpol_firewall_get_default()) &&
			(opts->allow_net == NULL || !sbx_netpol_policy_is_offline(opts->allow_net));
	return g_steal_pointer(&spec);
}

void
sbx_sandbox_start_async(SbxSandbox *self, GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(self, NULL, callback, user_data);
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxVmSpec) spec = NULL;

	g_return_if_fail(SBX_IS_SANDBOX(self));
	g_return_if_fail(self->start_task == NULL && self->state == SBX_SANDBOX_STATE_STARTING);
	g_task_set_source_tag(task, sbx_sandbox_start_async);
	self->start_task = g_steal_pointer(&task);

	if (g_cancellable_is_cancelled(self->start_cancellable)) {
		fail_start(self, SBX_ERROR_FAILED, "cancelled", NULL);
		return;
	}
	spec = sbx_sandbox_spec_new(self->image, self->opts, self->guest_limits_cmdline, &error);
	if (spec == NULL) {
		fail_start(self, SBX_ERROR_CONFIG, "no usable image", error);
		return;
	}
	/* a pooled VM's run folder is there already (the pool made it for this id) */
	if (self->pool_entry == NULL &&
	    (g_mkdir(self->run_dir, 0750) != 0 || g_chmod(self->run_dir, 0750) != 0)) {
		gint errsv = errno;
		g_set_error(&error, G_IO_ERROR, g_io_error_from_errno(errsv), "%s: %s",
			    self->run_dir, g_strerror(errsv));
		fail_start(self, SBX_ERROR_FAILED, "cannot create the run folder", error);
		return;
	}

	spec->id = g_strdup(self->id);
	spec->run_dir = g_strdup(self->run_dir);
	spec->agent_socket = g_build_filename(self->run_dir, "agent.sock", NULL);
	spec->console_log = g_build_filename(self->run_dir, "console.log", NULL);
	/* secrets without allow_net: the default isolation, HTTPS through the proxy */
	self->needs_net_rules =
	    spec->network && (self->opts->allow_net != NULL || self->opts->secrets != NULL);
	if (self->disks != NULL && self->disks->len > 0) {
		g_autofree gchar *vol = sbx_volume_manager_disks_to_cmdline(self->disks);
		g_autofree gchar *old = g_steal_pointer(&spec->cmdline);
		spec->cmdline = g_strconcat(old, " ", vol, NULL);
		spec->disks = g_ptr_array_ref(self->disks);
	}

	sbx_sandbox_info(self->id, "starting sandbox %s (image %s, %u MiB, %u vCPUs)", self->id,
			 self->image->name, spec->memory_mib, spec->vcpus);
	{
		/* kept with the sandbox: a restarted daemon reads it back */
		g_autofree gchar *events_path = g_build_filename(self->run_dir, "events.log", NULL);
		sbx_event_log_set_file(self->events, events_path, FALSE);
	}
	sbx_event_log_add(self->events, "created: image %s, %u MiB, %u vCPUs, timeout %s",
			  self->image->name, spec->memory_mib, spec->vcpus,
			  self->opts->timeout_sec == 0 ? "session" : "duration");
	if (self->image->network && !spec->network && self->opts->allow_net != NULL &&
	    sbx_netpol_policy_is_offline(self->opts->allow_net))
		sbx_event_log_add(self->events, "no network: allow_net is empty");
	else if (self->image->network && !spec->network)
		sbx_event_log_add(
		    self->events, "no network: %s",
		    sbx_netpol_firewall_get_failure(sbx_netpol_firewall_get_default()));
	else if (self->needs_net_rules && self->opts->allow_net == NULL)
		sbx_event_log_add(self->events, "network: the internet, HTTPS through the egress "
						"proxy (secrets)");
	else if (self->needs_net_rules) {
		g_auto(GStrv) allowed = sbx_netpol_policy_to_strv(self->opts->allow_net);
		g_autofree gchar *list = g_strjoinv(", ", allowed);
		sbx_event_log_add(self->events, "network: only %s", list);
	}
	self->boot_timer_id = g_timeout_add_seconds(self->boot_timeout_sec, on_boot_timeout, self);
	self->start_time = g_get_monotonic_time();
	if (self->pool_entry != NULL) {
		/* restored ahead, HELLO answered, no identity yet: the rules, then
		 * IDENTITY; nothing of the caller's ran in it */
		g_autofree gchar *snapshot = g_path_get_basename(self->pool_entry->snapshot_dir);
		self->from_pool = TRUE;
		self->snapshot_dir = g_strdup(self->pool_entry->snapshot_dir);
		self->guest_net = g_strdup(self->pool_entry->net);
		sbx_event_log_add(
		    self->events, "taken from the pool: restored from snapshot %s %.1f s ago",
		    snapshot, (self->start_time - self->pool_entry->restored_at) / 1e6);
		sbx_sandbox_debug(self->id, "sandbox %s: taken from the pool (snapshot %s)",
				  self->id, snapshot);
		if (self->needs_net_rules) {
			add_net_rules(self);
			return;
		}
		take_pooled_agent(self);
		return;
	}
	if (self->snapshots != NULL) {
		gboolean ready = FALSE;
		g_autofree gchar *why = NULL;
		g_autofree gchar *dir =
		    sbx_snapshot_store_lookup(self->snapshots, self->backend, spec, &ready, &why);
		if (ready) {
			self->snapshot_dir = g_strdup(dir);
			spec->snapshot_dir = g_steal_pointer(&dir);
			sbx_event_log_add(self->events, "restoring from snapshot %s",
					  spec->snapshot_dir);
			/* the next ones of this kind may come from the pool */
			sbx_pool_want(self->pool, self->backend, spec, self->snapshot_dir);
			sbx_hypervisor_backend_restore_vm_async(self->backend, spec,
								self->start_cancellable,
								on_vm_restored, g_object_ref(self));
			return;
		}
		sbx_sandbox_info(self->id, "sandbox %s boots cold: %s", self->id, why);
		if (dir != NULL) {
			self->snapshot_spec = sbx_vm_spec_copy(spec);
			self->snapshot_build_dir = g_steal_pointer(&dir);
		}
	}
	{
		/* a cold boot gets its id as hostname, as a restored clone does
		 * through IDENTITY; after the snapshot lookup: the key and the
		 * template's spec stay the image's */
		g_autofree gchar *old = g_steal_pointer(&spec->cmdline);
		spec->cmdline = g_strconcat(old, " " SBX_CMDLINE_HOSTNAME "=", self->id, NULL);
	}
	sbx_hypervisor_backend_start_vm_async(self->backend, spec, self->start_cancellable,
					      on_vm_started, g_object_ref(self));
}

gboolean
sbx_sandbox_start_finish(SbxSandbox *self, GAsyncResult *res, GError **error)
{
	return g_task_propagate_boolean(G_TASK(res), error);
}
