/* rbd volume backend: a librados connection and what clients need to know
 * about the cluster. Everything here blocks: call it from worker threads.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <rados/librados.h>

G_BEGIN_DECLS

typedef struct {
	gchar *ceph_conf; /* NULL: librados' default search path */
	gchar *pool;
	gchar *client_id; /* without "client." */
	gchar *keyring;	  /* NULL: from ceph.conf */
	guint timeout_sec;
} SbxRbdSettings;

/* one connected cluster handle with the pool's io context; shared by
 * threads, freed by the last unref */
typedef struct {
	gatomicrefcount ref;
	rados_t cluster;
	rados_ioctx_t ioctx;
	gchar **monitors; /* "host:port" */
	gchar *key;	  /* base64 cephx key */
} SbxRbdConn;

SbxRbdConn *sbx_rbd_conn_connect(const SbxRbdSettings *settings, GError **error);
SbxRbdConn *sbx_rbd_conn_ref(SbxRbdConn *conn);
void sbx_rbd_conn_unref(SbxRbdConn *conn);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxRbdConn, sbx_rbd_conn_unref)

/* a negative errno from librados/librbd as a G_IO_ERROR */
void sbx_rbd_conn_set_error(GError **error, gint r, const gchar *format, ...) G_GNUC_PRINTF(3, 4);
/* whether @r means the cluster stopped answering: drop the connection */
gboolean sbx_rbd_conn_error_is_connection(gint r);

/* exported for the unit test */
gchar **sbx_rbd_conn_parse_mon_host(const gchar *mon_host);
gchar *sbx_rbd_conn_keyring_find_key(const gchar *contents, const gchar *entity);

G_END_DECLS
