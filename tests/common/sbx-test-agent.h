/* the guest side for the agent client's tests: the real sandboxd-agent in
 * its host mode (`--listen PATH`, $SBX_AGENT) with a connected, handshaken
 * SbxAgentClient, and pipes that drain and feed from the main loop.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "sbx-agent-client.h"

G_BEGIN_DECLS

typedef struct {
	GSubprocess *agent;
	gchar *dir;
	gchar *path; /* its socket */
	SbxAgentClient *client;
} SbxTestAgent;

typedef struct {
	gboolean done;
	GAsyncResult *res;
} SbxTestWait;

/* collects what arrives on a pipe's read end */
typedef struct {
	gint fd;
	GString *text; /* NULL: only checksum */
	GChecksum *sum;
	gsize len;
	gboolean eof;
	guint id;
} SbxTestDrain;

/* feeds bytes into a pipe's write end from the main loop, then closes it */
typedef struct {
	gint fd;
	GBytes *data;
	gsize off;
	guint id; /* 0 once done */
} SbxTestFeed;

/* an async result, waited for in the default main context */
void sbx_test_wait_cb(GObject *source, GAsyncResult *res, gpointer user_data);
void sbx_test_wait_done(SbxTestWait *w);

/* returns the write end for an exec; the read end is drained here */
gint sbx_test_drain_start(SbxTestDrain *d, gboolean text);
/* until EOF */
void sbx_test_drain_finish(SbxTestDrain *d);
void sbx_test_drain_clear(SbxTestDrain *d);

/* returns the read end for an exec; @data is written from the main loop */
gint sbx_test_feed_start(SbxTestFeed *f, GBytes *data);

/* the agent in a new folder (killed if the test dies) and fx->client */
void sbx_test_agent_start(SbxTestAgent *fx);
void sbx_test_agent_stop(SbxTestAgent *fx);

G_END_DECLS
