/*
 * State shared by the plugin's event handlers. Mosquitto calls every handler on its
 * main thread, so none of this needs locking.
 */
#ifndef IACTN_PLUGIN_H
#define IACTN_PLUGIN_H

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#include <mqtt_protocol.h>
#include <stdbool.h>
#include <stdint.h>

#include "policy.h"

/* Log through mosquitto's logger with a prefix that makes plugin lines easy to grep. */
#define plugin_log(level, ...) mosquitto_log_printf(level, "iactn: " __VA_ARGS__)

/* Returns the policy in force, or NULL when none has been loaded yet (everyone is
 * refused then). The pointer stays valid until the next tick event. */
const struct iactn_policy *snapshot_policy(void);

/* Connects to PostgreSQL and loads the first policy, blocking for at most a few
 * seconds; this is the only load on the main thread. Then starts the loader thread,
 * which reloads on every change notification and reconnect. Returns 0 when a policy
 * was loaded, -1 when not (the plugin then refuses everyone until the loader thread
 * reads one). */
int snapshot_start(const char *conninfo);

/* Puts in force the policy the loader thread has built since the last tick, if any,
 * and writes the log lines it queued. Does not block on the database. */
void snapshot_tick(void);

/* Stops the loader thread and frees the policies. */
void snapshot_stop(void);

/* Returns NULL when the certificate's principal may be connected now, else a short
 * reason code (certificate_revoked, certificate_expired, principal_suspended, ...). */
const char *auth_refusal_reason(const struct iactn_policy *p, const struct iactn_cert *c);

/* Writes the count of accepted alerts that had no log line of their own, once their
 * second is over. */
void message_tick(void);

/* Chooses the facts of the stamp that accepted alerts carry as MQTT 5 user
 * properties: a comma-separated list of sender, origin and recipients, or "none".
 * The default is sender,origin. Returns 0, or -1 for an unknown name. */
int message_set_user_properties(const char *list);

/* Connected clients and the certificate each one presented. */
int clients_add(const struct mosquitto *client, const char *client_id,
                const char *fingerprint);
void clients_remove(const struct mosquitto *client, const char *client_id);

/* Disconnects every tracked client whose certificate, principal, agency or state may
 * no longer connect under policy p. Runs after each policy swap and once a second, so
 * that revocations and expiries take effect on live connections. */
void clients_enforce(const struct iactn_policy *p);

/* Returns true for a client that has disconnected and not authenticated since: a write
 * check for it is the check of its will message. */
bool clients_is_gone(const struct mosquitto *client);

/* Marks every other tracked connection that uses client_id as gone. mosquitto 2.0.11
 * publishes the will of a connection whose client id a new connection takes over before
 * it runs the old connection's disconnect event, so that event is too late. */
void clients_mark_replaced(const struct mosquitto *client, const char *client_id);

/* Forgets that a client had disconnected; called when it (or a new client at the same
 * address) authenticates. */
void clients_forget_gone(const struct mosquitto *client);
void clients_clear(void);

/* Queues one audit_log row; detail is a JSON object as text (or NULL). Never blocks;
 * when the queue is full the row is dropped and counted. */
void audit_record(const char *actor, const char *action, const char *object,
                  const char *detail);

/* Queues a denial row like audit_record, but at most 20 a second for each actor and
 * only while the queue is less than three quarters full, so that a client cannot crowd
 * out other rows by provoking denials. Rows left out are counted and written later as
 * one "audit-suppressed" row per actor. Returns true when the denial is within the
 * actor's 20 a second, and the caller then logs a line for it. The denials beyond
 * are counted in one log line per actor and second. */
bool audit_record_limited(const char *actor, const char *action, const char *object,
                          const char *detail);

/* Opens the audit link (without blocking) and writes queued rows from the tick. */
void audit_start(const char *conninfo);
void audit_tick(void);
void audit_stop(void);

/* Alerts accepted by this broker, by id (see history.c). */
enum history_answer { HISTORY_KNOWN, HISTORY_UNKNOWN, HISTORY_NOT_LOADED };

/* Remembers that the alert with this id and category came from origin and went to
 * recipients; content is history_content_hash of the payload as sent, or 0 when
 * unknown. Returns 0, or -1 when the id is not a UUID or memory runs out. */
int history_add(const char *id, const char *origin, const char *category,
                const struct iactn_state_set *recipients, uint64_t content);

/* Returns a 64-bit hash of a payload, never 0: SipHash-2-4 under a random key drawn
 * at start, so that a client cannot construct two different alerts with the same hash. */
uint64_t history_content_hash(const void *payload, size_t len);

/* Looks an alert up. On HISTORY_KNOWN writes its origin (3 bytes) to origin, and for
 * each of recipients, content and category that is not NULL stores the alert's
 * recipient states (valid until the next history_add), its payload hash, and its
 * category (NULL when unknown). HISTORY_NOT_LOADED means the id is not in memory and
 * the window of older alerts has not been read yet. */
enum history_answer history_lookup(const char *id, char *origin,
                                   const struct iactn_state_set **recipients,
                                   uint64_t *content, const char **category);

/* Draws the content hash key, then reads the alerts of the last window_days days from
 * the archive, without blocking, from history_tick. Returns 0, or -1 when no random
 * key could be drawn. */
int history_start(const char *conninfo, int window_days);
void history_tick(void);
void history_stop(void);

/* Event handlers, registered by plugin.c. */
int auth_on_basic_auth(int event, void *event_data, void *userdata);
int acl_on_check(int event, void *event_data, void *userdata);
int message_on_message(int event, void *event_data, void *userdata);
int clients_on_disconnect(int event, void *event_data, void *userdata);

#endif
