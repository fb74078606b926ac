/* a sandbox's event log: a bounded ring of one-line events (created,
 * running, exec started/ended, expiring, crashed, destroyed, ...) that
 * readers copy into an fd, optionally following new events.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SBX_EVENT_LOG_MAX_EVENTS 512
#define SBX_EVENT_LOG_MAX_LINE 1024

typedef struct _SbxEventLog SbxEventLog;

SbxEventLog *sbx_event_log_new(void);
/* "2026-11-27T07:50:01.123456Z <message>\n"; control characters become '?' */
void sbx_event_log_add(SbxEventLog *self, const gchar *format, ...) G_GNUC_PRINTF(2, 3);
/* copies the ring into @fd (borrowed); with @follow, new events too until
 * sbx_event_log_close(), then the daemon's copy of @fd is closed (EOF) */
gboolean sbx_event_log_stream(SbxEventLog *self, gint fd, gboolean follow, GError **error);
/* the sandbox is gone: followers get the rest and EOF; later streams get
 * the ring and EOF at once */
void sbx_event_log_close(SbxEventLog *self);
/* also appends every event to @path (the sandbox's run folder, so it
 * survives a daemon restart with the sandbox); with @load, the end of an
 * existing file (the last SBX_EVENT_LOG_MAX_EVENTS lines) is read into the
 * ring first. Small appends to a local file: never long. */
void sbx_event_log_set_file(SbxEventLog *self, const gchar *path, gboolean load);
/* the ring as one string (tests, debugging) */
gchar *sbx_event_log_dup_text(SbxEventLog *self);
void sbx_event_log_free(SbxEventLog *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxEventLog, sbx_event_log_free)

G_END_DECLS
