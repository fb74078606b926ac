/* sandboxd-bench: measurements that live in their own files.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* sbx-bench-fs.c: WriteFile then ReadFile of @mib MiB at @file in the sandbox at @path;
 * throughputs in MiB/s (each from the call to its reply, the pipe drained/fed meanwhile) */
gboolean sbx_bench_file_throughput(GDBusConnection *conn, const gchar *path, const gchar *file,
				   guint mib, gdouble *write_mibs, gdouble *read_mibs,
				   GError **error);

/* a sandbox with @memory_mib of memory (0: the default) */
gchar *sbx_bench_create_sandbox(GDBusConnection *conn, guint memory_mib, GError **error);

/* sbx-bench-proc.c: @count times Spawn of `true` then Process1.Wait, one after the
 * other, in the sandbox at @path; the total in ms */
gboolean sbx_bench_spawn_sequence(GDBusConnection *conn, const gchar *path, guint count,
				  gdouble *ms, GError **error);

G_END_DECLS
