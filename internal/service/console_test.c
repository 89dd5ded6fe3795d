/*
 * console_test.c - the console's logout path when the database cannot give it a
 * connection.  Logout passes no struct err (it only logs a failure), and a failed
 * SQLite connect used to come back as ST_OK through err_wrap's return value: store.c
 * then used a NULL connection and the server crashed.  A real SQLite file in a
 * temporary directory; the directory is replaced by a file so that a new connection
 * cannot be opened while the pool's only other one is borrowed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "base/err.h"
#include "service/service.h"
#include "store/store.h"
#include "store/store_sqlite_file.h"

static void test_logout_with_a_failing_connection(void **state)
{
	char root[] = "/tmp/cavra-console-test-XXXXXX";
	char dir[512], url[600], hash[65];
	struct store_options opt = {.pool_size = 2};
	struct store *st = NULL;
	struct store_conn *held = NULL;
	struct service svc = {0};
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(root));
	snprintf(dir, sizeof(dir), "%s/db", root);
	snprintf(url, sizeof(url), "sqlite:%s/cavra.db", dir);
	assert_int_equal(store_open(url, &opt, &st, NULL), ST_OK);
	assert_int_equal(store_conn_get(st, &held, NULL), ST_OK); /* the pool's open one */
	/* the database's directory becomes a file: no new connection can be opened */
	snprintf(url, sizeof(url), "%s/cavra.db", dir);
	store_sqlite_file_remove(url);
	assert_int_equal(rmdir(dir), 0);
	f = fopen(dir, "w");
	assert_non_null(f);
	fclose(f);
	memset(hash, 'a', 64);
	hash[64] = '\0';
	svc.store = st;
	assert_int_not_equal(service_console_session_delete(&svc, hash, NULL), ST_OK);
	store_conn_put(st, held);
	store_close(st);
	unlink(dir);
	rmdir(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_logout_with_a_failing_connection),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
