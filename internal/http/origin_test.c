/* Unit tests for the console's public origin and Host matching (origin.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/base.h"
#include "http/http.h"

#include <string.h>

static struct http_origin parsed(const char *url)
{
	struct http_origin o = {0};

	assert_int_equal(http_origin_parse(url, &o, NULL), ST_OK);
	return o;
}

static void test_parse(void **state)
{
	static const struct {
		const char *url, *host;
		bool https;
		unsigned int port;
	} ok[] = {
		{"http://127.0.0.1:8080", "127.0.0.1", false, 8080},
		{"https://Cavra.Example.COM/", "cavra.example.com", true, 443},
		{"http://cavra.example.com/prefix/", "cavra.example.com", false, 80},
		{"https://[::1]:8443", "[::1]", true, 8443},
		{"http://localhost?x#y", "localhost", false, 80},
	};
	static const char *const bad[] = {
		"ftp://h",	   "http://",		"https:///x",	 "http://h:",
		"http://h:0",	   "http://h:65536",	"http://h:8x",	 "http://u:p@h",
		"http://u@h/",	   "http://[::1",	"http://[::1]x", "http://h:-1",
		"http://h:123456", "cavra.example.com",
	};
	struct http_origin o;

	UNUSED(state);
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		o = parsed(ok[i].url);
		assert_string_equal(o.host, ok[i].host);
		assert_int_equal(o.https, ok[i].https);
		assert_int_equal(o.port, ok[i].port);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(http_origin_parse(bad[i], &o, NULL), ST_INVALID);
	assert_int_equal(http_origin_parse(NULL, &o, NULL), ST_INVALID);
}

static void test_loopback(void **state)
{
	static const struct {
		const char *url;
		bool loopback;
	} cases[] = {
		{"http://127.0.0.1:1", true},	     {"http://127.200.3.4", true},
		{"http://LOCALHOST:8080", true},     {"http://[::1]:8080", true},
		{"http://10.1.2.3:8080", false},     {"http://128.0.0.1", false},
		{"http://cavra.example.com", false}, {"http://localhost.example.com", false},
		{"http://127.0.0.1.nip.io", false},  {"http://[::2]", false},
		{"http://0.0.0.0", false},	     {"http://console.localhost:8080", true},
		{"http://localhost.:8080", true},    {"http://a.b.localhost.", true},
		{"http://notlocalhost", false},	     {"http://localhost.example", false},
		{"http://[::ffff:127.0.0.1]", true}, {"http://[::ffff:127.9.8.7]:80", true},
		{"http://[::ffff:10.0.0.1]", false}, {"http://[::127.0.0.1]", false},
	};

	UNUSED(state);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct http_origin o = parsed(cases[i].url);

		assert_int_equal(http_origin_loopback(&o), cases[i].loopback);
	}
}

static void test_host_matches(void **state)
{
	struct http_origin plain = parsed("http://127.0.0.1:8080/");
	struct http_origin tls = parsed("https://cavra.example.com");

	UNUSED(state);
	assert_true(http_origin_host_matches(&plain, "127.0.0.1:8080"));
	assert_false(http_origin_host_matches(&plain, "localhost:8080"));
	assert_false(http_origin_host_matches(&plain, "127.0.0.1:8081"));
	assert_false(http_origin_host_matches(&plain, "127.0.0.1"));
	assert_false(http_origin_host_matches(&plain, NULL));
	assert_false(http_origin_host_matches(&plain, ""));
	assert_false(http_origin_host_matches(&plain, "127.0.0.1:8080@evil.example"));
	assert_true(http_origin_host_matches(&tls, "cavra.example.com"));
	assert_true(http_origin_host_matches(&tls, "CAVRA.example.com:443"));
	assert_false(http_origin_host_matches(&tls, "cavra.example.com:80"));
	assert_false(http_origin_host_matches(&tls, "cavra.example.com."));
	assert_false(http_origin_host_matches(&tls, "evil.example"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_host_matches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
