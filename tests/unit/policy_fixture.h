/* A small policy built in memory, the way policy_build sees database results. */
#ifndef IACTN_POLICY_FIXTURE_H
#define IACTN_POLICY_FIXTURE_H

#include "policy.h"

/* Builds the test network: CO, MX, CA, BR, AR, PE active; CU not participating; a
 * group "andean" of CO, PE and CU; agencies co-dni, mx-cni, ca-rcmp, br-pf, ar-dfi
 * (suspended); a liaison per agency; topic rights: liaisons publish under their own
 * state (1), MX liaisons may not publish cyber alerts (2, priority 200), network
 * admins send requests (3, network scope), state principals read the directory
 * (4, state scope); a network default rule sharing every category
 * with every state; CO's own rules: everything to all, but not 'cyber' to BR. Aborts
 * the test on failure. */
struct iactn_policy *fixture_policy(void);

#endif
