/* the integration test fixture: a private dbus-daemon and a real sandboxd from the
 * build dir, talking to the system libvirtd, plus helpers to call them.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
	gchar *tmpdir;	    /* everything this run creates lives here */
	gchar *config_dir;  /* --config-dir */
	gchar *runtime_dir; /* --runtime-dir */
	gchar *state_dir;   /* [daemon] StateDir */
	gchar *daemon_log;  /* sandboxd's stdout and stderr */
	gchar *bus_address;
	GSubprocess *bus;
	GSubprocess *daemon;
	GDBusConnection *conn;
} SbxTestEnv;

/* the run's single environment; sbx_test_env_start() fills it */
SbxTestEnv *sbx_test_env_get(void);
/* @tmpdir exists; starts the bus and the daemon and waits until it owns its name */
gboolean sbx_test_env_start(SbxTestEnv *env, const gchar *tmpdir, GError **error);
/* SIGTERM, then SIGKILL after @timeout_ms; the exit status, or -signal */
gint sbx_test_env_stop_daemon(SbxTestEnv *env, guint timeout_ms);
void sbx_test_env_stop(SbxTestEnv *env);
/* starts a new sandboxd (stopping the old one first if it still runs) */
gboolean sbx_test_env_restart_daemon(SbxTestEnv *env, GError **error);
/* the last @max_bytes of the daemon's log */
gchar *sbx_test_env_daemon_log_tail(SbxTestEnv *env, gsize max_bytes);

/* D-Bus helpers; a NULL @conn means env->conn */
gchar *sbx_test_create(GDBusConnection *conn, GVariant *options, GError **error);
gboolean sbx_test_kill(GDBusConnection *conn, const gchar *path, GError **error);
GVariant *sbx_test_get_property(GDBusConnection *conn, const gchar *path, const gchar *iface,
				const gchar *name, GError **error);
gchar *sbx_test_get_id(GDBusConnection *conn, const gchar *path);

/* one Exec call with pipes for stdin, stdout and stderr */
typedef struct {
	gint exit_status;
	gint signal;
	GBytes *out;
	GBytes *err;
} SbxExecResult;
void sbx_exec_result_clear(SbxExecResult *res);

typedef struct _SbxExecCall SbxExecCall;
/* starts an Exec; @options may be NULL (empty), @input NULL means EOF at once */
SbxExecCall *sbx_test_exec_start(GDBusConnection *conn, const gchar *path, const gchar *const *argv,
				 GVariant *options, GBytes *input);
/* iterates the default main context until the call replied and both outputs hit EOF */
gboolean sbx_test_exec_finish(SbxExecCall *call, SbxExecResult *res, GError **error);
/* how many Exec calls saw no EOF on their output pipes after the reply */
guint sbx_test_exec_eof_missing_count(void);
gboolean sbx_test_exec(GDBusConnection *conn, const gchar *path, const gchar *const *argv,
		       GVariant *options, GBytes *input, SbxExecResult *res, GError **error);
/* shorthand: runs `sh -c SCRIPT` */
gboolean sbx_test_sh(const gchar *path, const gchar *script, GBytes *input, SbxExecResult *res,
		     GError **error);

/* runs the built sandboxctl against the private bus; *exit_code is -signal if killed */
gboolean sbx_test_cli(const gchar *const *args, const gchar *input, gint *exit_code, gchar **out,
		      gchar **err, GError **error);

/* libvirt and host process checks */
gboolean sbx_test_domain_exists(const gchar *name, GError **error);
/* pids of QEMU processes whose command line mentions @name */
GArray *sbx_test_find_qemu(const gchar *name);
/* every path below @dir, sorted, relative to it */
GPtrArray *sbx_test_list_files(const gchar *dir);

G_END_DECLS
