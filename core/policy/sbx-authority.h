/* who may use a sandbox: the uid that created it, root, or a caller that
 * polkit authorizes for org.sandboxd.manage-all.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define SBX_POLKIT_ACTION_MANAGE_ALL "org.sandboxd.manage-all"
/* owner of sandboxes made over a peer-to-peer connection (no bus, no uid) */
#define SBX_UID_UNKNOWN G_MAXUINT
/* a bus caller that was never identified: owns nothing, matches no owner */
#define SBX_UID_NOBODY (G_MAXUINT - 1)

#define SBX_TYPE_AUTHORITY (sbx_authority_get_type())
G_DECLARE_FINAL_TYPE(SbxAuthority, sbx_authority, SBX, AUTHORITY, GObject)

/* @use_polkit: ask polkit (on the system bus) about callers that are neither
 * the owner nor root; without it only root manages everything */
SbxAuthority *sbx_authority_new(gboolean use_polkit);
gboolean sbx_authority_get_use_polkit(SbxAuthority *self);
/* the daemon's one authority (made without polkit on first use); main()
 * turns polkit on when it is on the system bus */
SbxAuthority *sbx_authority_get_default(void);
void sbx_authority_set_use_polkit(SbxAuthority *self, gboolean use_polkit);

/* every method call on every interface of @object, present or added later,
 * fails with org.sandboxd.Error.AccessDenied unless the caller is
 * @owner_uid, root or a polkit admin. The check runs in a worker thread
 * (GDBusObjectSkeleton::authorize-method), never in the main loop. */
void sbx_authority_guard_object(SbxAuthority *self, GDBusObjectSkeleton *object, guint owner_uid);
/* the same, with the owner read at each call from the object's
 * org.sandboxd.Sandbox1 OwnerUid property (0, root only, until it is set) */
void sbx_authority_guard_sandbox_object(SbxAuthority *self, GDBusObjectSkeleton *object);

/* every method call on @iface learns its caller's uid (and, except for
 * CreateSandbox and ListRegions, whether it is an admin) in a worker thread
 * before its handler runs; read them with the two functions below */
void sbx_authority_identify_calls(SbxAuthority *self, GDBusInterfaceSkeleton *iface);
/* what sbx_authority_identify_calls() runs for each call (worker thread):
 * looks up the caller's uid (and admin) on the bus; when that fails the call
 * is answered with AccessDenied and FALSE returned (fail closed) */
gboolean sbx_authority_identify_call(SbxAuthority *self, GDBusMethodInvocation *invocation);
/* the uid identified for the call; SBX_UID_UNKNOWN for a peer-to-peer call,
 * SBX_UID_NOBODY for a bus call that was not identified */
guint sbx_authority_get_caller_uid(GDBusMethodInvocation *invocation);
/* root, or polkit said yes */
gboolean sbx_authority_get_caller_is_admin(GDBusMethodInvocation *invocation);

/* the rule itself */
gboolean sbx_authority_may_access(guint caller_uid, gboolean caller_is_admin, guint owner_uid);

G_END_DECLS
