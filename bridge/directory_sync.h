/*
 * One comparison of the directory in the database with the retained entries the
 * publisher believes the broker has.
 */
#ifndef IACTN_DIRECTORY_SYNC_H
#define IACTN_DIRECTORY_SYNC_H

#include "directory_cache.h"
#include "mqtt_link.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#define DIRECTORY_NEVER INT64_MAX

/*
 * Reads every entry from the database in one snapshot, publishes (retained, QoS 1)
 * those whose content differs from `cache`, or all of them when `full`, and clears
 * with an empty retained message every cached entry the database no longer has.
 * Updates `cache` with what it published. Sets *next_change_ms to the milliseconds
 * until the next on-call shift starts or ends, or DIRECTORY_NEVER. Returns 0, or -1
 * after logging when the database failed or a publication could not be queued. What
 * was not done stays different in the cache, so the next call retries it. Blocks on
 * the database.
 */
int directory_sync(PGconn *conn, struct mqtt_link *link, struct directory_cache *cache,
                   bool full, int64_t *next_change_ms);

#endif
