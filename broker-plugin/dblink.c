/*
 * A PostgreSQL connection that is opened and reopened without blocking, for code that
 * runs on mosquitto's main thread. Failures are logged once per outage and retried
 * with exponential backoff.
 */
#include "dblink.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>

#define BACKOFF_MIN_S 1
#define BACKOFF_MAX_S 30

void dblink_init(struct iactn_dblink *l, const char *name, const char *conninfo)
{
    memset(l, 0, sizeof(*l));
    l->name = name;
    l->conninfo = strdup(conninfo);
    l->backoff_s = BACKOFF_MIN_S;
}

void dblink_one_line(const char *message, char *out, size_t out_size)
{
    size_t n = 0;

    for (const char *c = message; *c && n + 1 < out_size; c++) {
        unsigned char ch = (unsigned char)*c;

        if (ch < 0x20 || ch == 0x7f) {
            out[n++] = ' ';
        } else if (ch == '"') {
            out[n++] = '\'';
        } else {
            out[n++] = (char)ch;
        }
    }
    while (n > 0 && out[n - 1] == ' ') {
        n--;
    }
    out[n] = '\0';
}

void dblink_fail(struct iactn_dblink *l, const char *what, const char *consequence)
{
    char detail[256];

    dblink_one_line(l->conn ? PQerrorMessage(l->conn) : "", detail, sizeof(detail));
    if (!l->outage_logged) {
        plugin_log(MOSQ_LOG_ERR,
                   "database link=%s failed=\"%s\" error=\"%s\" consequence=\"%s\" "
                   "retry_max_s=%d",
                   l->name, what, detail[0] ? detail : "no detail", consequence,
                   BACKOFF_MAX_S);
        l->outage_logged = true;
    }
    if (l->conn) {
        PQfinish(l->conn);
        l->conn = NULL;
    }
    l->state = DBLINK_DOWN;
    l->next_attempt = time(NULL) + l->backoff_s;
    l->backoff_s = l->backoff_s * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : l->backoff_s * 2;
}

int dblink_connect_blocking(struct iactn_dblink *l)
{
    l->conn = PQconnectdb(l->conninfo);
    if (PQstatus(l->conn) != CONNECTION_OK) {
        return -1;
    }
    l->state = DBLINK_READY;
    return 0;
}

int dblink_make_nonblocking(struct iactn_dblink *l)
{
    return PQsetnonblocking(l->conn, 1);
}

static bool socket_ready(PGconn *conn, short events)
{
    struct pollfd pfd = {.fd = PQsocket(conn), .events = events};

    return pfd.fd >= 0 && poll(&pfd, 1, 0) > 0;
}

bool dblink_poll(struct iactn_dblink *l, const char *consequence)
{
    short events;

    switch (l->state) {
    case DBLINK_READY:
        return true;
    case DBLINK_DOWN:
        if (time(NULL) < l->next_attempt) {
            return false;
        }
        l->conn = PQconnectStart(l->conninfo);
        if (l->conn == NULL || PQstatus(l->conn) == CONNECTION_BAD) {
            dblink_fail(l, "connection", consequence);
            return false;
        }
        l->poll_status = PGRES_POLLING_WRITING;
        l->state = DBLINK_CONNECTING;
        return false;
    case DBLINK_CONNECTING:
        break;
    }
    events = l->poll_status == PGRES_POLLING_READING ? POLLIN : POLLOUT;
    if (!socket_ready(l->conn, events)) {
        return false;
    }
    l->poll_status = PQconnectPoll(l->conn);
    if (l->poll_status == PGRES_POLLING_FAILED) {
        dblink_fail(l, "connection", consequence);
        return false;
    }
    if (l->poll_status != PGRES_POLLING_OK) {
        return false;
    }
    if (PQsetnonblocking(l->conn, 1) != 0) {
        dblink_fail(l, "setup", consequence);
        return false;
    }
    if (l->outage_logged) {
        plugin_log(MOSQ_LOG_NOTICE, "database link=%s restored", l->name);
    }
    l->outage_logged = false;
    l->backoff_s = BACKOFF_MIN_S;
    l->state = DBLINK_READY;
    l->just_connected = true;
    return true;
}

void dblink_close(struct iactn_dblink *l)
{
    if (l->conn) {
        PQfinish(l->conn);
    }
    free(l->conninfo);
    memset(l, 0, sizeof(*l));
}
