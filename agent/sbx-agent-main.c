/* sandboxd guest agent: entry point and modes.
 *
 *   PID 1 in the guest: init duties, then serve the virtio-serial port.
 *   --port DEV:         serve a given virtio-serial device (no init duties).
 *   --listen PATH:      host test mode, serve one unix-socket client at a time.
 *   --vsock PORT:       serve AF_VSOCK PORT (as PID 1: sbx.transport=vsock:PORT).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sbx-agent.h"

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: sandboxd-agent [--verbose] [--listen PATH | --port DEVICE | --vsock PORT]\n"
		"\n"
		"Guest agent of sandboxd. As PID 1 it sets up the guest and serves\n"
		"the virtio-serial port named " SBX_AGENT_PORT_NAME ".\n"
		"\n"
		"  --listen PATH   serve one client at a time on a unix socket (tests)\n"
		"  --port DEVICE   serve an already present virtio-serial device\n"
		"  --vsock PORT    serve AF_VSOCK port PORT (as sbx.transport=vsock:PORT)\n"
		"  --verbose       log every channel event to stderr\n"
		"  --version       print the version and exit\n");
}

static int
setup_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	/* the virtio-serial port signals a host (dis)connecting: see sbx-agent-loop.c */
	sigaddset(&set, SIGIO);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static void __attribute__((noreturn)) pid1_fatal(const char *msg)
{
	sbx_log("%s; powering off", msg);
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

static int
serve_port(SbxLoop *loop, int fd)
{
	SbxConn c;
	sbx_conn_init(&c, fd, true);
	sbx_log("serving the virtio-serial port (agent %s)", SBX_AGENT_VERSION);
	sbx_loop_serve(loop, &c);
	sbx_buf_free(&c.in);
	sbx_buf_free(&c.out);
	return 0;
}

/* binds under a temporary name and renames, so the path exists only once
 * connect() can succeed */
static int
listen_socket(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char tmp[sizeof(sa.sun_path)];
	if (snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid()) >= (int)sizeof(tmp) ||
	    strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "sandboxd-agent: socket path too long: %s\n", path);
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memcpy(sa.sun_path, tmp, strlen(tmp) + 1);
	unlink(tmp);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0 ||
	    rename(tmp, path) < 0) {
		fprintf(stderr, "sandboxd-agent: cannot listen on %s: %s\n", path, strerror(errno));
		unlink(tmp);
		close(fd);
		return -1;
	}
	return fd;
}

/* one client at a time on a listening socket (others wait in the backlog) */
static void
serve_accept(SbxLoop *loop, int lfd)
{
	while (!loop->stop) {
		struct pollfd p[2] = {{.fd = loop->sigfd, .events = POLLIN},
				      {.fd = lfd, .events = POLLIN}};
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			sbx_loop_handle_signals(loop, NULL);
		if (loop->stop || (p[1].revents & POLLIN) == 0)
			continue;
		int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (cfd < 0)
			continue;
		SbxConn c;
		sbx_conn_init(&c, cfd, false);
		sbx_debug("client connected");
		sbx_loop_serve(loop, &c);
		sbx_buf_free(&c.in);
		sbx_buf_free(&c.out);
		close(cfd);
		sbx_debug("client gone");
	}
}

static int
serve_listen(SbxLoop *loop, const char *path)
{
	/* children that double-fork still get reaped by us (no PDEATHSIG: it
	 * fires when the spawning *thread* exits, e.g. a GTask worker) */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	int lfd = listen_socket(path);
	if (lfd < 0)
		return 1;
	sbx_debug("listening on %s", path);
	serve_accept(loop, lfd);
	close(lfd);
	unlink(path);
	return 0;
}

/* the host connects through the VMM's hybrid vsock (CONNECT <port>) */
static int
serve_vsock(SbxLoop *loop, unsigned port)
{
	int lfd = sbx_vsock_listen(port);
	/* as PID 1 the vsock modules were just loaded: give the device a moment */
	for (int i = 0; lfd < 0 && loop->pid1 && i < 1000 &&
			(errno == EAFNOSUPPORT || errno == ENODEV || errno == EADDRNOTAVAIL);
	     i++) {
		usleep(20000);
		lfd = sbx_vsock_listen(port);
	}
	if (lfd < 0) {
		sbx_log("cannot listen on vsock port %u: %s", port, strerror(errno));
		return 1;
	}
	sbx_log("serving vsock port %u (agent %s)", port, SBX_AGENT_VERSION);
	serve_accept(loop, lfd);
	close(lfd);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *listen_path = NULL;
	const char *port_path = NULL;
	unsigned vsock_port = 0;
	bool pid1 = getpid() == 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--version") == 0) {
			printf("sandboxd-agent %s (protocol %u)\n", SBX_AGENT_VERSION,
			       SBX_PROTO_VERSION);
			return 0;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0) {
			sbx_agent_verbose = true;
		} else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
			listen_path = argv[++i];
		} else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
			port_path = argv[++i];
		} else if (strcmp(argv[i], "--vsock") == 0 && i + 1 < argc) {
			char *end = NULL;
			unsigned long v = strtoul(argv[++i], &end, 10);
			if (*end != '\0' || v == 0 || v >= 0xffffffffUL) {
				usage(stderr);
				return 2;
			}
			vsock_port = (unsigned)v;
		} else if (pid1) {
			/* the kernel passes unknown cmdline words to init: ignore */
			continue;
		} else {
			usage(stderr);
			return 2;
		}
	}

	if (pid1 && sbx_init_pid1() < 0)
		pid1_fatal("cannot mount the root file system");
	if (pid1)
		sbx_limits_setup(sbx_init_cmdline());
	/* pipes for children are dup'ed onto 0-2: those must be taken */
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) < 0) {
			int n = open("/dev/null", O_RDWR);
			if (n >= 0 && n != fd) {
				dup2(n, fd);
				close(n);
			}
		}
	}

	SbxLoop loop = {.pid1 = pid1};
	loop.sigfd = setup_signals();
	if (loop.sigfd < 0) {
		if (pid1)
			pid1_fatal("cannot create signalfd");
		perror("sandboxd-agent: signalfd");
		return 1;
	}

	if (listen_path != NULL && !pid1)
		return serve_listen(&loop, listen_path);
	if (pid1 && vsock_port == 0) {
		int t = sbx_vsock_parse_transport(sbx_init_cmdline(), &vsock_port);
		if (t < 0)
			sbx_log(
			    "sbx.transport: not virtio-serial or vsock:PORT; using virtio-serial");
	}
	if (vsock_port != 0) {
		int r = serve_vsock(&loop, vsock_port);
		if (pid1)
			pid1_fatal("vsock listener ended");
		return r;
	}

	int fd;
	if (port_path != NULL)
		fd = open(port_path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	else
		fd = sbx_init_open_port();
	if (fd < 0) {
		if (pid1)
			pid1_fatal("virtio-serial port " SBX_AGENT_PORT_NAME " not found");
		fprintf(stderr, "sandboxd-agent: cannot open the virtio-serial port: %s\n",
			strerror(errno));
		return 1;
	}
	serve_port(&loop, fd);
	if (pid1)
		pid1_fatal("event loop ended");
	return 0;
}
