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

struct routing;
struct token_cache;
struct seal_key;
struct seal_keys;

struct service {
	struct store *store; /* borrowed */
	const struct policy_set *policies; /* borrowed */
	const struct routing *routing; /* borrowed; NULL: no routing rules */
	/* readiness: the most a rollout's target mode may change, in percent of recent decisions */
	int64_t rollout_change_pct_max;
	/* the API tokens this process verified (service_token_watch_start); NULL: none kept */
	struct token_cache *tokens;
	/* api_token_key_file's keys (service/seals.h): tokens are sealed and checked; NULL: not */
	const struct seal_keys *token_keys;
};

/* The facts about a decision that approval routing rules match on. */
struct routing_facts {
	const char *action_type, *target, *rule_id, *decision, *severity, *policy_pack;
	const char *repository;
};

/*
 * Loads approval routing rules from file (YAML or JSON), or the built-in
 * rules when file is NULL.  A file that does not parse or holds an unknown
 * key is ST_INVALID naming the file (and line, for syntax errors).
 */
ATTR_NODISCARD enum status service_routing_load(const char *file, struct routing **out,
						struct err *e);
void service_routing_free(struct routing *rt);
/* The group of the first matching rule (and its name), or NULL. */
const char *service_routing_pick(const struct routing *rt, const struct routing_facts *f,
				 const char **rule_name);
size_t service_routing_count(const struct routing *rt);
/* "built-in" or the file name. */
const char *service_routing_source(const struct routing *rt);

/* Query parameters of a list endpoint, as given (any may be NULL). */
typedef const char *(*service_arg_fn)(void *ctx, const char *name);

/*
 * Who calls.  verified: an authenticated identity (auth mode oidc or an API
 * token): actors (requested_by, the history's) are taken from it, a
 * different one in the body is ST_FORBIDDEN, and deciding needs membership
 * of the approval's approver group unless admin.  Not verified (auth mode
 * none without credentials): actors come from the body.  Every pointer is
 * borrowed for the call.
 */
struct caller {
	bool verified;
	const char *actor;
	const char *const *groups;
	size_t ngroups;
	bool admin;
	bool may_route; /* holds approvals.route: may choose an approval's approver group */
	bool may_request_any; /* holds approvals.request_any: may ask for another's decisions */
	bool may_read_any; /* holds approvals.read_any: reads every approval, not only its own */
	bool may_replace; /* holds evidence.replace: may replace evidence another caller wrote */
	bool may_replace_sessions; /* holds sessions.replace: may change another's session */
	const char *issuer, *subject; /* a person or workload verified by OIDC, else NULL */
	const char *token; /* the API token's name, else NULL */
};

/*
 * The recorded_by object every record the API writes carries:
 * {"kind": "oidc", "issuer", "subject"}, {"kind": "api_token", "token"} or
 * {"kind": "local"} (auth mode none without credentials).  Caller owns
 * (json_object_put).
 */
json_object *service_recorded_by(const struct caller *who);

/*
 * POST /decisions: validates req, evaluates it under its pack (MCP calls
 * against the registry), stores the decision and its session summary, and
 * returns the record.  *record is the caller's (free()).  *decision gets the
 * outcome for metrics.  idempotency_key is the Idempotency-Key header's value
 * or NULL: a decision already stored under it for who is returned instead
 * (*replayed true, *decision untouched), ST_UNPROCESSABLE when it was stored
 * for a different body; ST_INVALID for a malformed key.
 */
ATTR_NODISCARD enum status service_decision_create(struct service *s, json_object *req,
						   const struct caller *who,
						   const char *idempotency_key, char **record,
						   enum policy_decision *decision, bool *replayed,
						   struct err *e);

ATTR_NODISCARD enum status service_decision_get(struct service *s, const char *id, char **record,
						struct err *e);
/*
 * The stored decision's payload (the caller's), read with the audit chain's check of its row in
 * one statement: ST_NOT_FOUND, or ST_CONFLICT (logged) for a decision written or changed in the
 * database.  GET /decisions/{id} and an approval's request read it so.
 */
ATTR_NODISCARD enum status service_decision_read(struct service *s, const char *id, char **payload,
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
/*
 * POST /sessions: *created tells 201 from 200.  The stored extras are the body's "metadata"
 * (else the session's earlier one) and recorded_by, the verified caller who.
 */
ATTR_NODISCARD enum status service_session_upsert(struct service *s, json_object *req,
						  const struct caller *who, char **record,
						  bool *created, struct err *e);

/* The record kinds behind GET/POST /<kind> and GET /<kind>/{id}. */
enum service_kind {
	SK_EVIDENCE,
	SK_APPROVAL,
	SK_AGENT,
	SK_MCP_SERVER,
	SK_REPOSITORY,
	SK_ROLLOUT,
	SK_INTEGRATION,
};

/*
 * GET /<kind> and GET /<kind>/{id}.  Of approvals, a verified caller without approvals.read_any
 * sees only those of decisions it recorded or that it asked for: the list holds no other (its
 * pages, cursors and total count only those), and another one's id is ST_NOT_FOUND, as a
 * missing one is.  who may be NULL (no caller: everything).
 */
ATTR_NODISCARD enum status service_record_list(struct service *s, enum service_kind k,
					       const struct caller *who, service_arg_fn arg,
					       void *ctx, char **envelope, struct err *e);
ATTR_NODISCARD enum status service_record_get(struct service *s, enum service_kind k,
					      const struct caller *who, const char *id,
					      char **record, struct err *e);
/* Upsert (not for approvals, which change through their state machine). */
ATTR_NODISCARD enum status service_record_upsert(struct service *s, enum service_kind k,
						 json_object *req, const struct caller *who,
						 char **record, bool *created, struct err *e);

/*
 * POST /approvals: for the stored decision named by "decision_id" or by
 * the "decision" object's decision_id (ST_NOT_FOUND when none is stored; a
 * field of that object that differs from the stored one is ST_CONFLICT).
 * A verified caller whose identity is not the decision's recorded_by gets
 * ST_FORBIDDEN (before that ST_CONFLICT, with no open approval returned and
 * nothing written) unless who->may_request_any.
 * The approver group comes from the routing rules; a different one in the
 * body needs who->may_route (else ST_FORBIDDEN) and is recorded in the
 * history.  An open approval of the same decision is returned as it is
 * (*created false) instead of a second one.
 */
ATTR_NODISCARD enum status service_approval_create(struct service *s, json_object *req,
						   const struct caller *who, char **record,
						   bool *created, struct err *e);

enum approval_action { APPROVAL_APPROVE, APPROVAL_DENY, APPROVAL_EXPIRE };

/*
 * POST /approvals/{id}/approve|deny|expire.  Only a pending approval
 * changes (ST_CONFLICT otherwise, also for the loser of a race); approve
 * and deny need actor and reason.
 */
ATTR_NODISCARD enum status service_approval_act(struct service *s, const char *id,
						enum approval_action a, json_object *req,
						const struct caller *who, char **record,
						struct err *e);
/* POST /approvals/break-glass. */
ATTR_NODISCARD enum status service_break_glass(struct service *s, json_object *req,
					       const struct caller *who, char **record,
					       struct err *e);

/* GET /mcp/trust?server=&tool=&capability=: what the registry says of a call. */
ATTR_NODISCARD enum status service_mcp_trust(struct service *s, service_arg_fn arg, void *ctx,
					     char **out, struct err *e);

/* `cavra ops import`: one original JSON or SQLite store file into the database. */
struct import_table {
	const char *name; /* "agents", "decisions", ... */
	int64_t read, created, updated, unchanged;
};

struct import_result {
	const char *store; /* static */
	char *path;
	struct import_table tables[2];
	int ntables;
	int64_t sessions_recounted; /* activity: summaries set from their decisions */
	int64_t chained; /* decisions and approvals given a chain entry in the import's transaction
			  */
	char **problems; /* invalid records: "decisions[3]: field ..." */
	size_t nproblems;
};

/*
 * Imports the file at path as store store_name (evidence_metadata,
 * approvals, registry, activity, inventory, integrations).  Every record is
 * checked first: any invalid record (listed in out->problems) means nothing
 * is written.  All writes are one transaction; unchanged records are not
 * written, so a second run changes nothing.
 */
ATTR_NODISCARD enum status service_import(struct store *st, const char *store_name,
					  const char *path, struct import_result *out,
					  struct err *e);
/*
 * The same for an original SQLite store file: the payload of each row of
 * the store's tables (activity_sessions and activity_decisions, ...) is a
 * record.  A table the file does not have is skipped; ST_NOT_FOUND when it
 * has none of the store's tables.
 */
ATTR_NODISCARD enum status service_import_sqlite(struct store *st, const char *store_name,
						 const char *path, struct import_result *out,
						 struct err *e);
void service_import_result_release(struct import_result *r);

struct progress;
/* One import's inputs: service_import (sqlite false) or service_import_sqlite (true). */
struct import_opts {
	const char *store, *path;
	bool sqlite;
	/*
	 * Borrowed; NULL: none.  One phase named after the store (static), of every record of
	 * the file, one item per kind ("decisions"), a record written or left unchanged a row.
	 */
	struct progress *progress;
};
ATTR_NODISCARD enum status service_import_with(struct store *st, const struct import_opts *o,
					       struct import_result *out, struct err *e);
/* The i-th store: its name, the original's env variable and default file name; NULL past the end.
 */
const char *service_import_store_name(size_t i, const char **env, const char **file);
/* The i-th store's SQLite variable in the original (CAVRA_ACTIVITY_DB, ...); NULL past the end. */
const char *service_import_store_db_env(size_t i);

/* API tokens (tokens.c).  The token itself never reaches this layer: only its SHA-256. */
struct token_spec {
	const char *name, *sha256, *created_by;
	const char *const *roles; /* role names, checked by the caller */
	size_t nroles;
	int64_t expires_in_s; /* 0: never */
};
/* Stores a token; ST_CONFLICT when an unrevoked one has the name.  *id is the caller's. */
ATTR_NODISCARD enum status service_token_create(struct service *s, const struct token_spec *t,
						char **id, struct err *e);

struct token_info {
	char *token_id;
	char *name;
	char *sha256; /* as stored, for the caller's constant-time comparison */
	char **roles; /* owned, nroles of them */
	size_t nroles;
};
/*
 * The token with this hash if usable; ST_UNAUTHENTICATED names why not (unknown, revoked,
 * expired).  With s->tokens, a usable token is remembered and later answered without reading
 * the database (service_token_watch_start).
 */
ATTR_NODISCARD enum status service_token_check(struct service *s, const char *sha256,
					       struct token_info *out, struct err *e);
void service_token_info_release(struct token_info *t);
/* What service_token_seal did. */
struct token_seal_count {
	int64_t sealed, kept; /* sealed now; already sealed with the current key */
	int64_t refused; /* not what the audit chain last recorded: left unsealed, logged */
};
/*
 * Seals every unrevoked token whose seal is not s->token_keys' current key's (which must be
 * set) with that key, each in its own chained write, if the chain's newest entry for it
 * matches its row.
 */
ATTR_NODISCARD enum status service_token_seal(struct service *s, struct token_seal_count *n,
					      struct err *e);

/*
 * Remembering verified API tokens (serve, PostgreSQL only; docs/security.md, "API tokens").
 * With ttl_s > 0 on a PostgreSQL store, makes s->tokens a cache that service_token_check
 * consults and starts the thread that keeps it true: its own connection LISTENs for migration
 * 019's notifications and forgets each token whose row changed; while it is not listening
 * (starting, connection lost, reconnecting) nothing is kept or found.  Otherwise (SQLite, or
 * ttl_s 0) nothing starts and *out is NULL.  Call it with the signals that serve waits for
 * already blocked (the thread inherits the mask).  *out is the caller's, stopped with
 * service_token_watch_stop once no request runs.
 */
struct token_watch;
ATTR_NODISCARD enum status service_token_watch_start(struct service *s, int64_t ttl_s,
						     struct token_watch **out, struct err *e);
/* Stops and joins the thread, and frees the cache (s->tokens becomes NULL).  NULL-safe. */
void service_token_watch_stop(struct service *s, struct token_watch *w);
/*
 * For GET /metrics: false when this process remembers no tokens (SQLite, or the cache off);
 * else whether the listener listens now, and the checks answered from memory (hits) or read
 * from the database (misses) since it started.
 */
bool service_token_cache_stats(struct service *s, bool *listening, uint64_t *hits,
			       uint64_t *misses);
/* Every token (never the secret), newest first, as a JSON array (caller's). */
ATTR_NODISCARD enum status service_token_list(struct service *s, json_object **out, struct err *e);
/* Revokes the active tokens called name; ST_NOT_FOUND when there is none. */
ATTR_NODISCARD enum status service_token_revoke(struct service *s, const char *name, int64_t *count,
						struct err *e);

/* The web console's logins in flight and sessions (console_sessions.c), keyed by a SHA-256 hex. */
struct console_login {
	char *nonce, *verifier, *return_to;
	char *binding; /* SHA-256 hex of the pre-login cookie of the browser that started it */
};
void service_console_login_release(struct console_login *l);
ATTR_NODISCARD enum status service_console_login_put(struct service *s, const struct seal_key *key,
						     const char *hash,
						     const struct console_login *l, int64_t ttl_s,
						     struct err *e);
/* How many logins are in flight (started, not called back, not expired). */
/* Deletes expired console logins and sessions (serve's purge timer). */
ATTR_NODISCARD enum status service_console_purge(struct service *s, struct err *e);
ATTR_NODISCARD enum status service_console_logins_pending(struct service *s, int64_t *count,
							  struct err *e);
/*
 * Takes (deletes) the login: a state is used once.  ST_NOT_FOUND when unknown, used or late;
 * ST_UNAUTHENTICATED when key did not seal it (seals.h).
 */
ATTR_NODISCARD enum status service_console_login_take(struct service *s, const struct seal_key *key,
						      const char *hash, struct console_login *out,
						      struct err *e);

struct console_session {
	char *subject, *actor, *issuer, *csrf_token;
	char **groups;
	size_t ngroups;
};
void service_console_session_release(struct console_session *c);
/* Stores the session sealed with key (seals.h). */
ATTR_NODISCARD enum status service_console_session_put(struct service *s,
						       const struct seal_key *key, const char *hash,
						       const struct console_session *c,
						       int64_t ttl_s, struct err *e);
/* ST_NOT_FOUND when unknown or expired; ST_UNAUTHENTICATED when key did not seal it. */
ATTR_NODISCARD enum status service_console_session_get(struct service *s,
						       const struct seal_key *key, const char *hash,
						       struct console_session *out, struct err *e);
ATTR_NODISCARD enum status service_console_session_delete(struct service *s, const char *hash,
							  struct err *e);

/*
 * Policy rollouts (rollouts.c, rollout_detail.c, rollout_change.c; docs/api.md, "Policy rollout
 * drill-down").  *out is the caller's, free().  ST_NOT_FOUND names an unknown rollout.
 *
 * GET /policy-rollouts/{id}/detail: the rollout, its repository, pack, activity, integrations
 * and readiness checks, read in one snapshot.
 */
ATTR_NODISCARD enum status service_rollout_detail(struct service *s, const char *id, char **out,
						  struct err *e);
/*
 * POST /policy-rollouts/{id}/change-plan: what moving to req's mode and/or state would change.
 * id NULL: taken from req's "rollout_id".
 */
ATTR_NODISCARD enum status service_rollout_plan(struct service *s, const char *id, json_object *req,
						char **out, struct err *e);
/*
 * POST /policy-rollouts/{id}/apply-change: applies req's mode and/or state only if the
 * rollout's version still equals req's base_version (ST_CONFLICT otherwise), recording who
 * (the caller), when and why in its history.  id NULL: taken from req's "rollout_id".
 */
ATTR_NODISCARD enum status service_rollout_apply(struct service *s, const char *id,
						 json_object *req, const struct caller *who,
						 char **out, struct err *e);

/* GET /policy-packs.  Caller owns the text, free with free(). */
char *service_policy_packs(struct service *s);

/*
 * GET /policy-packs/{id}: the listing's fields, the merged rules and every other setting.
 * On success *out is the caller's, free with free(); ST_NOT_FOUND for an unknown id.
 */
ATTR_NODISCARD enum status service_policy_pack_get(struct service *s, const char *id, char **out,
						   struct err *e);

/* A decision's policy_version: version, sha256, mode and the pack's audit-only settings.
 * Caller owns, json_object_put(). */
json_object *service_policy_version_json(const struct policy_pack *pack);

#endif
