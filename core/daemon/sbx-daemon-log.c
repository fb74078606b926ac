/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <stdio.h>

#include "sbx-daemon-log.h"

static gboolean log_verbose = FALSE;
static gboolean log_use_journal = FALSE;

static const gchar *
level_to_string(GLogLevelFlags level)
{
	if (level & G_LOG_LEVEL_ERROR)
		return "error";
	if (level & G_LOG_LEVEL_CRITICAL)
		return "critical";
	if (level & G_LOG_LEVEL_WARNING)
		return "warning";
	if (level & G_LOG_LEVEL_MESSAGE)
		return "notice";
	if (level & G_LOG_LEVEL_INFO)
		return "info";
	return "debug";
}

static GLogWriterOutput
log_writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
	const gchar *message = NULL;
	const gchar *sandbox_id = NULL;
	const gchar *domain = NULL;
	g_autoptr(GString) line = NULL;

	if (!log_verbose && (level & G_LOG_LEVEL_DEBUG))
		return G_LOG_WRITER_HANDLED;
	if (log_use_journal &&
	    g_log_writer_journald(level, fields, n_fields, user_data) == G_LOG_WRITER_HANDLED)
		return G_LOG_WRITER_HANDLED;

	for (gsize i = 0; i < n_fields; i++) {
		if (g_strcmp0(fields[i].key, "MESSAGE") == 0)
			message = fields[i].value;
		else if (g_strcmp0(fields[i].key, "SANDBOX_ID") == 0)
			sandbox_id = fields[i].value;
		else if (g_strcmp0(fields[i].key, "GLIB_DOMAIN") == 0)
			domain = fields[i].value;
	}
	line = g_string_new(domain != NULL ? domain : "sandboxd");
	g_string_append_printf(line, ": %s: ", level_to_string(level));
	if (sandbox_id != NULL)
		g_string_append_printf(line, "[%s] ", sandbox_id);
	g_string_append(line, message != NULL ? message : "(no message)");
	g_string_append_c(line, '\n');
	fputs(line->str, stderr);
	fflush(stderr);
	return G_LOG_WRITER_HANDLED;
}

void
sbx_daemon_log_init(gboolean verbose)
{
	log_verbose = verbose;
	log_use_journal = g_log_writer_is_journald(fileno(stderr));
	g_log_set_writer_func(log_writer, NULL, NULL);
}
