/*
 * auth_fetch_curl.c - the libcurl fetcher for discovery documents and JWK
 * sets: http(s) only, no redirects, connect and total timeouts, a size cap.
 * The only file of cavra that includes <curl/curl.h>.
 */
#include "base/base.h"
#include "auth/auth.h"
#include "base/xalloc.h"

#include <pthread.h>
#include <stdlib.h>

#include <curl/curl.h>

struct curl_fetcher {
	struct auth_fetcher base; /* first: the vtable casts back */
	char *ca_file;
	long connect_ms, total_ms;
};

struct sink {
	struct buf *body;
	bool too_large;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

/*
 * curl_global_init is not thread-safe and must run once per process; fetches start on
 * connection threads and the refresher, so the first of them runs it through pthread_once.
 */
static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	struct sink *s = ud;

	if (buf_add(s->body, p, size * n, NULL) != ST_OK) {
		s->too_large = true;
		return 0; /* makes curl stop with CURLE_WRITE_ERROR */
	}
	return size * n;
}

static CURLcode set_options(CURL *h, const struct curl_fetcher *f, const char *url, struct sink *s,
			    char *errbuf)
{
	CURLcode rc = curl_easy_setopt(h, CURLOPT_URL, url);

	if (!rc)
		rc = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	/* no redirects: a discovery document that moves could take us off-host or to http */
	if (!rc)
		rc = curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	if (!rc)
		rc = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* we run in threads */
	if (!rc)
		rc = curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, f->connect_ms);
	if (!rc)
		rc = curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, f->total_ms);
	/* stops early on a declared Content-Length; on_data enforces the cap otherwise */
	if (!rc)
		rc = curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)s->body->cap);
	if (!rc)
		rc = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	if (!rc)
		rc = curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
	if (!rc)
		rc = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	if (!rc)
		rc = curl_easy_setopt(h, CURLOPT_USERAGENT, "cavra/" CAVRA_VERSION);
	if (!rc && f->ca_file)
		rc = curl_easy_setopt(h, CURLOPT_CAINFO, f->ca_file);
	return rc;
}

/*
 * Runs h once its options are set (rc: how setting them went).  ST_OK when
 * an answer came, whatever its HTTP status, which goes to *code.
 */
static enum status perform(CURL *h, CURLcode rc, const struct sink *s, const char *errbuf,
			   long *code, struct err *e)
{
	if (rc)
		return err_set(e, ST_INTERNAL, "curl options: %s", curl_easy_strerror(rc));
	rc = curl_easy_perform(h);
	if (s->too_large || rc == CURLE_FILESIZE_EXCEEDED)
		return err_set(e, ST_TOO_LARGE, "response is larger than %zu bytes", s->body->cap);
	if (rc)
		return err_set(e, ST_UNAVAILABLE, "%s",
			       errbuf[0] ? errbuf : curl_easy_strerror(rc));
	if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, code))
		*code = 0;
	return ST_OK;
}

/*
 * One easy handle per fetch: fetches are rare (discovery, key refresh), and a handle shared
 * between threads would need a lock around every use.  Anything but 200 is the IdP being
 * unavailable to us, reported as ST_UNAVAILABLE so that callers keep the keys they have.
 */
static enum status fetcher_get(struct auth_fetcher *base, const char *url, struct buf *body,
			       struct err *e)
{
	struct curl_fetcher *f = (struct curl_fetcher *)base;
	char errbuf[CURL_ERROR_SIZE] = "";
	struct sink s = {body, false};
	CURL *h = curl_easy_init();
	enum status st;
	long code = 0;

	if (!h)
		return err_set(e, ST_INTERNAL, "curl_easy_init failed");
	st = perform(h, set_options(h, f, url, &s, errbuf), &s, errbuf, &code, e);
	if (st == ST_OK && code != 200)
		st = err_set(e, ST_UNAVAILABLE, "HTTP status %ld%s", code,
			     code >= 300 && code < 400 ? " (redirects are not followed)" : "");
	curl_easy_cleanup(h);
	return st;
}

/*
 * POSTs form (application/x-www-form-urlencoded) with HTTP basic client
 * authentication; any HTTP status is returned in *status with its body (the
 * token endpoint answers errors as JSON with 400).
 */
static enum status fetcher_post(struct auth_fetcher *base, const struct auth_post *req,
				struct buf *body, long *status, struct err *e)
{
	struct curl_fetcher *f = (struct curl_fetcher *)base;
	char errbuf[CURL_ERROR_SIZE] = "";
	struct sink s = {body, false};
	CURL *h = curl_easy_init();
	enum status st;
	CURLcode rc;

	*status = 0;
	if (!h)
		return err_set(e, ST_INTERNAL, "curl_easy_init failed");
	rc = set_options(h, f, req->url, &s, errbuf);
	if (!rc)
		rc = curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->form);
	if (!rc && req->user)
		rc = curl_easy_setopt(h, CURLOPT_USERNAME, req->user);
	if (!rc && req->password)
		rc = curl_easy_setopt(h, CURLOPT_PASSWORD, req->password);
	if (!rc && req->user)
		rc = curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	st = perform(h, rc, &s, errbuf, status, e);
	curl_easy_cleanup(h);
	return st;
}

static void fetcher_free(struct auth_fetcher *base)
{
	struct curl_fetcher *f = (struct curl_fetcher *)base;

	if (!f)
		return;
	free(f->ca_file);
	free(f);
}

enum status auth_fetcher_curl_new(const struct auth_fetch_opts *o, struct auth_fetcher **out,
				  struct err *e)
{
	struct curl_fetcher *f;

	*out = NULL;
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return err_set(e, ST_INTERNAL, "curl_global_init: %s",
			       curl_easy_strerror(global_rc));
	f = xcalloc(1, sizeof(*f));
	f->base.get = fetcher_get;
	f->base.post = fetcher_post;
	f->base.free = fetcher_free;
	f->ca_file = o && o->ca_file ? xstrdup(o->ca_file) : NULL;
	f->connect_ms =
		o && o->connect_timeout_ms ? o->connect_timeout_ms : AUTH_CONNECT_TIMEOUT_MS;
	f->total_ms = o && o->timeout_ms ? o->timeout_ms : AUTH_FETCH_TIMEOUT_MS;
	*out = &f->base;
	return ST_OK;
}
