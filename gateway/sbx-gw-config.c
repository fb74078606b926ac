/* gateway configuration: defaults in code, [gateway] keys in the daemon's config files.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "sbx-gw-config.h"
#include "sbx-gw-id.h"

#define SBX_GW_GROUP "gateway"
#define MIB (1024ULL * 1024ULL)

void
sbx_gw_config_free(SbxGwConfig *config)
{
	g_free(config->listen);
	g_free(config->tls_certificate);
	g_free(config->tls_key);
	g_free(config->expose_base_domain);
	g_free(config->region);
	g_free(config->work_dir);
	g_free(config->user);
	g_free(config->image);
	g_free(config->ssh_listen);
	g_free(config->ssh_hostname);
	g_free(config->state_dir);
	g_free(config);
}

static gboolean
read_uint(GKeyFile *kf, const gchar *path, const gchar *key, guint64 min, guint64 max,
	  guint64 *value, GError **error)
{
	g_autoptr(GError) local_error = NULL;
	guint64 v;

	if (!g_key_file_has_key(kf, SBX_GW_GROUP, key, NULL))
		return TRUE;
	v = g_key_file_get_uint64(kf, SBX_GW_GROUP, key, &local_error);
	if (local_error != NULL || v < min || v > max) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "%s: [gateway] %s must be %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT,
			    path, key, min, max);
		return FALSE;
	}
	*value = v;
	return TRUE;
}

static gboolean
read_size_mib(GKeyFile *kf, const gchar *path, const gchar *key, guint64 min, guint64 max,
	      guint64 *value, GError **error)
{
	if (!read_uint(kf, path, key, min, max, value, error))
		return FALSE;
	if (g_key_file_has_key(kf, SBX_GW_GROUP, key, NULL))
		*value *= MIB;
	return TRUE;
}

/* a count that fits a guint */
static gboolean
read_count(GKeyFile *kf, const gchar *path, const gchar *key, guint min, guint max, guint *value,
	   GError **error)
{
	guint64 v = *value;
	if (!read_uint(kf, path, key, min, max, &v, error))
		return FALSE;
	*value = (guint)v;
	return TRUE;
}

static gboolean
read_string(GKeyFile *kf, const gchar *key, gchar **value)
{
	g_autofree gchar *v = g_key_file_get_string(kf, SBX_GW_GROUP, key, NULL);
	if (v == NULL)
		return FALSE;
	g_free(*value);
	*value = g_strstrip(g_steal_pointer(&v));
	return TRUE;
}

static gboolean
apply_file(SbxGwConfig *config, const gchar *path, GError **error)
{
	static const gchar *const known[] = {"Listen",
					     "TLSCertificate",
					     "TLSKey",
					     "AllowPlainHTTP",
					     "Region",
					     "WorkDir",
					     "User",
					     "MaxMessageMiB",
					     "MaxStreamBufferMiB",
					     "MaxReadFileMiB",
					     "Image",
					     "RequestsPerSecond",
					     "RequestBurst",
					     "MaxSandboxesPerToken",
					     "MaxCallsPerSocket",
					     "ExposeBaseDomain",
					     "ExposeIdleTimeoutSec",
					     "SSHListen",
					     "SSHHostname",
					     "StateDir",
					     "DenoEvalTimeoutSec",
					     NULL};
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_auto(GStrv) keys = NULL;

	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, error)) {
		g_prefix_error(error, "%s: ", path);
		return FALSE;
	}
	if (!g_key_file_has_group(kf, SBX_GW_GROUP))
		return TRUE;
	keys = g_key_file_get_keys(kf, SBX_GW_GROUP, NULL, NULL);
	for (guint i = 0; keys != NULL && keys[i] != NULL; i++) {
		if (!g_strv_contains(known, keys[i])) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "%s: unknown key [gateway] %s", path, keys[i]);
			return FALSE;
		}
	}
	read_string(kf, "Listen", &config->listen);
	read_string(kf, "TLSCertificate", &config->tls_certificate);
	read_string(kf, "TLSKey", &config->tls_key);
	read_string(kf, "Region", &config->region);
	read_string(kf, "WorkDir", &config->work_dir);
	read_string(kf, "User", &config->user);
	read_string(kf, "Image", &config->image);
	read_string(kf, "ExposeBaseDomain", &config->expose_base_domain);
	read_string(kf, "SSHListen", &config->ssh_listen);
	read_string(kf, "SSHHostname", &config->ssh_hostname);
	read_string(kf, "StateDir", &config->state_dir);
	if (g_key_file_has_key(kf, SBX_GW_GROUP, "AllowPlainHTTP", NULL)) {
		g_autoptr(GError) local_error = NULL;
		config->allow_plain_http =
		    g_key_file_get_boolean(kf, SBX_GW_GROUP, "AllowPlainHTTP", &local_error);
		if (local_error != NULL) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "%s: [gateway] AllowPlainHTTP must be true or false", path);
			return FALSE;
		}
	}
	if (!read_size_mib(kf, path, "MaxMessageMiB", 1, 1024, &config->max_message_bytes, error))
		return FALSE;
	if (!read_size_mib(kf, path, "MaxStreamBufferMiB", 1, 1024,
			   &config->max_stream_buffer_bytes, error))
		return FALSE;
	if (!read_uint(kf, path, "ExposeIdleTimeoutSec", 5, 86400, &config->expose_idle_timeout_s,
		       error))
		return FALSE;
	if (!read_count(kf, path, "DenoEvalTimeoutSec", 1, 86400, &config->deno_eval_timeout_s,
			error))
		return FALSE;
	if (!read_size_mib(kf, path, "MaxReadFileMiB", 1, 75, &config->max_read_file_bytes, error))
		return FALSE;
	return read_count(kf, path, "RequestsPerSecond", 0, 100000, &config->requests_per_second,
			  error) &&
	       read_count(kf, path, "RequestBurst", 1, 1000000, &config->request_burst, error) &&
	       read_count(kf, path, "MaxSandboxesPerToken", 0, 100000,
			  &config->max_sandboxes_per_token, error) &&
	       read_count(kf, path, "MaxCallsPerSocket", 1, 65536, &config->max_calls_per_socket,
			  error);
}

/* a lower-case DNS name of at most 200 bytes, optionally with :PORT */
static gboolean
expose_base_domain_is_valid(SbxGwConfig *config)
{
	g_autofree gchar *lower = g_ascii_strdown(config->expose_base_domain, -1);
	gchar *colon = strchr(lower, ':');
	guint64 port = 0;

	if (colon != NULL) {
		if (!g_ascii_string_to_unsigned(colon + 1, 10, 1, 65535, &port, NULL))
			return FALSE;
		*colon = '\0';
	}
	if (lower[0] == '\0' || strlen(lower) > 200 || lower[0] == '.' ||
	    g_hostname_is_ip_address(lower))
		return FALSE;
	for (const gchar *p = lower; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && *p != '-' && *p != '.')
			return FALSE;
	}
	{
		gchar *down = g_ascii_strdown(config->expose_base_domain, -1);
		g_free(config->expose_base_domain);
		config->expose_base_domain = down;
	}
	return TRUE;
}

static gint
compare_names(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const gchar *const *)a, *(const gchar *const *)b);
}

SbxGwConfig *
sbx_gw_config_load(const gchar *config_dir, GError **error)
{
	g_autoptr(SbxGwConfig) config = g_new0(SbxGwConfig, 1);
	g_autofree gchar *main_path = g_build_filename(config_dir, "gateway.conf", NULL);
	g_autofree gchar *dropin_dir = g_build_filename(config_dir, "gateway.conf.d", NULL);
	g_autoptr(GPtrArray) dropins = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GDir) dir = NULL;
	const gchar *name;

	config->listen = g_strdup("127.0.0.1:8080");
	config->region = g_strdup("loc");
	/* the SDK's defaults: processes run as "sandbox" in its home */
	config->work_dir = g_strdup("/home/sandbox");
	config->user = g_strdup("sandbox");
	config->max_message_bytes = 128 * MIB;
	config->max_stream_buffer_bytes = 16 * MIB;
	/* a readFile answer is one frame of 4/3 of the file; the SDK takes 100 MiB frames */
	config->max_read_file_bytes = 64 * MIB;
	/* generous for programs, short of a flood; sandboxd's per-user limits stay the
	 * authority on how many sandboxes a tenant may have */
	config->requests_per_second = 20;
	config->request_burst = 100;
	config->max_sandboxes_per_token = 0;
	config->max_calls_per_socket = 256;
	config->expose_idle_timeout_s = 600;
	config->state_dir = g_strdup("/var/lib/sandboxd-gateway");
	config->deno_eval_timeout_s = 300;

	if (g_file_test(main_path, G_FILE_TEST_EXISTS) && !apply_file(config, main_path, error))
		return NULL;
	dir = g_dir_open(dropin_dir, 0, NULL);
	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		if (g_str_has_suffix(name, ".conf"))
			g_ptr_array_add(dropins, g_build_filename(dropin_dir, name, NULL));
	}
	g_ptr_array_sort(dropins, compare_names);
	for (guint i = 0; i < dropins->len; i++) {
		if (!apply_file(config, g_ptr_array_index(dropins, i), error))
			return NULL;
	}
	if (!sbx_gw_id_region_is_valid(config->region)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "[gateway] Region '%s' must be 3 letters a-z", config->region);
		return NULL;
	}
	if (!g_path_is_absolute(config->work_dir)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "[gateway] WorkDir '%s' must be an absolute path", config->work_dir);
		return NULL;
	}
	if (config->expose_base_domain != NULL && !expose_base_domain_is_valid(config)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "[gateway] ExposeBaseDomain '%s' must be a DNS name, optionally with "
			    ":PORT",
			    config->expose_base_domain);
		return NULL;
	}
	if (config->ssh_listen != NULL && config->ssh_listen[0] == '\0')
		g_clear_pointer(&config->ssh_listen, g_free);
	if (!g_path_is_absolute(config->state_dir)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "[gateway] StateDir '%s' must be an absolute path", config->state_dir);
		return NULL;
	}
	if ((config->tls_certificate == NULL) != (config->tls_key == NULL)) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "[gateway] TLSCertificate and TLSKey go together");
		return NULL;
	}
	return g_steal_pointer(&config);
}

gboolean
sbx_gw_config_check_listen(SbxGwConfig *config, GInetSocketAddress **address, GError **error)
{
	g_autoptr(GSocketAddress) addr = NULL;
	g_autoptr(GSocketConnectable) parsed = NULL;
	const gchar *host;
	guint16 port;

	parsed = g_network_address_parse(config->listen, 0, error);
	if (parsed == NULL) {
		g_prefix_error(error, "[gateway] Listen: ");
		return FALSE;
	}
	host = g_network_address_get_hostname(G_NETWORK_ADDRESS(parsed));
	port = g_network_address_get_port(G_NETWORK_ADDRESS(parsed));
	addr = g_inet_socket_address_new_from_string(host, port);
	if (addr == NULL || port == 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "[gateway] Listen '%s' must be a numeric IP address and a port",
			    config->listen);
		return FALSE;
	}
	if (config->tls_certificate == NULL && !config->allow_plain_http &&
	    !g_inet_address_get_is_loopback(
		g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(addr)))) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
			    "[gateway] Listen %s is not a loopback address: it needs "
			    "TLSCertificate and TLSKey (or AllowPlainHTTP=true)",
			    config->listen);
		return FALSE;
	}
	*address = G_INET_SOCKET_ADDRESS(g_steal_pointer(&addr));
	return TRUE;
}
