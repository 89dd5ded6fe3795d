/*
 * service.h - the domain rules behind the API: decisions (evaluate, record,
 * list) and sessions.  Nothing here knows about HTTP; requests come in as
 * parsed JSON objects and records go out as JSON text.
 */
#ifndef CAVRA_SERVICE_H
#define CAVRA_SERVICE_H

#include "base/base.h"
#include "base/err.h"
#include "policy/policy.h"
#include "store/store.h"

#include <json-c/json.h>

#define SERVICE_LIMIT_DEFAULT 50
#define SERVICE_LIMIT_MAX     500

struct service {
	struct store *store; /* borrowed */
	const struct policy_set *policies; /* borrowed */
};

/* Query parameters of a list endpoint, as given (any may be NULL). */
typedef const char *(*service_arg_fn)(void *ctx, const char *name);

/*
 * POST /decisions: validates req, evaluates it under its pack (MCP calls
 * against the registry), stores the decision and its session summary, and
 * returns the record.  *record is the caller's (free()).  *decision gets the
 * outcome for metrics.
 */
ATTR_NODISCARD enum status service_decision_create(struct service *s, json_object *req,
						   char **record, enum policy_decision *decision,
						   struct err *e);

ATTR_NODISCARD enum status service_decision_get(struct service *s, const char *id, char **record,
						struct err *e);

/*
 * GET /decisions (session_id NULL) or GET /sessions/{id}/decisions (oldest
 * first).  *envelope is the caller's (free()).
 */
ATTR_NODISCARD enum status service_decision_list(struct service *s, service_arg_fn arg, void *ctx,
						 const char *session_id, char **envelope,
						 struct err *e);

ATTR_NODISCARD enum status service_session_get(struct service *s, const char *id, char **record,
					       struct err *e);
ATTR_NODISCARD enum status service_session_list(struct service *s, service_arg_fn arg, void *ctx,
						char **envelope, struct err *e);
/* POST /sessions: *created tells 201 from 200. */
ATTR_NODISCARD enum status service_session_upsert(struct service *s, json_object *req,
						  char **record, bool *created, struct err *e);

/* GET /policy-packs. */
char *service_policy_packs(struct service *s);

#endif
