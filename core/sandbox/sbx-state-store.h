/* the state directory: one small JSON file per sandbox, enough to re-adopt
 * it after a daemon restart or crash.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define SBX_STATE_FORMAT_VERSION 1
/* a record file is never larger than this (env and labels are bounded) */
#define SBX_STATE_FILE_MAX (1024 * 1024)

/* what a restarted daemon needs to take a sandbox back */
typedef struct {
	gchar *id;
	guint owner_uid;
	gchar *image;
	guint memory_mib;
	guint vcpus;
	GHashTable *env;    /* name -> value */
	GHashTable *labels; /* key -> value */
	gchar *region;	    /* NULL when regions are not in use */
	gchar *backend;	    /* backend (plugin) name */
	gint64 created_at;  /* µs since the epoch */
	guint timeout_sec;  /* 0 = session-bound */
	gint64 expires_at;  /* µs since the epoch, 0 for session sandboxes */
	gchar *run_dir;
	/* SbxVolumeRequest (ref = the volume id): its attachments, taken again
	 * before it is re-adopted so no one else can write its volumes meanwhile */
	GPtrArray *volumes;
	/* the allow_net entries (normalized), NULL when unset; re-installed in
	 * the firewall before the sandbox is re-adopted */
	gchar **allow_net;
} SbxStateRecord;

SbxStateRecord *sbx_state_store_record_new(void);
void sbx_state_store_record_free(SbxStateRecord *rec);
gchar *sbx_state_store_record_to_json(const SbxStateRecord *rec);
/* validates everything: the file is trusted no more than any input */
SbxStateRecord *sbx_state_store_record_from_json(const gchar *data, gssize len, GError **error);

#define SBX_TYPE_STATE_STORE (sbx_state_store_get_type())
G_DECLARE_FINAL_TYPE(SbxStateStore, sbx_state_store, SBX, STATE_STORE, GObject)

/* creates @dir (mode 0700, root-only) if needed and tightens its mode */
SbxStateStore *sbx_state_store_new(const gchar *dir, GError **error);
const gchar *sbx_state_store_get_dir(SbxStateStore *self);

/* queued to one worker thread, in order: the main loop never waits on disk */
void sbx_state_store_save(SbxStateStore *self, const SbxStateRecord *rec);
void sbx_state_store_remove(SbxStateStore *self, const gchar *id);
/* waits until every queued write is done (tests, shutdown) */
void sbx_state_store_flush(SbxStateStore *self);

/* every readable record (startup only: blocking). Unreadable or invalid
 * files are logged and their ids returned in @bad_ids (may be NULL) so the
 * caller can clean up after them. */
GPtrArray *sbx_state_store_load_all(SbxStateStore *self, GPtrArray *bad_ids);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxStateRecord, sbx_state_store_record_free)

G_END_DECLS
