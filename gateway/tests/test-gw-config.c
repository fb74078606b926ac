/* gateway.conf: ExposeBaseDomain checks, and plain HTTP refused on a
 * non-loopback address unless TLS is configured (or explicitly allowed).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>

#include "sbx-gw-config.h"

/* loads a gateway.conf with @text in a new folder */
static SbxGwConfig *
load(const gchar *text, GError **error)
{
	g_autofree gchar *dir = g_dir_make_tmp("sbx-gw-config-XXXXXX", NULL);
	g_autofree gchar *path = g_build_filename(dir, "gateway.conf", NULL);
	SbxGwConfig *config;

	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	config = sbx_gw_config_load(dir, error);
	g_unlink(path);
	g_rmdir(dir);
	return config;
}

static void
test_expose_base_domain(void)
{
	const gchar *bad[] = {
	    "bad/domain", "x.test:0", "x.test:65536", "192.0.2.1", ".x.test", "x test", "", NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxGwConfig) config =
	    load("[gateway]\nExposeBaseDomain=Expose.Test:8443\n", &error);

	g_assert_no_error(error);
	g_assert_cmpstr(config->expose_base_domain, ==, "expose.test:8443");
	g_assert_cmpuint(config->expose_idle_timeout_s, ==, 600);
	g_clear_pointer(&config, sbx_gw_config_free);
	config = load("[gateway]\n", &error);
	g_assert_no_error(error);
	g_assert_null(config->expose_base_domain);
	g_clear_pointer(&config, sbx_gw_config_free);
	config = load("[gateway]\nExposeIdleTimeoutSec=30\n", &error);
	g_assert_no_error(error);
	g_assert_cmpuint(config->expose_idle_timeout_s, ==, 30);
	g_clear_pointer(&config, sbx_gw_config_free);
	g_assert_null(load("[gateway]\nExposeIdleTimeoutSec=1\n", &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	for (guint i = 0; bad[i] != NULL; i++) {
		g_autofree gchar *text =
		    g_strdup_printf("[gateway]\nExposeBaseDomain=%s\n", bad[i]);
		g_autoptr(SbxGwConfig) c = load(text, &error);
		g_assert_null(c);
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
		g_clear_error(&error);
	}
}

static gboolean
listen_ok(const gchar *text)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxGwConfig) config = load(text, &error);
	g_autoptr(GInetSocketAddress) address = NULL;
	g_assert_no_error(error);
	return sbx_gw_config_check_listen(config, &address, NULL);
}

static void
test_listen_needs_tls(void)
{
	g_assert_true(listen_ok("[gateway]\nListen=127.0.0.1:8080\n"));
	g_assert_false(listen_ok("[gateway]\nListen=0.0.0.0:8080\n"));
	g_assert_true(listen_ok("[gateway]\nListen=0.0.0.0:8080\nAllowPlainHTTP=true\n"));
	g_assert_true(listen_ok("[gateway]\nListen=0.0.0.0:8443\nTLSCertificate=/c.pem\n"
				"TLSKey=/k.pem\n"));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/gateway/config/expose-base-domain", test_expose_base_domain);
	g_test_add_func("/gateway/config/listen-needs-tls", test_listen_needs_tls);
	return g_test_run();
}
