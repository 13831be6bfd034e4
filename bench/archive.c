/*
 * bench-archive: the database's own limits for archiving alerts, without MQTT.
 *
 * Reads every row of the alerts table, empties the table, and writes the same rows
 * back from --connections connections in parallel, either one INSERT per row in its
 * own transaction (--mode insert, the durable per-alert limit), or with one COPY per
 * connection (--mode copy, the ceiling). Every column the bridge fills is written,
 * the payload both as jsonb and as the raw text that webhooks deliver.
 * Prints one JSON object with the rows written and the rate.
 */
#include <libpq-fe.h>
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROGRAM "bench-archive"
#define MAX_CONNECTIONS 32
#define COLUMNS 16

/* One row per statement, with the columns iactn-bridge fills. */
static const char insert_sql[] =
    "INSERT INTO alerts (id, topic, origin, category, tlp, status, msg_type, sender, "
    "sender_agency, recipient_states, recipient_agencies, sent, expires, received_at, "
    "payload, raw_payload) VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9, "
    "$10::text[], $11::text[], $12::timestamptz, $13::timestamptz, $14::timestamptz, "
    "$15::jsonb, $16) ON CONFLICT (id) DO NOTHING";

static const char select_sql[] =
    "SELECT id, topic, origin, category, tlp, status, msg_type, sender, sender_agency, "
    "recipient_states::text, recipient_agencies::text, sent::text, expires::text, "
    "received_at::text, payload::text, raw_payload FROM alerts";

static const char copy_out_sql[] =
    "COPY alerts (id, topic, origin, category, tlp, status, msg_type, sender, "
    "sender_agency, recipient_states, recipient_agencies, sent, expires, received_at, "
    "payload, raw_payload) TO STDOUT";

static const char copy_in_sql[] =
    "COPY alerts (id, topic, origin, category, tlp, status, msg_type, sender, "
    "sender_agency, recipient_states, recipient_agencies, sent, expires, received_at, "
    "payload, raw_payload) FROM STDIN";

struct worker {
    pthread_t thread;
    PGconn *conn;
    int index;
    long written;
    int failed;
};

static struct {
    const char *conninfo;
    int connections;
    int copy;
    PGresult *rows; /* insert mode */
    char **lines;   /* copy mode: one COPY text line each, newline included */
    size_t *line_lengths;
    long n_rows;
} bench = {.connections = 1};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int insert_rows(struct worker *w)
{
    for (long r = w->index; r < bench.n_rows; r += bench.connections) {
        const char *params[COLUMNS];
        PGresult *res;

        for (int c = 0; c < COLUMNS; c++) {
            params[c] = PQgetisnull(bench.rows, (int)r, c)
                            ? NULL
                            : PQgetvalue(bench.rows, (int)r, c);
        }
        res = PQexecParams(w->conn, insert_sql, COLUMNS, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            fprintf(stderr, PROGRAM ": insert failed: %s", PQerrorMessage(w->conn));
            PQclear(res);
            return -1;
        }
        PQclear(res);
        w->written++;
    }
    return 0;
}

static int copy_rows(struct worker *w)
{
    PGresult *res = PQexec(w->conn, copy_in_sql);
    int ok = PQresultStatus(res) == PGRES_COPY_IN;

    PQclear(res);
    for (long r = w->index; ok && r < bench.n_rows; r += bench.connections) {
        ok = PQputCopyData(w->conn, bench.lines[r], (int)bench.line_lengths[r]) == 1;
        w->written += ok;
    }
    if (PQputCopyEnd(w->conn, ok ? NULL : "aborted") != 1) {
        ok = 0;
    }
    res = PQgetResult(w->conn);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        ok = 0;
    }
    PQclear(res);
    if (!ok) {
        fprintf(stderr, PROGRAM ": copy failed: %s", PQerrorMessage(w->conn));
    }
    return ok ? 0 : -1;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    w->failed = bench.copy ? copy_rows(w) : insert_rows(w);
    return NULL;
}

/* Reads the archive in the form the chosen mode writes it back. Returns 0 or -1. */
static int read_rows(PGconn *conn)
{
    PGresult *res;
    long capacity = 0;
    char *line;
    int n;

    if (!bench.copy) {
        bench.rows = PQexec(conn, select_sql);
        if (PQresultStatus(bench.rows) != PGRES_TUPLES_OK) {
            return -1;
        }
        bench.n_rows = PQntuples(bench.rows);
        return 0;
    }
    res = PQexec(conn, copy_out_sql);
    if (PQresultStatus(res) != PGRES_COPY_OUT) {
        PQclear(res);
        return -1;
    }
    PQclear(res);
    while ((n = PQgetCopyData(conn, &line, 0)) > 0) {
        if (bench.n_rows == capacity) {
            capacity = capacity ? capacity * 2 : 1024;
            bench.lines = realloc(bench.lines, (size_t)capacity * sizeof(*bench.lines));
            bench.line_lengths = realloc(bench.line_lengths,
                                         (size_t)capacity * sizeof(*bench.line_lengths));
            if (bench.lines == NULL || bench.line_lengths == NULL) {
                return -1;
            }
        }
        bench.lines[bench.n_rows] = line;
        bench.line_lengths[bench.n_rows++] = (size_t)n;
    }
    res = PQgetResult(conn);
    n = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
    PQclear(res);
    return n;
}

static int run_workers(struct worker *workers, double *elapsed)
{
    double start;
    int failed = 0;

    for (int i = 0; i < bench.connections; i++) {
        workers[i].index = i;
        workers[i].conn = PQconnectdb(bench.conninfo);
        if (PQstatus(workers[i].conn) != CONNECTION_OK) {
            fprintf(stderr, PROGRAM ": connection failed: %s",
                    PQerrorMessage(workers[i].conn));
            return -1;
        }
    }
    start = now_s();
    for (int i = 0; i < bench.connections; i++) {
        pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);
    }
    for (int i = 0; i < bench.connections; i++) {
        pthread_join(workers[i].thread, NULL);
        failed |= workers[i].failed;
    }
    *elapsed = now_s() - start;
    return failed ? -1 : 0;
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: " PROGRAM " --db CONNINFO --mode insert|copy [--connections N]\n");
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"db", required_argument, NULL, 'd'},
        {"mode", required_argument, NULL, 'm'},
        {"connections", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    struct worker workers[MAX_CONNECTIONS] = {0};
    PGconn *conn = NULL;
    double elapsed = 0;
    long written = 0;
    int opt, status = 1;

    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'd':
            bench.conninfo = optarg;
            break;
        case 'm':
            bench.copy = strcmp(optarg, "copy") == 0;
            break;
        case 'n':
            bench.connections = atoi(optarg);
            break;
        case 'H':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (bench.conninfo == NULL || bench.connections < 1 ||
        bench.connections > MAX_CONNECTIONS) {
        usage(stderr);
        return 2;
    }
    conn = PQconnectdb(bench.conninfo);
    if (PQstatus(conn) != CONNECTION_OK || read_rows(conn) != 0) {
        fprintf(stderr, PROGRAM ": reading the archive failed: %s", PQerrorMessage(conn));
        goto out;
    }
    PQclear(PQexec(conn, "TRUNCATE alerts CASCADE"));
    if (run_workers(workers, &elapsed) != 0) {
        goto out;
    }
    for (int i = 0; i < bench.connections; i++) {
        written += workers[i].written;
    }
    printf("{\"mode\":\"%s\",\"connections\":%d,\"rows\":%ld,\"elapsed_s\":%.6f,"
           "\"rows_per_s\":%.1f}\n",
           bench.copy ? "copy" : "insert", bench.connections, written, elapsed,
           elapsed > 0 ? written / elapsed : 0);
    status = 0;

out:
    for (int i = 0; i < bench.connections; i++) {
        PQfinish(workers[i].conn);
    }
    for (long r = 0; bench.lines && r < bench.n_rows; r++) {
        PQfreemem(bench.lines[r]);
    }
    free(bench.lines);
    free(bench.line_lengths);
    PQclear(bench.rows);
    PQfinish(conn);
    return status;
}
