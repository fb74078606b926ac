/* the org.sandboxd.Error domain: what D-Bus callers see.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define SBX_ERROR (sbx_error_quark())

/* keep in sync with the table in sbx-error.c and docs/dbus-api.md */
typedef enum {
	SBX_ERROR_FAILED,	     /* org.sandboxd.Error.Failed */
	SBX_ERROR_INVALID_ARGUMENT,  /* org.sandboxd.Error.InvalidArgument */
	SBX_ERROR_NOT_FOUND,	     /* org.sandboxd.Error.NotFound */
	SBX_ERROR_ACCESS_DENIED,     /* org.sandboxd.Error.AccessDenied */
	SBX_ERROR_LIMIT_EXCEEDED,    /* org.sandboxd.Error.LimitExceeded */
	SBX_ERROR_NOT_RUNNING,	     /* org.sandboxd.Error.NotRunning */
	SBX_ERROR_SANDBOX_GONE,	     /* org.sandboxd.Error.SandboxGone */
	SBX_ERROR_BACKEND,	     /* org.sandboxd.Error.Backend */
	SBX_ERROR_AGENT,	     /* org.sandboxd.Error.Agent */
	SBX_ERROR_PROTOCOL,	     /* org.sandboxd.Error.Protocol: the guest broke the protocol */
	SBX_ERROR_TIMEOUT,	     /* org.sandboxd.Error.Timeout */
	SBX_ERROR_CONFIG,	     /* org.sandboxd.Error.Config */
	SBX_ERROR_PLUGIN,	     /* org.sandboxd.Error.Plugin */
	SBX_ERROR_PERMISSION_DENIED, /* org.sandboxd.Error.PermissionDenied (guest EACCES, EPERM) */
	SBX_ERROR_NOT_A_DIRECTORY,   /* org.sandboxd.Error.NotADirectory */
	SBX_ERROR_IS_A_DIRECTORY,    /* org.sandboxd.Error.IsADirectory */
	SBX_ERROR_ALREADY_EXISTS,    /* org.sandboxd.Error.AlreadyExists */
	SBX_ERROR_NO_SPACE,	     /* org.sandboxd.Error.NoSpace (guest ENOSPC, EDQUOT) */
	SBX_ERROR_NOT_EMPTY,	     /* org.sandboxd.Error.NotEmpty */
	SBX_ERROR_UNKNOWN_REGION,    /* org.sandboxd.Error.UnknownRegion */
	SBX_ERROR_NOT_SUPPORTED,     /* org.sandboxd.Error.NotSupported */
	SBX_ERROR_VOLUME_ATTACHED,   /* org.sandboxd.Error.VolumeAttached (attached or locked) */
	SBX_ERROR_VOLUME_IN_USE,     /* org.sandboxd.Error.VolumeInUse (a snapshot with clones) */
	SBX_ERROR_TIMED_OUT,	     /* org.sandboxd.Error.TimedOut: Exec past its "timeout" */
	SBX_ERROR_CAPACITY,	     /* org.sandboxd.Error.Capacity: the create queue is full */
	SBX_ERROR_INVALID_TOKEN,     /* org.sandboxd.Error.InvalidToken: unknown or revoked */
	SBX_ERROR_CONNECTION_REFUSED, /* org.sandboxd.Error.ConnectionRefused (guest ECONNREFUSED)
				       */
	SBX_ERROR_UNREACHABLE, /* org.sandboxd.Error.Unreachable (guest ENETUNREACH, EHOSTUNREACH)
				*/
	SBX_ERROR_LAST,
} SbxError;

GQuark sbx_error_quark(void);

/* the SbxError for a guest filesystem errno (ENOENT -> NOT_FOUND, ...;
 * anything unlisted -> FAILED) */
gint sbx_error_code_from_errno(gint err);

G_END_DECLS
