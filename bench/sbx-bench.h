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

/* sbx-bench-disk.c: a sandbox of @image (NULL: the default) with @volumes (the
 * CreateSandbox `volumes` option, floating, may be NULL) */
gchar *sbx_bench_create_sandbox_with(GDBusConnection *conn, const gchar *image, GVariant *volumes,
				     GError **error);

/* in the guest (python3 needed), at @file (on a file system with O_DIRECT): sequential
 * write and read of @mib MiB in 1 MiB blocks (MiB/s), then @seconds each of random 4 KiB
 * writes and reads (IOPS), all O_DIRECT; @result: seq write, seq read, rand w, rand r */
gboolean sbx_bench_disk_io(GDBusConnection *conn, const gchar *path, const gchar *file, guint mib,
			   guint seconds, gdouble result[4], GError **error);

/* Exec @argv, its stdout (small: it must fit the pipe) returned, its status in *status */
gchar *sbx_bench_exec_capture(GDBusConnection *conn, const gchar *path, const gchar *const *argv,
			      gint *status, GError **error);
/* sbx-bench-instant.c: whether the sandbox at @path was restored from a snapshot (its
 * event log says so); the snapshot's folder name into @key when the log names it */
gboolean sbx_bench_was_restored(GDBusConnection *conn, const gchar *path, gchar **key);
/* the same, and whether its VM came from the daemon's pool */
gboolean sbx_bench_was_restored_full(GDBusConnection *conn, const gchar *path, gchar **key,
				     gboolean *pooled);
/* waits until the daemon's pool holds a VM and stopped refilling; FALSE when
 * it has no pool or never fills within @timeout_sec */
gboolean sbx_bench_wait_pool_idle(GDBusConnection *conn, guint timeout_sec);
/* @count CreateSandbox calls at once (default options); each reply's time since
 * they were sent into @ms (ms), the failures into *failed; all killed after */
gboolean sbx_bench_burst(GDBusConnection *conn, guint count, GArray *ms, guint *failed,
			 guint *pooled, GError **error);
/* the guest's own time for one fork+exec+exit of /bin/true (from a shell, @n in a row) */
gboolean sbx_bench_guest_spawn_ms(GDBusConnection *conn, const gchar *path, guint n, gdouble *ms,
				  GError **error);
/* the guest's own throughput (MiB/s) of @mib MiB from dd (64 KiB blocks) through a pipe to cat */
gboolean sbx_bench_guest_pipe_mibs(GDBusConnection *conn, const gchar *path, guint mib,
				   gdouble *mibs, GError **error);
/* Manager1.CreateVolume, Volume1.Snapshot and Volume1.Delete (retried while attached) */
gchar *sbx_bench_create_volume(GDBusConnection *conn, const gchar *name, const gchar *backend,
			       const gchar *capacity, GError **error);
gchar *sbx_bench_snapshot_volume(GDBusConnection *conn, const gchar *volume, const gchar *name,
				 GError **error);
gboolean sbx_bench_delete_volume(GDBusConnection *conn, const gchar *volume, GError **error);

/* sbx-bench-floor.c: a bare QEMU (no daemon) restores the snapshot in
 * @snapshot_dir @runs times; the agent is spoken to directly */
typedef struct {
	gchar *label;	       /* the snapshot's shape and kernel */
	GArray *to_running;    /* spawn -> QEMU running (ms) */
	GArray *to_echo;       /* spawn -> the agent's first PONG (ms) */
	GArray *to_first_byte; /* spawn -> first stdout byte of `echo x` (ms) */
	GArray *echo_rtt;      /* PING -> PONG (ms) */
	GArray *identity;      /* IDENTITY -> its reply, right after the first echo (ms) */
	/* a VM restored ahead that ran the warm-up command (as the daemon's pool
	 * keeps one): IDENTITY -> first stdout byte of `echo x` (ms) */
	GArray *pooled_first_byte;
	GArray *channel_mibs; /* stdout of dd through the agent channel (MiB/s) */
} SbxBenchFloor;

SbxBenchFloor *sbx_bench_floor_new(void);
void sbx_bench_floor_free(SbxBenchFloor *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxBenchFloor, sbx_bench_floor_free)
gboolean sbx_bench_floor_run(const gchar *snapshot_dir, guint runs, guint stream_mib,
			     SbxBenchFloor *f, GError **error);

/* sbx-bench-mem.c: host memory of idle sandboxes, per sandbox (MiB), for the
 * ones restored from a snapshot and the ones booted cold */
typedef struct {
	guint count;		   /* sandboxes measured */
	guint memory_mib;	   /* their guest memory */
	GArray *other_private;	   /* QEMU beyond the guest RAM mapping: private pages */
	GArray *other_pss;	   /* the same, Pss (shared libraries split) */
	GArray *tb_rss;		   /* of it: anonymous executable mappings (TCG's code buffer) */
	GArray *ram_rss;	   /* guest pages touched */
	GArray *ram_private;	   /* of them: private copies (anonymous) */
	GArray *ram_shared;	   /* of them: file pages (the snapshot's page cache) */
	GArray *ram_pss;	   /* the guest RAM's Pss */
	GArray *total;		   /* other_private + daemon + helpers */
	gdouble daemon_mib;	   /* sandboxd's RSS growth over the N, per sandbox */
	gdouble daemon_rss_mib[2]; /* its RSS before and after */
	gdouble helpers_mib;	   /* sandboxd's other children's, per sandbox */
	gchar *largest;		   /* the largest private items beyond RAM of the first, MiB */
} SbxBenchMem;

/* the QEMU whose -name is @id (qemu backend: "ID,...", libvirt: "guest=ID,...",
 * then *@libvirt is TRUE), or -1 */
gint sbx_bench_find_qemu(const gchar *id, gboolean *libvirt);
/* a Sandbox1 property, or NULL */
GVariant *sbx_bench_sandbox_prop(GDBusConnection *conn, const gchar *path, const gchar *name);
SbxBenchMem *sbx_bench_mem_new(void);
void sbx_bench_mem_free(SbxBenchMem *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxBenchMem, sbx_bench_mem_free)
/* @count sandboxes of @image (NULL: default) with @memory_mib (0: default), one
 * after the other, a `true` in each, then idle; needs root */
gboolean sbx_bench_mem_run(GDBusConnection *conn, const gchar *image, guint memory_mib, guint count,
			   SbxBenchMem *restored, SbxBenchMem *cold, GError **error);

/* sbx-bench-kill.c: the floors of Kill on libvirt, each on a sandbox of its own
 * (the daemon sees it crash, then Kill dismisses it): libvirt's own destroy
 * (`virsh destroy`) and QEMU's exit after SIGKILL (ms); nothing when the
 * backend is not libvirt */
gboolean sbx_bench_kill_floors(GDBusConnection *conn, guint runs, GArray *virsh_ms,
			       GArray *sigkill_ms, GError **error);

/* sbx-bench-disk-run.c: the volume and disk rows */
typedef struct {
	/* in */
	const gchar *image;  /* disk I/O in a sandbox of this image; NULL: no disk I/O */
	GPtrArray *backends; /* volume backends (gchar *) */
	guint mib;
	guint seconds;
	guint runs;
	/* out: per target (root, then each backend), per backend */
	GPtrArray *labels;	/* gchar * */
	GPtrArray *results;	/* GArray of gdouble, 4 per target (seq w, seq r, rand w, rand r) */
	GPtrArray *create_ms;	/* GArray per backend */
	GPtrArray *snapshot_ms; /* GArray per backend */
} SbxBenchDisk;

typedef void (*SbxBenchPrintRow)(const gchar *what, GArray *values, const gchar *unit);

gboolean sbx_bench_disk_run(GDBusConnection *conn, SbxBenchDisk *disk, GError **error);
void sbx_bench_disk_print(SbxBenchDisk *disk, SbxBenchPrintRow print_row);
void sbx_bench_disk_clear(SbxBenchDisk *disk);

G_END_DECLS
