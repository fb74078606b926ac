/* sandboxd guest agent: user names from the guest's /etc/passwd and
 * /etc/group (no NSS: the agent is static and runs before anything else).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <unistd.h>

#include "sbx-agent.h"

/* splits @line at ':' into at most @max fields, in place */
static size_t
split_fields(char *line, char **fields, size_t max)
{
	size_t n = 0;
	char *p = line;
	line[strcspn(line, "\n")] = '\0';
	while (n < max) {
		fields[n++] = p;
		char *c = strchr(p, ':');
		if (c == NULL)
			break;
		*c = '\0';
		p = c + 1;
	}
	return n;
}

static bool
parse_id(const char *s, uint32_t *out)
{
	char *end = NULL;
	if (*s == '\0' || *s == '-' || *s == '+')
		return false;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v >= UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool
member_of(char *list, const char *name)
{
	for (char *save = NULL, *m = strtok_r(list, ",", &save); m != NULL;
	     m = strtok_r(NULL, ",", &save)) {
		if (strcmp(m, name) == 0)
			return true;
	}
	return false;
}

static void
add_groups(SbxUser *user)
{
	FILE *f = fopen("/etc/group", "re");
	if (f == NULL)
		return;
	char line[4096];
	while (fgets(line, sizeof(line), f) != NULL &&
	       user->n_groups < sizeof(user->groups) / sizeof(user->groups[0])) {
		char *fld[4];
		uint32_t gid;
		if (split_fields(line, fld, 4) < 4 || !parse_id(fld[2], &gid) || gid == user->gid ||
		    !member_of(fld[3], user->name))
			continue;
		user->groups[user->n_groups++] = gid;
	}
	fclose(f);
}

bool
sbx_user_lookup(const char *name, SbxUser *user)
{
	uint32_t want_uid = 0;
	bool by_uid = parse_id(name, &want_uid);
	FILE *f = fopen("/etc/passwd", "re");
	char line[4096];
	bool found = false;

	memset(user, 0, sizeof(*user));
	if (f == NULL) {
		/* a numeric uid needs no passwd entry */
		if (!by_uid)
			return false;
		user->uid = user->gid = want_uid;
		snprintf(user->home, sizeof(user->home), "/");
		return true;
	}
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		char *fld[7];
		uint32_t uid, gid;
		if (split_fields(line, fld, 7) < 7 || !parse_id(fld[2], &uid) ||
		    !parse_id(fld[3], &gid))
			continue;
		if (by_uid ? uid != want_uid : strcmp(fld[0], name) != 0)
			continue;
		user->uid = uid;
		user->gid = gid;
		snprintf(user->name, sizeof(user->name), "%s", fld[0]);
		snprintf(user->home, sizeof(user->home), "%s", fld[5][0] ? fld[5] : "/");
		found = true;
	}
	fclose(f);
	if (!found && by_uid) {
		user->uid = user->gid = want_uid;
		snprintf(user->home, sizeof(user->home), "/");
		return true;
	}
	if (!found) {
		errno = ENOENT;
		return false;
	}
	add_groups(user);
	return true;
}

int
sbx_user_act_as(const SbxUser *user, SbxUserScope *scope)
{
	gid_t saved[sizeof(scope->groups) / sizeof(scope->groups[0])];
	gid_t groups[sizeof(user->groups) / sizeof(user->groups[0]) + 1];
	size_t n = 0;
	int n_saved = getgroups((int)(sizeof(saved) / sizeof(saved[0])), saved);

	if (n_saved < 0)
		return errno;
	scope->n_groups = (size_t)n_saved;
	for (size_t i = 0; i < scope->n_groups; i++)
		scope->groups[i] = (uint32_t)saved[i];
	groups[n++] = (gid_t)user->gid;
	for (size_t i = 0; i < user->n_groups && n < sizeof(groups) / sizeof(groups[0]); i++)
		groups[n++] = (gid_t)user->groups[i];
	if (setgroups(n, groups) < 0)
		return errno;
	/* setfsuid() reports no errors: an invalid id (-1) reads the current one */
	scope->gid = (uint32_t)setfsgid((gid_t)user->gid);
	scope->uid = (uint32_t)setfsuid((uid_t)user->uid);
	if ((uint32_t)setfsgid((gid_t)-1) != user->gid ||
	    (uint32_t)setfsuid((uid_t)-1) != user->uid) {
		sbx_user_act_restore(scope);
		return EPERM;
	}
	return 0;
}

void
sbx_user_act_restore(const SbxUserScope *scope)
{
	gid_t groups[sizeof(scope->groups) / sizeof(scope->groups[0])];

	setfsuid((uid_t)scope->uid);
	setfsgid((gid_t)scope->gid);
	for (size_t i = 0; i < scope->n_groups; i++)
		groups[i] = (gid_t)scope->groups[i];
	if (setgroups(scope->n_groups, groups) < 0)
		sbx_log("cannot restore the agent's groups: %s", strerror(errno));
	if ((uint32_t)setfsuid((uid_t)-1) != scope->uid)
		sbx_log("cannot restore the agent's fsuid %u", scope->uid);
}
