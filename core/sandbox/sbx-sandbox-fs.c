/* the Sandbox1 filesystem and environment methods: ReadFile, WriteFile,
 * Stat, ReadDir, MakeDirectory, Remove, Rename, Chmod, Upload, Download,
 * GetEnv, SetEnv, UnsetEnv, GetEnvironment.
 *
 * File bytes never pass through D-Bus messages or the daemon's memory as a
 * whole: they stream between the caller's fd and the agent channel. Upload
 * and Download run the guest's own tar over an exec channel.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <gio/gunixfdlist.h>
#include <glib-unix.h>

#include "sbx-agent-fs.h"
#include "sbx-error.h"
#include "sbx-log.h"
#include "sbx-options.h"
#include "sbx-sandbox-private.h"

/* what of tar's stderr ends up in an error message */
#define SBX_FS_TAR_STDERR_MAX 2048

typedef struct {
	SbxSandbox *sandbox;
	SbxAgentClient *agent;
	GDBusMethodInvocation *invocation;
	GCancellable *cancellable;
	guint caller_watch_id;
	gboolean caller_gone;
	gint fd;
	gchar *path;
	gchar *path2;
	/* Upload/Download: tar's stderr */
	gint err_fd;
	guint err_watch;
	GString *err_text;
} SbxFsCall;

static void
sbx_fs_call_free(SbxFsCall *call)
{
	g_clear_handle_id(&call->caller_watch_id, g_bus_unwatch_name);
	g_clear_handle_id(&call->err_watch, g_source_remove);
	if (call->fd >= 0)
		close(call->fd);
	if (call->err_fd >= 0)
		close(call->err_fd);
	if (call->err_text != NULL)
		g_string_free(call->err_text, TRUE);
	g_clear_object(&call->cancellable);
	g_clear_object(&call->invocation);
	g_clear_object(&call->agent);
	g_clear_object(&call->sandbox);
	g_free(call->path);
	g_free(call->path2);
	g_free(call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxFsCall, sbx_fs_call_free)

static void
on_caller_vanished(GDBusConnection *connection, const gchar *name, gpointer user_data)
{
	SbxFsCall *call = user_data;
	call->caller_gone = TRUE;
	g_cancellable_cancel(call->cancellable);
}

/* a call on a running sandbox, or NULL after replying with an error */
static SbxFsCall *
sbx_fs_call_new(SbxSandbox *self, GDBusMethodInvocation *invocation, const gchar *path,
		const gchar *path2)
{
	g_autoptr(GError) error = NULL;
	const gchar *sender = g_dbus_method_invocation_get_sender(invocation);
	SbxFsCall *call;

	if (self->state != SBX_SANDBOX_STATE_RUNNING || self->agent == NULL) {
		g_dbus_method_invocation_return_error(invocation, SBX_ERROR, SBX_ERROR_NOT_RUNNING,
						      "sandbox %s is %s", self->id,
						      sbx_sandbox_state_to_string(self->state));
		return NULL;
	}
	if ((path != NULL && !sbx_agent_fs_path_check(path, &error)) ||
	    (path2 != NULL && !sbx_agent_fs_path_check(path2, &error))) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return NULL;
	}
	call = g_new0(SbxFsCall, 1);
	call->sandbox = g_object_ref(self);
	call->agent = g_object_ref(self->agent);
	call->invocation = invocation; /* the handler owns one ref: completing consumes it */
	call->cancellable = g_cancellable_new();
	call->fd = -1;
	call->err_fd = -1;
	call->path = g_strdup(path);
	call->path2 = g_strdup(path2);
	if (sender != NULL) {
		call->caller_watch_id = g_bus_watch_name_on_connection(
		    g_dbus_method_invocation_get_connection(invocation), sender,
		    G_BUS_NAME_WATCHER_FLAGS_NONE, NULL, on_caller_vanished, call, NULL);
	}
	return call;
}

static void
sbx_fs_call_return_error(SbxFsCall *call, const GError *error)
{
	SbxSandbox *self = call->sandbox;
	GDBusMethodInvocation *invocation = g_steal_pointer(&call->invocation);

	if (call->caller_gone) {
		g_dbus_method_invocation_return_error(invocation, SBX_ERROR, SBX_ERROR_FAILED,
						      "the caller left the bus");
		return;
	}
	if (self->state >= SBX_SANDBOX_STATE_STOPPING ||
	    g_error_matches(error, SBX_ERROR, SBX_ERROR_SANDBOX_GONE)) {
		g_dbus_method_invocation_return_error(
		    invocation, SBX_ERROR, SBX_ERROR_SANDBOX_GONE, "sandbox %s was destroyed: %s",
		    self->id, self->destroy_reason != NULL ? self->destroy_reason : "it stopped");
		return;
	}
	sbx_sandbox_debug(self->id, "sandbox %s: %s", self->id, error->message);
	if (error->domain == SBX_ERROR) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return;
	}
	g_dbus_method_invocation_return_error(invocation, SBX_ERROR, SBX_ERROR_FAILED, "%s",
					      error->message);
}

gboolean
sbx_sandbox_fs_get_fd(GDBusMethodInvocation *invocation, GVariant *handle, gint *fd_out,
		      GError **error)
{
	GDBusMessage *message = g_dbus_method_invocation_get_message(invocation);
	GUnixFDList *fd_list = g_dbus_message_get_unix_fd_list(message);
	gint32 index = g_variant_get_handle(handle);
	gint n = fd_list != NULL ? g_unix_fd_list_get_length(fd_list) : 0;

	if (index < 0 || index >= n) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
			    "handle %d does not name one of the %d passed file descriptors", index,
			    n);
		return FALSE;
	}
	*fd_out = g_unix_fd_list_get(fd_list, index, error);
	return *fd_out >= 0;
}

gboolean
sbx_sandbox_fs_options_check(GVariant *options, const gchar *const *keys, const gchar *const *types,
			     GError **error)
{
	GVariantIter iter;
	const gchar *key;
	GVariant *value;

	g_variant_iter_init(&iter, options);
	while (g_variant_iter_next(&iter, "{&sv}", &key, &value)) {
		g_autoptr(GVariant) v = value;
		gboolean known = FALSE;
		for (guint i = 0; keys != NULL && keys[i] != NULL; i++) {
			if (g_strcmp0(key, keys[i]) != 0)
				continue;
			known = TRUE;
			if (!g_variant_is_of_type(v, G_VARIANT_TYPE(types[i]))) {
				g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
					    "%s: expected type '%s', got '%s'", key, types[i],
					    g_variant_get_type_string(v));
				return FALSE;
			}
		}
		if (!known) {
			g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
				    "unknown option '%.64s'", key);
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean
opt_bool(GVariant *options, const gchar *key, gboolean dflt)
{
	gboolean v = dflt;
	g_variant_lookup(options, key, "b", &v);
	return v;
}

/* "user": the guest user the request acts as (NULL: root) */
static const gchar *
opt_user(GVariant *options)
{
	const gchar *user = NULL;
	g_variant_lookup(options, "user", "&s", &user);
	return user != NULL && user[0] != '\0' ? user : NULL;
}

/* the *WithOptions methods: @options may hold "user" only; FALSE after
 * replying with an error */
static gboolean
sbx_fs_user_options(GDBusMethodInvocation *invocation, GVariant *options, const gchar **user)
{
	const gchar *const keys[] = {"user", NULL};
	const gchar *const types[] = {"s"};
	g_autoptr(GError) error = NULL;

	if (!sbx_sandbox_fs_options_check(options, keys, types, &error)) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return FALSE;
	}
	*user = opt_user(options);
	return TRUE;
}

static gboolean
sbx_fs_mode_check(guint32 mode, GError **error)
{
	if (mode > 07777) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
			    "mode 0%o has bits beyond 07777", mode);
		return FALSE;
	}
	return TRUE;
}

/* ReadFile / WriteFile */

static void
on_stream_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxFsCall) call = user_data;
	g_autoptr(GError) error = NULL;
	GDBusMethodInvocation *invocation;

	if (!sbx_agent_client_fs_stream_finish(SBX_AGENT_CLIENT(source), res, &error)) {
		sbx_fs_call_return_error(call, error);
		return;
	}
	invocation = g_steal_pointer(&call->invocation);
	g_dbus_method_invocation_return_value(invocation, NULL);
}

static gboolean
handle_read_file(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, const gchar *path,
		 GVariant *options, GVariant *fd_h, gpointer user_data)
{
	SbxSandbox *self = SBX_SANDBOX(user_data);
	g_autoptr(GError) error = NULL;
	SbxFsCall *call;

	const gchar *const keys[] = {"user", NULL};
	const gchar *const types[] = {"s"};

	if (!sbx_sandbox_fs_options_check(options, keys, types, &error)) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	call = sbx_fs_call_new(self, invocation, path, NULL);
	if (call == NULL)
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	if (!sbx_sandbox_fs_get_fd(invocation, fd_h, &call->fd, &error)) {
		sbx_fs_call_return_error(call, error);
		sbx_fs_call_free(call);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	sbx_sandbox_debug(self->id, "sandbox %s: read %s", self->id, path);
	sbx_agent_fs_read_async(call->agent, opt_user(options), path, call->fd, call->cancellable,
				on_stream_done, call);
	/* the client has its own copy: the caller's reader sees EOF when it closes it */
	close(call->fd);
	call->fd = -1;
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_write_file(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, const gchar *path,
		  GVariant *options, GVariant *fd_h, gpointer user_data)
{
	SbxSandbox *self = SBX_SANDBOX(user_data);
	const gchar *const keys[] = {"mode", "parents", "append", "exclusive", "user", NULL};
	const gchar *const types[] = {"u", "b", "b", "b", "s"};
	g_autoptr(GError) error = NULL;
	guint32 flags = 0;
	guint32 mode = 0;
	SbxFsCall *call;

	if (!sbx_sandbox_fs_options_check(options, keys, types, &error)) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	if (g_variant_lookup(options, "mode", "u", &mode)) {
		if (!sbx_fs_mode_check(mode, &error)) {
			g_dbus_method_invocation_return_gerror(invocation, error);
			return G_DBUS_METHOD_INVOCATION_HANDLED;
		}
		flags |= SBX_FS_MODE;
	}
	if (opt_bool(options, "parents", FALSE))
		flags |= SBX_FS_PARENTS;
	if (opt_bool(options, "append", FALSE))
		flags |= SBX_FS_APPEND;
	if (opt_bool(options, "exclusive", FALSE))
		flags |= SBX_FS_EXCLUSIVE;
	call = sbx_fs_call_new(self, invocation, path, NULL);
	if (call == NULL)
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	if (!sbx_sandbox_fs_get_fd(invocation, fd_h, &call->fd, &error)) {
		sbx_fs_call_return_error(call, error);
		sbx_fs_call_free(call);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	sbx_sandbox_debug(self->id, "sandbox %s: write %s", self->id, path);
	sbx_agent_fs_write_async(call->agent, opt_user(options), path, flags, mode, call->fd,
				 call->cancellable, on_stream_done, call);
	close(call->fd);
	call->fd = -1;
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Stat, ReadDir */

GVariant *
sbx_sandbox_fs_stat_to_variant(const SbxFsStat *st)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&b, "{sv}", "type",
			      g_variant_new_string(sbx_agent_fs_type_to_string(st->type)));
	g_variant_builder_add(&b, "{sv}", "size", g_variant_new_uint64(st->size));
	g_variant_builder_add(&b, "{sv}", "mode", g_variant_new_uint32(st->mode));
	g_variant_builder_add(&b, "{sv}", "uid", g_variant_new_uint32(st->uid));
	g_variant_builder_add(&b, "{sv}", "gid", g_variant_new_uint32(st->gid));
	g_variant_builder_add(&b, "{sv}", "nlink", g_variant_new_uint32(st->nlink));
	g_variant_builder_add(&b, "{sv}", "mtime", g_variant_new_int64(st->mtime));
	g_variant_builder_add(&b, "{sv}", "mtime_nsec", g_variant_new_uint32(st->mtime_nsec));
	g_variant_builder_add(&b, "{sv}", "atime", g_variant_new_int64(st->atime));
	g_variant_builder_add(&b, "{sv}", "atime_nsec", g_variant_new_uint32(st->atime_nsec));
	g_variant_builder_add(&b, "{sv}", "ctime", g_variant_new_int64(st->ctime));
	g_variant_builder_add(&b, "{sv}", "ctime_nsec", g_variant_new_uint32(st->ctime_nsec));
	if (st->link_target != NULL)
		g_variant_builder_add(&b, "{sv}", "link_target",
				      g_variant_new_string(st->link_target));
	return g_variant_builder_end(&b);
}

static void
on_stat_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxFsCall) call = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxFsStat) st = NULL;

	st = sbx_agent_fs_stat_finish(SBX_AGENT_CLIENT(source), res, &error);
	if (st == NULL) {
		sbx_fs_call_return_error(call, error);
		return;
	}
	sbx_dbus_sandbox1_complete_stat(call->sandbox->iface, g_steal_pointer(&call->invocation),
					sbx_sandbox_fs_stat_to_variant(st));
}

static gboolean
handle_stat(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, const gchar *path,
	    GVariant *options, gpointer user_data)
{
	SbxSandbox *self = SBX_SANDBOX(user_data);
	const gchar *const keys[] = {"follow_symlinks", "user", NULL};
	const gchar *const types[] = {"b", "s"};
	g_autoptr(GError) error = NULL;
	SbxFsCall *call;

	if (!sbx_sandbox_fs_options_check(options, keys, types, &error)) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	call = sbx_fs_call_new(self, invocation, path, NULL);
	if (call == NULL)
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	sbx_agent_fs_stat_async(call->agent, opt_user(options), path,
				!opt_bool(options, "follow_symlinks", TRUE), call->cancellable,
				on_stat_done, call);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
on_readdir_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxFsCall) call = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) entries = NULL;
	GVariantBuilder b;

	entries = sbx_agent_fs_readdir_finish(SBX_AGENT_CLIENT(source), res, &error);
	if (entries == NULL) {
		sbx_fs_call_return_error(call, error);
		return;
	}
	g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
	for (guint i = 0; i < entries->len; i++) {
		SbxFsDirent *e = g_ptr_array_index(entries, i);
		g_variant_builder_open(&b, G_VARIANT_TYPE_VARDICT);
		g_variant_builder_add(&b, "{sv}", "name", g_variant_new_string(e->name));
		g_variant_builder_add(&b, "{sv}", "type",
				      g_variant_new_string(sbx_agent_fs_type_to_string(e->type)));
		g_variant_builder_add(&b, "{sv}", "size", g_variant_new_uint64(e->size));
		g_variant_builder_add(&b, "{sv}", "mode", g_variant_new_uint32(e->mode));
		g_variant_builder_add(&b, "{sv}", "mtime", g_variant_new_int64(e->mtime));
		g_variant_builder_close(&b);
	}
	sbx_dbus_sandbox1_complete_read_dir(
	    call->sandbox->iface, g_steal_pointer(&call->invocation), g_variant_builder_end(&b));
}

static gboolean
read_dir_as(GDBusMethodInvocation *invocation, gpointer user_data, const gchar *path,
	    GVariant *options)
{
	const gchar *user = NULL;
	SbxFsCall *call;
	if (options != NULL && !sbx_fs_user_options(invocation, options, &user))
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	call = sbx_fs_call_new(SBX_SANDBOX(user_data), invocation, path, NULL);
	if (call == NULL)
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	sbx_agent_fs_readdir_async(call->agent, user, path, SBX_FS_MAX_DIR_ENTRIES,
				   call->cancellable, on_readdir_done, call);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_read_dir(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, const gchar *path,
		gpointer user_data)
{
	return read_dir_as(invocation, user_data, path, NULL);
}

static gboolean
handle_read_dir_with_options(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation,
			     const gchar *path, GVariant *options, gpointer user_data)
{
	return read_dir_as(invocation, user_data, path, options);
}

/* MakeDirectory, Remove, Rename, Chmod */

static void
on_op_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxFsCall) call = user_data;
	g_autoptr(GError) error = NULL;

	if (!sbx_agent_fs_op_finish(SBX_AGENT_CLIENT(source), res, &error)) {
		sbx_fs_call_return_error(call, error);
		return;
	}
	g_dbus_method_invocation_return_value(g_steal_pointer(&call->invocation), NULL);
}

static gboolean
sbx_fs_start_op(SbxSandbox *self, GDBusMethodInvocation *invocation, const gchar *user,
		SbxMsgType type, guint32 flags, guint32 mode, const gchar *path, const gchar *path2)
{
	SbxFsCall *call = sbx_fs_call_new(self, invocation, path, path2);
	if (call == NULL)
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	sbx_agent_fs_op_async(call->agent, user, type, flags, mode, path, path2, call->cancellable,
			      on_op_done, call);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_make_directory(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, const gchar *path,
		      GVariant *options, gpointer user_data)
{
	const gchar *const keys[] = {"parents", "mode", "user", NULL};
	const gchar *const types[] = {"b", "u", "s"};
	g_autoptr(GError) error = NULL;
	guint32 mode = 0755;

	g_variant_lookup(options, "mode", "u", &mode);
	if (!sbx_sandbox_fs_options_check(options, keys, types, &error) ||
	    !sbx_fs_mode_check(mode, &error)) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	return sbx_fs_start_op(
	    SBX_SANDBOX(user_data), invocation, opt_user(options), SBX_MSG_FS_MKDIR,
	    opt_bool(options, "parents", FALSE) ? SBX_FS_PARENTS : 0, mode, path, NULL);
}

static gboolean
handle_remove(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, const gchar *path,
	      GVariant *options, gpointer user_data)
{
	const gchar *const keys[] = {"recursive", "user", NULL};
	const gchar *const types[] = {"b", "s"};
	g_autoptr(GError) error = NULL;

	if (!sbx_sandbox_fs_options_check(options, keys, types, &error)) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	return sbx_fs_start_op(
	    SBX_SANDBOX(user_data), invocation, opt_user(options), SBX_MSG_FS_REMOVE,
	    opt_bool(options, "recursive", FALSE) ? SBX_FS_RECURSIVE : 0, 0, path, NULL);
}

static gboolean
handle_rename(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, const gchar *from,
	      const gchar *to, gpointer user_data)
{
	return sbx_fs_start_op(SBX_SANDBOX(user_data), invocation, NULL, SBX_MSG_FS_RENAME, 0, 0,
			       from, to);
}

static gboolean
handle_rename_with_options(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation,
			   const gchar *from, const gchar *to, GVariant *options,
			   gpointer user_data)
{
	const gchar *user = NULL;
	if (!sbx_fs_user_options(invocation, options, &user))
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	return sbx_fs_start_op(SBX_SANDBOX(user_data), invocation, user, SBX_MSG_FS_RENAME, 0, 0,
			       from, to);
}

static gboolean
chmod_as(SbxSandbox *self, GDBusMethodInvocation *invocation, const gchar *user, const gchar *path,
	 guint32 mode)
{
	g_autoptr(GError) error = NULL;
	if (!sbx_fs_mode_check(mode, &error)) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	return sbx_fs_start_op(self, invocation, user, SBX_MSG_FS_CHMOD, 0, mode, path, NULL);
}

static gboolean
handle_chmod(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, const gchar *path,
	     guint32 mode, gpointer user_data)
{
	return chmod_as(SBX_SANDBOX(user_data), invocation, NULL, path, mode);
}

static gboolean
handle_chmod_with_options(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation,
			  const gchar *path, guint32 mode, GVariant *options, gpointer user_data)
{
	const gchar *user = NULL;
	if (!sbx_fs_user_options(invocation, options, &user))
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	return chmod_as(SBX_SANDBOX(user_data), invocation, user, path, mode);
}

/* Symlink, Link, CopyFile, Truncate, Chown, Utime */

static gboolean
sbx_fs_start_nums(SbxSandbox *self, GDBusMethodInvocation *invocation, const gchar *user,
		  SbxMsgType type, const guint32 *nums, guint n_nums, const gchar *path,
		  const gchar *path2)
{
	SbxFsCall *call = sbx_fs_call_new(self, invocation, path, path2);
	if (call == NULL)
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	sbx_agent_fs_op_nums_async(call->agent, user, type, nums, n_nums, path, path2,
				   call->cancellable, on_op_done, call);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* the two-path requests, with @options or without (NULL) */
static gboolean
two_paths(GDBusMethodInvocation *invocation, gpointer user_data, SbxMsgType type, const gchar *path,
	  const gchar *path2, GVariant *options)
{
	const gchar *user = NULL;
	if (options != NULL && !sbx_fs_user_options(invocation, options, &user))
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	return sbx_fs_start_nums(SBX_SANDBOX(user_data), invocation, user, type, NULL, 0, path,
				 path2);
}

static gboolean
handle_symlink(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, const gchar *target,
	       const gchar *path, gpointer user_data)
{
	return two_paths(invocation, user_data, SBX_MSG_FS_SYMLINK, target, path, NULL);
}

static gboolean
handle_symlink_with_options(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation,
			    const gchar *target, const gchar *path, GVariant *options,
			    gpointer user_data)
{
	return two_paths(invocation, user_data, SBX_MSG_FS_SYMLINK, target, path, options);
}

static gboolean
handle_link(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, const gchar *existing,
	    const gchar *path, gpointer user_data)
{
	return two_paths(invocation, user_data, SBX_MSG_FS_LINK, existing, path, NULL);
}

static gboolean
handle_link_with_options(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation,
			 const gchar *existing, const gchar *path, GVariant *options,
			 gpointer user_data)
{
	return two_paths(invocation, user_data, SBX_MSG_FS_LINK, existing, path, options);
}

static gboolean
handle_copy_file(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, const gchar *from,
		 const gchar *to, gpointer user_data)
{
	return two_paths(invocation, user_data, SBX_MSG_FS_COPY, from, to, NULL);
}

static gboolean
handle_copy_file_with_options(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation,
			      const gchar *from, const gchar *to, GVariant *options,
			      gpointer user_data)
{
	return two_paths(invocation, user_data, SBX_MSG_FS_COPY, from, to, options);
}

static gboolean
truncate_as(GDBusMethodInvocation *invocation, gpointer user_data, const gchar *path,
	    guint64 length, GVariant *options)
{
	guint32 nums[2] = {(guint32)length, (guint32)(length >> 32)};
	const gchar *user = NULL;
	if (options != NULL && !sbx_fs_user_options(invocation, options, &user))
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	if (length > G_MAXINT64) {
		g_dbus_method_invocation_return_error(
		    invocation, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT, "length: at most 2^63-1");
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	return sbx_fs_start_nums(SBX_SANDBOX(user_data), invocation, user, SBX_MSG_FS_TRUNCATE,
				 nums, 2, path, NULL);
}

static gboolean
handle_truncate(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, const gchar *path,
		guint64 length, gpointer user_data)
{
	return truncate_as(invocation, user_data, path, length, NULL);
}

static gboolean
handle_truncate_with_options(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation,
			     const gchar *path, guint64 length, GVariant *options,
			     gpointer user_data)
{
	return truncate_as(invocation, user_data, path, length, options);
}

static gboolean
chown_as(GDBusMethodInvocation *invocation, gpointer user_data, const gchar *path, guint32 uid,
	 guint32 gid, GVariant *options)
{
	guint32 nums[2] = {uid, gid};
	const gchar *user = NULL;
	if (options != NULL && !sbx_fs_user_options(invocation, options, &user))
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	return sbx_fs_start_nums(SBX_SANDBOX(user_data), invocation, user, SBX_MSG_FS_CHOWN, nums,
				 2, path, NULL);
}

static gboolean
handle_chown(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, const gchar *path,
	     guint32 uid, guint32 gid, gpointer user_data)
{
	return chown_as(invocation, user_data, path, uid, gid, NULL);
}

static gboolean
handle_chown_with_options(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation,
			  const gchar *path, guint32 uid, guint32 gid, GVariant *options,
			  gpointer user_data)
{
	return chown_as(invocation, user_data, path, uid, gid, options);
}

static gboolean
utime_as(GDBusMethodInvocation *invocation, gpointer user_data, const gchar *path, gint64 atime,
	 gint64 mtime, GVariant *options)
{
	guint32 nums[4] = {(guint32)(guint64)atime, (guint32)((guint64)atime >> 32),
			   (guint32)(guint64)mtime, (guint32)((guint64)mtime >> 32)};
	const gchar *user = NULL;
	if (options != NULL && !sbx_fs_user_options(invocation, options, &user))
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	if (atime < 0 || mtime < 0) {
		g_dbus_method_invocation_return_error(
		    invocation, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
		    "atime, mtime: seconds since 1970, not before");
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	return sbx_fs_start_nums(SBX_SANDBOX(user_data), invocation, user, SBX_MSG_FS_UTIME, nums,
				 4, path, NULL);
}

static gboolean
handle_utime(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, const gchar *path,
	     gint64 atime, gint64 mtime, gpointer user_data)
{
	return utime_as(invocation, user_data, path, atime, mtime, NULL);
}

static gboolean
handle_utime_with_options(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation,
			  const gchar *path, gint64 atime, gint64 mtime, GVariant *options,
			  gpointer user_data)
{
	return utime_as(invocation, user_data, path, atime, mtime, options);
}

/* RealPath, MakeTemp: answered with a guest path */

static void
on_path_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxFsCall) call = user_data;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = sbx_agent_fs_path_finish(SBX_AGENT_CLIENT(source), res, &error);

	if (path == NULL) {
		sbx_fs_call_return_error(call, error);
		return;
	}
	g_dbus_method_invocation_return_value(g_steal_pointer(&call->invocation),
					      g_variant_new("(s)", path));
}

static gboolean
real_path_as(GDBusMethodInvocation *invocation, gpointer user_data, const gchar *path,
	     GVariant *options)
{
	const gchar *user = NULL;
	SbxFsCall *call;
	if (options != NULL && !sbx_fs_user_options(invocation, options, &user))
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	call = sbx_fs_call_new(SBX_SANDBOX(user_data), invocation, path, NULL);
	if (call == NULL)
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	sbx_agent_fs_path_async(call->agent, user, SBX_MSG_FS_REALPATH, 0, NULL, 0, path,
				call->cancellable, on_path_done, call);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_real_path(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, const gchar *path,
		 gpointer user_data)
{
	return real_path_as(invocation, user_data, path, NULL);
}

static gboolean
handle_real_path_with_options(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation,
			      const gchar *path, GVariant *options, gpointer user_data)
{
	return real_path_as(invocation, user_data, path, options);
}

/* a file-name part: no '/', bounded */
static gboolean
name_part_is_valid(const gchar *part)
{
	return strlen(part) <= 64 && strchr(part, '/') == NULL && g_utf8_validate(part, -1, NULL);
}

static gboolean
handle_make_temp(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, const gchar *dir,
		 GVariant *options, gpointer user_data)
{
	const gchar *const keys[] = {"prefix", "suffix", "directory", "user", NULL};
	const gchar *const types[] = {"s", "s", "b", "s"};
	g_autoptr(GError) error = NULL;
	g_autofree gchar *template = NULL;
	const gchar *prefix = "";
	const gchar *suffix = "";
	gboolean directory = opt_bool(options, "directory", FALSE);
	guint32 suffix_len;
	SbxFsCall *call;

	if (!sbx_sandbox_fs_options_check(options, keys, types, &error)) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	g_variant_lookup(options, "prefix", "&s", &prefix);
	g_variant_lookup(options, "suffix", "&s", &suffix);
	if (!name_part_is_valid(prefix) || !name_part_is_valid(suffix) ||
	    (directory && suffix[0] != '\0')) {
		g_dbus_method_invocation_return_error(
		    invocation, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
		    "prefix, suffix: at most 64 bytes, no '/'; no suffix for a directory");
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	template = g_strdup_printf("%s%s%sXXXXXX%s", dir, g_str_has_suffix(dir, "/") ? "" : "/",
				   prefix, suffix);
	suffix_len = (guint32)strlen(suffix);
	call = sbx_fs_call_new(SBX_SANDBOX(user_data), invocation, template, NULL);
	if (call == NULL)
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	sbx_agent_fs_path_async(call->agent, opt_user(options), SBX_MSG_FS_MKTEMP,
				directory ? SBX_FS_MKTEMP_DIR : 0, &suffix_len, 1, template,
				call->cancellable, on_path_done, call);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Upload, Download: the guest's tar on an exec channel */

static void
sbx_fs_err_drain(SbxFsCall *call)
{
	guint8 buf[4096];
	for (;;) {
		gssize n = read(call->err_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (call->err_text->len < SBX_FS_TAR_STDERR_MAX)
			g_string_append_len(
			    call->err_text, (const gchar *)buf,
			    MIN((gsize)n, SBX_FS_TAR_STDERR_MAX - call->err_text->len));
	}
}

static gboolean
on_tar_stderr(gint fd, GIOCondition condition, gpointer user_data)
{
	SbxFsCall *call = user_data;
	sbx_fs_err_drain(call);
	if (condition & (G_IO_HUP | G_IO_ERR)) {
		call->err_watch = 0;
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static void
on_tar_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxFsCall) call = user_data;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *why = NULL;
	SbxExecResult result = {0};

	if (!sbx_agent_client_exec_finish(SBX_AGENT_CLIENT(source), res, &result, &error)) {
		if (g_error_matches(error, SBX_ERROR, SBX_ERROR_NOT_FOUND)) {
			g_autoptr(GError) e2 = g_error_new_literal(
			    SBX_ERROR, SBX_ERROR_FAILED, "the guest image has no tar program");
			sbx_fs_call_return_error(call, e2);
			return;
		}
		sbx_fs_call_return_error(call, error);
		return;
	}
	if (result.exit_code == 0 && result.signal == 0) {
		g_dbus_method_invocation_return_value(g_steal_pointer(&call->invocation), NULL);
		return;
	}
	sbx_fs_err_drain(call);
	why = g_utf8_make_valid(g_strstrip(call->err_text->str), -1);
	error = g_error_new(SBX_ERROR, SBX_ERROR_FAILED, "%s: tar failed in the guest (%s %d)%s%s",
			    call->path, result.signal != 0 ? "signal" : "exit status",
			    result.signal != 0 ? result.signal : result.exit_code,
			    why[0] != '\0' ? ": " : "", why);
	sbx_fs_call_return_error(call, error);
}

/* FALSE when it already failed the call and freed it */
static gboolean
sbx_fs_run_tar(SbxFsCall *call, const gchar *const *argv, gint stdin_fd, gint stdout_fd)
{
	SbxExecParams params = {.argv = argv, .uid = -1, .gid = -1};
	gint p[2];
	g_autoptr(GError) error = NULL;

	if (!g_unix_open_pipe(p, FD_CLOEXEC, &error) ||
	    !g_unix_set_fd_nonblocking(p[0], TRUE, &error)) {
		sbx_fs_call_return_error(call, error);
		sbx_fs_call_free(call);
		return FALSE;
	}
	call->err_fd = p[0];
	call->err_text = g_string_new(NULL);
	call->err_watch =
	    g_unix_fd_add(call->err_fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_tar_stderr, call);
	sbx_agent_client_exec_async(call->agent, &params, stdin_fd, stdout_fd, p[1],
				    call->cancellable, on_tar_done, call);
	close(p[1]);
	return TRUE;
}

static void
on_upload_mkdir_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	SbxFsCall *call = user_data;
	g_autoptr(GError) error = NULL;
	const gchar *argv[] = {"tar", "-x", "-o", "-f", "-", "-C", call->path, NULL};

	if (!sbx_agent_fs_op_finish(SBX_AGENT_CLIENT(source), res, &error)) {
		/* something that is not a directory is in the way */
		if (g_error_matches(error, SBX_ERROR, SBX_ERROR_ALREADY_EXISTS)) {
			g_clear_error(&error);
			error = sbx_agent_fs_error_new(ENOTDIR, call->path);
		}
		sbx_fs_call_return_error(call, error);
		sbx_fs_call_free(call);
		return;
	}
	{
		gint fd = g_steal_fd(&call->fd);
		sbx_fs_run_tar(call, argv, fd, -1);
		close(fd);
	}
}

static gboolean
handle_upload(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, const gchar *dir,
	      GVariant *fd_h, gpointer user_data)
{
	SbxSandbox *self = SBX_SANDBOX(user_data);
	g_autoptr(GError) error = NULL;
	SbxFsCall *call = sbx_fs_call_new(self, invocation, dir, NULL);

	if (call == NULL)
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	if (!sbx_sandbox_fs_get_fd(invocation, fd_h, &call->fd, &error)) {
		sbx_fs_call_return_error(call, error);
		sbx_fs_call_free(call);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	sbx_sandbox_debug(self->id, "sandbox %s: upload into %s", self->id, dir);
	sbx_agent_fs_op_async(call->agent, NULL, SBX_MSG_FS_MKDIR, SBX_FS_PARENTS, 0755, dir, NULL,
			      call->cancellable, on_upload_mkdir_done, call);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
on_download_stat_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	SbxFsCall *call = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxFsStat) st = NULL;
	g_autofree gchar *trimmed = g_strdup(call->path);
	g_autofree gchar *parent = NULL;
	g_autofree gchar *name = NULL;
	gsize len = strlen(trimmed);

	st = sbx_agent_fs_stat_finish(SBX_AGENT_CLIENT(source), res, &error);
	if (st == NULL) {
		sbx_fs_call_return_error(call, error);
		sbx_fs_call_free(call);
		return;
	}
	while (len > 1 && trimmed[len - 1] == '/')
		trimmed[--len] = '\0';
	if (g_strcmp0(trimmed, "/") == 0) {
		parent = g_strdup("/");
		name = g_strdup(".");
	} else {
		parent = g_path_get_dirname(trimmed);
		name = g_path_get_basename(trimmed);
	}
	{
		const gchar *argv[] = {"tar", "-c", "-f", "-", "-C", parent, "--", name, NULL};
		gint fd = g_steal_fd(&call->fd);
		sbx_fs_run_tar(call, argv, -1, fd);
		close(fd);
	}
}

static gboolean
handle_download(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, const gchar *path,
		GVariant *fd_h, gpointer user_data)
{
	SbxSandbox *self = SBX_SANDBOX(user_data);
	g_autoptr(GError) error = NULL;
	SbxFsCall *call = sbx_fs_call_new(self, invocation, path, NULL);

	if (call == NULL)
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	if (!sbx_sandbox_fs_get_fd(invocation, fd_h, &call->fd, &error)) {
		sbx_fs_call_return_error(call, error);
		sbx_fs_call_free(call);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	sbx_sandbox_debug(self->id, "sandbox %s: download %s", self->id, path);
	sbx_agent_fs_stat_async(call->agent, NULL, path, FALSE, call->cancellable,
				on_download_stat_done, call);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* the sandbox environment: self->opts->env, merged into every later Exec */

static gboolean
sbx_env_name_check(const gchar *name, GError **error)
{
	if (!sbx_options_env_name_is_valid(name)) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
			    "'%.64s' is not a valid variable name (1-%u bytes of A-Z a-z 0-9 _, "
			    "not starting with a digit)",
			    name, (guint)SBX_ENV_NAME_MAX);
		return FALSE;
	}
	return TRUE;
}

static gboolean
handle_get_env(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, const gchar *name,
	       gpointer user_data)
{
	SbxSandbox *self = SBX_SANDBOX(user_data);
	g_autoptr(GError) error = NULL;
	const gchar *value;

	if (!sbx_env_name_check(name, &error)) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	value = g_hash_table_lookup(self->opts->env, name);
	if (value == NULL) {
		g_dbus_method_invocation_return_error(invocation, SBX_ERROR, SBX_ERROR_NOT_FOUND,
						      "%s is not set in sandbox %s", name,
						      self->id);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	sbx_dbus_sandbox1_complete_get_env(iface, invocation, value);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_set_env(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, const gchar *name,
	       const gchar *value, gpointer user_data)
{
	SbxSandbox *self = SBX_SANDBOX(user_data);
	g_autoptr(GError) error = NULL;
	const gchar *old = NULL;
	gsize total = 0;
	GHashTableIter iter;
	gpointer k, v;

	if (!sbx_env_name_check(name, &error)) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	if (strlen(value) > SBX_ENV_VALUE_MAX) {
		g_dbus_method_invocation_return_error(
		    invocation, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
		    "the value of %s is %" G_GSIZE_FORMAT " bytes, at most %u are allowed", name,
		    strlen(value), (guint)SBX_ENV_VALUE_MAX);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	old = g_hash_table_lookup(self->opts->env, name);
	g_hash_table_iter_init(&iter, self->opts->env);
	while (g_hash_table_iter_next(&iter, &k, &v))
		total += strlen(k) + 1 + strlen(v);
	if (old != NULL)
		total -= strlen(name) + 1 + strlen(old);
	total += strlen(name) + 1 + strlen(value);
	if ((old == NULL && g_hash_table_size(self->opts->env) >= SBX_ENV_MAX) ||
	    total > SBX_ENV_TOTAL_MAX) {
		g_dbus_method_invocation_return_error(
		    invocation, SBX_ERROR, SBX_ERROR_LIMIT_EXCEEDED,
		    "the sandbox environment is limited to %u variables and %u bytes",
		    (guint)SBX_ENV_MAX, (guint)SBX_ENV_TOTAL_MAX);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	g_hash_table_replace(self->opts->env, g_strdup(name), g_strdup(value));
	sbx_dbus_sandbox1_complete_set_env(iface, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_unset_env(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, const gchar *name,
		 gpointer user_data)
{
	SbxSandbox *self = SBX_SANDBOX(user_data);
	g_autoptr(GError) error = NULL;

	if (!sbx_env_name_check(name, &error)) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	g_hash_table_remove(self->opts->env, name);
	sbx_dbus_sandbox1_complete_unset_env(iface, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_environment(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation,
		       gpointer user_data)
{
	SbxSandbox *self = SBX_SANDBOX(user_data);
	GVariantBuilder b;
	GHashTableIter iter;
	gpointer k, v;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{ss}"));
	g_hash_table_iter_init(&iter, self->opts->env);
	while (g_hash_table_iter_next(&iter, &k, &v))
		g_variant_builder_add(&b, "{ss}", k, v);
	sbx_dbus_sandbox1_complete_get_environment(iface, invocation, g_variant_builder_end(&b));
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

void
sbx_sandbox_fs_setup(SbxSandbox *self)
{
	const struct {
		const gchar *signal;
		GCallback cb;
	} handlers[] = {
	    {"handle-read-file", G_CALLBACK(handle_read_file)},
	    {"handle-write-file", G_CALLBACK(handle_write_file)},
	    {"handle-stat", G_CALLBACK(handle_stat)},
	    {"handle-read-dir", G_CALLBACK(handle_read_dir)},
	    {"handle-read-dir-with-options", G_CALLBACK(handle_read_dir_with_options)},
	    {"handle-make-directory", G_CALLBACK(handle_make_directory)},
	    {"handle-remove", G_CALLBACK(handle_remove)},
	    {"handle-rename", G_CALLBACK(handle_rename)},
	    {"handle-rename-with-options", G_CALLBACK(handle_rename_with_options)},
	    {"handle-chmod", G_CALLBACK(handle_chmod)},
	    {"handle-chmod-with-options", G_CALLBACK(handle_chmod_with_options)},
	    {"handle-symlink", G_CALLBACK(handle_symlink)},
	    {"handle-symlink-with-options", G_CALLBACK(handle_symlink_with_options)},
	    {"handle-link", G_CALLBACK(handle_link)},
	    {"handle-link-with-options", G_CALLBACK(handle_link_with_options)},
	    {"handle-copy-file", G_CALLBACK(handle_copy_file)},
	    {"handle-copy-file-with-options", G_CALLBACK(handle_copy_file_with_options)},
	    {"handle-truncate", G_CALLBACK(handle_truncate)},
	    {"handle-truncate-with-options", G_CALLBACK(handle_truncate_with_options)},
	    {"handle-chown", G_CALLBACK(handle_chown)},
	    {"handle-chown-with-options", G_CALLBACK(handle_chown_with_options)},
	    {"handle-utime", G_CALLBACK(handle_utime)},
	    {"handle-utime-with-options", G_CALLBACK(handle_utime_with_options)},
	    {"handle-real-path", G_CALLBACK(handle_real_path)},
	    {"handle-real-path-with-options", G_CALLBACK(handle_real_path_with_options)},
	    {"handle-make-temp", G_CALLBACK(handle_make_temp)},
	    {"handle-upload", G_CALLBACK(handle_upload)},
	    {"handle-download", G_CALLBACK(handle_download)},
	    {"handle-get-env", G_CALLBACK(handle_get_env)},
	    {"handle-set-env", G_CALLBACK(handle_set_env)},
	    {"handle-unset-env", G_CALLBACK(handle_unset_env)},
	    {"handle-get-environment", G_CALLBACK(handle_get_environment)},
	};
	for (guint i = 0; i < G_N_ELEMENTS(handlers); i++)
		g_signal_connect_object(self->iface, handlers[i].signal, handlers[i].cb, self, 0);
}
