/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <string.h>

#include "sbx-config.h"
#include "sbx-error.h"
#include "sbx-text.h"

#define SBX_CONFIG_MAIN_FILE "sandboxd.conf"
#define SBX_CONFIG_DROPIN_DIR "sandboxd.conf.d"
#define SBX_CONFIG_STRING_MAX 4096
#define SBX_CONFIG_IMAGE_PREFIX "image "
#define SBX_CONFIG_REGION_PREFIX "region "
#define SBX_REGION_NAME_MAX 63

struct _SbxConfig {
	GObject parent_instance;
	GKeyFile *merged;
	GHashTable *sections; /* name -> const SbxConfigKey * (plugins; may be empty) */
	GHashTable *origins;  /* "section\nkey" -> file name */
	GHashTable *values;   /* "section\nkey" -> value with defaults, core keys only */
	GHashTable *images;   /* name -> SbxImage */
};

G_DEFINE_TYPE(SbxConfig, sbx_config, G_TYPE_OBJECT)

static const SbxConfigKey daemon_keys[] = {
    {"Backend", SBX_CONFIG_STRING},
    {"DefaultImage", SBX_CONFIG_STRING},
    {"BootTimeoutSec", SBX_CONFIG_UINT, 5, 600},
    {"MaxLifetimeSec", SBX_CONFIG_UINT, 1, 7 * 24 * 3600},
    {"StateDir", SBX_CONFIG_PATH},
    {"RuntimeDir", SBX_CONFIG_PATH},
    {"SnapshotDir", SBX_CONFIG_STRING},
    {"PoolSize", SBX_CONFIG_UINT, 0, 64},
    {"PoolMaxMemoryMiB", SBX_CONFIG_UINT, 0, 1024 * 1024},
    {"ExtendStepSec", SBX_CONFIG_UINT, 1, 7 * 24 * 3600},
    {"ExpiryGraceSec", SBX_CONFIG_UINT, 0, 600},
    {"DefaultRegion", SBX_CONFIG_STRING},
    {NULL},
};

/* auto: for every backend but test, whose VMs are plain processes */
static const gchar *const check_host_memory_choices[] = {"auto", "true", "false", NULL};

static const SbxConfigKey limits_keys[] = {
    {"MemoryMinMiB", SBX_CONFIG_UINT, 128, 1024 * 1024},
    {"MemoryMaxMiB", SBX_CONFIG_UINT, 128, 1024 * 1024},
    {"MemoryDefaultMiB", SBX_CONFIG_UINT, 128, 1024 * 1024},
    {"VCpusMax", SBX_CONFIG_UINT, 1, 256},
    {"VCpusDefault", SBX_CONFIG_UINT, 1, 256},
    {"MaxSandboxes", SBX_CONFIG_UINT, 1, 4096},
    {"DiskSizeGiB", SBX_CONFIG_UINT, 1, 16384},
    {"MaxSandboxesPerUser", SBX_CONFIG_UINT, 1, 4096},
    {"MaxConcurrentCreates", SBX_CONFIG_UINT, 1, 4096},
    {"MaxQueuedCreates", SBX_CONFIG_UINT, 0, 4096},
    {"CheckHostMemory", SBX_CONFIG_ENUM, 0, 0, check_host_memory_choices},
    {"HostMemoryReserveMiB", SBX_CONFIG_UINT, 0, 1024 * 1024 * 1024},
    {"GuestPidsMax", SBX_CONFIG_UINT, 16, 4194304},
    {"GuestMemoryReserveMiB", SBX_CONFIG_UINT, 0, 1024 * 1024},
    {"GuestProcessNice", SBX_CONFIG_UINT, 0, 19},
    {NULL},
};

/* [region NAME]: the backend, then the backend's own keys */
static const SbxConfigKey region_backend_key = {"Backend", SBX_CONFIG_STRING};
/* and what its guests never reach, instead of [network] BlockedRanges */
static const SbxConfigKey region_blocked_key = {"BlockedRanges", SBX_CONFIG_STRING};

/* durable volumes: capacity bounds and the backend CreateVolume uses */
static const SbxConfigKey volumes_keys[] = {
    {"MinCapacityMiB", SBX_CONFIG_UINT, 1, 16 * 1024 * 1024},
    {"MaxCapacityMiB", SBX_CONFIG_UINT, 1, 16 * 1024 * 1024},
    {"DefaultBackend", SBX_CONFIG_STRING},
    {NULL},
};

static const gchar *const root_format_choices[] = {"qcow2", "raw", NULL};

static const SbxConfigKey image_keys[] = {
    {"Kernel", SBX_CONFIG_PATH},
    {"Initrd", SBX_CONFIG_PATH},
    {"Cmdline", SBX_CONFIG_STRING},
    {"RootDisk", SBX_CONFIG_PATH},
    {"RootFormat", SBX_CONFIG_ENUM, 0, 0, root_format_choices},
    {"DiskSizeGiB", SBX_CONFIG_UINT, 1, 16384},
    {"Network", SBX_CONFIG_BOOL},
    {NULL},
};

/* defaults live here, and only here */
static const struct {
	const gchar *section;
	const gchar *key;
	const gchar *value;
} core_defaults[] = {
    {"daemon", "Backend", "qemu"},
    {"daemon", "DefaultImage", "debian"},
    {"daemon", "BootTimeoutSec", "120"},
    {"daemon", "MaxLifetimeSec", "1800"},
    /* records in a root-only subfolder: images and volumes beside it must stay
     * reachable by the QEMU user */
    {"daemon", "StateDir", SBX_STATEDIR "/sandboxes"},
    {"daemon", "RuntimeDir", SBX_RUNTIMEDIR},
    {"limits", "MemoryMinMiB", "768"},
    {"limits", "MemoryMaxMiB", "4096"},
    {"limits", "MemoryDefaultMiB", "1024"},
    {"limits", "VCpusMax", "2"},
    {"limits", "VCpusDefault", "2"},
    {"limits", "MaxSandboxes", "16"},
    {"limits", "DiskSizeGiB", "10"},
    {"volumes", "MinCapacityMiB", "300"},
    {"volumes", "MaxCapacityMiB", "20480"},
    {"volumes", "DefaultBackend", "qcow2"},
    {"daemon", "ExtendStepSec", "1800"},
    {"daemon", "PoolSize", "1"},
    {"daemon", "PoolMaxMemoryMiB", "4096"},
    {"daemon", "ExpiryGraceSec", "10"},
    {"daemon", "DefaultRegion", ""},
    {"limits", "MaxSandboxesPerUser", "8"},
    {"limits", "MaxConcurrentCreates", "4"},
    {"limits", "MaxQueuedCreates", "16"},
    {"limits", "CheckHostMemory", "auto"},
    {"limits", "HostMemoryReserveMiB", "512"},
    {"limits", "GuestPidsMax", "2048"},
    {"limits", "GuestMemoryReserveMiB", "48"},
    {"limits", "GuestProcessNice", "0"},
};

#define SBX_DEFAULT_IMAGE_NAME "minimal"

static const SbxConfigKey empty_keys[] = {{NULL}};

static gchar *
compose_key(const gchar *section, const gchar *key)
{
	return g_strconcat(section, "\n", key, NULL);
}

static void
sbx_config_finalize(GObject *object)
{
	SbxConfig *self = SBX_CONFIG(object);
	g_key_file_unref(self->merged);
	g_hash_table_unref(self->sections);
	g_hash_table_unref(self->origins);
	g_hash_table_unref(self->values);
	g_hash_table_unref(self->images);
	G_OBJECT_CLASS(sbx_config_parent_class)->finalize(object);
}

static void
sbx_config_class_init(SbxConfigClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = sbx_config_finalize;
}

static void
sbx_config_init(SbxConfig *self)
{
	self->merged = g_key_file_new();
	self->sections = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	self->origins = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	self->values = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	self->images =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)sbx_image_free);
	g_hash_table_insert(self->sections, g_strdup("daemon"), (gpointer)daemon_keys);
	g_hash_table_insert(self->sections, g_strdup("limits"), (gpointer)limits_keys);
	g_hash_table_insert(self->sections, g_strdup("volumes"), (gpointer)volumes_keys);
}

static gchar *
keys_to_string(const SbxConfigKey *keys)
{
	g_autoptr(GString) str = g_string_new(NULL);
	for (guint i = 0; keys[i].name != NULL; i++) {
		if (str->len > 0)
			g_string_append(str, ", ");
		g_string_append(str, keys[i].name);
	}
	if (str->len == 0)
		g_string_append(str, "none");
	return g_string_free(g_steal_pointer(&str), FALSE);
}

static gint
strv_sort_cb(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const gchar *const *)a, *(const gchar *const *)b);
}

static GPtrArray *
hash_keys(GHashTable *table)
{
	GPtrArray *keys = g_ptr_array_new();
	GHashTableIter iter;
	gpointer key;
	g_hash_table_iter_init(&iter, table);
	while (g_hash_table_iter_next(&iter, &key, NULL))
		g_ptr_array_add(keys, key);
	g_ptr_array_sort(keys, strv_sort_cb);
	return keys;
}

static gchar *
sections_to_string(SbxConfig *self)
{
	g_autoptr(GPtrArray) names = hash_keys(self->sections);
	g_autoptr(GString) str = g_string_new(NULL);
	g_ptr_array_sort(names, strv_sort_cb);
	for (guint i = 0; i < names->len; i++)
		g_string_append_printf(str, "[%s], ", (const gchar *)g_ptr_array_index(names, i));
	g_string_append(str, "[image NAME], [region NAME]");
	return g_string_free(g_steal_pointer(&str), FALSE);
}

static const SbxConfigKey *
find_key(const SbxConfigKey *keys, const gchar *name)
{
	for (guint i = 0; keys[i].name != NULL; i++) {
		if (g_strcmp0(keys[i].name, name) == 0)
			return &keys[i];
	}
	return NULL;
}

/* a region's key: Backend, or one of its backend's */
static const SbxConfigKey *
find_key_in(const SbxConfigKey *keys, gboolean is_region, const gchar *name)
{
	if (is_region && g_strcmp0(name, region_backend_key.name) == 0)
		return &region_backend_key;
	if (is_region && g_strcmp0(name, region_blocked_key.name) == 0)
		return &region_blocked_key;
	return find_key(keys, name);
}

/* [region NAME] takes the keys of the section of its Backend (set in this
 * file or an earlier one) */
static const SbxConfigKey *
region_schema(SbxConfig *self, const gchar *path, GKeyFile *kf, const gchar *group, GError **error)
{
	const gchar *name = group + strlen(SBX_CONFIG_REGION_PREFIX);
	g_autofree gchar *backend = g_key_file_get_string(kf, group, "Backend", NULL);
	const SbxConfigKey *schema;

	if (!sbx_image_name_is_valid(name) || strlen(name) > SBX_REGION_NAME_MAX) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_CONFIG,
			    "%s: [%s]: '%s' is not a valid region name (1-%u of A-Z a-z 0-9 - _ "
			    "., not starting with .)",
			    path, group, name, (guint)SBX_REGION_NAME_MAX);
		return NULL;
	}
	if (backend == NULL)
		backend = g_key_file_get_string(self->merged, group, "Backend", NULL);
	if (backend == NULL) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_CONFIG,
			    "%s: [%s] Backend: missing; every region names its hypervisor backend",
			    path, group);
		return NULL;
	}
	schema = g_hash_table_lookup(self->sections, backend);
	if (schema == NULL || g_strcmp0(backend, "daemon") == 0 ||
	    g_strcmp0(backend, "limits") == 0 || g_strcmp0(backend, "volumes") == 0) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_CONFIG,
			    "%s: [%s] Backend: no hypervisor plugin '%s'", path, group, backend);
		return NULL;
	}
	return schema;
}

/* checks one value; returns it normalised (image paths made absolute) */
static gchar *
check_value(const gchar *file, const gchar *group, const SbxConfigKey *key, GKeyFile *kf,
	    gboolean relative_ok, GError **error)
{
	g_autoptr(GError) error_local = NULL;
	g_autofree gchar *value = g_key_file_get_string(kf, group, key->name, &error_local);

	if (value == NULL) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_CONFIG, "%s: [%s] %s: %s", file, group,
			    key->name, error_local->message);
		return NULL;
	}
	if (strlen(value) > SBX_CONFIG_STRING_MAX || sbx_text_has_control_chars(value)) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_CONFIG,
			    "%s: [%s] %s: the value must be at most %u bytes of printable text",
			    file, group, key->name, (guint)SBX_CONFIG_STRING_MAX);
		return NULL;
	}

	switch (key->type) {
	case SBX_CONFIG_STRING:
		return g_steal_pointer(&value);
	case SBX_CONFIG_PATH:
		if (value[0] == '\0') {
			g_set_error(error, SBX_ERROR, SBX_ERROR_CONFIG,
				    "%s: [%s] %s: the value must be an absolute path, not empty",
				    file, group, key->name);
			return NULL;
		}
		if (!g_path_is_absolute(value)) {
			g_autofree gchar *dir = NULL;
			if (!relative_ok) {
				g_set_error(error, SBX_ERROR, SBX_ERROR_CONFIG,
					    "%s: [%s] %s: '%s' is a relative path; an absolute "
					    "path is required",
					    file, group, key->name, value);
				return NULL;
			}
			/* relative to the folder of the file that says it */
			dir = g_path_get_dirname(file);
			if (!g_path_is_absolute(dir)) {
				gchar *abs_dir = g_canonicalize_filename(dir, NULL);
				g_free(dir);
				dir = abs_dir;
			}
			return g_canonicalize_filename(value, dir);
		}
		return g_canonicalize_filename(value, NULL);
	case SBX_CONFIG_UINT: {
		guint64 n = 0;
		if (!g_ascii_string_to_unsigned(value, 10, key->min, key->max, &n, &error_local)) {
			if (g_error_matches(error_local, G_NUMBER_PARSER_ERROR,
					    G_NUMBER_PARSER_ERROR_OUT_OF_BOUNDS)) {
				g_set_error(
				    error, SBX_ERROR, SBX_ERROR_CONFIG,
				    "%s: [%s] %s: %s is out of range (allowed: %" G_GUINT64_FORMAT
				    "-%" G_GUINT64_FORMAT ")",
				    file, group, key->name, value, key->min, key->max);
			} else {
				g_set_error(
				    error, SBX_ERROR, SBX_ERROR_CONFIG,
				    "%s: [%s] %s: '%s' is not a number (allowed: %" G_GUINT64_FORMAT
				    "-%" G_GUINT64_FORMAT ")",
				    file, group, key->name, value, key->min, key->max);
			}
			return NULL;
		}
		return g_strdup_printf("%" G_GUINT64_FORMAT, n);
	}
	case SBX_CONFIG_BOOL:
		if (g_strcmp0(value, "true") != 0 && g_strcmp0(value, "false") != 0) {
			g_set_error(error, SBX_ERROR, SBX_ERROR_CONFIG,
				    "%s: [%s] %s: '%s' is not a boolean (allowed: true, false)",
				    file, group, key->name, value);
			return NULL;
		}
		return g_steal_pointer(&value);
	case SBX_CONFIG_ENUM:
		if (key->choices == NULL || !g_strv_contains(key->choices, value)) {
			g_autofree gchar *choices = key->choices != NULL
							? g_strjoinv(", ", (gchar **)key->choices)
							: g_strdup("none");
			g_set_error(error, SBX_ERROR, SBX_ERROR_CONFIG,
				    "%s: [%s] %s: '%s' is not allowed (allowed: %s)", file, group,
				    key->name, value, choices);
			return NULL;
		}
		return g_steal_pointer(&value);
	default:
		break;
	}
	g_set_error(error, SBX_ERROR, SBX_ERROR_CONFIG, "%s: [%s] %s: key has an unknown type",
		    file, group, key->name);
	return NULL;
}

static void
rebuild_values(SbxConfig *self)
{
	g_hash_table_remove_all(self->values);
	for (guint i = 0; i < G_N_ELEMENTS(core_defaults); i++) {
		gchar *value = g_key_file_get_string(self->merged, core_defaults[i].section,
						     core_defaults[i].key, NULL);
		if (value == NULL)
			value = g_strdup(core_defaults[i].value);
		g_hash_table_insert(self->values,
				    compose_key(core_defaults[i].section, core_defaults[i].key),
				    value);
	}
}

/* RootDisk, RootFormat, DiskSizeGiB, Network of one [image NAME] section */
static gboolean
read_image_disk_keys(SbxConfig *self, const gchar *group, SbxImage *image, GError **error)
{
	gchar *value;

	value = g_key_file_get_string(self->merged, group, "RootDisk", NULL);
	if (value != NULL) {
		g_free(image->root_disk);
		image->root_disk = value;
		/* a new disk without a format is qcow2, what build-debian.sh makes */
		if (image->root_format == NULL)
			image->root_format = g_strdup("qcow2");
		if (!g_key_file_has_key(self->merged, group, "Network", NULL))
			image->network = TRUE;
	}
	value = g_key_file_get_string(self->merged, group, "RootFormat", NULL);
	if (value != NULL) {
		g_free(image->root_format);
		image->root_format = value;
	}
	value = g_key_file_get_string(self->merged, group, "DiskSizeGiB", NULL);
	if (value != NULL) {
		image->disk_size_gib = (guint)g_ascii_strtoull(value, NULL, 10);
		g_free(value);
	}
	value = g_key_file_get_string(self->merged, group, "Network", NULL);
	if (value != NULL) {
		image->network = g_strcmp0(value, "true") == 0;
		g_free(value);
	}
	if (image->root_disk == NULL &&
	    (g_key_file_has_key(self->merged, group, "RootFormat", NULL) ||
	     g_key_file_has_key(self->merged, group, "DiskSizeGiB", NULL))) {
		const gchar *key = g_key_file_has_key(self->merged, group, "RootFormat", NULL)
				       ? "RootFormat"
				       : "DiskSizeGiB";
		g_set_error(error, SBX_ERROR, SBX_ERROR_CONFIG,
			    "%s: [%s] %s: needs RootDisk (an image without a disk has none)",
			    sbx_config_get_origin(self, group, key), group, key);
		return FALSE;
	}
	return TRUE;
}

static gboolean
rebuild_images(SbxConfig *self, GError **error)
{
	g_auto(GStrv) groups = g_key_file_get_groups(self->merged, NULL);

	g_hash_table_remove_all(self->images);
	g_hash_table_insert(self->images, g_strdup(SBX_DEFAULT_IMAGE_NAME),
			    sbx_image_new_default(SBX_DEFAULT_IMAGE_NAME));
	g_hash_table_insert(self->images, g_strdup(SBX_IMAGE_DEBIAN),
			    sbx_image_new_default(SBX_IMAGE_DEBIAN));
	for (guint i = 0; groups[i] != NULL; i++) {
		const gchar *name;
		g_autoptr(SbxImage) image = NULL;
		gchar *value;

		if (!g_str_has_prefix(groups[i], SBX_CONFIG_IMAGE_PREFIX))
			continue;
		name = groups[i] + strlen(SBX_CONFIG_IMAGE_PREFIX);
		if (g_strcmp0(name, SBX_DEFAULT_IMAGE_NAME) == 0 ||
		    g_strcmp0(name, SBX_IMAGE_DEBIAN) == 0)
			image = sbx_image_new_default(name);
		else
			image = sbx_image_new(name);
		value = g_key_file_get_string(self->merged, groups[i], "Kernel", NULL);
		if (value != NULL) {
			g_free(image->kernel);
			image->kernel = value;
		}
		value = g_key_file_get_string(self->merged, groups[i], "Initrd", NULL);
		if (value != NULL) {
			g_free(image->initrd);
			image->initrd = value;
		}
		value = g_key_file_get_string(self->merged, groups[i], "Cmdline", NULL);
		if (value != NULL) {
			g_free(image->cmdline);
			image->cmdline = value;
		}
		if (!read_image_disk_keys(self, groups[i], image, error))
			return FALSE;
		if (image->kernel == NULL) {
			g_auto(GStrv) keys =
			    g_key_file_get_keys(self->merged, groups[i], NULL, NULL);
			const gchar *origin = keys != NULL && keys[0] != NULL
						  ? sbx_config_get_origin(self, groups[i], keys[0])
						  : "config";
			g_set_error(error, SBX_ERROR, SBX_ERROR_CONFIG,
				    "%s: [%s] Kernel: missing; every image needs a kernel", origin,
				    groups[i]);
			return FALSE;
		}
		g_hash_table_insert(self->images, g_strdup(name), g_steal_pointer(&image));
	}
	/* a disk without its own size gets [limits] DiskSizeGiB */
	{
		GHashTableIter iter;
		gpointer value;
		g_hash_table_iter_init(&iter, self->images);
		while (g_hash_table_iter_next(&iter, NULL, &value)) {
			SbxImage *image = value;
			if (image->root_disk != NULL && image->disk_size_gib == 0)
				image->disk_size_gib = sbx_config_get_disk_size_gib(self);
		}
	}
	return TRUE;
}

SbxConfig *
sbx_config_new(void)
{
	SbxConfig *self = g_object_new(SBX_TYPE_CONFIG, NULL);
	rebuild_values(self);
	rebuild_images(self, NULL);
	return self;
}

void
sbx_config_add_section(SbxConfig *self, const gchar *section, const SbxConfigKey *keys)
{
	g_return_if_fail(SBX_IS_CONFIG(self));
	g_return_if_fail(section != NULL);
	g_hash_table_insert(self->sections, g_strdup(section),
			    (gpointer)(keys != NULL ? keys : empty_keys));
}

gboolean
sbx_config_load_file(SbxConfig *self, const gchar *path, GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) error_local = NULL;
	g_auto(GStrv) groups = NULL;

	g_return_val_if_fail(SBX_IS_CONFIG(self), FALSE);

	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &error_local)) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_CONFIG, "%s: %s", path,
			    error_local->message);
		return FALSE;
	}

	/* check the whole file before merging any of it */
	groups = g_key_file_get_groups(kf, NULL);
	for (guint i = 0; groups[i] != NULL; i++) {
		g_auto(GStrv) keys = g_key_file_get_keys(kf, groups[i], NULL, NULL);
		const SbxConfigKey *schema = g_hash_table_lookup(self->sections, groups[i]);
		gboolean is_image = FALSE;
		gboolean is_region = FALSE;

		if (schema == NULL && g_str_has_prefix(groups[i], SBX_CONFIG_IMAGE_PREFIX)) {
			const gchar *name = groups[i] + strlen(SBX_CONFIG_IMAGE_PREFIX);
			if (!sbx_image_name_is_valid(name)) {
				g_set_error(error, SBX_ERROR, SBX_ERROR_CONFIG,
					    "%s: [%s]: '%s' is not a valid image name (1-%u of "
					    "A-Z a-z 0-9 - _ ., not starting with .)",
					    path, groups[i], name, (guint)SBX_IMAGE_NAME_MAX);
				return FALSE;
			}
			schema = image_keys;
			is_image = TRUE;
		}
		if (schema == NULL && g_str_has_prefix(groups[i], SBX_CONFIG_REGION_PREFIX)) {
			schema = region_schema(self, path, kf, groups[i], error);
			if (schema == NULL)
				return FALSE;
			is_region = TRUE;
		}
		if (schema == NULL) {
			g_autofree gchar *known = sections_to_string(self);
			g_set_error(error, SBX_ERROR, SBX_ERROR_CONFIG,
				    "%s: unknown section [%s] (allowed: %s)", path, groups[i],
				    known);
			return FALSE;
		}
		for (guint j = 0; keys != NULL && keys[j] != NULL; j++) {
			const SbxConfigKey *key = find_key_in(schema, is_region, keys[j]);
			if (key == NULL) {
				g_autofree gchar *known = keys_to_string(schema);
				g_set_error(error, SBX_ERROR, SBX_ERROR_CONFIG,
					    "%s: [%s] unknown key '%s' (allowed: %s)", path,
					    groups[i], keys[j], known);
				return FALSE;
			}
		}
		for (guint j = 0; keys != NULL && keys[j] != NULL; j++) {
			const SbxConfigKey *key = find_key_in(schema, is_region, keys[j]);
			g_autofree gchar *value =
			    check_value(path, groups[i], key, kf,
					is_image && key->type == SBX_CONFIG_PATH, error);
			if (value == NULL)
				return FALSE;
			/* stash it in the file's own key file until all of it is good */
			g_key_file_set_string(kf, groups[i], keys[j], value);
		}
	}

	for (guint i = 0; groups[i] != NULL; i++) {
		g_auto(GStrv) keys = g_key_file_get_keys(kf, groups[i], NULL, NULL);
		for (guint j = 0; keys != NULL && keys[j] != NULL; j++) {
			g_autofree gchar *value =
			    g_key_file_get_string(kf, groups[i], keys[j], NULL);
			g_key_file_set_string(self->merged, groups[i], keys[j], value);
			g_hash_table_insert(self->origins, compose_key(groups[i], keys[j]),
					    g_strdup(path));
		}
	}
	rebuild_values(self);
	return TRUE;
}

static gboolean
check_order(SbxConfig *self, const gchar *section, const gchar *lo_key, const gchar *hi_key,
	    const gchar *blame_key, GError **error)
{
	guint64 lo = sbx_config_get_uint(self, section, lo_key);
	guint64 hi = sbx_config_get_uint(self, section, hi_key);
	if (lo <= hi)
		return TRUE;
	g_set_error(error, SBX_ERROR, SBX_ERROR_CONFIG,
		    "%s: [%s] %s: %s (%" G_GUINT64_FORMAT
		    ") must not be greater than %s (%" G_GUINT64_FORMAT ")",
		    sbx_config_get_origin(self, section, blame_key), section, blame_key, lo_key, lo,
		    hi_key, hi);
	return FALSE;
}

/* the key of a pair that a file set (rather than a default) takes the blame */
static const gchar *
blame(SbxConfig *self, const gchar *section, const gchar *a, const gchar *b)
{
	g_autofree gchar *ka = compose_key(section, a);
	return g_hash_table_contains(self->origins, ka) ? a : b;
}

gboolean
sbx_config_check(SbxConfig *self, GError **error)
{
	const gchar *image;

	g_return_val_if_fail(SBX_IS_CONFIG(self), FALSE);

	rebuild_values(self);
	if (!check_order(self, "limits", "MemoryMinMiB", "MemoryDefaultMiB",
			 blame(self, "limits", "MemoryDefaultMiB", "MemoryMinMiB"), error))
		return FALSE;
	if (!check_order(self, "limits", "MemoryDefaultMiB", "MemoryMaxMiB",
			 blame(self, "limits", "MemoryDefaultMiB", "MemoryMaxMiB"), error))
		return FALSE;
	if (!check_order(self, "limits", "VCpusDefault", "VCpusMax",
			 blame(self, "limits", "VCpusDefault", "VCpusMax"), error))
		return FALSE;
	if (!check_order(self, "volumes", "MinCapacityMiB", "MaxCapacityMiB",
			 blame(self, "volumes", "MinCapacityMiB", "MaxCapacityMiB"), error))
		return FALSE;
	if (!rebuild_images(self, error))
		return FALSE;
	image = sbx_config_get_default_image(self);
	if (sbx_config_get_image(self, image) == NULL) {
		g_autofree gchar *known = sbx_config_list_images(self);
		g_set_error(error, SBX_ERROR, SBX_ERROR_CONFIG,
			    "%s: [daemon] DefaultImage: no image '%s' (known: %s)",
			    sbx_config_get_origin(self, "daemon", "DefaultImage"), image, known);
		return FALSE;
	}
	return TRUE;
}

gboolean
sbx_config_load_dir(SbxConfig *self, const gchar *dir, GError **error)
{
	g_autofree gchar *main_file = g_build_filename(dir, SBX_CONFIG_MAIN_FILE, NULL);
	g_autofree gchar *dropin_dir = g_build_filename(dir, SBX_CONFIG_DROPIN_DIR, NULL);
	g_autoptr(GPtrArray) dropins = g_ptr_array_new_with_free_func(g_free);

	g_return_val_if_fail(SBX_IS_CONFIG(self), FALSE);

	if (g_file_test(main_file, G_FILE_TEST_EXISTS)) {
		if (!sbx_config_load_file(self, main_file, error))
			return FALSE;
	}
	if (g_file_test(dropin_dir, G_FILE_TEST_IS_DIR)) {
		g_autoptr(GError) error_local = NULL;
		g_autoptr(GDir) gdir = g_dir_open(dropin_dir, 0, &error_local);
		const gchar *name;
		if (gdir == NULL) {
			g_set_error(error, SBX_ERROR, SBX_ERROR_CONFIG, "%s: %s", dropin_dir,
				    error_local->message);
			return FALSE;
		}
		while ((name = g_dir_read_name(gdir)) != NULL) {
			if (g_str_has_suffix(name, ".conf") && name[0] != '.')
				g_ptr_array_add(dropins, g_build_filename(dropin_dir, name, NULL));
		}
		g_ptr_array_sort(dropins, strv_sort_cb);
		for (guint i = 0; i < dropins->len; i++) {
			if (!sbx_config_load_file(self, g_ptr_array_index(dropins, i), error))
				return FALSE;
		}
	}
	return sbx_config_check(self, error);
}

GKeyFile *
sbx_config_get_keyfile(SbxConfig *self)
{
	g_return_val_if_fail(SBX_IS_CONFIG(self), NULL);
	return self->merged;
}

const gchar *
sbx_config_get_origin(SbxConfig *self, const gchar *section, const gchar *key)
{
	g_autofree gchar *k = compose_key(section, key);
	const gchar *origin = g_hash_table_lookup(self->origins, k);
	return origin != NULL ? origin : "built-in default";
}

const gchar *
sbx_config_get_string(SbxConfig *self, const gchar *section, const gchar *key)
{
	g_autofree gchar *k = compose_key(section, key);
	g_return_val_if_fail(SBX_IS_CONFIG(self), NULL);
	return g_hash_table_lookup(self->values, k);
}

guint64
sbx_config_get_uint(SbxConfig *self, const gchar *section, const gchar *key)
{
	const gchar *value = sbx_config_get_string(self, section, key);
	g_return_val_if_fail(value != NULL, 0);
	return g_ascii_strtoull(value, NULL, 10);
}

const gchar *
sbx_config_get_backend(SbxConfig *self)
{
	return sbx_config_get_string(self, "daemon", "Backend");
}

const gchar *
sbx_config_get_default_image(SbxConfig *self)
{
	return sbx_config_get_string(self, "daemon", "DefaultImage");
}

const gchar *
sbx_config_get_runtime_dir(SbxConfig *self)
{
	return sbx_config_get_string(self, "daemon", "RuntimeDir");
}

const gchar *
sbx_config_get_state_dir(SbxConfig *self)
{
	return sbx_config_get_string(self, "daemon", "StateDir");
}

guint
sbx_config_get_boot_timeout_sec(SbxConfig *self)
{
	return (guint)sbx_config_get_uint(self, "daemon", "BootTimeoutSec");
}

guint
sbx_config_get_max_lifetime_sec(SbxConfig *self)
{
	return (guint)sbx_config_get_uint(self, "daemon", "MaxLifetimeSec");
}

guint
sbx_config_get_memory_min_mib(SbxConfig *self)
{
	return (guint)sbx_config_get_uint(self, "limits", "MemoryMinMiB");
}

guint
sbx_config_get_memory_max_mib(SbxConfig *self)
{
	return (guint)sbx_config_get_uint(self, "limits", "MemoryMaxMiB");
}

guint
sbx_config_get_memory_default_mib(SbxConfig *self)
{
	return (guint)sbx_config_get_uint(self, "limits", "MemoryDefaultMiB");
}

guint
sbx_config_get_vcpus_max(SbxConfig *self)
{
	return (guint)sbx_config_get_uint(self, "limits", "VCpusMax");
}

guint
sbx_config_get_vcpus_default(SbxConfig *self)
{
	return (guint)sbx_config_get_uint(self, "limits", "VCpusDefault");
}

guint
sbx_config_get_max_sandboxes(SbxConfig *self)
{
	return (guint)sbx_config_get_uint(self, "limits", "MaxSandboxes");
}

guint
sbx_config_get_disk_size_gib(SbxConfig *self)
{
	return (guint)sbx_config_get_uint(self, "limits", "DiskSizeGiB");
}

const SbxImage *
sbx_config_get_image(SbxConfig *self, const gchar *name)
{
	g_return_val_if_fail(SBX_IS_CONFIG(self), NULL);
	return g_hash_table_lookup(self->images, name);
}

gchar *
sbx_config_list_images(SbxConfig *self)
{
	g_autoptr(GPtrArray) names = hash_keys(self->images);
	g_ptr_array_sort(names, strv_sort_cb);
	g_ptr_array_add(names, NULL);
	return g_strjoinv(", ", (gchar **)names->pdata);
}
