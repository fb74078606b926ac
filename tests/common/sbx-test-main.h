/* the frame of an integration test's main(), the same in every program.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "sbx-test-env.h"

G_BEGIN_DECLS

/* first thing in main(): a temporary folder named after @name under a forked
 * supervisor (it cleans up whatever happens to the tests), g_test_init() and
 * SIGPIPE ignored. Exits 77 with the reason when qemu:///system does not
 * answer, 1 when the folder cannot be made. Returns the folder. */
gchar *sbx_test_main_init(const gchar *name, int *argc, char ***argv);
/* sbx_test_env_start() of the run's environment in @tmpdir; on failure it
 * prints why, stops what started and exits 1 */
SbxTestEnv *sbx_test_main_start(const gchar *tmpdir);
/* both: the usual start of main() */
SbxTestEnv *sbx_test_main_run(const gchar *name, int *argc, char ***argv);
/* config/sandboxd.conf.d/@file with @contents, then a daemon restart so it
 * reads it; exits 1 on failure */
void sbx_test_main_dropin(SbxTestEnv *env, const gchar *file, const gchar *contents);
/* a sandbox for the whole run; exits 1 when it cannot be made */
gchar *sbx_test_main_create(const gchar *options);
/* last thing in main(): stops the environment; returns @rc */
int sbx_test_main_end(int rc);

G_END_DECLS
