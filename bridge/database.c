#include "database.h"

#include "log.h"

#include <stdio.h>
#include <string.h>

/* Copies the first line of `message` into `out`. */
static void first_line(const char *message, char *out, size_t size)
{
    int len = (int)strcspn(message, "\n");

    snprintf(out, size, "%.*s", len, message);
}

PGconn *database_connect(const char *conninfo, const char *application_name,
                         const char *setup_sql, char *err, size_t err_size)
{
    static const char *const keywords[] = {"connect_timeout",
                                           "keepalives_idle",
                                           "keepalives_interval",
                                           "keepalives_count",
                                           "application_name",
                                           "dbname",
                                           NULL};
    const char *values[] = {"10", "30", "10", "3", application_name, conninfo, NULL};
    PGconn *conn = PQconnectdbParams(keywords, values, 1);
    PGresult *result;

    if (conn == NULL) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        first_line(PQerrorMessage(conn), err, err_size);
        PQfinish(conn);
        return NULL;
    }
    if (setup_sql == NULL) {
        return conn;
    }
    result = PQexec(conn, setup_sql);
    if (PQresultStatus(result) != PGRES_COMMAND_OK) {
        first_line(PQerrorMessage(conn), err, err_size);
        PQclear(result);
        PQfinish(conn);
        return NULL;
    }
    PQclear(result);
    return conn;
}

const char *database_quote_error(char *buf, size_t size, const char *message)
{
    char line[512];

    first_line(message, line, sizeof(line));
    return log_quote(buf, size, line);
}

long database_backoff_next(struct database_backoff *backoff)
{
    long delay = backoff->next_ms > 0 ? backoff->next_ms : backoff->first_ms;

    backoff->next_ms = delay * 2 > backoff->max_ms ? backoff->max_ms : delay * 2;
    return delay;
}

void database_backoff_reset(struct database_backoff *backoff)
{
    backoff->next_ms = 0;
}
