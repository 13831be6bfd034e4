/*
 * Administration operations: changes to the policy and the directory in PostgreSQL,
 * described as JSON requests {"op": "acl-add", ...} and applied in one transaction
 * with their audit rows. iactn-bridge runs them for administrators who send requests
 * over MQTT; iactn-admin runs them directly on the database for the network operator.
 *
 * Who may do what: a network administrator (an actor without a state) may change
 * everything. A state administrator may change only its own state's rows: topic rules
 * of its state, sharing rules of its origin, its agencies and their contacts, shifts,
 * endpoints and principals, the certificates of those principals, and the sharing
 * groups its state owns. The principals it creates belong to its state and have the
 * role liaison, agency-system or admin. Its topic rules never reach the network roles,
 * and an allow rule may only grant what a network-wide allow rule already grants.
 */
#ifndef IACTN_ADMINOP_H
#define IACTN_ADMINOP_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

/* The sender of a request. */
struct adminop_actor {
    /* Audit actor: the verified principal id, or NULL for "db:" followed by the
     * database user, as iactn-admin writes it. */
    const char *principal;
    /* The administrator's state code, or NULL or "" for a network administrator. */
    const char *state;
    /* PEM file of the network CA. When set, cert-register accepts only certificates
     * that it signed and that are valid now. NULL: no such check. */
    const char *ca_file;
};

/* Stable codes of a failed request, sent back in replies. */
#define ADMINOP_INVALID_REQUEST                                                          \
    "invalid_request" /* not an object, bad or unknown field */
#define ADMINOP_UNKNOWN_OP "unknown_op"
#define ADMINOP_FORBIDDEN "forbidden"     /* outside the actor's rights */
#define ADMINOP_NOT_FOUND "not_found"     /* a named row does not exist */
#define ADMINOP_CONFLICT "conflict"       /* clashes with an existing row */
#define ADMINOP_UNAVAILABLE "unavailable" /* the database cannot be reached */
#define ADMINOP_INTERNAL "internal"       /* a bug or a database error */

struct adminop_error {
    const char *code;  /* one of the ADMINOP_* codes above */
    char message[512]; /* one plain sentence for the administrator */
};

/*
 * Applies `request` on `conn` in one transaction, with an audit_log row per change
 * whose detail has the row "before" and "after". Members of `request` other than
 * "op", the broker's stamp "iactn" and the operation's own fields are an error.
 * Returns the result (a new reference; for lists an array of objects, for changes an
 * object with "changed", "summary", usually "id", and "notes" and "warnings" arrays of
 * sentences when there is something to tell), or NULL with `err` filled after rolling
 * back. Blocks on the database. The connection must be idle and is left idle.
 */
json_t *adminop_run(PGconn *conn, const struct adminop_actor *actor, json_t *request,
                    struct adminop_error *err);

/*
 * Appends an audit_log row "admin-request-rejected" for a request that adminop_run()
 * or the caller rejected: object is the operation name (or "" when unknown), detail
 * contains the code, the message and `topic` (may be NULL). Runs in its own
 * transaction. Returns 0, or -1 when the row could not be written.
 */
int adminop_audit_rejection(PGconn *conn, const struct adminop_actor *actor,
                            const char *op, const char *topic,
                            const struct adminop_error *err);

/*
 * Returns true when `op` names an operation that changes nothing (the lists).
 */
bool adminop_is_read_only(const char *op);

#endif
