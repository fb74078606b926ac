/* libvirt backend: stopping a domain's QEMU ourselves. virDomainDestroy takes
 * 1.4-2.5 s (libvirtd polls the process it signalled, then tears down its own
 * state) while QEMU exits in milliseconds after SIGTERM: the backend signals
 * QEMU, waits for its exit (its disks are closed then) and leaves the rest of
 * the teardown to libvirtd.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* a pidfd of the QEMU running domain @id, when libvirtd runs it on this host
 * (qemu:///system: its pid file under @pid_dir, NULL for /run/libvirt/qemu), and
 * only if that process's command line names the domain (`-name guest=ID,...`);
 * -1 otherwise (remote URIs, no pid file, a process that is not it) */
gint sbx_libvirt_kill_open_qemu(const gchar *uri, const gchar *pid_dir, const gchar *id);
/* whether the command line in @cmdline (NUL-separated, @len bytes) is libvirt's
 * QEMU of domain @id */
gboolean sbx_libvirt_kill_cmdline_names(const gchar *cmdline, gsize len, const gchar *id);
/* SIGTERM (QEMU flushes and closes its disks, then exits), SIGKILL if it has not
 * exited after @term_ms (0: SIGKILL at once); TRUE once the process has exited
 * (within @kill_ms of the SIGKILL). Blocks: worker threads only. */
gboolean sbx_libvirt_kill_qemu(gint pidfd, guint term_ms, guint kill_ms);

G_END_DECLS
