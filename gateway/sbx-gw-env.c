/* env.get/set/delete/toObject onto the sandbox environment sandboxd keeps.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "sbx-gw-call.h"

static void
get_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwCall *call = data;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *value = NULL;

	if (!sbx_dbus_sandbox1_call_get_env_finish(SBX_DBUS_SANDBOX1(source), &value, res,
						   &error)) {
		g_autofree gchar *remote = g_dbus_error_get_remote_error(error);
		/* unset: the SDK wants undefined, not an error */
		if (g_strcmp0(remote, "org.sandboxd.Error.NotFound") == 0)
			sbx_gw_call_return(call, NULL);
		else
			sbx_gw_call_return_error(call, error);
		return;
	}
	sbx_gw_call_return(call, json_node_init_string(json_node_alloc(), value));
}

void
sbx_gw_env_get(SbxGwCall *call)
{
	g_autoptr(GError) error = NULL;
	const gchar *key = NULL;

	if (!sbx_gw_rpc_get_string(call->params, "key", TRUE, &key, &error)) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	sbx_dbus_sandbox1_call_get_env(call->conn->sandbox->proxy, key, NULL, get_ready, call);
}

void
sbx_gw_env_set(SbxGwCall *call)
{
	g_autoptr(GError) error = NULL;
	const gchar *key = NULL;
	const gchar *value = NULL;

	if (!sbx_gw_rpc_get_string(call->params, "key", TRUE, &key, &error) ||
	    !sbx_gw_rpc_get_string(call->params, "value", TRUE, &value, &error)) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	g_dbus_proxy_call(G_DBUS_PROXY(call->conn->sandbox->proxy), "SetEnv",
			  g_variant_new("(ss)", key, value), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
			  sbx_gw_call_void_ready, call);
}

void
sbx_gw_env_delete(SbxGwCall *call)
{
	g_autoptr(GError) error = NULL;
	const gchar *key = NULL;

	if (!sbx_gw_rpc_get_string(call->params, "key", TRUE, &key, &error)) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	g_dbus_proxy_call(G_DBUS_PROXY(call->conn->sandbox->proxy), "UnsetEnv",
			  g_variant_new("(s)", key), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
			  sbx_gw_call_void_ready, call);
}

static void
environment_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwCall *call = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) env = NULL;
	JsonObject *obj;
	GVariantIter iter;
	const gchar *k;
	const gchar *v;

	if (!sbx_dbus_sandbox1_call_get_environment_finish(SBX_DBUS_SANDBOX1(source), &env, res,
							   &error)) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	obj = json_object_new();
	g_variant_iter_init(&iter, env);
	while (g_variant_iter_next(&iter, "{&s&s}", &k, &v))
		json_object_set_string_member(obj, k, v);
	sbx_gw_call_return(call, json_node_init_object(json_node_alloc(), obj));
	json_object_unref(obj);
}

void
sbx_gw_env_to_object(SbxGwCall *call)
{
	sbx_dbus_sandbox1_call_get_environment(call->conn->sandbox->proxy, NULL, environment_ready,
					       call);
}
