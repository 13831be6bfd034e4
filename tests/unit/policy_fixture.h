/* A small policy built in memory, in the form policy_build receives from the database,
 * and a reader for the fixture files. */
#ifndef IACTN_POLICY_FIXTURE_H
#define IACTN_POLICY_FIXTURE_H

#include "policy.h"

#include <stddef.h>

/* Builds the test network: CO, MX, CA, BR, AR, PE active; CU not participating; a
 * group "andean" of CO, PE and CU; agencies co-dni, mx-cni, ca-rcmp, br-pf, ar-dfi
 * (suspended); a liaison per agency; topic rights: liaisons publish under their own
 * state (1), MX liaisons may not publish cyber alerts (2, priority 200), network
 * admins send requests (3, network scope), state principals read the directory
 * (4, state scope); a network default rule sharing every category
 * with every state; CO's own rules: everything to all, but not 'cyber' to BR. Aborts
 * the test on failure. */
struct iactn_policy *fixture_policy(void);

/* Reads a whole file into a new NUL-terminated buffer and sets *len to its size.
 * Aborts the test when the file cannot be read. */
char *fixture_read_file(const char *path, size_t *len);

#endif
