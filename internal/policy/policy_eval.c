/*
 * policy_eval.c - the decision function (docs/policies.md): (merged pack, action,
 * registry entry) -> decision, severity, rule id, reason, approver group.
 *
 * Pure: it reads the pack and the action and writes the result, nothing else.  Temporary
 * normalised copies of paths and commands are allocated and freed inside the call.
 */
#include "base/base.h"
#include "base/utf8.h"
#include "base/xalloc.h"
#include "policy/policy.h"
#include "policy/policy_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define GROUP_PLATFORM_SECURITY "Platform Security"
#define GROUP_REPO_OWNERS	"Repository Owners"
#define GROUP_AI_GOVERNANCE	"AI Governance"

/* Longest part of a target or pattern quoted in a reason. */
#define QUOTE "'%.160s'"

static const char *const decision_names[POLICY_DECISION_COUNT] = {
	[POLICY_ALLOW] = "allow",
	[POLICY_BLOCK] = "block",
	[POLICY_REQUIRE_APPROVAL] = "require_approval",
	[POLICY_WARN] = "warn",
	[POLICY_AUDIT_ONLY] = "audit_only",
	[POLICY_ALLOW_WITH_ATTESTATION] = "allow_with_attestation",
};

static const char *const severity_names[POLICY_SEVERITY_COUNT] = {
	[POLICY_SEV_LOW] = "low",
	[POLICY_SEV_MEDIUM] = "medium",
	[POLICY_SEV_HIGH] = "high",
	[POLICY_SEV_CRITICAL] = "critical",
};

static const char *const tier_names[POLICY_TIER_COUNT] = {
	[POLICY_TIER_TRUSTED] = "trusted",	     [POLICY_TIER_APPROVED] = "approved",
	[POLICY_TIER_EXPERIMENTAL] = "experimental", [POLICY_TIER_BLOCKED] = "blocked",
	[POLICY_TIER_UNKNOWN] = "unknown",
};

static const char *const approval_names[POLICY_APPROVAL_COUNT] = {
	[POLICY_APPROVAL_PENDING] = "pending",
	[POLICY_APPROVAL_APPROVED] = "approved",
	[POLICY_APPROVAL_DENIED] = "denied",
};

static const char *name_of(const char *const *names, size_t n, unsigned v)
{
	return v < n ? names[v] : "unknown";
}

static bool parse_name(const char *const *names, size_t n, const char *s, unsigned *out)
{
	if (!s)
		return false;
	for (unsigned i = 0; i < n; i++) {
		if (strcmp(names[i], s) == 0) {
			*out = i;
			return true;
		}
	}
	return false;
}

const char *policy_decision_name(enum policy_decision d)
{
	return name_of(decision_names, ARRAY_SIZE(decision_names), (unsigned)d);
}

const char *policy_severity_name(enum policy_severity s)
{
	return name_of(severity_names, ARRAY_SIZE(severity_names), (unsigned)s);
}

const char *policy_tier_name(enum policy_trust_tier t)
{
	return name_of(tier_names, ARRAY_SIZE(tier_names), (unsigned)t);
}

const char *policy_approval_name(enum policy_approval_state a)
{
	return name_of(approval_names, ARRAY_SIZE(approval_names), (unsigned)a);
}

/* The public parsers: parse_name over one table, into that table's enum. */
#define NAME_PARSER(fn, type, names)                                                       \
	bool fn(const char *s, type *out) /* NOLINT(bugprone-macro-parentheses): a type */ \
	{                                                                                  \
		unsigned v;                                                                \
                                                                                           \
		if (!parse_name(names, ARRAY_SIZE(names), s, &v))                          \
			return false;                                                      \
		*out = (type)v;                                                            \
		return true;                                                               \
	}

NAME_PARSER(policy_decision_parse, enum policy_decision, decision_names)
NAME_PARSER(policy_severity_parse, enum policy_severity, severity_names)
NAME_PARSER(policy_tier_parse, enum policy_trust_tier, tier_names)
NAME_PARSER(policy_approval_parse, enum policy_approval_state, approval_names)

/* ---- helpers ---- */

static void decide(struct policy_result *r, enum policy_decision d, enum policy_severity s,
		   const char *rule, const char *group, const char *fmt, ...) ATTR_PRINTF(6, 7);

static void decide(struct policy_result *r, enum policy_decision d, enum policy_severity s,
		   const char *rule, const char *group, const char *fmt, ...)
{
	va_list ap;

	r->decision = d;
	r->severity = s;
	r->rule_id = rule;
	r->approver_group = group;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
}

/* First pattern of l matching s[0..n), or NULL. */
static const char *first_match(const struct strlist *l, const char *s, size_t n)
{
	for (size_t i = 0; i < l->n; i++)
		if (policy_match_n(l->v[i], s, n))
			return l->v[i];
	return NULL;
}

/* First entry of a registry list matching s (entries may be patterns), or NULL. */
static bool in_registry_list(const char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] && policy_match(v[i], s))
			return true;
	return false;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/*
 * Lexical path clean-up, so that "./.env", "a/../.env" and ".//.env" meet the same patterns as
 * ".env": drops empty and "." segments and resolves ".." against the segments before it.  A
 * leading '/' is kept.  Caller owns the result, free with free().  Lexical only, never
 * realpath(): the path names a file on the agent's machine, not on ours, and evaluation stays
 * pure.
 */
static char *normalize_path(const char *in)
{
	size_t n = strlen(in), o = 0, base;
	char *out = xmalloc(n + 2);
	const char *p = in;

	if (*p == '/')
		out[o++] = '/';
	base = o;
	while (*p) {
		const char *seg;
		size_t sl;

		while (*p == '/')
			p++;
		seg = p;
		while (*p && *p != '/')
			p++;
		sl = (size_t)(p - seg);
		if (sl == 0 || (sl == 1 && seg[0] == '.'))
			continue;
		if (sl == 2 && seg[0] == '.' && seg[1] == '.') {
			size_t k = o;

			while (k > base && out[k - 1] != '/')
				k--;
			if (o > k && !(o - k == 2 && out[k] == '.' && out[k + 1] == '.')) {
				o = k > base ? k - 1 : base; /* drop the segment and its '/' */
				continue;
			}
			if (base == 1)
				continue; /* "/.." is "/" */
		}
		if (o > base)
			out[o++] = '/';
		memcpy(out + o, seg, sl);
		o += sl;
	}
	out[o] = '\0';
	return out;
}

/* ---- filesystem ---- */

/*
 * Patterns are tried on the normalised path and then on the path as given: normalising defeats
 * "./a/../.env" tricks, and the raw form keeps patterns written for the exact text working.
 * Reads are allowed unless blocked, since an agent that cannot read cannot work.
 */
static void eval_read(const struct policy_pack *pack, const char *target, struct policy_result *r)
{
	char *norm = normalize_path(target);
	const struct strlist *l = &pack->lists[POLICY_LIST_FS_BLOCK_READ];
	const char *hit = first_match(l, norm, strlen(norm));

	if (!hit)
		hit = first_match(l, target, strlen(target));
	if (hit)
		decide(r, POLICY_BLOCK, POLICY_SEV_HIGH, "filesystem.read.block", NULL,
		       "read of " QUOTE " matches filesystem.block_read pattern " QUOTE, target,
		       hit);
	else
		decide(r, POLICY_ALLOW, POLICY_SEV_LOW, "filesystem.read.allow", NULL,
		       "read of " QUOTE " matches no filesystem.block_read pattern", target);
	free(norm);
}

/* Matches the normalised path, then the path as given. */
static const char *path_match(const struct strlist *l, const char *norm, const char *target)
{
	const char *hit = first_match(l, norm, strlen(norm));

	return hit ? hit : first_match(l, target, strlen(target));
}

/* The strongest list is consulted first, so a path in both block and approval lists is blocked. */
static void eval_write(const struct policy_pack *pack, const char *target, struct policy_result *r)
{
	char *norm = normalize_path(target);
	const char *hit;

	hit = path_match(&pack->lists[POLICY_LIST_FS_BLOCK_WRITE], norm, target);
	if (hit) {
		decide(r, POLICY_BLOCK, POLICY_SEV_HIGH, "filesystem.write.block", NULL,
		       "write to " QUOTE " matches filesystem.block_write pattern " QUOTE, target,
		       hit);
		goto out;
	}
	hit = path_match(&pack->lists[POLICY_LIST_FS_REQUIRE_APPROVAL_WRITE], norm, target);
	if (hit) {
		decide(r, POLICY_REQUIRE_APPROVAL, POLICY_SEV_HIGH,
		       "filesystem.write.require_approval", GROUP_PLATFORM_SECURITY,
		       "write to " QUOTE
		       " matches filesystem.require_approval_write pattern " QUOTE,
		       target, hit);
		goto out;
	}
	decide(r, POLICY_ALLOW, POLICY_SEV_LOW, "filesystem.write.allow", NULL,
	       "write to " QUOTE " matches no filesystem.block_write or "
	       "filesystem.require_approval_write pattern",
	       target);
out:
	free(norm);
}

/* ---- commands ---- */

/* Trims and collapses blanks to single spaces (newlines kept: they separate commands). */
static char *normalize_command(const char *in)
{
	char *out = xmalloc(strlen(in) + 1);
	size_t o = 0;
	bool pending = false;

	for (const char *p = in; *p; p++) {
		if (is_blank(*p)) {
			pending = o > 0;
			continue;
		}
		if (pending && *p != '\n' && out[o - 1] != '\n')
			out[o++] = ' ';
		pending = false;
		out[o++] = *p;
	}
	out[o] = '\0';
	return out;
}

/*
 * s with the shell's quoting taken out: every ' and " dropped, a backslash dropped and the
 * character after it kept.  What the shell runs for `cat ".env"` or `git push origin m\ain` is
 * `cat .env` and `git push origin main`: block and approval patterns see both forms.
 */
static char *unquote(const char *s)
{
	char *out = xmalloc(strlen(s) + 1), *o = out;

	for (; *s; s++) {
		if (*s == '\'' || *s == '"')
			continue;
		if (*s == '\\' && s[1])
			s++;
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

static bool is_separator(char c)
{
	return c == ';' || c == '\n' || c == '&' || c == '|';
}

/*
 * Steps through the simple commands of s, split at ; & | && || and newlines.  *pos is the scan
 * position; returns false when there are no more non-empty segments.
 */
static bool next_segment(const char *s, size_t *pos, const char **seg, size_t *len)
{
	size_t i = *pos, start, end;

	while (s[i] && (is_separator(s[i]) || s[i] == ' '))
		i++;
	if (!s[i])
		return false;
	start = i;
	while (s[i] && !is_separator(s[i]))
		i++;
	end = i;
	while (end > start && s[end - 1] == ' ')
		end--;
	*pos = i;
	*seg = s + start;
	*len = end - start;
	return true;
}

/* Block patterns see the whole command and then every simple command inside it. */
static const char *segments_match(const struct strlist *block, const char *cmd)
{
	const char *hit = first_match(block, cmd, strlen(cmd));
	const char *seg;
	size_t pos = 0, len;

	while (!hit && next_segment(cmd, &pos, &seg, &len))
		hit = first_match(block, seg, len);
	return hit;
}

/* The same, on the command as written and with its quoting taken out (unquote). */
static const char *command_blocked(const struct strlist *block, const char *cmd)
{
	const char *hit = segments_match(block, cmd);
	char *plain;

	if (hit || !strpbrk(cmd, "'\"\\"))
		return hit;
	plain = unquote(cmd);
	hit = segments_match(block, plain);
	free(plain);
	return hit;
}

/*
 * The allow list applies only when every simple command matches it and nothing can smuggle a
 * command or a write past it: no command substitution, no redirection.  Returns the pattern
 * the first simple command matched, or NULL.
 */
static const char *command_allowed(const struct strlist *allow, const char *cmd)
{
	const char *first = NULL, *seg;
	size_t pos = 0, len;

	if (strpbrk(cmd, "`><") || strstr(cmd, "$("))
		return NULL;
	while (next_segment(cmd, &pos, &seg, &len)) {
		const char *hit = first_match(allow, seg, len);

		if (!hit)
			return NULL;
		if (!first)
			first = hit;
	}
	return first;
}

/*
 * Unlike files, a command outside every list is not allowed but sent for approval: the set of
 * harmless commands is small and known, the set of harmful ones is not.  Commands that "apply"
 * or "delete" are graded critical because they change infrastructure or data for good.
 */
static void eval_command(const struct policy_pack *pack, const char *target,
			 struct policy_result *r)
{
	char *cmd = normalize_command(target);
	const char *hit;

	hit = command_blocked(&pack->lists[POLICY_LIST_CMD_BLOCK], cmd);
	if (hit) {
		bool critical = strstr(cmd, "apply") || strstr(cmd, "delete");

		decide(r, POLICY_BLOCK, critical ? POLICY_SEV_CRITICAL : POLICY_SEV_HIGH,
		       "commands.block", NULL,
		       "command " QUOTE " matches commands.block pattern " QUOTE, cmd, hit);
		goto out;
	}
	/* Before the allow list: a command both allowed and listed for approval needs approval. */
	hit = command_blocked(&pack->lists[POLICY_LIST_CMD_REQUIRE_APPROVAL], cmd);
	if (hit) {
		decide(r, POLICY_REQUIRE_APPROVAL, POLICY_SEV_HIGH, "commands.require_approval",
		       GROUP_REPO_OWNERS,
		       "command " QUOTE " matches commands.require_approval pattern " QUOTE, cmd,
		       hit);
		goto out;
	}
	hit = command_allowed(&pack->lists[POLICY_LIST_CMD_ALLOW], cmd);
	if (hit) {
		decide(r, POLICY_ALLOW, POLICY_SEV_LOW, "commands.allow", NULL,
		       "command " QUOTE " matches commands.allow pattern " QUOTE, cmd, hit);
		goto out;
	}
	decide(r, POLICY_REQUIRE_APPROVAL, POLICY_SEV_MEDIUM, "commands.default.require_approval",
	       GROUP_REPO_OWNERS,
	       "command " QUOTE " matches no commands.allow pattern of pack '%s'", cmd, pack->id);
out:
	free(cmd);
}

/* ---- git ---- */

/* Next blank-separated word of *cur, or false at the end. */
static bool next_word(const char **cur, const char **w, size_t *len)
{
	const char *p = *cur;

	while (*p && (is_blank(*p) || *p == '\n'))
		p++;
	if (!*p)
		return false;
	*w = p;
	while (*p && !is_blank(*p) && *p != '\n')
		p++;
	*len = (size_t)(p - *w);
	*cur = p;
	return true;
}

static bool word_is(const char *w, size_t len, const char *s)
{
	return strlen(s) == len && memcmp(w, s, len) == 0;
}

static bool has_word(const char *s, const char *word)
{
	const char *w;
	size_t len;

	while (s && next_word(&s, &w, &len))
		if (word_is(w, len, word))
			return true;
	return false;
}

/*
 * Checks one word naming where a push goes ("main", "origin/main", "refs/heads/main",
 * "HEAD:refs/heads/main", "+main"): the part after the last ':' is tested whole and from after
 * every '/', so a protected pattern "main" catches every spelling that ends in "/main".
 */
static const char *ref_protected(const struct strlist *prot, const char *w, size_t len)
{
	const char *colon = NULL;

	for (size_t i = 0; i < len; i++)
		if (w[i] == ':')
			colon = w + i;
	if (colon) {
		len -= (size_t)(colon + 1 - w);
		w = colon + 1;
	}
	while (len && *w == '+') {
		w++;
		len--;
	}
	for (size_t i = 0; i <= len; i++) {
		if (i == 0 || w[i - 1] == '/') {
			const char *hit = first_match(prot, w + i, len - i);

			if (hit)
				return hit;
		}
	}
	return NULL;
}

/* Looks for a protected ref among the words of s, skipping "git", "push" and flags. */
static const char *push_protected(const struct strlist *prot, const char *s)
{
	const char *w, *hit;
	size_t len;

	while (s && next_word(&s, &w, &len)) {
		if (w[0] == '-' || word_is(w, len, "git") || word_is(w, len, "push"))
			continue;
		hit = ref_protected(prot, w, len);
		if (hit)
			return hit;
	}
	return NULL;
}

/* Creating a pull request: "pull_request", "create_pull_request", "gh pr create". */
static bool is_pull_request(const char *s)
{
	return has_word(s, "pull_request") || has_word(s, "create_pull_request") ||
	       has_word(s, "pull-request") || (has_word(s, "pr") && has_word(s, "create"));
}

/* The first push target of op or target matching l, or NULL. */
static const char *push_match(const struct strlist *l, const char *target, const char *op)
{
	const char *hit = push_protected(l, target);

	return hit ? hit : push_protected(l, op);
}

/* Whether a word of s names a push whatever its case or joiner ("push", "force_push"). */
static bool names_push(const char *s)
{
	const char *w;
	size_t len;

	while (s && next_word(&s, &w, &len))
		for (size_t i = 0; i + 4 <= len; i++)
			if (strncasecmp(w + i, "push", 4) == 0)
				return true;
	return false;
}

/* A push of every branch ("--all", "--mirror") reaches the protected ones too. */
static const char *push_all(const struct strlist *prot, const char *target, const char *op)
{
	if (!prot->n)
		return NULL;
	if (has_word(target, "--all") || has_word(op, "--all"))
		return "--all";
	if (has_word(target, "--mirror") || has_word(op, "--mirror"))
		return "--mirror";
	return NULL;
}

/* op (NULL: none) and target with their quoting taken out (unquote). */
static void eval_git_words(const struct policy_pack *pack, const char *op, const char *target,
			   struct policy_result *r)
{
	bool push = op ? names_push(op) : names_push(target);
	const struct strlist *prot = &pack->lists[POLICY_LIST_GIT_PROTECTED_BRANCHES];
	const char *hit;

	hit = push ? push_match(&pack->lists[POLICY_LIST_GIT_BLOCK_PUSH_BRANCHES], target, op)
		   : NULL;
	if (hit) {
		decide(r, POLICY_BLOCK, POLICY_SEV_HIGH, "git.block_push_branches", NULL,
		       "push to " QUOTE " targets a branch matching git.block_push_branches "
		       "pattern " QUOTE,
		       *target ? target : op, hit);
		return;
	}
	/* Explicitly false switches the protected-branch rule off; unset keeps it on. */
	if (push && pack->flags[POLICY_FLAG_GIT_BLOCK_DIRECT_PUSH] != POLICY_FLAG_FALSE) {
		hit = push_match(prot, target, op);
		hit = hit ? hit : push_all(prot, target, op);
	}
	if (hit)
		decide(r, POLICY_BLOCK, POLICY_SEV_HIGH, "git.protected_branch.block_direct_push",
		       NULL,
		       "push to " QUOTE " targets a branch matching git.protected_branches "
		       "pattern " QUOTE,
		       *target ? target : op, hit);
	else if (!push && is_pull_request(op ? op : target))
		decide(r, POLICY_ALLOW_WITH_ATTESTATION, POLICY_SEV_MEDIUM,
		       "git.pull_request.allow_with_attestation", NULL,
		       "pull request " QUOTE " on " QUOTE " is allowed with an attestation",
		       op ? op : "", target);
	else
		decide(r, POLICY_ALLOW, POLICY_SEV_LOW, "git.allow", NULL,
		       "git operation " QUOTE " on " QUOTE " is not a push to a protected branch",
		       op ? op : "", target);
}

static void eval_git(const struct policy_pack *pack, const struct policy_action *a,
		     struct policy_result *r)
{
	char *op = a->operation && *a->operation ? unquote(a->operation) : NULL;
	char *target = unquote(a->target ? a->target : "");

	eval_git_words(pack, op, target, r);
	free(op);
	free(target);
}

/* ---- mcp ---- */

/* Matches tool patterns against "tool" and "server/tool". */
static const char *tool_match(const struct strlist *l, const char *server, const char *tool)
{
	const char *hit = first_match(l, tool, strlen(tool));
	char *full;

	if (hit || !*server)
		return hit;
	full = xasprintf("%s/%s", server, tool);
	hit = first_match(l, full, strlen(full));
	free(full);
	return hit;
}

static bool server_needs_approval(const struct policy_mcp_server *s)
{
	return s->approval_state == POLICY_APPROVAL_PENDING ||
	       s->trust_tier == POLICY_TIER_UNKNOWN || s->trust_tier == POLICY_TIER_EXPERIMENTAL;
}

/* Registry checks that the server's own tool and capability lists impose. */
static bool mcp_outside_lists(const struct policy_mcp_server *s, const char *server,
			      const char *tool, const char *cap, struct policy_result *r)
{
	if (s->allowed_tools_len &&
	    !in_registry_list(s->allowed_tools, s->allowed_tools_len, tool)) {
		decide(r, POLICY_REQUIRE_APPROVAL, POLICY_SEV_MEDIUM, "mcp.tool.require_approval",
		       GROUP_AI_GOVERNANCE,
		       "tool " QUOTE " is not in the allowed tools of server " QUOTE, tool, server);
		return true;
	}
	if (*cap && s->capabilities_len &&
	    !in_registry_list(s->capabilities, s->capabilities_len, cap)) {
		decide(r, POLICY_REQUIRE_APPROVAL, POLICY_SEV_MEDIUM, "mcp.tool.require_approval",
		       GROUP_AI_GOVERNANCE,
		       "capability " QUOTE " is not in the capabilities of server " QUOTE, cap,
		       server);
		return true;
	}
	return false;
}

/* Pack rules that name servers, tools or capabilities; true when one decided. */
static bool mcp_pack_rules(const struct policy_pack *pack, const char *server, const char *tool,
			   const char *cap, struct policy_result *r)
{
	const char *hit;

	hit = tool_match(&pack->lists[POLICY_LIST_MCP_REQUIRE_APPROVAL_TOOLS], server, tool);
	if (hit) {
		decide(r, POLICY_REQUIRE_APPROVAL, POLICY_SEV_MEDIUM, "mcp.tool.require_approval",
		       GROUP_AI_GOVERNANCE,
		       "tool " QUOTE " matches mcp.require_approval_tools pattern " QUOTE, tool,
		       hit);
		return true;
	}
	hit = first_match(&pack->lists[POLICY_LIST_MCP_REQUIRE_APPROVAL_CAPABILITIES], cap,
			  strlen(cap));
	if (*cap && hit) {
		decide(r, POLICY_REQUIRE_APPROVAL, POLICY_SEV_MEDIUM,
		       "mcp.capability.require_approval", GROUP_AI_GOVERNANCE,
		       "capability " QUOTE
		       " matches mcp.require_approval_capabilities pattern " QUOTE,
		       cap, hit);
		return true;
	}
	return false;
}

/* mcp.allowlist_enabled or mcp.block_unknown_servers on, and server outside allowed_servers. */
static bool outside_allowlist(const struct policy_pack *pack, const char *server)
{
	const struct strlist *allowed = &pack->lists[POLICY_LIST_MCP_ALLOWED_SERVERS];

	if (pack->flags[POLICY_FLAG_MCP_ALLOWLIST_ENABLED] != POLICY_FLAG_TRUE &&
	    pack->flags[POLICY_FLAG_MCP_BLOCK_UNKNOWN_SERVERS] != POLICY_FLAG_TRUE)
		return false;
	return !first_match(allowed, server, strlen(server));
}

static void not_allowlisted(const struct policy_pack *pack, const char *server, bool block,
			    struct policy_result *r)
{
	decide(r, block ? POLICY_BLOCK : POLICY_REQUIRE_APPROVAL,
	       block ? POLICY_SEV_HIGH : POLICY_SEV_MEDIUM, "mcp.server.not_allowlisted",
	       block ? NULL : GROUP_AI_GOVERNANCE,
	       "mcp server " QUOTE " matches no mcp.allowed_servers pattern of pack '%s'%s", server,
	       pack->id, block ? " (mcp.block_unknown_servers)" : "");
}

/* The rules that block a call outright, in order; true when one decided. */
static bool mcp_blocks(const struct policy_pack *pack, const char *server, const char *tool,
		       const struct policy_mcp_server *s, struct policy_result *r)
{
	const char *hit;

	hit = first_match(&pack->lists[POLICY_LIST_MCP_BLOCKED_SERVERS], server, strlen(server));
	if (hit) {
		decide(r, POLICY_BLOCK, POLICY_SEV_HIGH, "mcp.server.blocked", NULL,
		       "mcp server " QUOTE " matches mcp.blocked_servers pattern " QUOTE, server,
		       hit);
	} else if (!s) {
		decide(r, POLICY_BLOCK, POLICY_SEV_HIGH, "mcp.registry.unknown", NULL,
		       "mcp server " QUOTE " is not in the registry", server);
	} else if (s->unvouched) {
		decide(r, POLICY_BLOCK, POLICY_SEV_HIGH, "mcp.registry.unvouched", NULL,
		       "the registry record of mcp server " QUOTE " is not what the audit chain "
		       "last recorded for it: written or changed in the database",
		       server);
	} else if (s->trust_tier == POLICY_TIER_BLOCKED ||
		   s->approval_state == POLICY_APPROVAL_DENIED) {
		decide(r, POLICY_BLOCK, POLICY_SEV_HIGH, "mcp.server.blocked", NULL,
		       "mcp server " QUOTE " is %s in the registry (trust tier %s, approval %s)",
		       server, s->trust_tier == POLICY_TIER_BLOCKED ? "blocked" : "denied",
		       policy_tier_name(s->trust_tier), policy_approval_name(s->approval_state));
	} else if (pack->flags[POLICY_FLAG_MCP_BLOCK_UNKNOWN_SERVERS] == POLICY_FLAG_TRUE &&
		   outside_allowlist(pack, server)) {
		not_allowlisted(pack, server, true, r);
	} else if ((hit = tool_match(&pack->lists[POLICY_LIST_MCP_BLOCKED_TOOLS], server, tool))) {
		decide(r, POLICY_BLOCK, POLICY_SEV_HIGH, "mcp.tool.blocked", NULL,
		       "tool " QUOTE " matches mcp.blocked_tools pattern " QUOTE, tool, hit);
	} else {
		return false;
	}
	return true;
}

/*
 * Outright blocks first, then the pack's allowlist, then the server's own trust and approval,
 * then its tool and capability lists and the pack's rules: the first step that decides wins,
 * so a registry record can never undo a pack's block or allowlist.
 */
static void eval_mcp(const struct policy_pack *pack, const struct policy_action *a,
		     const struct policy_mcp_server *s, struct policy_result *r)
{
	const char *server = a->server ? a->server : a->target ? a->target : "";
	const char *tool = a->tool ? a->tool : "";
	const char *cap = a->capability ? a->capability : "";

	if (mcp_blocks(pack, server, tool, s, r))
		return;
	if (outside_allowlist(pack, server)) {
		not_allowlisted(pack, server, false, r);
		return;
	}
	if (server_needs_approval(s)) {
		decide(r, POLICY_REQUIRE_APPROVAL, POLICY_SEV_MEDIUM, "mcp.server.require_approval",
		       GROUP_AI_GOVERNANCE,
		       "mcp server " QUOTE " needs approval (trust tier %s, approval %s)", server,
		       policy_tier_name(s->trust_tier), policy_approval_name(s->approval_state));
		return;
	}
	if (mcp_outside_lists(s, server, tool, cap, r) ||
	    mcp_pack_rules(pack, server, tool, cap, r))
		return;
	decide(r, POLICY_ALLOW, POLICY_SEV_LOW, "mcp.tool.allow", NULL,
	       "tool " QUOTE " of %s mcp server " QUOTE " is allowed", tool,
	       policy_tier_name(s->trust_tier), server);
}

/* mcp.risk_scoring: the level of the first server pattern matching grades the decision. */
static void apply_risk(const struct policy_pack *pack, const struct policy_action *a,
		       struct policy_result *r)
{
	const char *server = a->server ? a->server : a->target ? a->target : "";

	for (size_t k = 0; k < pack->risk.keys.n; k++) {
		if (policy_match(pack->risk.keys.v[k], server)) {
			r->severity = pack->risk_levels[k];
			return;
		}
	}
}

/* Which approvals.<class> routes the approval a rule asks for; NULL: the built-in group. */
static const char *approval_class(const char *rule)
{
	if (strcmp(rule, "commands.require_approval") == 0)
		return "protected_actions";
	if (strcmp(rule, "filesystem.write.require_approval") == 0)
		return "security_settings";
	if (strncmp(rule, "mcp.", 4) == 0)
		return "mcp_servers";
	if (strcmp(rule, "input.hidden_characters") == 0)
		return "hidden_characters";
	return NULL;
}

/*
 * The pack may name approvers per class of approval; the first becomes the approver group, so
 * that a decision is routed even without routing rules.  Without a class the rule's built-in
 * group stays.
 */
static void route(const struct policy_pack *pack, struct policy_result *r)
{
	const char *cls =
		r->decision == POLICY_REQUIRE_APPROVAL ? approval_class(r->rule_id) : NULL;
	size_t i = cls ? policy_listmap_find(&pack->approvals, cls) : 0;

	if (!cls || i == pack->approvals.keys.n || pack->approvals.vals[i].n == 0)
		return;
	r->approval_class = cls;
	r->approvers = (const char *const *)pack->approvals.vals[i].v;
	r->approvers_len = pack->approvals.vals[i].n;
	r->approver_group = r->approvers[0];
}

/*
 * metadata.mode audit_only: record what enforcing would have answered, and let it through:
 * the answer is allow (the harness needs no new outcome to obey), would_* keep the rest.
 */
static void audit_only(struct policy_result *r)
{
	char reason[POLICY_REASON_MAX];

	if (r->decision != POLICY_BLOCK && r->decision != POLICY_REQUIRE_APPROVAL &&
	    r->decision != POLICY_WARN)
		return;
	r->would_decision = r->decision;
	r->would_rule_id = r->rule_id;
	r->decision = POLICY_ALLOW;
	r->approver_group = NULL;
	r->approval_class = NULL;
	r->approvers = NULL;
	r->approvers_len = 0;
	snprintf(reason, sizeof(reason), "audit_only mode: would %s: %.400s",
		 policy_decision_name(r->would_decision), r->reason);
	memcpy(r->reason, reason, sizeof(reason));
}

/*
 * Text a person reads before approving could show something other than its bytes: a
 * command behind U+202E reads backwards, a zero-width space or a carriage return hides where a
 * word ends or what a terminal line held.  The rules judge the bytes, so such an action keeps
 * a block or an approval it earned; anything weaker is sent for approval, naming the field and
 * the code point, so that a person looks at it (the console shows the character as a marker):
 * AI Governance for an MCP call, as the MCP rules' approvals, else Repository Owners.  A pack
 * with input.block_hidden_characters blocks such an action instead, whatever the rules said.
 */
static void hidden_characters(const struct policy_pack *pack, const struct policy_action *a,
			      struct policy_result *r)
{
	const char *const fields[][2] = {{"target", a->target},
					 {"operation", a->operation},
					 {"server", a->server},
					 {"tool", a->tool},
					 {"capability", a->capability}};
	bool mcp = a->action_type && strcmp(a->action_type, "mcp_tool_call") == 0;
	bool block = pack->flags[POLICY_FLAG_INPUT_BLOCK_HIDDEN] == POLICY_FLAG_TRUE;
	unsigned int cp;
	size_t at;

	if (r->decision == POLICY_BLOCK || (r->decision == POLICY_REQUIRE_APPROVAL && !block))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		if (!fields[i][1] || !utf8_find_hidden(fields[i][1], &cp, &at))
			continue;
		decide(r, block ? POLICY_BLOCK : POLICY_REQUIRE_APPROVAL, POLICY_SEV_HIGH,
		       "input.hidden_characters",
		       block ? NULL
		       : mcp ? GROUP_AI_GOVERNANCE
			     : GROUP_REPO_OWNERS,
		       "%s holds U+%04X at byte %zu, a character that is not shown or that changes "
		       "how the text around it reads: %s",
		       fields[i][0], cp, at,
		       block ? "blocked by input.block_hidden_characters" : "approval required");
		return;
	}
}

/* ---- entry point ---- */

/*
 * Unknown action types are not allowed by default but sent for approval: a new kind of action
 * from a newer harness must not slip through a pack written before it existed.  The check for
 * hidden characters, routing and audit_only run last so that they see the final decision
 * whatever produced it.
 */
void policy_evaluate(const struct policy_pack *pack, const struct policy_action *action,
		     const struct policy_mcp_server *server, struct policy_result *out)
{
	const char *type = action->action_type ? action->action_type : "";
	const char *target = action->target ? action->target : "";

	memset(out, 0, sizeof(*out));
	out->policy_id = pack->id;
	if (strcmp(type, "read_file") == 0)
		eval_read(pack, target, out);
	else if (strcmp(type, "write_file") == 0)
		eval_write(pack, target, out);
	else if (strcmp(type, "execute_command") == 0)
		eval_command(pack, target, out);
	else if (strcmp(type, "git_operation") == 0)
		eval_git(pack, action, out);
	else if (strcmp(type, "mcp_tool_call") == 0) {
		eval_mcp(pack, action, server, out);
		apply_risk(pack, action, out);
	} else
		decide(out, POLICY_REQUIRE_APPROVAL, POLICY_SEV_MEDIUM,
		       "runtime.default.require_approval", GROUP_REPO_OWNERS,
		       "action type " QUOTE " has no rules of its own: approval required", type);
	hidden_characters(pack, action, out);
	route(pack, out);
	if (pack->mode == POLICY_MODE_AUDIT_ONLY)
		audit_only(out);
}
