/*
 * config_int.h - private to internal/config: the original CAVRA's store
 * settings, applied after the table's own sources.
 */
#ifndef CAVRA_CONFIG_INT_H
#define CAVRA_CONFIG_INT_H

#include "config/config.h"

/*
 * When database_url is still the default (*src) and the original's SQLite
 * store variables all name one file (and no JSON store variable is set
 * for a store without one), that file becomes database_url, with *src
 * CFG_SRC_ORIGINAL and c->original_source naming the variables.
 */
void config_original_apply(struct config *c, enum config_source *src, config_getenv_fn getenv_fn);

#endif
