/* cloud-hypervisor backend: the event monitor, read from a pipe
 * (pretty-printed JSON objects, each followed by a blank line).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* the largest event kept: anything bigger is dropped up to the next blank line */
#define SBX_CH_EVENTS_MAX (64 * 1024)

/* @source/@event, e.g. "vm"/"booted"; @properties may be %NULL. Called with
 * @source %NULL once the pipe is closed (the VMM is gone). */
typedef void (*SbxChEventsFunc)(const gchar *source, const gchar *event, JsonObject *properties,
				gpointer user_data);

typedef struct _SbxChEvents SbxChEvents;

/* takes @fd, the read end of the pipe; starts reading on the thread-default context */
SbxChEvents *sbx_ch_events_new(gint fd, SbxChEventsFunc func, gpointer user_data);
/* parses @len bytes as if read from the pipe (the tests feed it by hand) */
void sbx_ch_events_feed(SbxChEvents *self, const gchar *data, gsize len);
/* stops reading; no callback after this */
void sbx_ch_events_free(SbxChEvents *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxChEvents, sbx_ch_events_free)

G_END_DECLS
