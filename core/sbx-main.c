/* sandboxd: the daemon's entry point.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <glib-unix.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "sbx-config.h"
#include "sbx-error.h"
#include "sbx-hypervisor-backend.h"
#include "sbx-manager.h"
#include "sbx-plugin-loader.h"
#include "sbx-region.h"
#include "sbx-authority.h"
#include "sbx-state-store.h"
#include "sbx-volume-manager.h"

#define SBX_PLUGIN_DIR_ENV "SANDBOXD_PLUGIN_DIR"

typedef struct {
	GMainLoop *loop;
	SbxManager *manager;
	GDBusConnection *connection;
	guint name_id;
	gboolean name_acquired;
	gboolean stopping;
	gint exit_code;
} SbxDaemon;

static gboolean opt_verbose = FALSE;
static gboolean use_journal = FALSE;

static const gchar *
level_to_string(GLogLevelFlags level)
{
	if (level & G_LOG_LEVEL_ERROR)
		return "error";
	if (level & G_LOG_LEVEL_CRITICAL)
		return "critical";
	if (level & G_LOG_LEVEL_WARNING)
		return "warning";
	if (level & G_LOG_LEVEL_MESSAGE)
		return "notice";
	if (level & G_LOG_LEVEL_INFO)
		return "info";
	return "debug";
}

/* journal when stderr goes there, else one line per message on stderr */
static GLogWriterOutput
log_writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
	const gchar *message = NULL;
	const gchar *sandbox_id = NULL;
	const gchar *domain = NULL;
	g_autoptr(GString) line = NULL;

	if (!opt_verbose && (level & G_LOG_LEVEL_DEBUG))
		return G_LOG_WRITER_HANDLED;
	if (use_journal &&
	    g_log_writer_journald(level, fields, n_fields, user_data) == G_LOG_WRITER_HANDLED)
		return G_LOG_WRITER_HANDLED;

	for (gsize i = 0; i < n_fields; i++) {
		if (g_strcmp0(fields[i].key, "MESSAGE") == 0)
			message = fields[i].value;
		else if (g_strcmp0(fields[i].key, "SANDBOX_ID") == 0)
			sandbox_id = fields[i].value;
		else if (g_strcmp0(fields[i].key, "GLIB_DOMAIN") == 0)
			domain = fields[i].value;
	}
	line = g_string_new(domain != NULL ? domain : "sandboxd");
	g_string_append_printf(line, ": %s: ", level_to_string(level));
	if (sandbox_id != NULL)
		g_string_append_printf(line, "[%s] ", sandbox_id);
	g_string_append(line, message != NULL ? message : "(no message)");
	g_string_append_c(line, '\n');
	fputs(line->str, stderr);
	fflush(stderr);
	return G_LOG_WRITER_HANDLED;
}

static void
on_shutdown_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	SbxDaemon *daemon = user_data;
	g_autoptr(GError) error = NULL;
	if (!sbx_manager_shutdown_finish(SBX_MANAGER(source), res, &error))
		g_warning("shutdown: %s", error->message);
	g_message("all sandboxes destroyed, exiting");
	g_main_loop_quit(daemon->loop);
}

static void
begin_shutdown(SbxDaemon *daemon)
{
	if (daemon->stopping)
		return;
	daemon->stopping = TRUE;
	sbx_manager_shutdown_async(daemon->manager, on_shutdown_done, daemon);
}

static gboolean
on_signal(gpointer user_data)
{
	SbxDaemon *daemon = user_data;
	if (daemon->stopping) {
		g_message("second signal: exiting at once");
		_exit(1);
	}
	g_message("signal received: destroying sandboxes and exiting");
	begin_shutdown(daemon);
	return G_SOURCE_CONTINUE;
}

static void
on_name_acquired(GDBusConnection *connection, const gchar *name, gpointer user_data)
{
	SbxDaemon *daemon = user_data;
	daemon->name_acquired = TRUE;
	g_message("sandboxd %s ready on %s", PACKAGE_VERSION, name);
}

static void
on_name_lost(GDBusConnection *connection, const gchar *name, gpointer user_data)
{
	SbxDaemon *daemon = user_data;
	if (!daemon->name_acquired) {
		g_printerr("sandboxd: cannot own the bus name %s (is another sandboxd running, "
			   "or does the bus policy not allow it?)\n",
			   name);
		exit(1);
	}
	g_warning("lost the bus name %s; shutting down", name);
	daemon->exit_code = 1;
	begin_shutdown(daemon);
}

static void
on_connection_closed(GDBusConnection *connection, gboolean remote_peer_vanished, GError *error,
		     gpointer user_data)
{
	SbxDaemon *daemon = user_data;
	g_warning("the bus connection closed%s%s; shutting down", error != NULL ? ": " : "",
		  error != NULL ? error->message : "");
	daemon->exit_code = 1;
	begin_shutdown(daemon);
}

static GDBusConnection *
connect_bus(gboolean session, const gchar *address, GError **error)
{
	if (address != NULL) {
		return g_dbus_connection_new_for_address_sync(
		    address,
		    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
			G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
		    NULL, NULL, error);
	}
	return g_bus_get_sync(session ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM, NULL, error);
}

/* every volume plugin, configured from its own section; one that cannot be
 * configured stops the daemon like a bad hypervisor backend */
static SbxVolumeManager *
setup_volumes(SbxPluginLoader *loader, SbxConfig *config, GError **error)
{
	g_autoptr(SbxVolumeManager) volumes = sbx_volume_manager_new(config);
	GPtrArray *plugins = sbx_plugin_loader_get_plugins(loader);

	for (guint i = 0; i < plugins->len; i++) {
		const SbxPlugin *plugin = g_ptr_array_index(plugins, i);
		g_autoptr(SbxVolumeBackend) backend = NULL;
		if (plugin->kind != SBX_PLUGIN_KIND_VOLUME)
			continue;
		backend = g_object_new(plugin->type, NULL);
		if (!sbx_volume_backend_configure(backend, sbx_config_get_keyfile(config),
						  plugin->name, error)) {
			g_prefix_error(error, "volume backend %s (%s): ", plugin->name,
				       plugin->filename);
			return NULL;
		}
		sbx_volume_manager_add_backend(volumes, plugin->name, backend);
	}
	return g_steal_pointer(&volumes);
}

static void
on_volumes_loaded(GObject *source, GAsyncResult *res, gpointer user_data)
{
	gboolean *done = user_data;
	g_autoptr(GError) error = NULL;
	if (!sbx_volume_manager_load_finish(SBX_VOLUME_MANAGER(source), res, &error))
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

int
main(int argc, char **argv)
{
	gboolean opt_session = FALSE;
	gboolean opt_version = FALSE;
	g_autofree gchar *opt_address = NULL;
	g_autofree gchar *opt_config_dir = NULL;
	g_autofree gchar *opt_plugin_dir = NULL;
	g_autofree gchar *opt_runtime_dir = NULL;
	g_autofree gchar *opt_state_dir = NULL;
	g_autoptr(SbxStateStore) store = NULL;
	gboolean recovered = FALSE;
	gboolean volumes_loaded = FALSE;
	const GOptionEntry entries[] = {
	    {"session", 0, 0, G_OPTION_ARG_NONE, &opt_session,
	     "Use the session bus instead of the system bus", NULL},
	    {"address", 0, 0, G_OPTION_ARG_STRING, &opt_address,
	     "Connect to the message bus at ADDR", "ADDR"},
	    {"config-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_config_dir,
	     "Read sandboxd.conf and sandboxd.conf.d/ from DIR (default " SBX_SYSCONFDIR ")",
	     "DIR"},
	    {"plugin-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_plugin_dir,
	     "Load plugins from DIR (default $" SBX_PLUGIN_DIR_ENV ", else " SBX_PLUGINDIR ")",
	     "DIR"},
	    {"runtime-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_runtime_dir,
	     "Keep per-sandbox files under DIR (default [daemon] RuntimeDir, " SBX_RUNTIMEDIR ")",
	     "DIR"},
	    {"state-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_state_dir,
	     "Keep sandbox records under DIR (default [daemon] StateDir, " SBX_STATEDIR "/sandboxes)",
	     "DIR"},
	    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose, "Log debug messages", NULL},
	    {"version", 0, 0, G_OPTION_ARG_NONE, &opt_version, "Print the version and exit", NULL},
	    {NULL}};
	g_autoptr(GOptionContext) context = g_option_context_new(NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxPluginLoader) loader = NULL;
	g_autoptr(SbxConfig) config = NULL;
	g_autoptr(SbxHypervisorBackend) backend = NULL;
	g_autoptr(GPtrArray) regions = NULL;
	g_autofree gchar *default_region = NULL;
	g_autoptr(SbxVolumeManager) volumes = NULL;
	g_autoptr(GPtrArray) plugins = NULL;
	const gchar *plugin_dir;
	const gchar *runtime_dir;
	SbxDaemon daemon = {0};

	setlocale(LC_ALL, "");
	/* a reader closing its end of an exec's stdout must not kill us */
	signal(SIGPIPE, SIG_IGN);

	g_option_context_set_summary(context, "Disposable Linux microVMs over D-Bus");
	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		g_printerr("sandboxd: %s\n", error->message);
		return 2;
	}
	if (opt_version) {
		g_print("sandboxd %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (opt_session && opt_address != NULL) {
		g_printerr("sandboxd: --session and --address cannot be used together\n");
		return 2;
	}
	use_journal = g_log_writer_is_journald(fileno(stderr));
	g_log_set_writer_func(log_writer, NULL, NULL);
	(void)sbx_error_quark();

	plugin_dir = opt_plugin_dir;
	if (plugin_dir == NULL)
		plugin_dir = g_getenv(SBX_PLUGIN_DIR_ENV);
	if (plugin_dir == NULL || plugin_dir[0] == '\0')
		plugin_dir = SBX_PLUGINDIR;
	loader = sbx_plugin_loader_new();
	if (!sbx_plugin_loader_load_dir(loader, plugin_dir, &error)) {
		g_printerr("sandboxd: %s\n", error->message);
		return 1;
	}

	config = sbx_config_new();
	plugins = g_ptr_array_ref(sbx_plugin_loader_get_plugins(loader));
	for (guint i = 0; i < plugins->len; i++) {
		const SbxPlugin *plugin = g_ptr_array_index(plugins, i);
		sbx_config_add_section(config, plugin->name, sbx_plugin_get_config_keys(plugin));
	}
	if (!sbx_config_load_dir(config, opt_config_dir != NULL ? opt_config_dir : SBX_SYSCONFDIR,
				 &error)) {
		g_printerr("sandboxd: %s\n", error->message);
		return 1;
	}
	/* one backend per region; the default region's is "the" backend */
	regions = sbx_regions_setup(loader, config, plugin_dir, &error);
	if (regions == NULL) {
		g_printerr("sandboxd: %s\n", error->message);
		return 1;
	}
	default_region = sbx_config_get_default_region(config, NULL);
	backend = g_object_ref(sbx_regions_lookup(regions, default_region)->backend);

	volumes = setup_volumes(loader, config, &error);
	if (volumes == NULL) {
		g_printerr("sandboxd: %s\n", error->message);
		return 1;
	}

	runtime_dir =
	    opt_runtime_dir != NULL ? opt_runtime_dir : sbx_config_get_runtime_dir(config);
	if (g_mkdir_with_parents(runtime_dir, 0755) != 0) {
		g_printerr("sandboxd: cannot create the runtime folder %s: %s\n", runtime_dir,
			   g_strerror(errno));
		return 1;
	}

	daemon.connection = connect_bus(opt_session, opt_address, &error);
	if (daemon.connection == NULL) {
		g_printerr("sandboxd: cannot connect to the bus: %s\n", error->message);
		return 1;
	}
	g_dbus_connection_set_exit_on_close(daemon.connection, FALSE);
	g_signal_connect(daemon.connection, "closed", G_CALLBACK(on_connection_closed), &daemon);

	daemon.loop = g_main_loop_new(NULL, FALSE);
	daemon.manager = sbx_manager_new(config, backend, runtime_dir);
	sbx_manager_set_regions(daemon.manager, regions, default_region);
	/* polkit answers about callers on the system bus only */
	sbx_authority_set_use_polkit(sbx_authority_get_default(),
				     !opt_session && opt_address == NULL);
	store = sbx_state_store_new(opt_state_dir != NULL ? opt_state_dir
							  : sbx_config_get_state_dir(config),
				    &error);
	if (store == NULL) {
		/* still useful without: sandboxes just do not survive a restart */
		g_warning("%s: sandboxes will not be re-adopted after a restart", error->message);
		g_clear_error(&error);
	}
	sbx_manager_set_state_store(daemon.manager, store, sbx_config_get_backend(config));
	sbx_manager_set_volume_manager(daemon.manager, volumes);
	sbx_manager_export(daemon.manager, daemon.connection);
	g_debug("backend %s (domain type %s), runtime folder %s", sbx_config_get_backend(config),
		sbx_hypervisor_backend_get_domain_type(backend), runtime_dir);
	/* volumes first: a re-adopted sandbox takes its attachment locks again (a
	 * backend that cannot list, e.g. Ceph down, may take up to its MountTimeoutSec) */
	sbx_volume_manager_load_async(volumes, on_volumes_loaded, &volumes_loaded);
	while (!volumes_loaded)
		g_main_context_iteration(NULL, TRUE);
	/* sandboxes of a previous run come back (or go) before anyone can call */
	sbx_manager_recover_async(daemon.manager, on_recovered, &recovered);
	while (!recovered)
		g_main_context_iteration(NULL, TRUE);

	g_unix_signal_add(SIGTERM, on_signal, &daemon);
	g_unix_signal_add(SIGINT, on_signal, &daemon);
	/* the name is taken once volumes are known, so a client never misses one */
	daemon.name_id = g_bus_own_name_on_connection(daemon.connection, SBX_BUS_NAME,
						      G_BUS_NAME_OWNER_FLAGS_NONE, on_name_acquired,
						      on_name_lost, &daemon, NULL);

	g_main_loop_run(daemon.loop);

	if (daemon.name_id != 0)
		g_bus_unown_name(daemon.name_id);
	g_dbus_connection_flush_sync(daemon.connection, NULL, NULL);
	g_clear_object(&daemon.manager);
	g_clear_object(&daemon.connection);
	g_main_loop_unref(daemon.loop);
	return daemon.exit_code;
}
