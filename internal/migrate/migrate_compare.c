/*
 * migrate_compare.c - the pure comparison of a migration set with a ledger:
 * the state of every migration and every problem, all at once.
 */
#include "base/base.h"
#include "migrate/migrate.h"
#include "base/xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Pure on purpose: `migrate status`, `migrate verify`, serve's start-up check and the runner
 * (under its lock) all judge a database by this one function, so they can never disagree about
 * what is pending or drifted, and its unit tests need no database.
 */
static const char *const state_names[] = {
	[MIG_APPLIED] = "applied", [MIG_PENDING] = "pending", [MIG_DRIFTED] = "drifted",
	[MIG_MISSING] = "missing", [MIG_UNKNOWN] = "unknown", [MIG_NEWER] = "newer",
};

/* Stable names: `migrate status` and `migrate verify` print them, and scripts may match on them. */
static const char *const problem_names[] = {
	[PROB_DRIFTED] = "drifted", [PROB_MISSING] = "missing",
	[PROB_UNKNOWN] = "unknown", [PROB_OUT_OF_ORDER] = "out_of_order",
	[PROB_NEWER] = "newer",
};

const char *migrate_state_name(enum mig_state s)
{
	return state_names[s];
}

const char *migrate_problem_kind_name(enum problem_kind k)
{
	return problem_names[k];
}

static void add_problem(struct migrate_report *r, enum problem_kind kind, int version,
			const char *fmt, ...) ATTR_PRINTF(4, 5);

static void add_problem(struct migrate_report *r, enum problem_kind kind, int version,
			const char *fmt, ...)
{
	struct problem *p;
	va_list ap;

	r->problems = xrealloc(r->problems, (r->nproblems + 1) * sizeof(*r->problems));
	p = &r->problems[r->nproblems++];
	p->kind = kind;
	p->version = version;
	va_start(ap, fmt);
	vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
	va_end(ap);
}

static const struct ledger_row *find_row(const struct ledger *l, int version)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->rows[i].version == version)
			return &l->rows[i];
	return NULL;
}

static struct mig_entry *new_entry(struct migrate_report *r)
{
	struct mig_entry *m;

	r->entries = xrealloc(r->entries, (r->n + 1) * sizeof(*r->entries));
	m = &r->entries[r->n++];
	memset(m, 0, sizeof(*m));
	return m;
}

/* One file of the set against its ledger row (if any). */
/*
 * A ledger row with this version but another name means the file that was applied is gone and
 * a different one took its number; that is reported as missing rather than drifted, because
 * the fix is to restore the file, not to review an edit.  A legacy row has no checksum and is
 * never reported as drifted.
 */
static void compare_file(struct migrate_report *r, const struct migration *m,
			 const struct ledger_row *row)
{
	struct mig_entry *en = new_entry(r);

	en->version = m->version;
	en->name = m->name;
	en->checksum = m->checksum;
	en->compatibility = migrate_compat_name(m->compat);
	if (!row) {
		en->state = MIG_PENDING;
		r->pending++;
		return;
	}
	en->applied_checksum = row->checksum;
	en->applied_at = row->applied_at;
	en->state = MIG_APPLIED;
	if (row->name && strcmp(row->name, m->name) != 0) {
		en->state = MIG_MISSING;
		add_problem(r, PROB_MISSING, m->version,
			    "applied migration '%s' has no file: the set has '%s' as version %d",
			    row->id, m->file, m->version);
	} else if (row->checksum && strcmp(row->checksum, m->checksum) != 0) {
		en->state = MIG_DRIFTED;
		add_problem(r, PROB_DRIFTED, m->version,
			    "'%s' changed after it was applied: applied checksum %s, file "
			    "checksum %s",
			    m->file, row->checksum, m->checksum);
	}
}

/* Ledger rows that no file of the set accounts for. */
/*
 * A version above the set means an older binary is running against a newer schema (a rolling
 * upgrade, or a rollback of the image without a rollback of the database).  That is fine when
 * its ledger row declares it backward compatible (expand/contract, docs/migrations.md); any
 * other is reported by name, because the answer is to deploy the newer binary, never to "fix"
 * the ledger.
 */
static void compare_newer_row(struct migrate_report *r, const struct migration_set *set,
			      const struct ledger_row *row, struct mig_entry *en)
{
	if (row->compatibility && strcmp(row->compatibility, "backward") == 0) {
		en->state = MIG_NEWER;
		r->newer_compatible++;
		return;
	}
	add_problem(r, PROB_NEWER, row->version,
		    "database schema is newer than this binary: '%s' (version %d) is applied and "
		    "%s, so binaries of earlier schemas must not run on it; this binary knows "
		    "versions up to %zu",
		    row->id, row->version,
		    row->compatibility ? "declared contract" : "not declared backward compatible",
		    set->n);
}

static void compare_extra_rows(struct migrate_report *r, const struct migration_set *set,
			       const struct ledger *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct ledger_row *row = &l->rows[i];
		struct mig_entry *en;

		if (row->version >= 1 && (size_t)row->version <= set->n)
			continue;
		en = new_entry(r);
		en->version = row->version;
		en->name = row->name ? row->name : row->id;
		en->state = MIG_UNKNOWN;
		en->applied_checksum = row->checksum;
		en->applied_at = row->applied_at;
		en->compatibility = row->compatibility;
		if (row->version > (int)set->n)
			compare_newer_row(r, set, row, en);
		else
			add_problem(r, PROB_UNKNOWN, row->version,
				    "ledger entry '%s' is not a migration this binary knows",
				    row->id);
	}
}

/*
 * A pending migration below the applied version means someone inserted a file into history;
 * applying it now would run it against a schema it was not written for.
 */
static void check_order(struct migrate_report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct mig_entry *en = &r->entries[i];

		if (en->state == MIG_PENDING && en->version < r->schema_version)
			add_problem(r, PROB_OUT_OF_ORDER, en->version,
				    "version %d (%s) is pending but version %d is already applied",
				    en->version, en->name, r->schema_version);
	}
}

void migrate_compare(const struct migration_set *set, const struct ledger *ledger,
		     struct migrate_report *out)
{
	memset(out, 0, sizeof(*out));
	out->ledger = ledger->kind;
	out->latest_version = set->n ? set->items[set->n - 1].version : 0;
	for (size_t i = 0; i < ledger->n; i++)
		if (ledger->rows[i].version > out->schema_version)
			out->schema_version = ledger->rows[i].version;
	for (size_t i = 0; i < set->n; i++)
		compare_file(out, &set->items[i], find_row(ledger, set->items[i].version));
	compare_extra_rows(out, set, ledger);
	check_order(out);
}

void migrate_report_release(struct migrate_report *r)
{
	if (!r)
		return;
	free(r->entries);
	free(r->problems);
	memset(r, 0, sizeof(*r));
}
