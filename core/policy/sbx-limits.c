/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <string.h>

#include "sbx-error.h"
#include "sbx-limits.h"

#define SBX_MEMINFO_PATH "/proc/meminfo"

gboolean
sbx_limits_parse_mem_available(const gchar *meminfo, guint64 *mib)
{
	const gchar *line = meminfo;

	while (line != NULL && *line != '\0') {
		if (g_str_has_prefix(line, "MemAvailable:")) {
			const gchar *p = line + strlen("MemAvailable:");
			gchar *end = NULL;
			guint64 kib;
			while (*p == ' ' || *p == '\t')
				p++;
			kib = g_ascii_strtoull(p, &end, 10);
			if (end == p)
				return FALSE;
			*mib = kib / 1024;
			return TRUE;
		}
		line = strchr(line, '\n');
		if (line != NULL)
			line++;
	}
	return FALSE;
}

static gboolean refuse(GError **error, const gchar *format, ...) G_GNUC_PRINTF(2, 3);

static gboolean
refuse(GError **error, const gchar *format, ...)
{
	va_list args;
	g_autofree gchar *message = NULL;
	va_start(args, format);
	message = g_strdup_vprintf(format, args);
	va_end(args);
	g_set_error_literal(error, SBX_ERROR, SBX_ERROR_LIMIT_EXCEEDED, message);
	return FALSE;
}

gboolean
sbx_limits_check_create(SbxConfig *config, SbxLimitsUsage *usage, guint owner_uid, guint memory_mib,
			GError **error)
{
	guint max = sbx_config_get_max_sandboxes(config);
	guint per_user = (guint)sbx_config_get_uint(config, "limits", "MaxSandboxesPerUser");
	guint concurrent = (guint)sbx_config_get_uint(config, "limits", "MaxConcurrentCreates");
	guint queued = (guint)sbx_config_get_uint(config, "limits", "MaxQueuedCreates");
	g_autofree gchar *meminfo = NULL;
	guint64 available = 0;
	guint64 reserve;
	const gchar *check;

	if (usage->n_total >= max)
		return refuse(error, "%u sandboxes exist already, the limit is %u (MaxSandboxes)",
			      usage->n_total, max);
	if (usage->n_owner >= per_user)
		return refuse(error,
			      "uid %u has %u sandboxes already, the limit is %u "
			      "(MaxSandboxesPerUser)",
			      owner_uid, usage->n_owner, per_user);
	/* the starting ones and the queue behind them: beyond both, no capacity */
	if (usage->n_starting >= concurrent + queued) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_CAPACITY,
			    "capacity: %u sandboxes are starting or queued, the limit is %u "
			    "(MaxConcurrentCreates + MaxQueuedCreates); try again when one is up",
			    usage->n_starting, concurrent + queued);
		return FALSE;
	}
	check = sbx_config_get_string(config, "limits", "CheckHostMemory");
	if (usage->resident || g_strcmp0(check, "false") == 0 ||
	    (g_strcmp0(check, "true") != 0 && usage->vms_are_processes))
		return TRUE;
	if (!g_file_get_contents(SBX_MEMINFO_PATH, &meminfo, NULL, NULL) ||
	    !sbx_limits_parse_mem_available(meminfo, &available)) {
		g_debug("cannot read MemAvailable from " SBX_MEMINFO_PATH "; not checking memory");
		return TRUE;
	}
	reserve = sbx_config_get_uint(config, "limits", "HostMemoryReserveMiB");
	/* pooled VMs never make a create fail: they go first (their guest
	 * memory is an upper bound of what they give back) */
	if (available < reserve + usage->starting_mib + memory_mib &&
	    available + usage->pool_mib >= reserve + usage->starting_mib + memory_mib) {
		usage->drain_pool = TRUE;
		return TRUE;
	}
	if (available < reserve + usage->starting_mib + memory_mib)
		return refuse(error,
			      "not enough free host memory for %u MiB: %" G_GUINT64_FORMAT
			      " MiB available, %" G_GUINT64_FORMAT
			      " MiB promised to starting sandboxes, %" G_GUINT64_FORMAT
			      " MiB kept free (HostMemoryReserveMiB)",
			      memory_mib, available, usage->starting_mib, reserve);
	return TRUE;
}

gboolean
sbx_limits_pool_fits(SbxConfig *config, const SbxLimitsUsage *usage, guint pool_extra_mib,
		     guint memory_mib)
{
	const gchar *check = sbx_config_get_string(config, "limits", "CheckHostMemory");
	g_autofree gchar *meminfo = NULL;
	guint64 available = 0;
	guint64 reserve = sbx_config_get_uint(config, "limits", "HostMemoryReserveMiB");

	if (g_strcmp0(check, "false") == 0 ||
	    (g_strcmp0(check, "true") != 0 && usage->vms_are_processes))
		return TRUE;
	if (!g_file_get_contents(SBX_MEMINFO_PATH, &meminfo, NULL, NULL) ||
	    !sbx_limits_parse_mem_available(meminfo, &available))
		return TRUE;
	/* a pooled VM never takes the room of a real sandbox of its size */
	return available >= reserve + usage->starting_mib + pool_extra_mib + memory_mib;
}
