/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <gio/gunixsocketaddress.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sbx-netpol-ca.h"
#include "sbx-netpol-egress.h"
#include "sbx-netpol-firewall.h"

/* a proxy that keeps dying is restarted at most this often */
#define RESTART_DELAY_SEC 1
#define MAX_QUEUED 1024

typedef struct {
	gchar *ip;
	gchar *line; /* "set IP ID ENTRY...\n", then "ca" and "secret" lines: secret */
} Sandbox;

struct _SbxNetpolEgress {
	GObject parent_instance;
	GStrv argv;	    /* spawned by us */
	gchar *socket_path; /* or a service (conf/sandboxd-egress.service) */
	GSubprocess *process;
	GSocketConnection *control;
	GDataInputStream *in;
	GCancellable *cancellable; /* of the running proxy */
	GHashTable *sandboxes;	   /* id -> Sandbox */
	GQueue queue;		   /* lines to write */
	gboolean writing;
	gboolean stopping;
	guint restart_id;
};

G_DEFINE_TYPE(SbxNetpolEgress, sbx_netpol_egress, G_TYPE_OBJECT)

enum { SIGNAL_DENIED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
sandbox_free(Sandbox *sandbox)
{
	g_free(sandbox->ip);
	sbx_netpol_ca_wipe_free(sandbox->line);
	g_free(sandbox);
}

static void
sbx_netpol_egress_finalize(GObject *object)
{
	SbxNetpolEgress *self = SBX_NETPOL_EGRESS(object);

	sbx_netpol_egress_stop(self);
	g_strfreev(self->argv);
	g_free(self->socket_path);
	g_hash_table_unref(self->sandboxes);
	G_OBJECT_CLASS(sbx_netpol_egress_parent_class)->finalize(object);
}

static void
sbx_netpol_egress_class_init(SbxNetpolEgressClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = sbx_netpol_egress_finalize;
	/* (id, host or "-", port, why): a denial for that sandbox's event log */
	signals[SIGNAL_DENIED] =
	    g_signal_new("denied", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
			 G_TYPE_NONE, 4, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_UINT, G_TYPE_STRING);
}

static void
sbx_netpol_egress_init(SbxNetpolEgress *self)
{
	self->sandboxes =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)sandbox_free);
	g_queue_init(&self->queue);
}

SbxNetpolEgress *
sbx_netpol_egress_new(GStrv argv)
{
	SbxNetpolEgress *self = g_object_new(SBX_TYPE_NETPOL_EGRESS, NULL);

	self->argv = g_strdupv(argv);
	return self;
}

SbxNetpolEgress *
sbx_netpol_egress_new_for_socket(const gchar *path)
{
	SbxNetpolEgress *self = g_object_new(SBX_TYPE_NETPOL_EGRESS, NULL);

	self->socket_path = g_strdup(path);
	return self;
}

static gboolean
get_port(GKeyFile *config, const gchar *key, guint16 fallback, guint16 *port, GError **error)
{
	g_autofree gchar *text =
	    config != NULL ? g_key_file_get_string(config, SBX_NETPOL_SECTION, key, NULL) : NULL;
	guint64 n = fallback;

	if (text != NULL && !g_ascii_string_to_unsigned(g_strstrip(text), 10, 1, 65535, &n, NULL)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "[network] %s: '%s' is not a port number", key, text);
		return FALSE;
	}
	*port = (guint16)n;
	return TRUE;
}

GStrv
sbx_netpol_egress_build_argv(GKeyFile *config, GPtrArray *blocked4, guint16 *port,
			     guint16 *dns_port, GError **error)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autofree gchar *program = NULL;
	g_autofree gchar *user = NULL;
	g_autofree gchar *resolve = NULL;
	g_autofree gchar *upstream_ca = NULL;
	g_autofree gchar *idle = NULL;

	if (!get_port(config, "EgressPort", SBX_NETPOL_EGRESS_PORT_DEFAULT, port, error) ||
	    !get_port(config, "EgressDnsPort", SBX_NETPOL_EGRESS_DNS_PORT_DEFAULT, dns_port, error))
		return NULL;
	if (config != NULL) {
		program = g_key_file_get_string(config, SBX_NETPOL_SECTION, "EgressProgram", NULL);
		user = g_key_file_get_string(config, SBX_NETPOL_SECTION, "EgressUser", NULL);
		resolve = g_key_file_get_string(config, SBX_NETPOL_SECTION, "EgressResolve", NULL);
		upstream_ca =
		    g_key_file_get_string(config, SBX_NETPOL_SECTION, "EgressUpstreamCA", NULL);
		idle = g_key_file_get_string(config, SBX_NETPOL_SECTION, "EgressIdleTimeout", NULL);
	}
	g_ptr_array_add(argv, program != NULL ? g_strdup(g_strstrip(program))
					      : g_strdup(SBX_LIBEXECDIR "/sandboxd-egress"));
	g_ptr_array_add(argv, g_strdup("--control-fd=3"));
	g_ptr_array_add(argv, g_strdup_printf("--listen=0.0.0.0:%u", *port));
	g_ptr_array_add(argv, g_strdup_printf("--dns=0.0.0.0:%u", *dns_port));
	g_ptr_array_add(argv, g_strdup_printf("--user=%s", user != NULL
							       ? g_strstrip(user)
							       : SBX_NETPOL_EGRESS_USER_DEFAULT));
	/* what a name resolves to is checked against the same ranges as an
	 * address, so an allowed name cannot lead into the host's networks */
	for (guint i = 0; blocked4 != NULL && i < blocked4->len; i++)
		g_ptr_array_add(
		    argv, g_strdup_printf("--blocked=%s", (gchar *)g_ptr_array_index(blocked4, i)));
	if (blocked4 == NULL || blocked4->len == 0)
		g_ptr_array_add(argv, g_strdup("--no-blocked"));
	if (upstream_ca != NULL)
		g_ptr_array_add(argv, g_strdup_printf("--upstream-ca=%s", g_strstrip(upstream_ca)));
	if (idle != NULL) {
		guint64 sec = 0;
		if (!g_ascii_string_to_unsigned(g_strstrip(idle), 10, 0, 86400, &sec, NULL)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "[network] EgressIdleTimeout: '%s' is not 0-86400 seconds",
				    idle);
			return NULL;
		}
		g_ptr_array_add(argv, g_strdup_printf("--idle-timeout=%u", (guint)sec));
	}
	if (resolve != NULL) {
		g_auto(GStrv) entries = g_strsplit_set(resolve, " ,", -1);
		for (guint i = 0; entries[i] != NULL; i++) {
			if (*entries[i] != '\0')
				g_ptr_array_add(argv, g_strdup_printf("--resolve=%s", entries[i]));
		}
	}
	g_ptr_array_add(argv, NULL);
	return (GStrv)g_ptr_array_free(g_steal_pointer(&argv), FALSE);
}

void
sbx_netpol_egress_add_blocked(SbxNetpolEgress *self, GPtrArray *blocked4)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);

	if (self->argv == NULL || blocked4 == NULL || blocked4->len == 0)
		return;
	for (guint i = 0; self->argv[i] != NULL; i++) {
		/* some zone blocks something now */
		if (!g_str_equal(self->argv[i], "--no-blocked"))
			g_ptr_array_add(argv, g_strdup(self->argv[i]));
	}
	for (guint i = 0; i < blocked4->len; i++) {
		g_autofree gchar *arg =
		    g_strdup_printf("--blocked=%s", (gchar *)g_ptr_array_index(blocked4, i));
		if (!g_strv_contains((const gchar *const *)self->argv, arg))
			g_ptr_array_add(argv, g_steal_pointer(&arg));
	}
	g_ptr_array_add(argv, NULL);
	g_strfreev(self->argv);
	self->argv = (GStrv)g_ptr_array_free(g_steal_pointer(&argv), FALSE);
}

gboolean
sbx_netpol_egress_policy_has_names(const SbxNetpolPolicy *policy)
{
	for (guint i = 0; policy != NULL && i < policy->entries->len; i++) {
		SbxNetpolEntry *e = g_ptr_array_index(policy->entries, i);
		if (e->host != NULL)
			return TRUE;
	}
	return FALSE;
}

static void write_next(SbxNetpolEgress *self);

static void
on_written(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GError) error = NULL;
	SbxNetpolEgress *self = user_data;

	if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(source), res, NULL, &error) &&
	    g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	sbx_netpol_ca_wipe_free(g_queue_pop_head(&self->queue));
	self->writing = FALSE;
	write_next(self);
}

static void
write_next(SbxNetpolEgress *self)
{
	const gchar *line = g_queue_peek_head(&self->queue);

	if (self->writing || line == NULL || self->control == NULL)
		return;
	self->writing = TRUE;
	g_output_stream_write_all_async(g_io_stream_get_output_stream(G_IO_STREAM(self->control)),
					line, strlen(line), G_PRIORITY_DEFAULT, self->cancellable,
					on_written, self);
}

static void
send_line(SbxNetpolEgress *self, const gchar *line)
{
	/* a proxy that does not read: it is restarted and told everything */
	if (self->queue.length >= MAX_QUEUED)
		return;
	g_queue_push_tail(&self->queue, g_strdup(line));
	write_next(self);
}

static const gchar *
id_of_ip(SbxNetpolEgress *self, const gchar *ip)
{
	GHashTableIter iter;
	gpointer id, value;

	g_hash_table_iter_init(&iter, self->sandboxes);
	while (g_hash_table_iter_next(&iter, &id, &value)) {
		if (g_str_equal(((Sandbox *)value)->ip, ip))
			return id;
	}
	return NULL;
}

static void read_line(SbxNetpolEgress *self);
static gboolean restart(gpointer user_data);

/* "deny IP HOST PORT WHY...": names and ports only, never payloads */
static void
on_line(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autofree gchar *line =
	    g_data_input_stream_read_line_finish_utf8(G_DATA_INPUT_STREAM(source), res, NULL, NULL);
	SbxNetpolEgress *self = user_data;
	g_auto(GStrv) words = NULL;
	guint64 port = 0;
	const gchar *id;

	if (line == NULL) {
		/* a proxy we spawned: its exit watch restarts it. A service:
		 * connect again (until then, host names reach nothing) */
		if (self->socket_path != NULL && !self->stopping) {
			g_warning("network: sandboxd-egress at %s went away; reconnecting",
				  self->socket_path);
			sbx_netpol_egress_stop(self);
			self->stopping = FALSE;
			self->restart_id = g_timeout_add_seconds(RESTART_DELAY_SEC, restart, self);
		}
		return;
	}
	words = g_strsplit(line, " ", 5);
	if (g_strv_length(words) == 5 && g_str_equal(words[0], "deny") &&
	    g_ascii_string_to_unsigned(words[3], 10, 0, 65535, &port, NULL) &&
	    (id = id_of_ip(self, words[1])) != NULL)
		g_signal_emit(self, signals[SIGNAL_DENIED], 0, id, words[2], (guint)port, words[4]);
	read_line(self);
}

static void
read_line(SbxNetpolEgress *self)
{
	g_data_input_stream_read_line_async(self->in, G_PRIORITY_DEFAULT, self->cancellable,
					    on_line, self);
}

static gboolean
restart(gpointer user_data)
{
	SbxNetpolEgress *self = user_data;
	g_autoptr(GError) error = NULL;

	self->restart_id = 0;
	if (!sbx_netpol_egress_start(self, &error))
		g_warning("network: cannot restart sandboxd-egress: %s", error->message);
	return G_SOURCE_REMOVE;
}

static void
on_exited(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxNetpolEgress) self = user_data;
	GSubprocess *process = G_SUBPROCESS(source);

	if (!g_subprocess_wait_finish(process, res, NULL) || self->process != process)
		return;
	g_warning("network: sandboxd-egress exited (status %d); restarting it",
		  g_subprocess_get_status(process));
	sbx_netpol_egress_stop(self);
	self->stopping = FALSE;
	self->restart_id = g_timeout_add_seconds(RESTART_DELAY_SEC, restart, self);
}

static void
resend_all(SbxNetpolEgress *self)
{
	GHashTableIter iter;
	gpointer value;

	/* a new proxy knows nothing: everything again */
	g_queue_clear_full(&self->queue, (GDestroyNotify)sbx_netpol_ca_wipe_free);
	self->writing = FALSE;
	g_hash_table_iter_init(&iter, self->sandboxes);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		send_line(self, ((Sandbox *)value)->line);
}

/* the service's socket: local and listening, so connecting does not wait */
static gboolean
connect_socket(SbxNetpolEgress *self, GError **error)
{
	g_autoptr(GSocketClient) client = g_socket_client_new();
	g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(self->socket_path);

	self->control = g_socket_client_connect(client, G_SOCKET_CONNECTABLE(addr), NULL, error);
	if (self->control == NULL) {
		g_prefix_error(error, "sandboxd-egress at %s: ", self->socket_path);
		return FALSE;
	}
	self->stopping = FALSE;
	self->cancellable = g_cancellable_new();
	self->in =
	    g_data_input_stream_new(g_io_stream_get_input_stream(G_IO_STREAM(self->control)));
	read_line(self);
	resend_all(self);
	return TRUE;
}

gboolean
sbx_netpol_egress_start(SbxNetpolEgress *self, GError **error)
{
	g_autoptr(GSubprocessLauncher) launcher =
	    g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);
	g_autoptr(GSocket) socket = NULL;
	gint fds[2];

	g_return_val_if_fail(self->process == NULL && self->control == NULL, FALSE);
	if (self->socket_path != NULL)
		return connect_socket(self, error);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "socketpair: %s",
			    g_strerror(errno));
		return FALSE;
	}
	g_subprocess_launcher_take_fd(launcher, fds[1], 3);
	self->process =
	    g_subprocess_launcher_spawnv(launcher, (const gchar *const *)self->argv, error);
	if (self->process == NULL) {
		close(fds[0]);
		return FALSE;
	}
	socket = g_socket_new_from_fd(fds[0], error);
	if (socket == NULL) {
		close(fds[0]);
		g_subprocess_force_exit(self->process);
		g_clear_object(&self->process);
		return FALSE;
	}
	self->stopping = FALSE;
	self->cancellable = g_cancellable_new();
	self->control = g_socket_connection_factory_create_connection(socket);
	self->in =
	    g_data_input_stream_new(g_io_stream_get_input_stream(G_IO_STREAM(self->control)));
	g_subprocess_wait_async(self->process, NULL, on_exited, g_object_ref(self));
	read_line(self);
	resend_all(self);
	return TRUE;
}

void
sbx_netpol_egress_stop(SbxNetpolEgress *self)
{
	self->stopping = TRUE;
	if (self->restart_id != 0) {
		g_source_remove(self->restart_id);
		self->restart_id = 0;
	}
	if (self->cancellable != NULL)
		g_cancellable_cancel(self->cancellable);
	g_clear_object(&self->cancellable);
	g_clear_object(&self->in);
	/* closing our end is the proxy's signal to exit; SIGTERM in case it hangs */
	if (self->control != NULL)
		g_io_stream_close(G_IO_STREAM(self->control), NULL, NULL);
	g_clear_object(&self->control);
	if (self->process != NULL)
		g_subprocess_send_signal(self->process, SIGTERM);
	g_clear_object(&self->process);
	g_queue_clear_full(&self->queue, (GDestroyNotify)sbx_netpol_ca_wipe_free);
	self->writing = FALSE;
}

gboolean
sbx_netpol_egress_is_running(SbxNetpolEgress *self)
{
	return self != NULL && (self->process != NULL || self->control != NULL);
}

void
sbx_netpol_egress_set(SbxNetpolEgress *self, const gchar *id, const gchar *ip,
		      const SbxNetpolPolicy *policy, SbxNetpolSecrets *secrets)
{
	g_auto(GStrv) entries = policy != NULL ? sbx_netpol_policy_to_strv(policy) : NULL;
	g_autofree gchar *list = entries != NULL ? g_strjoinv(" ", entries) : NULL;
	Sandbox *sandbox = g_new0(Sandbox, 1);
	gchar *control = secrets != NULL ? sbx_netpol_secrets_to_control(secrets, ip) : NULL;

	sandbox->ip = g_strdup(ip);
	/* one block: a restarted proxy gets the list, the CA and the secrets together */
	/* no list: any name (on 443, all the firewall sends) */
	sandbox->line =
	    list != NULL
		? g_strdup_printf("set %s %s %s\n%s", ip, id, list, control != NULL ? control : "")
		: g_strdup_printf("open %s %s\n%s", ip, id, control != NULL ? control : "");
	sbx_netpol_ca_wipe_free(control);
	send_line(self, sandbox->line);
	g_hash_table_replace(self->sandboxes, g_strdup(id), sandbox);
}

void
sbx_netpol_egress_forget(SbxNetpolEgress *self, const gchar *id)
{
	Sandbox *sandbox = g_hash_table_lookup(self->sandboxes, id);
	g_autofree gchar *line = NULL;

	if (sandbox == NULL)
		return;
	line = g_strdup_printf("forget %s\n", sandbox->ip);
	send_line(self, line);
	g_hash_table_remove(self->sandboxes, id);
}
