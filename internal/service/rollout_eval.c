/*
 * rollout_eval.c - the pure rules of policy rollouts: what outcome a
 * recorded decision would have under a mode and state, which outcome each
 * list of a pack gives, and the readiness checks (docs/api.md, "Policy
 * rollout drill-down").
 *
 * One mapping serves the drill-down's readiness and the change plan, so the
 * share a check reports is exactly what a plan to the target mode counts.
 */
#include "base/base.h"
#include "service/rollout.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static bool is(const char *a, const char *b)
{
	return a && strcmp(a, b) == 0;
}

/* A decision the pack stopped or flagged: what audit_only lets through. */
static bool stopping(const char *d)
{
	return is(d, "block") || is(d, "require_approval") || is(d, "warn");
}

/*
 * What enforcing answered.  A pack in audit_only records allow (the original: audit_only) and
 * keeps the enforcing answer in would_decision; any other decision is the enforcing answer.
 */
static const char *enforced(const char *decision, const char *would)
{
	if ((is(decision, "allow") || is(decision, "audit_only")) && stopping(would))
		return would;
	return decision;
}

static const char *const outcomes[] = {"allow", "block",      "require_approval",
				       "warn",	"audit_only", "allow_with_attestation"};

/* The static string equal to s, so that callers may keep the answer. */
static const char *intern(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(outcomes); i++)
		if (is(s, outcomes[i]))
			return outcomes[i];
	return "allow";
}

const char *rollout_outcome(const char *mode, const char *state, const char *decision,
			    const char *would)
{
	const char *d;

	if (!decision)
		return NULL;
	d = enforced(decision, would);
	if (!is(state, "active") || is(mode, "audit_only"))
		return stopping(d) || is(d, "audit_only") ? "allow" : intern(d);
	return intern(d);
}

const char *rollout_target_mode(const char *mode)
{
	return !mode || is(mode, "audit_only") ? "enforce" : mode;
}

const char *rollout_list_outcome(enum policy_list l)
{
	switch (l) {
	case POLICY_LIST_CMD_ALLOW:
	case POLICY_LIST_MCP_ALLOWED_SERVERS:
		return "allow";
	case POLICY_LIST_FS_REQUIRE_APPROVAL_WRITE:
	case POLICY_LIST_MCP_REQUIRE_APPROVAL_TOOLS:
	case POLICY_LIST_MCP_REQUIRE_APPROVAL_CAPABILITIES:
	case POLICY_LIST_CMD_REQUIRE_APPROVAL:
		return "require_approval";
	default: /* block lists, blocked servers and tools, protected branches */
		return "block";
	}
}

bool rollout_integration_usable(const char *status, const char *health)
{
	return (is(status, "active") || is(status, "configured")) && !is(health, "failed");
}

static void set(struct rollout_check_result *r, const char *name, bool passed, const char *fmt, ...)
	ATTR_PRINTF(4, 5);

static void set(struct rollout_check_result *r, const char *name, bool passed, const char *fmt, ...)
{
	va_list ap;

	memset(r, 0, sizeof(*r));
	r->name = name;
	r->passed = passed;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
}

static void value(struct rollout_check_result *r, double v, double threshold)
{
	r->has_value = r->has_threshold = true;
	r->value = v;
	r->threshold = threshold;
}

static void check_repository(const struct rollout_facts *f, struct rollout_check_result *r)
{
	if (f->repository_registered)
		set(r, "repository_registered", true, "repository '%.100s' is registered",
		    f->repository);
	else
		set(r, "repository_registered", false, "repository '%.100s' is not registered",
		    f->repository);
}

static void check_coverage(const struct rollout_facts *f, struct rollout_check_result *r)
{
	bool ok = f->coverage_percent >= ROLLOUT_COVERAGE_MIN;

	set(r, "coverage", ok, "coverage is %lld %%, %s %d %%", (long long)f->coverage_percent,
	    ok ? "at least" : "below", ROLLOUT_COVERAGE_MIN);
	value(r, (double)f->coverage_percent, ROLLOUT_COVERAGE_MIN);
}

static void check_count(struct rollout_check_result *r, const char *name, int64_t n,
			const char *what)
{
	if (n > 0)
		set(r, name, true, "%lld usable %s integration%s serve%s the repository",
		    (long long)n, what, n == 1 ? "" : "s", n == 1 ? "s" : "");
	else
		set(r, name, false,
		    "no %s integration that is configured or active and not failed serves the "
		    "repository",
		    what);
	value(r, (double)n, 1);
}

static void check_approvals(const struct rollout_facts *f, struct rollout_check_result *r)
{
	if (f->expired_pending == 0)
		set(r, "no_expired_pending_approvals", true,
		    "no pending approval is older than its expiry");
	else
		set(r, "no_expired_pending_approvals", false,
		    "%lld pending approval%s %s past %s expiry", (long long)f->expired_pending,
		    f->expired_pending == 1 ? "" : "s", f->expired_pending == 1 ? "is" : "are",
		    f->expired_pending == 1 ? "its" : "their");
	value(r, (double)f->expired_pending, 0);
}

/* Integer arithmetic decides; the percentages shown are only for people. */
static void check_share(const struct rollout_facts *f, struct rollout_check_result *r)
{
	double share = f->decisions ? (double)f->would_change / (double)f->decisions : 0;
	bool ok = f->would_change * 100 <= f->change_pct_max * f->decisions;

	if (f->decisions == 0)
		set(r, "outcome_change_share", true,
		    "no decisions in the last %d days: nothing would change under %s",
		    ROLLOUT_WINDOW_DAYS, f->target_mode);
	else
		set(r, "outcome_change_share", ok,
		    "%lld of %lld recent decisions (%.1f %%) would change outcome under %s, %s "
		    "%lld %%",
		    (long long)f->would_change, (long long)f->decisions, share * 100,
		    f->target_mode, ok ? "at most" : "more than", (long long)f->change_pct_max);
	value(r, share, (double)f->change_pct_max / 100.0);
}

bool rollout_readiness(const struct rollout_facts *f, struct rollout_check_result out[RC__COUNT])
{
	bool all = true;

	check_repository(f, &out[RC_REPOSITORY]);
	check_coverage(f, &out[RC_COVERAGE]);
	check_count(&out[RC_SOURCE_CONTROL], "source_control_integration", f->source_control,
		    "source-control");
	check_count(&out[RC_SIEM_STORAGE], "siem_or_storage_integration", f->siem_or_storage,
		    "SIEM or storage");
	check_approvals(f, &out[RC_APPROVALS]);
	check_share(f, &out[RC_CHANGE_SHARE]);
	for (int i = 0; i < RC__COUNT; i++)
		all = all && out[i].passed;
	return all;
}
