/* stands in for sandboxd-agent --listen in the test backend's tests: listens
 * on the socket and exits with status 3 when a client sends "exit"
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd;

	if (argc != 3 || strcmp(argv[1], "--listen") != 0 ||
	    strlen(argv[2]) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "usage: %s --listen PATH\n", argv[0]);
		return 2;
	}
	strcpy(addr.sun_path, argv[2]);
	/* say it before bind(): the backend treats the socket's appearance as
	 * "started", and the test reads this line right after that */
	printf("fake agent listening on %s\n", argv[2]);
	fflush(stdout);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 4) < 0) {
		perror("fake agent");
		return 1;
	}
	for (;;) {
		char buf[16] = {0};
		int conn = accept(fd, NULL, NULL);
		if (conn < 0)
			continue;
		if (read(conn, buf, sizeof(buf) - 1) > 0 && strncmp(buf, "exit", 4) == 0)
			return 3;
		close(conn);
	}
}
