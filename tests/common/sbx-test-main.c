/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>

#include "sbx-test-main.h"
#include "sbx-test-supervisor.h"

static G_NORETURN void
fail(const gchar *what, const GError *error)
{
	g_printerr("%s: %s\n", what, error != NULL ? error->message : g_strerror(errno));
	sbx_test_env_stop(sbx_test_env_get());
	exit(1);
}

gchar *
sbx_test_main_init(const gchar *name, int *argc, char ***argv)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *template = g_strdup_printf("sbx-%s-XXXXXX", name);
	g_autofree gchar *tmpdir = g_dir_make_tmp(template, &error);

	if (tmpdir == NULL)
		fail("cannot make the test folder", error);
	/* before GLib starts any thread */
	sbx_supervisor_fork(tmpdir);
	g_test_init(argc, argv, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* not a failure of ours: libvirtd is not there */
	if (!sbx_test_backend_probe(&error)) {
		g_printerr("skipping: %s\n", error->message);
		exit(77);
	}
	return g_steal_pointer(&tmpdir);
}

SbxTestEnv *
sbx_test_main_start(const gchar *tmpdir)
{
	g_autoptr(GError) error = NULL;
	SbxTestEnv *env = sbx_test_env_get();

	if (!sbx_test_env_start(env, tmpdir, &error))
		fail("cannot start the test environment", error);
	return env;
}

void
sbx_test_main_dropin(SbxTestEnv *env, const gchar *file, const gchar *contents)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *dir = g_build_filename(env->config_dir, "sandboxd.conf.d", NULL);
	g_autofree gchar *path = g_build_filename(dir, file, NULL);

	if (g_mkdir_with_parents(dir, 0755) != 0 ||
	    !g_file_set_contents(path, contents, -1, &error) ||
	    !sbx_test_env_restart_daemon(env, &error))
		fail("cannot configure the daemon", error);
}

gchar *
sbx_test_main_create(const gchar *options)
{
	g_autoptr(GError) error = NULL;
	gchar *path = sbx_test_create(NULL, g_variant_new_parsed(options), &error);

	if (path == NULL)
		fail("cannot create the sandbox", error);
	return path;
}

SbxTestEnv *
sbx_test_main_run(const gchar *name, int *argc, char ***argv)
{
	static gchar *tmpdir = NULL;

	tmpdir = sbx_test_main_init(name, argc, argv);
	return sbx_test_main_start(tmpdir);
}

int
sbx_test_main_end(int rc)
{
	sbx_test_env_stop(sbx_test_env_get());
	return rc;
}
