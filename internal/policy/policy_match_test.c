/*
 * policy_match_test.c - the whole-string glob matcher: table of (pattern, subject, want), plus
 * pathological star runs that must finish quickly.
 */
#include <stdarg.h> /* cmocka 1.1.x needs these four before <cmocka.h> */
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/xalloc.h"
#include "policy/policy.h"

static const struct {
	const char *pattern, *s;
	bool want;
} cases[] = {
	/* empty pattern and subject */
	{"", "", true},
	{"", "a", false},
	{"a", "", false},
	{"*", "", true},
	{"**", "", true},
	/* a lone star matches anything, slashes included */
	{"*", "anything/at/all", true},
	{"**", ".github/workflows/x.yml", true},
	/* literals are whole-string and case-sensitive */
	{"pytest", "pytest", true},
	{"pytest", "pytest -q", false},
	{"pytest", "Pytest", false},
	{"pytest", "xpytest", false},
	/* literal dots and other punctuation */
	{".env", ".env", true},
	{".env", "xenv", false},
	{".env", "a.env", false},
	{"*.pem", "key.pem", true},
	{"*.pem", "keyxpem", false},
	{"*.pem", "dir/key.pem", true},
	{"?", "a", false},
	{"?", "?", true},
	{"[ab]", "a", false},
	{"[ab]", "[ab]", true},
	{"a\\*", "a\\b", true},
	/* ** and * are the same: both cross '/' */
	{"**/x", "a/b/x", true},
	{"**/x", "/x", true},
	{"**/x", "x", false},
	{"**/x", "a/x/y", false},
	{"*/x", "a/b/x", true},
	{"a/**", "a/", true},
	{"a/**", "a", false},
	{".github/workflows/**", ".github/workflows/x.yml", true},
	{".github/workflows/**", ".github/workflowsx", false},
	{"**/id_rsa*", "home/u/.ssh/id_rsa.pub", true},
	{"**/id_rsa*", "id_rsa", false},
	/* stars in the middle, backtracking */
	{"terraform apply*", "terraform apply -auto-approve", true},
	{"terraform apply*", "terraform plan", false},
	{"curl * | sh*", "curl https://x.example/i.sh | sh", true},
	{"curl * | sh*", "curl https://x.example/i.sh | bash", false},
	{"a*b*c", "aXbYbZc", true},
	{"a*b*c", "aXbYbZ", false},
	{"a*a*a", "aaa", true},
	{"a*a*a", "aa", false},
	{"*abc", "ababc", true},
	{"ab*", "a", false},
	{"***a***", "xxaxx", true},
	{"*a", "bbbb", false},
};

static void test_match_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		bool got = policy_match(cases[i].pattern, cases[i].s);

		if (got != cases[i].want)
			fail_msg("case %zu: match('%s', '%s') = %d, want %d", i, cases[i].pattern,
				 cases[i].s, got, cases[i].want);
	}
}

/* policy_match_n looks at the first n bytes only. */
static void test_match_n(void **state)
{
	(void)state;
	assert_true(policy_match_n("abc", "abcdef", 3));
	assert_false(policy_match_n("abc", "abcdef", 4));
	assert_true(policy_match_n("a*", "abcdef", 1));
	assert_true(policy_match_n("", "abc", 0));
	assert_false(policy_match_n("a", "abc", 0));
}

/*
 * "*a*a*...*a*b" against "aaaa...a" is exponential for a naive recursive matcher.  Here it
 * must finish at once; the test timeout catches a regression.
 */
static void test_match_pathological(void **state)
{
	enum { N = 20000 };
	char *pat = xmalloc((size_t)2 * N + 3);
	char *s = xmalloc(N + 1);
	size_t o = 0;

	(void)state;
	for (size_t i = 0; i < N; i++) {
		pat[o++] = '*';
		pat[o++] = (i < 50) ? 'a' : '*';
	}
	pat[o++] = 'b';
	pat[o] = '\0';
	memset(s, 'a', N);
	s[N] = '\0';
	assert_false(policy_match(pat, s));
	s[N - 1] = 'b';
	assert_true(policy_match(pat, s));

	/* a long run of stars then one literal */
	memset(pat, '*', (size_t)2 * N);
	memcpy(pat + (size_t)2 * N, "a", 2);
	assert_false(policy_match(pat, s)); /* s still ends in 'b' */
	s[N - 1] = 'a';
	assert_true(policy_match(pat, s));
	assert_false(policy_match(pat, ""));
	free(pat);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_table),
		cmocka_unit_test(test_match_n),
		cmocka_unit_test(test_match_pathological),
	};

	return cmocka_run_group_tests_name("policy/match", tests, NULL, NULL);
}
