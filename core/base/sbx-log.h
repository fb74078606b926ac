/* structured logging with the sandbox id as a journal field.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

/* @id must not be NULL */
#define sbx_log_sandbox(id, level, ...)                                                            \
	g_log_structured(G_LOG_DOMAIN, level, "SANDBOX_ID", (id), "MESSAGE", __VA_ARGS__)

#define sbx_sandbox_debug(id, ...) sbx_log_sandbox(id, G_LOG_LEVEL_DEBUG, __VA_ARGS__)
#define sbx_sandbox_info(id, ...) sbx_log_sandbox(id, G_LOG_LEVEL_INFO, __VA_ARGS__)
#define sbx_sandbox_message(id, ...) sbx_log_sandbox(id, G_LOG_LEVEL_MESSAGE, __VA_ARGS__)
#define sbx_sandbox_warning(id, ...) sbx_log_sandbox(id, G_LOG_LEVEL_WARNING, __VA_ARGS__)
