/* a sandbox's durable record, adoption after a restart, and crashes.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include "sbx-log.h"
#include "sbx-netpol-keyring.h"
#include "sbx-sandbox-private.h"
#include "sbx-volume-manager.h"

void
sbx_sandbox_state_set_store(SbxSandbox *self, SbxStateStore *store, const gchar *backend_name)
{
	g_return_if_fail(SBX_IS_SANDBOX(self));
	g_set_object(&self->store, store);
	g_free(self->backend_name);
	self->backend_name = g_strdup(backend_name);
}

static void
copy_table(GHashTable *to, GHashTable *from)
{
	GHashTableIter iter;
	gpointer key, value;
	if (from == NULL)
		return;
	g_hash_table_iter_init(&iter, from);
	while (g_hash_table_iter_next(&iter, &key, &value))
		g_hash_table_insert(to, g_strdup(key), g_strdup(value));
}

SbxStateRecord *
sbx_sandbox_state_to_record(SbxSandbox *self)
{
	SbxStateRecord *rec = sbx_state_store_record_new();
	rec->id = g_strdup(self->id);
	rec->owner_uid = self->owner_uid;
	rec->image = g_strdup(self->image->name);
	rec->memory_mib = self->opts->memory_mib;
	rec->vcpus = self->opts->vcpus;
	copy_table(rec->env, self->opts->env);
	copy_table(rec->labels, self->opts->labels);
	rec->region = g_strdup(self->region);
	rec->backend = g_strdup(self->backend_name != NULL ? self->backend_name : "");
	rec->created_at = self->created_at;
	rec->timeout_sec = self->opts->timeout_sec;
	rec->expires_at = self->opts->timeout_sec > 0 ? self->expires_at : 0;
	rec->run_dir = g_strdup(self->run_dir);
	if (self->opts->allow_net != NULL)
		rec->allow_net = sbx_netpol_policy_to_strv(self->opts->allow_net);
	for (guint i = 0; self->disks != NULL && i < self->disks->len; i++) {
		SbxVmDisk *disk = g_ptr_array_index(self->disks, i);
		SbxVolumeRequest *req = g_new0(SbxVolumeRequest, 1);
		req->mount_path = g_strdup(disk->mount_path);
		req->ref = g_strdup(disk->serial);
		req->read_only = disk->read_only;
		g_ptr_array_add(rec->volumes, req);
	}
	return rec;
}

void
sbx_sandbox_state_save(SbxSandbox *self)
{
	g_autoptr(SbxStateRecord) rec = NULL;

	g_return_if_fail(SBX_IS_SANDBOX(self));
	/* only running sandboxes have something worth re-adopting */
	if (self->store == NULL || self->state != SBX_SANDBOX_STATE_RUNNING)
		return;
	rec = sbx_sandbox_state_to_record(self);
	sbx_state_store_save(self->store, rec);
}

void
sbx_sandbox_state_forget(SbxSandbox *self)
{
	if (self->store != NULL)
		sbx_state_store_remove(self->store, self->id);
	if (self->opts->secrets != NULL)
		sbx_netpol_keyring_remove(self->id);
}

void
sbx_sandbox_state_keep_secrets(SbxSandbox *self)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) blob = NULL;

	if (self->store == NULL || self->opts->secrets == NULL)
		return;
	blob = sbx_netpol_secrets_serialize(self->opts->secrets);
	if (!sbx_netpol_keyring_store(self->id, blob, &error)) {
		sbx_event_log_add(self->events, "secrets: lost if the daemon restarts (%s)",
				  error->message);
		g_warning("sandbox %s: %s", self->id, error->message);
	}
}

SbxSandbox *
sbx_sandbox_state_new_adopted(const SbxStateRecord *rec, const SbxImage *image,
			      SbxHypervisorBackend *backend, guint boot_timeout_sec)
{
	SbxCreateOptions *opts = g_new0(SbxCreateOptions, 1);
	g_autofree gchar *runtime_dir = g_path_get_dirname(rec->run_dir);
	SbxSandbox *self;

	opts->memory_mib = rec->memory_mib;
	opts->vcpus = rec->vcpus;
	opts->env = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	opts->labels = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	copy_table(opts->env, rec->env);
	copy_table(opts->labels, rec->labels);
	opts->image = g_strdup(rec->image);
	opts->timeout_sec = rec->timeout_sec;
	if (rec->allow_net != NULL) {
		g_autoptr(GError) error = NULL;
		const gchar *none[] = {NULL};
		opts->allow_net =
		    sbx_netpol_policy_new((const gchar *const *)rec->allow_net, &error);
		/* a record we cannot read back must not open the network: nothing */
		if (opts->allow_net == NULL) {
			g_warning("sandbox %s: %s; it keeps no network", rec->id, error->message);
			opts->allow_net = sbx_netpol_policy_new(none, NULL);
		}
	}

	/* its secrets, from the kernel keyring (never on disk) */
	{
		g_autoptr(GError) error = NULL;
		g_autoptr(GBytes) blob = sbx_netpol_keyring_load(rec->id, &error);
		if (blob != NULL)
			opts->secrets = sbx_netpol_secrets_deserialize(blob, &error);
		if (error != NULL && !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
			g_warning("sandbox %s: its secrets are lost: %s", rec->id, error->message);
	}
	self = sbx_sandbox_new(rec->id, opts, image, backend, runtime_dir, boot_timeout_sec);
	self->created_at = rec->created_at;
	sbx_dbus_sandbox1_set_created_at(self->iface, (guint64)rec->created_at);
	self->owner_uid = rec->owner_uid;
	self->expires_at = rec->expires_at;
	self->region = g_strdup(rec->region);
	self->backend_name = g_strdup(rec->backend);
	{
		/* the events before the restart, and the ones to come */
		g_autofree gchar *path = g_build_filename(self->run_dir, "events.log", NULL);
		sbx_event_log_set_file(self->events, path, TRUE);
	}
	sbx_event_log_add(self->events,
			  "daemon restarted: re-adopting (created %" G_GINT64_FORMAT
			  ", timeout %s)",
			  rec->created_at, rec->timeout_sec == 0 ? "session" : "duration");
	return self;
}

void
sbx_sandbox_state_crash(SbxSandbox *self, const gchar *reason)
{
	g_return_if_fail(SBX_IS_SANDBOX(self));
	if (self->state != SBX_SANDBOX_STATE_RUNNING)
		return;
	sbx_sandbox_warning(self->id, "sandbox %s crashed: %s", self->id, reason);
	self->crashed = TRUE;
	sbx_event_log_add(self->events, "crashed: %s", reason);
	/* the backend removes the console log with the VM: keep its end */
	sbx_sandbox_logs_keep_console(self);
	sbx_sandbox_destroy_async(self, reason, NULL, NULL);
}

void
sbx_sandbox_state_set_expires_at(SbxSandbox *self, gint64 expires_at)
{
	g_return_if_fail(SBX_IS_SANDBOX(self));
	g_return_if_fail(expires_at > 0);
	self->expires_at = expires_at;
	if (self->state != SBX_SANDBOX_STATE_RUNNING)
		return;
	sbx_sandbox_arm_expiry(self);
	sbx_event_log_add(self->events, "expiry set to %" G_GINT64_FORMAT, expires_at);
	sbx_sandbox_state_save(self);
}

gint64
sbx_sandbox_state_get_expires_at(SbxSandbox *self)
{
	return self->opts->timeout_sec > 0 ? self->expires_at : 0;
}

guint
sbx_sandbox_state_get_memory_mib(SbxSandbox *self)
{
	return self->opts->memory_mib;
}

guint
sbx_sandbox_state_get_vcpus(SbxSandbox *self)
{
	return self->opts->vcpus;
}

const gchar *
sbx_sandbox_state_get_region(SbxSandbox *self)
{
	return self->region;
}

SbxEventLog *
sbx_sandbox_state_get_event_log(SbxSandbox *self)
{
	return self->events;
}

gboolean
sbx_sandbox_state_is_finished(SbxSandbox *self)
{
	return self->finished;
}
