/* cloud-hypervisor backend: starting the VMM process in the shared process
 * jail (backends/jail: unprivileged user, own cgroup with the VM's memory and
 * CPU limits, private /tmp, no inherited fds but its own). Everything about
 * how the process is made lives here.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "sbx-jail.h"

G_BEGIN_DECLS

/* starts `@binary --api-socket fd=N --event-monitor fd=M --log-file @log_path`
 * in @jail (cgroup @id) with the API socket already bound to @api_socket and
 * listening, so the first request can be sent at once. Returns the pid (to
 * be watched and reaped by the caller) and, in @events_fd, the read end of
 * the event pipe. */
gboolean sbx_ch_spawn(SbxJail *jail, const gchar *id, const gchar *binary, const gchar *api_socket,
		      const gchar *log_path, guint64 memory_max, guint vcpus, GPid *pid,
		      gint *events_fd, GError **error);

G_END_DECLS
