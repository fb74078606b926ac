/* a parent process that cleans up after the integration tests, even when they crash.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <sys/types.h>

/* forks: returns in the child (which runs the tests); in the parent it waits for the
 * child, then kills every process recorded with sbx_supervisor_record_pid() (and any
 * orphan left behind), destroys every libvirt domain recorded with
 * sbx_supervisor_record_domain() (and, for the qemu backend, kills the QEMUs whose
 * command line names @tmpdir and deletes their taps' nft bridge tables), removes @tmpdir
 * and exits with the child's status.
 * call it before GLib starts any thread. */
void sbx_supervisor_fork(const char *tmpdir);

/* called in the child: things the parent must clean if the child cannot */
void sbx_supervisor_record_pid(const char *tmpdir, pid_t pid);
void sbx_supervisor_record_domain(const char *tmpdir, const char *name);
/* an nftables table (family inet) the daemon under test owns */
void sbx_supervisor_record_nft_table(const char *tmpdir, const char *name);

/* for GSubprocessLauncher child setup: the process gets SIGTERM when the test dies */
void sbx_supervisor_child_setup(void *user_data);
