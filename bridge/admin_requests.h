/*
 * Administration over MQTT: administrators publish JSON requests {"op": ..., ...} at
 * QoS 1 to iactn/admin/{STATE}/request with the MQTT 5 properties Response Topic and
 * Correlation Data. The broker stamps each request with its verified sender; the
 * bridge trusts only that stamp, applies the request in PostgreSQL in one transaction
 * (see common/adminop.h for the operations and who may do what), and replies on
 * iactn/admin/reply/{sender principal} with the same Correlation Data:
 *
 *   {"ok": true, "result": ...}
 *   {"ok": false, "error": "a plain sentence", "code": "forbidden"}
 *
 * A response topic other than that one is ignored, because no other principal may
 * read the reply. A state administrator must send to its own state's topic; a network
 * administrator may use any state code. Every change is audited with the sender as
 * actor, and every rejected request as "admin-request-rejected".
 *
 * The service has its own MQTT connection, with a shared subscription so that several
 * bridges split the requests, and its own PostgreSQL connection. Requests are handled
 * one at a time on the connection's thread. Its session is clean: requests sent while
 * no bridge is connected are lost, and the sender's wait times out.
 */
#ifndef IACTN_ADMIN_REQUESTS_H
#define IACTN_ADMIN_REQUESTS_H

#include "mqtt_link.h"

struct admin_requests;

/*
 * Creates the service for the libpq connection string `conninfo` and an MQTT link
 * made from `link` (its name, callbacks and user data are set here). `link->ca_file`
 * also checks the certificates that cert-register requests carry. Returns NULL after
 * logging. Free with admin_requests_free().
 */
struct admin_requests *admin_requests_new(const char *conninfo,
                                          const struct mqtt_link_options *link);

/* Starts the MQTT link. Returns 0, or -1 after logging. */
int admin_requests_start(struct admin_requests *service);

/*
 * Stops the link, waiting up to `timeout_seconds`. Returns 0, or -1 when it is still
 * busy; the caller must then not free the service.
 */
int admin_requests_stop(struct admin_requests *service, int timeout_seconds);

/* Frees a service that was never started or has stopped. Accepts NULL. */
void admin_requests_free(struct admin_requests *service);

#endif
