/* validation of what D-Bus callers pass: CreateSandbox and Exec options.
 * Pure functions: no I/O, no D-Bus, so every bound is unit-tested.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "sbx-config.h"
#include "sbx-netpol-policy.h"
#include "sbx-netpol-secrets.h"

G_BEGIN_DECLS

#define SBX_LABELS_MAX 5
#define SBX_LABEL_KEY_MAX 64
#define SBX_LABEL_VALUE_MAX 128
#define SBX_ENV_MAX 256		   /* variables per env option */
#define SBX_ENV_NAME_MAX 256	   /* bytes */
#define SBX_ENV_VALUE_MAX 16384	   /* bytes */
#define SBX_ENV_TOTAL_MAX 49152	   /* bytes of all "KEY=VALUE" of one env option */
#define SBX_CWD_MAX 4096	   /* bytes */
#define SBX_ARGV_MAX 4096	   /* arguments */
#define SBX_ARG_MAX 32768	   /* bytes per argument */
#define SBX_EXEC_REQUEST_MAX 65536 /* the agent protocol's largest payload */

typedef struct {
	guint memory_mib;
	guint vcpus;
	GHashTable *env;    /* name -> value */
	GHashTable *labels; /* key -> value */
	gchar *image;
	guint timeout_sec; /* 0 = "session" */
	gchar *region;	   /* NULL = [daemon] DefaultRegion */
	/* NULL = unset: the default (internet minus the blocked ranges); no
	 * entries: no network at all; else only these destinations */
	SbxNetpolPolicy *allow_net;
	/* NULL: none; values kept in memory only (sbx-netpol-secrets.h) */
	SbxNetpolSecrets *secrets;
} SbxCreateOptions;

typedef enum {
	SBX_STDIO_PIPED, /* the passed descriptor (-1: /dev/null) */
	SBX_STDIO_NULL,
	SBX_STDIO_MERGED, /* stderr only: into stdout */
} SbxStdioMode;

#define SBX_EXEC_TIMEOUT_MAX_MS (30u * 24u * 3600u * 1000u)
#define SBX_USER_NAME_MAX 64

typedef struct {
	GHashTable *env; /* name -> value */
	gchar *cwd;	 /* NULL = agent default */
	/* process options (Spawn; Exec takes them too, except detach) */
	gboolean clear_env;
	gint uid; /* -1 = unset */
	gint gid; /* -1 = unset */
	gchar *user;
	SbxStdioMode stdio[3]; /* stdin, stdout, stderr */
	guint timeout_ms;      /* 0 = none */
	gboolean detach;
	gboolean pty;
	guint rows; /* 0 = default; only with pty */
	guint cols;
} SbxExecOptions;

/* @options must be of type a{sv}; limits and images come from @config */
SbxCreateOptions *sbx_options_create_parse(GVariant *options, SbxConfig *config, GError **error);
void sbx_options_create_free(SbxCreateOptions *opts);

SbxExecOptions *sbx_options_exec_parse(GVariant *options, GError **error);
/* sbx-spawn-options.c: the process keys of sbx_options_exec_parse() (an
 * unknown @key fails), and the checks across keys */
gboolean sbx_spawn_options_parse_key(SbxExecOptions *opts, const gchar *key, GVariant *value,
				     GError **error);
gboolean sbx_spawn_options_check(SbxExecOptions *opts, GError **error);
void sbx_options_exec_free(SbxExecOptions *opts);

gboolean sbx_options_exec_check_argv(const gchar *const *argv, GError **error);

/* "KEY=VALUE" strings, sorted by name; @exec_env wins over @sandbox_env */
gchar **sbx_options_exec_build_envp(GHashTable *sandbox_env, GHashTable *exec_env);

/* the whole request must fit in one agent protocol frame */
gboolean sbx_options_exec_check_size(const gchar *const *argv, const gchar *const *envp,
				     const gchar *cwd, GError **error);

/* u milliseconds, or "500ms", "30s", "5m", "1h" -> milliseconds (> 0) */
gboolean sbx_spawn_options_parse_timeout_ms(const gchar *key, GVariant *value, guint *out,
					    GError **error);

/* "90", "30s", "5m", "1h" -> seconds */
gboolean sbx_options_parse_duration(const gchar *text, guint64 *seconds, GError **error);

gboolean sbx_options_env_name_is_valid(const gchar *name);

/* a{ss} as a GVariant, for the Labels property */
GVariant *sbx_options_string_table_to_variant(GHashTable *table);

/* sets an org.sandboxd.Error.InvalidArgument with the message; returns FALSE */
gboolean sbx_options_invalid(GError **error, const gchar *format, ...) G_GNUC_PRINTF(2, 3);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxCreateOptions, sbx_options_create_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxExecOptions, sbx_options_exec_free)

G_END_DECLS
