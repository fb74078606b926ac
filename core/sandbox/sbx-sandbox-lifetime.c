/* a sandbox's lifetime: Close, ExtendTimeout, what expiry does, and who may
 * call its methods.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <signal.h>

#include "sbx-authority.h"
#include "sbx-error.h"
#include "sbx-log.h"
#include "sbx-sandbox-private.h"

/* the built-in defaults of [daemon] MaxLifetimeSec, ExtendStepSec, ExpiryGraceSec */
#define SBX_DEFAULT_MAX_LIFETIME_SEC 1800
#define SBX_DEFAULT_EXTEND_STEP_SEC 1800
#define SBX_DEFAULT_EXPIRY_GRACE_SEC 10

void
sbx_sandbox_lifetime_set_limits(SbxSandbox *self, guint max_lifetime_sec, guint extend_step_sec,
				guint expiry_grace_sec)
{
	g_return_if_fail(SBX_IS_SANDBOX(self));
	self->max_lifetime_sec = MAX(max_lifetime_sec, 1);
	self->extend_step_sec = MAX(extend_step_sec, 1);
	self->expiry_grace_sec = expiry_grace_sec;
}

void
sbx_sandbox_lifetime_set_region(SbxSandbox *self, const gchar *region)
{
	g_return_if_fail(SBX_IS_SANDBOX(self));
	g_free(self->region);
	self->region = g_strdup(region);
	sbx_dbus_sandbox1_set_region(self->iface, region != NULL ? region : "");
}

const gchar *
sbx_sandbox_lifetime_get_destroy_reason(SbxSandbox *self)
{
	return self->destroy_reason;
}

/* --- Close -------------------------------------------------------------- */

static void
on_close_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	GDBusMethodInvocation *invocation = user_data;
	SbxSandbox *self = SBX_SANDBOX(source);
	g_autoptr(GError) error = NULL;

	if (!sbx_sandbox_destroy_finish(self, res, &error)) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return;
	}
	sbx_dbus_sandbox1_complete_close(self->iface, invocation);
}

static gboolean
handle_close(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, gpointer user_data)
{
	SbxSandbox *self = SBX_SANDBOX(user_data);
	const gchar *sender = g_dbus_method_invocation_get_sender(invocation);

	/* only the session's own client holds a session sandbox */
	if (self->opts->timeout_sec == 0 && self->owner_name != NULL &&
	    g_strcmp0(sender, self->owner_name) == 0 && self->state < SBX_SANDBOX_STATE_STOPPING) {
		sbx_sandbox_info(self->id, "sandbox %s: closed by its client %s", self->id, sender);
		sbx_sandbox_destroy_async(self, "its client closed it", on_close_done, invocation);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	sbx_dbus_sandbox1_complete_close(iface, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* --- ExtendTimeout ------------------------------------------------------ */

static gboolean
handle_extend_timeout(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, guint seconds,
		      gpointer user_data)
{
	SbxSandbox *self = SBX_SANDBOX(user_data);
	gint64 now = g_get_real_time();
	gint64 cap = now + (gint64)self->max_lifetime_sec * G_USEC_PER_SEC;
	gint64 expires_at;

	if (seconds == 0) {
		g_dbus_method_invocation_return_error(invocation, SBX_ERROR,
						      SBX_ERROR_INVALID_ARGUMENT,
						      "seconds: must be at least 1");
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	if (self->opts->timeout_sec == 0) {
		g_dbus_method_invocation_return_error(
		    invocation, SBX_ERROR, SBX_ERROR_NOT_SUPPORTED,
		    "sandbox %s is session-bound: it lives as long as the client that created it "
		    "and has no expiry to extend (create it with a \"timeout\" duration)",
		    self->id);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	if (self->state != SBX_SANDBOX_STATE_RUNNING || self->expiring) {
		g_dbus_method_invocation_return_error(
		    invocation, SBX_ERROR, SBX_ERROR_NOT_RUNNING, "sandbox %s is %s", self->id,
		    self->expiring ? "expiring already" : sbx_sandbox_state_to_string(self->state));
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	/* at most one step per call, and never more than the max lifetime ahead */
	expires_at = MAX(self->expires_at, now) +
		     (gint64)MIN(seconds, self->extend_step_sec) * G_USEC_PER_SEC;
	expires_at = MIN(expires_at, cap);
	/* a config that shrank since leaves a longer expiry alone */
	expires_at = MAX(expires_at, self->expires_at);
	if (expires_at != self->expires_at) {
		sbx_sandbox_info(self->id, "sandbox %s: expiry extended by %" G_GINT64_FORMAT " s",
				 self->id, (expires_at - self->expires_at) / G_USEC_PER_SEC);
		sbx_sandbox_state_set_expires_at(self, expires_at);
	}
	sbx_dbus_sandbox1_complete_extend_timeout(iface, invocation, (guint64)expires_at);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* --- expiry ------------------------------------------------------------- */

static gboolean
on_grace_over(gpointer user_data)
{
	SbxSandbox *self = SBX_SANDBOX(user_data);
	self->grace_id = 0;
	sbx_sandbox_destroy_async(self, "its lifetime is over", NULL, NULL);
	return G_SOURCE_REMOVE;
}

void
sbx_sandbox_lifetime_expired(SbxSandbox *self)
{
	guint n = 0;

	if (self->state != SBX_SANDBOX_STATE_RUNNING || self->expiring)
		return;
	self->expiring = TRUE;
	sbx_dbus_sandbox1_emit_expiring(self->iface, self->expiry_grace_sec);
	if (self->expiry_grace_sec == 0 || self->agent == NULL) {
		sbx_sandbox_info(self->id, "sandbox %s expired", self->id);
		sbx_sandbox_destroy_async(self, "its lifetime is over", NULL, NULL);
		return;
	}
	/* every process the agent started, as a group; the VM goes after the grace */
	n = sbx_agent_client_signal_all(self->agent, SIGTERM);
	sbx_sandbox_info(self->id, "sandbox %s expired: SIGTERM to %u processes, destroyed in %u s",
			 self->id, n, self->expiry_grace_sec);
	self->grace_id = g_timeout_add_seconds(self->expiry_grace_sec, on_grace_over, self);
}

void
sbx_sandbox_lifetime_stop(SbxSandbox *self)
{
	g_clear_handle_id(&self->grace_id, g_source_remove);
}

/* --- ownership ---------------------------------------------------------- */

/* the owner is known (set_owner, or a re-adopted record) before it runs */
static void
on_state_notify(GObject *object, GParamSpec *pspec, gpointer user_data)
{
	SbxSandbox *self = SBX_SANDBOX(user_data);
	if (sbx_dbus_sandbox1_get_owner_uid(self->iface) != self->owner_uid)
		sbx_dbus_sandbox1_set_owner_uid(self->iface, self->owner_uid);
}

void
sbx_sandbox_lifetime_setup(SbxSandbox *self)
{
	self->max_lifetime_sec = SBX_DEFAULT_MAX_LIFETIME_SEC;
	self->extend_step_sec = SBX_DEFAULT_EXTEND_STEP_SEC;
	self->expiry_grace_sec = SBX_DEFAULT_EXPIRY_GRACE_SEC;
	g_signal_connect_object(self->iface, "handle-close", G_CALLBACK(handle_close), self, 0);
	g_signal_connect_object(self->iface, "handle-extend-timeout",
				G_CALLBACK(handle_extend_timeout), self, 0);
	g_signal_connect_object(self->iface, "notify::state", G_CALLBACK(on_state_notify), self, 0);
	/* every method of every interface on this object, now and later */
	sbx_authority_guard_sandbox_object(sbx_authority_get_default(),
					   G_DBUS_OBJECT_SKELETON(self->object));
}
