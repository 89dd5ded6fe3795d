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
	return strstr(url, "://") || !*url ? NULL : url;
}
