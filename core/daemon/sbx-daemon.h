/* the running daemon: loads plugins and config, sets up regions and volumes,
 * connects to the bus, re-adopts the sandboxes of a previous run, then owns
 * the bus name until a signal or a lost bus shuts it down.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define SBX_DAEMON_PLUGIN_DIR_ENV "SANDBOXD_PLUGIN_DIR"

/* the command line; NULL members take their defaults */
typedef struct {
	gboolean session; /* session bus instead of the system bus */
	const gchar *address;
	const gchar *config_dir;
	const gchar *plugin_dir;
	const gchar *runtime_dir;
	const gchar *state_dir;
} SbxDaemonOptions;

#define SBX_TYPE_DAEMON (sbx_daemon_get_type())
G_DECLARE_FINAL_TYPE(SbxDaemon, sbx_daemon, SBX, DAEMON, GObject)

SbxDaemon *sbx_daemon_new(const SbxDaemonOptions *options);
/* everything up to serving: on FALSE the daemon cannot run */
gboolean sbx_daemon_start(SbxDaemon *self, GError **error);
/* serves until SIGTERM/SIGINT or the bus goes away; returns the exit code */
gint sbx_daemon_run(SbxDaemon *self);

G_END_DECLS
