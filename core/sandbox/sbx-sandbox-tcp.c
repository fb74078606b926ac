/* Sandbox1.ConnectTcp: a TCP connection made from inside the guest by its
 * agent (TCP_CONNECT), relayed to a socket the caller passed.
 *
 * The agent only takes numeric addresses; a host name is resolved here,
 * asynchronously, with the host's resolver. The connection leaves from the
 * guest's own network stack, so the sandbox's network policy applies to it
 * as to any of its processes. The bytes never pass through the daemon's
 * memory beyond one flow-control window.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbx-error.h"
#include "sbx-log.h"
#include "sbx-protocol.h"
#include "sbx-sandbox-private.h"

/* open connections per sandbox (the agent allows SBX_TCP_MAX_CONNECTIONS) */
#define SBX_SANDBOX_MAX_TCP 64u
#define SBX_SANDBOX_MAX_HOST 253u

typedef struct {
	SbxSandbox *sandbox;
	SbxAgentClient *agent;
	GDBusMethodInvocation *invocation; /* NULL once answered */
	gint fd;
	gchar *host;
	guint16 port;
	guint timeout_ms;
} SbxTcpCall;

static void
sbx_tcp_call_free(SbxTcpCall *call)
{
	if (call->fd >= 0)
		close(call->fd);
	call->sandbox->n_tcp--;
	g_clear_object(&call->invocation);
	g_clear_object(&call->agent);
	g_clear_object(&call->sandbox);
	g_free(call->host);
	g_free(call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxTcpCall, sbx_tcp_call_free)

static void
sbx_tcp_call_return_error(SbxTcpCall *call, const GError *error)
{
	SbxSandbox *self = call->sandbox;
	g_autoptr(GDBusMethodInvocation) invocation = g_steal_pointer(&call->invocation);

	if (invocation == NULL)
		return;
	if (self->state >= SBX_SANDBOX_STATE_STOPPING ||
	    g_error_matches(error, SBX_ERROR, SBX_ERROR_SANDBOX_GONE)) {
		g_dbus_method_invocation_return_error(
		    g_steal_pointer(&invocation), SBX_ERROR, SBX_ERROR_SANDBOX_GONE,
		    "sandbox %s was destroyed: %s", self->id,
		    self->destroy_reason != NULL ? self->destroy_reason : "it stopped");
		return;
	}
	if (error->domain == SBX_ERROR) {
		g_dbus_method_invocation_return_gerror(g_steal_pointer(&invocation), error);
		return;
	}
	g_dbus_method_invocation_return_error(g_steal_pointer(&invocation), SBX_ERROR,
					      SBX_ERROR_FAILED, "%s", error->message);
}

static void
on_connected(guint32 pid, gpointer user_data)
{
	SbxTcpCall *call = user_data;
	GDBusMethodInvocation *invocation = g_steal_pointer(&call->invocation);
	if (invocation != NULL)
		g_dbus_method_invocation_return_value(invocation, NULL);
}

static void
on_connection_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxTcpCall) call = user_data;
	g_autoptr(GError) error = NULL;

	if (!sbx_agent_client_tcp_connect_finish(SBX_AGENT_CLIENT(source), res, &error)) {
		sbx_sandbox_debug(call->sandbox->id, "sandbox %s: connection to %s: %s",
				  call->sandbox->id, call->host, error->message);
		sbx_tcp_call_return_error(call, error);
	}
}

static void
sbx_tcp_call_connect(SbxTcpCall *call, const gchar *address)
{
	sbx_sandbox_debug(call->sandbox->id, "sandbox %s: connect to %s port %u", call->sandbox->id,
			  address, call->port);
	sbx_agent_client_tcp_connect_async(call->agent, address, call->port, call->timeout_ms,
					   call->fd, on_connected, call, NULL, on_connection_done,
					   call);
	/* the client has its own copy: closing the caller's end resets the link */
	close(call->fd);
	call->fd = -1;
}

static void
on_resolved(GObject *source, GAsyncResult *res, gpointer user_data)
{
	SbxTcpCall *call = user_data;
	g_autoptr(GError) error = NULL;
	GList *addresses = g_resolver_lookup_by_name_finish(G_RESOLVER(source), res, &error);
	g_autofree gchar *address = NULL;

	if (addresses == NULL) {
		g_autoptr(GError) named =
		    g_error_new(SBX_ERROR, SBX_ERROR_NOT_FOUND, "%s: cannot resolve the name: %s",
				call->host, error->message);
		sbx_tcp_call_return_error(call, named);
		sbx_tcp_call_free(call);
		return;
	}
	address = g_inet_address_to_string(addresses->data);
	g_resolver_free_addresses(addresses);
	if (call->sandbox->state != SBX_SANDBOX_STATE_RUNNING ||
	    sbx_agent_client_is_closed(call->agent)) {
		g_autoptr(GError) gone = g_error_new(SBX_ERROR, SBX_ERROR_SANDBOX_GONE, "stopped");
		sbx_tcp_call_return_error(call, gone);
		sbx_tcp_call_free(call);
		return;
	}
	sbx_tcp_call_connect(call, address);
}

/* the passed fd must be a stream socket: it is read and written */
static gboolean
sbx_tcp_get_socket(GDBusMethodInvocation *invocation, GVariant *handle, gint *fd_out,
		   GError **error)
{
	gint type = 0;
	socklen_t len = sizeof(type);
	struct stat st;
	gint fd = -1;

	if (!sbx_sandbox_fs_get_fd(invocation, handle, &fd, error))
		return FALSE;
	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM) {
		close(fd);
		g_set_error_literal(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
				    "the file descriptor is not a stream socket");
		return FALSE;
	}
	*fd_out = fd;
	return TRUE;
}

static gboolean
sbx_tcp_parse_options(GVariant *options, guint *timeout_ms, GError **error)
{
	const gchar *const keys[] = {"timeout", NULL};
	const gchar *const types[] = {"u", NULL};

	*timeout_ms = 0;
	if (!sbx_sandbox_fs_options_check(options, keys, types, error))
		return FALSE;
	if (g_variant_lookup(options, "timeout", "u", timeout_ms) &&
	    (*timeout_ms == 0 || *timeout_ms > SBX_TCP_MAX_TIMEOUT_MS)) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
			    "timeout %u ms out of range (1-%u)", *timeout_ms,
			    SBX_TCP_MAX_TIMEOUT_MS);
		return FALSE;
	}
	return TRUE;
}

/* a numeric address (no zone) or a DNS name of letters, digits, '-' and '.' */
static gboolean
sbx_tcp_host_is_valid(const gchar *host)
{
	if (host[0] == '\0' || strlen(host) > SBX_SANDBOX_MAX_HOST || strchr(host, '%') != NULL)
		return FALSE;
	if (g_hostname_is_ip_address(host))
		return TRUE;
	for (const gchar *p = host; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && *p != '-' && *p != '.')
			return FALSE;
	}
	return host[0] != '.' && host[0] != '-';
}

static gboolean
handle_connect_tcp(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, const gchar *host,
		   guint16 port, GVariant *options, GVariant *fd_h, gpointer user_data)
{
	SbxSandbox *self = SBX_SANDBOX(user_data);
	g_autoptr(GError) error = NULL;
	guint timeout_ms = 0;
	gint fd = -1;
	SbxTcpCall *call;

	if (self->state != SBX_SANDBOX_STATE_RUNNING || self->agent == NULL) {
		g_dbus_method_invocation_return_error(invocation, SBX_ERROR, SBX_ERROR_NOT_RUNNING,
						      "sandbox %s is %s", self->id,
						      sbx_sandbox_state_to_string(self->state));
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	if (!sbx_tcp_parse_options(options, &timeout_ms, &error)) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	if (!sbx_tcp_host_is_valid(host) || port == 0) {
		g_dbus_method_invocation_return_error(
		    invocation, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
		    "'%.64s' port %u is not a host name or address and a port", host, port);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	if (self->n_tcp >= SBX_SANDBOX_MAX_TCP) {
		g_dbus_method_invocation_return_error(
		    invocation, SBX_ERROR, SBX_ERROR_LIMIT_EXCEEDED,
		    "sandbox %s has %u connections open already", self->id, self->n_tcp);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	if (!sbx_tcp_get_socket(invocation, fd_h, &fd, &error)) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}

	call = g_new0(SbxTcpCall, 1);
	call->sandbox = g_object_ref(self);
	call->agent = g_object_ref(self->agent);
	call->invocation = invocation; /* the handler's ref: answering consumes it */
	call->fd = fd;
	call->host = g_strdup(host);
	call->port = port;
	call->timeout_ms = timeout_ms;
	self->n_tcp++;
	if (g_hostname_is_ip_address(host)) {
		sbx_tcp_call_connect(call, host);
	} else {
		g_autoptr(GResolver) resolver = g_resolver_get_default();
		g_resolver_lookup_by_name_async(resolver, host, NULL, on_resolved, call);
	}
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

void
sbx_sandbox_tcp_setup(SbxSandbox *self)
{
	g_signal_connect_object(self->iface, "handle-connect-tcp", G_CALLBACK(handle_connect_tcp),
				self, 0);
}
