/*
 * idempotency.h - private to internal/service: the Idempotency-Key of
 * POST /decisions, parsed and bound to its caller and request body
 * (docs/api.md, Idempotency-Key).  Pure functions, no store.
 */
#ifndef CAVRA_SERVICE_IDEMPOTENCY_H
#define CAVRA_SERVICE_IDEMPOTENCY_H

#include "service/service.h"
#include "base/hash.h"

#define IDEMPOTENCY_KEY_MAX 255 /* characters of a key, quotes excluded */

/* A key, who sent it, and what it was sent with; key[0] == '\0' means no key. */
struct idempotency {
	char key[IDEMPOTENCY_KEY_MAX + 1];
	char caller[SHA256_HEX_LEN];
	char request_sha256[SHA256_HEX_LEN];
};

/*
 * Parses an Idempotency-Key header value into out (IDEMPOTENCY_KEY_MAX + 1
 * bytes): a structured-field string ("...") or the same characters bare.
 * ST_INVALID naming the rule when the value breaks it.
 */
ATTR_NODISCARD enum status service_idempotency_key_parse(const char *value, char *out,
							 struct err *e);

/*
 * Fills k for the header value (NULL: no key, k->key stays empty), the
 * caller who sent it and the request body req.  Borrowed for the call.
 */
ATTR_NODISCARD enum status service_idempotency_init(struct idempotency *k, const char *value,
						    const struct caller *who, json_object *req,
						    struct err *e);

#endif
