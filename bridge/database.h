/*
 * Helpers for the bridge's PostgreSQL connections. Each thread opens its own with the
 * same timeouts and keepalives, logs the first line of libpq's error messages, and
 * waits longer after each failed attempt to reach the server.
 */
#ifndef IACTN_BRIDGE_DATABASE_H
#define IACTN_BRIDGE_DATABASE_H

#include <libpq-fe.h>
#include <stddef.h>

/*
 * Connects to `conninfo` as `application_name` and runs `setup_sql` (statements that
 * return no rows, such as LISTEN; NULL for none). Defaults placed before the
 * connection string let it override them: a 10 s connection timeout, and TCP
 * keepalives so that a dead server is noticed in about a minute rather than after the
 * kernel's two hours. Returns the connection, or NULL with the first line of the error
 * in `err` (not quoted). Blocks on the network.
 */
PGconn *database_connect(const char *conninfo, const char *application_name,
                         const char *setup_sql, char *err, size_t err_size);

/* Writes the first line of a libpq error message into `buf`, quoted by log_quote() for
 * a log line. Returns `buf`. */
const char *database_quote_error(char *buf, size_t size, const char *message);

/* The delays between attempts to reach the database: first_ms, doubled after each
 * failed attempt up to max_ms. */
struct database_backoff {
    long first_ms;
    long max_ms;
    long next_ms; /* the delay after the next failure, or 0 for first_ms */
};

/* Returns how long to wait after a failed attempt, and doubles the next delay. */
long database_backoff_next(struct database_backoff *backoff);

/* Starts the delays again from first_ms, after a successful attempt. */
void database_backoff_reset(struct database_backoff *backoff);

#endif
