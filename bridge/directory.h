/*
 * The directory publisher: keeps one retained message per agency at
 * iactn/directory/{STATE}/{agency}, and one per state at iactn/directory/{STATE}/_state
 * (an agency id never starts with '_'), in line with the database. An agency entry
 * contains the agency, its state, its contacts and who is on call for it now; a state
 * entry contains the state's agencies and who is on call for the whole state now:
 *
 *   {"agency":"co-dni","name":"...","state":"CO","contacts":[{"id":1,...}],
 *    "on_call_now":{"primary":{"contact":1,"name":"...","phones":[...],...,
 *                              "since":"...","until":"..."},"backup":null},
 *    "updated":"2026-12-04T15:40:00Z"}
 *
 * Only agencies that are not suspended, of states that participate and are not
 * suspended, have entries; the entry of any other agency or state is cleared with an
 * empty retained message. "updated" is when the bridge first published the entry's
 * current content.
 *
 * The publisher runs on a thread of its own with its own PostgreSQL connection,
 * which LISTENs on iactn_policy, and its own MQTT connection. It compares the database
 * with what it published: at start, after each notification, when an on-call shift
 * starts or ends, after each reconnect, and every 10 minutes in case a notification
 * was lost. It also reads the retained entries back, so that it clears entries of
 * agencies removed while it was stopped and keeps "updated" across restarts.
 */
#ifndef IACTN_DIRECTORY_H
#define IACTN_DIRECTORY_H

#include "mqtt_link.h"

struct directory;

/*
 * Creates the publisher for the libpq connection string `conninfo` (copied) and an
 * MQTT link made from `link` (its name, callbacks and user data are set here).
 * Returns NULL after logging the reason. Free with directory_free().
 */
struct directory *directory_new(const char *conninfo,
                                const struct mqtt_link_options *link);

/* Starts the publisher's thread and its MQTT link. Returns 0, or -1 after logging. */
int directory_start(struct directory *directory);

/*
 * Stops the thread and the link, waiting up to `timeout_seconds` for each. Returns 0,
 * or -1 when one is still busy; the caller must then not free the publisher.
 */
int directory_stop(struct directory *directory, int timeout_seconds);

/* Frees a publisher that was never started or has stopped. Accepts NULL. */
void directory_free(struct directory *directory);

#endif
