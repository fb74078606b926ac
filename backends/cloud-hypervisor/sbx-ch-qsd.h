/* cloud-hypervisor backend: a qemu-storage-daemon exporting one RBD volume
 * as vhost-user-blk on a unix socket (CH has no rbd driver).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "sbx-jail.h"
#include "sbx-volume-backend.h"

G_BEGIN_DECLS

/* the serial every vhost-user-blk export of QEMU 7.2 reports
 * (block/export/vhost-user-blk-server.c): not settable per export */
#define SBX_CH_QSD_SERIAL "vhost_user_blk"

typedef struct _SbxChQsd SbxChQsd;

/* the daemon's argv: @secret_file holds the base64 cephx key (never on the
 * command line); pure, for tests */
GStrv sbx_ch_qsd_argv(const gchar *binary, const SbxDiskSource *source, gboolean read_only,
		      const gchar *socket, const gchar *secret_file);

/* writes the key file, starts the daemon in @jail (@name: its cgroup) and
 * completes once the socket is there; never blocks */
void sbx_ch_qsd_start_async(SbxJail *jail, const gchar *name, const gchar *binary,
			    const SbxDiskSource *source, gboolean read_only, const gchar *socket,
			    GCancellable *cancellable, GAsyncReadyCallback callback,
			    gpointer user_data);
SbxChQsd *sbx_ch_qsd_start_finish(GAsyncResult *res, GError **error);

GPid sbx_ch_qsd_get_pid(SbxChQsd *qsd);
/* SIGTERM (SIGKILL after 3 s); the socket and key file go; the process is
 * reaped by its child watch. Drops the caller's reference. */
void sbx_ch_qsd_stop(SbxChQsd *qsd);

G_END_DECLS
