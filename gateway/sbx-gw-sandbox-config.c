/* x-deno-sandbox-config (base64 of Latin-1 JSON) -> CreateSandbox options; from a
 * network client: every field checked, unknown ones ignored (the SDK sends more).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "sbx-gw-rpc.h"
#include "sbx-gw-sandbox-config.h"

#define SBX_GW_MAX_CONFIG_HEADER (64 * 1024)
/* sandboxd has tighter bounds and says which; these keep the D-Bus call small */
#define SBX_GW_MAX_ALLOW_NET 256
#define SBX_GW_MAX_SECRETS 64

static gboolean
config_error(GError **error, const gchar *message)
{
	g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, message);
	return FALSE;
}

static GVariant *
config_fail(GError **error, const gchar *message)
{
	config_error(error, message);
	return NULL;
}

static gboolean
parse_volumes(JsonObject *config, GVariantBuilder *options, GError **error)
{
	g_auto(GVariantBuilder) vols = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
	JsonNode *node = json_object_get_member(config, "volumes");
	JsonArray *array;

	if (node == NULL || JSON_NODE_HOLDS_NULL(node))
		return TRUE;
	if (!JSON_NODE_HOLDS_ARRAY(node))
		return config_error(error, "volumes: expected an array");
	array = json_node_get_array(node);
	if (json_array_get_length(array) == 0)
		return TRUE;
	for (guint i = 0; i < json_array_get_length(array); i++) {
		JsonNode *el = json_array_get_element(array, i);
		const gchar *volume = NULL;
		const gchar *path = NULL;
		if (!JSON_NODE_HOLDS_OBJECT(el) ||
		    !sbx_gw_rpc_get_string(json_node_get_object(el), "volume", TRUE, &volume,
					   NULL) ||
		    !sbx_gw_rpc_get_string(json_node_get_object(el), "path", TRUE, &path, NULL))
			return config_error(error, "volumes: expected {volume, path} objects");
		g_variant_builder_add(&vols, "{sv}", path, g_variant_new_string(volume));
	}
	g_variant_builder_add(options, "{sv}", "volumes", g_variant_builder_end(&vols));
	return TRUE;
}

/* allowNet: ["host", "*.domain:port", "10.0.0.0/8", ...] -> allow_net (as);
 * sandboxd checks each entry and names a bad one */
static gboolean
parse_allow_net(JsonObject *config, GVariantBuilder *options, GError **error)
{
	JsonNode *node = json_object_get_member(config, "allow_net");
	g_autoptr(GStrvBuilder) hosts = g_strv_builder_new();
	g_auto(GStrv) list = NULL;
	JsonArray *array;

	if (node == NULL || JSON_NODE_HOLDS_NULL(node))
		return TRUE;
	if (!JSON_NODE_HOLDS_ARRAY(node))
		return config_error(error, "allowNet: expected an array of strings");
	array = json_node_get_array(node);
	if (json_array_get_length(array) > SBX_GW_MAX_ALLOW_NET)
		return config_error(error, "allowNet: too many entries");
	for (guint i = 0; i < json_array_get_length(array); i++) {
		JsonNode *el = json_array_get_element(array, i);
		if (!JSON_NODE_HOLDS_VALUE(el) || json_node_get_value_type(el) != G_TYPE_STRING)
			return config_error(error, "allowNet: expected an array of strings");
		g_strv_builder_add(hosts, json_node_get_string(el));
	}
	list = g_strv_builder_end(hosts);
	g_variant_builder_add(options, "{sv}", "allow_net",
			      g_variant_new_strv((const gchar *const *)list, -1));
	return TRUE;
}

/* secrets: {NAME: {hosts: [...], value}} -> secrets (a{s(ass)}); the
 * messages never carry a value */
static gboolean
parse_secrets(JsonObject *config, GVariantBuilder *options, GError **error)
{
	g_auto(GVariantBuilder) secrets = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a{s(ass)}"));
	JsonNode *node = json_object_get_member(config, "secrets");
	g_autoptr(GList) names = NULL;
	JsonObject *object;

	if (node == NULL || JSON_NODE_HOLDS_NULL(node))
		return TRUE;
	if (!JSON_NODE_HOLDS_OBJECT(node))
		return config_error(error, "secrets: expected an object");
	object = json_node_get_object(node);
	if (json_object_get_size(object) == 0)
		return TRUE;
	if (json_object_get_size(object) > SBX_GW_MAX_SECRETS)
		return config_error(error, "secrets: too many");
	names = json_object_get_members(object);
	for (GList *l = names; l != NULL; l = l->next) {
		JsonNode *el = json_object_get_member(object, l->data);
		g_autoptr(GStrvBuilder) hosts = g_strv_builder_new();
		g_auto(GStrv) list = NULL;
		JsonNode *hosts_node;
		const gchar *value = NULL;
		JsonArray *array;

		if (!JSON_NODE_HOLDS_OBJECT(el) ||
		    !sbx_gw_rpc_get_string(json_node_get_object(el), "value", TRUE, &value, NULL) ||
		    (hosts_node = json_object_get_member(json_node_get_object(el), "hosts")) ==
			NULL ||
		    !JSON_NODE_HOLDS_ARRAY(hosts_node))
			return config_error(error,
					    "secrets: expected {hosts: [string], value: string}");
		array = json_node_get_array(hosts_node);
		if (json_array_get_length(array) > SBX_GW_MAX_ALLOW_NET)
			return config_error(error, "secrets: too many hosts");
		for (guint i = 0; i < json_array_get_length(array); i++) {
			JsonNode *h = json_array_get_element(array, i);
			if (!JSON_NODE_HOLDS_VALUE(h) ||
			    json_node_get_value_type(h) != G_TYPE_STRING)
				return config_error(error, "secrets: hosts must be strings");
			g_strv_builder_add(hosts, json_node_get_string(h));
		}
		list = g_strv_builder_end(hosts);
		g_variant_builder_add(&secrets, "{s(^ass)}", (const gchar *)l->data, list, value);
	}
	g_variant_builder_add(options, "{sv}", "secrets", g_variant_builder_end(&secrets));
	return TRUE;
}

GVariant *
sbx_gw_sandbox_config_parse(const gchar *header, const gchar *image, gint64 now_ms, GError **error)
{
	g_auto(GVariantBuilder) options = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	g_autofree guchar *raw = NULL;
	g_autofree gchar *text = NULL;
	g_autoptr(GVariant) labels = NULL;
	JsonObject *config;
	JsonNode *root;
	gint64 memory = 0;
	gint64 stop_at = -1;
	gsize len = 0;

	if (header == NULL)
		return config_fail(error, "the x-deno-sandbox-config header is missing");
	if (strlen(header) > SBX_GW_MAX_CONFIG_HEADER)
		return config_fail(error, "the x-deno-sandbox-config header is too long");
	raw = g_base64_decode(header, &len);
	/* the SDK's btoa() encodes the JSON text as Latin-1 */
	text = g_convert((const gchar *)raw, (gssize)len, "UTF-8", "ISO-8859-1", NULL, NULL, NULL);
	if (text == NULL || !json_parser_load_from_data(parser, text, -1, NULL) ||
	    (root = json_parser_get_root(parser)) == NULL || !JSON_NODE_HOLDS_OBJECT(root))
		return config_fail(error, "x-deno-sandbox-config is not base64 of a JSON object");
	config = json_node_get_object(root);
	if (!sbx_gw_rpc_get_int(config, "memory_mb", TRUE, &memory, error))
		return NULL;
	/* sandboxd checks the range again; this answers in the SDK's own terms */
	if (memory < 768 || memory > 4096) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "memory_mb: %" G_GINT64_FORMAT " MiB is out of range (768-4096)",
			    memory);
		return NULL;
	}
	g_variant_builder_add(&options, "{sv}", "memory", g_variant_new_uint32((guint32)memory));
	if (image != NULL && image[0] != '\0')
		g_variant_builder_add(&options, "{sv}", "image", g_variant_new_string(image));
	if (!parse_allow_net(config, &options, error) || !parse_secrets(config, &options, error))
		return NULL;
	if (json_object_has_member(config, "root") &&
	    !JSON_NODE_HOLDS_NULL(json_object_get_member(config, "root")))
		return config_fail(error, "root volumes are not supported by this server yet");
	if (!sbx_gw_rpc_get_int(config, "stop_at_ms", FALSE, &stop_at, error))
		return NULL;
	if (stop_at >= 0) {
		gint64 secs = (stop_at - now_ms + 999) / 1000;
		g_autofree gchar *timeout = g_strdup_printf("%" G_GINT64_FORMAT "s", MAX(secs, 1));
		g_variant_builder_add(&options, "{sv}", "timeout", g_variant_new_string(timeout));
	} else {
		g_variant_builder_add(&options, "{sv}", "timeout", g_variant_new_string("session"));
	}
	if (!sbx_gw_rpc_get_string_map(config, "labels", &labels, error))
		return NULL;
	if (labels != NULL && g_variant_n_children(labels) > 0)
		g_variant_builder_add(&options, "{sv}", "labels", labels);
	if (!parse_volumes(config, &options, error))
		return NULL;
	return g_variant_ref_sink(g_variant_builder_end(&options));
}
