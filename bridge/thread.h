/*
 * Helpers for the bridge's worker threads: sleeps in short steps, so that a stop
 * request is seen within 100 ms, and a join that gives up after a timeout.
 */
#ifndef IACTN_BRIDGE_THREAD_H
#define IACTN_BRIDGE_THREAD_H

#include <pthread.h>
#include <stdatomic.h>

/* Sleeps `ms` milliseconds in steps of 100 ms. Returns nonzero, early, once `*stop` is
 * set, or 0 after the whole time. */
int thread_sleep_unless_stopped(long ms, const atomic_int *stop);

/* Joins `thread` once it sets `*ended`, checking every 100 ms for up to
 * `timeout_seconds`. Returns 0 after joining, or -1 when the thread has not ended in
 * time, in which case it still runs and nothing it uses may be freed. */
int thread_join_within(pthread_t thread, const atomic_int *ended, int timeout_seconds);

#endif
