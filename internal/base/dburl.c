/*
 * dburl.c - tells PostgreSQL URLs from SQLite paths in one place, so that
 * the store opens the same file the configuration checks compare.
 */
#include "base/base.h"
#include "base/dburl.h"
#include "base/str.h"

#include <string.h>

bool dburl_is_postgres(const char *url)
{
	return str_starts_with(url, "postgres://") || str_starts_with(url, "postgresql://");
}

/* Only the keywords such a string starts with are known here. */
bool dburl_looks_like_conninfo(const char *url, size_t *key_len)
{
	static const char *const keys[] = {
		"host",	   "hostaddr",	      "port",	  "dbname",
		"user",	   "password",	      "passfile", "service",
		"sslmode", "connect_timeout", "options",  "application_name"};
	size_t n = strspn(url, "abcdefghijklmnopqrstuvwxyz_");
	const char *p = url + n;

	while (*p == ' ')
		p++;
	if (n == 0 || *p != '=')
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		if (strlen(keys[i]) == n && strncmp(keys[i], url, n) == 0) {
			if (key_len)
				*key_len = n;
			return true;
		}
	}
	return false;
}

const char *dburl_sqlite_path(const char *url)
{
	if (dburl_is_postgres(url))
		return NULL;
	if (str_starts_with(url, "sqlite:")) {
		url += strlen("sqlite:");
		if (str_starts_with(url, "//"))
			url += 2;
		return *url ? url : NULL;
	}
	return strstr(url, "://") || !*url || dburl_looks_like_conninfo(url, NULL) ? NULL : url;
}
