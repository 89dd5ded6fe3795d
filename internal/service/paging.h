/*
 * paging.h - private to internal/service: limit / offset / cursor parsing
 * and the list envelope shared by every list endpoint.
 */
#ifndef CAVRA_SERVICE_PAGING_H
#define CAVRA_SERVICE_PAGING_H

#include "service/service.h"
#include "base/buf.h"

/*
 * The default "total" is exact up to this many matches and says "at least this many" above
 * it, so that counting costs at most this many rows however large the table grows.
 */
#define PAGING_TOTAL_BOUND 10000

struct paging {
	int limit;
	int64_t offset;
	bool count; /* false (count=none): no count query, total is null */
	/* count=bounded (default): PAGING_TOTAL_BOUND; count=exact: 0, no bound */
	int64_t count_bound;
	char *after_ts, *after_id; /* decoded cursor, owned */
	/*
	 * Rows of the page left out of its items (records the audit chain does not vouch for,
	 * service_kind_list): the envelope's "withheld" when above 0.
	 */
	int64_t withheld;
};

/*
 * Reads limit, offset and cursor; 400 naming the parameter on bad input.  key names the list's
 * sort order as its cursors carry it (service_paging_cursor): a cursor of another key or of an
 * earlier version is a 400 that says to start again from the first page.
 */
ATTR_NODISCARD enum status service_paging_parse(service_arg_fn arg, void *ctx, const char *key,
						struct paging *p, struct err *e);
void service_paging_release(struct paging *p);
/*
 * Copies the window of p (a struct paging *) into q, a store query or filter
 * with the members limit, offset, after_ts, after_id (borrowed from p) and
 * want_total and total_bound: each store has its own struct, the window is the same.
 */
#define PAGING_APPLY(q, p)                                                                  \
	((q)->limit = (p)->limit, (q)->offset = (p)->offset, (q)->after_ts = (p)->after_ts, \
	 (q)->after_id = (p)->after_id, (q)->want_total = (p)->count,                       \
	 (q)->total_bound = (p)->count_bound)

/*
 * An opaque cursor for the row after (ts, id) in the order named key (the sort column, with
 * ",asc" for an ascending list; no '|'); caller owns, free().
 */
char *service_paging_cursor(const char *key, const char *ts, const char *id);

/* The sort keys of the lists, as their cursors carry them. */
#define PAGING_KEY_CREATED     "created_at"
#define PAGING_KEY_DECIDED     "decided_at"
#define PAGING_KEY_DECIDED_ASC "decided_at,asc"

/* Starts '{"items":[' in b. */
void service_envelope_open(struct buf *b);
/* Appends one item (JSON text), with a comma when needed. */
void service_envelope_item(struct buf *b, size_t i, const char *json);
/*
 * Closes the envelope with total (< 0: null), total_relation ("eq", or "gte" with total set to
 * the bound when a bounded count found more), limit, offset and next_cursor (NULL: null).
 */
void service_envelope_close(struct buf *b, int64_t total, const struct paging *p, const char *next);

/* Normalises an RFC 3339 query time; 400 naming the parameter. */
ATTR_NODISCARD enum status service_arg_time(service_arg_fn arg, void *ctx, const char *name,
					    char **out, struct err *e);
/* An optional enum argument; 400 listing the allowed values. */
ATTR_NODISCARD enum status service_arg_enum(service_arg_fn arg, void *ctx, const char *name,
					    const char *const *allowed, const char **out,
					    struct err *e);
/* An optional id-like argument (length and control characters checked). */
ATTR_NODISCARD enum status service_arg_id(service_arg_fn arg, void *ctx, const char *name,
					  const char **out, struct err *e);

/*
 * One query argument of a list endpoint: read into the const char * at
 * offset off of the caller's struct, with service_arg_enum when values is set,
 * else with service_arg_id.
 */
struct arg_field {
	const char *name;
	size_t off;
	const char *const *values;
};
/* Reads n fields in their order into out; the first bad one is the error. */
ATTR_NODISCARD enum status service_arg_fields(service_arg_fn arg, void *ctx,
					      const struct arg_field *f, size_t n, void *out,
					      struct err *e);

/* Ids that appear as one URL path segment must not contain '/'. */
ATTR_NODISCARD enum status service_check_path_id(const char *field, const char *value,
						 struct err *e);

#endif
