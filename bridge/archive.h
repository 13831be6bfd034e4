/*
 * The archive in PostgreSQL, as the bridge writes it: one connection, owned by one
 * writer thread and reconnected when it breaks. The MQTT connections' threads hand it
 * rows and wait; the writer commits the rows waiting together in one transaction.
 * Alerts go to the alerts table together with their webhook deliveries,
 * acknowledgements to the acks table.
 */
#ifndef IACTN_ARCHIVE_H
#define IACTN_ARCHIVE_H

#include "archive_row.h"

#include <stdatomic.h>

struct archive;

enum archive_result {
    ARCHIVE_INSERTED,  /* the row is committed */
    ARCHIVE_DUPLICATE, /* a row with this key was already archived */
    ARCHIVE_REJECTED,  /* the database rejects the values, so retrying cannot help */
    ARCHIVE_STOPPED,   /* `stop` was set while the database was unavailable */
};

/* Called after a commit that added webhook deliveries, from the writer thread. */
typedef void (*archive_deliveries_hook)(void *arg);

/*
 * Creates an archive for the libpq connection string `conninfo` (copied) without
 * connecting. `name` (copied) is the connection's application_name and appears in
 * log lines. `hook` (may be NULL) runs with `hook_arg` after each commit that
 * queued deliveries. `stop` is the shutdown flag that ends retries while the database
 * is unavailable. Returns NULL if memory runs out. Free with archive_free().
 */
struct archive *archive_new(const char *conninfo, const char *name,
                            archive_deliveries_hook hook, void *hook_arg,
                            const atomic_int *stop);

/*
 * Connects now, so that a wrong connection string shows at start. Call it before
 * archive_start(). Returns 0, or -1 after logging the error; later inserts retry on
 * their own. Blocks for at most the connection timeout (10 s unless the connection
 * string sets connect_timeout).
 */
int archive_connect(struct archive *archive);

/*
 * Starts the writer thread. Returns 0, or -1 after logging if it cannot start.
 */
int archive_start(struct archive *archive);

/*
 * Ends the writer thread once no row waits, closes the connection and frees
 * `archive`. Call it only when no thread can call archive_insert() any more. Accepts
 * NULL.
 */
void archive_free(struct archive *archive);

/*
 * Inserts `row` into alerts with ON CONFLICT (id) DO NOTHING and, in the same
 * statement and so the same transaction, one deliveries row per webhook endpoint
 * that must receive it (see endpoints.h). Safe to call from several threads: the
 * writer commits the rows of all of them that wait at the same time in one
 * transaction. Returns only once the outcome is final: committed, already there, or
 * rejected by the database.
 * Any failure other than invalid data counts as the database being unavailable:
 * connection lost, server starting or shutting down, schema missing. Then it keeps
 * reconnecting and retrying with exponential backoff from 0.5 s up to 30 s. It logs
 * the first failure of an outage at error level and the recovery at info level.
 * Returns ARCHIVE_STOPPED if the stop flag is set before the row is committed.
 * Blocks, possibly for a long time.
 *
 * The endpoints come from a copy in memory, tagged with the routing version it was
 * read at (table webhook_routing, which triggers on endpoints, agencies and
 * member_states increment). The statement inserts only if that version is still
 * current; otherwise the copy is reloaded and the insert runs again. So an alert
 * archived after an endpoint change has committed is routed with the change.
 */
enum archive_result archive_insert(struct archive *archive, const struct archive_row *row);

/*
 * Inserts `row` into acks with ON CONFLICT (alert_id, sender, status) DO NOTHING.
 * Retries, returns and blocks as archive_insert() does.
 */
enum archive_result archive_insert_ack(struct archive *archive, const struct ack_row *row);

#endif
