#include "policy.h"
#include "topic.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const policy_load_sql =
    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"
    "SELECT code, participation = 'active' AND NOT suspended FROM member_states;"
    "SELECT slug FROM categories;"
    "SELECT id, state_code, suspended FROM agencies;"
    "SELECT id, coalesce(state_code, ''), coalesce(agency_id, ''), role, suspended"
    " FROM principals;"
    "SELECT fingerprint, extract(epoch FROM not_before)::bigint,"
    " extract(epoch FROM not_after)::bigint, revoked_at IS NOT NULL, principal_id"
    " FROM certificates;"
    "SELECT id, coalesce(state_code, ''), role, access, pattern, allow, priority,"
    " principal_scope FROM topic_acl ORDER BY priority DESC, id;"
    "SELECT g.id, coalesce(m.state_code, '') FROM sharing_groups g"
    " LEFT JOIN sharing_group_members m ON m.group_id = g.id ORDER BY g.id;"
    "SELECT id, coalesce(origin_state, ''), category_pattern, coalesce(target_state, ''),"
    " coalesce(target_group, ''), allow FROM sharing_rules ORDER BY id;"
    "COMMIT;";

enum result_index {
    RES_STATES,
    RES_CATEGORIES,
    RES_AGENCIES,
    RES_PRINCIPALS,
    RES_CERTS,
    RES_ACL,
    RES_GROUPS,
    RES_RULES,
    RES_COUNT
};

static const int result_columns[RES_COUNT] = {2, 1, 3, 5, 5, 8, 2, 6};

static const char *const role_names[ROLE_COUNT] = {
    "liaison", "agency-system", "admin", "archiver", "broker-bridge",
};

enum iactn_role policy_role_from_name(const char *s)
{
    if (strcmp(s, "*") == 0) {
        return ROLE_ANY;
    }
    for (int i = 0; i < ROLE_COUNT; i++) {
        if (strcmp(s, role_names[i]) == 0) {
            return (enum iactn_role)i;
        }
    }
    return ROLE_COUNT;
}

const char *policy_role_name(enum iactn_role role)
{
    if (role == ROLE_ANY) {
        return "*";
    }
    return role >= 0 && role < ROLE_COUNT ? role_names[role] : "unknown";
}

static int state_slot(const char *code)
{
    if (!topic_is_state_code(code)) {
        return -1;
    }
    return (code[0] - 'A') * 26 + (code[1] - 'A');
}

void state_set_add(struct iactn_state_set *set, const char *code)
{
    int slot = state_slot(code);

    if (slot >= 0) {
        set->bits[slot / 64] |= UINT64_C(1) << (slot % 64);
    }
}

bool state_set_contains(const struct iactn_state_set *set, const char *code)
{
    int slot = state_slot(code);

    return slot >= 0 && (set->bits[slot / 64] >> (slot % 64)) & 1;
}

void state_set_union(struct iactn_state_set *dst, const struct iactn_state_set *src)
{
    for (size_t i = 0; i < sizeof(dst->bits) / sizeof(dst->bits[0]); i++) {
        dst->bits[i] |= src->bits[i];
    }
}

void state_set_intersect(struct iactn_state_set *dst, const struct iactn_state_set *src)
{
    for (size_t i = 0; i < sizeof(dst->bits) / sizeof(dst->bits[0]); i++) {
        dst->bits[i] &= src->bits[i];
    }
}

void state_set_subtract(struct iactn_state_set *dst, const struct iactn_state_set *src)
{
    for (size_t i = 0; i < sizeof(dst->bits) / sizeof(dst->bits[0]); i++) {
        dst->bits[i] &= ~src->bits[i];
    }
}

bool state_set_is_empty(const struct iactn_state_set *set)
{
    for (size_t i = 0; i < sizeof(set->bits) / sizeof(set->bits[0]); i++) {
        if (set->bits[i]) {
            return false;
        }
    }
    return true;
}

size_t state_set_list(const struct iactn_state_set *set, char (*codes)[3], size_t max)
{
    size_t n = 0;

    /* visits set bits only, because a set contains a few dozen of its 676 slots */
    for (size_t word = 0; word < sizeof(set->bits) / sizeof(set->bits[0]); word++) {
        for (uint64_t bits = set->bits[word]; bits != 0 && n < max; bits &= bits - 1) {
            int slot = (int)(word * 64) + __builtin_ctzll(bits);

            codes[n][0] = (char)('A' + slot / 26);
            codes[n][1] = (char)('A' + slot % 26);
            codes[n][2] = '\0';
            n++;
        }
    }
    return n;
}

static void set_error(char *err, size_t err_size, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
}

static bool is_true(const PGresult *res, int row, int col)
{
    return PQgetvalue(res, row, col)[0] == 't';
}

static void copy_state(char *dst, const char *src)
{
    snprintf(dst, 3, "%s", src);
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_states(struct iactn_policy *p, const PGresult *res)
{
    for (int r = 0; r < PQntuples(res); r++) {
        const char *code = PQgetvalue(res, r, 0);

        state_set_add(&p->known_states, code);
        if (is_true(res, r, 1)) {
            state_set_add(&p->active_states, code);
        }
    }
    return 0;
}

static int load_categories(struct iactn_policy *p, const PGresult *res)
{
    p->n_categories = (size_t)PQntuples(res);
    p->categories = calloc(p->n_categories + 1, sizeof(char *));
    if (p->categories == NULL) {
        return -1;
    }
    for (size_t i = 0; i < p->n_categories; i++) {
        p->categories[i] = strdup(PQgetvalue(res, (int)i, 0));
        if (p->categories[i] == NULL) {
            return -1;
        }
    }
    qsort(p->categories, p->n_categories, sizeof(char *), compare_strings);
    return 0;
}

static int load_agencies(struct iactn_policy *p, const PGresult *res)
{
    p->n_agencies = (size_t)PQntuples(res);
    p->agencies = calloc(p->n_agencies + 1, sizeof(*p->agencies));
    if (p->agencies == NULL) {
        return -1;
    }
    for (size_t i = 0; i < p->n_agencies; i++) {
        struct iactn_agency *a = &p->agencies[i];

        a->id = strdup(PQgetvalue(res, (int)i, 0));
        copy_state(a->state, PQgetvalue(res, (int)i, 1));
        a->suspended = is_true(res, (int)i, 2);
        if (a->id == NULL) {
            return -1;
        }
    }
    qsort(p->agencies, p->n_agencies, sizeof(*p->agencies), compare_strings);
    return 0;
}

static int load_principals(struct iactn_policy *p, const PGresult *res)
{
    p->n_principals = (size_t)PQntuples(res);
    p->principals = calloc(p->n_principals + 1, sizeof(*p->principals));
    if (p->principals == NULL) {
        return -1;
    }
    for (size_t i = 0; i < p->n_principals; i++) {
        struct iactn_principal *pr = &p->principals[i];
        const char *agency = PQgetvalue(res, (int)i, 2);

        pr->id = strdup(PQgetvalue(res, (int)i, 0));
        copy_state(pr->state, PQgetvalue(res, (int)i, 1));
        pr->agency = agency[0] ? strdup(agency) : NULL;
        pr->role = policy_role_from_name(PQgetvalue(res, (int)i, 3));
        pr->suspended = is_true(res, (int)i, 4);
        if (pr->id == NULL || (agency[0] && pr->agency == NULL) || pr->role == ROLE_ANY ||
            pr->role == ROLE_COUNT) {
            return -1;
        }
    }
    qsort(p->principals, p->n_principals, sizeof(*p->principals), compare_strings);
    return 0;
}

static int compare_certs(const void *a, const void *b)
{
    return strcmp(((const struct iactn_cert *)a)->fingerprint,
                  ((const struct iactn_cert *)b)->fingerprint);
}

static int load_certs(struct iactn_policy *p, const PGresult *res)
{
    p->n_certs = (size_t)PQntuples(res);
    p->certs = calloc(p->n_certs + 1, sizeof(*p->certs));
    if (p->certs == NULL) {
        return -1;
    }
    for (size_t i = 0; i < p->n_certs; i++) {
        struct iactn_cert *c = &p->certs[i];

        snprintf(c->fingerprint, sizeof(c->fingerprint), "%s", PQgetvalue(res, (int)i, 0));
        c->not_before = (time_t)strtoll(PQgetvalue(res, (int)i, 1), NULL, 10);
        c->not_after = (time_t)strtoll(PQgetvalue(res, (int)i, 2), NULL, 10);
        c->revoked = is_true(res, (int)i, 3);
        c->principal = policy_find_principal(p, PQgetvalue(res, (int)i, 4));
        if (c->principal == NULL) {
            return -1;
        }
    }
    qsort(p->certs, p->n_certs, sizeof(*p->certs), compare_certs);
    return 0;
}

static enum iactn_scope scope_from_name(const char *s)
{
    if (strcmp(s, "state") == 0) {
        return SCOPE_STATE;
    }
    return strcmp(s, "network") == 0 ? SCOPE_NETWORK : SCOPE_ANY;
}

static int load_acl(struct iactn_policy *p, const PGresult *res)
{
    p->n_acl = (size_t)PQntuples(res);
    p->acl = calloc(p->n_acl + 1, sizeof(*p->acl));
    if (p->acl == NULL) {
        return -1;
    }
    /* rows arrive ordered by priority, highest first, and keep that order */
    for (size_t i = 0; i < p->n_acl; i++) {
        struct iactn_acl_rule *a = &p->acl[i];

        a->id = strtol(PQgetvalue(res, (int)i, 0), NULL, 10);
        copy_state(a->state, PQgetvalue(res, (int)i, 1));
        a->role = policy_role_from_name(PQgetvalue(res, (int)i, 2));
        a->access = strcmp(PQgetvalue(res, (int)i, 3), "publish") == 0 ? ACCESS_PUBLISH
                                                                       : ACCESS_SUBSCRIBE;
        a->pattern = strdup(PQgetvalue(res, (int)i, 4));
        a->allow = is_true(res, (int)i, 5);
        a->priority = atoi(PQgetvalue(res, (int)i, 6));
        a->scope = scope_from_name(PQgetvalue(res, (int)i, 7));
        if (a->pattern == NULL || a->role == ROLE_COUNT) {
            return -1;
        }
    }
    return 0;
}

static int load_groups(struct iactn_policy *p, const PGresult *res)
{
    int rows = PQntuples(res);

    p->groups = calloc((size_t)rows + 1, sizeof(*p->groups));
    if (p->groups == NULL) {
        return -1;
    }
    /* one row per member (or one row with no member), ordered by group */
    for (int r = 0; r < rows; r++) {
        const char *id = PQgetvalue(res, r, 0);
        struct iactn_group *g = p->n_groups ? &p->groups[p->n_groups - 1] : NULL;

        if (g == NULL || strcmp(g->id, id) != 0) {
            g = &p->groups[p->n_groups++];
            g->id = strdup(id);
            if (g->id == NULL) {
                return -1;
            }
        }
        state_set_add(&g->members, PQgetvalue(res, r, 1));
    }
    return 0;
}

static int load_rules(struct iactn_policy *p, const PGresult *res)
{
    p->n_rules = (size_t)PQntuples(res);
    p->rules = calloc(p->n_rules + 1, sizeof(*p->rules));
    if (p->rules == NULL) {
        return -1;
    }
    for (size_t i = 0; i < p->n_rules; i++) {
        struct iactn_sharing_rule *s = &p->rules[i];
        const char *group = PQgetvalue(res, (int)i, 4);

        s->id = strtol(PQgetvalue(res, (int)i, 0), NULL, 10);
        copy_state(s->origin, PQgetvalue(res, (int)i, 1));
        s->category = strdup(PQgetvalue(res, (int)i, 2));
        copy_state(s->target_state, PQgetvalue(res, (int)i, 3));
        s->target_group = group[0] ? strdup(group) : NULL;
        s->allow = is_true(res, (int)i, 5);
        if (s->category == NULL || (group[0] && s->target_group == NULL)) {
            return -1;
        }
        state_set_add(&p->origins_with_rules, s->origin);
    }
    return 0;
}

static void mark_active_principals(struct iactn_policy *p)
{
    for (size_t i = 0; i < p->n_principals; i++) {
        struct iactn_principal *pr = &p->principals[i];
        const struct iactn_agency *a = pr->agency ? policy_find_agency(p, pr->agency) : NULL;

        pr->active = !pr->suspended && (pr->agency == NULL || (a && !a->suspended)) &&
                     (pr->state[0] == '\0' || state_set_contains(&p->active_states, pr->state));
    }
}

static bool acl_rule_reaches(const struct iactn_acl_rule *r, int role, const char *state)
{
    bool network = state[0] == '\0';

    if (r->role != ROLE_ANY && (int)r->role != role) {
        return false;
    }
    if ((r->scope == SCOPE_STATE && network) || (r->scope == SCOPE_NETWORK && !network)) {
        return false;
    }
    return r->state[0] == '\0' || strcmp(r->state, state) == 0;
}

/* Fills list with the items of array (n of them, size bytes each) that keep accepts. */
static int fill_list(struct iactn_rule_list *list, const void *array, size_t n, size_t size,
                     bool (*keep)(const void *item, const void *arg), const void *arg)
{
    const void **shrunk;

    list->items = calloc(n + 1, sizeof(void *));
    if (list->items == NULL) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const void *item = (const char *)array + i * size;

        if (keep(item, arg)) {
            list->items[list->n++] = item;
        }
    }
    shrunk = realloc(list->items, (list->n + 1) * sizeof(void *));
    if (shrunk) {
        list->items = shrunk;
    }
    return 0;
}

size_t policy_literal_prefix(const char *filter)
{
    size_t n = strcspn(filter, "+#{");

    if (filter[n] == '#' && n > 0 && filter[n - 1] == '/') {
        n--;
    }
    return n;
}

/* Writes pattern with every {state} replaced by state into a new string. Returns NULL
 * when the pattern needs a state and state is empty, or memory runs out. */
static char *expand_state(const char *pattern, const char *state)
{
    size_t n = strlen(pattern);
    char *out = malloc(n + 1);
    char *w = out;

    if (out == NULL) {
        return NULL;
    }
    for (const char *r = pattern; *r;) {
        if (strncmp(r, "{state}", 7) == 0) {
            if (state[0] == '\0') {
                free(out);
                return NULL;
            }
            *w++ = state[0];
            *w++ = state[1];
            r += 7;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return out;
}

/*
 * Fills list with the rows among `candidates` (indexes into p->acl, in table order)
 * that reach role and state, their patterns expanded for the state. `scratch` has
 * room for every candidate; the list gets an exact copy.
 */
static int fill_acl_list(struct iactn_acl_list *list, const struct iactn_policy *p,
                         const size_t *candidates, size_t n_candidates, int role,
                         const char *state, struct iactn_acl_entry *scratch)
{
    size_t n = 0;

    for (size_t i = 0; i < n_candidates; i++) {
        const struct iactn_acl_rule *r = &p->acl[candidates[i]];
        struct iactn_acl_entry *e = &scratch[n];

        if (!acl_rule_reaches(r, role, state)) {
            continue;
        }
        e->pattern = expand_state(r->pattern, state);
        if (e->pattern == NULL) {
            if (state[0] == '\0') {
                continue; /* a {state} row never applies to a network principal */
            }
            for (size_t j = 0; j < n; j++) {
                free(scratch[j].pattern);
            }
            return -1;
        }
        e->rule = r;
        e->literal_len = policy_literal_prefix(e->pattern);
        e->needs_expand = strchr(e->pattern, '{') != NULL;
        n++;
    }
    list->entries = malloc((n + 1) * sizeof(*list->entries));
    if (list->entries == NULL) {
        for (size_t i = 0; i < n; i++) {
            free(scratch[i].pattern);
        }
        return -1;
    }
    memcpy(list->entries, scratch, n * sizeof(*list->entries));
    memset(&list->entries[n], 0, sizeof(*list->entries));
    list->n = n;
    return 0;
}

static void free_acl_list(struct iactn_acl_list *list)
{
    for (size_t i = 0; i < list->n; i++) {
        free(list->entries[i].pattern);
    }
    free(list->entries);
}

static bool keep_sharing(const void *item, const void *arg)
{
    return strcmp(((const struct iactn_sharing_rule *)item)->origin, arg) == 0;
}

/*
 * Sorts the rows of p->acl into one candidate list per access and role (a '*' row
 * goes into every role's), keeping table order, so that each index list below scans
 * only its own candidates. Returns the lists in `candidates` (2 * ROLE_COUNT of them,
 * one allocation at candidates[0]) with their lengths in `counts`, or -1.
 */
static int bucket_acl_rows(const struct iactn_policy *p, size_t *candidates[],
                           size_t counts[])
{
    size_t *storage = malloc((p->n_acl + 1) * 2 * ROLE_COUNT * sizeof(*storage));

    if (storage == NULL) {
        return -1;
    }
    for (int list = 0; list < 2 * ROLE_COUNT; list++) {
        candidates[list] = storage + (size_t)list * (p->n_acl + 1);
        counts[list] = 0;
    }
    for (size_t i = 0; i < p->n_acl; i++) {
        const struct iactn_acl_rule *r = &p->acl[i];
        int first = r->access == ACCESS_PUBLISH ? 0 : ROLE_COUNT;

        for (int role = 0; role < ROLE_COUNT; role++) {
            if (r->role == ROLE_ANY || (int)r->role == role) {
                candidates[first + role][counts[first + role]++] = i;
            }
        }
    }
    return 0;
}

static int build_indexes(struct iactn_policy *p)
{
    char codes[POLICY_STATE_SLOTS][3];
    size_t *candidates[2 * ROLE_COUNT];
    size_t counts[2 * ROLE_COUNT];
    struct iactn_acl_entry *scratch;
    size_t slots;
    int rc = 0;

    p->n_known = state_set_list(&p->known_states, codes, POLICY_STATE_SLOTS);
    for (size_t k = 0; k < p->n_known; k++) {
        p->state_index[state_slot(codes[k])] = (short)(k + 1);
    }
    codes[p->n_known][0] = '\0';
    slots = p->n_known + 1;
    p->acl_index = calloc(2 * ROLE_COUNT * slots, sizeof(*p->acl_index));
    p->rules_by_origin = calloc(slots, sizeof(*p->rules_by_origin));
    scratch = malloc((p->n_acl + 1) * sizeof(*scratch));
    if (p->acl_index == NULL || p->rules_by_origin == NULL || scratch == NULL ||
        bucket_acl_rows(p, candidates, counts) != 0) {
        free(scratch);
        return -1;
    }
    for (size_t k = 0; k < slots && rc == 0; k++) {
        for (int list = 0; list < 2 * ROLE_COUNT && rc == 0; list++) {
            rc = fill_acl_list(&p->acl_index[list * slots + k], p, candidates[list],
                               counts[list], list % ROLE_COUNT, codes[k], scratch);
        }
        if (rc == 0) {
            rc = fill_list(&p->rules_by_origin[k], p->rules, p->n_rules, sizeof(*p->rules),
                           keep_sharing, codes[k]);
        }
    }
    free(candidates[0]);
    free(scratch);
    return rc;
}

/* Returns the compact index of a state, or n_known for "" and unknown codes. */
static size_t compact_index(const struct iactn_policy *p, const char *state)
{
    int slot = state_slot(state);

    return slot >= 0 && p->state_index[slot] ? (size_t)(p->state_index[slot] - 1)
                                             : p->n_known;
}

static const struct iactn_acl_list empty_acl_list = {NULL, 0};

const struct iactn_acl_list *policy_acl_rules(const struct iactn_policy *p,
                                              enum iactn_access access, enum iactn_role role,
                                              const char *state)
{
    size_t k = compact_index(p, state);
    size_t list = (size_t)access * ROLE_COUNT + (size_t)role;

    if (role < 0 || role >= ROLE_COUNT || (state[0] && k == p->n_known)) {
        return &empty_acl_list;
    }
    return &p->acl_index[list * (p->n_known + 1) + k];
}

const struct iactn_rule_list *policy_sharing_rules(const struct iactn_policy *p,
                                                   const char *origin)
{
    const struct iactn_rule_list *own = &p->rules_by_origin[compact_index(p, origin)];

    return own->n ? own : &p->rules_by_origin[p->n_known];
}

typedef int (*load_fn)(struct iactn_policy *, const PGresult *);

static const load_fn loaders[RES_COUNT] = {
    load_states, load_categories, load_agencies, load_principals,
    load_certs,  load_acl,        load_groups,   load_rules,
};

struct iactn_policy *policy_build(PGresult *const *results, int n_results, char *err,
                                  size_t err_size)
{
    struct iactn_policy *p = calloc(1, sizeof(*p));
    int next = 0;

    if (p == NULL) {
        set_error(err, err_size, "out of memory");
        return NULL;
    }
    for (int i = 0; i < n_results; i++) {
        ExecStatusType st = PQresultStatus(results[i]);

        if (st == PGRES_COMMAND_OK) {
            continue;
        }
        if (st != PGRES_TUPLES_OK) {
            set_error(err, err_size, "policy query failed: %s",
                      PQresultErrorMessage(results[i]));
            goto fail;
        }
        if (next >= RES_COUNT || PQnfields(results[i]) != result_columns[next]) {
            set_error(err, err_size, "policy query returned an unexpected result %d", i);
            goto fail;
        }
        if (loaders[next](p, results[i]) != 0) {
            set_error(err, err_size, "policy result %d is invalid or memory ran out", next);
            goto fail;
        }
        next++;
    }
    if (next != RES_COUNT) {
        set_error(err, err_size, "policy query returned %d of %d results", next, RES_COUNT);
        goto fail;
    }
    mark_active_principals(p);
    if (build_indexes(p) != 0) {
        set_error(err, err_size, "out of memory while indexing the policy");
        goto fail;
    }
    return p;

fail:
    policy_free(p);
    return NULL;
}

struct iactn_policy *policy_load(PGconn *conn, char *err, size_t err_size)
{
    PGresult *results[16];
    PGresult *res;
    int n = 0;
    struct iactn_policy *p = NULL;

    if (!PQsendQuery(conn, policy_load_sql)) {
        set_error(err, err_size, "policy query not sent: %s", PQerrorMessage(conn));
        return NULL;
    }
    while ((res = PQgetResult(conn)) != NULL) {
        if (n < 16) {
            results[n++] = res;
        } else {
            PQclear(res);
        }
    }
    p = policy_build(results, n, err, err_size);
    for (int i = 0; i < n; i++) {
        PQclear(results[i]);
    }
    return p;
}

void policy_free(struct iactn_policy *p)
{
    if (p == NULL) {
        return;
    }
    for (size_t i = 0; i < p->n_categories; i++) {
        free(p->categories[i]);
    }
    for (size_t i = 0; i < p->n_agencies; i++) {
        free(p->agencies[i].id);
    }
    for (size_t i = 0; i < p->n_principals; i++) {
        free(p->principals[i].id);
        free(p->principals[i].agency);
    }
    for (size_t i = 0; i < p->n_acl; i++) {
        free(p->acl[i].pattern);
    }
    for (size_t i = 0; i < p->n_groups; i++) {
        free(p->groups[i].id);
    }
    for (size_t i = 0; i < p->n_rules; i++) {
        free(p->rules[i].category);
        free(p->rules[i].target_group);
    }
    for (size_t k = 0; p->acl_index && k < 2 * ROLE_COUNT * (p->n_known + 1); k++) {
        free_acl_list(&p->acl_index[k]);
    }
    for (size_t k = 0; p->rules_by_origin && k <= p->n_known; k++) {
        free(p->rules_by_origin[k].items);
    }
    free(p->acl_index);
    free(p->rules_by_origin);
    free(p->categories);
    free(p->agencies);
    free(p->principals);
    free(p->certs);
    free(p->acl);
    free(p->groups);
    free(p->rules);
    free(p);
}

const struct iactn_cert *policy_find_cert(const struct iactn_policy *p,
                                          const char *fingerprint)
{
    struct iactn_cert key;

    snprintf(key.fingerprint, sizeof(key.fingerprint), "%s", fingerprint);
    return bsearch(&key, p->certs, p->n_certs, sizeof(*p->certs), compare_certs);
}

/* The structs searched below start with their id string, so one comparison serves. */
const struct iactn_principal *policy_find_principal(const struct iactn_policy *p,
                                                    const char *id)
{
    return bsearch(&id, p->principals, p->n_principals, sizeof(*p->principals),
                   compare_strings);
}

const struct iactn_agency *policy_find_agency(const struct iactn_policy *p, const char *id)
{
    return bsearch(&id, p->agencies, p->n_agencies, sizeof(*p->agencies),
                   compare_strings);
}

const struct iactn_group *policy_find_group(const struct iactn_policy *p, const char *id)
{
    for (size_t i = 0; i < p->n_groups; i++) {
        if (strcmp(p->groups[i].id, id) == 0) {
            return &p->groups[i];
        }
    }
    return NULL;
}

bool policy_has_category(const struct iactn_policy *p, const char *slug)
{
    return bsearch(&slug, p->categories, p->n_categories, sizeof(char *),
                   compare_strings) != NULL;
}
