/*
 * auth_claims.c - the registered claims of a signed token (RFC 7519 §4.1):
 * iss must equal, aud must contain, exp is required, nbf and iat are checked
 * when present; all times with the configured leeway.
 */
#include "base/base.h"
#include "auth/auth_int.h"
#include "json/jx.h"

#include <string.h>

/* NumericDate beyond year 9999 (or before 1970) is treated as garbage. */
#define CLAIM_TIME_MAX INT64_C(253402300799)

/* Reads NumericDate claim name; *present tells whether it was there. */
static enum status claim_time(json_object *c, const char *name, int64_t *out, bool *present,
			      struct err *e)
{
	json_object *v = NULL;
	double d;

	*present = false;
	if (!json_object_object_get_ex(c, name, &v) || !v)
		return ST_OK;
	if (json_object_is_type(v, json_type_int)) {
		*out = json_object_get_int64(v);
	} else if (json_object_is_type(v, json_type_double)) {
		d = json_object_get_double(v); /* NumericDate may have a fraction */
		if (!(d >= 0 && d <= (double)CLAIM_TIME_MAX))
			return err_set(e, ST_UNAUTHENTICATED, "token claim '%s' is out of range",
				       name);
		*out = (int64_t)d;
	} else {
		return err_set(e, ST_UNAUTHENTICATED, "token claim '%s' must be a number", name);
	}
	if (*out < 0 || *out > CLAIM_TIME_MAX)
		return err_set(e, ST_UNAUTHENTICATED, "token claim '%s' is out of range", name);
	*present = true;
	return ST_OK;
}

/*
 * exp is required: a token without it would be valid forever once leaked.  The leeway allows
 * for clock skew between the IdP and us in both directions.  The messages give the offsets in
 * seconds so an operator can tell a skewed clock from an old token.
 */
static enum status times_check(json_object *c, int64_t now, int64_t leeway, struct err *e)
{
	int64_t exp = 0, nbf = 0, iat = 0;
	bool has_exp, has_nbf, has_iat;

	if (claim_time(c, "exp", &exp, &has_exp, e) != ST_OK ||
	    claim_time(c, "nbf", &nbf, &has_nbf, e) != ST_OK ||
	    claim_time(c, "iat", &iat, &has_iat, e) != ST_OK)
		return ST_UNAUTHENTICATED;
	if (!has_exp)
		return err_set(e, ST_UNAUTHENTICATED, "token has no 'exp' claim");
	/* written so that no sum can overflow: claim values are bounded, now is sane */
	if (now - leeway >= exp)
		return err_set(e, ST_UNAUTHENTICATED, "token expired %lld s ago (leeway %lld s)",
			       (long long)(now - exp), (long long)leeway);
	if (has_nbf && nbf > now + leeway)
		return err_set(e, ST_UNAUTHENTICATED,
			       "token is not valid for another %lld s ('nbf', leeway %lld s)",
			       (long long)(nbf - now), (long long)leeway);
	if (has_iat && iat > now + leeway)
		return err_set(e, ST_UNAUTHENTICATED,
			       "token was issued %lld s in the future ('iat', leeway %lld s)",
			       (long long)(iat - now), (long long)leeway);
	return ST_OK;
}

/* RFC 7519 §4.1.3: one string or an array; a token for another API must not pass. */
static enum status aud_check(json_object *c, const char *want, struct err *e)
{
	char shown[AUTH_SHOW_MAX];
	json_object *v = NULL;
	size_t n;

	if (!json_object_object_get_ex(c, "aud", &v) || !v)
		return err_set(e, ST_UNAUTHENTICATED, "token has no 'aud' claim");
	if (json_object_is_type(v, json_type_string)) {
		if (strcmp(json_object_get_string(v), want) == 0)
			return ST_OK;
	} else if (json_object_is_type(v, json_type_array)) {
		n = json_object_array_length(v);
		for (size_t i = 0; i < n; i++) {
			json_object *a = json_object_array_get_idx(v, i);

			if (!json_object_is_type(a, json_type_string))
				return err_set(e, ST_UNAUTHENTICATED,
					       "token claim 'aud' must hold only strings");
			if (strcmp(json_object_get_string(a), want) == 0)
				return ST_OK;
		}
	} else {
		return err_set(e, ST_UNAUTHENTICATED,
			       "token claim 'aud' must be a string or an array of strings");
	}
	return err_set(e, ST_UNAUTHENTICATED, "token audience does not include '%s'",
		       auth_show(want, shown));
}

/*
 * The issuer was used to choose the keys before the signature was known to be good, so it is
 * checked again here, on the signed claims, by exact string comparison.
 */
static enum status iss_check(json_object *c, const char *want, struct err *e)
{
	char shown[AUTH_SHOW_MAX], wanted[AUTH_SHOW_MAX];
	const char *iss;

	if (jx_str(c, "iss", true, &iss, NULL) != ST_OK)
		return err_set(e, ST_UNAUTHENTICATED, "token has no 'iss' claim");
	if (strcmp(iss, want) != 0)
		return err_set(e, ST_UNAUTHENTICATED, "token issuer '%s' is not '%s'",
			       auth_show(iss, shown), auth_show(want, wanted));
	return ST_OK;
}

/*
 * RFC 9068 §2.2: an access token carries iss, exp, aud, sub, client_id, iat and jti.  The
 * first three are checked for every token; in strict at+jwt mode the other four must be there
 * too (sub, client_id and jti as non-empty strings, iat as a time, whose value times_check has
 * already held against the clock).
 */
static enum status at_jwt_claims_check(json_object *c, struct err *e)
{
	static const char *const strings[] = {"sub", "client_id", "jti"};
	json_object *v = NULL;
	const char *s;

	for (size_t i = 0; i < ARRAY_SIZE(strings); i++) {
		if (jx_str(c, strings[i], true, &s, NULL) != ST_OK)
			return err_set(e, ST_UNAUTHENTICATED,
				       "token has no '%s' claim, which an RFC 9068 access token "
				       "carries (a non-empty string)",
				       strings[i]);
	}
	if (!json_object_object_get_ex(c, "iat", &v) || !v)
		return err_set(e, ST_UNAUTHENTICATED,
			       "token has no 'iat' claim, which an RFC 9068 access token carries");
	return ST_OK;
}

enum status auth_claims_check(json_object *c, const struct auth_jwt_rules *r, int64_t now,
			      struct err *e)
{
	const char *sub;

	if (iss_check(c, r->issuer, e) != ST_OK || aud_check(c, r->audience, e) != ST_OK ||
	    times_check(c, now, r->leeway_s, e) != ST_OK)
		return ST_UNAUTHENTICATED;
	if (jx_str(c, "sub", false, &sub, NULL) != ST_OK)
		return err_set(e, ST_UNAUTHENTICATED, "token claim 'sub' must be a string");
	if (r->require_at_jwt)
		return at_jwt_claims_check(c, e);
	return ST_OK;
}

/* Only after auth_claims_check passed; some IdPs send exp as a JSON number with a fraction. */
int64_t auth_claims_exp(json_object *c)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(c, "exp", &v))
		return 0;
	if (json_object_is_type(v, json_type_double))
		return (int64_t)json_object_get_double(v);
	return json_object_get_int64(v);
}
