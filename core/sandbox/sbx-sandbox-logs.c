/* Sandbox1.ReadLog: the console log and the event log, copied into a
 * caller's fd without blocking, optionally following until the sandbox is
 * gone.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "sbx-error.h"
#include "sbx-fd-sink.h"
#include "sbx-log.h"
#include "sbx-sandbox-private.h"

/* what a crashed sandbox keeps of its console */
#define SBX_CONSOLE_KEEP_BYTES (64 * 1024)
#define SBX_CONSOLE_CHUNK (64 * 1024)
/* read more only while the reader has less than this queued */
#define SBX_CONSOLE_HIGH_WATER (256 * 1024)
#define SBX_CONSOLE_POLL_MS 200

typedef struct {
	SbxSandbox *sandbox; /* borrowed: the sandbox owns its readers */
	SbxFdSink *sink;
	gint file_fd;
	gboolean follow;
	guint timer_id;
} SbxConsoleReader;

static void
free_sink_when_drained(SbxFdSink *sink, gpointer user_data)
{
	sbx_fd_sink_free(sink);
}

/* the sink keeps writing what it holds, then closes */
static void
retire_sink(SbxFdSink *sink)
{
	if (sbx_fd_sink_is_broken(sink) || sbx_fd_sink_get_pending(sink) == 0)
		sbx_fd_sink_free(sink);
	else
		sbx_fd_sink_set_drained_func(sink, free_sink_when_drained, NULL);
}

static void
reader_free(SbxConsoleReader *reader)
{
	g_clear_handle_id(&reader->timer_id, g_source_remove);
	if (reader->file_fd >= 0)
		close(reader->file_fd);
	if (reader->sink != NULL)
		retire_sink(g_steal_pointer(&reader->sink));
	g_free(reader);
}

static void
reader_done(SbxConsoleReader *reader)
{
	SbxSandbox *self = reader->sandbox;
	/* the array frees it */
	g_ptr_array_remove_fast(self->console_readers, reader);
}

static void reader_pump(SbxConsoleReader *reader);

static gboolean
on_reader_timer(gpointer user_data)
{
	SbxConsoleReader *reader = user_data;
	reader->timer_id = 0;
	reader_pump(reader);
	return G_SOURCE_REMOVE;
}

static void
on_reader_drained(SbxFdSink *sink, gpointer user_data)
{
	SbxConsoleReader *reader = user_data;
	if (reader->timer_id == 0)
		reader->timer_id = g_idle_add(on_reader_timer, reader);
}

static gboolean
reader_open(SbxConsoleReader *reader)
{
	g_autofree gchar *path = NULL;
	if (reader->file_fd >= 0)
		return TRUE;
	path = g_build_filename(reader->sandbox->run_dir, "console.log", NULL);
	reader->file_fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	return reader->file_fd >= 0;
}

/* a regular file: reads never block for long */
static void
reader_pump(SbxConsoleReader *reader)
{
	guint8 *buf;

	if (sbx_fd_sink_is_broken(reader->sink)) {
		reader_done(reader);
		return;
	}
	if (!reader_open(reader)) {
		if (!reader->follow) {
			reader_done(reader);
			return;
		}
		reader->timer_id = g_timeout_add(SBX_CONSOLE_POLL_MS, on_reader_timer, reader);
		return;
	}
	buf = g_malloc(SBX_CONSOLE_CHUNK);
	while (sbx_fd_sink_get_pending(reader->sink) < SBX_CONSOLE_HIGH_WATER) {
		gssize n = read(reader->file_fd, buf, SBX_CONSOLE_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			g_free(buf);
			if (!reader->follow) {
				reader_done(reader);
				return;
			}
			reader->timer_id =
			    g_timeout_add(SBX_CONSOLE_POLL_MS, on_reader_timer, reader);
			return;
		}
		if (!sbx_fd_sink_write(reader->sink, buf, n)) {
			g_free(buf);
			reader_done(reader);
			return;
		}
	}
	g_free(buf);
	/* the reader is behind: go on once it caught up */
	sbx_fd_sink_set_drained_func(reader->sink, on_reader_drained, reader);
}

static gboolean
stream_console(SbxSandbox *self, gint fd, gboolean follow, GError **error)
{
	SbxConsoleReader *reader;
	SbxFdSink *sink = sbx_fd_sink_new(fd, error);

	if (sink == NULL)
		return FALSE;
	if (self->console_tail != NULL || self->finished) {
		if (self->console_tail != NULL)
			sbx_fd_sink_write(sink, g_bytes_get_data(self->console_tail, NULL),
					  g_bytes_get_size(self->console_tail));
		retire_sink(sink);
		return TRUE;
	}
	reader = g_new0(SbxConsoleReader, 1);
	reader->sandbox = self;
	reader->sink = sink;
	reader->file_fd = -1;
	reader->follow = follow;
	g_ptr_array_add(self->console_readers, reader);
	reader_pump(reader);
	return TRUE;
}

static gboolean
handle_read_log(SbxDBusSandbox1 *iface, GDBusMethodInvocation *invocation, const gchar *which,
		GVariant *fd_h, GVariant *options, gpointer user_data)
{
	SbxSandbox *self = SBX_SANDBOX(user_data);
	g_autoptr(GError) error = NULL;
	GDBusMessage *message = g_dbus_method_invocation_get_message(invocation);
	GUnixFDList *fd_list = g_dbus_message_get_unix_fd_list(message);
	gint32 index = g_variant_get_handle(fd_h);
	gint n = fd_list != NULL ? g_unix_fd_list_get_length(fd_list) : 0;
	gboolean follow = FALSE;
	gboolean ok;
	GVariantIter iter;
	const gchar *key;
	GVariant *value;
	gint fd;

	g_variant_iter_init(&iter, options);
	while (g_variant_iter_next(&iter, "{&sv}", &key, &value)) {
		g_autoptr(GVariant) v = value;
		if (g_strcmp0(key, "follow") == 0 &&
		    g_variant_is_of_type(v, G_VARIANT_TYPE_BOOLEAN)) {
			follow = g_variant_get_boolean(v);
			continue;
		}
		g_dbus_method_invocation_return_error(
		    invocation, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
		    "unknown option '%.64s' (known: follow (b))", key);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	if (g_strcmp0(which, "console") != 0 && g_strcmp0(which, "events") != 0) {
		g_dbus_method_invocation_return_error(
		    invocation, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
		    "unknown log '%.64s' (known: console, events)", which);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	if (index < 0 || index >= n) {
		g_dbus_method_invocation_return_error(
		    invocation, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
		    "handle %d does not name one of the %d passed file descriptors", index, n);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	fd = g_unix_fd_list_get(fd_list, index, &error);
	if (fd < 0) {
		g_dbus_method_invocation_return_error(
		    invocation, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT, "%s", error->message);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	if (g_strcmp0(which, "events") == 0)
		ok = sbx_event_log_stream(self->events, fd, follow && !self->finished, &error);
	else
		ok = stream_console(self, fd, follow, &error);
	/* the sink has its own handle: the reader sees EOF when the sink closes */
	close(fd);
	if (!ok) {
		g_dbus_method_invocation_return_error(
		    invocation, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT, "%s", error->message);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	sbx_sandbox_debug(self->id, "sandbox %s: ReadLog %s%s", self->id, which,
			  follow ? " (follow)" : "");
	sbx_dbus_sandbox1_complete_read_log(iface, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

void
sbx_sandbox_logs_setup(SbxSandbox *self)
{
	self->events = sbx_event_log_new();
	self->console_readers = g_ptr_array_new_with_free_func((GDestroyNotify)reader_free);
	g_signal_connect_object(self->iface, "handle-read-log", G_CALLBACK(handle_read_log), self,
				0);
}

/* one small read of a local file, before the backend deletes it */
void
sbx_sandbox_logs_keep_console(SbxSandbox *self)
{
	g_autofree gchar *path = g_build_filename(self->run_dir, "console.log", NULL);
	g_autofree guint8 *buf = g_malloc(SBX_CONSOLE_KEEP_BYTES);
	gint fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	gssize n = 0;
	off_t end;

	if (self->console_tail != NULL)
		return;
	if (fd < 0) {
		self->console_tail = g_bytes_new(NULL, 0);
		return;
	}
	end = lseek(fd, 0, SEEK_END);
	if (end > SBX_CONSOLE_KEEP_BYTES)
		lseek(fd, end - SBX_CONSOLE_KEEP_BYTES, SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	while (n < SBX_CONSOLE_KEEP_BYTES) {
		gssize r = read(fd, buf + n, SBX_CONSOLE_KEEP_BYTES - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += r;
	}
	close(fd);
	self->console_tail = g_bytes_new(buf, n);
}

/* the sandbox is gone: followers read what is left, then EOF */
void
sbx_sandbox_logs_stop(SbxSandbox *self)
{
	g_autoptr(GPtrArray) readers = NULL;

	sbx_event_log_close(self->events);
	readers = g_ptr_array_copy(self->console_readers, NULL, NULL);
	/* the copy only borrows: the sandbox's array frees them */
	g_ptr_array_set_free_func(readers, NULL);
	for (guint i = 0; i < readers->len; i++) {
		SbxConsoleReader *reader = g_ptr_array_index(readers, i);
		reader->follow = FALSE;
		if (reader->timer_id != 0) {
			g_clear_handle_id(&reader->timer_id, g_source_remove);
			reader_pump(reader);
		}
	}
}

void
sbx_sandbox_logs_free(SbxSandbox *self)
{
	g_clear_pointer(&self->console_readers, g_ptr_array_unref);
	g_clear_pointer(&self->events, sbx_event_log_free);
	g_clear_pointer(&self->console_tail, g_bytes_unref);
	g_clear_object(&self->store);
	g_clear_pointer(&self->backend_name, g_free);
	g_clear_pointer(&self->region, g_free);
}
