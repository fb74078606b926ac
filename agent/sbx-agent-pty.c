/* sandboxd guest agent: pseudo-terminals for interactive processes.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "sbx-agent.h"

void
sbx_pty_resize(int master, uint32_t rows, uint32_t cols)
{
	if (rows == 0 || cols == 0 || rows > 0xffff || cols > 0xffff)
		return;
	struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
	/* the kernel sends SIGWINCH to the terminal's foreground group */
	if (ioctl(master, TIOCSWINSZ, &ws) < 0)
		sbx_debug("TIOCSWINSZ: %s", strerror(errno));
}

bool
sbx_pty_open(int *master, int *slave, uint32_t rows, uint32_t cols)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return false;
	int unlock = 0;
	int s = -1;
	if (ioctl(m, TIOCSPTLCK, &unlock) == 0) {
		/* the peer of this very master, whatever /dev/pts looks like */
		s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (s < 0) {
			char name[64];
			int n = 0;
			if (ioctl(m, TIOCGPTN, &n) == 0) {
				snprintf(name, sizeof(name), "/dev/pts/%d", n);
				s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
			}
		}
	}
	if (s < 0) {
		int e = errno;
		close(m);
		errno = e;
		return false;
	}
	fcntl(m, F_SETFL, O_NONBLOCK);
	sbx_pty_resize(m, rows, cols);
	*master = m;
	*slave = s;
	return true;
}

bool
sbx_pty_make_controlling(void)
{
	return ioctl(0, TIOCSCTTY, 0) == 0;
}
