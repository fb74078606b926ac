/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbx-error.h"
#include "sbx-hypervisor-backend.h"
#include "sbx-plugin-loader.h"
#include "sbx-volume-backend.h"

#define SBX_PLUGIN_NAME_MAX 32

struct _SbxPluginLoader {
	GObject parent_instance;
	GPtrArray *plugins; /* element-type SbxPlugin */
};

G_DEFINE_TYPE(SbxPluginLoader, sbx_plugin_loader, G_TYPE_OBJECT)

static void
sbx_plugin_free(SbxPlugin *plugin)
{
	g_free(plugin->filename);
	g_free(plugin->name);
	g_free(plugin);
}

static void
sbx_plugin_loader_finalize(GObject *object)
{
	SbxPluginLoader *self = SBX_PLUGIN_LOADER(object);
	/* the modules stay resident: their GTypes cannot be unregistered */
	g_ptr_array_unref(self->plugins);
	G_OBJECT_CLASS(sbx_plugin_loader_parent_class)->finalize(object);
}

static void
sbx_plugin_loader_class_init(SbxPluginLoaderClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = sbx_plugin_loader_finalize;
}

static void
sbx_plugin_loader_init(SbxPluginLoader *self)
{
	self->plugins = g_ptr_array_new_with_free_func((GDestroyNotify)sbx_plugin_free);
}

SbxPluginLoader *
sbx_plugin_loader_new(void)
{
	return g_object_new(SBX_TYPE_PLUGIN_LOADER, NULL);
}

static gboolean
plugin_name_is_valid(const gchar *name)
{
	gsize len = strlen(name);
	if (len == 0 || len > SBX_PLUGIN_NAME_MAX)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_islower(name[i]) && !g_ascii_isdigit(name[i]) && name[i] != '-' &&
		    name[i] != '_')
			return FALSE;
	}
	return TRUE;
}

static const gchar *
kind_to_string(SbxPluginKind kind)
{
	switch (kind) {
	case SBX_PLUGIN_KIND_HYPERVISOR:
		return "hypervisor";
	case SBX_PLUGIN_KIND_VOLUME:
		return "volume";
	default:
		break;
	}
	return "unknown";
}

static gboolean
check_file(const gchar *path, GError **error)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_PLUGIN, "plugin %s: %s", path,
			    g_strerror(errno));
		return FALSE;
	}
	if (!S_ISREG(st.st_mode)) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_PLUGIN, "plugin %s: not a regular file",
			    path);
		return FALSE;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_PLUGIN,
			    "plugin %s: refusing a file writable by group or others (mode %04o)",
			    path, (guint)(st.st_mode & 07777));
		return FALSE;
	}
	if (st.st_uid != 0 && st.st_uid != getuid()) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_PLUGIN,
			    "plugin %s: refusing a file owned by uid %u (must be root or uid %u)",
			    path, (guint)st.st_uid, (guint)getuid());
		return FALSE;
	}
	return TRUE;
}

static GType
base_type_for_kind(SbxPluginKind kind)
{
	if (kind == SBX_PLUGIN_KIND_HYPERVISOR)
		return SBX_TYPE_HYPERVISOR_BACKEND;
	return SBX_TYPE_VOLUME_BACKEND;
}

const SbxPlugin *
sbx_plugin_loader_load_file(SbxPluginLoader *self, const gchar *path, GError **error)
{
	GModule *module;
	gpointer symbol = NULL;
	const SbxPluginInfo *info;
	SbxPlugin *plugin;
	GType type;
	GType base;

	g_return_val_if_fail(SBX_IS_PLUGIN_LOADER(self), NULL);

	if (!check_file(path, error))
		return NULL;
	module = g_module_open(path, G_MODULE_BIND_LOCAL | G_MODULE_BIND_LAZY);
	if (module == NULL) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_PLUGIN, "plugin %s: cannot load: %s", path,
			    g_module_error());
		return NULL;
	}
	if (!g_module_symbol(module, SBX_PLUGIN_QUERY_SYMBOL, &symbol) || symbol == NULL) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_PLUGIN,
			    "plugin %s: no %s symbol; not a sandboxd plugin", path,
			    SBX_PLUGIN_QUERY_SYMBOL);
		g_module_close(module);
		return NULL;
	}
	info = ((SbxPluginQueryFunc)symbol)();
	if (info == NULL) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_PLUGIN, "plugin %s: %s returned nothing",
			    path, SBX_PLUGIN_QUERY_SYMBOL);
		g_module_close(module);
		return NULL;
	}
	/* nothing beyond the first two fields may be read before these checks */
	if (info->abi_version != SBX_PLUGIN_ABI_VERSION) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_PLUGIN,
			    "plugin %s: built for plugin ABI version %u, this sandboxd has "
			    "version %u",
			    path, info->abi_version, (guint)SBX_PLUGIN_ABI_VERSION);
		g_module_close(module);
		return NULL;
	}
	if (info->struct_size != sizeof(SbxPluginInfo)) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_PLUGIN,
			    "plugin %s: plugin info is %u bytes, this sandboxd expects %u (ABI "
			    "version %u)",
			    path, info->struct_size, (guint)sizeof(SbxPluginInfo),
			    (guint)SBX_PLUGIN_ABI_VERSION);
		g_module_close(module);
		return NULL;
	}
	if (info->kind != SBX_PLUGIN_KIND_HYPERVISOR && info->kind != SBX_PLUGIN_KIND_VOLUME) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_PLUGIN, "plugin %s: unknown kind %d", path,
			    (gint)info->kind);
		g_module_close(module);
		return NULL;
	}
	if (info->name == NULL || !plugin_name_is_valid(info->name)) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_PLUGIN,
			    "plugin %s: invalid name (1-%u of a-z 0-9 - _)", path,
			    (guint)SBX_PLUGIN_NAME_MAX);
		g_module_close(module);
		return NULL;
	}
	if (info->get_type == NULL) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_PLUGIN, "plugin %s: no get_type function",
			    path);
		g_module_close(module);
		return NULL;
	}
	for (guint i = 0; i < self->plugins->len; i++) {
		SbxPlugin *other = g_ptr_array_index(self->plugins, i);
		if (g_strcmp0(other->name, info->name) == 0) {
			g_set_error(error, SBX_ERROR, SBX_ERROR_PLUGIN,
				    "plugin %s: name '%s' is already used by %s", path, info->name,
				    other->filename);
			g_module_close(module);
			return NULL;
		}
	}

	/* from here on the module may have registered types: never unload it */
	g_module_make_resident(module);
	type = info->get_type();
	base = base_type_for_kind(info->kind);
	if (type == G_TYPE_INVALID || !g_type_is_a(type, base) || G_TYPE_IS_ABSTRACT(type)) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_PLUGIN,
			    "plugin %s: a %s plugin's type must be a concrete subclass of %s, "
			    "got %s",
			    path, kind_to_string(info->kind), g_type_name(base),
			    type == G_TYPE_INVALID ? "none" : g_type_name(type));
		return NULL;
	}

	plugin = g_new0(SbxPlugin, 1);
	plugin->filename = g_strdup(path);
	plugin->name = g_strdup(info->name);
	plugin->kind = info->kind;
	plugin->type = type;
	g_ptr_array_add(self->plugins, plugin);
	g_debug("loaded %s plugin '%s' from %s", kind_to_string(plugin->kind), plugin->name, path);
	return plugin;
}

static gint
str_cmp_cb(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const gchar *const *)a, *(const gchar *const *)b);
}

gboolean
sbx_plugin_loader_load_dir(SbxPluginLoader *self, const gchar *dir, GError **error)
{
	g_autoptr(GError) error_local = NULL;
	g_autoptr(GDir) gdir = NULL;
	g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
	const gchar *name;

	g_return_val_if_fail(SBX_IS_PLUGIN_LOADER(self), FALSE);

	gdir = g_dir_open(dir, 0, &error_local);
	if (gdir == NULL) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_PLUGIN, "plugin folder %s: %s", dir,
			    error_local->message);
		return FALSE;
	}
	while ((name = g_dir_read_name(gdir)) != NULL) {
		if (g_str_has_suffix(name, ".so") && name[0] != '.')
			g_ptr_array_add(files, g_build_filename(dir, name, NULL));
	}
	g_ptr_array_sort(files, str_cmp_cb);
	for (guint i = 0; i < files->len; i++) {
		if (sbx_plugin_loader_load_file(self, g_ptr_array_index(files, i), error) == NULL)
			return FALSE;
	}
	return TRUE;
}

const SbxPlugin *
sbx_plugin_loader_lookup(SbxPluginLoader *self, SbxPluginKind kind, const gchar *name)
{
	g_return_val_if_fail(SBX_IS_PLUGIN_LOADER(self), NULL);
	for (guint i = 0; i < self->plugins->len; i++) {
		SbxPlugin *plugin = g_ptr_array_index(self->plugins, i);
		if (plugin->kind == kind && g_strcmp0(plugin->name, name) == 0)
			return plugin;
	}
	return NULL;
}

GPtrArray *
sbx_plugin_loader_get_plugins(SbxPluginLoader *self)
{
	g_return_val_if_fail(SBX_IS_PLUGIN_LOADER(self), NULL);
	return self->plugins;
}

gchar *
sbx_plugin_loader_list_names(SbxPluginLoader *self, SbxPluginKind kind)
{
	g_autoptr(GString) str = g_string_new(NULL);
	for (guint i = 0; i < self->plugins->len; i++) {
		SbxPlugin *plugin = g_ptr_array_index(self->plugins, i);
		if (plugin->kind != kind)
			continue;
		if (str->len > 0)
			g_string_append(str, ", ");
		g_string_append(str, plugin->name);
	}
	if (str->len == 0)
		g_string_append(str, "none");
	return g_string_free(g_steal_pointer(&str), FALSE);
}

const SbxConfigKey *
sbx_plugin_loader_get_config_keys(const SbxPlugin *plugin)
{
	const SbxConfigKey *keys = NULL;
	gpointer klass = g_type_class_ref(plugin->type);
	if (plugin->kind == SBX_PLUGIN_KIND_HYPERVISOR)
		keys = SBX_HYPERVISOR_BACKEND_CLASS(klass)->config_keys;
	else
		keys = SBX_VOLUME_BACKEND_CLASS(klass)->config_keys;
	/* the class stays alive: the module is resident and we keep a ref */
	return keys;
}
