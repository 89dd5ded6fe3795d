/*
 * metrics.c - GET /metrics in the Prometheus text format: requests by route
 * and status, a latency histogram per route, decisions by outcome, the
 * database pool, and connections refused or cut off.
 */
#include "base/base.h"
#include "http/http_int.h"
#include "base/buf.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/*
 * Fixed arrays indexed by route row: labels come only from the route table, never from a
 * client's path, so a scan of random URLs cannot grow the series without bound.  The counters
 * are per process; Prometheus sums the replicas.
 */
#define MAX_ROUTES   64
#define MAX_STATUSES 24 /* distinct statuses kept per route; more are not counted */

static const double bucket_ms[] = {1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000};
#define NBUCKETS ARRAY_SIZE(bucket_ms)

struct route_stats {
	unsigned int status[MAX_STATUSES];
	uint64_t count[MAX_STATUSES];
	uint64_t buckets[NBUCKETS]; /* cumulative at export, per bucket here */
	uint64_t observations;
	double sum_ms;
};

/*
 * One mutex for the per-route stats, held for a few additions per request; the hot single
 * counters (decisions, refusals) are atomics because they are bumped from places that must
 * not wait on a request's bookkeeping (the accept path among them).
 */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct route_stats stats[MAX_ROUTES + 1]; /* last slot: no route matched */
static atomic_ullong decisions[POLICY_DECISION_COUNT];
static atomic_ullong refusals[HTTP_REFUSE__COUNT];
/* http_metrics_checkpoint's; cp_shown 0 until it is first called */
static _Atomic int64_t cp_breaks, cp_seq = -1, cp_clean_s;
static atomic_int cp_shown;

static size_t route_slot(const struct req *r)
{
	size_t i = r->route ? (size_t)(r->route - http_routes) : MAX_ROUTES;

	return i < MAX_ROUTES ? i : MAX_ROUTES;
}

void http_metrics_observe(const struct req *r, double ms)
{
	struct route_stats *s = &stats[route_slot(r)];

	if (r->status == 0) /* the client went away before a reply */
		return;
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < MAX_STATUSES; i++) {
		if (s->status[i] == r->status || s->status[i] == 0) {
			s->status[i] = r->status;
			s->count[i]++;
			break;
		}
	}
	for (size_t b = 0; b < NBUCKETS; b++) {
		if (ms <= bucket_ms[b]) {
			s->buckets[b]++;
			break;
		}
	}
	s->observations++;
	s->sum_ms += ms;
	pthread_mutex_unlock(&mu);
}

void http_metrics_decision(enum policy_decision d)
{
	if ((unsigned)d < POLICY_DECISION_COUNT)
		atomic_fetch_add(&decisions[d], 1);
}

void http_metrics_refusal(enum http_refusal why)
{
	if ((unsigned)why < HTTP_REFUSE__COUNT)
		atomic_fetch_add(&refusals[why], 1);
}

void http_metrics_checkpoint(int64_t breaks, int64_t signed_seq, int64_t now_s)
{
	atomic_store(&cp_breaks, breaks);
	if (signed_seq >= 0)
		atomic_store(&cp_seq, signed_seq);
	if (breaks == 0)
		atomic_store(&cp_clean_s, now_s);
	atomic_store(&cp_shown, 1);
}

/* Only where serve writes checkpoints (audit_checkpoint_dir). */
static void export_checkpoints(struct buf *b)
{
	if (!atomic_load(&cp_shown))
		return;
	(void)!buf_addf(b, NULL,
			"# HELP cavra_audit_checkpoint_breaks Breaks in the audit chain that the "
			"last check before a checkpoint found (0: it was signed or the head had "
			"not moved).\n"
			"# TYPE cavra_audit_checkpoint_breaks gauge\n"
			"cavra_audit_checkpoint_breaks %lld\n"
			"# HELP cavra_audit_checkpoint_signed_seq The chain head's seq in the last "
			"checkpoint this process signed (-1: none yet).\n"
			"# TYPE cavra_audit_checkpoint_signed_seq gauge\n"
			"cavra_audit_checkpoint_signed_seq %lld\n"
			"# HELP cavra_audit_checkpoint_last_clean_seconds When a check before a "
			"checkpoint last found no break (unix time; 0: never).\n"
			"# TYPE cavra_audit_checkpoint_last_clean_seconds gauge\n"
			"cavra_audit_checkpoint_last_clean_seconds %lld\n",
			(long long)atomic_load(&cp_breaks), (long long)atomic_load(&cp_seq),
			(long long)atomic_load(&cp_clean_s));
}

static void export_refusals(struct buf *b)
{
	static const char *const reason[HTTP_REFUSE__COUNT] = {
		[HTTP_REFUSE_PER_IP] = "per_ip_limit",
		[HTTP_REFUSE_TOTAL] = "connection_limit",
		[HTTP_REFUSE_HEADER_TIMEOUT] = "header_timeout",
		[HTTP_REFUSE_BODY_TIMEOUT] = "body_timeout",
	};

	(void)!buf_adds(b,
			"# HELP cavra_http_connections_refused_total Connections refused at accept "
			"or cut off while reading a request, by reason.\n"
			"# TYPE cavra_http_connections_refused_total counter\n",
			NULL);
	for (int i = 0; i < HTTP_REFUSE__COUNT; i++)
		(void)!buf_addf(b, NULL,
				"cavra_http_connections_refused_total{reason=\"%s\"} %llu\n",
				reason[i], (unsigned long long)atomic_load(&refusals[i]));
}

static const char *route_label(size_t i)
{
	return i < MAX_ROUTES && http_routes[i].method ? http_routes[i].pattern : "unmatched";
}

static const char *method_label(size_t i)
{
	return i < MAX_ROUTES && http_routes[i].method ? http_routes[i].method : "any";
}

static void export_requests(struct buf *b)
{
	(void)!buf_adds(b,
			"# HELP cavra_http_requests_total HTTP requests by route and status.\n"
			"# TYPE cavra_http_requests_total counter\n",
			NULL);
	for (size_t i = 0; i <= MAX_ROUTES; i++)
		for (size_t j = 0; j < MAX_STATUSES && stats[i].status[j]; j++)
			(void)!buf_addf(b, NULL,
					"cavra_http_requests_total{method=\"%s\",route=\"%s\","
					"status=\"%u\"} %llu\n",
					method_label(i), route_label(i), stats[i].status[j],
					(unsigned long long)stats[i].count[j]);
}

static void export_latency(struct buf *b)
{
	(void)!buf_adds(b,
			"# HELP cavra_http_request_duration_seconds Request latency by route.\n"
			"# TYPE cavra_http_request_duration_seconds histogram\n",
			NULL);
	for (size_t i = 0; i <= MAX_ROUTES; i++) {
		uint64_t cum = 0;

		if (!stats[i].observations)
			continue;
		for (size_t k = 0; k < NBUCKETS; k++) {
			cum += stats[i].buckets[k];
			(void)!buf_addf(b, NULL,
					"cavra_http_request_duration_seconds_bucket{method=\"%s\","
					"route=\"%s\",le=\"%g\"} %llu\n",
					method_label(i), route_label(i), bucket_ms[k] / 1000.0,
					(unsigned long long)cum);
		}
		(void)!buf_addf(
			b, NULL,
			"cavra_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} "
			"%llu\ncavra_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
			"cavra_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
			route_label(i), (unsigned long long)stats[i].observations, route_label(i),
			stats[i].sum_ms / 1000.0, route_label(i),
			(unsigned long long)stats[i].observations);
	}
}

static void export_decisions_and_pool(struct buf *b, struct store *st)
{
	int size, in_use, open;

	(void)!buf_adds(b,
			"# HELP cavra_decisions_total Decisions recorded by outcome.\n"
			"# TYPE cavra_decisions_total counter\n",
			NULL);
	for (int d = 0; d < POLICY_DECISION_COUNT; d++)
		(void)!buf_addf(b, NULL, "cavra_decisions_total{decision=\"%s\"} %llu\n",
				policy_decision_name((enum policy_decision)d),
				(unsigned long long)atomic_load(&decisions[d]));
	store_pool_stats(st, &size, &in_use, &open);
	(void)!buf_addf(b, NULL,
			"# HELP cavra_db_pool_connections Database pool connections by state.\n"
			"# TYPE cavra_db_pool_connections gauge\n"
			"cavra_db_pool_connections{state=\"max\"} %d\n"
			"cavra_db_pool_connections{state=\"in_use\"} %d\n"
			"cavra_db_pool_connections{state=\"open\"} %d\n",
			size, in_use, open);
}

/* Only where this process remembers API tokens (PostgreSQL, auth_token_cache_seconds > 0). */
static void export_token_cache(struct buf *b, struct service *svc)
{
	uint64_t hits, misses;
	bool up;

	if (!service_token_cache_stats(svc, &up, &hits, &misses))
		return;
	(void)!buf_addf(
		b, NULL,
		"# HELP cavra_token_listener_up Whether the API token listener listens (1): "
		"only then are verified tokens remembered.\n"
		"# TYPE cavra_token_listener_up gauge\n"
		"cavra_token_listener_up %d\n"
		"# HELP cavra_token_cache_lookups_total API token checks answered from memory "
		"(hit) or read from the database (miss).\n"
		"# TYPE cavra_token_cache_lookups_total counter\n"
		"cavra_token_cache_lookups_total{result=\"hit\"} %llu\n"
		"cavra_token_cache_lookups_total{result=\"miss\"} %llu\n",
		up ? 1 : 0, (unsigned long long)hits, (unsigned long long)misses);
}

enum MHD_Result http_handle_metrics(struct req *r)
{
	struct buf b;
	enum MHD_Result ret;

	buf_init(&b, (size_t)4 << 20);
	pthread_mutex_lock(&mu);
	export_requests(&b);
	export_latency(&b);
	pthread_mutex_unlock(&mu);
	export_decisions_and_pool(&b, r->app->store);
	export_token_cache(&b, r->app->svc);
	export_checkpoints(&b);
	export_refusals(&b);
	ret = http_reply_text(r, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", b.data,
			      b.len);
	buf_release(&b);
	return ret;
}
