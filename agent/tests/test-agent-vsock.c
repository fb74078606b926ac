/* the agent's AF_VSOCK transport: which command lines choose it, the
 * listener it opens, and the --vsock mode of the binary
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include <glib.h>

#include "sbx-agent.h"

static void
test_parse(void)
{
	static const struct {
		const char *cmdline;
		int result;
		unsigned port;
	} cases[] = {
	    {"console=ttyS0 sbx.transport=vsock:1024 quiet", 1, 1024},
	    {"sbx.transport=vsock:1", 1, 1},
	    {"sbx.transport=vsock:4294967294", 1, 4294967294u},
	    {"console=ttyS0", 0, 0},
	    {"sbx.transport=virtio-serial", 0, 0},
	    /* another word that merely ends like it */
	    {"xsbx.transport=vsock:5", 0, 0},
	    {"sbx.transport=vsock:", -1, 0},
	    {"sbx.transport=vsock:0", -1, 0},
	    {"sbx.transport=vsock:4294967295", -1, 0}, /* VMADDR_PORT_ANY */
	    {"sbx.transport=vsock:99999999999", -1, 0},
	    {"sbx.transport=vsock:-1", -1, 0},
	    {"sbx.transport=vsock:12x", -1, 0},
	    {"sbx.transport=tcp:1024", -1, 0},
	    /* longer than any valid value: ignored (virtio-serial), never truncated */
	    {"sbx.transport=vsock:000000000000000000000000000000001", 0, 0},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		unsigned port = 0;
		int r = sbx_vsock_parse_transport(cases[i].cmdline, &port);
		g_test_message("%s", cases[i].cmdline);
		g_assert_cmpint(r, ==, cases[i].result);
		if (r == 1)
			g_assert_cmpuint(port, ==, cases[i].port);
	}
}

/* a port nobody else on this host uses right now */
static unsigned
free_port(void)
{
	for (unsigned port = 40000 + (unsigned)g_random_int_range(0, 20000);; port++) {
		int fd = sbx_vsock_listen(port);
		if (fd >= 0) {
			close(fd);
			return port;
		}
		g_assert_cmpint(errno, ==, EADDRINUSE);
	}
}

static void
test_listen(void)
{
	unsigned port = free_port();
	struct sockaddr_vm sa = {0};
	socklen_t len = sizeof(sa);
	int accepting = 0;
	socklen_t alen = sizeof(accepting);
	int fd = sbx_vsock_listen(port);

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
	g_assert_cmpint(sa.svm_family, ==, AF_VSOCK);
	g_assert_cmpuint(sa.svm_port, ==, port);
	g_assert_cmpuint(sa.svm_cid, ==, VMADDR_CID_ANY);
	g_assert_cmpint(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &alen), ==, 0);
	g_assert_cmpint(accepting, ==, 1);
	g_assert_cmpint(fcntl(fd, F_GETFD) & FD_CLOEXEC, !=, 0);
	/* the port is taken: a second agent cannot listen there */
	g_assert_cmpint(sbx_vsock_listen(port), ==, -1);
	g_assert_cmpint(errno, ==, EADDRINUSE);
	close(fd);
}

/* `sandboxd-agent --vsock PORT` holds the port until SIGTERM */
static void
test_binary(void)
{
	unsigned port = free_port();
	g_autofree gchar *port_arg = g_strdup_printf("%u", port);
	const gchar *argv[] = {AGENT, "--vsock", port_arg, NULL};
	g_autoptr(GError) error = NULL;
	GPid pid;
	gint status = 0;
	gboolean taken = FALSE;

	g_assert_true(g_spawn_async(NULL, (gchar **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
				    NULL, &pid, &error));
	for (guint i = 0; i < 500 && !taken; i++) {
		int fd = sbx_vsock_listen(port);
		if (fd >= 0) {
			close(fd);
			g_usleep(10000);
			continue;
		}
		taken = errno == EADDRINUSE;
	}
	g_assert_true(taken);
	g_assert_cmpint(kill(pid, SIGTERM), ==, 0);
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
	/* and gives it back */
	{
		int fd = sbx_vsock_listen(port);
		g_assert_cmpint(fd, >=, 0);
		close(fd);
	}
}

static void
test_bad_port(void)
{
	const gchar *argv[] = {AGENT, "--vsock", "0", NULL};
	gint status = 0;
	g_autoptr(GError) error = NULL;

	g_assert_true(g_spawn_sync(NULL, (gchar **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL,
				   NULL, NULL, NULL, &status, &error));
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 2);
}

int
main(int argc, char **argv)
{
	int probe;

	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/agent-vsock/parse", test_parse);
	probe = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0) {
		/* not silent: the kernel lacks vsock (modprobe vsock) */
		g_print("SKIP: this kernel has no AF_VSOCK sockets (%s): modprobe vsock\n",
			g_strerror(errno));
		return 77;
	}
	close(probe);
	g_test_add_func("/agent-vsock/listen", test_listen);
	g_test_add_func("/agent-vsock/binary", test_binary);
	g_test_add_func("/agent-vsock/bad-port", test_bad_port);
	return g_test_run();
}
