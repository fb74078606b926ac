/* a stand-in for the `cloud-hypervisor` binary (which cannot run on machines
 * without usable KVM): parses the real flags the backend passes, serves the
 * API (sbx-fake-ch-server.c) on the fd it is handed, writes the event monitor
 * to its fd, and "boots" a guest whose agent is the real sandboxd-agent in
 * --listen mode, reached through a hybrid-vsock socket that speaks the
 * CONNECT/OK handshake. Exits like CH: after vmm.shutdown, a guest poweroff
 * (SIGUSR1 here), SIGTERM or SIGINT.
 *
 * Environment:
 *   SBX_FAKE_CH_VERSION  X.Y.Z the API behaves as (default 53.0.0)
 *   SBX_FAKE_CH_AGENT    the agent binary; unset: the guest never listens
 *   SBX_FAKE_CH_FAIL     ENDPOINT:MESSAGE, the first such request fails (500)
 *   SBX_FAKE_CH_TRACE    a file every request line is appended to
 *   SBX_FAKE_CH_GUEST_DIR where the guest's agent socket goes (a killed fake
 *                        leaves it behind: the test removes it)
 *   SBX_FAKE_CH_DISKS_REVERSED  non-empty: the disks' PCI slots in reverse
 *                        disks[] order (what the backend must refuse)
 * SIGUSR2: a guest kernel panic (guest/panic event; the guest hangs).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <gio/gunixsocketaddress.h>
#include <glib-unix.h>
#include <glib/gstdio.h>

#include "sbx-fake-ch-server.h"

typedef struct {
	GMainLoop *loop;
	FakeChServer *server;
	gchar *agent_binary;
	GSubprocess *agent;
	gchar *agent_dir;
	gchar *agent_socket;
	gchar *vsock_socket;
	GSocketService *vsock;
	guint port;
	gchar *trace;
	guint traced;
} Fake;

typedef struct {
	Fake *fake;
	GSocketConnection *conn;
	gchar line[33];
	gsize len;
} Handshake;

static void
handshake_free(Handshake *h)
{
	g_clear_object(&h->conn);
	g_free(h);
}

static void
on_spliced(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_io_stream_splice_finish(res, NULL);
}

static void read_command_byte(Handshake *h);

static void
on_command_byte(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Handshake *h = user_data;
	Fake *fake = h->fake;
	gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), res, NULL);
	g_autoptr(GSocketClient) client = NULL;
	g_autoptr(GSocketAddress) addr = NULL;
	g_autoptr(GSocketConnection) agent = NULL;
	guint64 port = 0;
	const gchar *ok = "OK 1073741824\n";

	if (n <= 0) {
		handshake_free(h);
		return;
	}
	if (h->line[h->len] != '\n') {
		/* the muxer takes at most 32 bytes */
		if (++h->len >= 32) {
			handshake_free(h);
			return;
		}
		read_command_byte(h);
		return;
	}
	h->line[h->len] = '\0';
	/* "CONNECT <port>": the prefix case-insensitive, the number trimmed */
	if (g_ascii_strncasecmp(h->line, "CONNECT ", 8) != 0 ||
	    !g_ascii_string_to_unsigned(g_strstrip(h->line + 8), 10, 0, G_MAXUINT32, &port, NULL) ||
	    port != fake->port || fake->agent_socket == NULL) {
		/* nobody listens on that port in the guest: closed without OK */
		handshake_free(h);
		return;
	}
	client = g_socket_client_new();
	addr = g_unix_socket_address_new(fake->agent_socket);
	agent = g_socket_client_connect(client, G_SOCKET_CONNECTABLE(addr), NULL, NULL);
	if (agent == NULL) {
		/* the agent is still starting: a reset, as from a booting guest */
		handshake_free(h);
		return;
	}
	g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(h->conn)), ok,
				  strlen(ok), NULL, NULL, NULL);
	g_io_stream_splice_async(G_IO_STREAM(h->conn), G_IO_STREAM(agent),
				 G_IO_STREAM_SPLICE_CLOSE_STREAM1 |
				     G_IO_STREAM_SPLICE_CLOSE_STREAM2,
				 G_PRIORITY_DEFAULT, NULL, on_spliced, NULL);
	handshake_free(h);
}

static void
read_command_byte(Handshake *h)
{
	g_input_stream_read_async(g_io_stream_get_input_stream(G_IO_STREAM(h->conn)),
				  h->line + h->len, 1, G_PRIORITY_DEFAULT, NULL, on_command_byte,
				  h);
}

static gboolean
on_vsock_incoming(GSocketService *service, GSocketConnection *conn, GObject *source,
		  gpointer user_data)
{
	Handshake *h = g_new0(Handshake, 1);
	h->fake = user_data;
	h->conn = g_object_ref(conn);
	read_command_byte(h);
	return TRUE;
}

static guint
cmdline_port(const gchar *cmdline)
{
	const gchar *p = cmdline != NULL ? strstr(cmdline, "sbx.transport=vsock:") : NULL;
	return p != NULL ? (guint)g_ascii_strtoull(p + strlen("sbx.transport=vsock:"), NULL, 10)
			 : 0;
}

static void
halt(FakeChServer *server, gpointer user_data)
{
	Fake *fake = user_data;

	if (fake->vsock != NULL) {
		g_socket_service_stop(fake->vsock);
		g_socket_listener_close(G_SOCKET_LISTENER(fake->vsock));
		g_clear_object(&fake->vsock);
	}
	/* CH removes the vsock socket on device shutdown */
	if (fake->vsock_socket != NULL)
		g_unlink(fake->vsock_socket);
	g_clear_pointer(&fake->vsock_socket, g_free);
	if (fake->agent != NULL) {
		g_subprocess_send_signal(fake->agent, SIGTERM);
		g_subprocess_wait(fake->agent, NULL, NULL);
		g_clear_object(&fake->agent);
	}
	if (fake->agent_socket != NULL)
		g_unlink(fake->agent_socket);
	g_clear_pointer(&fake->agent_socket, g_free);
	if (fake->agent_dir != NULL)
		g_rmdir(fake->agent_dir);
	g_clear_pointer(&fake->agent_dir, g_free);
}

static void
die_with_parent(gpointer data)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* the parent was killed before that: its guest goes too, not on alone */
	if (getppid() != GPOINTER_TO_INT(data))
		_exit(1);
}

static gboolean
boot(FakeChServer *server, JsonObject *config, gpointer user_data, GError **error)
{
	Fake *fake = user_data;
	JsonObject *vsock = json_object_get_object_member(config, "vsock");
	JsonObject *payload = json_object_get_object_member(config, "payload");
	JsonObject *serial = json_object_get_object_member(config, "serial");
	const gchar *path = vsock != NULL ? json_object_get_string_member(vsock, "socket") : NULL;
	g_autoptr(GSocketAddress) addr = NULL;
	g_autoptr(GSocket) sock = NULL;
	g_autoptr(GSubprocessLauncher) launcher = NULL;

	if (serial != NULL &&
	    g_strcmp0(json_object_get_string_member_with_default(serial, "mode", ""), "File") ==
		0) {
		const gchar *file = json_object_get_string_member(serial, "file");
		g_autofree gchar *text = g_strdup_printf(
		    "fake guest: booting with %s\n",
		    json_object_get_string_member_with_default(payload, "cmdline", ""));
		if (!g_file_set_contents(file, text, -1, error))
			return FALSE;
	}
	if (path == NULL)
		return TRUE;
	fake->port =
	    cmdline_port(json_object_get_string_member_with_default(payload, "cmdline", ""));
	/* bind() fails on a stale file, as in CH */
	addr = g_unix_socket_address_new(path);
	sock = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, 0, error);
	if (sock == NULL || !g_socket_bind(sock, addr, FALSE, error) ||
	    !g_socket_listen(sock, error)) {
		g_prefix_error(error, "Error creating vsock device: %s: ", path);
		return FALSE;
	}
	fake->vsock_socket = g_strdup(path);
	fake->vsock = g_socket_service_new();
	g_socket_listener_add_socket(G_SOCKET_LISTENER(fake->vsock), sock, NULL, NULL);
	g_signal_connect(fake->vsock, "incoming", G_CALLBACK(on_vsock_incoming), fake);
	g_socket_service_start(fake->vsock);
	if (fake->agent_binary == NULL)
		return TRUE;
	/* the "guest": the real agent, serving the protocol on a private socket */
	if (g_getenv("SBX_FAKE_CH_GUEST_DIR") != NULL) {
		g_autofree gchar *name = g_strdup_printf("guest-%d", (gint)getpid());
		fake->agent_dir = g_build_filename(g_getenv("SBX_FAKE_CH_GUEST_DIR"), name, NULL);
		if (g_mkdir_with_parents(fake->agent_dir, 0700) != 0) {
			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "mkdir %s",
				    fake->agent_dir);
			return FALSE;
		}
	} else if ((fake->agent_dir = g_dir_make_tmp("sbx-fake-guest-XXXXXX", error)) == NULL) {
		return FALSE;
	}
	fake->agent_socket = g_build_filename(fake->agent_dir, "agent.sock", NULL);
	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);
	/* a killed VMM takes its guest along, as with the real thing */
	g_subprocess_launcher_set_child_setup(launcher, die_with_parent,
					      GINT_TO_POINTER((gint)getpid()), NULL);
	fake->agent = g_subprocess_launcher_spawn(launcher, error, fake->agent_binary, "--listen",
						  fake->agent_socket, NULL);
	return fake->agent != NULL;
}

static void
do_exit(FakeChServer *server, gpointer user_data)
{
	Fake *fake = user_data;
	halt(server, fake);
	g_main_loop_quit(fake->loop);
}

static gboolean
on_sigterm(gpointer user_data)
{
	do_exit(NULL, user_data);
	return G_SOURCE_REMOVE;
}

static gboolean
on_sigusr1(gpointer user_data)
{
	Fake *fake = user_data;
	fake_ch_server_guest_poweroff(fake->server);
	return G_SOURCE_CONTINUE;
}

static gboolean
on_sigusr2(gpointer user_data)
{
	Fake *fake = user_data;
	fake_ch_server_emit(fake->server, "guest", "panic", "event", "panic");
	return G_SOURCE_CONTINUE;
}

/* the request lines so far, appended to SBX_FAKE_CH_TRACE */
static gboolean
flush_trace(gpointer user_data)
{
	Fake *fake = user_data;
	GPtrArray *requests = fake_ch_server_get_requests(fake->server);
	FILE *f;

	if (fake->trace == NULL || fake->traced == requests->len)
		return G_SOURCE_CONTINUE;
	f = fopen(fake->trace, "a");
	for (; f != NULL && fake->traced < requests->len; fake->traced++)
		fprintf(f, "%s\n", (const gchar *)g_ptr_array_index(requests, fake->traced));
	if (f != NULL)
		fclose(f);
	return G_SOURCE_CONTINUE;
}

/* "fd=N", "path=P" or a bare path, as parse_api_socket takes them */
static gint
open_api_socket(const gchar *value)
{
	if (g_str_has_prefix(value, "fd="))
		return (gint)g_ascii_strtoll(value + 3, NULL, 10);
	g_printerr("fake cloud-hypervisor: only --api-socket fd=N is faked (got %s)\n", value);
	return -1;
}

static gint
open_event_monitor(const gchar *value)
{
	if (g_str_has_prefix(value, "fd=")) {
		gint fd = (gint)g_ascii_strtoll(value + 3, NULL, 10);
		/* CH sets it non-blocking */
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		return fd;
	}
	if (g_str_has_prefix(value, "path="))
		value += 5;
	return open(value, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
}

int
main(int argc, char **argv)
{
	Fake fake = {0};
	const gchar *version_text = g_getenv("SBX_FAKE_CH_VERSION");
	const gchar *fail = g_getenv("SBX_FAKE_CH_FAIL");
	g_autoptr(GSocket) listener = NULL;
	g_autoptr(GError) error = NULL;
	SbxChVersion version;
	gint api_fd = -1;
	gint event_fd = -1;

	/* empty means unset: the tests cannot unsetenv() once threads run */
	if (version_text == NULL || version_text[0] == '\0')
		version_text = "53.0.0";
	if (!sbx_ch_version_parse(version_text, &version, &error))
		g_error("%s", error->message);
	for (gint i = 1; i < argc; i++) {
		if (g_strcmp0(argv[i], "--version") == 0 || g_strcmp0(argv[i], "-V") == 0) {
			g_print("cloud-hypervisor v%s\n", version_text);
			return 0;
		} else if (g_strcmp0(argv[i], "--api-socket") == 0 && i + 1 < argc) {
			api_fd = open_api_socket(argv[++i]);
		} else if (g_strcmp0(argv[i], "--event-monitor") == 0 && i + 1 < argc) {
			event_fd = open_event_monitor(argv[++i]);
		} else if (g_strcmp0(argv[i], "--seccomp") == 0 && i + 1 < argc) {
			i++;
		} else if (g_strcmp0(argv[i], "--log-file") == 0 && i + 1 < argc) {
			gint fd = open(argv[++i], O_WRONLY | O_APPEND | O_CLOEXEC);
			if (fd < 0) {
				g_printerr("Error opening log file: %s\n", g_strerror(errno));
				return 1;
			}
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		} else if (g_str_has_prefix(argv[i], "-v")) {
			continue;
		} else {
			g_printerr("error: unexpected argument '%s' found\n", argv[i]);
			return 2;
		}
	}
	if (api_fd < 0) {
		g_printerr("fake cloud-hypervisor: no --api-socket\n");
		return 1;
	}
	listener = g_socket_new_from_fd(api_fd, &error);
	if (listener == NULL)
		g_error("--api-socket fd=%d: %s", api_fd, error->message);

	fake.loop = g_main_loop_new(NULL, FALSE);
	fake.agent_binary = g_strdup(g_getenv("SBX_FAKE_CH_AGENT"));
	fake.trace = g_strdup(g_getenv("SBX_FAKE_CH_TRACE"));
	fake.server = fake_ch_server_new(listener, &version, event_fd);
	fake_ch_server_set_hooks(fake.server, &(FakeChHooks){boot, halt, do_exit}, &fake);
	if (g_strcmp0(g_getenv("SBX_FAKE_CH_DISKS_REVERSED"), "") > 0)
		fake_ch_server_set_disks_reversed(fake.server, TRUE);
	if (fail != NULL && strchr(fail, ':') != NULL) {
		g_auto(GStrv) parts = g_strsplit(fail, ":", 2);
		fake_ch_server_inject_failure(fake.server, parts[0], parts[1]);
	}
	g_unix_signal_add(SIGTERM, on_sigterm, &fake);
	g_unix_signal_add(SIGINT, on_sigterm, &fake);
	g_unix_signal_add(SIGUSR1, on_sigusr1, &fake);
	g_unix_signal_add(SIGUSR2, on_sigusr2, &fake);
	g_timeout_add(10, flush_trace, &fake);
	g_print("fake cloud-hypervisor %s, pid %d\n", version_text, (gint)getpid());
	g_main_loop_run(fake.loop);
	flush_trace(&fake);
	return 0;
}
