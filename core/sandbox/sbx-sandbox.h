/* one sandbox: its VM, its agent connection and its D-Bus object.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "sbx-dbus-generated.h"
#include "sbx-hypervisor-backend.h"
#include "sbx-image.h"
#include "sbx-options.h"
#include "sbx-sandbox-id.h"

G_BEGIN_DECLS

typedef enum {
	SBX_SANDBOX_STATE_STARTING,
	SBX_SANDBOX_STATE_RUNNING,
	SBX_SANDBOX_STATE_STOPPING,
	SBX_SANDBOX_STATE_STOPPED,
	/* died on its own; final like stopped, but the object is kept a while */
	SBX_SANDBOX_STATE_CRASHED,
} SbxSandboxState;

#define SBX_SANDBOX_PATH_PREFIX "/org/sandboxd/Sandbox1/"

#define SBX_TYPE_SANDBOX (sbx_sandbox_get_type())
G_DECLARE_FINAL_TYPE(SbxSandbox, sbx_sandbox, SBX, SANDBOX, GObject)

const gchar *sbx_sandbox_state_to_string(SbxSandboxState state);

/* takes @opts; @image is copied */
SbxSandbox *sbx_sandbox_new(const gchar *id, SbxCreateOptions *opts, const SbxImage *image,
			    SbxHypervisorBackend *backend, const gchar *runtime_dir,
			    guint boot_timeout_sec);

const gchar *sbx_sandbox_get_id(SbxSandbox *self);
const gchar *sbx_sandbox_get_object_path(SbxSandbox *self);
const gchar *sbx_sandbox_get_run_dir(SbxSandbox *self);
/* the snapshot it was restored from, or the one its cold boot is taking
 * (NULL: none) */
const gchar *sbx_sandbox_get_snapshot_dir(SbxSandbox *self);
SbxSandboxState sbx_sandbox_get_state(SbxSandbox *self);
SbxDBusObjectSkeleton *sbx_sandbox_get_object(SbxSandbox *self);
guint sbx_sandbox_get_owner_uid(SbxSandbox *self);
GHashTable *sbx_sandbox_get_labels(SbxSandbox *self);
const gchar *sbx_sandbox_get_owner_name(SbxSandbox *self);

/* who created it; a "session" sandbox is destroyed when @unique_name leaves
 * @connection. Call before start. */
void sbx_sandbox_set_owner(SbxSandbox *self, GDBusConnection *connection, const gchar *unique_name,
			   guint uid);

/* the volumes to attach (SbxVmDisk, already locked by the volume manager);
 * call before start */
void sbx_sandbox_set_disks(SbxSandbox *self, GPtrArray *disks);
void sbx_sandbox_set_snapshots(SbxSandbox *self, gpointer store);
/* the manager's pool (SbxPool): told about the snapshot kinds in use */
void sbx_sandbox_set_pool(SbxSandbox *self, gpointer pool);
/* a pooled VM (SbxPoolEntry, taken): the sandbox's id must be the entry's;
 * the start sends IDENTITY to it instead of restoring */
void sbx_sandbox_set_pool_entry(SbxSandbox *self, gpointer entry);
/* what a start would ask the backend for (no id, no run folder): the
 * manager's pool lookup keys on it */
SbxVmSpec *sbx_sandbox_spec_new(const SbxImage *image, const SbxCreateOptions *opts,
				const gchar *guest_limits_cmdline, GError **error);
/* the kernel command line words of [limits] Guest* */
gchar *sbx_sandbox_guest_limits_new(guint pids_max, guint mem_reserve_mib, guint child_nice);
void sbx_sandbox_set_guest_limits(SbxSandbox *self, guint pids_max, guint mem_reserve_mib,
				  guint child_nice);
/* whether the guest's first disk (vda) is the image's root disk */
gboolean sbx_sandbox_has_root_disk(SbxSandbox *self);

/* boots the VM and waits for the agent's handshake; on failure everything
 * is cleaned up and the sandbox is stopped ("gone" is emitted) */
void sbx_sandbox_start_async(SbxSandbox *self, GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_sandbox_start_finish(SbxSandbox *self, GAsyncResult *res, GError **error);

/* stops everything and removes every file; safe to call in any state and
 * more than once. Completes when the sandbox is stopped. */
void sbx_sandbox_destroy_async(SbxSandbox *self, const gchar *reason, GAsyncReadyCallback callback,
			       gpointer user_data);
gboolean sbx_sandbox_destroy_finish(SbxSandbox *self, GAsyncResult *res, GError **error);

/* sbx-sandbox-lifetime.c. Call before start; defaults: those of [daemon]
 * MaxLifetimeSec, ExtendStepSec and ExpiryGraceSec */
void sbx_sandbox_lifetime_set_limits(SbxSandbox *self, guint max_lifetime_sec,
				     guint extend_step_sec, guint expiry_grace_sec);
void sbx_sandbox_lifetime_set_region(SbxSandbox *self, const gchar *region);
/* why it was destroyed, once it is stopping; NULL before */
const gchar *sbx_sandbox_lifetime_get_destroy_reason(SbxSandbox *self);

/* signal "gone": the sandbox is stopped (or crashed) and its files removed;
 * signal "dismissed": Kill on a crashed sandbox: drop it now */

/* sbx-sandbox-state.c: durability and observability */
#include "sbx-event-log.h"
#include "sbx-state-store.h"

/* the sandbox writes its record to @store once running, on changes, and
 * removes it when destroyed */
void sbx_sandbox_state_set_store(SbxSandbox *self, SbxStateStore *store, const gchar *backend_name);
/* writes the record now (queued): call after changing anything it holds,
 * e.g. the expiry */
void sbx_sandbox_state_save(SbxSandbox *self);
SbxStateRecord *sbx_sandbox_state_to_record(SbxSandbox *self);
/* a sandbox whose VM survived a daemon restart; start it with
 * sbx_sandbox_adopt_async(), which reconnects to its agent */
SbxSandbox *sbx_sandbox_state_new_adopted(const SbxStateRecord *rec, const SbxImage *image,
					  SbxHypervisorBackend *backend, guint boot_timeout_sec);
void sbx_sandbox_adopt_async(SbxSandbox *self, GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_sandbox_adopt_finish(SbxSandbox *self, GAsyncResult *res, GError **error);
/* the VM died or the agent hung up without us asking: State becomes
 * "crashed" and everything is cleaned up */
void sbx_sandbox_state_crash(SbxSandbox *self, const gchar *reason);
/* sets ExpiresAt (µs since the epoch, > 0), re-arms the expiry timer and
 * saves the record; for duration sandboxes */
void sbx_sandbox_state_set_expires_at(SbxSandbox *self, gint64 expires_at);
gint64 sbx_sandbox_state_get_expires_at(SbxSandbox *self);
guint sbx_sandbox_state_get_memory_mib(SbxSandbox *self);
guint sbx_sandbox_state_get_vcpus(SbxSandbox *self);
/* NULL when regions are not in use */
const gchar *sbx_sandbox_state_get_region(SbxSandbox *self);
SbxEventLog *sbx_sandbox_state_get_event_log(SbxSandbox *self);
/* stopped or crashed, and cleaned up */
gboolean sbx_sandbox_state_is_finished(SbxSandbox *self);

G_END_DECLS
