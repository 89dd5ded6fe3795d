/*
 * config_testutil.h - for internal/config's unit tests only: a fake
 * environment that config_load reads instead of the process's.
 */
#ifndef CAVRA_CONFIG_TESTUTIL_H
#define CAVRA_CONFIG_TESTUTIL_H

#include <stddef.h>
#include <string.h>

/* NULL-terminated name/value pairs; NULL: nothing is set. */
static const char *const *fake_env;

static inline const char *fake_getenv(const char *name)
{
	for (size_t i = 0; fake_env && fake_env[i]; i += 2)
		if (strcmp(fake_env[i], name) == 0)
			return fake_env[i + 1];
	return NULL;
}

#endif
