/*
 * redact.h - hides the passwords of database URLs and conninfo strings in
 * what is printed or logged.
 */
#ifndef CAVRA_REDACT_H
#define CAVRA_REDACT_H

#include "base/base.h"

/*
 * Returns a copy of a database URL or libpq conninfo string with every
 * password replaced by "*****": the URI's user:password@, its password= and
 * sslpassword= query parameters, and key=value pairs of those names (quoted
 * or not).  Caller owns, free with free().  Other strings come back unchanged.
 */
char *redact_url(const char *url);

/*
 * Overwrites every occurrence of each password of url (as redact_url finds
 * them, written as in url or decoded) inside msg with "*****", so that
 * library messages that echo a URL stay safe.
 */
void scrub_url_password(char *msg, size_t size, const char *url);

#endif
