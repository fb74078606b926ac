/* sandboxd-gateway: serves the @deno/sandbox SDK on top of sandboxd.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib-unix.h>
#include <locale.h>
#include <signal.h>

#include "sbx-gw-server.h"

static gboolean
on_signal(gpointer data)
{
	g_main_loop_quit(data);
	return G_SOURCE_REMOVE;
}

int
main(int argc, char **argv)
{
	g_autofree gchar *config_dir = NULL;
	g_autofree gchar *address = NULL;
	g_autofree gchar *listen = NULL;
	gboolean session = FALSE;
	gboolean verbose = FALSE;
	const GOptionEntry entries[] = {
	    {"config-dir", 0, 0, G_OPTION_ARG_FILENAME, &config_dir,
	     "Read gateway.conf and gateway.conf.d/ from DIR", "DIR"},
	    {"address", 0, 0, G_OPTION_ARG_STRING, &address,
	     "Talk to sandboxd on the D-Bus bus at ADDRESS", "ADDRESS"},
	    {"session", 0, 0, G_OPTION_ARG_NONE, &session, "Use the session bus", NULL},
	    {"listen", 0, 0, G_OPTION_ARG_STRING, &listen, "Listen on HOST:PORT ([gateway] Listen)",
	     "HOST:PORT"},
	    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Log every request and call", NULL},
	    {NULL},
	};
	g_autoptr(GOptionContext) context = g_option_context_new(NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxGwConfig) config = NULL;
	g_autoptr(GDBusConnection) bus = NULL;
	g_autoptr(SbxGwServer) server = NULL;
	g_autoptr(GMainLoop) loop = NULL;

	setlocale(LC_ALL, "");
	g_option_context_set_summary(context,
				     "Serves the @deno/sandbox SDK's protocol for sandboxd.");
	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		g_printerr("sandboxd-gateway: %s\n", error->message);
		return 2;
	}
	if (verbose)
		g_log_set_debug_enabled(TRUE);
	/* a client that goes away mid-write must not kill us */
	signal(SIGPIPE, SIG_IGN);

	config = sbx_gw_config_load(config_dir != NULL ? config_dir : SBX_SYSCONFDIR, &error);
	if (config == NULL) {
		g_printerr("sandboxd-gateway: %s\n", error->message);
		return 1;
	}
	if (listen != NULL) {
		g_free(config->listen);
		config->listen = g_steal_pointer(&listen);
	}
	if (address != NULL)
		bus = g_dbus_connection_new_for_address_sync(
		    address,
		    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
			G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
		    NULL, NULL, &error);
	else
		bus =
		    g_bus_get_sync(session ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM, NULL, &error);
	if (bus == NULL) {
		g_printerr("sandboxd-gateway: cannot connect to D-Bus: %s\n", error->message);
		return 1;
	}
	server = sbx_gw_server_new(config, bus, &error);
	if (server == NULL || !sbx_gw_server_listen(server, &error)) {
		g_printerr("sandboxd-gateway: %s\n", error->message);
		return 1;
	}
	loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGTERM, on_signal, loop);
	g_unix_signal_add(SIGINT, on_signal, loop);
	g_main_loop_run(loop);
	g_message("stopping");
	return 0;
}
