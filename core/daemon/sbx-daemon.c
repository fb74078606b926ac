/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <errno.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "sbx-authority.h"
#include "sbx-config-region.h"
#include "sbx-config.h"
#include "sbx-daemon.h"
#include "sbx-error.h"
#include "sbx-hypervisor-backend.h"
#include "sbx-manager.h"
#include "sbx-netpol-firewall.h"
#include "sbx-plugin-loader.h"
#include "sbx-region.h"
#include "sbx-state-store.h"
#include "sbx-volume-manager.h"

struct _SbxDaemon {
	GObject parent_instance;
	gboolean session;
	gchar *address;
	gchar *config_dir;
	gchar *plugin_dir;
	gchar *runtime_dir;
	gchar *state_dir;

	SbxPluginLoader *loader;
	SbxConfig *config;
	GPtrArray *regions; /* of SbxRegion */
	SbxVolumeManager *volumes;
	SbxNetpolFirewall *firewall;
	SbxStateStore *store;
	SbxManager *manager;
	GDBusConnection *connection;
	GMainLoop *loop;
	guint name_id;
	guint sigterm_id;
	guint sigint_id;
	gboolean name_acquired;
	gboolean stopping;
	gint exit_code;
};

G_DEFINE_TYPE(SbxDaemon, sbx_daemon, G_TYPE_OBJECT)

static void
sbx_daemon_finalize(GObject *object)
{
	SbxDaemon *self = SBX_DAEMON(object);

	if (self->sigterm_id != 0)
		g_source_remove(self->sigterm_id);
	if (self->sigint_id != 0)
		g_source_remove(self->sigint_id);
	if (self->name_id != 0)
		g_bus_unown_name(self->name_id);
	if (self->connection != NULL)
		g_signal_handlers_disconnect_by_data(self->connection, self);
	g_clear_object(&self->manager);
	g_clear_object(&self->connection);
	g_clear_pointer(&self->loop, g_main_loop_unref);
	g_clear_object(&self->store);
	g_clear_object(&self->volumes);
	if (self->firewall != NULL && sbx_netpol_firewall_get_default() == self->firewall)
		sbx_netpol_firewall_set_default(NULL);
	g_clear_object(&self->firewall);
	g_clear_pointer(&self->regions, g_ptr_array_unref);
	g_clear_object(&self->config);
	g_clear_object(&self->loader);
	g_free(self->address);
	g_free(self->config_dir);
	g_free(self->plugin_dir);
	g_free(self->runtime_dir);
	g_free(self->state_dir);
	G_OBJECT_CLASS(sbx_daemon_parent_class)->finalize(object);
}

static void
sbx_daemon_class_init(SbxDaemonClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = sbx_daemon_finalize;
}

static void
sbx_daemon_init(SbxDaemon *self)
{
}

SbxDaemon *
sbx_daemon_new(const SbxDaemonOptions *options)
{
	SbxDaemon *self = g_object_new(SBX_TYPE_DAEMON, NULL);
	const gchar *plugin_dir = options->plugin_dir;

	if (plugin_dir == NULL)
		plugin_dir = g_getenv(SBX_DAEMON_PLUGIN_DIR_ENV);
	if (plugin_dir == NULL || plugin_dir[0] == '\0')
		plugin_dir = SBX_PLUGINDIR;
	self->session = options->session;
	self->address = g_strdup(options->address);
	self->config_dir =
	    g_strdup(options->config_dir != NULL ? options->config_dir : SBX_SYSCONFDIR);
	self->plugin_dir = g_strdup(plugin_dir);
	self->runtime_dir = g_strdup(options->runtime_dir);
	self->state_dir = g_strdup(options->state_dir);
	return self;
}

/* plugins first: their config sections are known before the config is read */
static gboolean
load_plugins_and_config(SbxDaemon *self, GError **error)
{
	GPtrArray *plugins;

	self->loader = sbx_plugin_loader_new();
	if (!sbx_plugin_loader_load_dir(self->loader, self->plugin_dir, error))
		return FALSE;
	self->config = sbx_config_new();
	plugins = sbx_plugin_loader_get_plugins(self->loader);
	for (guint i = 0; i < plugins->len; i++) {
		const SbxPlugin *plugin = g_ptr_array_index(plugins, i);
		sbx_config_add_section(self->config, plugin->name,
				       sbx_plugin_loader_get_config_keys(plugin));
	}
	sbx_config_add_section(self->config, SBX_NETPOL_SECTION,
			       sbx_netpol_firewall_get_config_keys());
	return sbx_config_load_dir(self->config, self->config_dir, error);
}

static void
on_firewall_started(GObject *source, GAsyncResult *res, gpointer user_data)
{
	SbxNetpolFirewall *firewall = SBX_NETPOL_FIREWALL(source);
	g_autoptr(GError) error = NULL;

	if (!sbx_netpol_firewall_start_finish(firewall, res, &error))
		g_warning("network: cannot install the isolation rules (nftables table inet %s): "
			  "%s; sandboxes get no network until this is fixed and sandboxd restarted",
			  sbx_netpol_firewall_get_table(firewall), error->message);
	*(gboolean *)user_data = TRUE;
}

/* every region's bridge gets the isolation rules before any guest gets a NIC;
 * rules that cannot be installed leave sandboxes without network (fail closed) */
static gboolean
setup_firewall(SbxDaemon *self, GError **error)
{
	gboolean done = FALSE;

	self->firewall = sbx_netpol_firewall_new(sbx_config_get_keyfile(self->config), error);
	if (self->firewall == NULL)
		return FALSE;
	for (guint i = 0; i < self->regions->len; i++) {
		SbxRegion *region = g_ptr_array_index(self->regions, i);
		const gchar *bridge = sbx_hypervisor_backend_get_network_bridge(region->backend);
		g_autofree gchar *group =
		    g_strconcat(SBX_REGION_SECTION_PREFIX, region->name, NULL);
		g_autofree gchar *blocked = g_key_file_get_string(
		    sbx_config_get_keyfile(self->config), group, "BlockedRanges", NULL);
		if (bridge != NULL && !sbx_netpol_firewall_add_bridge_with_ranges(
					  self->firewall, bridge, blocked, error)) {
			g_prefix_error(error, "region %s: ", region->name);
			return FALSE;
		}
	}
	sbx_netpol_firewall_start_async(self->firewall, NULL, on_firewall_started, &done);
	while (!done)
		g_main_context_iteration(NULL, TRUE);
	sbx_netpol_firewall_set_default(self->firewall);
	return TRUE;
}

/* every volume plugin, configured from its own section; one that cannot be
 * configured stops the daemon like a bad hypervisor backend */
static gboolean
setup_volumes(SbxDaemon *self, GError **error)
{
	g_autoptr(SbxVolumeManager) volumes = sbx_volume_manager_new(self->config);
	GPtrArray *plugins = sbx_plugin_loader_get_plugins(self->loader);

	for (guint i = 0; i < plugins->len; i++) {
		const SbxPlugin *plugin = g_ptr_array_index(plugins, i);
		g_autoptr(SbxVolumeBackend) backend = NULL;
		if (plugin->kind != SBX_PLUGIN_KIND_VOLUME)
			continue;
		backend = g_object_new(plugin->type, NULL);
		if (!sbx_volume_backend_configure(backend, sbx_config_get_keyfile(self->config),
						  plugin->name, error)) {
			g_prefix_error(error, "volume backend %s (%s): ", plugin->name,
				       plugin->filename);
			return FALSE;
		}
		sbx_volume_manager_add_backend(volumes, plugin->name, backend);
	}
	self->volumes = g_steal_pointer(&volumes);
	return TRUE;
}

static void
on_shutdown_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	SbxDaemon *self = user_data;
	g_autoptr(GError) error = NULL;
	if (!sbx_manager_shutdown_finish(SBX_MANAGER(source), res, &error))
		g_warning("shutdown: %s", error->message);
	g_message("all sandboxes destroyed, exiting");
	g_main_loop_quit(self->loop);
}

static void
begin_shutdown(SbxDaemon *self)
{
	if (self->stopping)
		return;
	self->stopping = TRUE;
	sbx_manager_shutdown_async(self->manager, on_shutdown_done, self);
}

static void
on_connection_closed(GDBusConnection *connection, gboolean remote_peer_vanished, GError *error,
		     gpointer user_data)
{
	SbxDaemon *self = user_data;
	g_warning("the bus connection closed%s%s; shutting down", error != NULL ? ": " : "",
		  error != NULL ? error->message : "");
	self->exit_code = 1;
	begin_shutdown(self);
}

static gboolean
connect_bus(SbxDaemon *self, GError **error)
{
	if (self->address != NULL) {
		self->connection = g_dbus_connection_new_for_address_sync(
		    self->address,
		    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
			G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
		    NULL, NULL, error);
	} else {
		self->connection = g_bus_get_sync(
		    self->session ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM, NULL, error);
	}
	if (self->connection == NULL) {
		g_prefix_error(error, "cannot connect to the bus: ");
		return FALSE;
	}
	g_dbus_connection_set_exit_on_close(self->connection, FALSE);
	g_signal_connect(self->connection, "closed", G_CALLBACK(on_connection_closed), self);
	return TRUE;
}

/* tokens beside the state records */
static void
setup_tenants(SbxDaemon *self)
{
	const gchar *state_dir =
	    self->state_dir != NULL ? self->state_dir : sbx_config_get_state_dir(self->config);
	g_autofree gchar *path = g_build_filename(state_dir, "tokens", NULL);
	g_autoptr(SbxTokenStore) tokens = NULL;
	g_autoptr(GError) error = NULL;
	if (g_mkdir_with_parents(state_dir, 0700) != 0) {
		g_warning("%s: %s: no access tokens", state_dir, g_strerror(errno));
		return;
	}
	tokens = sbx_token_store_new(path, &error);
	if (tokens == NULL) {
		g_warning("%s: no access tokens", error->message);
		return;
	}
	sbx_manager_set_token_store(self->manager, tokens);
}

static void
setup_manager(SbxDaemon *self, const gchar *runtime_dir)
{
	g_autofree gchar *default_region = sbx_config_region_get_default(self->config, NULL);
	/* the default region's backend is "the" backend */
	SbxHypervisorBackend *backend = sbx_region_lookup(self->regions, default_region)->backend;
	g_autoptr(GError) error = NULL;

	self->manager = sbx_manager_new(self->config, backend, runtime_dir);
	sbx_manager_set_regions(self->manager, self->regions, default_region);
	sbx_manager_set_plugin_loader(self->manager, self->loader);
	/* polkit answers about callers on the system bus only */
	sbx_authority_set_use_polkit(sbx_authority_get_default(),
				     !self->session && self->address == NULL);
	self->store = sbx_state_store_new(
	    self->state_dir != NULL ? self->state_dir : sbx_config_get_state_dir(self->config),
	    &error);
	if (self->store == NULL) {
		/* still useful without: sandboxes just do not survive a restart */
		g_warning("%s: sandboxes will not be re-adopted after a restart", error->message);
	}
	sbx_manager_set_state_store(self->manager, self->store,
				    sbx_config_get_backend(self->config));
	setup_tenants(self);
	{
		/* beside the state folder, reachable by the VMM's user; "none": off */
		const gchar *snap = sbx_config_get_string(self->config, "daemon", "SnapshotDir");
		g_autofree gchar *state_parent = g_path_get_dirname(
		    self->state_dir != NULL ? self->state_dir
					    : sbx_config_get_state_dir(self->config));
		g_autofree gchar *dir = snap != NULL && snap[0] != '\0'
					    ? g_strdup(snap)
					    : g_build_filename(state_parent, "snapshots", NULL);
		if (g_strcmp0(snap, "none") != 0)
			sbx_manager_set_snapshot_dir(self->manager, dir);
	}
	sbx_manager_set_volume_manager(self->manager, self->volumes);
	sbx_manager_export(self->manager, self->connection);
	g_debug("backend %s (domain type %s), runtime folder %s",
		sbx_config_get_backend(self->config),
		sbx_hypervisor_backend_get_domain_type(backend), runtime_dir);
}

static void
on_volumes_loaded(GObject *source, GAsyncResult *res, gpointer user_data)
{
	gboolean *done = user_data;
	g_autoptr(GError) error = NULL;
	if (!sbx_volume_ops_load_finish(SBX_VOLUME_MANAGER(source), res, &error))
		g_warning("volumes: %s", error->message);
	*done = TRUE;
}

static void
on_recovered(GObject *source, GAsyncResult *res, gpointer user_data)
{
	gboolean *done = user_data;
	g_autoptr(GError) error = NULL;
	if (!sbx_manager_recover_finish(SBX_MANAGER(source), res, &error))
		g_warning("recovery: %s", error->message);
	*done = TRUE;
}

/* before anyone can call: volumes first, so a re-adopted sandbox takes its
 * attachment locks again (a backend that cannot list, e.g. Ceph down, may
 * take up to its MountTimeoutSec); then the sandboxes of a previous run come
 * back (or go) */
static void
load_volumes_and_recover(SbxDaemon *self)
{
	gboolean volumes_loaded = FALSE;
	gboolean recovered = FALSE;

	sbx_volume_ops_load_async(self->volumes, on_volumes_loaded, &volumes_loaded);
	while (!volumes_loaded)
		g_main_context_iteration(NULL, TRUE);
	sbx_manager_recover_async(self->manager, on_recovered, &recovered);
	while (!recovered)
		g_main_context_iteration(NULL, TRUE);
}

static gboolean
on_signal(gpointer user_data)
{
	SbxDaemon *self = user_data;
	if (self->stopping) {
		g_message("second signal: exiting at once");
		_exit(1);
	}
	g_message("signal received: destroying sandboxes and exiting");
	begin_shutdown(self);
	return G_SOURCE_CONTINUE;
}

static void
on_name_acquired(GDBusConnection *connection, const gchar *name, gpointer user_data)
{
	SbxDaemon *self = user_data;
	self->name_acquired = TRUE;
	g_message("sandboxd %s ready on %s", PACKAGE_VERSION, name);
}

static void
on_name_lost(GDBusConnection *connection, const gchar *name, gpointer user_data)
{
	SbxDaemon *self = user_data;
	if (!self->name_acquired) {
		g_printerr("sandboxd: cannot own the bus name %s (is another sandboxd running, "
			   "or does the bus policy not allow it?)\n",
			   name);
		exit(1);
	}
	g_warning("lost the bus name %s; shutting down", name);
	self->exit_code = 1;
	begin_shutdown(self);
}

gboolean
sbx_daemon_start(SbxDaemon *self, GError **error)
{
	const gchar *runtime_dir;

	g_return_val_if_fail(SBX_IS_DAEMON(self), FALSE);
	g_return_val_if_fail(self->loop == NULL, FALSE);

	(void)sbx_error_quark();
	if (!load_plugins_and_config(self, error))
		return FALSE;
	/* one backend per region */
	self->regions = sbx_region_setup_all(self->loader, self->config, self->plugin_dir, error);
	if (self->regions == NULL)
		return FALSE;
	if (!setup_firewall(self, error) || !setup_volumes(self, error))
		return FALSE;
	runtime_dir = self->runtime_dir != NULL ? self->runtime_dir
						: sbx_config_get_runtime_dir(self->config);
	if (g_mkdir_with_parents(runtime_dir, 0755) != 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "cannot create the runtime folder %s: %s", runtime_dir,
			    g_strerror(errno));
		return FALSE;
	}
	if (!connect_bus(self, error))
		return FALSE;

	self->loop = g_main_loop_new(NULL, FALSE);
	setup_manager(self, runtime_dir);
	load_volumes_and_recover(self);

	self->sigterm_id = g_unix_signal_add(SIGTERM, on_signal, self);
	self->sigint_id = g_unix_signal_add(SIGINT, on_signal, self);
	/* the name is taken once volumes are known, so a client never misses one */
	self->name_id = g_bus_own_name_on_connection(self->connection, SBX_BUS_NAME,
						     G_BUS_NAME_OWNER_FLAGS_NONE, on_name_acquired,
						     on_name_lost, self, NULL);
	return TRUE;
}

gint
sbx_daemon_run(SbxDaemon *self)
{
	g_return_val_if_fail(SBX_IS_DAEMON(self), 1);
	g_return_val_if_fail(self->loop != NULL, 1);

	g_main_loop_run(self->loop);

	g_bus_unown_name(self->name_id);
	self->name_id = 0;
	g_dbus_connection_flush_sync(self->connection, NULL, NULL);
	g_clear_object(&self->manager);
	/* every guest is gone by now: the rules go with them */
	if (self->firewall != NULL) {
		g_autoptr(GError) error = NULL;
		if (!sbx_netpol_firewall_stop(self->firewall, &error))
			g_warning("network: cannot remove nftables table inet %s: %s",
				  sbx_netpol_firewall_get_table(self->firewall), error->message);
	}
	return self->exit_code;
}
