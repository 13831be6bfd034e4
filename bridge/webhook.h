/*
 * The webhook delivery worker: one thread with its own database connection and a
 * libcurl multi handle. It claims due rows of the deliveries table, POSTs each alert
 * to its endpoint, and records the outcome: delivered on a 2xx response, otherwise a
 * retry after a random delay ("full jitter": uniform between 0 and
 * min(backoff_max, backoff_first * 2^(attempt - 1))), and dead after the last
 * attempt.
 *
 * Claims use FOR UPDATE SKIP LOCKED and a lease (claimed_until, the request timeout
 * plus one minute), so several bridges share the work without sending a delivery
 * twice, and a delivery claimed by a bridge that dies is attempted again once its
 * lease ends. A request that succeeded at the endpoint just before the bridge died
 * is sent again: receivers should drop repeats by X-IACTN-Delivery.
 *
 * Requests run concurrently, at most `concurrency` per endpoint, each bounded by the
 * timeout, so a slow or hanging endpoint delays neither the others nor MQTT intake,
 * which runs on other threads.
 */
#ifndef IACTN_WEBHOOK_H
#define IACTN_WEBHOOK_H

#include <stdatomic.h>

struct webhook_options {
    const char *conninfo;  /* libpq connection string */
    const char *name;      /* application_name of the connection, and log field */
    const char *ca_file;   /* CA bundle for endpoint certificates; NULL: libcurl's */
    const char *proxy;     /* proxy URL; NULL: no proxy */
    long timeout_ms;       /* per request */
    long attempts;         /* attempts before a delivery is dead */
    long backoff_first_ms; /* upper bound of the first retry delay */
    long backoff_max_ms;   /* upper bound of every retry delay */
    long concurrency;      /* requests in flight per endpoint */
};

struct webhook_worker;

/*
 * Creates a worker. The option strings must outlive it. `stop` is the shutdown flag.
 * Returns NULL after logging the reason (out of memory, libcurl failure). Free with
 * webhook_worker_free().
 */
struct webhook_worker *webhook_worker_new(const struct webhook_options *options,
                                          const atomic_int *stop);

/*
 * Starts the worker's thread. Returns 0, or -1 after logging if it cannot start.
 */
int webhook_worker_start(struct webhook_worker *worker);

/*
 * Tells the worker that deliveries were queued, so that it claims them now rather
 * than at its next poll (every second). Safe to call from any thread while the worker
 * exists; does not block.
 */
void webhook_worker_wake(void *worker);

/*
 * Waits up to `timeout_seconds` for the thread to end after `stop` was set. On the way
 * out the thread abandons the requests in flight and hands their deliveries back for
 * an immediate new attempt. Returns 0 once the thread ended. Returns -1 if it is still
 * busy, typically in a database call, and then the caller must not free the worker.
 */
int webhook_worker_stop(struct webhook_worker *worker, int timeout_seconds);

/*
 * Frees a worker whose thread never started or has ended. Accepts NULL.
 */
void webhook_worker_free(struct webhook_worker *worker);

#endif
