/*
 * policy_match.c - the whole-string glob matcher used by every pack list.
 *
 * Only '*' is special, and a run of stars ('*', '**', '***') means the same thing: any run of
 * characters, '/' included.  The loop keeps a single backtrack point (the last star seen), which
 * is enough because stars never constrain what they swallow; so no recursion and no blow-up on
 * patterns such as "****...****a".
 */
#include "base/base.h"
#include "policy/policy.h"

#include <string.h>

/*
 * Takes a length so that a segment of a longer command can be matched in place, without a
 * copy.  Case-sensitive, like the Linux paths, git refs and shell commands the patterns
 * describe; a pack that means both spellings lists both.
 */
bool policy_match_n(const char *pattern, const char *s, size_t n)
{
	const char *p = pattern;
	const char *star = NULL; /* pattern position just after the last run of stars */
	size_t mark = 0; /* subject position that run currently starts to swallow from */
	size_t i = 0;

	while (i < n) {
		if (*p == '*') {
			while (*p == '*')
				p++;
			star = p;
			mark = i;
			continue;
		}
		if (*p != '\0' && *p == s[i]) {
			p++;
			i++;
			continue;
		}
		if (!star)
			return false;
		/* Let the last star swallow one more character and retry from there. */
		p = star;
		i = ++mark;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

bool policy_match(const char *pattern, const char *s)
{
	return policy_match_n(pattern, s, strlen(s));
}
