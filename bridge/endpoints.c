#include "endpoints.h"

#include "stamp.h"
#include "topic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Column 0 is the routing version, in every row. Columns 1-4 route alerts, and 5 and
 * 6 are read only with secrets. Without endpoints, one row has NULL in columns 1-6.
 * One statement, so the version and the endpoints come from the same snapshot. */
static const char load_sql[] =
    "SELECT r.version, e.id, e.agency_id, e.state_code, e.topic_filter, "
    "       CASE WHEN $1 THEN e.url END, CASE WHEN $1 THEN e.secret END "
    "FROM webhook_routing r LEFT JOIN ("
    "  SELECT e.*, a.state_code FROM endpoints e JOIN agencies a ON a.id = e.agency_id "
    "  JOIN member_states s ON s.code = a.state_code "
    "  WHERE e.active AND NOT a.suspended AND NOT s.suspended) e ON true "
    "ORDER BY e.id";

static void clear_items(struct endpoint *items, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(items[i].topic_filter);
        free(items[i].url);
        free(items[i].secret);
    }
    free(items);
}

/* Copies column `column` of row `row` into a new string; NULL stays NULL. Returns -1
 * if memory runs out. */
static int copy_value(const PGresult *result, int row, int column, char **out)
{
    *out = NULL;
    if (PQgetisnull(result, row, column)) {
        return 0;
    }
    *out = strdup(PQgetvalue(result, row, column));
    return *out == NULL ? -1 : 0;
}

static int read_item(const PGresult *result, int row, struct endpoint *item)
{
    item->id = strtoll(PQgetvalue(result, row, 1), NULL, 10);
    snprintf(item->agency, sizeof(item->agency), "%s", PQgetvalue(result, row, 2));
    snprintf(item->state, sizeof(item->state), "%s", PQgetvalue(result, row, 3));
    if (copy_value(result, row, 4, &item->topic_filter) != 0 ||
        copy_value(result, row, 5, &item->url) != 0 ||
        copy_value(result, row, 6, &item->secret) != 0) {
        return -1;
    }
    return 0;
}

int endpoint_set_load(struct endpoint_set *set, PGconn *conn,
                      enum endpoint_columns columns, char *err, size_t err_size)
{
    const char *params[] = {columns == ENDPOINT_WITH_SECRETS ? "true" : "false"};
    struct endpoint *items = NULL;
    PGresult *result;
    int count;
    int rc = -1;

    result = PQexecParams(conn, load_sql, 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(result) != PGRES_TUPLES_OK) {
        snprintf(err, err_size, "%s", PQresultErrorMessage(result));
        goto out;
    }
    count = PQntuples(result);
    if (count < 1) {
        snprintf(err, err_size,
                 "table webhook_routing is empty; run iactn-admin migrate");
        goto out;
    }
    if (PQgetisnull(result, 0, 1)) {
        count = 0;
    }
    items = calloc(count > 0 ? (size_t)count : 1, sizeof(*items));
    if (items == NULL) {
        snprintf(err, err_size, "out of memory");
        goto out;
    }
    for (int i = 0; i < count; i++) {
        if (read_item(result, i, &items[i]) != 0) {
            snprintf(err, err_size, "out of memory");
            clear_items(items, (size_t)count);
            goto out;
        }
    }
    endpoint_set_clear(set);
    set->items = items;
    set->count = (size_t)count;
    set->version = strtoll(PQgetvalue(result, 0, 0), NULL, 10);
    rc = 0;

out:
    PQclear(result);
    return rc;
}

void endpoint_set_clear(struct endpoint_set *set)
{
    clear_items(set->items, set->count);
    set->items = NULL;
    set->count = 0;
    set->version = 0;
}

const struct endpoint *endpoint_set_find(const struct endpoint_set *set, long long id)
{
    for (size_t i = 0; i < set->count; i++) {
        if (set->items[i].id == id) {
            return &set->items[i];
        }
    }
    return NULL;
}

char *endpoint_set_match(const struct endpoint_set *set, const char *topic,
                         const void *payload, size_t len)
{
    /* Each id takes at most 20 digits and a comma. */
    char *literal = malloc(set->count * 21 + 3);
    size_t used = 0;

    if (literal == NULL) {
        return NULL;
    }
    literal[used++] = '{';
    for (size_t i = 0; i < set->count; i++) {
        const struct endpoint *e = &set->items[i];

        if (!topic_matches(e->topic_filter, topic) ||
            stamp_permits(payload, len, e->state, e->agency) != STAMP_ALLOW) {
            continue;
        }
        used += (size_t)sprintf(literal + used, "%s%lld", used > 1 ? "," : "", e->id);
    }
    literal[used++] = '}';
    literal[used] = '\0';
    return literal;
}
