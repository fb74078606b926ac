/* the daemon's configuration: sandboxd.conf + the sandboxd.conf.d folder,
 * checked against the core's and every plugin's key tables.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>

#include "sbx-config-key.h"
#include "sbx-image.h"

G_BEGIN_DECLS

#define SBX_TYPE_CONFIG (sbx_config_get_type())
G_DECLARE_FINAL_TYPE(SbxConfig, sbx_config, SBX, CONFIG, GObject)

/* a config with every built-in default and the built-in "minimal" image */
SbxConfig *sbx_config_new(void);

/* adds the schema of a plugin's section; @keys (NULL-name terminated, may be
 * NULL for a plugin without keys) must outlive @self. Call before loading. */
void sbx_config_add_section(SbxConfig *self, const gchar *section, const SbxConfigKey *keys);

/* reads <dir>/sandboxd.conf then <dir>/sandboxd.conf.d/ *.conf in name order;
 * either may be missing. Later files override earlier keys. */
gboolean sbx_config_load_dir(SbxConfig *self, const gchar *dir, GError **error);
/* reads one more file on top of what is loaded (load_dir uses this) */
gboolean sbx_config_load_file(SbxConfig *self, const gchar *path, GError **error);
/* cross-key checks; load_dir calls it, callers of load_file should too */
gboolean sbx_config_check(SbxConfig *self, GError **error);

/* the merged, checked key file, for plugins' configure() */
GKeyFile *sbx_config_get_keyfile(SbxConfig *self);
/* which file set @key, or "built-in default" */
const gchar *sbx_config_get_origin(SbxConfig *self, const gchar *section, const gchar *key);

/* any core key, with its default applied */
const gchar *sbx_config_get_string(SbxConfig *self, const gchar *section, const gchar *key);
guint64 sbx_config_get_uint(SbxConfig *self, const gchar *section, const gchar *key);

const gchar *sbx_config_get_backend(SbxConfig *self);
const gchar *sbx_config_get_default_image(SbxConfig *self);
const gchar *sbx_config_get_runtime_dir(SbxConfig *self);
const gchar *sbx_config_get_state_dir(SbxConfig *self);
guint sbx_config_get_boot_timeout_sec(SbxConfig *self);
guint sbx_config_get_max_lifetime_sec(SbxConfig *self);
guint sbx_config_get_memory_min_mib(SbxConfig *self);
guint sbx_config_get_memory_max_mib(SbxConfig *self);
guint sbx_config_get_memory_default_mib(SbxConfig *self);
guint sbx_config_get_vcpus_max(SbxConfig *self);
guint sbx_config_get_vcpus_default(SbxConfig *self);
guint sbx_config_get_max_sandboxes(SbxConfig *self);
/* the default size of a sandbox's root disk ([limits] DiskSizeGiB) */
guint sbx_config_get_disk_size_gib(SbxConfig *self);

/* NULL if there is no such image */
const SbxImage *sbx_config_get_image(SbxConfig *self, const gchar *name);
/* sorted, for error messages */
gchar *sbx_config_list_images(SbxConfig *self);

G_END_DECLS
