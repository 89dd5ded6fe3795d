/* Unit tests for utf8.c: the RFC 3629 validator, byte by byte, and the repairer. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/utf8.h"

#define BAD_NONE ((size_t)-1)

static const struct {
	const char *name;
	const char *s;
	size_t n;
	size_t bad; /* offset of the first bad byte, BAD_NONE when valid */
} cases[] = {
	{"empty", "", 0, BAD_NONE},
	{"ascii", "abc", 3, BAD_NONE},
	{"nul byte", "a\0b", 3, BAD_NONE},
	{"del", "\x7f", 1, BAD_NONE},
	{"U+0080 first 2-byte", "\xc2\x80", 2, BAD_NONE},
	{"U+07FF last 2-byte", "\xdf\xbf", 2, BAD_NONE},
	{"U+0800 first 3-byte", "\xe0\xa0\x80", 3, BAD_NONE},
	{"U+D7FF before surrogates", "\xed\x9f\xbf", 3, BAD_NONE},
	{"U+E000 after surrogates", "\xee\x80\x80", 3, BAD_NONE},
	{"U+FFFD", "\xef\xbf\xbd", 3, BAD_NONE},
	{"U+FFFF last 3-byte", "\xef\xbf\xbf", 3, BAD_NONE},
	{"U+10000 first 4-byte", "\xf0\x90\x80\x80", 4, BAD_NONE},
	{"U+1F600", "\xf0\x9f\x98\x80", 4, BAD_NONE},
	{"U+10FFFF last", "\xf4\x8f\xbf\xbf", 4, BAD_NONE},
	{"mixed", "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z", 11, BAD_NONE},
	{"overlong '/' 2-byte", "\xc0\xaf", 2, 0},
	{"overlong nul 2-byte", "\xc0\x80", 2, 0},
	{"overlong U+007F 2-byte", "\xc1\xbf", 2, 0},
	{"overlong '/' 3-byte", "\xe0\x80\xaf", 3, 0},
	{"overlong U+07FF 3-byte", "\xe0\x9f\xbf", 3, 0},
	{"overlong '/' 4-byte", "\xf0\x80\x80\xaf", 4, 0},
	{"overlong U+FFFF 4-byte", "\xf0\x8f\xbf\xbf", 4, 0},
	{"surrogate D800", "\xed\xa0\x80", 3, 0},
	{"surrogate DBFF", "\xed\xaf\xbf", 3, 0},
	{"surrogate DC00", "\xed\xb0\x80", 3, 0},
	{"surrogate DFFF", "\xed\xbf\xbf", 3, 0},
	{"surrogate pair (CESU-8)", "\xed\xa0\xbd\xed\xb8\x80", 6, 0},
	{"U+110000", "\xf4\x90\x80\x80", 4, 0},
	{"F5 lead", "\xf5\x80\x80\x80", 4, 0},
	{"F7 lead", "\xf7\xbf\xbf\xbf", 4, 0},
	{"5-byte form", "\xf8\x88\x80\x80\x80", 5, 0},
	{"6-byte form", "\xfc\x84\x80\x80\x80\x80", 6, 0},
	{"FE", "\xfe", 1, 0},
	{"FF", "\xff", 1, 0},
	{"truncated 2-byte", "\xc2", 1, 0},
	{"truncated 3-byte", "\xe0\xa0", 2, 0},
	{"truncated 4-byte", "\xf0\x90\x80", 3, 0},
	{"truncated at end", "ab\xe2\x82", 4, 2},
	{"stray 80", "\x80", 1, 0},
	{"stray BF", "\xbf", 1, 0},
	{"stray after ascii", "a\x80", 2, 1},
	{"continuation after full seq", "\xc3\xa9\xa9", 3, 2},
	{"ascii as 2nd byte", "\xc2\x41", 2, 0},
	{"ascii as 3rd byte", "\xe2\x82\x41", 3, 0},
	{"ascii as 4th byte", "\xf0\x9f\x98\x41", 4, 0},
	{"lead as 2nd byte", "\xe1\xc0\x80", 3, 0},
	{"bad after good", "ok\xc3\xa9\xed\xa0\x80", 7, 4},
};

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t bad = BAD_NONE;
		bool ok = utf8_valid(cases[i].s, cases[i].n, &bad);

		print_message("%s\n", cases[i].name);
		assert_int_equal(ok, cases[i].bad == BAD_NONE);
		assert_int_equal(bad, cases[i].bad);
	}
}

static void test_single_bytes(void **state)
{
	(void)state;
	for (unsigned int c = 0; c < 256; c++) {
		unsigned char b = (unsigned char)c;

		assert_int_equal(utf8_valid(&b, 1, NULL), c < 0x80);
	}
}

/* Every lead byte with every second byte: only RFC 3629's ranges pass. */
static void test_two_byte_prefixes(void **state)
{
	(void)state;
	for (unsigned int a = 0xc0; a < 256; a++) {
		for (unsigned int b = 0; b < 256; b++) {
			unsigned char s[4] = {(unsigned char)a, (unsigned char)b, 0x80, 0x80};
			size_t len = a < 0xe0 ? 2 : a < 0xf0 ? 3 : 4;
			bool want =
				(a >= 0xc2 && a <= 0xdf && b >= 0x80 && b <= 0xbf) ||
				(a == 0xe0 && b >= 0xa0 && b <= 0xbf) ||
				(a >= 0xe1 && a <= 0xef && a != 0xed && b >= 0x80 && b <= 0xbf) ||
				(a == 0xed && b >= 0x80 && b <= 0x9f) ||
				(a == 0xf0 && b >= 0x90 && b <= 0xbf) ||
				(a >= 0xf1 && a <= 0xf3 && b >= 0x80 && b <= 0xbf) ||
				(a == 0xf4 && b >= 0x80 && b <= 0x8f);

			assert_int_equal(utf8_valid(s, len, NULL), want);
		}
	}
}

/* Every code point below U+10000 in every longer-than-needed form is refused. */
static void test_every_overlong(void **state)
{
	(void)state;
	for (uint32_t cp = 0; cp < 0x10000; cp++) {
		unsigned char two[2] = {(unsigned char)(0xc0 | cp >> 6),
					(unsigned char)(0x80 | (cp & 0x3f))};
		unsigned char three[3] = {(unsigned char)(0xe0 | cp >> 12),
					  (unsigned char)(0x80 | ((cp >> 6) & 0x3f)),
					  (unsigned char)(0x80 | (cp & 0x3f))};
		unsigned char four[4] = {0xf0, (unsigned char)(0x80 | cp >> 12),
					 (unsigned char)(0x80 | ((cp >> 6) & 0x3f)),
					 (unsigned char)(0x80 | (cp & 0x3f))};

		if (cp < 0x80)
			assert_false(utf8_valid(two, 2, NULL));
		if (cp < 0x800)
			assert_false(utf8_valid(three, 3, NULL));
		assert_false(utf8_valid(four, 4, NULL));
		/* the shortest 3-byte form is valid unless it is a surrogate */
		if (cp >= 0x800)
			assert_int_equal(utf8_valid(three, 3, NULL), cp < 0xd800 || cp > 0xdfff);
	}
}

static const struct {
	const char *in;
	size_t n;
	const char *out;
} repairs[] = {
	{"plain \xc3\xa9", 8, "plain \xc3\xa9"},
	{"a\xc0\xaf"
	 "b",
	 4,
	 "a\xef\xbf\xbd\xef\xbf\xbd"
	 "b"},
	{"\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
	{"x\xe2\x82", 3, "x\xef\xbf\xbd\xef\xbf\xbd"},
	{"\xff", 1, "\xef\xbf\xbd"},
};

static void test_repair(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(repairs) / sizeof(repairs[0]); i++) {
		struct buf b = BUF_INIT;

		assert_int_equal(utf8_repair(repairs[i].in, repairs[i].n, &b, NULL), ST_OK);
		assert_string_equal(b.data, repairs[i].out);
		assert_true(utf8_valid(b.data, b.len, NULL));
		buf_release(&b);
	}
}

static void test_repair_cap(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4);
	assert_int_equal(utf8_repair("ab\xff\xff", 4, &b, NULL), ST_TOO_LARGE);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_single_bytes),
		cmocka_unit_test(test_two_byte_prefixes),
		cmocka_unit_test(test_every_overlong),
		cmocka_unit_test(test_repair),
		cmocka_unit_test(test_repair_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
