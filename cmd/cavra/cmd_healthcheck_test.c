/*
 * Unit tests for cmd_healthcheck.c's pure steps: which address a listen setting is probed
 * on (wildcards become loopback), and the status code read from an answer's first line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "base/base.h"
#include "cmd_healthcheck.h"

static const struct {
	const char *listen, *host, *port; /* host NULL: refused */
} targets[] = {
	{"0.0.0.0:8080", "127.0.0.1", "8080"},
	{"127.0.0.1:9", "127.0.0.1", "9"},
	{"[::]:8080", "::1", "8080"},
	{"[::1]:443", "::1", "443"},
	{"*:80", "127.0.0.1", "80"},
	{"cavra.internal:8080", "cavra.internal", "8080"},
	{"10.1.2.3:65535", "10.1.2.3", "65535"},
	{"8080", NULL, NULL},
	{":8080", NULL, NULL},
	{"[]:8080", NULL, NULL},
	{"host:", NULL, NULL},
	{"host:123456789", NULL, NULL}, /* longer than the port buffer */
};

static void test_target_table(void **state)
{
	UNUSED(state);
	for (size_t i = 0; i < ARRAY_SIZE(targets); i++) {
		char host[64] = "", port[8] = "";
		bool ok = health_target(targets[i].listen, host, sizeof(host), port, sizeof(port));

		if (ok != (targets[i].host != NULL))
			fail_msg("'%s': got %s", targets[i].listen, ok ? "accepted" : "refused");
		if (ok &&
		    (strcmp(host, targets[i].host) != 0 || strcmp(port, targets[i].port) != 0))
			fail_msg("'%s': got host '%s' port '%s'", targets[i].listen, host, port);
	}
}

static void test_target_host_too_long(void **state)
{
	char host[8], port[8];

	UNUSED(state);
	assert_false(health_target("a-long-host-name:80", host, sizeof(host), port, sizeof(port)));
	assert_true(health_target("short:80", host, sizeof(host), port, sizeof(port)));
}

static const struct {
	const char *resp;
	int code;
} answers[] = {
	{"HTTP/1.1 200 OK\r\n\r\n{\"status\":\"ready\"}", 200},
	{"HTTP/1.0 503 Service Unavailable\r\n", 503},
	{"HTTP/1.1 404\r\n", 404},
	{"HTTP/1.1 204\n", 204},
	{"HTTP/1.1 200", -1}, /* the line is not complete yet */
	{"HTTP/2 200 OK\r\n", -1},
	{"HTTP/1.1 20x OK\r\n", -1},
	{"HTTP/1.1 2000 OK\r\n", -1},
	{"SSH-2.0-OpenSSH_9.2\r\n", -1},
	{"", -1},
};

static void test_status_code_table(void **state)
{
	UNUSED(state);
	for (size_t i = 0; i < ARRAY_SIZE(answers); i++) {
		int got = health_status_code(answers[i].resp, strlen(answers[i].resp));

		if (got != answers[i].code)
			fail_msg("'%s': got %d, want %d", answers[i].resp, got, answers[i].code);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target_table),
		cmocka_unit_test(test_target_host_too_long),
		cmocka_unit_test(test_status_code_table),
	};

	return cmocka_run_group_tests_name("cmd/healthcheck", tests, NULL, NULL);
}
