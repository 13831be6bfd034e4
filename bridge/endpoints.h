/*
 * The webhook endpoints of the agencies, as read from the endpoints table, and the
 * decision which of them must receive an alert. An endpoint receives an alert when
 * its agency may receive it under the broker's stamp (the recipient states and, for
 * AMBER+STRICT and RED, the listed agencies) and its topic filter matches the topic.
 */
#ifndef IACTN_ENDPOINTS_H
#define IACTN_ENDPOINTS_H

#include <libpq-fe.h>
#include <stddef.h>

struct endpoint {
    long long id;
    char agency[64];
    char state[3];
    char *topic_filter;
    char *url;    /* NULL unless loaded with secrets */
    char *secret; /* NULL unless loaded with secrets; never logged */
};

/* The endpoints that may receive deliveries now. A zeroed set is empty. */
struct endpoint_set {
    struct endpoint *items;
    size_t count;
    long long version; /* webhook_routing.version the set was read at */
};

/* Columns that endpoint_set_load() reads. */
enum endpoint_columns {
    ENDPOINT_ROUTING,      /* id, agency, state and topic filter */
    ENDPOINT_WITH_SECRETS, /* also the URL and the signing secret */
};

/*
 * Replaces the contents of `set` with the endpoints that are active and whose agency
 * and member state are not suspended, read on `conn` together with the routing
 * version. Returns 0, or -1 with libpq's error in `err` (the set is then left
 * unchanged). Blocks on the database.
 */
int endpoint_set_load(struct endpoint_set *set, PGconn *conn,
                      enum endpoint_columns columns, char *err, size_t err_size);

/*
 * Frees the contents of `set` and leaves it empty.
 */
void endpoint_set_clear(struct endpoint_set *set);

/*
 * Returns the endpoint with that id, or NULL. Points into `set`.
 */
const struct endpoint *endpoint_set_find(const struct endpoint_set *set, long long id);

/*
 * Returns the endpoints of `set` that must receive the alert published on `topic` with
 * the stamped `payload` (the exact bytes the broker delivered), as a PostgreSQL array
 * literal such as "{3,8}" or "{}". A payload without a well-formed stamp matches no
 * endpoint. Returns a malloc'd string, or NULL if memory runs out. Does not block.
 */
char *endpoint_set_match(const struct endpoint_set *set, const char *topic,
                         const void *payload, size_t len);

#endif
