/*
 * records.c - checking, storing, reading and listing the record kinds
 * described in records.h.
 *
 * One generic engine for evidence, approvals, the registry, inventory and integrations: each
 * kind is a table of fields (kinds.c), and the same code checks, stores and reads them all, so
 * a rule about ids, times or free text holds for every kind at once.  A record is stored as
 * its whole JSON payload plus projection columns for the filters; the payload is the truth and
 * the columns exist only to be queried.  The engine knows nothing of any one kind's meaning.
 */
#include "base/base.h"
#include "service/records.h"
#include "service/paging.h"
#include "base/buf.h"
#include "base/timeutil.h"
#include "base/num.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "json/jx.h"
#include "json/jx_canon.h"
#include "store/store_chain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_MAX 4096 /* bytes in a free-text field */
/* A damaged stored record is logged at most this often (µs). */
#define STORED_WARN_US (60 * 1000000LL)

/* Strings anywhere in the record: no NUL (PostgreSQL's JSONB refuses it). */
enum status service_check_nul(json_object *v, const char *field, struct err *e)
{
	if (json_object_is_type(v, json_type_string)) {
		if (strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v))
			return err_set(e, ST_INVALID, "field '%s' contains a NUL character", field);
	} else if (json_object_is_type(v, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(v); i++)
			if (service_check_nul(json_object_array_get_idx(v, i), field, e) != ST_OK)
				return ST_INVALID;
	} else if (json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, key, val)
		{
			if (service_check_nul(val, key, e) != ST_OK)
				return ST_INVALID;
		}
	}
	return ST_OK;
}

static enum status check_list(json_object *rec, const struct field *f, struct err *e)
{
	json_object *v = json_object_object_get(rec, f->name);

	if (!json_object_is_type(v, json_type_array))
		return err_set(e, ST_INVALID, "field '%s' must be a list of strings", f->name);
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		json_object *it = json_object_array_get_idx(v, i);

		if (!json_object_is_type(it, json_type_string) ||
		    jx_check_id(f->name, json_object_get_string(it), NULL) != ST_OK)
			return err_set(e, ST_INVALID,
				       "field '%s' must be a list of non-empty strings without "
				       "control characters",
				       f->name);
	}
	return ST_OK;
}

/* A time field in canonical form, written back into rec. */
static enum status check_time(json_object *rec, const char *name, char *out, size_t size,
			      struct err *e)
{
	const char *s = NULL;
	int64_t us;

	if (jx_str(rec, name, false, &s, e) != ST_OK)
		return ST_INVALID;
	if (!s)
		return ST_OK;
	if (!time_parse(s, &us))
		return err_set(e, ST_INVALID, "field '%s' must be an RFC 3339 time", name);
	time_format_utc(us, out, size);
	return ST_OK;
}

static void set_default(json_object *rec, const struct field *f)
{
	int64_t n;

	if (f->kind == F_INT && str_to_i64(f->def, INT64_MIN, INT64_MAX, &n))
		json_object_object_add(rec, f->name, json_object_new_int64(n));
	else
		json_object_object_add(rec, f->name, json_object_new_string(f->def));
}

/* Checks one field; *value gets the projection text (owned) when it has a column. */
static enum status check_field(json_object *rec, const struct field *f, char **value, struct err *e)
{
	json_object *v = NULL;
	const char *s = NULL;
	char t[TIME_FMT_LEN] = "";
	int64_t n = 0;
	bool present;

	if (!json_object_object_get_ex(rec, f->name, &v) || !v) {
		if (f->required && !f->def)
			return err_set(e, ST_INVALID, "field '%s' is required", f->name);
		if (!f->def)
			return ST_OK;
		set_default(rec, f);
	}
	switch (f->kind) {
	case F_TEXT:
		if (jx_str(rec, f->name, f->required, &s, e) != ST_OK)
			return ST_INVALID;
		if (s && strlen(s) > (size_t)(f->max ? f->max : TEXT_MAX))
			return err_set(e, ST_INVALID, "field '%s' is longer than %lld bytes",
				       f->name, (long long)(f->max ? f->max : TEXT_MAX));
		break;
	case F_ID:
		if (jx_id(rec, f->name, true, &s, e) != ST_OK)
			return ST_INVALID;
		if (f->path_id && service_check_path_id(f->name, s, e) != ST_OK)
			return ST_INVALID;
		break;
	case F_ENUM:
		if (jx_str(rec, f->name, true, &s, e) != ST_OK ||
		    jx_check_enum(f->name, s, f->allowed, e) != ST_OK)
			return ST_INVALID;
		break;
	case F_INT:
		if (jx_int(rec, f->name, f->min, f->max, &n, &present, e) != ST_OK)
			return ST_INVALID;
		*value = f->column ? xasprintf("%lld", (long long)n) : NULL;
		return ST_OK;
	case F_LIST:
		return check_list(rec, f, e);
	case F_TIME:
		if (check_time(rec, f->name, t, sizeof(t), e) != ST_OK)
			return ST_INVALID;
		json_object_object_add(rec, f->name, json_object_new_string(t));
		s = t;
		break;
	case F_OBJECT:
		if (!json_object_is_type(json_object_object_get(rec, f->name), json_type_object))
			return err_set(e, ST_INVALID, "field '%s' must be an object", f->name);
		return ST_OK;
	case F_ARRAY:
		if (!json_object_is_type(json_object_object_get(rec, f->name), json_type_array))
			return err_set(e, ST_INVALID, "field '%s' must be a list", f->name);
		return ST_OK;
	case F_BOOL:
		if (!json_object_is_type(json_object_object_get(rec, f->name), json_type_boolean))
			return err_set(e, ST_INVALID, "field '%s' must be true or false", f->name);
		return ST_OK;
	}
	*value = f->column ? xstrdup(s) : NULL;
	return ST_OK;
}

/*
 * Aliases ("id", "name", "repository") are accepted because clients of the original API send
 * them; an alias is copied into the canonical field so that the stored payload has one
 * spelling.  Only kinds whose ids may hold '/' (repository names) are served by a "{id+}"
 * route; every other id must be a single path segment.
 */
static enum status take_id(const struct kind *k, json_object *rec, struct prepared *out,
			   struct err *e)
{
	const char *id = NULL;

	if (jx_id(rec, k->id_field, false, &id, e) != ST_OK)
		return ST_INVALID;
	for (const char *const *a = k->id_aliases; !id && a && *a; a++) {
		json_object *v = NULL;

		if (!json_object_object_get_ex(rec, *a, &v) || !v)
			continue;
		if (jx_id(rec, *a, true, &id, e) != ST_OK)
			return ST_INVALID;
		json_object_object_add(rec, k->id_field, json_object_new_string(id));
		if (jx_id(rec, k->id_field, true, &id, e) != ST_OK)
			return ST_INVALID;
	}
	if (!id && !k->default_id)
		return err_set(e, ST_INVALID, "field '%s' is required", k->id_field);
	if (!id) {
		char *derived = k->default_id(rec);

		if (!derived)
			return err_set(e, ST_INVALID, "field '%s' is required", k->id_field);
		json_object_object_add(rec, k->id_field, json_object_new_string(derived));
		free(derived);
		if (jx_id(rec, k->id_field, true, &id, e) != ST_OK)
			return ST_INVALID;
	}
	if (!k->slash_ids && service_check_path_id(k->id_field, id, e) != ST_OK)
		return ST_INVALID;
	out->id = id;
	return ST_OK;
}

/* schema_version may be given but must be this kind's; times are columns. */
static enum status take_meta(const struct kind *k, json_object *rec, bool keep_times,
			     struct prepared *out, struct err *e)
{
	const char *sv = NULL;

	if (jx_str(rec, "schema_version", false, &sv, e) != ST_OK)
		return ST_INVALID;
	if (sv && strcmp(sv, k->schema) != 0)
		return err_set(e, ST_INVALID, "field 'schema_version' must be '%s'", k->schema);
	if (keep_times &&
	    (check_time(rec, "created_at", out->created_at, sizeof(out->created_at), e) != ST_OK ||
	     check_time(rec, "updated_at", out->updated_at, sizeof(out->updated_at), e) != ST_OK))
		return ST_INVALID;
	json_object_object_del(rec, "schema_version");
	json_object_object_del(rec, "created_at");
	json_object_object_del(rec, "updated_at");
	return ST_OK;
}

/*
 * Works on a deep copy so the caller's request object is never changed.  keep_times is for
 * imports, which must keep the original created_at and updated_at; the API always stamps its
 * own.  Checks run before the id is taken so that the first error names the field at fault.
 */
enum status service_kind_prepare(const struct kind *k, json_object *req, bool keep_times,
				 struct prepared *out, struct err *e)
{
	size_t col = 0;
	enum status st;

	memset(out, 0, sizeof(*out));
	if (!json_object_is_type(req, json_type_object))
		return err_set(e, ST_INVALID, "the record must be a JSON object");
	out->rec = NULL;
	if (json_object_deep_copy(req, &out->rec, NULL) != 0)
		return err_set(e, ST_INTERNAL, "copy %s: out of memory", k->name);
	if (k->normalize)
		k->normalize(out->rec);
	st = service_check_nul(out->rec, k->id_field, e);
	if (st == ST_OK)
		st = take_meta(k, out->rec, keep_times, out, e);
	for (const struct field *f = k->fields; st == ST_OK && f->name; f++) {
		char *v = NULL;

		st = check_field(out->rec, f, &v, e);
		if (f->column && col < REC_MAX_COLS)
			out->values[col++] = v;
		else
			free(v);
	}
	if (st == ST_OK)
		st = take_id(k, out->rec, out, e);
	if (st == ST_OK)
		out->payload = jx_take_text(json_object_get(out->rec));
	return st;
}

void service_prepared_release(struct prepared *p)
{
	if (!p)
		return;
	json_object_put(p->rec);
	free(p->payload);
	for (size_t i = 0; i < REC_MAX_COLS; i++)
		free(p->values[i]);
	memset(p, 0, sizeof(*p));
}

void service_prepared_write(const struct kind *k, const struct prepared *p, const char *now,
			    struct rec_write *w)
{
	size_t col = 0;

	memset(w, 0, sizeof(*w));
	w->id = p->id;
	for (const struct field *f = k->fields; f->name; f++)
		if (f->column && col < REC_MAX_COLS) {
			w->values[col] = p->values[col];
			col++;
		}
	w->payload = p->payload;
	w->created_at = p->created_at[0] ? p->created_at : now;
	w->updated_at = p->updated_at[0] ? p->updated_at : now;
}

json_object *service_stored_object(const char *table, const char *id, const char *payload)
{
	static _Atomic int64_t last_warn_us;
	struct err e = {0};
	json_object *o = NULL;

	if (!payload || jx_parse_object(payload, strlen(payload), &o, &e) == ST_OK)
		return o;
	if (log_due(&last_warn_us, time_mono_us(), STORED_WARN_US))
		log_warn("%s%s%.128s%s: the stored record %s (edited in the database?); read "
			 "without it (said once a minute at most)",
			 table, id ? " '" : "", id ? id : "", id ? "'" : "", jx_fault(e.msg));
	return NULL;
}

enum status service_stored_for_write(const char *what, const char *id, const char *payload,
				     json_object **out, struct err *e)
{
	struct err pe = {0};

	if (jx_parse(payload, strlen(payload), JX_CANON_DEPTH, out, &pe) == ST_OK &&
	    json_object_is_type(*out, json_type_object))
		return ST_OK;
	json_object_put(*out);
	*out = NULL;
	return err_set(e, ST_INTERNAL,
		       "%s '%.128s': its stored record %s (edited in the database?); it was not "
		       "changed",
		       what, id, pe.msg[0] ? jx_fault(pe.msg) : "is not a JSON object");
}

/*
 * The id, schema_version and times come from the columns, not the payload, so a record reads
 * the same whichever way it was written (API, import, restore).  A payload that does not parse
 * still yields its id and times rather than failing the whole list.
 */
json_object *service_kind_record(const struct kind *k, const struct rec_row *row)
{
	json_object *out = json_object_new_object(),
		    *p = service_stored_object(k->table->name, row->id, row->payload);

	jx_add_str(out, "schema_version", k->schema);
	jx_add_str(out, k->id_field, row->id);
	if (p) {
		json_object_object_foreach(p, key, val)
		{
			if (strcmp(key, k->id_field) != 0 && strcmp(key, "schema_version") != 0)
				json_object_object_add(out, key, json_object_get(val));
		}
	}
	json_object_put(p);
	jx_add_str(out, "created_at", row->created_at);
	jx_add_str(out, "updated_at", row->updated_at);
	if (k->view)
		k->view(out);
	return out;
}

/* The newest record whose alt_col equals value. */
static enum status get_by_alt(struct service *s, const struct kind *k, const char *value,
			      struct rec_row *out, struct err *e)
{
	struct rec_filter f = {k->alt_col, REC_EQ, value, 0};
	struct rec_query q = {.filters = &f, .nfilters = 1, .limit = 1};
	struct rec_page page = {0};
	enum status st = store_rec_list(s->store, k->table, &q, &page, e);

	if (st == ST_OK && page.n == 0)
		st = ST_NOT_FOUND;
	if (st == ST_OK) {
		*out = page.rows[0];
		memset(&page.rows[0], 0, sizeof(page.rows[0]));
	}
	store_rec_page_release(&page);
	return st;
}

enum status service_row_vouch(struct service *s, const char *table, const char *what,
			      const char *id, struct err *e)
{
	bool vouched = true;
	enum status st = store_record_vouched(s->store, table, id, &vouched, e);

	return st != ST_OK || vouched ? st : store_chain_refuse(what, id, "", e);
}

enum status service_kind_vouch(struct service *s, const struct kind *k, const char *id,
			       struct err *e)
{
	return k->vouched_reads ? service_row_vouch(s, k->table->name, k->name, id, e) : ST_OK;
}

/* A malformed id cannot exist, so it is answered as not found without a query. */
static enum status kind_read(struct service *s, const struct kind *k, const char *id, bool vouch,
			     char **record, struct err *e)
{
	struct rec_row row;
	enum status st;

	if (jx_check_id(k->id_field, id, NULL) != ST_OK)
		return err_set(e, ST_NOT_FOUND, "%s not found", k->name);
	st = store_rec_get(s->store, k->table, id, &row, e);
	if (st == ST_NOT_FOUND && k->alt_col)
		st = get_by_alt(s, k, id, &row, e);
	if (st == ST_NOT_FOUND)
		st = err_set(e, ST_NOT_FOUND, "%s '%s' not found", k->name, id);
	if (st == ST_OK && vouch)
		st = service_kind_vouch(s, k, row.id, e);
	if (st == ST_OK)
		*record = jx_take_text(service_kind_record(k, &row));
	store_rec_row_release(&row);
	return st;
}

enum status service_kind_get(struct service *s, const struct kind *k, const char *id, char **record,
			     struct err *e)
{
	return kind_read(s, k, id, true, record, e);
}

enum status service_kind_get_unvouched(struct service *s, const struct kind *k, const char *id,
				       char **record, struct err *e)
{
	return kind_read(s, k, id, false, record, e);
}

/*
 * Sets recorded_by in p's record and payload: the server's word, not the body's.  So is a
 * writer-owned record's changed_by (service_kind_upsert), which the body cannot give either.
 */
static void set_recorded_by(struct prepared *p, json_object *recorded_by, bool writer_owned)
{
	json_object_object_add(p->rec, "recorded_by", json_object_get(recorded_by));
	if (writer_owned)
		json_object_object_del(p->rec, "changed_by");
	free(p->payload);
	p->payload = jx_take_text(json_object_get(p->rec));
}

/*
 * The answer is read back after the write, so the client sees the record as stored (with the
 * times and defaults the server set), exactly what a later GET returns.  An unchanged record is
 * not rewritten, so repeating a request does not move updated_at.  A writer-owned record is
 * its session's owner's: an owned write starts the session for its caller unless it exists,
 * and replaces the record whoever wrote it (store_rec_put's session_owner), so evidence written
 * first for a session that is not started yet takes the session, not just the record.  A
 * caller that may replace it without owning it keeps its writer (keep_writer): the owner's
 * later writes are still its own, and the trail still says who recorded it.
 */
enum status service_kind_upsert(struct service *s, const struct kind *k, json_object *req,
				json_object *recorded_by, bool owned, char **record, bool *created,
				struct err *e)
{
	enum rec_outcome outcome = REC_UNCHANGED;
	char now[TIME_FMT_LEN];
	struct prepared p;
	struct rec_write w;
	enum status st = service_kind_prepare(k, req, false, &p, e);

	time_format_utc(time_now_us(), now, sizeof(now));
	if (st == ST_OK && recorded_by)
		set_recorded_by(&p, recorded_by, k->writer_owned);
	if (st == ST_OK) {
		service_prepared_write(k, &p, now, &w);
		w.keep_writer = k->writer_owned && recorded_by && !owned;
		if (owned && recorded_by)
			w.session_owner = json_object_to_json_string_ext(
				recorded_by,
				JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		st = store_rec_upsert(s->store, k->table, &w, &outcome, e);
	}
	if (st == ST_CONFLICT && k->unique_field)
		st = err_set(e, ST_CONFLICT, "field '%s': '%s' is already used by another %s",
			     k->unique_field, jx_get_str(p.rec, k->unique_field), k->name);
	else if (st == ST_CONFLICT)
		st = err_set(e, ST_CONFLICT, "%s '%s' clashes with a stored record", k->name, p.id);
	else if (st == ST_FORBIDDEN)
		st = service_owner_refusal("session", p.id, "recorded or started",
					   "evidence.replace", "record its evidence", e);
	if (st == ST_OK)
		st = service_kind_get(s, k, p.id, record, e);
	*created = outcome == REC_CREATED;
	service_prepared_release(&p);
	return st;
}

/* One list parameter as a filter (value borrowed or owned by held). */
static enum status read_param(service_arg_fn arg, void *ctx, const struct fparam *fp,
			      struct rec_filter *f, struct err *e)
{
	const char *v = NULL;
	int64_t n;

	memset(f, 0, sizeof(*f));
	f->column = fp->column;
	f->op = fp->op;
	switch (fp->kind) {
	case F_ENUM:
		return service_arg_enum(arg, ctx, fp->param, fp->allowed, &f->value, e);
	case F_INT:
		v = arg(ctx, fp->param);
		if (v && !str_to_i64(v, 0, INT64_MAX, &n))
			return err_set(e, ST_INVALID, "parameter '%s' must be a whole number >= 0",
				       fp->param);
		f->value = v;
		return ST_OK;
	case F_BOOL:
		v = arg(ctx, fp->param);
		if (v && strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
			return err_set(e, ST_INVALID, "parameter '%s' must be true or false",
				       fp->param);
		f->value = v;
		return ST_OK;
	default:
		return service_arg_id(arg, ctx, fp->param, &f->value, e);
	}
}

/*
 * Logs that a list left out n records of what the chain does not vouch for, first the first of
 * them: once a minute at most, so that a client polling a tampered list cannot flood the log
 * (cavra audit verify names every such row).
 */
static void log_withheld(const char *what, size_t n, const char *first)
{
	static _Atomic int64_t last_warn_us;

	if (log_due(&last_warn_us, time_mono_us(), STORED_WARN_US))
		log_warn(
			"%zu %s record(s) not what the audit chain last recorded for them left out "
			"of a list, '%s' the first (cavra audit verify names them; said once a "
			"minute at most)",
			n, what, first);
}

size_t service_withheld(const char *what, const char *const *ids, const bool *vouched, size_t n)
{
	const char *first = NULL;
	size_t withheld = 0;

	for (size_t i = 0; i < n; i++) {
		if (!vouched[i] && withheld++ == 0)
			first = ids[i];
	}
	if (withheld)
		log_withheld(what, withheld, first);
	return withheld;
}

enum status service_rows_vouched(struct service *s, const char *table, const char *what,
				 const char *const *ids, size_t n, bool *vouched, size_t *withheld,
				 struct err *e)
{
	enum status st = store_records_vouched(s->store, table, ids, n, vouched, e);

	*withheld = st == ST_OK ? service_withheld(what, ids, vouched, n) : 0;
	return st;
}

/* Of a kind with vouched_reads, service_rows_vouched of the page (all true for another kind). */
static enum status page_vouched(struct service *s, const struct kind *k,
				const struct rec_page *page, bool *vouched, struct err *e)
{
	const char **ids;
	size_t withheld = 0;
	enum status st;

	for (size_t i = 0; i < page->n; i++)
		vouched[i] = true;
	if (!k->vouched_reads || page->n == 0)
		return ST_OK;
	ids = xcalloc(page->n, sizeof(*ids));
	for (size_t i = 0; i < page->n; i++)
		ids[i] = page->rows[i].id;
	st = service_rows_vouched(s, k->table->name, k->name, ids, page->n, vouched, &withheld, e);
	free(ids);
	return st;
}

/*
 * The page's envelope; a row the chain does not vouch for is left out of the items and counted
 * in "withheld" (the cursor still follows the page's last row).
 */
static enum status page_envelope(struct service *s, const struct kind *k,
				 const struct rec_page *page, const struct paging *p,
				 char **envelope, struct err *e)
{
	bool *vouched = xcalloc(page->n + 1, sizeof(*vouched));
	struct paging shown = *p;
	enum status st = page_vouched(s, k, page, vouched, e);
	char *next = NULL;
	struct buf b;
	size_t n = 0;

	if (st != ST_OK) {
		free(vouched);
		return st;
	}
	next = page->more ? service_paging_cursor(k->table->order_col, page->last_ts, page->last_id)
			  : NULL;
	service_envelope_open(&b);
	for (size_t i = 0; i < page->n; i++) {
		char *item =
			vouched[i] ? jx_take_text(service_kind_record(k, &page->rows[i])) : NULL;

		shown.withheld += !vouched[i];
		if (item)
			service_envelope_item(&b, n++, item);
		free(item);
	}
	service_envelope_close(&b, page->total, &shown, next);
	free(next);
	free(vouched);
	*envelope = buf_detach(&b, NULL);
	return ST_OK;
}

enum status service_kind_list(struct service *s, const struct kind *k, service_arg_fn arg,
			      void *ctx, const struct rec_filter *extra, size_t nextra,
			      char **envelope, struct err *e)
{
	struct rec_filter filters[16];
	struct rec_page page = {0};
	struct rec_query q = {0};
	struct paging p = {0};
	enum status st = ST_OK;
	size_t n = 0;

	for (const struct fparam *fp = k->params; st == ST_OK && fp->param && n < 12; fp++)
		st = read_param(arg, ctx, fp, &filters[n++], e);
	/* an extra filter may restrict who sees what: dropping one would widen the list */
	if (st == ST_OK && nextra > ARRAY_SIZE(filters) - n)
		st = err_set(e, ST_INTERNAL, "%s list: too many filters", k->name);
	for (size_t i = 0; st == ST_OK && i < nextra; i++)
		filters[n++] = extra[i];
	if (st == ST_OK)
		st = service_paging_parse(arg, ctx, k->table->order_col, &p, e);
	q.filters = filters;
	q.nfilters = n;
	PAGING_APPLY(&q, &p);
	if (st == ST_OK)
		st = store_rec_list(s->store, k->table, &q, &page, e);
	if (st == ST_OK)
		st = page_envelope(s, k, &page, &p, envelope, e);
	store_rec_page_release(&page);
	service_paging_release(&p);
	return st;
}
