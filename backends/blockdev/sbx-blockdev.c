/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <json-glib/json-glib.h>

#include "sbx-blockdev.h"

#define NAME_MAX_LEN 255
#define KEY_MAX_LEN 256

static gboolean
invalid(GError **error, const gchar *what, const gchar *why)
{
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s: %s", what, why);
	return FALSE;
}

/* a pool or image name: printable, no control characters */
static gboolean
check_name(const gchar *what, const gchar *value, GError **error)
{
	if (value == NULL || value[0] == '\0')
		return invalid(error, what, "missing");
	if (strlen(value) > NAME_MAX_LEN || !g_utf8_validate(value, -1, NULL))
		return invalid(error, what, "longer than 255 bytes or not UTF-8");
	for (const gchar *p = value; *p != '\0'; p++) {
		if (g_ascii_iscntrl(*p))
			return invalid(error, what, "has control characters");
	}
	return TRUE;
}

static gboolean
check_chars(const gchar *what, const gchar *value, const gchar *extra, GError **error)
{
	if (value == NULL || value[0] == '\0' || strlen(value) > NAME_MAX_LEN)
		return invalid(error, what, "missing or longer than 255 bytes");
	for (const gchar *p = value; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && strchr(extra, *p) == NULL) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "%s: '%c' is not allowed", what,
				    g_ascii_isprint(*p) ? *p : '?');
			return FALSE;
		}
	}
	return TRUE;
}

gboolean
sbx_blockdev_check_source(const SbxDiskSource *source, GError **error)
{
	if (source == NULL)
		return invalid(error, "disk", "no source");
	if (source->kind == SBX_DISK_SOURCE_FILE) {
		if (source->path == NULL || !g_path_is_absolute(source->path) ||
		    strlen(source->path) > 4096 || !g_utf8_validate(source->path, -1, NULL))
			return invalid(error, "file volume", "the path must be absolute UTF-8");
		if (g_strcmp0(source->format, "qcow2") != 0 &&
		    g_strcmp0(source->format, "raw") != 0)
			return invalid(error, "file volume", "the format must be qcow2 or raw");
		return TRUE;
	}
	if (source->kind != SBX_DISK_SOURCE_RBD)
		return invalid(error, "disk", "unknown source kind");
	if (!check_name("rbd volume pool", source->pool, error) ||
	    !check_name("rbd volume image", source->image, error))
		return FALSE;
	if (source->monitors == NULL || source->monitors[0] == NULL)
		return invalid(error, "rbd volume", "no monitors");
	for (guint i = 0; source->monitors[i] != NULL; i++) {
		if (i >= 16)
			return invalid(error, "rbd volume", "more than 16 monitors");
		if (!check_chars("rbd volume monitor", source->monitors[i], ".:-[]", error))
			return FALSE;
	}
	if (source->auth_user != NULL &&
	    !check_chars("rbd volume user", source->auth_user, "._-", error))
		return FALSE;
	if (source->auth_key != NULL) {
		gsize len = strlen(source->auth_key);
		if (len == 0 || len > KEY_MAX_LEN ||
		    strspn(source->auth_key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					     "0123456789+/=") != len)
			return invalid(error, "rbd volume key", "not base64 of at most 256 bytes");
	}
	return TRUE;
}

/* "host", "host:port", "[v6]:port" or a bare v6 address */
static void
add_server(JsonBuilder *b, const gchar *monitor)
{
	g_autofree gchar *host = g_strdup(monitor);
	const gchar *port = "6789";
	gchar *colon = strrchr(host, ':');

	if (colon != NULL && (host[0] == '[' || strchr(host, ':') == colon)) {
		*colon = '\0';
		port = colon + 1;
	}
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		host[strlen(host) - 1] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "host");
	json_builder_add_string_value(b, host);
	json_builder_set_member_name(b, "port");
	json_builder_add_string_value(b, port);
	json_builder_end_object(b);
}

static void
add_string(JsonBuilder *b, const gchar *name, const gchar *value)
{
	json_builder_set_member_name(b, name);
	json_builder_add_string_value(b, value);
}

static void
add_rbd(JsonBuilder *b, const SbxDiskSource *source, const SbxBlockdevOptions *opts)
{
	add_string(b, "driver", "rbd");
	add_string(b, "pool", source->pool);
	add_string(b, "image", source->image);
	if (source->auth_user != NULL)
		add_string(b, "user", source->auth_user);
	if (opts->secret_id != NULL)
		add_string(b, "key-secret", opts->secret_id);
	if (source->monitors != NULL && source->monitors[0] != NULL) {
		json_builder_set_member_name(b, "server");
		json_builder_begin_array(b);
		for (guint i = 0; source->monitors[i] != NULL; i++)
			add_server(b, source->monitors[i]);
		json_builder_end_array(b);
	}
	if (opts->discard)
		add_string(b, "discard", "unmap");
}

/* one file layer and, explicitly, the ones under it (the last has none) */
static void
add_layer(JsonBuilder *b, const SbxBlockdevOptions *opts, guint i)
{
	gboolean qcow2 = g_strcmp0(opts->formats[i], "qcow2") == 0;

	add_string(b, "driver", qcow2 ? "qcow2" : "file");
	if (qcow2) {
		json_builder_set_member_name(b, "file");
		json_builder_begin_object(b);
		add_string(b, "driver", "file");
	}
	add_string(b, "filename", opts->filenames[i]);
	if (opts->discard && i == 0)
		add_string(b, "discard", "unmap");
	if (qcow2) {
		json_builder_end_object(b);
		if (opts->discard && i == 0)
			add_string(b, "discard", "unmap");
		json_builder_set_member_name(b, "backing");
		if (i + 1 < opts->n_layers) {
			json_builder_begin_object(b);
			json_builder_set_member_name(b, "read-only");
			json_builder_add_boolean_value(b, TRUE);
			add_layer(b, opts, i + 1);
			json_builder_end_object(b);
		} else {
			json_builder_add_null_value(b);
		}
	}
}

gchar *
sbx_blockdev_json(const SbxDiskSource *source, const SbxBlockdevOptions *opts)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(b);
	add_string(b, "node-name", opts->node_name);
	json_builder_set_member_name(b, "read-only");
	json_builder_add_boolean_value(b, opts->read_only);
	if (source->kind == SBX_DISK_SOURCE_RBD) {
		add_rbd(b, source, opts);
	} else if (opts->n_layers > 0) {
		add_layer(b, opts, 0);
	} else {
		/* a file: raw, or qcow2 on it (its backing files found by QEMU) */
		gboolean qcow2 = g_strcmp0(source->format, "raw") != 0;
		add_string(b, "driver", qcow2 ? "qcow2" : "file");
		if (qcow2) {
			json_builder_set_member_name(b, "file");
			json_builder_begin_object(b);
			add_string(b, "driver", "file");
		}
		add_string(b, "filename", source->path);
		if (qcow2)
			json_builder_end_object(b);
	}
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	return json_to_string(root, FALSE);
}
