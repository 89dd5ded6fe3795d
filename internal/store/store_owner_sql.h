/*
 * store_owner_sql.h - private to internal/store: the SQL of a session's owner, shared by the
 * sessions' writes and reads (store_sessions.c) and the decisions' write, which settles the
 * owner of a session its rows start (store_decisions.c).
 */
#ifndef CAVRA_STORE_OWNER_SQL_H
#define CAVRA_STORE_OWNER_SQL_H

/* The store's refusal (ST_FORBIDDEN) of a caller that does not own session %s. */
#define SESSION_OWNED_ELSEWHERE "session '%s' was recorded or started by another caller"

/*
 * A session's owner: the recorded_by of its payload (it was recorded through POST /sessions),
 * else its payload's started_by (its evidence started it: store_session_start), else the
 * recorded_by of its first decision (that decision started it); NULL for a session with none
 * (imported).  s names the session's row.  A started_by is no description of the session, so
 * decisions fill in its agent, actor, repository and pack as in one a decision started.
 * PostgreSQL gives a jsonb value, SQLite the minified text of the object.  The sessions' id is
 * COLLATE "C" and the decisions' is not: compared in the sessions' collation, the equality
 * cannot use the decisions' index by session, and PostgreSQL walked the index by time
 * instead, reading the table from its oldest decision (6 ms at 5,000 decisions, growing with
 * the table; 0.2 ms by the session index).
 */
#define OWNER_OF_PG(s) OWNER_OF_PG_WHERE(s, "")
/* The same, the first decision taken among those that also meet cond (" AND ..."; d the row). */
#define OWNER_OF_PG_WHERE(s, cond)                                                            \
	"COALESCE(" s ".payload -> 'recorded_by', " s ".payload -> 'started_by', (SELECT "    \
	"d.payload -> 'recorded_by' FROM "                                                    \
	"activity_decisions d WHERE d.session_id = " s ".session_id COLLATE \"default\"" cond \
	" ORDER BY d.decided_at, d.decision_id LIMIT 1))"
#define OWNER_OF_SQLITE(s)                                                          \
	"COALESCE(json_extract(" s ".payload, '$.recorded_by'), json_extract(" s    \
	".payload, '$.started_by'), (SELECT "                                       \
	"json_extract(d.payload, '$.recorded_by') FROM activity_decisions d WHERE " \
	"d.session_id = " s ".session_id ORDER BY d.decided_at, d.decision_id LIMIT 1))"

/*
 * The id of s's first decision when its payload names no owner (that decision's caller owns
 * it), else NULL: what the chain must vouch for besides the session's row.
 */
#define OWNING_DECISION_PG(s)                                                                   \
	"CASE WHEN COALESCE(" s ".payload -> 'recorded_by', " s ".payload -> 'started_by') IS " \
	"NULL THEN (SELECT d.decision_id FROM activity_decisions d WHERE d.session_id = " s     \
	".session_id COLLATE \"default\" ORDER BY d.decided_at, d.decision_id LIMIT 1) END"
#define OWNING_DECISION_SQLITE(s)                                                          \
	"CASE WHEN COALESCE(json_extract(" s ".payload, '$.recorded_by'), json_extract(" s \
	".payload, '$.started_by')) IS NULL THEN (SELECT d.decision_id FROM "              \
	"activity_decisions d WHERE d.session_id = " s ".session_id ORDER BY "             \
	"d.decided_at, d.decision_id LIMIT 1) END"

/*
 * Whether the caller whose recorded_by (JSON text) is the parameter param owns s: compared as
 * JSON values on PostgreSQL, as SQLite's minified text of both on SQLite (json_extract of each:
 * the stored object and the one sent are then written by one function, in one key order).
 */
#define OWNED_BY_PG(s, param)	  OWNER_OF_PG(s) " = " param "::jsonb"
#define OWNED_BY_SQLITE(s, param) OWNER_OF_SQLITE(s) " = json_extract(" param ", '$')"

#endif
