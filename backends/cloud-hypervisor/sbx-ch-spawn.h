/* cloud-hypervisor backend: starting the VMM process. Everything about how
 * the process is made (fds, user, cgroup) lives here, so moving it into the
 * shared process jail changes this file only.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* starts `@binary --api-socket fd=3 --event-monitor fd=4` with the API
 * socket already bound to @api_socket and listening (so the first request
 * can be sent at once), stdout and stderr to @log_path. Returns the process
 * and, in @events_fd, the read end of the event pipe. */
GSubprocess *sbx_ch_spawn(const gchar *binary, const gchar *api_socket, const gchar *log_path,
			  gint *events_fd, GError **error);

G_END_DECLS
