/*
 * The policy snapshot: an immutable, in-memory copy of the tables that decide who may
 * connect, publish, subscribe and receive. It is built whole from query results and
 * replaced whole, so readers never see a half-loaded policy.
 */
#ifndef IACTN_POLICY_H
#define IACTN_POLICY_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define POLICY_STATE_SLOTS (26 * 26)
#define POLICY_FINGERPRINT_LEN 64

enum iactn_role {
    ROLE_LIAISON,
    ROLE_AGENCY_SYSTEM,
    ROLE_ADMIN,
    ROLE_ARCHIVER,
    ROLE_BROKER_BRIDGE,
    ROLE_COUNT,
    ROLE_ANY = -1
};

enum iactn_access { ACCESS_PUBLISH, ACCESS_SUBSCRIBE };

/* The principals of a role that a topic_acl row reaches. */
enum iactn_scope { SCOPE_ANY, SCOPE_STATE, SCOPE_NETWORK };

/* A set of member states, one bit per possible alpha-2 code. */
struct iactn_state_set {
    uint64_t bits[(POLICY_STATE_SLOTS + 63) / 64];
};

struct iactn_agency {
    char *id;
    char state[3];
    bool suspended;
};

struct iactn_principal {
    char *id;
    char state[3]; /* empty for network-wide principals */
    char *agency;  /* NULL for network-wide principals */
    enum iactn_role role;
    bool suspended;
    bool active; /* not suspended, and neither is its agency or state */
};

struct iactn_cert {
    char fingerprint[POLICY_FINGERPRINT_LEN + 1];
    time_t not_before;
    time_t not_after;
    bool revoked;
    const struct iactn_principal *principal;
};

struct iactn_acl_rule {
    long id;
    char state[3];      /* empty: every state */
    enum iactn_role role; /* ROLE_ANY for '*' */
    enum iactn_access access;
    char *pattern;
    bool allow;
    int priority;
    enum iactn_scope scope;
};

struct iactn_group {
    char *id;
    struct iactn_state_set members;
};

struct iactn_sharing_rule {
    long id;
    char origin[3];   /* empty: network-wide */
    char *category;   /* slug or "*" */
    char target_state[3];
    char *target_group; /* NULL unless the rule targets a group */
    bool allow;
};

/* A list of pointers into the policy's own arrays, in the order of the array. */
struct iactn_rule_list {
    const void **items;
    size_t n;
};

/* A topic_acl row prepared for one role and state: {state} already replaced, and the
 * literal prefix (up to the first wildcard or placeholder) measured, so that most rows
 * are ruled out by one string comparison. */
struct iactn_acl_entry {
    const struct iactn_acl_rule *rule;
    char *pattern;
    size_t literal_len;
    bool needs_expand; /* still contains {agency} or {principal} */
};

struct iactn_acl_list {
    struct iactn_acl_entry *entries;
    size_t n;
};

struct iactn_policy {
    struct iactn_state_set active_states; /* participating and not suspended */
    struct iactn_state_set known_states;
    char **categories;
    size_t n_categories;
    struct iactn_agency *agencies;
    size_t n_agencies;
    struct iactn_principal *principals;
    size_t n_principals;
    struct iactn_cert *certs;
    size_t n_certs;
    struct iactn_acl_rule *acl; /* highest priority first */
    size_t n_acl;
    struct iactn_group *groups;
    size_t n_groups;
    struct iactn_sharing_rule *rules;
    size_t n_rules;
    struct iactn_state_set origins_with_rules;

    /* Indexes built once per load so that no check walks every row. Position k of
     * state_index is 1 + the compact index of the state with slot k (0: unknown); the
     * compact index n_known stands for network-wide principals. */
    short state_index[POLICY_STATE_SLOTS];
    size_t n_known;
    struct iactn_acl_list *acl_index; /* [(access * ROLE_COUNT + role) * (n_known + 1) + compact] */
    struct iactn_rule_list *rules_by_origin;   /* [compact]; [n_known]: network rows */
};

/* The statements whose results policy_build takes, in order, as one string that can
 * be sent with PQsendQuery. It reads in one REPEATABLE READ transaction so that the
 * tables are seen at one instant. */
extern const char *const policy_load_sql;

/* Builds a policy from the results of policy_load_sql (results with no tuples, such
 * as those of BEGIN and COMMIT, are skipped). Returns a new policy owned by the
 * caller (free with policy_free), or NULL with a message in err when a result is
 * missing, failed or malformed. Does not block. */
struct iactn_policy *policy_build(PGresult *const *results, int n_results, char *err,
                                  size_t err_size);

/* Runs policy_load_sql on conn and builds the policy. Blocks on the network. Returns
 * NULL with a message in err on failure. */
struct iactn_policy *policy_load(PGconn *conn, char *err, size_t err_size);

void policy_free(struct iactn_policy *policy);

/* Returns the topic_acl rows of one access that can apply to a principal of this role
 * and state (empty string for network-wide principals), highest priority first. The
 * list belongs to the policy. */
const struct iactn_acl_list *policy_acl_rules(const struct iactn_policy *p,
                                              enum iactn_access access, enum iactn_role role,
                                              const char *state);

/* Returns the length of the part of a topic filter before its first wildcard or
 * placeholder, less a '/' that precedes a final '#' (which also matches the parent
 * level). Every topic the filter matches starts with that part. */
size_t policy_literal_prefix(const char *filter);

/* Returns the sharing rules written for origin, or the network-wide ones when origin
 * has none of its own, in table order. The list belongs to the policy. */
const struct iactn_rule_list *policy_sharing_rules(const struct iactn_policy *p,
                                                   const char *origin);

/* Lookups return pointers into the policy, valid until it is freed, or NULL. */
const struct iactn_cert *policy_find_cert(const struct iactn_policy *p,
                                          const char *fingerprint);
const struct iactn_principal *policy_find_principal(const struct iactn_policy *p,
                                                    const char *id);
const struct iactn_agency *policy_find_agency(const struct iactn_policy *p,
                                              const char *id);
const struct iactn_group *policy_find_group(const struct iactn_policy *p, const char *id);
bool policy_has_category(const struct iactn_policy *p, const char *slug);

/* Returns the role named by s ("liaison", ...), ROLE_ANY for "*", or ROLE_COUNT when
 * s names no role. */
enum iactn_role policy_role_from_name(const char *s);
const char *policy_role_name(enum iactn_role role);

/* State sets. Codes must satisfy topic_is_state_code; others are ignored. */
void state_set_add(struct iactn_state_set *set, const char *code);
bool state_set_contains(const struct iactn_state_set *set, const char *code);
void state_set_union(struct iactn_state_set *dst, const struct iactn_state_set *src);
void state_set_intersect(struct iactn_state_set *dst, const struct iactn_state_set *src);
void state_set_subtract(struct iactn_state_set *dst, const struct iactn_state_set *src);
bool state_set_is_empty(const struct iactn_state_set *set);
/* Writes the codes in alphabetical order into codes (3 bytes each); returns how many. */
size_t state_set_list(const struct iactn_state_set *set, char (*codes)[3], size_t max);

#endif
