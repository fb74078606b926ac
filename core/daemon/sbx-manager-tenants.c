/* Manager1's tenant methods: a user's access tokens (CreateToken, ListTokens,
 * RevokeToken) and the gateway acting for a token's owner (OpenSandbox, the
 * "tenant-token" option). sandboxd, not the gateway, names the tenant.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include "sbx-authority.h"
#include "sbx-error.h"
#include "sbx-manager.h"
#include "sbx-sandbox-id.h"

gboolean
sbx_manager_tenants_resolve(SbxManager *self, GDBusMethodInvocation *invocation, const gchar *token,
			    guint *uid, GError **error)
{
	return sbx_token_store_resolve_call(sbx_manager_get_token_store(self), invocation, token,
					    uid, error);
}

/* a token acts for a uid: a caller the bus could not name has none */
static gboolean
caller_has_uid(GDBusMethodInvocation *invocation, guint *uid)
{
	*uid = sbx_authority_get_caller_uid(invocation);
	if (*uid == SBX_UID_NOBODY || *uid == SBX_UID_UNKNOWN) {
		g_dbus_method_invocation_return_error(invocation, SBX_ERROR,
						      SBX_ERROR_ACCESS_DENIED,
						      "tokens need a caller with a uid (the bus)");
		return FALSE;
	}
	return TRUE;
}

static gboolean
check_store(SbxManager *self, GDBusMethodInvocation *invocation)
{
	if (sbx_manager_get_token_store(self) != NULL)
		return TRUE;
	g_dbus_method_invocation_return_error(invocation, SBX_ERROR, SBX_ERROR_NOT_SUPPORTED,
					      "tokens: sandboxd has no state folder");
	return FALSE;
}

static gboolean
handle_create_token(SbxDBusManager1 *iface, GDBusMethodInvocation *invocation, const gchar *name,
		    gpointer user_data)
{
	SbxManager *self = SBX_MANAGER(user_data);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *token = NULL;
	guint uid;

	if (!caller_has_uid(invocation, &uid) || !check_store(self, invocation))
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	token = sbx_token_store_create(sbx_manager_get_token_store(self), uid, name, &error);
	if (token == NULL) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	g_info("uid %u created access token '%s'", uid, name);
	sbx_dbus_manager1_complete_create_token(iface, invocation, token);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_list_tokens(SbxDBusManager1 *iface, GDBusMethodInvocation *invocation, gpointer user_data)
{
	SbxManager *self = SBX_MANAGER(user_data);
	guint uid;

	if (!caller_has_uid(invocation, &uid) || !check_store(self, invocation))
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	sbx_dbus_manager1_complete_list_tokens(
	    iface, invocation, sbx_token_store_list(sbx_manager_get_token_store(self), uid));
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_revoke_token(SbxDBusManager1 *iface, GDBusMethodInvocation *invocation, const gchar *name,
		    gpointer user_data)
{
	SbxManager *self = SBX_MANAGER(user_data);
	g_autoptr(GError) error = NULL;
	guint uid;

	if (!caller_has_uid(invocation, &uid) || !check_store(self, invocation))
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	if (!sbx_token_store_revoke(sbx_manager_get_token_store(self), uid, name, &error)) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	g_info("uid %u revoked access token '%s'", uid, name);
	sbx_dbus_manager1_complete_revoke_token(iface, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_open_sandbox(SbxDBusManager1 *iface, GDBusMethodInvocation *invocation, const gchar *token,
		    const gchar *id, gpointer user_data)
{
	SbxManager *self = SBX_MANAGER(user_data);
	g_autoptr(GError) error = NULL;
	SbxSandbox *sandbox = NULL;
	guint uid = SBX_UID_NOBODY;

	if (!sbx_manager_tenants_resolve(self, invocation, token, &uid, &error)) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	if (sbx_sandbox_id_is_valid(id))
		sandbox = sbx_manager_lookup_sandbox(self, id);
	/* another tenant's sandbox does not exist for this one */
	if (sandbox == NULL || sbx_sandbox_get_owner_uid(sandbox) != uid ||
	    sbx_sandbox_get_state(sandbox) != SBX_SANDBOX_STATE_RUNNING) {
		g_dbus_method_invocation_return_error(invocation, SBX_ERROR, SBX_ERROR_NOT_FOUND,
						      "no sandbox '%.64s'", id);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	sbx_authority_grant(sbx_authority_get_default(), id,
			    g_dbus_method_invocation_get_sender(invocation));
	sbx_dbus_manager1_complete_open_sandbox(iface, invocation,
						sbx_sandbox_get_object_path(sandbox));
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

void
sbx_manager_tenants_connect(SbxManager *self, SbxDBusManager1 *iface)
{
	g_signal_connect(iface, "handle-create-token", G_CALLBACK(handle_create_token), self);
	g_signal_connect(iface, "handle-list-tokens", G_CALLBACK(handle_list_tokens), self);
	g_signal_connect(iface, "handle-revoke-token", G_CALLBACK(handle_revoke_token), self);
	g_signal_connect(iface, "handle-open-sandbox", G_CALLBACK(handle_open_sandbox), self);
}
