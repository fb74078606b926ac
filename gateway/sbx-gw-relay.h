/* copies bytes both ways between two streams, with one bounded buffer per
 * direction, passing on each side's end (EOF) as a half-close.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _SbxGwRelay SbxGwRelay;

/* called once, when both directions ended or one failed; both streams
 * are closed by then */
typedef void (*SbxGwRelayDoneFunc)(gpointer user_data);

/* starts relaying between @a and @b (refs taken); @head, when not NULL,
 * is written to @b before anything read from @a. The relay owns itself
 * until done; cancelling @cancellable (may be NULL) ends it early, and so
 * do @idle_s seconds without a byte either way (0: never). */
void sbx_gw_relay_start(GIOStream *a, GIOStream *b, GBytes *head, GCancellable *cancellable,
			guint idle_s, SbxGwRelayDoneFunc done, gpointer user_data);

G_END_DECLS
