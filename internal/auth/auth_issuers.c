/*
 * auth_issuers.c - the set of trusted OIDC issuers (e.g. a workforce IdP for
 * people and a workload IdP for CI agents).  A token goes to the issuer its
 * iss names; that issuer then verifies everything, iss included.
 */
#include "base/base.h"
#include "auth/auth_int.h"
#include "base/xalloc.h"

#include <string.h>

struct auth_issuers {
	struct auth_oidc **v;
	size_t n;
};

struct auth_issuers *auth_issuers_new(void)
{
	return xcalloc(1, sizeof(struct auth_issuers));
}

void auth_issuers_free(struct auth_issuers *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++)
		auth_oidc_free(set->v[i]);
	free(set->v);
	free(set);
}

/*
 * Exact comparison, as OpenID Connect requires of issuer identifiers: a trailing slash or a
 * case difference is another issuer.  A deployment trusts a handful, so a scan is enough.
 */
static struct auth_oidc *find(const struct auth_issuers *set, const char *issuer)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(auth_oidc_issuer(set->v[i]), issuer) == 0)
			return set->v[i];
	return NULL;
}

/*
 * One issuer configured twice (with different audiences, say) would make which rules apply
 * depend on the order of the file, so it is refused at start-up.
 */
enum status auth_issuers_add(struct auth_issuers *set, struct auth_oidc *p, struct err *e)
{
	if (find(set, auth_oidc_issuer(p))) {
		enum status st = err_set(e, ST_CONFLICT, "issuer '%s' is configured twice",
					 auth_oidc_issuer(p));

		auth_oidc_free(p);
		return st;
	}
	/* an array of pointers: NOLINTNEXTLINE(bugprone-sizeof-expression) */
	set->v = xrealloc(set->v, (set->n + 1) * sizeof(*set->v));
	set->v[set->n++] = p;
	return ST_OK;
}

size_t auth_issuers_count(const struct auth_issuers *set)
{
	return set->n;
}

struct auth_oidc *auth_issuers_at(const struct auth_issuers *set, size_t i)
{
	return i < set->n ? set->v[i] : NULL;
}

enum status auth_issuers_verify(struct auth_issuers *set, const char *token, struct auth_jwt *out,
				struct auth_oidc **by, struct err *e)
{
	char shown[AUTH_SHOW_MAX];
	struct auth_oidc *p;
	char *iss = NULL;
	enum status st;

	memset(out, 0, sizeof(*out));
	if (by)
		*by = NULL;
	/* unverified: only picks whose keys to use; auth_oidc_verify checks iss again */
	st = auth_jwt_peek_issuer(token, &iss, e);
	if (st != ST_OK)
		return st;
	p = find(set, iss);
	if (!p)
		st = err_set(e, ST_UNAUTHENTICATED, "token issuer '%s' is not trusted",
			     auth_show(iss, shown));
	free(iss);
	if (!p)
		return st;
	if (by)
		*by = p;
	return auth_oidc_verify(p, token, out, e);
}
