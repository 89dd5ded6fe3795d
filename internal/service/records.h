/*
 * records.h - private to internal/service: record kinds described as data.
 *
 * Evidence metadata, approvals, agents, MCP servers, repositories, policy
 * rollouts and integrations share one life: a JSON object comes in, its
 * declared fields are checked (types, enums, ranges, ids), defaults are
 * filled, the id is taken or derived, and it is stored with typed
 * projections for the filters.  A struct kind says all of that for one
 * record kind; the code in records.c does it for every kind, for the API
 * and for `cavra ops import` alike.
 */
#ifndef CAVRA_SERVICE_RECORDS_H
#define CAVRA_SERVICE_RECORDS_H

#include "service/service.h"
#include "store/store_records.h"

enum fkind {
	F_TEXT, /* a string (no NUL) */
	F_ID, /* a string passing jx_check_id */
	F_ENUM, /* one of allowed */
	F_INT, /* a whole number in [min, max] */
	F_LIST, /* an array of strings */
	F_TIME, /* RFC 3339, stored in canonical UTC form */
	F_OBJECT, /* a JSON object */
	F_BOOL,
	F_ARRAY, /* an array of anything */
};

struct field {
	const char *name;
	enum fkind kind;
	const char *column; /* projection column, or NULL */
	const char *const *allowed; /* F_ENUM */
	const char *def; /* default when absent (F_TEXT, F_ID, F_ENUM, F_INT) */
	int64_t min, max; /* F_INT; max is F_TEXT's byte limit too (0: TEXT_MAX) */
	bool required;
	bool path_id; /* F_ID: no '/', as in the URL paths that name it */
};

/* A query parameter of the list endpoint. */
struct fparam {
	const char *param;
	const char *column;
	enum rec_op op;
	enum fkind kind; /* F_ID, F_ENUM (allowed), F_INT (REC_MIN), F_BOOL (REC_NONZERO) */
	const char *const *allowed;
};

struct kind {
	const char *name; /* "agent": for messages */
	const char *schema; /* "cavra.agent.v1" */
	const char *id_field;
	const struct rec_table *table;
	const struct field *fields; /* terminated by a NULL name */
	const struct fparam *params; /* terminated by a NULL param */
	bool slash_ids; /* ids may contain '/' (served by a "{id+}" route) */
	const char *const *id_aliases; /* fields the id is taken from when absent */
	/* Derives a missing id from the record (caller frees), or NULL. */
	char *(*default_id)(json_object *rec);
	/* Fills derived defaults and renamed fields before the checks; may be NULL. */
	void (*normalize)(json_object *rec);
	/* Adjusts a record as read (derived state); may be NULL. */
	void (*view)(json_object *rec);
	const char *alt_col; /* GET /<kind>/{x} also finds the record with alt_col = x */
	const char *unique_field; /* a field with a unique index besides the id, or NULL */
	/*
	 * The record's id is a session's, and it is written through the API only by that
	 * session's owner (its first write starts the session for its caller) or one holding
	 * evidence.replace: what proves an agent's session is not another agent's to write.  The
	 * latter does not take it over: the record keeps its recorded_by and names that caller
	 * as changed_by.
	 */
	bool writer_owned;
	/*
	 * A record read by id (GET, and the record a write answers with) is served only as its
	 * newest audit chain entry hashed it, else 409: what a harness waits on (an approval's
	 * state) must not be what someone with database access put there.
	 */
	bool vouched_reads;
};

/* A checked record ready to store; owns everything it points at. */
struct prepared {
	json_object *rec; /* the record without schema_version and times */
	const char *id; /* borrowed from rec */
	char *payload;
	char *values[REC_MAX_COLS];
	char created_at[32], updated_at[32]; /* given by an import, else empty */
};

/*
 * Checks req against k and builds the record.  Errors are ST_INVALID and
 * name the field.  keep_times: take created_at / updated_at from req (an
 * import) instead of dropping them.
 */
/*
 * Refuses (ST_INVALID, naming the member, or field at the top) a string anywhere in v that
 * holds a NUL ("\u0000"): PostgreSQL's jsonb refuses it, so SQLite must not store it either.
 */
ATTR_NODISCARD enum status service_check_nul(json_object *v, const char *field, struct err *e);

ATTR_NODISCARD enum status service_kind_prepare(const struct kind *k, json_object *req,
						bool keep_times, struct prepared *out,
						struct err *e);
void service_prepared_release(struct prepared *p);
/* The rec_write of p; borrowed from p. */
void service_prepared_write(const struct kind *k, const struct prepared *p, const char *now,
			    struct rec_write *w);

/*
 * A stored payload as an object, or NULL when there is none or it is not a JSON object that
 * parses (edited in the database?).  Then a warning names the table and the record (id may be
 * NULL), at most once a minute for the whole process, and the reader goes on without it.
 */
json_object *service_stored_object(const char *table, const char *id, const char *payload);

/*
 * A stored payload that a write builds on, as an object (*out, the caller's).  When it does not
 * parse or is not an object (edited in the database?), the write must not start from an empty
 * one, which would drop what the record held: ST_INTERNAL naming what ("session"), the id and
 * the parser's fault, ending "it was not changed".  payload must not be NULL.
 */
ATTR_NODISCARD enum status service_stored_for_write(const char *what, const char *id,
						    const char *payload, json_object **out,
						    struct err *e);

/* A stored row as the API's record: payload + schema_version, id, times. */
json_object *service_kind_record(const struct kind *k, const struct rec_row *row);

/*
 * Upsert from the API: *created tells 201 from 200; *record is the caller's.
 * recorded_by (borrowed; may be NULL) replaces any "recorded_by" in req; with owned, the
 * record's session is started for recorded_by unless it exists, and one another caller owns is
 * ST_FORBIDDEN (struct kind's writer_owned).
 * A writer-owned kind's record written over without owned keeps its recorded_by, and
 * recorded_by becomes its "changed_by" (one in req is dropped).
 */
ATTR_NODISCARD enum status service_kind_upsert(struct service *s, const struct kind *k,
					       json_object *req, json_object *recorded_by,
					       bool owned, char **record, bool *created,
					       struct err *e);
/*
 * The record with id (or, with alt_col, the one it names); ST_NOT_FOUND.  Of a kind with
 * vouched_reads, ST_CONFLICT (logged) when its row is not what its newest chain entry hashed.
 */
ATTR_NODISCARD enum status service_kind_get(struct service *s, const struct kind *k, const char *id,
					    char **record, struct err *e);
/* The same without that check, for a caller that checks who may read it first. */
ATTR_NODISCARD enum status service_kind_get_unvouched(struct service *s, const struct kind *k,
						      const char *id, char **record, struct err *e);
/* That check alone, of the row with id: ST_OK for a kind without vouched_reads. */
ATTR_NODISCARD enum status service_kind_vouch(struct service *s, const struct kind *k,
					      const char *id, struct err *e);
/*
 * The same check of a row of one of the chained tables outside the kinds (activity_decisions,
 * activity_sessions): ST_CONFLICT, logged, naming it as what ("session"), when the chain does
 * not vouch for it.
 */
ATTR_NODISCARD enum status service_row_vouch(struct service *s, const char *table, const char *what,
					     const char *id, struct err *e);
/*
 * Of n rows of a page of table, whether the chain vouches for each (vouched[i], all true where
 * it cannot tell); *withheld counts those it does not, which are logged once a minute at most
 * as records of what.
 */
ATTR_NODISCARD enum status service_rows_vouched(struct service *s, const char *table,
						const char *what, const char *const *ids, size_t n,
						bool *vouched, size_t *withheld, struct err *e);
/* The number of n rows (ids[i]) not vouched[i]; logged as service_rows_vouched logs them. */
size_t service_withheld(const char *what, const char *const *ids, const bool *vouched, size_t n);
/* A list page.  extra (may be NULL) adds filters the kind's params cannot say. */
ATTR_NODISCARD enum status service_kind_list(struct service *s, const struct kind *k,
					     service_arg_fn arg, void *ctx,
					     const struct rec_filter *extra, size_t nextra,
					     char **envelope, struct err *e);

/* decisions.c: the outcome and severity values. */
extern const char *const service_decision_values[];
extern const char *const service_severity_values[];

/* approvals.c: the read-time view and the state filter with expiry. */
void service_approval_view(json_object *rec);
/*
 * Whose approvals who may read: NULL for every one (approvals.read_any, or no credentials),
 * else who's recorded_by as JSON text, the value of a REC_BY filter on "decision" (the caller's,
 * free()).
 */
char *service_approval_reader(const struct caller *who);
/* Whether who may read the approval record (JSON text); a record that does not parse: false. */
bool service_approval_readable(const char *record, const struct caller *who);
/* Fills f (room for 3) for GET /approvals?state=; returns how many. */
size_t service_approval_state_filter(const char *state, const char *now, struct rec_filter *f);

/* The kinds (kinds.c). */
extern const struct kind service_kind_evidence, service_kind_approval, service_kind_agent,
	service_kind_mcp_server;
extern const struct kind service_kind_repository, service_kind_rollout, service_kind_integration;
/* Imports only: decisions and sessions as the original's files hold them. */
extern const struct kind service_kind_decision, service_kind_session;

/* import.c, shared with adopt.c: decisions keep their whole record as payload. */
void service_import_decision_payload(struct prepared *p);
/*
 * What an import does to a record p of k that service_kind_prepare accepted: drops a
 * recorded_by the file names (who wrote a record is the server's word, and it decides who
 * may change it; an imported record has none), and refuses (ST_INVALID) one dated more than
 * a day after now in any of its times but expires_at: a record is made when it happens, so
 * such a date is a wrong clock or a forgery, and it would head a newest-first list for good.
 */
ATTR_NODISCARD enum status service_import_admit(const struct kind *k, struct prepared *p,
						struct err *e);
/*
 * Stores one checked record of k on c, in the caller's transaction (a
 * session by its import rules, a decision only once).
 */
ATTR_NODISCARD enum status service_import_put_one(struct store_conn *c, const struct kind *k,
						  struct prepared *p, const char *now,
						  enum rec_outcome *o, struct err *e);

/*
 * The 403 of a caller that does not own what it acts on, in one wording for every owner rule:
 * "<what> '<id>' was <how> by another caller: only that caller, or one with permission
 * '<permission>', may <may>".  Returns ST_FORBIDDEN.
 */
ATTR_NODISCARD enum status service_owner_refusal(const char *what, const char *id, const char *how,
						 const char *permission, const char *may,
						 struct err *e);

/*
 * Whether who may add to session_id (sessions.c): a session that does not exist yet is anyone's
 * to start, an existing one only its owner's (the caller that recorded it through POST
 * /sessions, else the caller of its first decision) unless exempt (the caller holds
 * permission, named in the 403's message, whose may says what it allows).  Callers without
 * verified credentials (auth mode none) hold every role and are not checked.  *settle
 * (optional; the caller frees it) gets the caller's recorded_by (JSON text) when the session
 * does not exist yet: a write that creates it passes it on for the store to check again
 * (struct decision_rec's owner), since others may be starting the same session at once.
 */
ATTR_NODISCARD enum status service_session_owner_check(struct service *s, const char *session_id,
						       const struct caller *who, bool exempt,
						       const char *permission, const char *may,
						       char **settle, struct err *e);

#endif
