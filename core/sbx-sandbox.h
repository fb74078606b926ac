/* one sandbox: its VM, its agent connection and its D-Bus object.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "sbx-dbus-generated.h"
#include "sbx-hypervisor-backend.h"
#include "sbx-image.h"
#include "sbx-options.h"

G_BEGIN_DECLS

typedef enum {
	SBX_SANDBOX_STATE_STARTING,
	SBX_SANDBOX_STATE_RUNNING,
	SBX_SANDBOX_STATE_STOPPING,
	SBX_SANDBOX_STATE_STOPPED,
} SbxSandboxState;

#define SBX_SANDBOX_ID_PREFIX "sbx"
#define SBX_SANDBOX_ID_RANDOM_LEN 13
#define SBX_SANDBOX_PATH_PREFIX "/org/sandboxd/Sandbox1/"

#define SBX_TYPE_SANDBOX (sbx_sandbox_get_type())
G_DECLARE_FINAL_TYPE(SbxSandbox, sbx_sandbox, SBX, SANDBOX, GObject)

/* "sbx" + 13 random [a-z0-9] */
gchar *sbx_sandbox_make_id(void);
gboolean sbx_sandbox_id_is_valid(const gchar *id);
const gchar *sbx_sandbox_state_to_string(SbxSandboxState state);

/* takes @opts; @image is copied */
SbxSandbox *sbx_sandbox_new(const gchar *id, SbxCreateOptions *opts, const SbxImage *image,
			    SbxHypervisorBackend *backend, const gchar *runtime_dir,
			    guint boot_timeout_sec);

const gchar *sbx_sandbox_get_id(SbxSandbox *self);
const gchar *sbx_sandbox_get_object_path(SbxSandbox *self);
const gchar *sbx_sandbox_get_run_dir(SbxSandbox *self);
SbxSandboxState sbx_sandbox_get_state(SbxSandbox *self);
SbxDBusObjectSkeleton *sbx_sandbox_get_object(SbxSandbox *self);
guint sbx_sandbox_get_owner_uid(SbxSandbox *self);
const gchar *sbx_sandbox_get_owner_name(SbxSandbox *self);

/* who created it; a "session" sandbox is destroyed when @unique_name leaves
 * @connection. Call before start. */
void sbx_sandbox_set_owner(SbxSandbox *self, GDBusConnection *connection, const gchar *unique_name,
			   guint uid);

/* the volumes to attach (SbxVmDisk, already locked by the volume manager);
 * call before start */
void sbx_sandbox_set_disks(SbxSandbox *self, GPtrArray *disks);
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

/* signal "gone": the sandbox is stopped and its files removed */

G_END_DECLS
