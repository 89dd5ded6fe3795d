/*
 * policy.h - policy packs and the decision function (docs/policies.md).
 *
 * A policy pack is policies/<id>/policy.yaml: metadata, then lists of patterns in four sections
 * (filesystem, commands, git, mcp), a few switches and maps (git and mcp booleans,
 * mcp.risk_scoring, approvals), and settings kept for auditors only (evidence, compliance, the
 * git attestation flags).  Packs inherit from other packs; the loaded set holds every pack
 * already merged with its ancestors, so evaluation never walks the inheritance graph.
 * The format, the merge, the evaluation order and every rule id are in docs/policies.md.
 *
 * Threads: a loaded struct policy_set is immutable, so any number of threads may call
 * policy_set_find(), policy_pack_info(), policy_pack_list() and policy_evaluate() on it at once.
 * policy_evaluate() is pure: no I/O, no globals, and nothing for the caller to free.
 */
#ifndef CAVRA_POLICY_H
#define CAVRA_POLICY_H

#include "base/base.h"
#include "base/err.h"

/* The pack compiled into the binary and used when a request names none. */
#define POLICY_DEFAULT_PACK "cavra-ai-agent-baseline"

/* Hard cap on the size of one policy.yaml. */
#define POLICY_FILE_MAX ((size_t)1 << 20)

/* Size of policy_result.reason, including the NUL; longer reasons are truncated. */
#define POLICY_REASON_MAX 512

enum policy_decision {
	POLICY_ALLOW = 0,
	POLICY_BLOCK,
	POLICY_REQUIRE_APPROVAL,
	POLICY_WARN,
	POLICY_AUDIT_ONLY,
	POLICY_ALLOW_WITH_ATTESTATION,
	POLICY_DECISION_COUNT
};

enum policy_severity {
	POLICY_SEV_LOW = 0,
	POLICY_SEV_MEDIUM,
	POLICY_SEV_HIGH,
	POLICY_SEV_CRITICAL,
	POLICY_SEVERITY_COUNT
};

/* Trust tier of an MCP server in the registry. */
enum policy_trust_tier {
	POLICY_TIER_TRUSTED = 0,
	POLICY_TIER_APPROVED,
	POLICY_TIER_EXPERIMENTAL,
	POLICY_TIER_BLOCKED,
	POLICY_TIER_UNKNOWN,
	POLICY_TIER_COUNT
};

/* Approval state of an MCP server in the registry. */
enum policy_approval_state {
	POLICY_APPROVAL_PENDING = 0,
	POLICY_APPROVAL_APPROVED,
	POLICY_APPROVAL_DENIED,
	POLICY_APPROVAL_COUNT
};

/* Comma-separated allowed values, for "unknown value" messages (400 naming the allowed values). */
#define POLICY_DECISION_VALUES \
	"allow, block, require_approval, warn, audit_only, allow_with_attestation"
#define POLICY_SEVERITY_VALUES "low, medium, high, critical"
#define POLICY_TIER_VALUES     "trusted, approved, experimental, blocked, unknown"
#define POLICY_APPROVAL_VALUES "pending, approved, denied"

/*
 * Stable lowercase names ("require_approval", "critical", ...), static strings; "unknown" for an
 * out-of-range value.  The _parse functions accept exactly those names and return false on
 * anything else (including NULL), leaving *out untouched.
 */
const char *policy_decision_name(enum policy_decision d);
const char *policy_severity_name(enum policy_severity s);
const char *policy_tier_name(enum policy_trust_tier t);
const char *policy_approval_name(enum policy_approval_state a);
bool policy_decision_parse(const char *s, enum policy_decision *out);
bool policy_severity_parse(const char *s, enum policy_severity *out);
bool policy_tier_parse(const char *s, enum policy_trust_tier *out);
bool policy_approval_parse(const char *s, enum policy_approval_state *out);

/*
 * The pattern lists a pack holds, in canonical order (the order of the sha256 serialisation).
 * policy_list_name() gives "filesystem.block_read", "commands.allow", ...; policy_list_section()
 * gives the section it belongs to.
 */
enum policy_list {
	POLICY_LIST_FS_BLOCK_READ = 0,
	POLICY_LIST_FS_BLOCK_WRITE,
	POLICY_LIST_FS_REQUIRE_APPROVAL_WRITE,
	POLICY_LIST_CMD_BLOCK,
	POLICY_LIST_CMD_ALLOW,
	POLICY_LIST_GIT_PROTECTED_BRANCHES,
	POLICY_LIST_MCP_BLOCKED_SERVERS,
	POLICY_LIST_MCP_BLOCKED_TOOLS,
	POLICY_LIST_MCP_REQUIRE_APPROVAL_TOOLS,
	POLICY_LIST_MCP_REQUIRE_APPROVAL_CAPABILITIES,
	/* Lists of the original CAVRA's vocabulary: hashed only when non-empty, so the hash of a
	 * pack that does not use them is what it was before they existed. */
	POLICY_LIST_CMD_REQUIRE_APPROVAL,
	POLICY_LIST_GIT_BLOCK_PUSH_BRANCHES,
	POLICY_LIST_MCP_ALLOWED_SERVERS,
	POLICY_LIST_COUNT
};

enum policy_section {
	POLICY_SECTION_FILESYSTEM = 0,
	POLICY_SECTION_COMMANDS,
	POLICY_SECTION_GIT,
	POLICY_SECTION_MCP,
	POLICY_SECTION_COUNT
};

const char *policy_list_name(enum policy_list l);
enum policy_section policy_list_section(enum policy_list l);
/* "filesystem", "commands", "git", "mcp". */
const char *policy_section_name(enum policy_section s);

/*
 * Whole-string glob match.  '*' and '**' (any run of stars) match any run of characters,
 * including '/' and the empty run; every other character is literal and case-sensitive.  An
 * empty pattern matches only the empty string.  Iterative: O(len(pattern) * len(s)) at worst,
 * whatever the number of stars.  policy_match_n() matches the first n bytes of s.
 */
bool policy_match(const char *pattern, const char *s);
bool policy_match_n(const char *pattern, const char *s, size_t n);

struct policy_set; /* every loaded pack, merged; opaque */
struct policy_pack; /* one merged pack; opaque, owned by its set */

/*
 * Loads the embedded cavra-ai-agent-baseline and, when dir is not NULL, every
 * <dir>/<id>/policy.yaml (entries without a policy.yaml are skipped; a pack on disk whose id is
 * the baseline's replaces the embedded one).  Then resolves metadata.inherits and merges every
 * pack with its ancestors, and computes each merged pack's sha256.
 *
 * On success *out is a new set: caller owns, free with policy_set_free().  On failure *out is
 * set to NULL and e names the file, line and problem ("policies/x/policy.yaml:12:
 * commands.block must be a list of strings") or the pack (unknown parent, cycle).
 * Returns ST_OK, ST_INVALID (a pack is wrong), ST_IO (dir or a file unreadable) or
 * ST_TOO_LARGE (a file over POLICY_FILE_MAX).
 */
ATTR_NODISCARD enum status policy_set_load(const char *dir, struct policy_set **out, struct err *e);

/* Frees the set and every pack in it. NULL-safe. */
void policy_set_free(struct policy_set *set);

/*
 * Looks a pack up by id.  *out is borrowed, valid until policy_set_free(set).
 * Returns ST_OK, or ST_NOT_FOUND with "policy pack 'x' not found" (also for a NULL id).
 */
ATTR_NODISCARD enum status policy_set_find(const struct policy_set *set, const char *id,
					   const struct policy_pack **out, struct err *e);

/* Number of packs, and the i-th pack in ascending id order (NULL when i is out of range). */
size_t policy_set_count(const struct policy_set *set);
const struct policy_pack *policy_set_at(const struct policy_set *set, size_t i);

/* Switches a pack may set; each is unset, false or true.  Merged: true anywhere in the chain
 * wins, then false, so a child cannot switch off what a parent switched on. */
enum policy_flag {
	POLICY_FLAG_GIT_BLOCK_DIRECT_PUSH = 0, /* git.block_direct_push_to_protected_branch */
	POLICY_FLAG_MCP_ALLOWLIST_ENABLED,
	POLICY_FLAG_MCP_BLOCK_UNKNOWN_SERVERS,
	POLICY_FLAG_INPUT_BLOCK_HIDDEN, /* input.block_hidden_characters */
	/* kept for audit, not evaluated */
	POLICY_FLAG_GIT_REQUIRE_PULL_REQUEST,
	POLICY_FLAG_GIT_REQUIRE_HUMAN_REVIEWER,
	POLICY_FLAG_GIT_REQUIRE_AI_ATTESTATION,
	POLICY_FLAG_GIT_REQUIRE_PR_ATTESTATION,
	POLICY_FLAG_EV_REQUIRE_AGENT_MANIFEST,
	POLICY_FLAG_EV_REQUIRE_ISSUE_LINK,
	POLICY_FLAG_EV_REQUIRE_BOT_IDENTITY,
	POLICY_FLAG_EV_REQUIRE_PR_ATTESTATION,
	POLICY_FLAG_EV_REQUIRE_DOCS_UPDATE,
	POLICY_FLAG_COUNT
};

enum policy_flag_value { POLICY_FLAG_UNSET = 0, POLICY_FLAG_FALSE, POLICY_FLAG_TRUE };

/* "git.require_pull_request", ...: the key path as written in policy.yaml. */
const char *policy_flag_name(enum policy_flag f);
/* True for the switches evaluation reads, false for those kept for audit. */
bool policy_flag_decides(enum policy_flag f);

/* metadata.mode: unset and enforce, strict and break_glass all enforce; audit_only records. */
enum policy_mode {
	POLICY_MODE_UNSET = 0,
	POLICY_MODE_ENFORCE,
	POLICY_MODE_AUDIT_ONLY,
	POLICY_MODE_STRICT,
	POLICY_MODE_BREAK_GLASS,
	POLICY_MODE_COUNT
};

#define POLICY_MODE_VALUES "enforce, audit_only, strict, break_glass"

/* "enforce", "audit_only", ...; NULL for POLICY_MODE_UNSET. */
const char *policy_mode_name(enum policy_mode m);

/*
 * Everything beyond the pattern lists, merged, as GET /policy-packs/{id} and each decision's
 * policy_version show it.  Every pointer is borrowed, valid until policy_set_free().
 */
struct policy_pack_settings {
	enum policy_mode mode; /* the pack's own: metadata is not inherited */
	enum policy_flag_value flags[POLICY_FLAG_COUNT];
	const char *branch_pattern; /* evidence.require_branch_pattern, NULL when unset */
	const char *const *required_fields; /* evidence.required_fields */
	size_t required_fields_len;
	const char *const *maps_to; /* compliance.maps_to */
	size_t maps_to_len;
	const char *const *risk_servers; /* mcp.risk_scoring keys ... */
	const enum policy_severity *risk_levels; /* ... and their levels */
	size_t risk_len;
	size_t approval_classes_len; /* approvals.<class>: see policy_pack_approvals() */
};

void policy_pack_settings(const struct policy_pack *pack, struct policy_pack_settings *out);

/*
 * The i-th class of approvals (in merged order): its name and approvers.  Returns false when
 * i is out of range.  Pointers borrowed, valid until policy_set_free().
 */
bool policy_pack_approvals(const struct policy_pack *pack, size_t i, const char **cls,
			   const char *const **approvers, size_t *n);

/* What GET /policy-packs shows.  Every pointer is borrowed, valid until policy_set_free(). */
struct policy_pack_info {
	const char *id;
	const char *title; /* "" when the file has none */
	const char *description; /* "" when the file has none */
	const char *version;
	const char *source; /* the file it came from, or "embedded:<id>/policy.yaml" */
	const char *const *inherits; /* direct parents, as written */
	size_t inherits_len;
	const char *sha256; /* 64 lowercase hex digits: SHA-256 of the merged canonical form */
	size_t list_counts[POLICY_LIST_COUNT]; /* merged entries per list */
	size_t section_counts[POLICY_SECTION_COUNT]; /* sums of list_counts per section */
	size_t rule_count; /* sum of everything */
};

void policy_pack_info(const struct policy_pack *pack, struct policy_pack_info *out);

/* The merged entries of one list: *items borrowed, valid until policy_set_free(). */
void policy_pack_list(const struct policy_pack *pack, enum policy_list l, const char *const **items,
		      size_t *n);

/*
 * The canonical serialisation behind sha256 (docs/policies.md).  Caller owns, free with free().
 * Exposed for tests and for `cavra ops` to show what was hashed.
 */
char *policy_pack_canonical(const struct policy_pack *pack, size_t *len);

/*
 * An action to decide on.  Every string is borrowed for the duration of the call and any may
 * be NULL (treated as absent / empty).  action_type is one of read_file, write_file,
 * execute_command, git_operation, mcp_tool_call; anything else gets the runtime default.
 */
struct policy_action {
	const char *action_type;
	const char *target; /* path, command, branch/ref, or MCP server for mcp_tool_call */
	const char *operation; /* git: "push", "git push origin main", ... */
	const char *server; /* MCP server name (reasons only: the registry entry is passed apart) */
	const char *tool; /* MCP tool */
	const char *capability; /* MCP capability the call uses */
};

/*
 * The registry's view of an MCP server, looked up by the caller.  Lists are borrowed for the
 * call; entries may be patterns (policy_match).  An empty list means "not declared": it does
 * not restrict.
 */
struct policy_mcp_server {
	enum policy_trust_tier trust_tier;
	enum policy_approval_state approval_state;
	const char *const *allowed_tools;
	size_t allowed_tools_len;
	const char *const *capabilities;
	size_t capabilities_len;
	/*
	 * The record is not what the audit chain last recorded for it (planted or edited in the
	 * database): blocked, whatever it says, unless a pack's blocked_servers pattern is first.
	 */
	bool unvouched;
};

struct policy_result {
	enum policy_decision decision;
	enum policy_severity severity;
	const char *rule_id; /* static string, e.g. "filesystem.write.block" */
	/* Static or borrowed from the pack (approvals.<class>.approvers[0]), valid until
	 * policy_set_free(); NULL when no approval is involved. */
	const char *approver_group;
	const char *approval_class; /* static: the approvals class routed on, or NULL */
	const char *const *approvers; /* every approver of that class; borrowed like the group */
	size_t approvers_len;
	/* metadata.mode audit_only: decision is POLICY_AUDIT_ONLY and these say what enforcing
	 * would have answered; would_rule_id is NULL otherwise. */
	enum policy_decision would_decision;
	const char *would_rule_id;
	const char *policy_id; /* the pack's id: borrowed, valid until policy_set_free() */
	char reason[POLICY_REASON_MAX]; /* human sentence naming the matched pattern */
};

/*
 * Decides on action under pack, in the order docs/policies.md gives with every rule id; then
 * grades MCP decisions by mcp.risk_scoring, routes approvals by the pack's approvals section,
 * and, for a pack in audit_only mode, turns a block or approval into POLICY_AUDIT_ONLY with
 * would_decision/would_rule_id set.  server is the registry entry for an mcp_tool_call (NULL =
 * not registered) and is ignored for other action types.  Fills *out completely; cannot fail.
 * Pure: no I/O, no shared state.
 */
void policy_evaluate(const struct policy_pack *pack, const struct policy_action *action,
		     const struct policy_mcp_server *server, struct policy_result *out);

#endif
