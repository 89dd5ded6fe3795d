/*
 * auth_rbac.c - the roles and the ONE permission -> roles table.  Every route
 * names a permission from this table; `cavra auth permissions` and
 * docs/security.md print it, so a reviewer reads who may do what in one place.
 */
#include "base/base.h"
#include "auth/auth.h"

#include <stdio.h>
#include <string.h>

#define R(x) AUTH_ROLE_BIT(AUTH_ROLE_##x)

static const char *const role_names[AUTH_ROLE__COUNT] = {
	[AUTH_ROLE_AGENT] = "agent",
	[AUTH_ROLE_CISO] = "ciso",
	[AUTH_ROLE_SECURITY_OPERATOR] = "security_operator",
	[AUTH_ROLE_PLATFORM_SECURITY] = "platform_security",
	[AUTH_ROLE_MODEL_OWNER] = "model_owner",
	[AUTH_ROLE_AUDITOR] = "auditor",
	[AUTH_ROLE_BREAK_GLASS_APPROVER] = "break_glass_approver",
	[AUTH_ROLE_ADMIN] = "admin",
	[AUTH_ROLE_METRICS] = "metrics",
};

/*
 * Who may do what.  admin is implied on every AUTH_ACCESS_ROLES row.  People
 * read; agents create decisions and sessions and ask for approvals; deciding
 * is for operators (whose membership in the approval's approver group the
 * approvals service checks); writes to the registry, inventory and
 * integrations, and policy administration (a rollout's change of mode or
 * state), are for platform security.  metrics is a scraper's role: it reads
 * /metrics and nothing else, so a Prometheus token cannot read activity.  approvals.route is no
 * route's: choosing an approval's group picks its approvers, so it is admin's alone unless a
 * deployment grants it.  evidence.replace is no route's either: without it, evidence metadata
 * is replaced only by the caller that wrote it, and written only by the session's owner, so one
 * agent cannot rewrite or preempt what proves another's session.  sessions.replace likewise: a
 * session's reported fields (agent, repository, pack, state, metadata) and its decisions are what
 * an approver sees of it.  approvals.request_any likewise: an agent asks for approvals of its
 * own decisions, so that no one gets another agent's action approved, or its one open approval
 * opened with a lifetime of someone else's choosing; the roles that decide approvals may ask for
 * any.  approvals.read_any likewise: an approval holds its decision whole, so an agent reads
 * those of its own decisions only, as it reads no other activity; people read every one.
 */
static const struct auth_permission perms[] = {
	{"public", AUTH_ACCESS_PUBLIC, 0, "health, readiness and version probes"},
	{"auth.read", AUTH_ACCESS_AUTHENTICATED, 0, "GET /auth/whoami: the caller's own identity"},
	{"metrics.read", AUTH_ACCESS_ROLES,
	 R(CISO) | R(SECURITY_OPERATOR) | R(PLATFORM_SECURITY) | R(AUDITOR) | R(METRICS),
	 "GET /metrics (when not public)"},
	{"decisions.create", AUTH_ACCESS_ROLES, R(AGENT), "POST /decisions: ask for a decision"},
	{"sessions.write", AUTH_ACCESS_ROLES, R(AGENT), "POST /sessions: record an agent session"},
	{"sessions.replace", AUTH_ACCESS_ROLES, 0,
	 "POST /sessions over, or POST /decisions into, a session another caller recorded or "
	 "started (else only that caller may change it or add to it); its POST /sessions keeps the "
	 "owner in recorded_by and names the caller in changed_by"},
	{"activity.read", AUTH_ACCESS_ROLES, AUTH_ROLES_HUMAN,
	 "read decisions, sessions and the audit chain head"},
	{"policy.read", AUTH_ACCESS_ROLES, AUTH_ROLES_HUMAN, "read the policy packs"},
	{"evidence.read", AUTH_ACCESS_ROLES, AUTH_ROLES_HUMAN, "read evidence metadata"},
	{"evidence.write", AUTH_ACCESS_ROLES, R(AGENT) | R(SECURITY_OPERATOR),
	 "POST /evidence: record evidence metadata"},
	{"evidence.replace", AUTH_ACCESS_ROLES, R(SECURITY_OPERATOR),
	 "POST /evidence for a session another caller recorded or started, or nobody did "
	 "(imported): else only the session's owner may, and evidence written before a session "
	 "exists starts it for its writer; the record keeps its writer in recorded_by and names "
	 "the caller in changed_by"},
	{"approvals.read", AUTH_ACCESS_ROLES, AUTH_ROLES_HUMAN | R(AGENT),
	 "read approvals (an agent sees those of its own decisions and those it asked for)"},
	{"approvals.read_any", AUTH_ACCESS_ROLES, AUTH_ROLES_HUMAN,
	 "read every approval, not only those of the caller's own decisions"},
	{"approvals.create", AUTH_ACCESS_ROLES,
	 R(AGENT) | R(SECURITY_OPERATOR) | R(PLATFORM_SECURITY), "POST /approvals: ask for one"},
	{"approvals.decide", AUTH_ACCESS_ROLES, R(SECURITY_OPERATOR) | R(PLATFORM_SECURITY),
	 "approve, deny or expire (also needs the approval's approver group)"},
	{"approvals.break_glass", AUTH_ACCESS_ROLES, R(BREAK_GLASS_APPROVER),
	 "POST /approvals/break-glass"},
	{"approvals.request_any", AUTH_ACCESS_ROLES, R(SECURITY_OPERATOR) | R(PLATFORM_SECURITY),
	 "POST /approvals for a decision another caller recorded"},
	{"approvals.route", AUTH_ACCESS_ROLES, 0,
	 "POST /approvals with an approver_group other than the routing rules' (kept in its "
	 "history)"},
	{"registry.read", AUTH_ACCESS_ROLES, AUTH_ROLES_HUMAN, "read agents and MCP servers"},
	{"registry.write", AUTH_ACCESS_ROLES, R(PLATFORM_SECURITY),
	 "register or change agents and MCP servers"},
	{"inventory.read", AUTH_ACCESS_ROLES, AUTH_ROLES_HUMAN,
	 "read repositories and policy rollouts"},
	{"inventory.write", AUTH_ACCESS_ROLES, R(PLATFORM_SECURITY),
	 "change repositories and policy rollouts"},
	{"policy.admin", AUTH_ACCESS_ROLES, R(PLATFORM_SECURITY),
	 "plan and apply a policy rollout's change of mode or state"},
	{"integrations.read", AUTH_ACCESS_ROLES, AUTH_ROLES_HUMAN, "read integrations"},
	{"integrations.write", AUTH_ACCESS_ROLES, R(PLATFORM_SECURITY), "change integrations"},
	{"operations.read", AUTH_ACCESS_ROLES, R(AUDITOR) | R(CISO) | R(PLATFORM_SECURITY),
	 "GET /operations/*: stores, retention plan"},
	{"tokens.manage", AUTH_ACCESS_ROLES, 0, "create, list and revoke API tokens"},
};

const char *auth_role_name(enum auth_role r)
{
	if ((unsigned)r >= AUTH_ROLE__COUNT)
		return NULL;
	return role_names[r];
}

bool auth_role_parse(const char *name, enum auth_role *out)
{
	for (unsigned i = 0; i < AUTH_ROLE__COUNT; i++)
		if (strcmp(role_names[i], name) == 0) {
			*out = (enum auth_role)i;
			return true;
		}
	return false;
}

void auth_roles_format(uint32_t roles, char *out, size_t size)
{
	size_t used = 0;

	if (size)
		out[0] = '\0';
	for (unsigned i = 0; i < AUTH_ROLE__COUNT && used < size; i++)
		if (roles & AUTH_ROLE_BIT(i))
			used += (size_t)snprintf(out + used, size - used, "%s%s", used ? ", " : "",
						 role_names[i]);
}

size_t auth_permission_count(void)
{
	return ARRAY_SIZE(perms);
}

const struct auth_permission *auth_permission_at(size_t i)
{
	return i < ARRAY_SIZE(perms) ? &perms[i] : NULL;
}

const struct auth_permission *auth_permission_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(perms); i++)
		if (strcmp(perms[i].name, name) == 0)
			return &perms[i];
	return NULL;
}

uint32_t auth_permission_roles(const struct auth_permission *p)
{
	if (p->access != AUTH_ACCESS_ROLES)
		return 0;
	return p->roles | R(ADMIN);
}

/*
 * admin is added to every role list (auth_permission_roles), so no row of the table can lock
 * the administrators out, and the rendered table shows it.
 */
static bool permission_grants(const struct auth_permission *p, uint32_t roles)
{
	return p->access != AUTH_ACCESS_ROLES || (roles & auth_permission_roles(p)) != 0;
}

bool auth_allowed(uint32_t roles, const char *permission)
{
	const struct auth_permission *p = auth_permission_find(permission);

	return p && permission_grants(p, roles);
}

/*
 * A permission missing from the table is a bug in the route table, not the caller's fault:
 * ST_INTERNAL (500), and auth_rbac_test checks the names the routes use.  A refusal names the roles
 * that would do, so an operator knows which IdP group to grant.
 */
enum status auth_check(uint32_t roles, const char *permission, struct err *e)
{
	const struct auth_permission *p = auth_permission_find(permission);
	char names[256];

	if (!p)
		return err_set(e, ST_INTERNAL, "permission '%s' is not in the table", permission);
	if (permission_grants(p, roles))
		return ST_OK;
	auth_roles_format(auth_permission_roles(p), names, sizeof(names));
	return err_set(e, ST_FORBIDDEN, "permission '%s' needs one of the roles %s", p->name,
		       names);
}

/* "who" column of row p. */
static void who(const struct auth_permission *p, char *out, size_t size)
{
	if (p->access == AUTH_ACCESS_PUBLIC)
		snprintf(out, size, "anyone, no credentials");
	else if (p->access == AUTH_ACCESS_AUTHENTICATED)
		snprintf(out, size, "any authenticated caller");
	else
		auth_roles_format(auth_permission_roles(p), out, size);
}

enum status auth_permissions_render(enum auth_render fmt, struct buf *out, struct err *e)
{
	const bool md = fmt == AUTH_RENDER_MARKDOWN;
	enum status st;
	char w[256];

	/* text: the summary beside the name, who on the line below (role lists are long) */
	st = md ? buf_adds(out, "| permission | who | what |\n|---|---|---|\n", e) : ST_OK;
	for (size_t i = 0; st == ST_OK && i < ARRAY_SIZE(perms); i++) {
		who(&perms[i], w, sizeof(w));
		st = md ? buf_addf(out, e, "| `%s` | %s | %s |\n", perms[i].name, w,
				   perms[i].summary)
			: buf_addf(out, e, "%-22s %s\n%-22s who: %s\n", perms[i].name,
				   perms[i].summary, "", w);
	}
	return st;
}
