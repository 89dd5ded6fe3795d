/*
 * banned.h - C library functions cavra does not call, made compile errors.
 *
 * The build force-includes this header (-include, top-level CMakeLists.txt) in every
 * translation unit, before the file's own includes.  It first includes the C library headers
 * that declare the banned functions, so their declarations are already read (and their
 * include guards set) when the macros below appear; a later #include of them is a no-op.
 * A call to a banned function then expands to an undeclared identifier that names the
 * function: "'cavra_banned_strcpy' undeclared".
 */
#ifndef CAVRA_BANNED_H
#define CAVRA_BANNED_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CAVRA_BANNED(func) cavra_banned_##func

/* No bound on the destination: snprintf, memcpy with a known length, or struct buf. */
#undef strcpy
#define strcpy(...) CAVRA_BANNED(strcpy)
#undef strcat
#define strcat(...) CAVRA_BANNED(strcat)
#undef strncpy
#define strncpy(...) CAVRA_BANNED(strncpy)
#undef strncat
#define strncat(...) CAVRA_BANNED(strncat)
#undef sprintf
#define sprintf(...) CAVRA_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) CAVRA_BANNED(vsprintf)
#undef gets
#define gets(...) CAVRA_BANNED(gets)

/* State shared by every thread: strtok_r, gmtime_r, localtime_r, base_strerror. */
#undef strtok
#define strtok(...) CAVRA_BANNED(strtok)
#undef gmtime
#define gmtime(...) CAVRA_BANNED(gmtime)
#undef localtime
#define localtime(...) CAVRA_BANNED(localtime)
#undef ctime
#define ctime(...) CAVRA_BANNED(ctime)
#undef asctime
#define asctime(...) CAVRA_BANNED(asctime)
#undef ctime_r
#define ctime_r(...) CAVRA_BANNED(ctime_r)
#undef asctime_r
#define asctime_r(...) CAVRA_BANNED(asctime_r)
#undef strerror
#define strerror(...) CAVRA_BANNED(strerror)
/* Writing the environment races every getenv of another thread (the checks of .clang-tidy
 * count getenv as thread-safe because nothing writes it). */
#undef setenv
#define setenv(...) CAVRA_BANNED(setenv)
#undef putenv
#define putenv(...) CAVRA_BANNED(putenv)
#undef unsetenv
#define unsetenv(...) CAVRA_BANNED(unsetenv)
#undef clearenv
#define clearenv(...) CAVRA_BANNED(clearenv)

/* Predictable or racy: RAND_bytes for randomness, mkstemp / mkdtemp for temporary files. */
#undef rand
#define rand(...) CAVRA_BANNED(rand)
#undef srand
#define srand(...) CAVRA_BANNED(srand)
#undef tmpnam
#define tmpnam(...) CAVRA_BANNED(tmpnam)
#undef tempnam
#define tempnam(...) CAVRA_BANNED(tempnam)
#undef mktemp
#define mktemp(...) CAVRA_BANNED(mktemp)

/* No error report on bad input: strtol / strtoll with errno and the end pointer checked. */
#undef atoi
#define atoi(...) CAVRA_BANNED(atoi)
#undef atol
#define atol(...) CAVRA_BANNED(atol)
#undef atoll
#define atoll(...) CAVRA_BANNED(atoll)
#undef atof
#define atof(...) CAVRA_BANNED(atof)

#endif
