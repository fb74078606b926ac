/* the one daemon test harness: a private dbus-daemon with the shipped D-Bus
 * policy and the sandboxd built here, plus helpers to call them. The unit
 * tests run it with the test backend (sbx_test_env_new()), the integration
 * tests with real guests on libvirt, or on qemu with SBX_TEST_BACKEND=qemu
 * (sbx_test_env_start()).
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
	gchar *plugin_dir;  /* --plugin-dir; NULL: $SBX_TEST_PLUGIN_DIR */
	gboolean owns_tmpdir;
	gchar *bus_address;
	GSubprocess *bus;
	GSubprocess *daemon;
	GDBusConnection *conn;
} SbxTestEnv;

/* a unit test's environment: a new folder (removed by sbx_test_env_free()),
 * the bus and env->conn; write a config and start the daemon yourself */
SbxTestEnv *sbx_test_env_new(const gchar *name);
/* stops the daemon and the bus and removes the folder; prints the daemon's
 * log when the test failed */
void sbx_test_env_free(SbxTestEnv *env);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxTestEnv, sbx_test_env_free)

/* @tmpdir exists: makes config/, run/ and state/ in it, starts the bus with
 * the shipped policy (conf/org.sandboxd.conf) and connects env->conn */
gboolean sbx_test_env_setup(SbxTestEnv *env, const gchar *tmpdir, GError **error);
/* config/sandboxd.conf */
gboolean sbx_test_env_write_config(SbxTestEnv *env, const gchar *contents, GError **error);
/* sandboxd ($SBX_TEST_SANDBOXD or the one built here) with --address,
 * --config-dir, --plugin-dir, --runtime-dir, --state-dir and --verbose; waits
 * until it owns its name (an error with its log if it exits first) */
gboolean sbx_test_env_start_daemon(SbxTestEnv *env, GError **error);
/* SIGKILL and wait */
void sbx_test_env_kill_daemon(SbxTestEnv *env);
/* another client connection to the bus */
GDBusConnection *sbx_test_env_connect(SbxTestEnv *env, GError **error);

/* the integration tests' single environment; sbx_test_env_start() fills it */
SbxTestEnv *sbx_test_env_get(void);
/* @tmpdir exists: sbx_test_env_setup(), a config for $SBX_TEST_BACKEND and the test
 * image ($SBX_TEST_IMAGE_DIR), then the daemon */
gboolean sbx_test_env_start(SbxTestEnv *env, const gchar *tmpdir, GError **error);
/* SIGTERM, then SIGKILL after @timeout_ms; the exit status, or -signal */
gint sbx_test_env_stop_daemon(SbxTestEnv *env, guint timeout_ms);
void sbx_test_env_stop(SbxTestEnv *env);
/* starts a new sandboxd (stopping the old one first if it still runs) */
gboolean sbx_test_env_restart_daemon(SbxTestEnv *env, GError **error);
/* the last @max_bytes of the daemon's log */
gchar *sbx_test_env_daemon_log_tail(SbxTestEnv *env, gsize max_bytes);

/* whether org.sandboxd has an owner */
gboolean sbx_test_name_has_owner(GDBusConnection *conn, gboolean *owned, GError **error);
/* rm -rf, without following symlinks */
void sbx_test_rm_rf(const gchar *path);

/* D-Bus helpers; a NULL @conn means the integration env's conn */
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
/* the GError says why, so check it before the boolean (needs a GError *error) */
#define SBX_TEST_ASSERT_OK(call)                                                                   \
	G_STMT_START                                                                               \
	{                                                                                          \
		gboolean ok_ = (call);                                                             \
		g_assert_no_error(error);                                                          \
		g_assert_true(ok_);                                                                \
	}                                                                                          \
	G_STMT_END
/* @bytes (NULL: empty) as a string */
gchar *sbx_test_bytes_to_str(GBytes *bytes);
/* `sh -c SCRIPT` in the sandbox at @path; fails the test unless it exits 0;
 * returns its stdout */
gchar *sbx_test_sh_ok(const gchar *path, const gchar *script);
/* shorthand: runs `sh -c SCRIPT` */
gboolean sbx_test_sh(const gchar *path, const gchar *script, GBytes *input, SbxExecResult *res,
		     GError **error);

/* runs the built sandboxctl against the private bus; *exit_code is -signal if killed */
gboolean sbx_test_cli(const gchar *const *args, const gchar *input, gint *exit_code, gchar **out,
		      gchar **err, GError **error);

/* ReadLog of @which ("events", "console", ...) of a sandbox, whole */
gchar *sbx_test_read_log(const gchar *path, const gchar *which);

/* libvirt and host process checks */
gboolean sbx_test_domain_exists(const gchar *name, GError **error);
/* $SBX_TEST_BACKEND: "libvirt" (unset, the default) or "qemu" */
const gchar *sbx_test_backend(void);
/* is the VM of sandbox @id running on @backend (NULL: sbx_test_backend())?
 * libvirt: its domain is defined; qemu: its QEMU process runs */
gboolean sbx_test_vm_exists(const gchar *backend, const gchar *id, GError **error);
/* FALSE, saying why, when the test's backend cannot run VMs here (a skip) */
gboolean sbx_test_backend_probe(GError **error);
/* waits until the VM of sandbox @id is gone on the test's backend (libvirt
 * forgets a domain a little after its QEMU exited); fails after @timeout_s */
void sbx_test_wait_vm_gone(const gchar *id, guint timeout_s);
/* pids of QEMU processes whose command line mentions @name */
GArray *sbx_test_find_qemu(const gchar *name);
/* a port free for TCP and UDP on every IPv4 address right now (20000-39999),
 * or 0 */
guint sbx_test_pick_free_port(void);
/* every path below @dir, sorted, relative to it */
GPtrArray *sbx_test_list_files(const gchar *dir);

/* for the unit tests, asserting instead of returning errors */
void sbx_test_env_run_daemon(SbxTestEnv *env);
GDBusConnection *sbx_test_env_new_client(SbxTestEnv *env);
/* a method call on org.sandboxd without a timeout; @reply_type may be NULL */
GVariant *sbx_test_call(GDBusConnection *conn, const gchar *path, const gchar *iface,
			const gchar *method, GVariant *args, const gchar *reply_type,
			GError **error);
GVariant *sbx_test_get_prop(GDBusConnection *conn, const gchar *path, const gchar *iface,
			    const gchar *name);
/* CreateSandbox with @options in GVariant text form ("{'timeout': <'5m'>}") */
gchar *sbx_test_create_sandbox(GDBusConnection *conn, const gchar *options, GError **error);
/* an unlinked temporary file, and all that was written to it */
gint sbx_test_tmp_fd(void);
gchar *sbx_test_read_fd(gint fd);
/* iterates the default main context until @cond holds; fails after @timeout_s */
typedef gboolean (*SbxTestCondFunc)(gpointer data);
void sbx_test_wait_until(SbxTestCondFunc cond, gpointer data, guint timeout_s);
/* @error came from D-Bus with the error name @name (and @in_message, unless
 * NULL, in its message) */
void sbx_test_assert_remote_error(GError *error, const gchar *name, const gchar *in_message);

G_END_DECLS
