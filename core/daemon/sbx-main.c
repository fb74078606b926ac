/* sandboxd: the daemon's entry point. The work is in sbx-daemon.c: plugins,
 * config, regions and volumes; the bus; re-adopting a previous run's
 * sandboxes; then serving until a signal.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <locale.h>
#include <signal.h>

#include "sbx-daemon-log.h"
#include "sbx-daemon.h"

int
main(int argc, char **argv)
{
	gboolean opt_session = FALSE;
	gboolean opt_verbose = FALSE;
	gboolean opt_version = FALSE;
	g_autofree gchar *opt_address = NULL;
	g_autofree gchar *opt_config_dir = NULL;
	g_autofree gchar *opt_plugin_dir = NULL;
	g_autofree gchar *opt_runtime_dir = NULL;
	g_autofree gchar *opt_state_dir = NULL;
	const GOptionEntry entries[] = {
	    {"session", 0, 0, G_OPTION_ARG_NONE, &opt_session,
	     "Use the session bus instead of the system bus", NULL},
	    {"address", 0, 0, G_OPTION_ARG_STRING, &opt_address,
	     "Connect to the message bus at ADDR", "ADDR"},
	    {"config-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_config_dir,
	     "Read sandboxd.conf and sandboxd.conf.d/ from DIR (default " SBX_SYSCONFDIR ")",
	     "DIR"},
	    {"plugin-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_plugin_dir,
	     "Load plugins from DIR (default $" SBX_DAEMON_PLUGIN_DIR_ENV ", else " SBX_PLUGINDIR
	     ")",
	     "DIR"},
	    {"runtime-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_runtime_dir,
	     "Keep per-sandbox files under DIR (default [daemon] RuntimeDir, " SBX_RUNTIMEDIR ")",
	     "DIR"},
	    {"state-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_state_dir,
	     "Keep sandbox records under DIR (default [daemon] StateDir, " SBX_STATEDIR
	     "/sandboxes)",
	     "DIR"},
	    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose, "Log debug messages", NULL},
	    {"version", 0, 0, G_OPTION_ARG_NONE, &opt_version, "Print the version and exit", NULL},
	    {NULL}};
	g_autoptr(GOptionContext) context = g_option_context_new(NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxDaemon) daemon = NULL;
	SbxDaemonOptions options = {0};

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
	sbx_daemon_log_init(opt_verbose);

	options.session = opt_session;
	options.address = opt_address;
	options.config_dir = opt_config_dir;
	options.plugin_dir = opt_plugin_dir;
	options.runtime_dir = opt_runtime_dir;
	options.state_dir = opt_state_dir;
	daemon = sbx_daemon_new(&options);
	if (!sbx_daemon_start(daemon, &error)) {
		g_printerr("sandboxd: %s\n", error->message);
		return 1;
	}
	return sbx_daemon_run(daemon);
}
