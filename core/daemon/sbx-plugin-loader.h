/* finds, checks and loads plugin shared objects.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>

#include "sbx-plugin.h"

G_BEGIN_DECLS

typedef struct {
	gchar *filename;
	gchar *name;
	SbxPluginKind kind;
	GType type;
} SbxPlugin;

#define SBX_TYPE_PLUGIN_LOADER (sbx_plugin_loader_get_type())
G_DECLARE_FINAL_TYPE(SbxPluginLoader, sbx_plugin_loader, SBX, PLUGIN_LOADER, GObject)

SbxPluginLoader *sbx_plugin_loader_new(void);

/* loads every *.so in @dir in name order; the first bad one is an error
 * naming its file */
gboolean sbx_plugin_loader_load_dir(SbxPluginLoader *self, const gchar *dir, GError **error);
/* loads one file; the result is owned by @self */
const SbxPlugin *sbx_plugin_loader_load_file(SbxPluginLoader *self, const gchar *path,
					     GError **error);

/* NULL if none */
const SbxPlugin *sbx_plugin_loader_lookup(SbxPluginLoader *self, SbxPluginKind kind,
					  const gchar *name);
/* element-type SbxPlugin, in load order */
GPtrArray *sbx_plugin_loader_get_plugins(SbxPluginLoader *self);
/* "libvirt, test": names of @kind, for error messages */
gchar *sbx_plugin_loader_list_names(SbxPluginLoader *self, SbxPluginKind kind);

/* the class's config table (NULL if none) */
const SbxConfigKey *sbx_plugin_loader_get_config_keys(const SbxPlugin *plugin);

G_END_DECLS
