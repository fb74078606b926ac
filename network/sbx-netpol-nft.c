/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sbx-netpol-nft.h"

/* nft answers in milliseconds; its error text is a few lines */
#define SBX_NETPOL_NFT_ERROR_MAX 2048

static GSubprocess *
spawn_nft(gboolean check_only, GError **error)
{
	g_autofree gchar *nft = g_find_program_in_path("nft");
	const gchar *path = nft != NULL ? nft : "/usr/sbin/nft";
	GSubprocess *proc;

	/* -f - reads the whole script and applies it as one transaction */
	if (check_only)
		proc = g_subprocess_new(G_SUBPROCESS_FLAGS_STDIN_PIPE |
					    G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
					    G_SUBPROCESS_FLAGS_STDERR_PIPE,
					error, path, "-c", "-f", "-", NULL);
	else
		proc = g_subprocess_new(G_SUBPROCESS_FLAGS_STDIN_PIPE |
					    G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
					    G_SUBPROCESS_FLAGS_STDERR_PIPE,
					error, path, "-f", "-", NULL);
	if (proc == NULL)
		g_prefix_error(error, "cannot run nft (apt-get install nftables): ");
	return proc;
}

static gboolean
check_exit(GSubprocess *proc, const gchar *err_out, GError **error)
{
	g_autofree gchar *msg = NULL;

	if (g_subprocess_get_if_exited(proc) && g_subprocess_get_exit_status(proc) == 0)
		return TRUE;
	msg = g_strndup(err_out != NULL ? err_out : "", SBX_NETPOL_NFT_ERROR_MAX);
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "nft refused the rules: %s",
		    msg[0] != '\0' ? g_strstrip(msg) : "(no message)");
	return FALSE;
}

static void
on_communicated(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	GSubprocess *proc = G_SUBPROCESS(source);
	g_autofree gchar *err_out = NULL;
	GError *error = NULL;

	if (!g_subprocess_communicate_utf8_finish(proc, res, NULL, &err_out, &error)) {
		g_subprocess_force_exit(proc);
		g_task_return_error(task, error);
		return;
	}
	if (!check_exit(proc, err_out, &error)) {
		g_task_return_error(task, error);
		return;
	}
	g_task_return_boolean(task, TRUE);
}

void
sbx_netpol_nft_run_async(const gchar *script, gboolean check_only, GCancellable *cancellable,
			 GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(NULL, cancellable, callback, user_data);
	g_autoptr(GSubprocess) proc = NULL;
	GError *error = NULL;

	g_task_set_source_tag(task, sbx_netpol_nft_run_async);
	proc = spawn_nft(check_only, &error);
	if (proc == NULL) {
		g_task_return_error(task, error);
		return;
	}
	g_task_set_task_data(task, g_object_ref(proc), g_object_unref);
	g_subprocess_communicate_utf8_async(proc, script, cancellable, on_communicated,
					    g_steal_pointer(&task));
}

gboolean
sbx_netpol_nft_run_finish(GAsyncResult *res, GError **error)
{
	return g_task_propagate_boolean(G_TASK(res), error);
}

gboolean
sbx_netpol_nft_run_sync(const gchar *script, gboolean check_only, GError **error)
{
	g_autoptr(GSubprocess) proc = spawn_nft(check_only, error);
	g_autofree gchar *err_out = NULL;

	if (proc == NULL)
		return FALSE;
	if (!g_subprocess_communicate_utf8(proc, script, NULL, NULL, &err_out, error)) {
		g_subprocess_force_exit(proc);
		return FALSE;
	}
	return check_exit(proc, err_out, error);
}
