/* sandboxctl: shared state and helpers of the command-line client.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <gio/gunixfdlist.h>

G_BEGIN_DECLS

#define SBX_CTL_BUS_NAME "org.sandboxd"
#define SBX_CTL_MANAGER_PATH "/org/sandboxd/Manager1"
#define SBX_CTL_MANAGER_IFACE "org.sandboxd.Manager1"
#define SBX_CTL_SANDBOX_IFACE "org.sandboxd.Sandbox1"
#define SBX_CTL_DEFAULT_TIMEOUT "10m"

/* exit codes of sandboxctl itself; exec and run otherwise pass the command's code through */
#define SBX_CTL_EXIT_OK 0
#define SBX_CTL_EXIT_FAILURE 1
/* a command killed by its --timeout, as timeout(1) says it */
#define SBX_CTL_EXIT_TIMED_OUT 124
#define SBX_CTL_EXIT_USAGE 2

/* how long to wait for Kill and the small queries; Create and Exec wait forever */
#define SBX_CTL_KILL_TIMEOUT_MS (120 * 1000)
#define SBX_CTL_QUERY_TIMEOUT_MS (30 * 1000)

typedef enum {
	SBX_CTL_BUS_DEFAULT,
	SBX_CTL_BUS_SYSTEM,
	SBX_CTL_BUS_SESSION,
	SBX_CTL_BUS_ADDRESS,
} SbxCtlBusKind;

typedef struct {
	SbxCtlBusKind bus_kind;
	gchar *address;
	GDBusConnection *connection;
} SbxCtl;

/* the options shared by create and run */
typedef struct {
	gchar *memory;
	gchar *vcpus;
	gchar **env;
	gchar **labels;
	gchar *image;
	gchar *timeout;
	gchar **volumes; /* NAME:/PATH[:ro] */
	gchar *region;
	gchar **allow_net; /* --allow-net, each a comma separated list */
	gchar **secrets;   /* --secret NAME@HOST[,HOST...]: the value from $NAME */
	gboolean no_network;
} SbxCtlCreateOptions;

typedef gint (*SbxCtlCommandFunc)(SbxCtl *ctl, gint argc, gchar **argv);

/* sbx-ctl.c */
void sbx_ctl_print_error(const gchar *format, ...) G_GNUC_PRINTF(1, 2);
gint sbx_ctl_usage_error(const gchar *format, ...) G_GNUC_PRINTF(1, 2);
gint sbx_ctl_report_local_error(GError *error);
gint sbx_ctl_report_dbus_error(SbxCtl *ctl, const gchar *what, GError *error);
gboolean sbx_ctl_connect(SbxCtl *ctl, GError **error);
const gchar *sbx_ctl_bus_description(SbxCtl *ctl);
GOptionContext *sbx_ctl_option_context_new(SbxCtl *ctl, const gchar *parameter_string,
					   const gchar *summary, const GOptionEntry *entries);
gboolean sbx_ctl_parse_command_line(GOptionContext *context, gint argc, gchar **argv,
				    gboolean want_command, gchar ***args_out, gchar ***command_out,
				    GError **error);
gboolean sbx_ctl_check_utf8(const gchar *const *strv, GError **error);
GVariant *sbx_ctl_parse_pairs(const gchar *const *pairs, const gchar *option_name, GError **error);
gboolean sbx_ctl_parse_uint(const gchar *str, const gchar *option_name, guint32 *value,
			    GError **error);
gchar *sbx_ctl_get_sandbox(SbxCtl *ctl, const gchar *id, GError **error);
gchar *sbx_ctl_find_sandbox(SbxCtl *ctl, const gchar *id, gint *exit_code);
gint sbx_ctl_exit_code(gint32 exit_status, gint32 signal_number);

/* sbx-ctl-create.c */
void sbx_ctl_create_options_add_entries(SbxCtlCreateOptions *opts, GOptionContext *context,
					gboolean for_run);
void sbx_ctl_create_options_clear(SbxCtlCreateOptions *opts);
GVariant *sbx_ctl_create_options_to_variant(SbxCtlCreateOptions *opts, const gchar *default_timeout,
					    GError **error);
gint sbx_ctl_create_main(SbxCtl *ctl, gint argc, gchar **argv);

/* sbx-ctl-exec.c */
GVariant *sbx_ctl_exec_options_to_variant(const gchar *const *env, const gchar *cwd,
					  GError **error);
GUnixFDList *sbx_ctl_exec_stdio_fd_list(GError **error);
GVariant *sbx_ctl_exec_parameters_new(gchar **command, GVariant *options);
gint sbx_ctl_exec_main(SbxCtl *ctl, gint argc, gchar **argv);

/* sbx-ctl-proc.c */
gboolean sbx_ctl_proc_add_user_option(GVariantDict *dict, const gchar *user, GError **error);
gint sbx_ctl_proc_run(SbxCtl *ctl, const gchar *sandbox_path, gchar **command, GVariantDict *dict,
		      gboolean tty);
gint sbx_ctl_proc_shell_main(SbxCtl *ctl, gint argc, gchar **argv);
gint sbx_ctl_proc_ps_main(SbxCtl *ctl, gint argc, gchar **argv);

/* sbx-ctl-run.c */
gint sbx_ctl_run_main(SbxCtl *ctl, gint argc, gchar **argv);

/* sbx-ctl-cp.c */
gint sbx_ctl_cp_main(SbxCtl *ctl, gint argc, gchar **argv);

/* sbx-ctl-extend.c */
gint sbx_ctl_extend_main(SbxCtl *ctl, gint argc, gchar **argv);

/* sbx-ctl-volume.c */
gint sbx_ctl_volume_main(SbxCtl *ctl, gint argc, gchar **argv);

/* sbx-ctl-image.c */
gint sbx_ctl_image_main(SbxCtl *ctl, gint argc, gchar **argv);
/* "NAME:/PATH[:ro]" strings -> CreateSandbox's "volumes" a{sv} */
GVariant *sbx_ctl_volume_parse_list(const gchar *const *specs, GError **error);

/* sbx-ctl-logs.c, sbx-ctl-status.c */
gint sbx_ctl_logs_main(SbxCtl *ctl, gint argc, gchar **argv);
gint sbx_ctl_status_main(SbxCtl *ctl, gint argc, gchar **argv);

/* sbx-ctl-list.c */
gint sbx_ctl_token_main(SbxCtl *ctl, gint argc, gchar **argv);

gint sbx_ctl_list_main(SbxCtl *ctl, gint argc, gchar **argv);
gint sbx_ctl_list_kill_main(SbxCtl *ctl, gint argc, gchar **argv);

G_END_DECLS
