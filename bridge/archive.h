/*
 * The alert archive in PostgreSQL, as the bridge writes it: one connection, used by one
 * thread (the MQTT network thread), reconnected when it breaks.
 */
#ifndef IACTN_ARCHIVE_H
#define IACTN_ARCHIVE_H

#include "archive_row.h"

#include <stdatomic.h>

struct archive;

enum archive_result {
    ARCHIVE_INSERTED,  /* the row is committed */
    ARCHIVE_DUPLICATE, /* a row with this id was already archived */
    ARCHIVE_REJECTED,  /* the database rejects the values, so retrying cannot help */
    ARCHIVE_STOPPED,   /* `stop` was set while the database was unavailable */
};

/*
 * Creates an archive for the libpq connection string `conninfo` (copied) without
 * connecting. Returns NULL if memory runs out. Free with archive_free().
 */
struct archive *archive_new(const char *conninfo);

/*
 * Closes the connection, if any, and frees `archive`. Accepts NULL.
 */
void archive_free(struct archive *archive);

/*
 * Connects now, so that a wrong connection string shows at start. Returns 0, or -1
 * after logging the error; later inserts retry on their own. Blocks for at most the
 * connection timeout (10 s unless the connection string sets connect_timeout).
 */
int archive_connect(struct archive *archive);

/*
 * Inserts `row` into alerts with ON CONFLICT (id) DO NOTHING and returns only once the
 * outcome is final: committed, already there, or rejected by the database.
 * Any failure other than invalid data counts as the database being unavailable:
 * connection lost, server starting or shutting down, schema missing. Then it keeps
 * reconnecting and retrying with exponential backoff from 0.5 s up to 30 s. It logs
 * the first failure of an outage at error level and the recovery at info level.
 * Returns ARCHIVE_STOPPED if `*stop` becomes nonzero before the row is committed.
 * Blocks, possibly for a long time.
 */
enum archive_result archive_insert(struct archive *archive, const struct archive_row *row,
                                   const atomic_int *stop);

#endif
