/* sandboxd-egress: the host-side egress proxy and filtering resolver for
 * sandboxes with host names in allow_net. Started by sandboxd (one per host)
 * with the end of a socketpair; runs as an unprivileged user, reads nothing
 * of sandboxd's state and exits when sandboxd goes away.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>

#include "sbx-egress-conn.h"
#include "sbx-egress-control.h"
#include "sbx-egress-dns.h"
#include "sbx-egress-resolver.h"
#include "sbx-netpol-range.h"

typedef struct {
	GMainLoop *loop;
	SbxEgressPolicy *policy;
	SbxEgressControl *control;
	SbxEgressConnContext conn_ctx;
	gboolean listening; /* --control-socket: outlives one sandboxd */
} Egress;

static void
on_denied(const gchar *ip, const gchar *host, guint16 port, const gchar *why, gpointer user_data)
{
	Egress *egress = user_data;

	if (egress->control != NULL)
		sbx_egress_control_deny(egress->control, ip, host, port, why);
}

static void
on_dns_denied(const gchar *ip, const gchar *name, gpointer user_data)
{
	Egress *egress = user_data;

	if (egress->control != NULL)
		sbx_egress_control_deny(egress->control, ip, name, 53, "dns: not in allow_net");
}

static gboolean
free_control(gpointer data)
{
	sbx_egress_control_free(data);
	return G_SOURCE_REMOVE;
}

/* sandboxd went away: spawned by it, we go too; as a service, nothing is
 * allowed until a sandboxd connects and says again what is */
static void
on_control_closed(gpointer user_data)
{
	Egress *egress = user_data;

	if (!egress->listening) {
		g_main_loop_quit(egress->loop);
		return;
	}
	sbx_egress_policy_clear(egress->policy);
	g_idle_add(free_control, g_steal_pointer(&egress->control));
}

/* one sandboxd at a time, and only root: the socket is the policy's only way in */
static gboolean
on_control_incoming(GSocketService *service, GSocketConnection *connection, GObject *source,
		    gpointer user_data)
{
	Egress *egress = user_data;
	g_autoptr(GCredentials) creds =
	    g_socket_get_credentials(g_socket_connection_get_socket(connection), NULL);

	if (creds == NULL || g_credentials_get_unix_user(creds, NULL) != 0 ||
	    egress->control != NULL) {
		g_io_stream_close(G_IO_STREAM(connection), NULL, NULL);
		return TRUE;
	}
	sbx_egress_policy_clear(egress->policy);
	egress->control = sbx_egress_control_new(G_IO_STREAM(connection), egress->policy,
						 G_CALLBACK(on_control_closed), egress);
	return TRUE;
}

static GSocketService *
listen_control(const gchar *path, Egress *egress, GError **error)
{
	g_autoptr(GSocketService) service = g_socket_service_new();
	g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(path);

	/* a stale socket of a previous run */
	unlink(path);
	if (!g_socket_listener_add_address(G_SOCKET_LISTENER(service), addr, G_SOCKET_TYPE_STREAM,
					   G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL, error))
		return NULL;
	if (chmod(path, 0600) != 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "chmod %s: %s", path,
			    g_strerror(errno));
		return NULL;
	}
	g_signal_connect(service, "incoming", G_CALLBACK(on_control_incoming), egress);
	return g_steal_pointer(&service);
}

static gboolean
on_incoming(GSocketService *service, GSocketConnection *connection, GObject *source,
	    gpointer user_data)
{
	Egress *egress = user_data;

	sbx_egress_conn_start(&egress->conn_ctx, connection);
	return TRUE;
}

static GSocketAddress *
parse_address(const gchar *text, GError **error)
{
	g_autoptr(GSocketConnectable) c = g_network_address_parse(text, 0, error);
	GSocketAddress *addr = NULL;
	g_autoptr(GInetAddress) inet = NULL;

	if (c == NULL)
		return NULL;
	inet = g_inet_address_new_from_string(g_network_address_get_hostname(G_NETWORK_ADDRESS(c)));
	if (inet == NULL || g_network_address_get_port(G_NETWORK_ADDRESS(c)) == 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "%s: expected ADDRESS:PORT", text);
		return NULL;
	}
	addr = g_inet_socket_address_new(inet, g_network_address_get_port(G_NETWORK_ADDRESS(c)));
	return addr;
}

/* setgroups, setgid, setuid, no way back */
static gboolean
drop_privileges(const gchar *user, GError **error)
{
	struct passwd *pw = getpwnam(user);

	if (pw == NULL || pw->pw_uid == 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "--user %s: no such unprivileged user", user);
		return FALSE;
	}
	if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0 ||
	    setuid(0) == 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "dropping privileges to %s failed", user);
		return FALSE;
	}
	return TRUE;
}

static gboolean
run(gint argc, gchar **argv, GError **error)
{
	gint control_fd = -1;
	g_autofree gchar *control_path = NULL;
	gboolean no_blocked = FALSE;
	g_autofree gchar *listen = NULL;
	g_autofree gchar *dns = NULL;
	g_autofree gchar *user = NULL;
	g_auto(GStrv) blocked = NULL;
	g_auto(GStrv) resolve = NULL;
	g_autofree gchar *upstream_ca = NULL;
	gint idle_timeout = SBX_EGRESS_CONN_IDLE_SEC_DEFAULT;
	const GOptionEntry entries[] = {
	    {"control-fd", 0, 0, G_OPTION_ARG_INT, &control_fd, "sandboxd's socketpair end", "FD"},
	    {"control-socket", 0, 0, G_OPTION_ARG_FILENAME, &control_path,
	     "as a service: wait for sandboxd (root) on this unix socket", "PATH"},
	    {"listen", 0, 0, G_OPTION_ARG_STRING, &listen, "TCP proxy address", "ADDR:PORT"},
	    {"dns", 0, 0, G_OPTION_ARG_STRING, &dns, "DNS (UDP) address", "ADDR:PORT"},
	    {"user", 0, 0, G_OPTION_ARG_STRING, &user, "run as this user", "NAME"},
	    {"blocked", 0, 0, G_OPTION_ARG_STRING_ARRAY, &blocked,
	     "never connect upstream into this range (default: the private ranges)", "CIDR"},
	    {"no-blocked", 0, 0, G_OPTION_ARG_NONE, &no_blocked,
	     "no blocked ranges at all (a lab network)", NULL},
	    {"idle-timeout", 0, 0, G_OPTION_ARG_INT, &idle_timeout,
	     "close a connection with no traffic for this long (0: never)", "SECONDS"},
	    {"upstream-ca", 0, 0, G_OPTION_ARG_FILENAME, &upstream_ca,
	     "check intercepted upstreams against these CAs, not the host's", "FILE"},
	    {"resolve", 0, 0, G_OPTION_ARG_STRING_ARRAY, &resolve,
	     "tests only: resolve names from this table, not DNS", "NAME=ADDR"},
	    {NULL}};
	g_autoptr(GOptionContext) context = g_option_context_new("- sandboxd egress proxy");
	g_autoptr(GSocketAddress) listen_addr = NULL;
	g_autoptr(GSocketAddress) dns_addr = NULL;
	g_autoptr(GSocketService) service = g_socket_service_new();
	g_autoptr(GSocket) dns_socket = NULL;
	g_autoptr(GSocket) control_socket = NULL;
	g_autoptr(GSocketConnection) control_conn = NULL;
	g_autoptr(GSocketService) control_service = NULL;
	g_autoptr(GResolver) resolver = NULL;
	g_autoptr(SbxEgressPolicy) policy = sbx_egress_policy_new();
	g_autoptr(SbxEgressDns) dns_server = NULL;
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	g_autoptr(GPtrArray) masks = g_ptr_array_new_with_free_func(g_object_unref);
	Egress egress = {0};

	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, error))
		return FALSE;
	if ((control_fd < 0) == (control_path == NULL) || listen == NULL || dns == NULL) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "--listen, --dns and one of --control-fd and --control-socket "
				    "are needed");
		return FALSE;
	}
	if (blocked == NULL && !no_blocked) {
		g_autoptr(GPtrArray) v4 = NULL;
		g_autoptr(GPtrArray) v6 = NULL;
		if (!sbx_netpol_range_parse_list(SBX_NETPOL_RANGE_BLOCKED_DEFAULT, &v4, &v6, error))
			return FALSE;
		g_ptr_array_add(v4, NULL);
		blocked = g_strdupv((gchar **)v4->pdata);
	}
	if (idle_timeout < 0) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "--idle-timeout must not be negative");
		return FALSE;
	}
	/* secrets: TLS on both sides of an intercepted connection */
	if (!g_tls_backend_supports_tls(g_tls_backend_get_default())) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
				    "no TLS backend (install glib-networking)");
		return FALSE;
	}
	if (upstream_ca != NULL) {
		/* read now: the unprivileged proxy may not open the file later */
		egress.conn_ctx.upstream_ca =
		    g_tls_certificate_list_new_from_file(upstream_ca, error);
		if (egress.conn_ctx.upstream_ca == NULL) {
			if (error != NULL && *error == NULL)
				g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
					    "--upstream-ca %s: no certificate", upstream_ca);
			return FALSE;
		}
	}
	egress.conn_ctx.idle_timeout_sec = idle_timeout;
	if ((listen_addr = parse_address(listen, error)) == NULL ||
	    (dns_addr = parse_address(dns, error)) == NULL)
		return FALSE;
	for (guint i = 0; blocked != NULL && blocked[i] != NULL; i++) {
		GInetAddressMask *mask = g_inet_address_mask_new_from_string(blocked[i], error);
		if (mask == NULL)
			return FALSE;
		g_ptr_array_add(masks, mask);
	}
	if (resolve != NULL) {
		g_autoptr(SbxEgressResolver) table = sbx_egress_resolver_new();
		for (guint i = 0; resolve[i] != NULL; i++) {
			if (!sbx_egress_resolver_add(table, resolve[i], error))
				return FALSE;
		}
		resolver = G_RESOLVER(g_steal_pointer(&table));
	} else {
		resolver = g_resolver_get_default();
	}

	if (!g_socket_listener_add_address(G_SOCKET_LISTENER(service), listen_addr,
					   G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL, NULL,
					   error))
		return FALSE;
	dns_socket = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
				  G_SOCKET_PROTOCOL_UDP, error);
	if (dns_socket == NULL || !g_socket_bind(dns_socket, dns_addr, TRUE, error))
		return FALSE;
	egress.loop = loop;
	egress.policy = policy;
	if (control_path != NULL) {
		egress.listening = TRUE;
		control_service = listen_control(control_path, &egress, error);
		if (control_service == NULL)
			return FALSE;
	} else {
		control_socket = g_socket_new_from_fd(control_fd, error);
		if (control_socket == NULL)
			return FALSE;
		control_conn = g_socket_connection_factory_create_connection(control_socket);
		egress.control = sbx_egress_control_new(G_IO_STREAM(control_conn), policy,
							G_CALLBACK(on_control_closed), &egress);
	}
	if (user != NULL && !drop_privileges(user, error))
		return FALSE;

	egress.conn_ctx.policy = policy;
	egress.conn_ctx.resolver = resolver;
	egress.conn_ctx.blocked = masks;
	egress.conn_ctx.denied = on_denied;
	egress.conn_ctx.user_data = &egress;
	egress.conn_ctx.per_ip = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	dns_server = sbx_egress_dns_new(dns_socket, policy, resolver, on_dns_denied, &egress);
	g_signal_connect(service, "incoming", G_CALLBACK(on_incoming), &egress);
	g_socket_service_start(service);
	if (control_service != NULL)
		g_socket_service_start(control_service);
	g_main_loop_run(loop);
	g_socket_service_stop(service);
	g_clear_pointer(&egress.control, sbx_egress_control_free);
	g_hash_table_unref(egress.conn_ctx.per_ip);
	g_list_free_full(egress.conn_ctx.upstream_ca, g_object_unref);
	return TRUE;
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;

	/* of GIO's modules only the TLS backend (GnuTLS, for secrets): the
	 * module cache loads a module when its extension point is first used,
	 * and the built-in choices below keep dconf and proxy resolvers out */
	g_setenv("GIO_MODULE_DIR", SBX_GIO_MODULE_DIR, TRUE);
	g_unsetenv("GIO_EXTRA_MODULES");
	g_setenv("GIO_USE_TLS", "gnutls", TRUE);
	g_setenv("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
	g_setenv("GSETTINGS_BACKEND", "memory", TRUE);
	g_setenv("GIO_USE_VFS", "local", TRUE);
	g_unsetenv("DBUS_SESSION_BUS_ADDRESS");
	if (!run(argc, argv, &error)) {
		g_printerr("sandboxd-egress: %s\n", error->message);
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}
