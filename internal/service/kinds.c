/*
 * kinds.c - the record kinds as data: fields, enums, defaults, projection
 * columns and list filters.  Field names, enum sets and id rules follow the
 * original CAVRA's JSON stores so that its pilots' files import unchanged
 * (docs/migrating-from-json.md).
 */
#include "base/base.h"
#include "service/records.h"
#include "base/xalloc.h"
#include "json/jx.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define INT_MAX64 INT64_MAX

/* ---- evidence metadata ---- */

/*
 * One evidence record per session, keyed by the session id.  Its counts are projection
 * columns because auditors filter on them (sessions with blocks, with approvals); everything
 * else stays in the payload only.  Every write that changes it is chained (docs/audit.md).
 */
static const struct rec_table evidence_table = {
	"evidence_metadata",
	"session_id",
	{"signer", "decision_count", "blocked_count", "approval_count", NULL},
	"created_at",
	.chained = true};

static const struct field evidence_fields[] = {
	{"signer", F_TEXT, "signer"},
	{"decision_count", F_INT, "decision_count", NULL, "0", 0, INT_MAX64},
	{"blocked_count", F_INT, "blocked_count", NULL, "0", 0, INT_MAX64},
	{"approval_required_count", F_INT, "approval_count", NULL, "0", 0, INT_MAX64},
	{NULL},
};

static const struct fparam evidence_params[] = {
	{"session_id", "session_id", REC_CONTAINS, F_ID},
	{"signer", "signer", REC_EQ, F_ID},
	{"min_blocked", "blocked_count", REC_MIN, F_INT},
	{"has_approvals", "approval_count", REC_NONZERO, F_BOOL},
	{NULL},
};

const struct kind service_kind_evidence = {
	.name = "evidence metadata",
	.schema = "cavra.evidence.metadata.v1",
	.id_field = "session_id",
	.table = &evidence_table,
	.fields = evidence_fields,
	.params = evidence_params,
	.writer_owned = true,
	.vouched_reads = true,
};

/* ---- approvals ---- */

static const char *const approval_states[] = {"pending", "approved",	"denied",
					      "expired", "break_glass", NULL};

/*
 * Every field that a filter, the state machine's compare-and-set or the expiry view reads is
 * a column; the history lives in the payload only, written together with the state.
 */
static const struct rec_table approval_table = {"approvals",
						"approval_id",
						{"decision_id", "session_id", "state",
						 "approver_group", "requested_by", "rule_id",
						 "expires_at", "decided_at", "decided_by", NULL},
						"created_at"};

static const struct field approval_fields[] = {
	{"decision_id", F_ID, "decision_id", NULL, NULL, 0, 0, true},
	{"session_id", F_ID, "session_id"},
	{"state", F_ENUM, "state", approval_states, "pending"},
	{"approver_group", F_ID, "approver_group", NULL, NULL, 0, 0, true},
	{"requested_by", F_ID, "requested_by"},
	{"rule_id", F_ID, "rule_id"},
	{"expires_at", F_TIME, "expires_at", NULL, NULL, 0, 0, true},
	{"decided_at", F_TIME, "decided_at"},
	{"decided_by", F_ID, "decided_by"},
	{"history", F_ARRAY, NULL},
	{NULL},
};

static const struct fparam approval_params[] = {
	{"approver_group", "approver_group", REC_EQ, F_ID},
	{"decision_id", "decision_id", REC_EQ, F_ID},
	{"session_id", "session_id", REC_EQ, F_ID},
	{NULL},
};

/* The original wrote requested_at; it is the record's creation time. */
static void approval_normalize(json_object *rec)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(rec, "created_at", &v) &&
	    json_object_object_get_ex(rec, "requested_at", &v) && v)
		json_object_object_add(rec, "created_at", json_object_get(v));
}

const struct kind service_kind_approval = {
	.name = "approval",
	.schema = "cavra.approval.v1",
	.id_field = "approval_id",
	.table = &approval_table,
	.fields = approval_fields,
	.params = approval_params,
	.normalize = approval_normalize,
	.view = service_approval_view,
	.vouched_reads = true,
};

/* ---- registry ---- */

static const char *const agent_statuses[] = {"active", "disabled", "retired", NULL};
static const char *const trust_tiers[] = {"trusted", "approved", "experimental",
					  "blocked", "unknown",	 NULL};
static const char *const mcp_approvals[] = {"pending", "approved", "denied", "not_required", NULL};

/*
 * Every records list pages by created_at, then the id: an update changes updated_at, and a
 * record that moved while a client paged would be skipped or shown twice; created_at stays.
 */
static const struct rec_table agent_table = {
	"registry_agents", "agent_id", {"status", "owner", NULL}, "created_at", .chained = true};

static const struct field agent_fields[] = {
	{"status", F_ENUM, "status", agent_statuses, "active"},
	{"owner", F_ID, "owner"},
	{"type", F_TEXT},
	{"vendor", F_TEXT},
	{"version", F_TEXT},
	{"risk_tier", F_TEXT},
	{"capabilities", F_LIST},
	{"scopes", F_LIST},
	{"allowed_repositories", F_LIST},
	{"allowed_tools", F_LIST},
	{"last_seen", F_TIME},
	{NULL},
};

static const struct fparam agent_params[] = {
	{"status", "status", REC_EQ, F_ENUM, agent_statuses},
	{"owner", "owner", REC_EQ, F_ID},
	{NULL},
};

static const char *const id_alias[] = {"id", NULL};

const struct kind service_kind_agent = {
	.name = "agent",
	.schema = "cavra.agent.v1",
	.id_field = "agent_id",
	.table = &agent_table,
	.fields = agent_fields,
	.params = agent_params,
	.id_aliases = id_alias,
	.vouched_reads = true,
};

static const struct rec_table mcp_table = {"registry_mcp_servers",
					   "server_id",
					   {"name", "trust_tier", "approval_state", "owner", NULL},
					   "created_at",
					   .chained = true};

static const struct field mcp_fields[] = {
	{"name", F_ID, "name", NULL, NULL, 0, 0, true},
	{"trust_tier", F_ENUM, "trust_tier", trust_tiers, "unknown"},
	{"approval_state", F_ENUM, "approval_state", mcp_approvals, "pending"},
	{"owner", F_ID, "owner"},
	{"capabilities", F_LIST},
	{"allowed_tools", F_LIST},
	{"last_seen", F_TIME},
	{NULL},
};

static const struct fparam mcp_params[] = {
	{"trust_tier", "trust_tier", REC_EQ, F_ENUM, trust_tiers},
	{"approval_state", "approval_state", REC_EQ, F_ENUM, mcp_approvals},
	{"owner", "owner", REC_EQ, F_ID},
	{"capability", "capabilities", REC_HAS, F_ID},
	{NULL},
};

static const char *const mcp_alias[] = {"id", "name", NULL};

/* A JSON null counts as absent here too (as in jx_str), so null gets the default. */
static void put_default(json_object *rec, const char *key, const char *value)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(rec, key, &v) || !v)
		jx_add_str(rec, key, value);
}

/* name defaults to the id; approval_state to what the tier implies. */
static void mcp_normalize(json_object *rec)
{
	const char *tier = jx_get_str(rec, "trust_tier");
	const char *id = jx_get_str(rec, "server_id");
	bool open = !tier || strcmp(tier, "unknown") == 0 || strcmp(tier, "experimental") == 0;

	if (!id)
		id = jx_get_str(rec, "id");
	if (id)
		put_default(rec, "name", id);
	put_default(rec, "approval_state", open ? "pending" : "approved");
}

const struct kind service_kind_mcp_server = {
	.name = "mcp server",
	.schema = "cavra.mcp_server.v1",
	.id_field = "server_id",
	.table = &mcp_table,
	.fields = mcp_fields,
	.params = mcp_params,
	.id_aliases = mcp_alias,
	.normalize = mcp_normalize,
	.alt_col = "name",
	.unique_field = "name",
	.vouched_reads = true,
};

/* ---- inventory ---- */

static const char *const repo_statuses[] = {"active", "archived", "disabled", NULL};
static const char *const rollout_modes[] = {"audit_only", "enforce", "strict", "break_glass", NULL};
static const char *const rollout_states[] = {"planned", "active", "paused", "retired", NULL};

static const struct rec_table repo_table = {
	"inventory_repositories",
	"repository_id",
	{"provider", "owner", "policy_pack", "risk_tier", "status", NULL},
	"created_at",
	.chained = true};

static const struct field repo_fields[] = {
	{"provider", F_ID, "provider"},
	{"owner", F_ID, "owner"},
	{"policy_pack", F_ID, "policy_pack"},
	{"risk_tier", F_ID, "risk_tier"},
	{"status", F_ENUM, "status", repo_statuses, "active"},
	{"repository", F_ID},
	{"default_branch", F_TEXT},
	{"protected_branches", F_LIST},
	{"required_checks", F_LIST},
	{NULL},
};

static const struct fparam repo_params[] = {
	{"provider", "provider", REC_EQ, F_ID},
	{"owner", "owner", REC_EQ, F_ID},
	{"policy_pack", "policy_pack", REC_EQ, F_ID},
	{"status", "status", REC_EQ, F_ENUM, repo_statuses},
	{"risk_tier", "risk_tier", REC_EQ, F_ID},
	{NULL},
};

static const char *const repo_alias[] = {"repository", "name", NULL};

/* "repository" (the name) defaults to the id. */
static void repo_normalize(json_object *rec)
{
	const char *id = jx_get_str(rec, "repository_id");

	if (!id)
		id = jx_get_str(rec, "name");
	if (id)
		put_default(rec, "repository", id);
}

const struct kind service_kind_repository = {
	.name = "repository",
	.schema = "cavra.repository.v1",
	.id_field = "repository_id",
	.table = &repo_table,
	.fields = repo_fields,
	.params = repo_params,
	.slash_ids = true,
	.id_aliases = repo_alias,
	.normalize = repo_normalize,
	.vouched_reads = true,
};

static const struct rec_table rollout_table = {
	"inventory_policy_rollouts",
	"rollout_id",
	{"repository_id", "policy_pack", "mode", "state", "coverage_percent", NULL},
	"created_at",
	.chained = true};

static const struct field rollout_fields[] = {
	{"repository", F_ID, "repository_id", NULL, NULL, 0, 0, true},
	{"policy_pack", F_ID, "policy_pack", NULL, NULL, 0, 0, true},
	{"mode", F_ENUM, "mode", rollout_modes, "enforce"},
	{"state", F_ENUM, "state", rollout_states, "planned"},
	{"coverage_percent", F_INT, "coverage_percent", NULL, "0", 0, 100},
	{"owner", F_ID},
	{"policy_version", F_TEXT},
	{"last_evaluated_at", F_TIME},
	{NULL},
};

static const struct fparam rollout_params[] = {
	{"repository", "repository_id", REC_EQ, F_ID},
	{"policy_pack", "policy_pack", REC_EQ, F_ID},
	{"mode", "mode", REC_EQ, F_ENUM, rollout_modes},
	{"state", "state", REC_EQ, F_ENUM, rollout_states},
	{"owner", "owner", REC_FIELD_EQ, F_ID},
	{NULL},
};

/* The record names its repository "repository"; "repository_id" is accepted. */
static void rollout_normalize(json_object *rec)
{
	json_object *v = NULL;

	if ((!json_object_object_get_ex(rec, "repository", &v) || !v) &&
	    json_object_object_get_ex(rec, "repository_id", &v) && v) {
		json_object_object_add(rec, "repository", json_object_get(v));
		json_object_object_del(rec, "repository_id");
	}
}

/*
 * A rollout is one pack on one repository, so its id is derived from both: posting the same
 * rollout again updates it instead of creating a duplicate.
 */
static char *rollout_id(json_object *rec)
{
	const char *repo = jx_get_str(rec, "repository"), *pack = jx_get_str(rec, "policy_pack");

	return repo && pack ? xasprintf("%s:%s", repo, pack) : NULL;
}

const struct kind service_kind_rollout = {
	.name = "policy rollout",
	.schema = "cavra.policy_rollout.v1",
	.id_field = "rollout_id",
	.table = &rollout_table,
	.fields = rollout_fields,
	.params = rollout_params,
	.slash_ids = true,
	.default_id = rollout_id,
	.normalize = rollout_normalize,
	.vouched_reads = true,
};

/* ---- integrations ---- */

static const char *const categories[] = {"source_control", "ci_cd",	    "siem",  "itsm",
					 "chatops",	   "identity",	    "cloud", "storage",
					 "security",	   "observability", NULL};
static const char *const integration_statuses[] = {"planned", "configured", "active",
						   "paused",  "disabled",   NULL};
static const char *const healths[] = {"unknown", "healthy",	"degraded",
				      "failed",	 "not_checked", NULL};

static const struct rec_table integration_table = {
	"integrations",
	"integration_id",
	{"provider", "environment", "category", "status", "health", "owner", NULL},
	"created_at",
	.chained = true};

static const struct field integration_fields[] = {
	{"provider", F_ID, "provider", NULL, NULL, 0, 0, true},
	{"environment", F_ID, "environment"},
	{"category", F_ENUM, "category", categories, "security"},
	{"status", F_ENUM, "status", integration_statuses, "planned"},
	{"health_status", F_ENUM, "health", healths, "not_checked"},
	{"owner", F_ID, "owner"},
	{"name", F_TEXT},
	{"capabilities", F_LIST},
	{"repositories", F_LIST},
	{"last_checked_at", F_TIME},
	{NULL},
};

static const struct fparam integration_params[] = {
	{"provider", "provider", REC_EQ, F_ID},
	{"environment", "environment", REC_EQ, F_ID},
	{"category", "category", REC_EQ, F_ENUM, categories},
	{"status", "status", REC_EQ, F_ENUM, integration_statuses},
	{"health_status", "health", REC_EQ, F_ENUM, healths},
	{"owner", "owner", REC_EQ, F_ID},
	{NULL},
};

/*
 * The original's slug: "<provider>-<environment or global>", lowercased,
 * every byte that is not an ASCII letter or digit turned into '-', leading
 * and trailing '-' removed.  (The original kept non-ASCII letters; ids of
 * such providers should be given explicitly.)
 */
static char *integration_id(json_object *rec)
{
	const char *p = jx_get_str(rec, "provider"), *env = jx_get_str(rec, "environment");
	char *s, *start, *end;

	if (!p)
		return NULL;
	s = xasprintf("%s-%s", p, env && *env ? env : "global");
	for (char *c = s; *c; c++)
		*c = isalnum((unsigned char)*c) && (unsigned char)*c < 0x80
			     ? (char)tolower((unsigned char)*c)
			     : '-';
	start = s + strspn(s, "-");
	end = start + strlen(start);
	while (end > start && end[-1] == '-')
		*--end = '\0';
	memmove(s, start, strlen(start) + 1);
	if (!*s) {
		free(s);
		return NULL;
	}
	return s;
}

const struct kind service_kind_integration = {
	.name = "integration",
	.schema = "cavra.integration.v1",
	.id_field = "integration_id",
	.table = &integration_table,
	.fields = integration_fields,
	.params = integration_params,
	.id_aliases = id_alias,
	.default_id = integration_id,
	.alt_col = "provider",
	.vouched_reads = true,
};

/* ---- activity, for imports of the original's files ---- */

static const char *const session_states[] = {"active", "completed", "failed", "archived", NULL};

static const struct rec_table decision_table = {
	"activity_decisions",
	"decision_id",
	{"session_id", "agent_id", "actor", "repository", "action_type", "policy_pack", "rule_id",
	 "decision", "severity", "approver_group", "correlation_id", "decided_at", NULL},
	"decided_at"};

/* As POST /decisions takes them: a session id without '/', a target of at most 8192 bytes. */
static const struct field decision_fields[] = {
	{"session_id", F_ID, "session_id", NULL, "local", 0, 0, false, true},
	{"target", F_TEXT, NULL, NULL, NULL, 0, 8192},
	{"requested_operation", F_TEXT, NULL, NULL, NULL, 0, 8192},
	{"agent_id", F_ID, "agent_id"},
	{"actor", F_ID, "actor"},
	{"repository", F_ID, "repository"},
	{"action_type", F_ID, "action_type", NULL, "unknown"},
	{"policy_pack", F_ID, "policy_pack", NULL, "cavra-ai-agent-baseline"},
	{"rule_id", F_ID, "rule_id"},
	{"decision", F_ENUM, "decision", service_decision_values, "audit_only"},
	{"severity", F_ENUM, "severity", service_severity_values, "low"},
	{"approver_group", F_ID, "approver_group"},
	{"correlation_id", F_ID, "correlation_id"},
	{"timestamp", F_TIME, "decided_at", NULL, NULL, 0, 0, true},
	{"evidence_refs", F_LIST},
	{NULL},
};

const struct kind service_kind_decision = {
	.name = "decision",
	.schema = "cavra.decision.v1",
	.id_field = "decision_id",
	.table = &decision_table,
	.fields = decision_fields,
	.params = NULL,
};

static const struct field session_fields[] = {
	{"agent_id", F_ID},
	{"actor", F_ID},
	{"repository", F_ID},
	{"policy_pack", F_ID},
	{"state", F_ENUM, NULL, session_states, "active"},
	{"started_at", F_TIME},
	{"decision_count", F_INT, NULL, NULL, "0", 0, INT_MAX64},
	{"blocked_count", F_INT, NULL, NULL, "0", 0, INT_MAX64},
	{"approval_required_count", F_INT, NULL, NULL, "0", 0, INT_MAX64},
	{"metadata", F_OBJECT},
	{NULL},
};

/* The original also wrote the state as "status". */
static void session_normalize(json_object *rec)
{
	json_object *v = NULL;

	if ((!json_object_object_get_ex(rec, "state", &v) || !v) &&
	    json_object_object_get_ex(rec, "status", &v) && v)
		json_object_object_add(rec, "state", json_object_get(v));
}

const struct kind service_kind_session = {
	.name = "session",
	.schema = "cavra.session.v1",
	.id_field = "session_id",
	.table = NULL,
	.fields = session_fields,
	.params = NULL,
	.normalize = session_normalize,
};
