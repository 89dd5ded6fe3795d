/* Unit tests for the Content-Type of a request body (media.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/base.h"
#include "http/http_int.h"

static void test_json_with_and_without_parameters(void **state)
{
	UNUSED(state);
	assert_int_equal(http_media_json("application/json"), HTTP_MEDIA_JSON);
	assert_int_equal(http_media_json("Application/JSON"), HTTP_MEDIA_JSON);
	assert_int_equal(http_media_json("application/json; charset=utf-8"), HTTP_MEDIA_JSON);
	assert_int_equal(http_media_json("application/json;charset=UTF-8"), HTTP_MEDIA_JSON);
	assert_int_equal(http_media_json("application/json ; charset=\"utf-8\""), HTTP_MEDIA_JSON);
	assert_int_equal(http_media_json("application/json; foo=bar; charset=utf-8"),
			 HTTP_MEDIA_JSON);
	assert_int_equal(http_media_json("application/json;;"), HTTP_MEDIA_JSON);
	/* a name some clients send for it */
	assert_int_equal(http_media_json("application/json; charset=utf8"), HTTP_MEDIA_JSON);
	assert_int_equal(http_media_json("application/json; x=\"a\\\"b;c\""), HTTP_MEDIA_JSON);
}

static void test_other_charsets_are_refused(void **state)
{
	UNUSED(state);
	assert_int_equal(http_media_json("application/json; charset=latin1"),
			 HTTP_MEDIA_BAD_CHARSET);
	assert_int_equal(http_media_json("application/json; CHARSET=\"iso-8859-1\""),
			 HTTP_MEDIA_BAD_CHARSET);
	assert_int_equal(http_media_json("application/json; charset=utf-8; charset=utf-16"),
			 HTTP_MEDIA_BAD_CHARSET);
	assert_int_equal(http_media_json("application/json; charset=utf-16"),
			 HTTP_MEDIA_BAD_CHARSET);
	/* a value longer than the copy is not read as its prefix */
	assert_int_equal(http_media_json("application/json; charset=utf-8-and-then-some"),
			 HTTP_MEDIA_BAD_CHARSET);
}

static void test_other_types_and_malformed_headers(void **state)
{
	UNUSED(state);
	assert_int_equal(http_media_json(NULL), HTTP_MEDIA_OTHER);
	assert_int_equal(http_media_json(""), HTTP_MEDIA_OTHER);
	assert_int_equal(http_media_json("text/plain"), HTTP_MEDIA_OTHER);
	assert_int_equal(http_media_json("application/jsonx"), HTTP_MEDIA_OTHER);
	assert_int_equal(http_media_json("application/json x"), HTTP_MEDIA_OTHER);
	assert_int_equal(http_media_json("application/json, text/plain"), HTTP_MEDIA_OTHER);
	assert_int_equal(http_media_json("application/json; charset"), HTTP_MEDIA_OTHER);
	assert_int_equal(http_media_json("application/json; charset="), HTTP_MEDIA_OTHER);
	assert_int_equal(http_media_json("application/json; charset=\"utf-8"), HTTP_MEDIA_OTHER);
	assert_int_equal(http_media_json("application/json; =utf-8"), HTTP_MEDIA_OTHER);
	assert_int_equal(http_media_json("application/x-www-form-urlencoded"), HTTP_MEDIA_OTHER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_with_and_without_parameters),
		cmocka_unit_test(test_other_charsets_are_refused),
		cmocka_unit_test(test_other_types_and_malformed_headers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
