/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sandboxd"

#include "sbx-netpol-egress.h"
#include "sbx-netpol-firewall.h"
#include "sbx-netpol-nft.h"
#include "sbx-netpol-range.h"
#include "sbx-netpol-ruleset.h"

struct _SbxNetpolFirewall {
	GObject parent_instance;
	gchar *table;
	GPtrArray *blocked4; /* from BlockedRanges */
	GPtrArray *blocked6;
	GPtrArray *zones;      /* SbxNetpolZone */
	GHashTable *sandboxes; /* id -> IPv4 address, sandboxes with rules of their own */
	gboolean installed;    /* the table exists */
	gboolean active;       /* guests may get a NIC */
	gchar *failure;
	SbxNetpolEgress *egress; /* the proxy for host names */
	guint16 egress_port;
	guint16 dns_port;
};

G_DEFINE_TYPE(SbxNetpolFirewall, sbx_netpol_firewall, G_TYPE_OBJECT)

static SbxNetpolFirewall *default_firewall;

static const SbxConfigKey config_keys[] = {
    {"Table", SBX_CONFIG_STRING},
    {"BlockedRanges", SBX_CONFIG_STRING},
    {"EgressProgram", SBX_CONFIG_PATH},
    /* the proxy as a service of its own: connect here instead of spawning */
    {"EgressSocket", SBX_CONFIG_PATH},
    {"EgressUser", SBX_CONFIG_STRING},
    {"EgressPort", SBX_CONFIG_UINT, 1, 65535},
    {"EgressDnsPort", SBX_CONFIG_UINT, 1, 65535},
    /* tests only: the proxy resolves these names from this table
     * ("name=address ..."), not from DNS */
    {"EgressResolve", SBX_CONFIG_STRING},
    /* secrets: intercepted upstreams are checked against these CAs (PEM)
     * instead of the host's store; a lab's own CA, or the tests' */
    {"EgressUpstreamCA", SBX_CONFIG_PATH},
    /* a proxied connection with no traffic for this long is closed (0: never) */
    {"EgressIdleTimeout", SBX_CONFIG_UINT, 0, 86400},
    {NULL},
};

const SbxConfigKey *
sbx_netpol_firewall_get_config_keys(void)
{
	return config_keys;
}

static void
sbx_netpol_firewall_finalize(GObject *object)
{
	SbxNetpolFirewall *self = SBX_NETPOL_FIREWALL(object);

	g_free(self->table);
	g_clear_pointer(&self->blocked4, g_ptr_array_unref);
	g_clear_pointer(&self->blocked6, g_ptr_array_unref);
	g_ptr_array_unref(self->zones);
	g_hash_table_unref(self->sandboxes);
	g_free(self->failure);
	g_clear_object(&self->egress);
	G_OBJECT_CLASS(sbx_netpol_firewall_parent_class)->finalize(object);
}

static void
sbx_netpol_firewall_class_init(SbxNetpolFirewallClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = sbx_netpol_firewall_finalize;
}

static void
sbx_netpol_firewall_init(SbxNetpolFirewall *self)
{
	self->zones = g_ptr_array_new_with_free_func((GDestroyNotify)sbx_netpol_ruleset_zone_free);
	self->failure = g_strdup("the firewall has not been installed yet");
	self->sandboxes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

SbxNetpolFirewall *
sbx_netpol_firewall_new(GKeyFile *config, GError **error)
{
	g_autoptr(SbxNetpolFirewall) self = g_object_new(SBX_TYPE_NETPOL_FIREWALL, NULL);
	g_autofree gchar *table = NULL;
	g_autofree gchar *blocked = NULL;

	if (config != NULL) {
		table = g_key_file_get_string(config, SBX_NETPOL_SECTION, "Table", NULL);
		blocked = g_key_file_get_string(config, SBX_NETPOL_SECTION, "BlockedRanges", NULL);
	}
	self->table = table != NULL ? g_strstrip(g_steal_pointer(&table))
				    : g_strdup(SBX_NETPOL_TABLE_DEFAULT);
	if (!sbx_netpol_ruleset_table_is_valid(self->table)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "[network] Table: '%s' is not a valid nftables table name "
			    "([A-Za-z0-9_], 1-32 bytes)",
			    self->table);
		return NULL;
	}
	/* an empty BlockedRanges= is a choice (a lab network), not a mistake */
	if (!sbx_netpol_range_parse_list(blocked != NULL ? blocked
							 : SBX_NETPOL_RANGE_BLOCKED_DEFAULT,
					 &self->blocked4, &self->blocked6, error)) {
		g_prefix_error(error, "[network] BlockedRanges: ");
		return NULL;
	}
	{
		g_auto(GStrv) argv = sbx_netpol_egress_build_argv(
		    config, self->blocked4, &self->egress_port, &self->dns_port, error);
		g_autofree gchar *socket_path =
		    config != NULL
			? g_key_file_get_string(config, SBX_NETPOL_SECTION, "EgressSocket", NULL)
			: NULL;
		if (argv == NULL)
			return NULL;
		self->egress = socket_path != NULL
				   ? sbx_netpol_egress_new_for_socket(g_strstrip(socket_path))
				   : sbx_netpol_egress_new(argv);
	}
	return g_steal_pointer(&self);
}

static gboolean
same_ranges(GPtrArray *a, GPtrArray *b)
{
	if (a->len != b->len)
		return FALSE;
	for (guint i = 0; i < a->len; i++) {
		if (!g_ptr_array_find_with_equal_func(b, g_ptr_array_index(a, i), g_str_equal,
						      NULL))
			return FALSE;
	}
	return TRUE;
}

gboolean
sbx_netpol_firewall_add_bridge_with_ranges(SbxNetpolFirewall *self, const gchar *bridge,
					   const gchar *blocked, GError **error)
{
	g_autoptr(GPtrArray) v4 = NULL;
	g_autoptr(GPtrArray) v6 = NULL;

	g_return_val_if_fail(SBX_IS_NETPOL_FIREWALL(self), FALSE);

	if (!sbx_netpol_ruleset_ifname_is_valid(bridge)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "'%s' is not a valid bridge name", bridge != NULL ? bridge : "");
		return FALSE;
	}
	if (blocked == NULL) {
		v4 = g_ptr_array_ref(self->blocked4);
		v6 = g_ptr_array_ref(self->blocked6);
	} else if (!sbx_netpol_range_parse_list(blocked, &v4, &v6, error)) {
		g_prefix_error(error, "BlockedRanges: ");
		return FALSE;
	}
	for (guint i = 0; i < self->zones->len; i++) {
		SbxNetpolZone *zone = g_ptr_array_index(self->zones, i);
		if (g_strcmp0(zone->bridge, bridge) != 0)
			continue;
		if (same_ranges(zone->blocked4, v4) && same_ranges(zone->blocked6, v6))
			return TRUE;
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "bridge %s: regions sharing it have different BlockedRanges", bridge);
		return FALSE;
	}
	g_ptr_array_add(self->zones, sbx_netpol_ruleset_zone_new(bridge, v4, v6));
	sbx_netpol_egress_add_blocked(self->egress, v4);
	return TRUE;
}

gboolean
sbx_netpol_firewall_add_bridge(SbxNetpolFirewall *self, const gchar *bridge, GError **error)
{
	return sbx_netpol_firewall_add_bridge_with_ranges(self, bridge, NULL, error);
}

gboolean
sbx_netpol_firewall_has_bridge(SbxNetpolFirewall *self, const gchar *bridge)
{
	g_return_val_if_fail(SBX_IS_NETPOL_FIREWALL(self), FALSE);
	for (guint i = 0; i < self->zones->len; i++) {
		SbxNetpolZone *zone = g_ptr_array_index(self->zones, i);
		if (g_strcmp0(zone->bridge, bridge) == 0)
			return TRUE;
	}
	return FALSE;
}

static void
set_failure(SbxNetpolFirewall *self, const gchar *failure)
{
	g_free(self->failure);
	self->failure = g_strdup(failure);
	self->active = failure == NULL;
}

static void
on_installed(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	SbxNetpolFirewall *self = g_task_get_source_object(task);
	GError *error = NULL;

	if (!sbx_netpol_nft_run_finish(res, &error)) {
		set_failure(self, error->message);
		g_task_return_error(task, error);
		return;
	}
	self->installed = TRUE;
	/* a new table has no sandbox rules */
	g_hash_table_remove_all(self->sandboxes);
	set_failure(self, NULL);
	/* without the proxy, sandboxes with host names fail to start (closed);
	 * the others do not need it */
	if (!sbx_netpol_egress_is_running(self->egress) &&
	    !sbx_netpol_egress_start(self->egress, &error)) {
		g_warning("network: cannot start sandboxd-egress: %s; sandboxes with host names "
			  "in allow_net cannot start",
			  error->message);
		g_clear_error(&error);
	}
	g_task_return_boolean(task, TRUE);
}

void
sbx_netpol_firewall_start_async(SbxNetpolFirewall *self, GCancellable *cancellable,
				GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(self, cancellable, callback, user_data);
	g_autofree gchar *script = NULL;
	GError *error = NULL;

	g_return_if_fail(SBX_IS_NETPOL_FIREWALL(self));
	g_task_set_source_tag(task, sbx_netpol_firewall_start_async);
	/* no bridge, no guest NIC to isolate (the test backend, Network=none):
	 * nothing to install, and no table of anybody else's to replace */
	if (self->zones->len == 0) {
		set_failure(self, NULL);
		g_task_return_boolean(task, TRUE);
		return;
	}
	script = sbx_netpol_ruleset_build(self->table, self->zones, &error);
	if (script == NULL) {
		set_failure(self, error->message);
		g_task_return_error(task, error);
		return;
	}
	sbx_netpol_nft_run_async(script, FALSE, cancellable, on_installed, g_steal_pointer(&task));
}

gboolean
sbx_netpol_firewall_start_finish(SbxNetpolFirewall *self, GAsyncResult *res, GError **error)
{
	return g_task_propagate_boolean(G_TASK(res), error);
}

gboolean
sbx_netpol_firewall_stop(SbxNetpolFirewall *self, GError **error)
{
	g_autofree gchar *script = NULL;

	g_return_val_if_fail(SBX_IS_NETPOL_FIREWALL(self), FALSE);
	set_failure(self, "the firewall was removed (daemon stopping)");
	sbx_netpol_egress_stop(self->egress);
	if (!self->installed)
		return TRUE;
	self->installed = FALSE;
	script = sbx_netpol_ruleset_build_delete(self->table);
	return sbx_netpol_nft_run_sync(script, FALSE, error);
}

gboolean
sbx_netpol_firewall_is_active(SbxNetpolFirewall *self)
{
	return self != NULL && self->active;
}

const gchar *
sbx_netpol_firewall_get_failure(SbxNetpolFirewall *self)
{
	if (self == NULL)
		return "no firewall is configured";
	return self->failure;
}

const gchar *
sbx_netpol_firewall_get_table(SbxNetpolFirewall *self)
{
	return self->table;
}

SbxNetpolEgress *
sbx_netpol_firewall_get_egress(SbxNetpolFirewall *self)
{
	return self->egress;
}

SbxNetpolFirewall *
sbx_netpol_firewall_get_default(void)
{
	return default_firewall;
}

void
sbx_netpol_firewall_set_default(SbxNetpolFirewall *firewall)
{
	g_set_object(&default_firewall, firewall);
}

static void
on_sandbox_added(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	GError *error = NULL;

	if (!sbx_netpol_nft_run_finish(res, &error)) {
		g_task_return_error(task, error);
		return;
	}
	g_task_return_boolean(task, TRUE);
}

void
sbx_netpol_firewall_add_sandbox_async(SbxNetpolFirewall *self, const gchar *id, const gchar *ip,
				      const SbxNetpolPolicy *policy, SbxNetpolSecrets *secrets,
				      GCancellable *cancellable, GAsyncReadyCallback callback,
				      gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(self, cancellable, callback, user_data);
	g_autofree gchar *script = NULL;
	GError *error = NULL;

	g_return_if_fail(SBX_IS_NETPOL_FIREWALL(self));
	g_task_set_source_tag(task, sbx_netpol_firewall_add_sandbox_async);
	if (!self->installed) {
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
					"the firewall is not installed: %s",
					sbx_netpol_firewall_get_failure(self));
		return;
	}
	if (policy == NULL || sbx_netpol_egress_policy_has_names(policy)) {
		if (!sbx_netpol_egress_is_running(self->egress)) {
			g_task_return_new_error(
			    task, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
			    "host names and secrets need sandboxd-egress, which "
			    "is not running");
			return;
		}
		/* the proxy knows the sandbox before its traffic can reach it */
		sbx_netpol_egress_set(self->egress, id, ip, policy, secrets);
	}
	script = policy != NULL
		     ? sbx_netpol_ruleset_build_sandbox(self->table, id, ip, policy,
							self->egress_port, self->dns_port, &error)
		     : sbx_netpol_ruleset_build_sandbox_open(self->table, id, ip, self->egress_port,
							     &error);
	if (script == NULL) {
		sbx_netpol_egress_forget(self->egress, id);
		g_task_return_error(task, error);
		return;
	}
	g_hash_table_replace(self->sandboxes, g_strdup(id), g_strdup(ip));
	sbx_netpol_nft_run_async(script, FALSE, cancellable, on_sandbox_added,
				 g_steal_pointer(&task));
}

gboolean
sbx_netpol_firewall_add_sandbox_finish(SbxNetpolFirewall *self, GAsyncResult *res, GError **error)
{
	return g_task_propagate_boolean(G_TASK(res), error);
}

static void
on_sandbox_removed(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autofree gchar *id = user_data;
	g_autoptr(GError) error = NULL;

	if (!sbx_netpol_nft_run_finish(res, &error))
		g_warning("network: cannot remove the rules of sandbox %s: %s", id, error->message);
}

void
sbx_netpol_firewall_remove_sandbox(SbxNetpolFirewall *self, const gchar *id)
{
	g_autofree gchar *ip = NULL;
	g_autofree gchar *script = NULL;
	g_autofree gchar *key = NULL;

	g_return_if_fail(SBX_IS_NETPOL_FIREWALL(self));
	sbx_netpol_egress_forget(self->egress, id);
	if (!g_hash_table_steal_extended(self->sandboxes, id, (gpointer *)&key, (gpointer *)&ip) ||
	    !self->installed)
		return;
	script = sbx_netpol_ruleset_build_sandbox_delete(self->table, id, ip, NULL);
	if (script != NULL)
		sbx_netpol_nft_run_async(script, FALSE, NULL, on_sandbox_removed, g_strdup(id));
}
