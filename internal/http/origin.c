/*
 * origin.c - the scheme, host and port of the console's public URL, and whether a request's
 * Host header or a host of the configuration names them.  Browsers keep cookies by host
 * name, so the console's login works only under the one name its callback comes back to.
 */
#include "base/base.h"
#include "http/http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Splits "host[:port]" or "[v6]:port"; false when malformed or too long for o->host. */
static bool split_authority(const char *a, size_t len, unsigned int dflt, struct http_origin *o)
{
	const char *colon = NULL, *end = a + len;
	size_t hlen;
	unsigned long port = dflt;

	if (len && a[0] == '[') {
		const char *close = memchr(a, ']', len);

		if (!close || (close + 1 != end && close[1] != ':'))
			return false;
		colon = close + 1 != end ? close + 1 : NULL;
	} else {
		colon = memchr(a, ':', len);
	}
	hlen = (size_t)((colon ? colon : end) - a);
	if (hlen == 0 || hlen >= sizeof(o->host) || memchr(a, '@', len))
		return false;
	if (colon) {
		char *stop;

		if (colon + 1 == end || colon[1] < '0' || colon[1] > '9' || end - colon > 6)
			return false;
		port = strtoul(colon + 1, &stop, 10);
		if (stop != end || port == 0 || port > 65535)
			return false;
	}
	for (size_t i = 0; i < hlen; i++)
		o->host[i] = (char)(a[i] >= 'A' && a[i] <= 'Z' ? a[i] - 'A' + 'a' : a[i]);
	o->host[hlen] = '\0';
	o->port = (unsigned int)port;
	return true;
}

enum status http_origin_parse(const char *url, struct http_origin *o, struct err *e)
{
	bool https = url && strncmp(url, "https://", 8) == 0;
	const char *a;

	if (!url || (!https && strncmp(url, "http://", 7) != 0))
		return err_set(e, ST_INVALID, "'%s' is not an http:// or https:// URL",
			       url ? url : "");
	a = url + (https ? 8 : 7);
	o->https = https;
	if (memchr(a, '@', strcspn(a, "/?#")))
		return err_set(e, ST_INVALID,
			       "the URL carries user:password@; the address browsers use has none");
	if (!split_authority(a, strcspn(a, "/?#"), https ? 443 : 80, o))
		return err_set(e, ST_INVALID, "the URL's host[:port] is empty or malformed");
	return ST_OK;
}

/*
 * localhost and the names under it (RFC 6761: resolved to loopback, as browsers do without
 * asking DNS), with or without the root's trailing dot.
 */
static bool localhost_name(const char *host, size_t n)
{
	static const char name[] = "localhost";
	const size_t k = sizeof(name) - 1;

	if (n > 0 && host[n - 1] == '.')
		n--;
	return n >= k && memcmp(host + n - k, name, k) == 0 && (n == k || host[n - k - 1] == '.');
}

bool http_origin_loopback(const struct http_origin *o)
{
	struct in_addr a4;
	struct in6_addr a6;
	char v6[sizeof(o->host)];
	size_t n = strlen(o->host);

	if (localhost_name(o->host, n))
		return true;
	if (inet_pton(AF_INET, o->host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (n < 3 || o->host[0] != '[' || o->host[n - 1] != ']')
		return false;
	snprintf(v6, sizeof(v6), "%.*s", (int)(n - 2), o->host + 1);
	if (inet_pton(AF_INET6, v6, &a6) != 1)
		return false;
	/* ::ffff:127.x.y.z is an IPv4 loopback address written as IPv6 */
	return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
}

bool http_origin_host_matches(const struct http_origin *o, const char *host)
{
	struct http_origin h = {0};

	/* a Host without a port means the scheme's default port, and the scheme is taken to be
	 * the public URL's: nothing in a plain request says otherwise */
	return host && split_authority(host, strlen(host), o->https ? 443 : 80, &h) &&
	       strcmp(h.host, o->host) == 0 && h.port == o->port;
}
