/* sandboxd plugin SDK: declaring config keys.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * SbxConfigKeyType:
 * @SBX_CONFIG_STRING: any UTF-8 string
 * @SBX_CONFIG_PATH: an absolute path
 * @SBX_CONFIG_UINT: an unsigned integer in [min, max]
 * @SBX_CONFIG_BOOL: true or false
 * @SBX_CONFIG_ENUM: one of the NULL-terminated @choices
 *
 * Since: 1
 */
typedef enum {
	SBX_CONFIG_STRING,
	SBX_CONFIG_PATH,
	SBX_CONFIG_UINT,
	SBX_CONFIG_BOOL,
	SBX_CONFIG_ENUM,
} SbxConfigKeyType;

/**
 * SbxConfigKey:
 * @name: the key name, CamelCase (e.g. "DomainType")
 * @type: how the value is checked
 * @min: smallest value for %SBX_CONFIG_UINT
 * @max: largest value for %SBX_CONFIG_UINT
 * @choices: allowed values for %SBX_CONFIG_ENUM, NULL-terminated
 *
 * One entry of a config section's schema. A table of these ends with an
 * entry whose @name is %NULL. The core checks every file against the tables
 * before any plugin sees a value, so plugins can read values unchecked.
 *
 * Since: 1
 */
typedef struct {
	const gchar *name;
	SbxConfigKeyType type;
	guint64 min;
	guint64 max;
	const gchar *const *choices;
} SbxConfigKey;

G_END_DECLS
