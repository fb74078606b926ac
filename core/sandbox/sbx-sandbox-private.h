/* SbxSandbox's insides, shared by sbx-sandbox.c and sbx-sandbox-exec.c.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "sbx-agent-client.h"
#include "sbx-agent-fs.h"
#include "sbx-sandbox.h"
#include "sbx-pool.h"
#include "sbx-snapshot-store.h"

struct _SbxSandbox {
	GObject parent_instance;
	gchar *id;
	gchar *run_dir;
	gchar *object_path;
	SbxCreateOptions *opts;
	SbxImage *image;
	SbxHypervisorBackend *backend;
	guint boot_timeout_sec;
	gint64 created_at;
	SbxSandboxState state;

	SbxDBusObjectSkeleton *object;
	SbxDBusSandbox1 *iface;

	/* starting */
	GTask *start_task;
	GError *start_error;
	GCancellable *start_cancellable;
	guint boot_timer_id;
	gboolean boot_timed_out;
	/* its allow_net rules must be in the firewall before its agent is used */
	gboolean needs_net_rules;
	gulong egress_denied_id;    /* on the egress proxy's "denied" */
	gint64 egress_denied_since; /* the current minute of denials logged */
	guint egress_denied_count;
	gint64 connect_deadline;
	guint connect_retry_id;

	/* running */
	SbxAgentClient *agent;
	gulong agent_closed_id;
	GPtrArray *execs;     /* SbxExecCall, not owned */
	GPtrArray *processes; /* SbxProcess (Spawn), oldest first */
	GHashTable *files;    /* guest file handle -> its owner (sbx-sandbox-file.c) */
	guint n_tcp;	      /* ConnectTcp connections open (sbx-sandbox-tcp.c) */
	guint next_process;
	guint expiry_id;

	/* lifetime (sbx-sandbox-lifetime.c) */
	guint max_lifetime_sec;
	guint extend_step_sec;
	guint expiry_grace_sec;
	guint grace_id;
	gboolean expiring;

	/* who made it */
	GDBusConnection *owner_connection;
	gchar *owner_name;
	guint owner_uid;
	guint owner_watch_id;

	/* durable volumes (SbxVmDisk), attached by the manager; or NULL */
	GPtrArray *disks;

	/* durability and observability (sbx-sandbox-state.c, sbx-sandbox-logs.c) */
	SbxStateStore *store;
	gchar *backend_name;
	gchar *region;
	gint64 expires_at; /* µs since the epoch; 0 until armed */
	gboolean adopted;
	/* a restored clone runs once both are answered */
	gboolean handshake_done;
	gboolean identity_done;
	guint ca_installed;	  /* secrets: files of the CA written in the guest */
	gchar *secrets_described; /* "NAME@HOST,..." for the event log */
	gboolean crashed;
	gboolean finished;
	SbxEventLog *events;
	GBytes *console_tail;	    /* a crashed sandbox's last console bytes */
	GPtrArray *console_readers; /* SbxConsoleReader */

	/* stopping */
	gchar *destroy_reason;

	/* what the guest agent enforces on sandbox processes ([limits] Guest*),
	 * passed on the kernel command line */
	gchar *guest_limits_cmdline;
	/* snapshots: restore from one, or take one once this sandbox runs */
	SbxSnapshotStore *snapshots;
	SbxPool *pool;		  /* the manager's, or NULL */
	SbxPoolEntry *pool_entry; /* a pooled VM this sandbox takes over */
	gboolean from_pool;
	gchar *snapshot_dir;	  /* restored from this */
	gchar *guest_net;	  /* the clone's network words, from the backend */
	SbxVmSpec *snapshot_spec; /* take a snapshot of this shape once running */
	gchar *snapshot_build_dir;
	gint64 start_time;
	gint64 created_time; /* the CreateSandbox call (queueing comes before start_time) */
	GError *destroy_error;
	GPtrArray *destroy_waiters; /* GTask */
};

/* sbx-sandbox-exec.c */
void sbx_sandbox_exec_setup(SbxSandbox *self);
/* sbx-sandbox-lifetime.c: Close, ExtendTimeout and what expiry does */
void sbx_sandbox_lifetime_setup(SbxSandbox *self);
/* the expiry timer fired: SIGTERM, Expiring, destroy after the grace */
void sbx_sandbox_lifetime_expired(SbxSandbox *self);
/* stopping: no more timers */
void sbx_sandbox_lifetime_stop(SbxSandbox *self);
/* sbx-sandbox-logs.c: ReadLog; the console tail kept after a crash */
void sbx_sandbox_logs_setup(SbxSandbox *self);
void sbx_sandbox_logs_keep_console(SbxSandbox *self);
void sbx_sandbox_logs_stop(SbxSandbox *self);
void sbx_sandbox_logs_free(SbxSandbox *self);
/* sbx-sandbox-state.c */
void sbx_sandbox_arm_expiry(SbxSandbox *self);
void sbx_sandbox_state_forget(SbxSandbox *self);
/* keeps the secrets in the kernel keyring for a daemon restart */
void sbx_sandbox_state_keep_secrets(SbxSandbox *self);
/* sbx-sandbox-fs.c: filesystem and environment methods */
void sbx_sandbox_fs_setup(SbxSandbox *self);
/* Stat's answer: type, size, mode, uid, gid, nlink, times, link_target */
GVariant *sbx_sandbox_fs_stat_to_variant(const SbxFsStat *st);
/* sbx-sandbox-file.c: OpenFile, File*, CloseFile, Umask, Walk, Glob */
void sbx_sandbox_file_setup(SbxSandbox *self);
void sbx_sandbox_exec_cancel_all(SbxSandbox *self);
/* the passed fd a handle names (the caller owns it), InvalidArgument otherwise */
gboolean sbx_sandbox_fs_get_fd(GDBusMethodInvocation *invocation, GVariant *handle, gint *fd_out,
			       GError **error);
/* options: every key must be one of @keys with the type in @types */
gboolean sbx_sandbox_fs_options_check(GVariant *options, const gchar *const *keys,
				      const gchar *const *types, GError **error);

/* sbx-sandbox-tcp.c: ConnectTcp */
void sbx_sandbox_tcp_setup(SbxSandbox *self);

/* sbx-sandbox-spawn.c */
void sbx_sandbox_spawn_setup(SbxSandbox *self);
/* fails every process (SandboxGone) and removes their objects */
void sbx_sandbox_spawn_stop(SbxSandbox *self);
/* validated options -> agent params; the fds come from the invocation
 * (-1 for "null"/"merged" and -1 handles); *envp must be freed */
gboolean sbx_sandbox_spawn_prepare_exec(SbxSandbox *self, GDBusMethodInvocation *invocation,
					const gchar *const *argv, SbxExecOptions *opts,
					GVariant *handles[3], SbxExecParams *params, gchar ***envp,
					gint fds[3], GError **error);
