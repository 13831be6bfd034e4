/*
 * Non-blocking PostgreSQL connections for the plugin (see dblink.c).
 */
#ifndef IACTN_DBLINK_H
#define IACTN_DBLINK_H

#include "plugin.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <time.h>

enum dblink_state { DBLINK_DOWN, DBLINK_CONNECTING, DBLINK_READY };

struct iactn_dblink {
    const char *name; /* for log lines */
    char *conninfo;
    PGconn *conn;
    enum dblink_state state;
    PostgresPollingStatusType poll_status;
    time_t next_attempt;
    int backoff_s;
    bool outage_logged;
    bool just_connected; /* set when a connection completes; the owner clears it */
};

void dblink_init(struct iactn_dblink *l, const char *name, const char *conninfo);

/* Copies a libpq message into `out` on one line: newlines and other control characters
 * become spaces, double quotes become single ones, trailing spaces go. */
void dblink_one_line(const char *message, char *out, size_t out_size);

/* Connects and waits for the result. Only for plugin start. Returns 0 or -1. */
int dblink_connect_blocking(struct iactn_dblink *l);

/* Switches a connected link to non-blocking mode. Returns 0 or -1. */
int dblink_make_nonblocking(struct iactn_dblink *l);

/* Moves a connection attempt forward without blocking. Returns true when the link is
 * connected. consequence is logged on failure ("keeping the last policy"). */
bool dblink_poll(struct iactn_dblink *l, const char *consequence);

/* Closes the connection, logs the failure once per outage and schedules a retry. */
void dblink_fail(struct iactn_dblink *l, const char *what, const char *consequence);

void dblink_close(struct iactn_dblink *l);

#endif
