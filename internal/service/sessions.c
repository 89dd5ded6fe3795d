/*
 * sessions.c - session summaries (cavra.session.v1).
 *
 * A session groups the decisions of one agent run.  Its counters (decisions, blocked,
 * approvals required) are kept by the store in the same statement that records each decision,
 * never computed here and never taken from a client, so they cannot drift from the decisions
 * they count.  A client may create or update a session's descriptive fields and metadata;
 * everything else in the summary is the server's.
 */
#include "base/base.h"
#include "service/service.h"
#include "service/paging.h"
#include "base/buf.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "json/jx.h"
#include "service/records.h"
#include "store/store_sessions.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char *const state_values[] = {"active", "completed", "failed", "archived", NULL};

/* Client extras (payload) first, then every summary field on top. */
/*
 * The summary fields are written last so that a client's payload can never override a counter
 * or the state by storing a key of the same name.
 */
static json_object *session_json(const struct session_row *s)
{
	json_object *o = service_stored_object("activity_sessions", s->session_id, s->payload),
		    *refs = json_object_new_array();
	char *ref = xasprintf("evidence://%s", s->session_id);

	if (!o)
		o = json_object_new_object();
	json_object_array_add(refs, json_object_new_string(ref));
	free(ref);
	jx_add_str(o, "schema_version", "cavra.session.v1");
	jx_add_str(o, "session_id", s->session_id);
	jx_add_str(o, "agent_id", s->agent_id);
	jx_add_str(o, "actor", s->actor);
	jx_add_str(o, "repository", s->repository);
	jx_add_str(o, "policy_pack", s->policy_pack);
	jx_add_str(o, "state", s->state);
	jx_add_str(o, "started_at", s->started_at);
	jx_add_str(o, "updated_at", s->updated_at);
	jx_add_int(o, "decision_count", s->decision_count);
	jx_add_int(o, "blocked_count", s->blocked_count);
	jx_add_int(o, "approval_required_count", s->approval_required_count);
	json_object_object_add(o, "evidence_refs", refs);
	return o;
}

/*
 * The session's record; with vouch, ST_CONFLICT (logged) for a row the audit chain does not
 * vouch for (an upsert reads back the row it has just written and chained without it).
 */
static enum status session_read(struct service *s, const char *id, bool vouch, char **record,
				struct err *e)
{
	struct session_row row;
	enum status st;

	if (jx_check_id("session_id", id, NULL) != ST_OK)
		return err_set(e, ST_NOT_FOUND, "session not found");
	st = store_session_get(s->store, id, &row, e);
	if (st == ST_OK && vouch)
		st = service_row_vouch(s, "activity_sessions", "session", id, e);
	if (st == ST_OK)
		*record = jx_take_text(session_json(&row));
	store_session_row_release(&row);
	return st;
}

enum status service_session_get(struct service *s, const char *id, char **record, struct err *e)
{
	return session_read(s, id, true, record, e);
}

/* The list's filters in the order they are checked. */
static const struct arg_field filter_fields[] = {
	{"agent_id", offsetof(struct session_filter, agent_id), NULL},
	{"repository", offsetof(struct session_filter, repository), NULL},
	{"policy_pack", offsetof(struct session_filter, policy_pack), NULL},
	{"state", offsetof(struct session_filter, state), state_values},
};

static enum status read_filter(service_arg_fn arg, void *ctx, struct session_filter *f,
			       struct err *e)
{
	memset(f, 0, sizeof(*f));
	return service_arg_fields(arg, ctx, filter_fields, ARRAY_SIZE(filter_fields), f, e);
}

/*
 * The page's envelope; a session the chain does not vouch for is left out of the items and
 * counted in "withheld" (the cursor, next, still follows the page's last row).
 */
static enum status list_envelope(struct service *s, const struct session_list *list,
				 const struct paging *p, const char *next, char **envelope,
				 struct err *e)
{
	const char **ids = xcalloc(list->n + 1, sizeof(*ids));
	bool *vouched = xcalloc(list->n + 1, sizeof(*vouched));
	struct paging shown = *p;
	size_t withheld = 0, n = 0;
	enum status st;
	struct buf b;

	for (size_t i = 0; i < list->n; i++)
		ids[i] = list->rows[i].session_id;
	st = service_rows_vouched(s, "activity_sessions", "session", ids, list->n, vouched,
				  &withheld, e);
	shown.withheld += (int64_t)withheld;
	if (st == ST_OK) {
		service_envelope_open(&b);
		for (size_t i = 0; i < list->n; i++) {
			char *item = vouched[i] ? jx_take_text(session_json(&list->rows[i])) : NULL;

			if (item)
				service_envelope_item(&b, n++, item);
			free(item);
		}
		service_envelope_close(&b, list->total, &shown, next);
		*envelope = buf_detach(&b, NULL);
	}
	free(vouched);
	free(ids);
	return st;
}

enum status service_session_list(struct service *s, service_arg_fn arg, void *ctx, char **envelope,
				 struct err *e)
{
	struct session_list list = {0};
	struct session_filter f;
	struct paging p = {0};
	char *next = NULL;
	enum status st = read_filter(arg, ctx, &f, e);

	if (st == ST_OK)
		st = service_paging_parse(arg, ctx, PAGING_KEY_CREATED, &p, e);
	PAGING_APPLY(&f, &p);
	if (st == ST_OK)
		st = store_session_list(s->store, &f, &list, e);
	if (st == ST_OK) {
		if (list.more)
			next = service_paging_cursor(PAGING_KEY_CREATED,
						     list.rows[list.n - 1].created_at,
						     list.rows[list.n - 1].session_id);
		st = list_envelope(s, &list, &p, next, envelope, e);
	}
	free(next);
	store_session_list_release(&list);
	service_paging_release(&p);
	return st;
}

static enum status read_upsert(struct service *s, json_object *req, struct session_upsert *u,
			       struct err *e)
{
	static const char *const ids[] = {"agent_id", "actor", "repository", "policy_pack"};
	const char **slots[] = {&u->agent_id, &u->actor, &u->repository, &u->policy_pack};
	const struct policy_pack *pack;
	enum status st = jx_id(req, "session_id", true, &u->session_id, e);

	if (st == ST_OK)
		st = service_check_path_id("session_id", u->session_id, e);
	for (size_t i = 0; st == ST_OK && i < ARRAY_SIZE(ids); i++)
		st = jx_id(req, ids[i], false, slots[i], e);
	if (st == ST_OK)
		st = jx_str(req, "state", false, &u->state, e);
	if (st == ST_OK && u->state)
		st = jx_check_enum("state", u->state, state_values, e);
	if (st == ST_OK && u->policy_pack &&
	    policy_set_find(s->policies, u->policy_pack, &pack, e) != ST_OK)
		st = err_set(e, ST_INVALID, "field 'policy_pack': policy pack '%s' not found",
			     u->policy_pack);
	return st;
}

/*
 * The metadata a session already has (*meta, or NULL: none), so that an upsert without one
 * keeps it.  A failed read, or a stored payload that does not parse, fails the upsert: writing
 * the payload without the metadata would lose it.
 */
static enum status earlier_metadata(struct service *s, const char *id, json_object **meta,
				    struct err *e)
{
	struct session_row row;
	json_object *o = NULL;
	enum status st = store_session_get(s->store, id, &row, e);

	*meta = NULL;
	if (st == ST_NOT_FOUND) {
		err_clear(e);
		return ST_OK;
	}
	if (st != ST_OK)
		return st;
	if (row.payload)
		st = service_stored_for_write("session", id, row.payload, &o, e);
	if (st == ST_OK && json_object_object_get_ex(o, "metadata", meta))
		json_object_get(*meta);
	json_object_put(o);
	store_session_row_release(&row);
	return st;
}

/*
 * Extras kept with the session: "metadata" (an object) and recorded_by, who wrote it: the
 * server's word, never the body's.  Without metadata in the body *keep is set: the store
 * carries the session's own into the payload inside its write, where no other upsert can
 * come between; the earlier metadata is read here only to refuse a stored payload that does
 * not parse.
 */
static enum status extras(struct service *s, json_object *req, const char *id,
			  const struct caller *who, char **payload, bool *keep, struct err *e)
{
	json_object *meta = NULL, *o;
	enum status st = ST_OK;

	if (json_object_object_get_ex(req, "metadata", &meta) && meta &&
	    !json_object_is_type(meta, json_type_object))
		return err_set(e, ST_INVALID, "field 'metadata' must be an object");
	if (meta && service_check_nul(meta, "metadata", e) != ST_OK)
		return ST_INVALID;
	*keep = !meta;
	if (meta)
		json_object_get(meta);
	else if ((st = earlier_metadata(s, id, &meta, e)) != ST_OK)
		return st;
	o = json_object_new_object();
	if (meta && !*keep)
		json_object_object_add(o, "metadata", meta);
	else
		json_object_put(meta);
	json_object_object_add(o, "recorded_by", service_recorded_by(who));
	*payload = jx_take_text(o);
	return ST_OK;
}

enum status service_session_owner_check(struct service *s, const char *session_id,
					const struct caller *who, bool exempt,
					const char *permission, const char *may, char **settle,
					struct err *e)
{
	bool is_new = false;
	char *owner;
	enum status st;

	if (settle)
		*settle = NULL;
	if (!session_id || !who || !who->verified || exempt)
		return ST_OK;
	owner = jx_take_text(service_recorded_by(who));
	st = store_session_owner_check(s->store, session_id, owner, &is_new, e);
	if (st == ST_OK && is_new && settle) {
		*settle = owner;
		owner = NULL;
	}
	free(owner);
	if (st == ST_FORBIDDEN)
		st = service_owner_refusal("session", session_id, "recorded or started", permission,
					   may, e);
	return st;
}

/* The answer is read back after the write, so it carries the counters as stored. */
enum status service_session_upsert(struct service *s, json_object *req, const struct caller *who,
				   char **record, bool *created, struct err *e)
{
	struct session_upsert u = {0};
	char now[TIME_FMT_LEN];
	char *payload = NULL, *owner = NULL;
	enum status st = read_upsert(s, req, &u, e);

	if (st == ST_OK)
		st = extras(s, req, u.session_id, who, &payload, &u.keep_metadata, e);
	time_format_utc(time_now_us(), now, sizeof(now));
	u.now = now;
	u.payload = payload;
	if (st == ST_OK && who && who->verified && !who->may_replace_sessions)
		u.owner = owner = jx_take_text(service_recorded_by(who));
	if (st == ST_OK)
		st = store_session_upsert(s->store, &u, created, e);
	if (st == ST_FORBIDDEN)
		st = service_owner_refusal("session", u.session_id, "recorded or started",
					   "sessions.replace", "change it", e);
	if (st == ST_OK)
		st = session_read(s, u.session_id, false, record, e);
	free(payload);
	free(owner);
	return st;
}
