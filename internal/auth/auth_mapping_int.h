/*
 * auth_mapping_int.h - private to internal/auth: the layout of a group ->
 * role mapping, shared by the loader (auth_mapping.c) and by the principal
 * and explain code (auth_principal.c).
 */
#ifndef CAVRA_AUTH_MAPPING_INT_H
#define CAVRA_AUTH_MAPPING_INT_H

#include "auth/auth.h"

struct group_rule {
	char *group;
	uint32_t roles;
};

/* Rules sorted by group (strcmp), for bsearch. */
struct rule_set {
	char *issuer; /* NULL for the global set */
	struct group_rule *rules;
	size_t n;
};

struct auth_mapping {
	bool has_global; /* a document may define issuer sets only */
	struct rule_set global;
	struct rule_set *issuers;
	size_t n_issuers;
};

/* The rules that apply to tokens of issuer: its own set, else the global one, else NULL. */
const struct rule_set *auth_mapping_set_for(const struct auth_mapping *m, const char *issuer);
/* Roles one group gets from set (NULL-safe: 0). */
uint32_t auth_mapping_group_roles(const struct rule_set *set, const char *group);

#endif
