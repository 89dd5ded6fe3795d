/*
 * migrate_compat.c - expand/contract: whether binaries of the previous
 * schema keep working once a migration is applied (docs/migrations.md).
 */
#include "base/base.h"
#include "migrate/migrate.h"

#include <string.h>

/*
 * 001-015 were released before the header line existed, and adding it now would change
 * their checksums (every database would read them as drifted), so their declarations live
 * here.  Each is argued in docs/migrations.md: new tables, nullable columns and indexes are
 * backward; widened value sets (008, 011), a new unique index (013) and the audit chain that
 * every decision write must extend (015) are contract.
 */
static const struct {
	int version;
	const char *name;
	enum mig_compat compat;
} released[] = {
	{1, "evidence_metadata", MIG_COMPAT_BACKWARD},
	{2, "approval_router", MIG_COMPAT_BACKWARD},
	{3, "agent_mcp_registry", MIG_COMPAT_BACKWARD},
	{4, "activity_sessions_decisions", MIG_COMPAT_BACKWARD},
	{5, "repository_policy_rollout", MIG_COMPAT_BACKWARD},
	{6, "integrations_inventory", MIG_COMPAT_BACKWARD},
	{7, "api_tokens", MIG_COMPAT_BACKWARD},
	{8, "original_enum_values", MIG_COMPAT_CONTRACT},
	{9, "operations_records", MIG_COMPAT_BACKWARD},
	{10, "console_sessions", MIG_COMPAT_BACKWARD},
	{11, "operations_doctor", MIG_COMPAT_CONTRACT},
	{12, "activity_read_indexes", MIG_COMPAT_BACKWARD},
	{13, "stable_paging", MIG_COMPAT_CONTRACT},
	{14, "decision_idempotency_keys", MIG_COMPAT_BACKWARD},
	{15, "audit_chain", MIG_COMPAT_CONTRACT},
};

#define COMPAT_KEY "compatibility:"

const char *migrate_compat_name(enum mig_compat c)
{
	return c == MIG_COMPAT_BACKWARD ? "backward" : "contract";
}

/* The value of a "-- compatibility: X" line, NUL-terminated into out; false when p is not one. */
static bool header_value(const char *p, size_t len, char *out, size_t size)
{
	size_t i = 2, n;

	while (i < len && p[i] == ' ')
		i++;
	if (len - i < strlen(COMPAT_KEY) || strncmp(p + i, COMPAT_KEY, strlen(COMPAT_KEY)) != 0)
		return false;
	i += strlen(COMPAT_KEY);
	while (i < len && p[i] == ' ')
		i++;
	n = len - i;
	while (n > 0 && (p[i + n - 1] == ' ' || p[i + n - 1] == '\r'))
		n--;
	if (n >= size)
		n = size - 1;
	memcpy(out, p + i, n);
	out[n] = '\0';
	return true;
}

/* Only the header counts: the "--" lines the file starts with, blank lines between them. */
static bool find_header(const char *sql, char *out, size_t size)
{
	const char *p = sql;

	while (*p) {
		size_t len = strcspn(p, "\n");

		if (len >= 2 && p[0] == '-' && p[1] == '-') {
			if (header_value(p, len, out, size))
				return true;
		} else if (strspn(p, " \t\r") != len) {
			return false;
		}
		p += len + (p[len] == '\n');
	}
	return false;
}

enum status migrate_compat_parse(struct migration *m, struct err *e)
{
	char value[32];

	m->compat = MIG_COMPAT_CONTRACT;
	if (find_header(m->sql, value, sizeof(value))) {
		if (strcmp(value, "backward") == 0 || strcmp(value, "expand") == 0)
			m->compat = MIG_COMPAT_BACKWARD;
		else if (strcmp(value, "contract") != 0)
			return err_set(e, ST_INVALID,
				       "migration file '%s': compatibility '%s' is not backward, "
				       "expand or contract",
				       m->file, value);
		return ST_OK;
	}
	for (size_t i = 0; i < ARRAY_SIZE(released); i++)
		if (released[i].version == m->version && strcmp(released[i].name, m->name) == 0)
			m->compat = released[i].compat;
	return ST_OK;
}
