/* sandboxd guest agent: parsing and validation of EXEC requests.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdlib.h>
#include <string.h>

#include "sbx-agent.h"

static const char *const base_env[] = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME=/root",
};

typedef struct {
	const uint8_t *p;
	uint32_t len;
	uint32_t pos;
} Reader;

static bool
read_u32(Reader *r, uint32_t *v)
{
	if (r->len - r->pos < 4)
		return false;
	*v = sbx_proto_get_u32(r->p + r->pos);
	r->pos += 4;
	return true;
}

/* a string: u32 length, bytes, no NUL inside; returned NUL-terminated */
static bool
read_string(Reader *r, char **out, const char **why)
{
	uint32_t n;
	if (!read_u32(r, &n)) {
		*why = "truncated string length";
		return false;
	}
	if (n > SBX_PROTO_MAX_STRING) {
		*why = "string longer than the maximum";
		return false;
	}
	if (r->len - r->pos < n) {
		*why = "truncated string";
		return false;
	}
	if (memchr(r->p + r->pos, '\0', n) != NULL) {
		*why = "string contains a NUL byte";
		return false;
	}
	char *s = malloc((size_t)n + 1);
	if (s == NULL) {
		*why = "out of memory";
		return false;
	}
	memcpy(s, r->p + r->pos, n);
	s[n] = '\0';
	r->pos += n;
	*out = s;
	return true;
}

static void
strv_free(char **v)
{
	if (v == NULL)
		return;
	for (char **i = v; *i != NULL; i++)
		free(*i);
	free(v);
}

void
sbx_exec_spec_free(SbxExecSpec *spec)
{
	strv_free(spec->argv);
	strv_free(spec->envp);
	free(spec->cwd);
	free(spec->user);
	memset(spec, 0, sizeof(*spec));
}

/* replaces an entry with the same key, or appends; takes @entry */
static void
env_set(char **envp, size_t *n, char *entry)
{
	size_t klen = (size_t)(strchr(entry, '=') - entry);
	for (size_t i = 0; i < *n; i++) {
		if (strncmp(envp[i], entry, klen + 1) == 0) {
			free(envp[i]);
			envp[i] = entry;
			return;
		}
	}
	envp[(*n)++] = entry;
}

bool
sbx_exec_spec_parse(const uint8_t *p, uint32_t len, SbxExecSpec *spec, const char **why)
{
	Reader r = {.p = p, .len = len, .pos = 0};
	uint32_t argc, envc;

	memset(spec, 0, sizeof(*spec));
	if (!read_u32(&r, &spec->flags) || !read_u32(&r, &spec->stdout_window) ||
	    !read_u32(&r, &spec->stderr_window) || !read_u32(&r, &spec->uid) ||
	    !read_u32(&r, &spec->gid) || !read_u32(&r, &spec->timeout_ms)) {
		*why = "truncated EXEC header";
		return false;
	}
	if ((spec->flags & ~(uint32_t)0x1ff) != 0) {
		*why = "unknown EXEC flags";
		return false;
	}
	if ((spec->flags & SBX_EXEC_SET_USER) &&
	    (spec->uid == UINT32_MAX || spec->gid == UINT32_MAX)) {
		*why = "invalid uid or gid";
		return false;
	}

	if (!read_u32(&r, &argc)) {
		*why = "truncated argc";
		return false;
	}
	/* each string takes at least 4 bytes: bounds the allocation too */
	if (argc < 1 || argc > SBX_PROTO_MAX_ARGS || argc > (len - r.pos) / 4) {
		*why = "argc out of range";
		return false;
	}
	spec->argv = calloc((size_t)argc + 1, sizeof(char *));
	if (spec->argv == NULL) {
		*why = "out of memory";
		return false;
	}
	for (uint32_t i = 0; i < argc; i++) {
		if (!read_string(&r, &spec->argv[i], why)) {
			sbx_exec_spec_free(spec);
			return false;
		}
	}
	if (spec->argv[0][0] == '\0') {
		*why = "empty argv[0]";
		sbx_exec_spec_free(spec);
		return false;
	}

	if (!read_u32(&r, &envc) || envc > SBX_PROTO_MAX_ENV || envc > (len - r.pos) / 4) {
		*why = "envc out of range";
		sbx_exec_spec_free(spec);
		return false;
	}
	size_t n_base = (spec->flags & SBX_EXEC_CLEAR_ENV) ? 0 : 2;
	size_t n_ident = (spec->flags & SBX_EXEC_CLEAR_ENV) ? 0 : sbx_identity_envc;
	size_t n = 0;
	spec->envp = calloc(n_base + n_ident + envc + 1, sizeof(char *));
	if (spec->envp == NULL) {
		*why = "out of memory";
		sbx_exec_spec_free(spec);
		return false;
	}
	for (size_t i = 0; i < n_base; i++)
		spec->envp[n++] = strdup(base_env[i]);
	/* the sandbox's env from IDENTITY, overridable per process */
	for (size_t i = 0; i < n_ident; i++)
		env_set(spec->envp, &n, strdup(sbx_identity_env[i]));
	for (uint32_t i = 0; i < envc; i++) {
		char *e = NULL;
		if (!read_string(&r, &e, why)) {
			sbx_exec_spec_free(spec);
			return false;
		}
		char *eq = strchr(e, '=');
		if (eq == NULL || eq == e) {
			free(e);
			*why = "environment entry is not KEY=VALUE";
			sbx_exec_spec_free(spec);
			return false;
		}
		env_set(spec->envp, &n, e);
	}

	if (!read_string(&r, &spec->cwd, why)) {
		sbx_exec_spec_free(spec);
		return false;
	}
	if ((spec->flags & SBX_EXEC_PTY) &&
	    (!read_u32(&r, &spec->rows) || !read_u32(&r, &spec->cols))) {
		*why = "truncated terminal size";
		sbx_exec_spec_free(spec);
		return false;
	}
	if (spec->flags & SBX_EXEC_USER_NAME) {
		if (!read_string(&r, &spec->user, why)) {
			sbx_exec_spec_free(spec);
			return false;
		}
		if (spec->user[0] == '\0' || strlen(spec->user) > 255) {
			*why = "user name empty or too long";
			sbx_exec_spec_free(spec);
			return false;
		}
	}
	if (r.pos != len) {
		*why = "trailing bytes after EXEC payload";
		sbx_exec_spec_free(spec);
		return false;
	}
	return true;
}
