/* the Sandbox1 open-file methods (OpenFile, File*, CloseFile), Umask, Walk
 * and Glob, onto the agent's requests 88-100 (docs/protocol.md).
 *
 * The guest agent holds the open files; the daemon only remembers which
 * bus name owns which handle, so another caller cannot use it and a caller
 * that leaves the bus has its files closed. FileLock never blocks anyone:
 * the agent answers EAGAIN at once and the daemon asks again on a timer.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "sbx-agent-fs.h"
#include "sbx-error.h"
#include "sbx-log.h"
#include "sbx-sandbox-private.h"

/* how often a contended FileLock asks the guest again */
#define SBX_FILE_LOCK_RETRY_MS 50

typedef struct {
	SbxSandbox *sandbox; /* not owned: the table is the sandbox's */
	guint32 handle;
	gchar *owner;
	gchar *user; /* the guest user OpenFile acted as (NULL: root); its calls act as it too */
	guint watch_id;
} SbxOpenFile;

typedef struct _SbxFileCall SbxFileCall;
typedef void (*SbxFileReplyFunc)(SbxFileCall *call, SbxAgentReply *reply);

struct _SbxFileCall {
	SbxSandbox *sandbox;
	GDBusMethodInvocation *invocation;
	guint16 type;
	guint32 handle; /* 0: OpenFile, Umask */
	GBytes *payload;
	gchar *path; /* names it in errors */
	gchar *user; /* the guest user it acts as, or NULL (root) */
	SbxFileReplyFunc reply_func;
};

static void
sbx_open_file_free(SbxOpenFile *f)
{
	g_clear_handle_id(&f->watch_id, g_bus_unwatch_name);
	g_free(f->owner);
	g_free(f->user);
	g_free(f);
}

static void
sbx_file_call_free(SbxFileCall *call)
{
	g_clear_object(&call->sandbox);
	g_clear_object(&call->invocation);
	g_clear_pointer(&call->payload, g_bytes_unref);
	g_free(call->user);
	g_free(call->path);
	g_free(call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxFileCall, sbx_file_call_free)

static void
on_close_sent(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxAgentReply) reply = NULL;
	g_autoptr(GError) error = NULL;
	reply = sbx_agent_client_fs_request_finish(SBX_AGENT_CLIENT(source), res, &error);
	if (reply == NULL)
		g_debug("closing a guest file: %s", error->message);
}

static GBytes *
encode_u32s(const guint32 *v, guint n, const guint8 *tail, gsize tail_len)
{
	GByteArray *b = g_byte_array_sized_new(n * 4 + tail_len);
	for (guint i = 0; i < n; i++) {
		guint8 p[4];
		sbx_proto_put_u32(p, v[i]);
		g_byte_array_append(b, p, 4);
	}
	if (tail_len > 0)
		g_byte_array_append(b, tail, (guint)tail_len);
	return g_byte_array_free_to_bytes(b);
}

/* the owner left: the guest closes it, nobody waits for the answer */
static void
on_owner_vanished(GDBusConnection *connection, const gchar *name, gpointer user_data)
{
	SbxOpenFile *f = user_data;
	SbxSandbox *self = f->sandbox;
	guint32 handle = f->handle;

	if (self->agent != NULL && !sbx_agent_client_is_closed(self->agent)) {
		g_autoptr(GBytes) payload = encode_u32s(&handle, 1, NULL, 0);
		sbx_agent_client_fs_request_async(self->agent, SBX_MSG_FS_FILE_CLOSE, payload, NULL,
						  "open file", NULL, on_close_sent, NULL);
	}
	sbx_sandbox_debug(self->id, "file %u closed: its owner %s left", handle, name);
	g_hash_table_remove(self->files, GUINT_TO_POINTER(handle));
}

static gboolean
file_running(SbxSandbox *self, GDBusMethodInvocation *invocation)
{
	if (self->state == SBX_SANDBOX_STATE_RUNNING && self->agent != NULL)
		return TRUE;
	g_dbus_method_invocation_return_error(invocation, SBX_ERROR, SBX_ERROR_NOT_RUNNING,
					      "sandbox %s is %s", self->id,
					      sbx_sandbox_state_to_string(self->state));
	return FALSE;
}

static void file_call_send(SbxFileCall *call);

static gboolean
on_lock_retry(gpointer user_data)
{
	file_call_send(user_data);
	return G_SOURCE_REMOVE;
}

static void
on_file_reply(GObject *source, GAsyncResult *res, gpointer user_data)
{
	SbxFileCall *call = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxAgentReply) reply = NULL;
	SbxSandbox *self = call->sandbox;
	gsize len = 0;
	const guint8 *p;

	reply = sbx_agent_client_fs_request_finish(SBX_AGENT_CLIENT(source), res, &error);
	if (reply != NULL && reply->type == SBX_MSG_FS_ERROR) {
		gint err = 0;
		g_autofree gchar *failed = NULL;
		p = g_bytes_get_data(reply->payload, &len);
		if (sbx_agent_fs_parse_error(p, len, &err, &failed, &error)) {
			/* contended lock: ask again while the file stays open */
			if (err == EAGAIN && call->type == SBX_MSG_FS_FILE_LOCK &&
			    g_hash_table_contains(self->files, GUINT_TO_POINTER(call->handle))) {
				g_timeout_add(SBX_FILE_LOCK_RETRY_MS, on_lock_retry, call);
				return;
			}
			if (err == ESTALE)
				error = g_error_new(SBX_ERROR, SBX_ERROR_NOT_FOUND,
						    "file handle %u is not open", call->handle);
			else
				error = sbx_agent_fs_error_new(err, failed != NULL ? failed
										   : call->path);
		}
		g_clear_pointer(&reply, sbx_agent_exec_reply_free);
	}
	if (reply == NULL) {
		g_autoptr(SbxFileCall) owned = call;
		if (self->state >= SBX_SANDBOX_STATE_STOPPING)
			g_dbus_method_invocation_return_error(g_steal_pointer(&call->invocation),
							      SBX_ERROR, SBX_ERROR_SANDBOX_GONE,
							      "sandbox %s was destroyed", self->id);
		else if (error->domain == SBX_ERROR)
			g_dbus_method_invocation_return_gerror(g_steal_pointer(&call->invocation),
							       error);
		else
			g_dbus_method_invocation_return_error(g_steal_pointer(&call->invocation),
							      SBX_ERROR, SBX_ERROR_FAILED, "%s",
							      error->message);
		return;
	}
	call->reply_func(call, reply);
	sbx_file_call_free(call);
}

static void
file_call_send(SbxFileCall *call)
{
	SbxSandbox *self = call->sandbox;
	if (self->agent == NULL || self->state != SBX_SANDBOX_STATE_RUNNING) {
		g_dbus_method_invocation_return_error(g_steal_pointer(&call->invocation), SBX_ERROR,
						      SBX_ERROR_SANDBOX_GONE,
						      "sandbox %s was destroyed", self->id);
		sbx_file_call_free(call);
		return;
	}
	if (call->handle != 0 &&
	    !g_hash_table_contains(self->files, GUINT_TO_POINTER(call->handle))) {
		g_dbus_method_invocation_return_error(g_steal_pointer(&call->invocation), SBX_ERROR,
						      SBX_ERROR_NOT_FOUND,
						      "file handle %u was closed", call->handle);
		sbx_file_call_free(call);
		return;
	}
	sbx_agent_client_fs_request_async(self->agent, call->type, call->payload, call->user,
					  call->path, NULL, on_file_reply, call);
}

/* a request on an open file of the caller's: u32 handle, @nums, @tail */
static gboolean
file_call_start(SbxSandbox *self, GDBusMethodInvocation *invocation, guint16 type, guint32 handle,
		const guint32 *nums, guint n_nums, const guint8 *tail, gsize tail_len,
		SbxFileReplyFunc reply_func)
{
	g_autofree guint32 *all = g_new(guint32, n_nums + 1);
	SbxOpenFile *f;
	SbxFileCall *call;

	if (!file_running(self, invocation))
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	f = g_hash_table_lookup(self->files, GUINT_TO_POINTER(handle));
	if (f == NULL ||
	    g_strcmp0(f->owner, g_dbus_method_invocation_get_sender(invocation)) != 0) {
		g_dbus_method_invocation_return_error(invocation, SBX_ERROR, SBX_ERROR_NOT_FOUND,
						      "file handle %u is not open", handle);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	all[0] = handle;
	if (n_nums > 0)
		memcpy(all + 1, nums, n_nums * sizeof(guint32));
	call = g_new0(SbxFileCall, 1);
	call->sandbox = g_object_ref(self);
	call->invocation = invocation; /* returning consumes the handler's ref */
	call->type = type;
	call->handle = handle;
	call->user = g_strdup(f->user);
	call->payload = encode_u32s(all, n_nums + 1, tail, tail_len);
	call->path = g_strdup_printf("file handle %u", handle);
	call->reply_func = reply_func;
	file_call_send(call);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
reply_check(SbxFileCall *call, SbxAgentReply *reply, guint16 type, gsize min, gsize max)
{
	gsize len = g_bytes_get_size(reply->payload);
	if (reply->type == type && len >= min && len <= max)
		return TRUE;
	g_dbus_method_invocation_return_error(
	    g_steal_pointer(&call->invocation), SBX_ERROR, SBX_ERROR_PROTOCOL,
	    "unexpected reply type %u to a file request", reply->type);
	return FALSE;
}

static guint64
reply_value(SbxAgentReply *reply)
{
	const guint8 *p = g_bytes_get_data(reply->payload, NULL);
	return (guint64)sbx_proto_get_u32(p) | ((guint64)sbx_proto_get_u32(p + 4) << 32);
}

static void
reply_ok(SbxFileCall *call, SbxAgentReply *reply)
{
	if (reply_check(call, reply, SBX_MSG_FS_OK, 0, 0))
		g_dbus_method_invocation_return_value(g_steal_pointer(&call->invocation), NULL);
}

static void
reply_close(SbxFileCall *call, SbxAgentReply *reply)
{
	g_hash_table_remove(call->sandbox->files, GUINT_TO_POINTER(call->handle));
	reply_ok(call, reply);
}

static void
reply_u32(SbxFileCall *call, SbxAgentReply *reply)
{
	if (reply_check(call, reply, SBX_MSG_FS_VALUE_REPLY, 8, 8))
		g_dbus_method_invocation_return_value(
		    g_steal_pointer(&call->invocation),
		    g_variant_new("(u)", (guint32)MIN(reply_value(reply), G_MAXUINT32)));
}

static void
reply_u64(SbxFileCall *call, SbxAgentReply *reply)
{
	if (reply_check(call, reply, SBX_MSG_FS_VALUE_REPLY, 8, 8))
		g_dbus_method_invocation_return_value(g_steal_pointer(&call->invocation),
						      g_variant_new("(t)", reply_value(reply)));
}

static void
reply_data(SbxFileCall *call, SbxAgentReply *reply)
{
	gsize len = 0;
	const guint8 *p;
	if (!reply_check(call, reply, SBX_MSG_FS_DATA_REPLY, 0, SBX_PROTO_MAX_PAYLOAD))
		return;
	p = g_bytes_get_data(reply->payload, &len);
	g_dbus_method_invocation_return_value(
	    g_steal_pointer(&call->invocation),
	    g_variant_new("(@ay)", g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, p, len, 1)));
}

static void
reply_stat(SbxFileCall *call, SbxAgentReply *reply)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxFsStat) st = NULL;
	gsize len = 0;
	const guint8 *p = g_bytes_get_data(reply->payload, &len);

	if (!reply_check(call, reply, SBX_MSG_FS_STAT_REPLY, SBX_FS_STAT_FIXED,
			 SBX_FS_STAT_FIXED + SBX_FS_MAX_PATH))
		return;
	st = sbx_agent_fs_parse_stat(p, len, &error);
	if (st == NULL) {
		g_dbus_method_invocation_return_gerror(g_steal_pointer(&call->invocation), error);
		return;
	}
	g_dbus_method_invocation_return_value(
	    g_steal_pointer(&call->invocation),
	    g_variant_new("(@a{sv})", sbx_sandbox_fs_stat_to_variant(st)));
}

/* OpenFile */

static void
reply_open(SbxFileCall *call, SbxAgentReply *reply)
{
	SbxSandbox *self = call->sandbox;
	const gchar *sender = g_dbus_method_invocation_get_sender(call->invocation);
	SbxOpenFile *f;
	guint64 handle;

	if (!reply_check(call, reply, SBX_MSG_FS_VALUE_REPLY, 8, 8))
		return;
	handle = reply_value(reply);
	if (handle == 0 || handle > G_MAXUINT32 ||
	    g_hash_table_contains(self->files, GUINT_TO_POINTER((guint32)handle))) {
		g_dbus_method_invocation_return_error(g_steal_pointer(&call->invocation), SBX_ERROR,
						      SBX_ERROR_PROTOCOL,
						      "the guest answered a bad file handle");
		return;
	}
	f = g_new0(SbxOpenFile, 1);
	f->sandbox = self;
	f->handle = (guint32)handle;
	f->owner = g_strdup(sender);
	f->user = g_strdup(call->user);
	g_hash_table_insert(self->files, GUINT_TO_POINTER(f->handle), f);
	if (sender != NULL)
		f->watch_id = g_bus_watch_name_on_connection(
		    g_dbus_method_invocation_get_connection(call->invocation), sender,
		    G_BUS_NAME_WATCHER_FLAGS_NONE, NULL, on_owner_vanished, f, NULL);
	g_dbus_method_invocation_return_value(g_steal_pointer(&call->invocation),
					      g_variant_new("(u)", f->handle));
}

static gboolean
handle_open_file(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, const gchar *path,
		 GVariant *options, gpointer user_data)
{
	SbxSandbox *self = SBX_SANDBOX(user_data);
	static const struct {
		const gchar *key;
		guint32 flag;
	} keys[] = {
	    {"read", SBX_FS_OPEN_READ},	    {"write", SBX_FS_OPEN_WRITE},
	    {"append", SBX_FS_OPEN_APPEND}, {"truncate", SBX_FS_OPEN_TRUNCATE},
	    {"create", SBX_FS_OPEN_CREATE}, {"create_new", SBX_FS_OPEN_CREATE_NEW},
	};
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) payload = NULL;
	guint32 flags = 0, mode = 0666;
	GVariantIter iter;
	const gchar *key;
	GVariant *value;
	SbxFileCall *call;

	g_variant_iter_init(&iter, options);
	while (g_variant_iter_next(&iter, "{&sv}", &key, &value)) {
		g_autoptr(GVariant) v = value;
		gboolean known = FALSE;
		for (guint i = 0; i < G_N_ELEMENTS(keys); i++) {
			if (g_strcmp0(key, keys[i].key) != 0 ||
			    !g_variant_is_of_type(v, G_VARIANT_TYPE_BOOLEAN))
				continue;
			known = TRUE;
			if (g_variant_get_boolean(v))
				flags |= keys[i].flag;
		}
		if (g_strcmp0(key, "mode") == 0 && g_variant_is_of_type(v, G_VARIANT_TYPE_UINT32)) {
			known = TRUE;
			mode = g_variant_get_uint32(v);
		}
		if (g_strcmp0(key, "user") == 0 && g_variant_is_of_type(v, G_VARIANT_TYPE_STRING))
			known = TRUE;
		if (!known || mode > 07777) {
			g_dbus_method_invocation_return_error(
			    invocation, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
			    "bad option '%.64s' (read, write, append, truncate, create, "
			    "create_new: b; mode: u <= 07777; user: s)",
			    key);
			return G_DBUS_METHOD_INVOCATION_HANDLED;
		}
	}
	if (!sbx_agent_fs_path_check(path, &error)) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	if (!file_running(self, invocation))
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	if (g_hash_table_size(self->files) >= SBX_FS_MAX_FILES) {
		g_dbus_method_invocation_return_error(
		    invocation, SBX_ERROR, SBX_ERROR_LIMIT_EXCEEDED,
		    "%u files are open in sandbox %s already", SBX_FS_MAX_FILES, self->id);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	payload = sbx_agent_fs_encode_request(flags, &mode, 1, path, NULL);
	call = g_new0(SbxFileCall, 1);
	call->sandbox = g_object_ref(self);
	call->invocation = invocation; /* returning consumes the handler's ref */
	call->type = SBX_MSG_FS_FILE_OPEN;
	g_variant_lookup(options, "user", "s", &call->user);
	call->payload = g_steal_pointer(&payload);
	call->path = g_strdup(path);
	call->reply_func = reply_open;
	file_call_send(call);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* the File* methods */

static gboolean
handle_file_read(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, guint32 handle,
		 guint32 length, gpointer user_data)
{
	if (length == 0 || length > SBX_PROTO_MAX_PAYLOAD) {
		g_dbus_method_invocation_return_error(
		    invocation, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT, "length: 1 to %u bytes",
		    SBX_PROTO_MAX_PAYLOAD);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	return file_call_start(SBX_SANDBOX(user_data), invocation, SBX_MSG_FS_FILE_READ, handle,
			       &length, 1, NULL, 0, reply_data);
}

static gboolean
handle_file_write(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, guint32 handle,
		  GVariant *data, gpointer user_data)
{
	gsize len = 0;
	const guint8 *p = g_variant_get_fixed_array(data, &len, 1);
	if (len > SBX_PROTO_MAX_PAYLOAD - 4) {
		g_dbus_method_invocation_return_error(
		    invocation, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
		    "data: at most %u bytes per call", SBX_PROTO_MAX_PAYLOAD - 4);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	return file_call_start(SBX_SANDBOX(user_data), invocation, SBX_MSG_FS_FILE_WRITE, handle,
			       NULL, 0, p, len, reply_u32);
}

static gboolean
handle_file_seek(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, guint32 handle,
		 gint64 offset, guint32 whence, gpointer user_data)
{
	guint32 nums[3] = {whence, (guint32)(guint64)offset, (guint32)((guint64)offset >> 32)};
	if (whence > 2) {
		g_dbus_method_invocation_return_error(invocation, SBX_ERROR,
						      SBX_ERROR_INVALID_ARGUMENT,
						      "whence: 0 (start), 1 (current) or 2 (end)");
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	return file_call_start(SBX_SANDBOX(user_data), invocation, SBX_MSG_FS_FILE_SEEK, handle,
			       nums, 3, NULL, 0, reply_u64);
}

static gboolean
handle_file_stat(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, guint32 handle,
		 gpointer user_data)
{
	return file_call_start(SBX_SANDBOX(user_data), invocation, SBX_MSG_FS_FILE_STAT, handle,
			       NULL, 0, NULL, 0, reply_stat);
}

static gboolean
handle_file_sync(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, guint32 handle,
		 gboolean data_only, gpointer user_data)
{
	guint32 flags = data_only ? SBX_FS_SYNC_DATA : 0;
	return file_call_start(SBX_SANDBOX(user_data), invocation, SBX_MSG_FS_FILE_SYNC, handle,
			       &flags, 1, NULL, 0, reply_ok);
}

static gboolean
handle_file_truncate(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, guint32 handle,
		     guint64 length, gpointer user_data)
{
	guint32 nums[2] = {(guint32)length, (guint32)(length >> 32)};
	if (length > G_MAXINT64) {
		g_dbus_method_invocation_return_error(
		    invocation, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT, "length: at most 2^63-1");
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	return file_call_start(SBX_SANDBOX(user_data), invocation, SBX_MSG_FS_FILE_TRUNCATE, handle,
			       nums, 2, NULL, 0, reply_ok);
}

static gboolean
handle_file_lock(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, guint32 handle,
		 gboolean exclusive, gpointer user_data)
{
	guint32 op = exclusive ? SBX_FS_LOCK_EXCLUSIVE : SBX_FS_LOCK_SHARED;
	return file_call_start(SBX_SANDBOX(user_data), invocation, SBX_MSG_FS_FILE_LOCK, handle,
			       &op, 1, NULL, 0, reply_ok);
}

static gboolean
handle_file_unlock(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, guint32 handle,
		   gpointer user_data)
{
	guint32 op = SBX_FS_LOCK_UNLOCK;
	return file_call_start(SBX_SANDBOX(user_data), invocation, SBX_MSG_FS_FILE_LOCK, handle,
			       &op, 1, NULL, 0, reply_ok);
}

static gboolean
handle_file_utime(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, guint32 handle,
		  gint64 atime, guint32 atime_nsec, gint64 mtime, guint32 mtime_nsec,
		  gpointer user_data)
{
	guint32 nums[6] = {(guint32)(guint64)atime, (guint32)((guint64)atime >> 32), atime_nsec,
			   (guint32)(guint64)mtime, (guint32)((guint64)mtime >> 32), mtime_nsec};
	if (atime_nsec >= 1000000000u || mtime_nsec >= 1000000000u) {
		g_dbus_method_invocation_return_error(invocation, SBX_ERROR,
						      SBX_ERROR_INVALID_ARGUMENT,
						      "nanoseconds: below 1000000000");
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	return file_call_start(SBX_SANDBOX(user_data), invocation, SBX_MSG_FS_FILE_UTIME, handle,
			       nums, 6, NULL, 0, reply_ok);
}

static gboolean
handle_close_file(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, guint32 handle,
		  gpointer user_data)
{
	return file_call_start(SBX_SANDBOX(user_data), invocation, SBX_MSG_FS_FILE_CLOSE, handle,
			       NULL, 0, NULL, 0, reply_close);
}

static gboolean
handle_umask(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, gboolean set, guint32 mask,
	     gpointer user_data)
{
	SbxSandbox *self = SBX_SANDBOX(user_data);
	guint32 nums[2] = {set ? SBX_FS_UMASK_SET : 0, set ? mask : 0};
	SbxFileCall *call;

	if (mask > 0777) {
		g_dbus_method_invocation_return_error(invocation, SBX_ERROR,
						      SBX_ERROR_INVALID_ARGUMENT,
						      "mask 0%o has bits beyond 0777", mask);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	if (!file_running(self, invocation))
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	call = g_new0(SbxFileCall, 1);
	call->sandbox = g_object_ref(self);
	call->invocation = invocation; /* returning consumes the handler's ref */
	call->type = SBX_MSG_FS_UMASK;
	call->payload = encode_u32s(nums, 2, NULL, 0);
	call->path = g_strdup("umask");
	call->reply_func = reply_u32;
	file_call_send(call);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Walk, Glob */

typedef struct {
	SbxSandbox *sandbox;
	GDBusMethodInvocation *invocation;
	GCancellable *cancellable; /* the caller left: the guest's walk is killed */
	guint watch_id;
} SbxWalkCall;

static void
on_walk_caller_vanished(GDBusConnection *connection, const gchar *name, gpointer user_data)
{
	SbxWalkCall *call = user_data;
	g_cancellable_cancel(call->cancellable);
}

static void
on_walk_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	SbxWalkCall *call = user_data;
	g_autoptr(GError) error = NULL;

	g_clear_handle_id(&call->watch_id, g_bus_unwatch_name);
	if (!sbx_agent_client_fs_stream_finish(SBX_AGENT_CLIENT(source), res, &error)) {
		if (g_cancellable_is_cancelled(call->cancellable))
			g_dbus_method_invocation_return_error(call->invocation, SBX_ERROR,
							      SBX_ERROR_FAILED,
							      "the caller left the bus");
		else if (strstr(error->message, g_strerror(E2BIG)) != NULL)
			g_dbus_method_invocation_return_error(
			    call->invocation, SBX_ERROR, SBX_ERROR_LIMIT_EXCEEDED,
			    "%s (too many entries: raise max_entries)", error->message);
		else
			g_dbus_method_invocation_return_gerror(call->invocation, error);
	} else {
		g_dbus_method_invocation_return_value(call->invocation, NULL);
	}
	g_object_unref(call->cancellable);
	g_object_unref(call->sandbox);
	g_free(call);
}

static void
put_u32(GByteArray *b, guint32 v)
{
	guint8 p[4];
	sbx_proto_put_u32(p, v);
	g_byte_array_append(b, p, 4);
}

static void
put_string(GByteArray *b, const gchar *s)
{
	put_u32(b, (guint32)strlen(s));
	g_byte_array_append(b, (const guint8 *)s, (guint)strlen(s));
}

static gboolean
put_patterns(GByteArray *b, GVariant *options, const gchar *key, gboolean regex, GError **error)
{
	g_autoptr(GVariant) v = g_variant_lookup_value(options, key, NULL);
	GVariantIter iter;
	gsize n;

	if (v == NULL) {
		put_u32(b, 0);
		return TRUE;
	}
	if (!g_variant_is_of_type(v, regex ? G_VARIANT_TYPE("a(sb)") : G_VARIANT_TYPE("as"))) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT, "%s: expected %s", key,
			    regex ? "a(sb)" : "as");
		return FALSE;
	}
	n = g_variant_n_children(v);
	if (n > SBX_FS_WALK_MAX_PATTERNS) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT, "%s: at most %u", key,
			    SBX_FS_WALK_MAX_PATTERNS);
		return FALSE;
	}
	put_u32(b, (guint32)n);
	g_variant_iter_init(&iter, v);
	for (gsize i = 0; i < n; i++) {
		const gchar *s = NULL;
		gboolean icase = FALSE;
		if (regex)
			g_variant_iter_next(&iter, "(&sb)", &s, &icase);
		else
			g_variant_iter_next(&iter, "&s", &s);
		if (*s == '\0' || strlen(s) > SBX_FS_MAX_PATH) {
			g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
				    "%s: 1 to %u bytes each", key, SBX_FS_MAX_PATH);
			return FALSE;
		}
		if (regex)
			put_u32(b, icase ? SBX_FS_PATTERN_ICASE : 0);
		put_string(b, s);
	}
	return TRUE;
}

static gboolean
opt_flag(GVariant *options, const gchar *key, gboolean dflt, guint32 flag)
{
	gboolean v = dflt;
	g_variant_lookup(options, key, "b", &v);
	return v ? flag : 0;
}

/* the options of Walk (W) and Glob (G) and their types */
typedef struct {
	const gchar *key;
	const gchar *type;
	const gchar *of; /* "W", "G" or "WG" */
} WalkOption;

static const WalkOption walk_options[] = {
    {"max_depth", "u", "W"},	 {"max_entries", "u", "WG"},	 {"include_files", "b", "W"},
    {"include_dirs", "b", "WG"}, {"include_symlinks", "b", "W"}, {"follow_symlinks", "b", "WG"},
    {"canonicalize", "b", "WG"}, {"match", "a(sb)", "W"},	 {"skip", "a(sb)", "W"},
    {"exts", "as", "W"},	 {"exclude", "as", "G"},	 {"globstar", "b", "G"},
    {"extended", "b", "G"},	 {"case_insensitive", "b", "G"}, {"user", "s", "WG"},
};

static const WalkOption *
walk_option(const gchar *key, gboolean glob)
{
	for (guint i = 0; i < G_N_ELEMENTS(walk_options); i++) {
		if (g_str_equal(walk_options[i].key, key) &&
		    strchr(walk_options[i].of, glob ? 'G' : 'W') != NULL)
			return &walk_options[i];
	}
	return NULL;
}

static gboolean
start_walk(SbxSandbox *self, GDBusMethodInvocation *invocation, gboolean glob, const gchar *path,
	   GVariant *options, GVariant *fd_h)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GByteArray) b = g_byte_array_new();
	g_autoptr(GBytes) payload = NULL;
	guint32 flags = 0, max_depth = SBX_FS_WALK_MAX_DEPTH, max_entries = SBX_FS_WALK_MAX_ENTRIES;
	GVariantIter iter;
	const gchar *key;
	GVariant *value;
	const gchar *user = NULL;
	gint fd = -1;
	SbxWalkCall *call;

	g_variant_iter_init(&iter, options);
	while (g_variant_iter_next(&iter, "{&sv}", &key, &value)) {
		g_autoptr(GVariant) v = value;
		const WalkOption *o = walk_option(key, glob);
		if (o == NULL || !g_variant_is_of_type(v, G_VARIANT_TYPE(o->type))) {
			g_dbus_method_invocation_return_error(
			    invocation, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
			    "unknown option '%.64s' or not of its type", key);
			return G_DBUS_METHOD_INVOCATION_HANDLED;
		}
	}
	g_variant_lookup(options, "max_depth", "u", &max_depth);
	g_variant_lookup(options, "max_entries", "u", &max_entries);
	max_depth = MIN(max_depth, SBX_FS_WALK_MAX_DEPTH);
	if (max_entries == 0 || max_entries > SBX_FS_WALK_MAX_ENTRIES) {
		g_dbus_method_invocation_return_error(
		    invocation, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT, "max_entries: 1 to %u",
		    SBX_FS_WALK_MAX_ENTRIES);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	flags |= opt_flag(options, "include_files", TRUE, SBX_FS_WALK_FILES);
	flags |= opt_flag(options, "include_dirs", TRUE, SBX_FS_WALK_DIRS);
	flags |= opt_flag(options, "include_symlinks", TRUE, SBX_FS_WALK_SYMLINKS);
	flags |= opt_flag(options, "follow_symlinks", FALSE, SBX_FS_WALK_FOLLOW);
	flags |= opt_flag(options, "canonicalize", TRUE, SBX_FS_WALK_CANONICALIZE);
	if (glob) {
		flags |= SBX_FS_WALK_FILES | SBX_FS_WALK_SYMLINKS;
		flags |= opt_flag(options, "globstar", TRUE, SBX_FS_WALK_GLOBSTAR);
		flags |= opt_flag(options, "extended", TRUE, SBX_FS_WALK_EXTENDED);
		flags |= opt_flag(options, "case_insensitive", FALSE, SBX_FS_WALK_CASEFOLD);
	}
	put_u32(b, flags);
	put_u32(b, SBX_PROTO_DEFAULT_WINDOW);
	put_u32(b, max_depth);
	put_u32(b, max_entries);
	put_string(b, path);
	if (!sbx_agent_fs_path_check(path, &error) ||
	    (glob && !put_patterns(b, options, "exclude", FALSE, &error)) ||
	    (!glob && (!put_patterns(b, options, "match", TRUE, &error) ||
		       !put_patterns(b, options, "skip", TRUE, &error) ||
		       !put_patterns(b, options, "exts", FALSE, &error)))) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	if (b->len > SBX_PROTO_MAX_PAYLOAD) {
		g_dbus_method_invocation_return_error(invocation, SBX_ERROR,
						      SBX_ERROR_INVALID_ARGUMENT,
						      "the patterns are too long together");
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	if (!sbx_sandbox_fs_get_fd(invocation, fd_h, &fd, &error)) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	if (!file_running(self, invocation)) {
		close(fd);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	payload = g_byte_array_free_to_bytes(g_steal_pointer(&b));
	call = g_new0(SbxWalkCall, 1);
	call->sandbox = g_object_ref(self);
	call->invocation = invocation;
	call->cancellable = g_cancellable_new();
	if (g_dbus_method_invocation_get_sender(invocation) != NULL)
		call->watch_id = g_bus_watch_name_on_connection(
		    g_dbus_method_invocation_get_connection(invocation),
		    g_dbus_method_invocation_get_sender(invocation), G_BUS_NAME_WATCHER_FLAGS_NONE,
		    NULL, on_walk_caller_vanished, call, NULL);
	g_variant_lookup(options, "user", "&s", &user);
	sbx_agent_client_fs_stream_async(self->agent, glob ? SBX_MSG_FS_GLOB : SBX_MSG_FS_WALK,
					 payload, user, path, -1, fd, call->cancellable,
					 on_walk_done, call);
	close(fd); /* the client keeps its own copy */
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_walk(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, const gchar *path,
	    GVariant *options, GVariant *fd_h, gpointer user_data)
{
	return start_walk(SBX_SANDBOX(user_data), invocation, FALSE, path, options, fd_h);
}

static gboolean
handle_glob(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, const gchar *glob,
	    GVariant *options, GVariant *fd_h, gpointer user_data)
{
	return start_walk(SBX_SANDBOX(user_data), invocation, TRUE, glob, options, fd_h);
}

/* the sandbox stopped: its agent closed every file already */
static void
on_sandbox_gone(SbxSandbox *self, gpointer user_data)
{
	g_hash_table_remove_all(self->files);
}

void
sbx_sandbox_file_setup(SbxSandbox *self)
{
	const struct {
		const gchar *signal;
		GCallback cb;
	} handlers[] = {
	    {"handle-open-file", G_CALLBACK(handle_open_file)},
	    {"handle-file-read", G_CALLBACK(handle_file_read)},
	    {"handle-file-write", G_CALLBACK(handle_file_write)},
	    {"handle-file-seek", G_CALLBACK(handle_file_seek)},
	    {"handle-file-stat", G_CALLBACK(handle_file_stat)},
	    {"handle-file-sync", G_CALLBACK(handle_file_sync)},
	    {"handle-file-truncate", G_CALLBACK(handle_file_truncate)},
	    {"handle-file-lock", G_CALLBACK(handle_file_lock)},
	    {"handle-file-unlock", G_CALLBACK(handle_file_unlock)},
	    {"handle-file-utime", G_CALLBACK(handle_file_utime)},
	    {"handle-close-file", G_CALLBACK(handle_close_file)},
	    {"handle-umask", G_CALLBACK(handle_umask)},
	    {"handle-walk", G_CALLBACK(handle_walk)},
	    {"handle-glob", G_CALLBACK(handle_glob)},
	};
	self->files = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)sbx_open_file_free);
	for (guint i = 0; i < G_N_ELEMENTS(handlers); i++)
		g_signal_connect_object(self->iface, handlers[i].signal, handlers[i].cb, self, 0);
	g_signal_connect(self, "gone", G_CALLBACK(on_sandbox_gone), NULL);
}
