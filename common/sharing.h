/*
 * Sharing rules: which states, and for TLP:AMBER+STRICT and TLP:RED which agencies,
 * receive an alert.
 *
 * 1. The origin state always receives its own alerts.
 * 2. The origin's sharing_rules rows (or the network-wide rows when it has none) whose
 *    category pattern matches give the permitted states; deny beats allow; only
 *    participating, unsuspended states count.
 * 3. A distribution narrows that set. A state, agency or group it names that does not
 *    exist, or a state or agency that the rules do not permit, rejects the alert
 *    rather than delivering it to fewer recipients than the sender asked for.
 * 4. AMBER+STRICT and RED go only to the agencies named in distribution.agencies plus
 *    the sender's own agency.
 */
#ifndef IACTN_SHARING_H
#define IACTN_SHARING_H

#include "policy.h"

#include <jansson.h>

#define SHARING_MAX_AGENCIES 65

struct iactn_recipients {
    struct iactn_state_set states;
    /* empty unless the TLP restricts delivery to agencies; points into the policy */
    const char *agencies[SHARING_MAX_AGENCIES];
    size_t n_agencies;
};

/* Why sharing_compute rejected an alert: reason is a short stable code
 * (unknown_state, unknown_agency, unknown_group, not_permitted, no_state), message a
 * sentence naming the value. */
struct iactn_sharing_error {
    const char *reason;
    char message[192];
};

/* Computes the recipients of an alert of the given category and TLP sent by sender,
 * narrowed by distribution (a JSON object, or NULL). The alert must already have
 * passed alert_validate. Returns 0 with out filled, or -1 with err filled. Does not
 * block or allocate. */
int sharing_compute(const struct iactn_policy *policy, const struct iactn_principal *sender,
                    const char *category, const char *tlp, json_t *distribution,
                    struct iactn_recipients *out, struct iactn_sharing_error *err);

/* Returns the states that sharing rules permit for alerts of origin and category,
 * before any distribution, always including the origin. */
struct iactn_state_set sharing_permitted_states(const struct iactn_policy *policy,
                                                const char *origin, const char *category);

#endif
