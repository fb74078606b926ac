/* error mapping: the original message, the SDK's class, the errno name as code.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "sbx-gw-error.h"

typedef struct {
	const gchar *dbus_name; /* after "org.sandboxd.Error." */
	const gchar *constructor;
	const gchar *code;
	guint http_status;
	const gchar *http_code;
} SbxGwErrorMap;

static const SbxGwErrorMap error_map[] = {
    {"NotFound", "NotFound", "ENOENT", 404, "NOT_FOUND"},
    {"AlreadyExists", "AlreadyExists", "EEXIST", 409, "ALREADY_EXISTS"},
    {"PermissionDenied", "PermissionDenied", "EACCES", 403, "PERMISSION_DENIED"},
    {"AccessDenied", "PermissionDenied", "EPERM", 403, "PERMISSION_DENIED"},
    {"NotADirectory", "NotADirectory", "ENOTDIR", 400, "NOT_A_DIRECTORY"},
    {"IsADirectory", "IsADirectory", "EISDIR", 400, "IS_A_DIRECTORY"},
    {"NotEmpty", "Error", "ENOTEMPTY", 409, "NOT_EMPTY"},
    {"NoSpace", "Error", "ENOSPC", 507, "NO_SPACE"},
    {"InvalidArgument", "TypeError", "EINVAL", 400, "INVALID_ARGUMENT"},
    {"LimitExceeded", "Error", "ELIMIT", 429, "LIMIT_EXCEEDED"},
    {"NotSupported", "NotSupported", "ENOTSUP", 400, "NOT_SUPPORTED"},
    {"Timeout", "TimedOut", "ETIMEDOUT", 504, "TIMED_OUT"},
    {"NotRunning", "BadResource", "ESRCH", 409, "SANDBOX_NOT_RUNNING"},
    {"SandboxGone", "BadResource", "ESRCH", 410, "SANDBOX_GONE"},
    {"VolumeAttached", "Busy", "EBUSY", 409, "VOLUME_ATTACHED"},
    {"VolumeInUse", "Busy", "EBUSY", 409, "VOLUME_IN_USE"},
    {"UnknownRegion", "TypeError", "EINVAL", 400, "UNKNOWN_REGION"},
    {"InvalidToken", "PermissionDenied", "EACCES", 401, "INVALID_TOKEN"},
    {"Capacity", "Error", "EAGAIN", 429, "CAPACITY"},
    {"ConnectionRefused", "ConnectionRefused", "ECONNREFUSED", 502, "CONNECTION_REFUSED"},
    {"Unreachable", "Error", "ENETUNREACH", 502, "UNREACHABLE"},
};

JsonNode *
sbx_gw_error_object_new(const gchar *constructor_name, const gchar *message, const gchar *code)
{
	g_autoptr(JsonBuilder) b = json_builder_new_immutable();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "constructorName");
	json_builder_add_string_value(b, constructor_name);
	json_builder_set_member_name(b, "message");
	json_builder_add_string_value(b, message);
	json_builder_set_member_name(b, "code");
	if (code != NULL)
		json_builder_add_string_value(b, code);
	else
		json_builder_add_null_value(b);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

static const SbxGwErrorMap *
lookup(const GError *error)
{
	g_autofree gchar *remote = g_dbus_error_get_remote_error(error);
	const gchar *name;

	if (remote == NULL || !g_str_has_prefix(remote, "org.sandboxd.Error."))
		return NULL;
	name = remote + strlen("org.sandboxd.Error.");
	for (guint i = 0; i < G_N_ELEMENTS(error_map); i++) {
		if (g_strcmp0(error_map[i].dbus_name, name) == 0)
			return &error_map[i];
	}
	return NULL;
}

/* the gateway's own errors use GIOErrorEnum */
static const SbxGwErrorMap *
lookup_io(const GError *error)
{
	static const struct {
		gint io_code;
		const gchar *dbus_name;
	} io_map[] = {
	    {G_IO_ERROR_NOT_FOUND, "NotFound"},
	    {G_IO_ERROR_EXISTS, "AlreadyExists"},
	    {G_IO_ERROR_PERMISSION_DENIED, "PermissionDenied"},
	    {G_IO_ERROR_INVALID_ARGUMENT, "InvalidArgument"},
	    {G_IO_ERROR_NOT_SUPPORTED, "NotSupported"},
	    {G_IO_ERROR_TOO_MANY_OPEN_FILES, "LimitExceeded"},
	    {G_IO_ERROR_MESSAGE_TOO_LARGE, "LimitExceeded"},
	    {G_IO_ERROR_TIMED_OUT, "Timeout"},
	    {G_IO_ERROR_CLOSED, "SandboxGone"},
	};
	if (error->domain != G_IO_ERROR)
		return NULL;
	for (guint i = 0; i < G_N_ELEMENTS(io_map); i++) {
		if (io_map[i].io_code != error->code)
			continue;
		for (guint j = 0; j < G_N_ELEMENTS(error_map); j++) {
			if (g_strcmp0(error_map[j].dbus_name, io_map[i].dbus_name) == 0)
				return &error_map[j];
		}
	}
	return NULL;
}

static gchar *
plain_message(const GError *error)
{
	g_autoptr(GError) copy = g_error_copy(error);
	g_dbus_error_strip_remote_error(copy);
	return g_strdup(copy->message);
}

JsonNode *
sbx_gw_error_to_json(const GError *error)
{
	const SbxGwErrorMap *map = lookup(error);
	g_autofree gchar *message = plain_message(error);

	if (map == NULL)
		map = lookup_io(error);
	if (map == NULL)
		return sbx_gw_error_object_new("Error", message, NULL);
	return sbx_gw_error_object_new(map->constructor, message, map->code);
}

guint
sbx_gw_error_http_status(const GError *error, const gchar **code)
{
	const SbxGwErrorMap *map = lookup(error);

	if (map == NULL)
		map = lookup_io(error);
	if (map == NULL) {
		*code = "INTERNAL_ERROR";
		return 500;
	}
	*code = map->http_code;
	return map->http_status;
}
