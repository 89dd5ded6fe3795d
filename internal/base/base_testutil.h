/*
 * base_testutil.h - helpers the unit tests of every module share (tests only).
 */
#ifndef CAVRA_BASE_TESTUTIL_H
#define CAVRA_BASE_TESTUTIL_H

/*
 * A writable copy of a string literal, for the (char *) fields of the structs under test
 * (the code fills them with strings it owns).  A compound literal: at file scope it lives as
 * long as the program, in a function until the end of the enclosing block.
 */
#define STR_RW(s) ((char[]){s})

#endif
