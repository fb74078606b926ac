/* sandboxctl cp: copy files and directories between the host and a sandbox.
 *
 * Files go through Sandbox1.WriteFile/ReadFile with the local file's fd;
 * directories (-r) through Upload/Download with a local tar (GSubprocess)
 * on the other end of a pipe. Bytes never pass through this process.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixfdlist.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbx-ctl.h"

/* "ID:/path" -> id and path; FALSE for a local path */
static gboolean
sbx_ctl_cp_split(const gchar *arg, gchar **id, gchar **path)
{
	const gchar *colon = strchr(arg, ':');
	const gchar *slash = strchr(arg, '/');
	/* a local path may contain ':' after a '/', like ./a:b */
	if (colon == NULL || colon == arg || (slash != NULL && slash < colon))
		return FALSE;
	*id = g_strndup(arg, (gsize)(colon - arg));
	*path = g_strdup(colon + 1);
	return TRUE;
}

/* "type" of Sandbox1.Stat, or NULL with @error (NotFound included) */
static gchar *
sbx_ctl_cp_guest_type(SbxCtl *ctl, const gchar *object, const gchar *path, GError **error)
{
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GVariant) info = NULL;
	const gchar *type = NULL;

	reply = g_dbus_connection_call_sync(
	    ctl->connection, SBX_CTL_BUS_NAME, object, SBX_CTL_SANDBOX_IFACE, "Stat",
	    g_variant_new("(s@a{sv})", path, g_variant_new("a{sv}", NULL)),
	    G_VARIANT_TYPE("(a{sv})"), G_DBUS_CALL_FLAGS_NONE, SBX_CTL_QUERY_TIMEOUT_MS, NULL,
	    error);
	if (reply == NULL)
		return NULL;
	g_variant_get(reply, "(@a{sv})", &info);
	if (!g_variant_lookup(info, "type", "&s", &type))
		type = "unknown";
	return g_strdup(type);
}

static gboolean
sbx_ctl_cp_is_not_found(GError *error)
{
	g_autofree gchar *name = g_dbus_error_get_remote_error(error);
	return g_strcmp0(name, "org.sandboxd.Error.NotFound") == 0;
}

/* one fd in a list, called with (..., h) as the last argument */
static GVariant *
sbx_ctl_cp_call_fd(SbxCtl *ctl, const gchar *object, const gchar *method, GVariant *params, gint fd,
		   GError **error)
{
	g_autoptr(GUnixFDList) fd_list = g_unix_fd_list_new();
	if (g_unix_fd_list_append(fd_list, fd, error) < 0)
		return NULL;
	/* no timeout: a large transfer takes as long as it takes */
	return g_dbus_connection_call_with_unix_fd_list_sync(
	    ctl->connection, SBX_CTL_BUS_NAME, object, SBX_CTL_SANDBOX_IFACE, method, params, NULL,
	    G_DBUS_CALL_FLAGS_NONE, G_MAXINT, fd_list, NULL, NULL, error);
}

static gint
sbx_ctl_cp_wait_tar(GSubprocess *tar)
{
	g_autoptr(GError) error = NULL;
	if (!g_subprocess_wait_check(tar, NULL, &error)) {
		/* TRANSLATORS: the local tar program failed */
		sbx_ctl_print_error(_("local tar failed: %s"), error->message);
		return SBX_CTL_EXIT_FAILURE;
	}
	return SBX_CTL_EXIT_OK;
}

static gint
sbx_ctl_cp_upload(SbxCtl *ctl, const gchar *object, const gchar *local, const gchar *path,
		  gboolean recursive, GVariant *file_options)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autofree gchar *type = NULL;
	g_autofree gchar *target = NULL;
	GStatBuf st;
	gboolean from_stdin = g_strcmp0(local, "-") == 0;

	if (!from_stdin && g_stat(local, &st) < 0) {
		sbx_ctl_print_error(_("cannot read '%s': %s"), local, g_strerror(errno));
		return SBX_CTL_EXIT_FAILURE;
	}
	type = sbx_ctl_cp_guest_type(ctl, object, path, &error);
	if (type == NULL && !sbx_ctl_cp_is_not_found(error))
		return sbx_ctl_report_dbus_error(ctl, path, error);
	g_clear_error(&error);

	if (!from_stdin && S_ISDIR(st.st_mode)) {
		g_autofree gchar *parent = NULL;
		g_autofree gchar *name = NULL;
		g_autoptr(GSubprocess) tar = NULL;
		GInputStream *out;
		gint rc;

		if (!recursive) {
			sbx_ctl_print_error(_("'%s' is a directory (use -r to copy it)"), local);
			return SBX_CTL_EXIT_FAILURE;
		}
		/* like cp -r: into an existing directory, else as the new directory */
		if (g_strcmp0(type, "directory") == 0) {
			g_autofree gchar *abs = g_canonicalize_filename(local, NULL);
			parent = g_path_get_dirname(abs);
			name = g_path_get_basename(abs);
		} else {
			parent = g_strdup(local);
			name = g_strdup(".");
		}
		tar = g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, "tar", "-c", "-f",
				       "-", "-C", parent, "--", name, NULL);
		if (tar == NULL)
			return sbx_ctl_report_local_error(error);
		out = g_subprocess_get_stdout_pipe(tar);
		reply = sbx_ctl_cp_call_fd(ctl, object, "Upload", g_variant_new("(sh)", path, 0),
					   g_unix_input_stream_get_fd(G_UNIX_INPUT_STREAM(out)),
					   &error);
		g_input_stream_close(out, NULL, NULL);
		rc = sbx_ctl_cp_wait_tar(tar);
		if (reply == NULL)
			return sbx_ctl_report_dbus_error(ctl, _("cannot copy the directory"),
							 error);
		return rc;
	}

	/* a file: into a directory keeps its name */
	if (g_strcmp0(type, "directory") == 0) {
		g_autofree gchar *name = g_path_get_basename(from_stdin ? "stdin" : local);
		target = g_build_filename(path, name, NULL);
	} else {
		target = g_strdup(path);
	}
	{
		gint fd = from_stdin ? dup(STDIN_FILENO) : g_open(local, O_RDONLY | O_CLOEXEC, 0);
		if (fd < 0) {
			sbx_ctl_print_error(_("cannot read '%s': %s"), local, g_strerror(errno));
			return SBX_CTL_EXIT_FAILURE;
		}
		reply = sbx_ctl_cp_call_fd(ctl, object, "WriteFile",
					   g_variant_new("(s@a{sv}h)", target, file_options, 0), fd,
					   &error);
		close(fd);
	}
	if (reply == NULL)
		return sbx_ctl_report_dbus_error(ctl, _("cannot copy the file"), error);
	return SBX_CTL_EXIT_OK;
}

static gint
sbx_ctl_cp_download(SbxCtl *ctl, const gchar *object, const gchar *path, const gchar *local,
		    gboolean recursive)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autofree gchar *type = NULL;
	g_autofree gchar *target = NULL;
	gboolean to_stdout = g_strcmp0(local, "-") == 0;
	gboolean local_dir = !to_stdout && g_file_test(local, G_FILE_TEST_IS_DIR);

	type = sbx_ctl_cp_guest_type(ctl, object, path, &error);
	if (type == NULL)
		return sbx_ctl_report_dbus_error(ctl, path, error);

	if (g_strcmp0(type, "directory") == 0) {
		g_autoptr(GSubprocess) tar = NULL;
		GOutputStream *in;
		gint rc;

		if (!recursive) {
			sbx_ctl_print_error(_("'%s' is a directory (use -r to copy it)"), path);
			return SBX_CTL_EXIT_FAILURE;
		}
		if (to_stdout) {
			sbx_ctl_print_error(_("cannot copy a directory to standard output"));
			return SBX_CTL_EXIT_FAILURE;
		}
		/* like cp -r: into an existing directory, else as the new directory */
		if (local_dir) {
			tar = g_subprocess_new(G_SUBPROCESS_FLAGS_STDIN_PIPE, &error, "tar", "-x",
					       "-f", "-", "-C", local, NULL);
		} else {
			if (g_mkdir(local, 0755) < 0) {
				sbx_ctl_print_error(_("cannot create '%s': %s"), local,
						    g_strerror(errno));
				return SBX_CTL_EXIT_FAILURE;
			}
			tar =
			    g_subprocess_new(G_SUBPROCESS_FLAGS_STDIN_PIPE, &error, "tar", "-x",
					     "-f", "-", "--strip-components=1", "-C", local, NULL);
		}
		if (tar == NULL)
			return sbx_ctl_report_local_error(error);
		in = g_subprocess_get_stdin_pipe(tar);
		reply = sbx_ctl_cp_call_fd(ctl, object, "Download", g_variant_new("(sh)", path, 0),
					   g_unix_output_stream_get_fd(G_UNIX_OUTPUT_STREAM(in)),
					   &error);
		/* tar sees EOF once the daemon and we closed the pipe */
		g_output_stream_close(in, NULL, NULL);
		rc = sbx_ctl_cp_wait_tar(tar);
		if (reply == NULL)
			return sbx_ctl_report_dbus_error(ctl, _("cannot copy the directory"),
							 error);
		return rc;
	}

	if (local_dir) {
		g_autofree gchar *name = g_path_get_basename(path);
		target = g_build_filename(local, name, NULL);
	} else {
		target = g_strdup(local);
	}
	{
		gint fd = to_stdout
			      ? dup(STDOUT_FILENO)
			      : g_open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			sbx_ctl_print_error(_("cannot write '%s': %s"), target, g_strerror(errno));
			return SBX_CTL_EXIT_FAILURE;
		}
		reply = sbx_ctl_cp_call_fd(
		    ctl, object, "ReadFile",
		    g_variant_new("(s@a{sv}h)", path, g_variant_new("a{sv}", NULL), 0), fd, &error);
		close(fd);
	}
	if (reply == NULL)
		return sbx_ctl_report_dbus_error(ctl, _("cannot copy the file"), error);
	return SBX_CTL_EXIT_OK;
}

gint
sbx_ctl_cp_main(SbxCtl *ctl, gint argc, gchar **argv)
{
	gboolean recursive = FALSE;
	gboolean parents = FALSE;
	g_autofree gchar *mode_str = NULL;
	const GOptionEntry entries[] = {
	    {"recursive", 'r', 0, G_OPTION_ARG_NONE, &recursive,
	     N_("Copy directories and everything in them"), NULL},
	    {"parents", 'p', 0, G_OPTION_ARG_NONE, &parents,
	     N_("Create missing parent directories of a file copied into the sandbox"), NULL},
	    {"mode", 'm', 0, G_OPTION_ARG_STRING, &mode_str,
	     N_("Permission bits (octal) of a file copied into the sandbox"),
	     /* TRANSLATORS: placeholder of --mode */
	     N_("MODE")},
	    {NULL},
	};
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) args = NULL;
	g_autofree gchar *src_id = NULL;
	g_autofree gchar *src_path = NULL;
	g_autofree gchar *dst_id = NULL;
	g_autofree gchar *dst_path = NULL;
	g_autofree gchar *object = NULL;
	gint rc = SBX_CTL_EXIT_FAILURE;
	g_auto(GVariantBuilder) fopts = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
	g_autoptr(GVariant) file_options = NULL;
	gboolean src_remote, dst_remote;
	const gchar *id;

	context = sbx_ctl_option_context_new(
	    ctl,
	    /* TRANSLATORS: the command line of "sandboxctl cp"; ID:PATH is literal syntax */
	    _("SOURCE DESTINATION"),
	    _("Copy a file or directory into or out of a sandbox: one of SOURCE and "
	      "DESTINATION is ID:PATH with an absolute guest PATH, the other a local path "
	      "(\"-\" for standard input or output). Directories need -r. Like cp, a copy "
	      "into an existing directory keeps its name."),
	    entries);
	if (!sbx_ctl_parse_command_line(context, argc, argv, FALSE, &args, NULL, &error))
		return sbx_ctl_report_local_error(error);
	if (args[0] == NULL || args[1] == NULL)
		return sbx_ctl_usage_error(_("expected a source and a destination"));
	if (args[2] != NULL)
		return sbx_ctl_usage_error(_("unexpected argument '%s'"), args[2]);
	src_remote = sbx_ctl_cp_split(args[0], &src_id, &src_path);
	dst_remote = sbx_ctl_cp_split(args[1], &dst_id, &dst_path);
	if (src_remote == dst_remote)
		return sbx_ctl_usage_error(
		    _("exactly one of the source and the destination must be ID:PATH"));
	if (!g_utf8_validate(src_remote ? src_path : dst_path, -1, NULL))
		return sbx_ctl_usage_error(_("the guest path is not valid UTF-8"));
	if ((src_remote ? src_path : dst_path)[0] != '/')
		return sbx_ctl_usage_error(_("the guest path must be absolute"));
	if (mode_str != NULL) {
		gchar *end = NULL;
		guint64 mode = g_ascii_strtoull(mode_str, &end, 8);
		if (mode_str[0] == '\0' || *end != '\0' || mode > 07777)
			return sbx_ctl_usage_error(_("--mode: '%s' is not an octal mode"),
						   mode_str);
		g_variant_builder_add(&fopts, "{sv}", "mode", g_variant_new_uint32((guint32)mode));
	}
	if (parents)
		g_variant_builder_add(&fopts, "{sv}", "parents", g_variant_new_boolean(TRUE));

	id = src_remote ? src_id : dst_id;
	object = sbx_ctl_find_sandbox(ctl, id, &rc);
	if (object == NULL)
		return rc;
	file_options = g_variant_ref_sink(g_variant_builder_end(&fopts));
	if (dst_remote)
		return sbx_ctl_cp_upload(ctl, object, args[0], dst_path, recursive, file_options);
	return sbx_ctl_cp_download(ctl, object, src_path, args[1], recursive);
}
