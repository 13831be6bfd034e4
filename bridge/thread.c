#include "thread.h"

#include <time.h>

#define STEP_MS 100

static void sleep_step(void)
{
    struct timespec step = {0, STEP_MS * 1000000L};

    nanosleep(&step, NULL);
}

int thread_sleep_unless_stopped(long ms, const atomic_int *stop)
{
    for (long slept = 0; slept < ms; slept += STEP_MS) {
        if (atomic_load(stop)) {
            return 1;
        }
        sleep_step();
    }
    return atomic_load(stop);
}

int thread_join_within(pthread_t thread, const atomic_int *ended, int timeout_seconds)
{
    for (int i = 0; i < timeout_seconds * (1000 / STEP_MS); i++) {
        if (atomic_load(ended)) {
            pthread_join(thread, NULL);
            return 0;
        }
        sleep_step();
    }
    return -1;
}
