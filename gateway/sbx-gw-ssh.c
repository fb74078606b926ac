/* exposeSsh: an SSH front door on the gateway host (libssh's server API).
 *
 * The login name is the credential: a random name per sandbox, handed out by
 * POST /api/v3/sandbox/<id>/expose/ssh to the sandbox's owner and forgotten when the
 * sandbox goes away. Any authentication method with a known name succeeds; anything
 * else gets a failed login, slowly, and a source address with too many failures gets
 * nothing for a while. A session's shell or exec request becomes a process of
 * sandboxd's Sandbox1.Spawn (a pseudo-terminal when the client asked for one), so the
 * guest needs no sshd. The main loop only accepts connections: each runs in its own
 * thread with libssh's blocking calls and synchronous D-Bus calls.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <gio/gunixfdlist.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <poll.h>
#include <unistd.h>

#include "sbx-gw-rest.h"
#include "sbx-gw-ssh.h"

#define SSH_BUS_NAME "org.sandboxd"
#define SSH_MAX_SESSIONS 64
/* key exchange and authentication must be done by then */
#define SSH_LOGIN_GRACE_S 30
/* failed logins per source address and window before it is shut out */
#define SSH_MAX_FAILURES 10
#define SSH_FAILURE_WINDOW_S 60
#define SSH_FAILURE_DELAY_MS 500
#define SSH_NAME_CHARS "abcdefghijklmnopqrstuvwxyz0123456789"
#define SSH_NAME_LEN 24

struct _SbxGwSsh {
	SbxGwServer *server;
	GSocketService *service;
	ssh_bind bind;
	gchar *hostname;
	GMutex lock;	      /* everything below; sessions run in threads */
	GHashTable *names;    /* login name -> sandbox object path */
	GHashTable *ids;      /* sandboxd id -> login name */
	GHashTable *failures; /* source address -> SbxGwSshFailures */
	guint sessions;
};

typedef struct {
	guint count;
	gint64 window_start_us;
} SbxGwSshFailures;

typedef struct {
	SbxGwSsh *ssh;
	gint fd;
	gchar *peer;
	gchar *path; /* the sandbox's object, once a login succeeded */
	GDBusConnection *bus;
	ssh_session session;
	ssh_channel channel;
	struct ssh_channel_callbacks_struct channel_callbacks;
	gboolean failed_login;
	/* the process */
	gboolean pty;
	gchar *term;
	guint rows;
	guint cols;
	gchar *process; /* Process1 object path */
	gint stdin_fd;
	gint stdout_fd;
	gint stderr_fd;
	gboolean stdout_done;
	gboolean stderr_done;
} SbxGwSshSession;

static void
session_free(SbxGwSshSession *s)
{
	if (s->stdin_fd >= 0)
		close(s->stdin_fd);
	if (s->stdout_fd >= 0)
		close(s->stdout_fd);
	if (s->stderr_fd >= 0)
		close(s->stderr_fd);
	if (s->session != NULL) {
		ssh_disconnect(s->session);
		ssh_free(s->session);
	}
	g_free(s->peer);
	g_free(s->path);
	g_free(s->term);
	g_free(s->process);
	g_clear_object(&s->bus);
	g_free(s);
}

/* --- credentials and failures --- */

static gboolean
shut_out(SbxGwSsh *ssh, const gchar *peer)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&ssh->lock);
	SbxGwSshFailures *f = g_hash_table_lookup(ssh->failures, peer);
	return f != NULL && f->count >= SSH_MAX_FAILURES &&
	       g_get_monotonic_time() - f->window_start_us < SSH_FAILURE_WINDOW_S * G_USEC_PER_SEC;
}

static void
count_failure(SbxGwSsh *ssh, const gchar *peer)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&ssh->lock);
	SbxGwSshFailures *f = g_hash_table_lookup(ssh->failures, peer);
	gint64 now = g_get_monotonic_time();

	if (f == NULL) {
		/* bounded: an address table that grows too big starts over */
		if (g_hash_table_size(ssh->failures) > 4096)
			g_hash_table_remove_all(ssh->failures);
		f = g_new0(SbxGwSshFailures, 1);
		g_hash_table_insert(ssh->failures, g_strdup(peer), f);
	}
	if (now - f->window_start_us >= SSH_FAILURE_WINDOW_S * G_USEC_PER_SEC) {
		f->count = 0;
		f->window_start_us = now;
	}
	f->count++;
}

static gchar *
lookup_name(SbxGwSsh *ssh, const gchar *name)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&ssh->lock);
	return g_strdup(g_hash_table_lookup(ssh->names, name));
}

gchar *
sbx_gw_ssh_grant(SbxGwSsh *ssh, const gchar *sbx_id, const gchar *path)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&ssh->lock);
	const gchar *name = g_hash_table_lookup(ssh->ids, sbx_id);
	gchar *made;

	if (name != NULL)
		return g_strdup(name);
	made = g_malloc0(SSH_NAME_LEN + 1);
	/* 24 of 36 characters: 124 bits from the kernel's random source */
	for (guint i = 0; i < SSH_NAME_LEN; i++)
		made[i] = SSH_NAME_CHARS[g_random_int_range(0, 36)];
	g_hash_table_insert(ssh->names, g_strdup(made), g_strdup(path));
	g_hash_table_insert(ssh->ids, g_strdup(sbx_id), made);
	return g_strdup(made);
}

void
sbx_gw_ssh_revoke(SbxGwSsh *ssh, const gchar *sbx_id)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&ssh->lock);
	const gchar *name = g_hash_table_lookup(ssh->ids, sbx_id);

	if (name == NULL)
		return;
	g_hash_table_remove(ssh->names, name);
	g_hash_table_remove(ssh->ids, sbx_id);
}

/* --- POST /api/v3/sandbox/ID/expose/ssh --- */

typedef struct {
	SbxGwSsh *ssh;
	SoupServerMessage *msg;
} SbxGwSshExpose;

static void
expose_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwSshExpose *ex = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxDBusSandbox1) proxy = sbx_gw_rest_lookup_sandbox_finish(res, &error);

	if (proxy == NULL) {
		sbx_gw_server_reply_gerror(ex->msg, error);
	} else {
		g_autofree gchar *name =
		    sbx_gw_ssh_grant(ex->ssh, sbx_dbus_sandbox1_get_id(proxy),
				     g_dbus_proxy_get_object_path(G_DBUS_PROXY(proxy)));
		g_autoptr(JsonBuilder) b = json_builder_new_immutable();
		g_autoptr(JsonNode) root = NULL;

		json_builder_begin_object(b);
		json_builder_set_member_name(b, "hostname");
		json_builder_add_string_value(b, ex->ssh->hostname);
		json_builder_set_member_name(b, "username");
		json_builder_add_string_value(b, name);
		json_builder_end_object(b);
		root = json_builder_get_root(b);
		sbx_gw_server_reply_json(ex->msg, SOUP_STATUS_OK, root);
	}
	soup_server_message_unpause(ex->msg);
	g_object_unref(ex->msg);
	g_free(ex);
}

void
sbx_gw_ssh_expose(SbxGwSsh *ssh, SoupServerMessage *msg, const gchar *sdk_id)
{
	SbxGwSshExpose *ex = g_new0(SbxGwSshExpose, 1);

	ex->ssh = ssh;
	ex->msg = g_object_ref(msg);
	soup_server_message_pause(msg);
	/* OpenSandbox checks the token's owner and grants this bus connection the sandbox,
	 * which the sessions' Spawn calls then use */
	sbx_gw_rest_lookup_sandbox(ssh->server, sdk_id, sbx_gw_server_get_token(msg), expose_ready,
				   ex);
}

/* --- authentication --- */

static int
auth_name(SbxGwSshSession *s, const gchar *user)
{
	g_autofree gchar *path = NULL;

	if (s->path == NULL && !shut_out(s->ssh, s->peer))
		path = lookup_name(s->ssh, user);
	if (path == NULL) {
		/* one failed login per connection, however many methods it tries */
		if (!s->failed_login)
			count_failure(s->ssh, s->peer);
		s->failed_login = TRUE;
		/* slows guessing down; this thread is the connection's own */
		g_usleep(SSH_FAILURE_DELAY_MS * 1000);
		return SSH_AUTH_DENIED;
	}
	s->path = g_steal_pointer(&path);
	g_message("ssh login peer=%s sandbox=%s", s->peer, s->path);
	return SSH_AUTH_SUCCESS;
}

static int
on_auth_none(ssh_session session, const char *user, void *data)
{
	return auth_name(data, user);
}

static int
on_auth_password(ssh_session session, const char *user, const char *password, void *data)
{
	return auth_name(data, user);
}

static int
on_auth_pubkey(ssh_session session, const char *user, struct ssh_key_struct *pubkey,
	       char signature_state, void *data)
{
	return auth_name(data, user);
}

/* --- the process --- */

static gboolean
start_process(SbxGwSshSession *s, const gchar *command)
{
	g_auto(GVariantBuilder) options = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
	g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
	g_autoptr(GUnixFDList) out_fds = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GError) error = NULL;
	SbxGwConfig *config = s->ssh->server->config;
	const gchar *shell_argv[] = {"bash", "-l", NULL};
	const gchar *exec_argv[] = {"bash", "-c", command, NULL};
	gint p[2];
	gint h_in;
	gint h_out;
	gint h_err = -1;

	if (s->process != NULL || s->path == NULL)
		return FALSE;
	if (!g_unix_open_pipe(p, FD_CLOEXEC, &error))
		return FALSE;
	h_in = g_unix_fd_list_append(fds, p[0], NULL);
	close(p[0]);
	s->stdin_fd = p[1];
	if (!g_unix_open_pipe(p, FD_CLOEXEC, &error))
		return FALSE;
	h_out = g_unix_fd_list_append(fds, p[1], NULL);
	close(p[1]);
	s->stdout_fd = p[0];
	if (!s->pty) {
		if (!g_unix_open_pipe(p, FD_CLOEXEC, &error))
			return FALSE;
		h_err = g_unix_fd_list_append(fds, p[1], NULL);
		close(p[1]);
		s->stderr_fd = p[0];
	} else {
		s->stderr_done = TRUE;
		g_variant_builder_add(&options, "{sv}", "pty", g_variant_new_boolean(TRUE));
		g_variant_builder_add(&options, "{sv}", "rows",
				      g_variant_new_uint32(CLAMP(s->rows, 1, 65535)));
		g_variant_builder_add(&options, "{sv}", "cols",
				      g_variant_new_uint32(CLAMP(s->cols, 1, 65535)));
		if (s->term != NULL) {
			g_auto(GVariantBuilder) env =
			    G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a{ss}"));
			g_variant_builder_add(&env, "{ss}", "TERM", s->term);
			g_variant_builder_add(&options, "{sv}", "env", g_variant_builder_end(&env));
		}
	}
	if (config->user[0] != '\0')
		g_variant_builder_add(&options, "{sv}", "user", g_variant_new_string(config->user));
	g_variant_builder_add(&options, "{sv}", "cwd", g_variant_new_string(config->work_dir));
	reply = g_dbus_connection_call_with_unix_fd_list_sync(
	    s->bus, SSH_BUS_NAME, s->path, "org.sandboxd.Sandbox1", "Spawn",
	    g_variant_new("(^asa{sv}hhh)", command != NULL ? exec_argv : shell_argv, &options, h_in,
			  h_out, h_err),
	    G_VARIANT_TYPE("(o)"), G_DBUS_CALL_FLAGS_NONE, 60000, fds, &out_fds, NULL, &error);
	if (reply == NULL) {
		g_message("ssh peer=%s: spawn failed: %s", s->peer, error->message);
		return FALSE;
	}
	g_variant_get(reply, "(o)", &s->process);
	return TRUE;
}

static void
kill_process(SbxGwSshSession *s)
{
	g_autoptr(GVariant) reply = NULL;
	if (s->process == NULL)
		return;
	reply = g_dbus_connection_call_sync(s->bus, SSH_BUS_NAME, s->process,
					    "org.sandboxd.Process1", "Kill", NULL, NULL,
					    G_DBUS_CALL_FLAGS_NONE, 10000, NULL, NULL);
}

/* the exit status for the client; -1 when the sandbox went away first */
static gint
wait_process(SbxGwSshSession *s)
{
	g_autoptr(GVariant) reply = NULL;
	gint status = -1;
	gint sig = 0;
	gboolean timed_out = FALSE;

	reply = g_dbus_connection_call_sync(
	    s->bus, SSH_BUS_NAME, s->process, "org.sandboxd.Process1", "Wait", NULL,
	    G_VARIANT_TYPE("(iib)"), G_DBUS_CALL_FLAGS_NONE, 60000, NULL, NULL);
	if (reply == NULL)
		return -1;
	g_variant_get(reply, "(iib)", &status, &sig, &timed_out);
	return status >= 0 ? status : 128 + sig;
}

/* --- channel callbacks --- */

static int
on_data(ssh_session session, ssh_channel channel, void *data, uint32_t len, int is_stderr,
	void *user_data)
{
	SbxGwSshSession *s = user_data;
	gsize done = 0;

	if (s->stdin_fd < 0)
		return (int)len;
	while (done < len) {
		gssize n = write(s->stdin_fd, (const guint8 *)data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(s->stdin_fd);
			s->stdin_fd = -1;
			break;
		}
		done += (gsize)n;
	}
	return (int)len;
}

static void
on_eof(ssh_session session, ssh_channel channel, void *user_data)
{
	SbxGwSshSession *s = user_data;
	if (s->stdin_fd >= 0) {
		close(s->stdin_fd);
		s->stdin_fd = -1;
	}
}

static int
on_pty_request(ssh_session session, ssh_channel channel, const char *term, int width, int height,
	       int pxwidth, int pwheight, void *user_data)
{
	SbxGwSshSession *s = user_data;

	s->pty = TRUE;
	g_free(s->term);
	/* a terminal name, not arbitrary bytes into the guest's environment */
	s->term = g_strndup(term, 64);
	g_strcanon(s->term, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-+._",
		   '_');
	s->cols = (guint)CLAMP(width, 1, 65535);
	s->rows = (guint)CLAMP(height, 1, 65535);
	return SSH_OK;
}

static int
on_window_change(ssh_session session, ssh_channel channel, int width, int height, int pxwidth,
		 int pwheight, void *user_data)
{
	SbxGwSshSession *s = user_data;
	g_autoptr(GVariant) reply = NULL;

	s->cols = (guint)CLAMP(width, 1, 65535);
	s->rows = (guint)CLAMP(height, 1, 65535);
	if (s->process == NULL || !s->pty)
		return SSH_OK;
	reply =
	    g_dbus_connection_call_sync(s->bus, SSH_BUS_NAME, s->process, "org.sandboxd.Process1",
					"ResizePty", g_variant_new("(uu)", s->rows, s->cols), NULL,
					G_DBUS_CALL_FLAGS_NONE, 10000, NULL, NULL);
	return SSH_OK;
}

static int
on_shell(ssh_session session, ssh_channel channel, void *user_data)
{
	return start_process(user_data, NULL) ? SSH_OK : SSH_ERROR;
}

static int
on_exec(ssh_session session, ssh_channel channel, const char *command, void *user_data)
{
	return start_process(user_data, command) ? SSH_OK : SSH_ERROR;
}

static ssh_channel
on_channel_open(ssh_session session, void *user_data)
{
	SbxGwSshSession *s = user_data;

	/* one session channel per connection */
	if (s->channel != NULL || s->path == NULL)
		return NULL;
	s->channel = ssh_channel_new(session);
	/* per session: libssh keeps the pointer */
	s->channel_callbacks.userdata = s;
	s->channel_callbacks.channel_data_function = on_data;
	s->channel_callbacks.channel_eof_function = on_eof;
	s->channel_callbacks.channel_pty_request_function = on_pty_request;
	s->channel_callbacks.channel_pty_window_change_function = on_window_change;
	s->channel_callbacks.channel_shell_request_function = on_shell;
	s->channel_callbacks.channel_exec_request_function = on_exec;
	ssh_callbacks_init(&s->channel_callbacks);
	ssh_set_channel_callbacks(s->channel, &s->channel_callbacks);
	return s->channel;
}

/* --- the connection's thread --- */

static int
on_output(socket_t fd, int revents, void *user_data)
{
	SbxGwSshSession *s = user_data;
	guint8 buf[32768];
	gssize n = 0;
	gboolean is_err = fd == s->stderr_fd;

	if ((revents & (POLLIN | POLLHUP | POLLERR)) == 0)
		return 0;
	n = read(fd, buf, sizeof(buf));
	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0) {
		if (is_err)
			s->stderr_done = TRUE;
		else
			s->stdout_done = TRUE;
		return 0;
	}
	if (is_err)
		ssh_channel_write_stderr(s->channel, buf, (uint32_t)n);
	else
		ssh_channel_write(s->channel, buf, (uint32_t)n);
	return 0;
}

static void
serve(SbxGwSshSession *s)
{
	struct ssh_server_callbacks_struct callbacks = {
	    .userdata = s,
	    .auth_none_function = on_auth_none,
	    .auth_password_function = on_auth_password,
	    .auth_pubkey_function = on_auth_pubkey,
	    .channel_open_request_session_function = on_channel_open,
	};
	ssh_event event = NULL;
	gint64 deadline = g_get_monotonic_time() + SSH_LOGIN_GRACE_S * G_USEC_PER_SEC;
	gboolean out_added = FALSE;
	gboolean err_added = FALSE;

	long timeout = SSH_LOGIN_GRACE_S;

	ssh_callbacks_init(&callbacks);
	ssh_set_server_callbacks(s->session, &callbacks);
	/* a client that says nothing does not keep its thread */
	ssh_options_set(s->session, SSH_OPTIONS_TIMEOUT, &timeout);
	if (ssh_handle_key_exchange(s->session) != SSH_OK) {
		g_debug("ssh peer=%s: key exchange failed: %s", s->peer, ssh_get_error(s->session));
		return;
	}
	ssh_set_auth_methods(s->session, SSH_AUTH_METHOD_NONE | SSH_AUTH_METHOD_PASSWORD |
					     SSH_AUTH_METHOD_PUBLICKEY);
	event = ssh_event_new();
	ssh_event_add_session(event, s->session);
	/* login, a channel and a shell or exec request */
	while (s->process == NULL) {
		if (g_get_monotonic_time() > deadline || !ssh_is_connected(s->session) ||
		    ssh_event_dopoll(event, 200) == SSH_ERROR)
			break;
	}
	if (s->process != NULL) {
		ssh_event_add_fd(event, s->stdout_fd, POLLIN, on_output, s);
		out_added = TRUE;
		if (s->stderr_fd >= 0) {
			ssh_event_add_fd(event, s->stderr_fd, POLLIN, on_output, s);
			err_added = TRUE;
		}
		while (!(s->stdout_done && s->stderr_done)) {
			if (ssh_event_dopoll(event, 200) == SSH_ERROR ||
			    !ssh_is_connected(s->session) || !ssh_channel_is_open(s->channel))
				break;
			if (s->stdout_done && out_added) {
				ssh_event_remove_fd(event, s->stdout_fd);
				out_added = FALSE;
			}
			if (s->stderr_done && err_added) {
				ssh_event_remove_fd(event, s->stderr_fd);
				err_added = FALSE;
			}
		}
		if (s->stdout_done && s->stderr_done && ssh_channel_is_open(s->channel)) {
			gint status = wait_process(s);
			if (status >= 0)
				ssh_channel_request_send_exit_status(s->channel, status);
			ssh_channel_send_eof(s->channel);
			ssh_channel_close(s->channel);
			/* the client hangs up once it has the close; leaving first would tell
			 * it "closed by remote host" */
			deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
			while (ssh_is_connected(s->session) && g_get_monotonic_time() < deadline &&
			       ssh_event_dopoll(event, 200) != SSH_ERROR)
				;
		} else {
			/* the client left first */
			kill_process(s);
		}
	}
	if (out_added)
		ssh_event_remove_fd(event, s->stdout_fd);
	if (err_added)
		ssh_event_remove_fd(event, s->stderr_fd);
	ssh_event_remove_session(event, s->session);
	ssh_event_free(event);
}

static gpointer
session_thread(gpointer data)
{
	SbxGwSshSession *s = data;
	SbxGwSsh *ssh = s->ssh;

	serve(s);
	session_free(s);
	g_mutex_lock(&ssh->lock);
	ssh->sessions--;
	g_mutex_unlock(&ssh->lock);
	return NULL;
}

static gboolean
on_incoming(GSocketService *service, GSocketConnection *connection, GObject *source, gpointer data)
{
	SbxGwSsh *ssh = data;
	g_autoptr(GSocketAddress) remote = g_socket_connection_get_remote_address(connection, NULL);
	g_autoptr(GThread) thread = NULL;
	g_autoptr(GError) error = NULL;
	SbxGwSshSession *s;
	gint fd;

	g_mutex_lock(&ssh->lock);
	if (ssh->sessions >= SSH_MAX_SESSIONS) {
		g_mutex_unlock(&ssh->lock);
		g_message("ssh: %d sessions already, refusing one", SSH_MAX_SESSIONS);
		return TRUE;
	}
	ssh->sessions++;
	g_mutex_unlock(&ssh->lock);

	fd = dup(g_socket_get_fd(g_socket_connection_get_socket(connection)));
	s = g_new0(SbxGwSshSession, 1);
	s->ssh = ssh;
	s->fd = fd;
	s->stdin_fd = -1;
	s->stdout_fd = -1;
	s->stderr_fd = -1;
	s->bus = g_object_ref(ssh->server->bus);
	s->peer = G_IS_INET_SOCKET_ADDRESS(remote)
		      ? g_inet_address_to_string(
			    g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(remote)))
		      : g_strdup("?");
	s->session = ssh_new();
	if (fd < 0 || s->session == NULL ||
	    ssh_bind_accept_fd(ssh->bind, s->session, fd) != SSH_OK) {
		g_message("ssh: cannot accept a connection: %s",
			  ssh->bind != NULL ? ssh_get_error(ssh->bind) : "no memory");
		if (fd >= 0 && s->session == NULL)
			close(fd);
		session_free(s);
		g_mutex_lock(&ssh->lock);
		ssh->sessions--;
		g_mutex_unlock(&ssh->lock);
		return TRUE;
	}
	if (shut_out(ssh, s->peer))
		g_message("ssh peer=%s: too many failed logins, only failures for now", s->peer);
	thread = g_thread_try_new("ssh-session", session_thread, s, &error);
	if (thread == NULL) {
		g_message("ssh: cannot start a session thread: %s", error->message);
		session_free(s);
		g_mutex_lock(&ssh->lock);
		ssh->sessions--;
		g_mutex_unlock(&ssh->lock);
	}
	return TRUE;
}

/* --- setup --- */

static gchar *
host_key_path(SbxGwSsh *ssh, GError **error)
{
	const gchar *dir = ssh->server->config->state_dir;
	g_autofree gchar *path = g_build_filename(dir, "ssh_host_ed25519_key", NULL);
	ssh_key key = NULL;

	if (g_mkdir_with_parents(dir, 0700) != 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "%s: %s", dir,
			    g_strerror(errno));
		return NULL;
	}
	if (g_file_test(path, G_FILE_TEST_EXISTS))
		return g_steal_pointer(&path);
	/* first start: a new key, kept for the next ones (clients remember it) */
	if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK ||
	    ssh_pki_export_privkey_file(key, NULL, NULL, NULL, path) != SSH_OK) {
		ssh_key_free(key);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "%s: cannot write an SSH host key", path);
		return NULL;
	}
	ssh_key_free(key);
	g_chmod(path, 0600);
	g_message("ssh: made the host key %s", path);
	return g_steal_pointer(&path);
}

SbxGwSsh *
sbx_gw_ssh_new(SbxGwServer *server, GError **error)
{
	g_autoptr(SbxGwSsh) ssh = g_new0(SbxGwSsh, 1);
	g_autoptr(GSocketAddress) address = NULL;
	g_autoptr(GSocketAddress) bound = NULL;
	g_autofree gchar *key_path = NULL;
	g_autofree gchar *host = NULL;
	const gchar *listen = server->config->ssh_listen;
	const gchar *colon = strrchr(listen, ':');
	guint64 port = 0;

	ssh->server = server;
	g_mutex_init(&ssh->lock);
	ssh->names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	ssh->ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	ssh->failures = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	if (colon == NULL || !g_ascii_string_to_unsigned(colon + 1, 10, 1, 65535, &port, NULL)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "[gateway] SSHListen: expected HOST:PORT, not '%s'", listen);
		return NULL;
	}
	host = g_strndup(listen, colon - listen);
	address = g_inet_socket_address_new_from_string(host, (guint)port);
	if (address == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "[gateway] SSHListen: '%s' is not an IP address", host);
		return NULL;
	}
	key_path = host_key_path(ssh, error);
	if (key_path == NULL)
		return NULL;
	ssh->bind = ssh_bind_new();
	if (ssh_bind_options_set(ssh->bind, SSH_BIND_OPTIONS_HOSTKEY, key_path) != SSH_OK) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", key_path,
			    ssh_get_error(ssh->bind));
		return NULL;
	}
	ssh->service = g_socket_service_new();
	if (!g_socket_listener_add_address(G_SOCKET_LISTENER(ssh->service), address,
					   G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
					   &bound, error)) {
		g_prefix_error(error, "[gateway] SSHListen %s: ", listen);
		return NULL;
	}
	ssh->hostname = server->config->ssh_hostname != NULL
			    ? g_strdup(server->config->ssh_hostname)
			    : g_strdup(host);
	g_signal_connect(ssh->service, "incoming", G_CALLBACK(on_incoming), ssh);
	g_socket_service_start(ssh->service);
	g_message("ssh: listening on %s", listen);
	return g_steal_pointer(&ssh);
}

void
sbx_gw_ssh_free(SbxGwSsh *ssh)
{
	if (ssh->service != NULL) {
		g_socket_service_stop(ssh->service);
		g_socket_listener_close(G_SOCKET_LISTENER(ssh->service));
		g_signal_handlers_disconnect_by_data(ssh->service, ssh);
		g_object_unref(ssh->service);
	}
	/* session threads still running use the rest: the process is ending anyway */
	g_mutex_lock(&ssh->lock);
	if (ssh->sessions > 0) {
		g_mutex_unlock(&ssh->lock);
		return;
	}
	g_mutex_unlock(&ssh->lock);
	if (ssh->bind != NULL)
		ssh_bind_free(ssh->bind);
	g_free(ssh->hostname);
	g_hash_table_unref(ssh->names);
	g_hash_table_unref(ssh->ids);
	g_hash_table_unref(ssh->failures);
	g_free(ssh);
}
