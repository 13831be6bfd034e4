#include "sharing.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int reject(struct iactn_sharing_error *err, const char *reason, const char *fmt, ...)
{
    va_list ap;

    err->reason = reason;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return -1;
}

/* The states a rule targets: one state, the members of a group, or every state. */
static struct iactn_state_set rule_targets(const struct iactn_policy *p,
                                           const struct iactn_sharing_rule *r)
{
    struct iactn_state_set set = {{0}};

    if (r->target_state[0]) {
        state_set_add(&set, r->target_state);
    } else if (r->target_group) {
        const struct iactn_group *g = policy_find_group(p, r->target_group);

        if (g) {
            set = g->members;
        }
    } else {
        set = p->known_states;
    }
    return set;
}

struct iactn_state_set sharing_permitted_states(const struct iactn_policy *p,
                                                const char *origin, const char *category)
{
    struct iactn_state_set allowed = {{0}}, denied = {{0}};
    const struct iactn_rule_list *rules = policy_sharing_rules(p, origin);

    for (size_t i = 0; i < rules->n; i++) {
        const struct iactn_sharing_rule *r = rules->items[i];
        struct iactn_state_set targets;

        if (strcmp(r->category, "*") != 0 && strcmp(r->category, category) != 0) {
            continue;
        }
        targets = rule_targets(p, r);
        state_set_union(r->allow ? &allowed : &denied, &targets);
    }
    state_set_subtract(&allowed, &denied);
    state_set_intersect(&allowed, &p->active_states);
    state_set_add(&allowed, origin);
    return allowed;
}

static int add_named_states(const struct iactn_policy *p, json_t *states,
                            const struct iactn_state_set *permitted,
                            struct iactn_state_set *wanted, struct iactn_sharing_error *err)
{
    size_t i;
    json_t *item;

    json_array_foreach(states, i, item) {
        const char *code = json_string_value(item);

        if (!state_set_contains(&p->known_states, code)) {
            return reject(err, "unknown_state", "distribution names unknown state %s", code);
        }
        if (!state_set_contains(permitted, code)) {
            return reject(err, "not_permitted",
                          "distribution names %s, which the sharing rules do not permit "
                          "for this alert",
                          code);
        }
        state_set_add(wanted, code);
    }
    return 0;
}

static int add_groups(const struct iactn_policy *p, json_t *groups,
                      const struct iactn_state_set *permitted, struct iactn_state_set *wanted,
                      struct iactn_sharing_error *err)
{
    size_t i;
    json_t *item;

    json_array_foreach(groups, i, item) {
        const struct iactn_group *g = policy_find_group(p, json_string_value(item));
        struct iactn_state_set members;

        if (g == NULL) {
            return reject(err, "unknown_group", "distribution names unknown group %s",
                          json_string_value(item));
        }
        /* a group stands for its members that the rules permit */
        members = g->members;
        state_set_intersect(&members, permitted);
        state_set_union(wanted, &members);
    }
    return 0;
}

static int add_agencies(const struct iactn_policy *p, json_t *agencies,
                        const struct iactn_state_set *permitted,
                        struct iactn_state_set *wanted, struct iactn_recipients *out,
                        struct iactn_sharing_error *err)
{
    size_t i;
    json_t *item;

    json_array_foreach(agencies, i, item) {
        const struct iactn_agency *a = policy_find_agency(p, json_string_value(item));

        if (a == NULL) {
            return reject(err, "unknown_agency", "distribution names unknown agency %s",
                          json_string_value(item));
        }
        if (a->suspended || !state_set_contains(permitted, a->state)) {
            return reject(err, "not_permitted",
                          "distribution names agency %s of %s, which may not receive "
                          "this alert",
                          a->id, a->state);
        }
        state_set_add(wanted, a->state);
        if (out->n_agencies < SHARING_MAX_AGENCIES) {
            out->agencies[out->n_agencies++] = a->id;
        }
    }
    return 0;
}

static void add_sender_agency(const struct iactn_policy *p,
                              const struct iactn_principal *sender,
                              struct iactn_recipients *out)
{
    const struct iactn_agency *own = policy_find_agency(p, sender->agency);

    for (size_t i = 0; i < out->n_agencies; i++) {
        if (strcmp(out->agencies[i], sender->agency) == 0) {
            return;
        }
    }
    if (own && out->n_agencies < SHARING_MAX_AGENCIES) {
        out->agencies[out->n_agencies++] = own->id;
    }
}

int sharing_compute(const struct iactn_policy *p, const struct iactn_principal *sender,
                    const char *category, const char *tlp, json_t *distribution,
                    struct iactn_recipients *out, struct iactn_sharing_error *err)
{
    struct iactn_state_set permitted, wanted = {{0}};
    bool agency_only = strcmp(tlp, "AMBER+STRICT") == 0 || strcmp(tlp, "RED") == 0;

    memset(out, 0, sizeof(*out));
    if (sender->state[0] == '\0' || sender->agency == NULL) {
        return reject(err, "no_state", "principal %s belongs to no state", sender->id);
    }
    permitted = sharing_permitted_states(p, sender->state, category);
    if (distribution == NULL) {
        out->states = permitted;
        return 0;
    }
    if (add_named_states(p, json_object_get(distribution, "states"), &permitted, &wanted,
                         err) != 0 ||
        add_groups(p, json_object_get(distribution, "groups"), &permitted, &wanted, err) !=
            0 ||
        add_agencies(p, json_object_get(distribution, "agencies"), &permitted, &wanted, out,
                     err) != 0) {
        return -1;
    }
    if (agency_only) {
        /* only the named agencies' states; other states named are not recipients */
        memset(&wanted, 0, sizeof(wanted));
        for (size_t i = 0; i < out->n_agencies; i++) {
            state_set_add(&wanted, policy_find_agency(p, out->agencies[i])->state);
        }
        add_sender_agency(p, sender, out);
    } else {
        out->n_agencies = 0;
    }
    state_set_add(&wanted, sender->state);
    out->states = wanted;
    return 0;
}
