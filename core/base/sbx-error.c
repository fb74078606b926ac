/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "sbx-error.h"

static const GDBusErrorEntry sbx_error_entries[] = {
    {SBX_ERROR_FAILED, "org.sandboxd.Error.Failed"},
    {SBX_ERROR_INVALID_ARGUMENT, "org.sandboxd.Error.InvalidArgument"},
    {SBX_ERROR_NOT_FOUND, "org.sandboxd.Error.NotFound"},
    {SBX_ERROR_ACCESS_DENIED, "org.sandboxd.Error.AccessDenied"},
    {SBX_ERROR_LIMIT_EXCEEDED, "org.sandboxd.Error.LimitExceeded"},
    {SBX_ERROR_NOT_RUNNING, "org.sandboxd.Error.NotRunning"},
    {SBX_ERROR_SANDBOX_GONE, "org.sandboxd.Error.SandboxGone"},
    {SBX_ERROR_BACKEND, "org.sandboxd.Error.Backend"},
    {SBX_ERROR_AGENT, "org.sandboxd.Error.Agent"},
    {SBX_ERROR_PROTOCOL, "org.sandboxd.Error.Protocol"},
    {SBX_ERROR_TIMEOUT, "org.sandboxd.Error.Timeout"},
    {SBX_ERROR_TIMED_OUT, "org.sandboxd.Error.TimedOut"},
    {SBX_ERROR_CONFIG, "org.sandboxd.Error.Config"},
    {SBX_ERROR_PLUGIN, "org.sandboxd.Error.Plugin"},
    {SBX_ERROR_PERMISSION_DENIED, "org.sandboxd.Error.PermissionDenied"},
    {SBX_ERROR_NOT_A_DIRECTORY, "org.sandboxd.Error.NotADirectory"},
    {SBX_ERROR_IS_A_DIRECTORY, "org.sandboxd.Error.IsADirectory"},
    {SBX_ERROR_ALREADY_EXISTS, "org.sandboxd.Error.AlreadyExists"},
    {SBX_ERROR_NO_SPACE, "org.sandboxd.Error.NoSpace"},
    {SBX_ERROR_NOT_EMPTY, "org.sandboxd.Error.NotEmpty"},
    {SBX_ERROR_UNKNOWN_REGION, "org.sandboxd.Error.UnknownRegion"},
    {SBX_ERROR_NOT_SUPPORTED, "org.sandboxd.Error.NotSupported"},
    {SBX_ERROR_VOLUME_ATTACHED, "org.sandboxd.Error.VolumeAttached"},
    {SBX_ERROR_VOLUME_IN_USE, "org.sandboxd.Error.VolumeInUse"},
    {SBX_ERROR_CAPACITY, "org.sandboxd.Error.Capacity"},
    {SBX_ERROR_INVALID_TOKEN, "org.sandboxd.Error.InvalidToken"},
    {SBX_ERROR_CONNECTION_REFUSED, "org.sandboxd.Error.ConnectionRefused"},
    {SBX_ERROR_UNREACHABLE, "org.sandboxd.Error.Unreachable"},
};
G_STATIC_ASSERT(G_N_ELEMENTS(sbx_error_entries) == SBX_ERROR_LAST);

GQuark
sbx_error_quark(void)
{
	static gsize quark = 0;
	g_dbus_error_register_error_domain("sbx-error-quark", &quark, sbx_error_entries,
					   G_N_ELEMENTS(sbx_error_entries));
	return (GQuark)quark;
}

gint
sbx_error_code_from_errno(gint err)
{
	switch (err) {
	case ENOENT:
		return SBX_ERROR_NOT_FOUND;
	case EACCES:
	case EPERM:
	case EROFS:
		return SBX_ERROR_PERMISSION_DENIED;
	case ENOTDIR:
		return SBX_ERROR_NOT_A_DIRECTORY;
	case EISDIR:
		return SBX_ERROR_IS_A_DIRECTORY;
	case EEXIST:
		return SBX_ERROR_ALREADY_EXISTS;
	case ENOSPC:
	case EDQUOT:
		return SBX_ERROR_NO_SPACE;
	case ENOTEMPTY:
		return SBX_ERROR_NOT_EMPTY;
	case EINVAL:
	case ENAMETOOLONG:
	case ELOOP:
	case EXDEV:
		return SBX_ERROR_INVALID_ARGUMENT;
	case ECONNREFUSED:
		return SBX_ERROR_CONNECTION_REFUSED;
	case ENETUNREACH:
	case EHOSTUNREACH:
		return SBX_ERROR_UNREACHABLE;
	case ETIMEDOUT:
		return SBX_ERROR_TIMEOUT;
	case EMFILE:
	case ENFILE:
	case EFBIG:
		return SBX_ERROR_LIMIT_EXCEEDED;
	default:
		return SBX_ERROR_FAILED;
	}
}
