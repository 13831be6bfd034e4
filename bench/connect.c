/*
 * bench-connect: a connection storm. Worker threads open --count mTLS connections
 * (each a full TLS handshake and an MQTT 5 CONNECT), keep them all open until the
 * last one is accepted, then close them. Prints one JSON object with the time the
 * storm took and the per-connection latency from TCP connect to CONNACK.
 *
 * Each connection is driven with poll() and libmosquitto's loop_read, loop_write and
 * loop_misc rather than mosquitto_loop(), which waits with select(). Every client uses
 * three descriptors (its socket and an internal socket pair), so after about 340
 * clients the descriptors pass FD_SETSIZE (1024) and select() fails at once.
 */
#include "util.h"

#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROGRAM "bench-connect"
#define MAX_IDENTITIES 64
#define MAX_WORKERS 64
#define CONNACK_TIMEOUT_NS (10ull * 1000000000ull)

struct attempt {
    struct mosquitto *mosq;
    int connack; /* -1 until CONNACK arrives, then its reason code */
    uint64_t latency_ns;
};

static struct {
    struct bench_broker broker;
    struct bench_identity ids[MAX_IDENTITIES];
    int n_ids;
    int count;
    int workers;
    struct attempt *attempts;
    atomic_int refused;
} storm = {.count = 1000, .workers = 4};

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                       const mosquitto_property *props)
{
    struct attempt *a = obj;

    (void)mosq;
    (void)flags;
    (void)props;
    a->connack = rc;
}

/* Connects attempt i and waits for its CONNACK. Returns 0 when accepted. */
static int connect_one(int i)
{
    struct attempt *a = &storm.attempts[i];
    struct bench_identity id = storm.ids[i % storm.n_ids];
    char client_id[160];
    uint64_t start, deadline;
    int rc;

    snprintf(client_id, sizeof(client_id), "%s-storm-%d",
             storm.ids[i % storm.n_ids].client_id, i);
    id.client_id = client_id;
    a->connack = -1;
    a->mosq = bench_client_new(&storm.broker, &id, a);
    if (a->mosq == NULL) {
        return -1;
    }
    mosquitto_connect_v5_callback_set(a->mosq, on_connect);
    start = bench_now_ns();
    deadline = start + CONNACK_TIMEOUT_NS;
    rc = mosquitto_connect_bind_v5(a->mosq, storm.broker.host, storm.broker.port, 120,
                                   NULL, NULL);
    while (rc == MOSQ_ERR_SUCCESS && a->connack < 0 && bench_now_ns() < deadline) {
        struct pollfd pfd = {.fd = mosquitto_socket(a->mosq), .events = POLLIN};

        if (mosquitto_want_write(a->mosq)) {
            pfd.events |= POLLOUT;
        }
        if (poll(&pfd, 1, 10) < 0) {
            break;
        }
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
            rc = mosquitto_loop_read(a->mosq, 1);
        }
        if (rc == MOSQ_ERR_SUCCESS && (pfd.revents & POLLOUT)) {
            rc = mosquitto_loop_write(a->mosq, 1);
        }
        if (rc == MOSQ_ERR_SUCCESS) {
            rc = mosquitto_loop_misc(a->mosq);
        }
    }
    a->latency_ns = bench_now_ns() - start;
    return a->connack == 0 ? 0 : -1;
}

static void *worker_main(void *arg)
{
    int worker = (int)(intptr_t)arg;

    for (int i = worker; i < storm.count; i += storm.workers) {
        if (connect_one(i) != 0) {
            atomic_fetch_add(&storm.refused, 1);
        }
    }
    return NULL;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static double percentile_ms(const uint64_t *sorted, int n, double q)
{
    int index = (int)(q * (n - 1) + 0.5);

    return n ? (double)sorted[index] / 1e6 : 0;
}

static void print_report(double elapsed_s)
{
    uint64_t *latency = calloc((size_t)storm.count, sizeof(*latency));
    int n = storm.count;

    for (int i = 0; i < n && latency; i++) {
        latency[i] = storm.attempts[i].latency_ns;
    }
    if (latency) {
        qsort(latency, (size_t)n, sizeof(*latency), compare_u64);
    }
    /* connects_per_s counts accepted connections only */
    printf("{\"count\":%d,\"refused\":%d,\"workers\":%d,\"elapsed_s\":%.6f,"
           "\"connects_per_s\":%.1f,\"latency_ms\":{\"p50\":%.3f,\"p99\":%.3f,"
           "\"max\":%.3f}}\n",
           n, atomic_load(&storm.refused), storm.workers, elapsed_s,
           (n - atomic_load(&storm.refused)) / elapsed_s,
           latency ? percentile_ms(latency, n, 0.5) : 0,
           latency ? percentile_ms(latency, n, 0.99) : 0,
           latency ? percentile_ms(latency, n, 1.0) : 0);
    free(latency);
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: " PROGRAM " --port PORT --ca FILE --client CERT,KEY,PRINCIPAL ...\n"
            "  --host HOST     broker address (default 127.0.0.1)\n"
            "  --client ...    an identity to connect with; connections take them in "
            "turn, with client ids PRINCIPAL-storm-N\n"
            "  --count N       connections to open (default 1000)\n"
            "  --workers W     threads opening connections at once (default 4)\n");
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"host", required_argument, NULL, 'h'},
        {"port", required_argument, NULL, 'p'},
        {"ca", required_argument, NULL, 'c'},
        {"client", required_argument, NULL, 'i'},
        {"count", required_argument, NULL, 'n'},
        {"workers", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    pthread_t threads[MAX_WORKERS];
    struct bench_broker *broker = &storm.broker;
    uint64_t start;
    int opt;

    broker->host = "127.0.0.1";
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'h':
            broker->host = optarg;
            break;
        case 'p':
            broker->port = atoi(optarg);
            break;
        case 'c':
            broker->ca = optarg;
            break;
        case 'i':
            if (storm.n_ids == MAX_IDENTITIES ||
                bench_identity_parse(optarg, &storm.ids[storm.n_ids]) != 0) {
                return bench_fail(PROGRAM, "invalid or one too many --client: %s",
                                  optarg);
            }
            storm.n_ids++;
            break;
        case 'n':
            storm.count = atoi(optarg);
            break;
        case 'w':
            storm.workers = atoi(optarg);
            break;
        case 'H':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (broker->port <= 0 || broker->ca == NULL || storm.n_ids == 0 || storm.count < 1 ||
        storm.workers < 1 || storm.workers > MAX_WORKERS) {
        usage(stderr);
        return 2;
    }
    storm.attempts = calloc((size_t)storm.count, sizeof(*storm.attempts));
    if (storm.attempts == NULL) {
        return bench_fail(PROGRAM, "out of memory");
    }
    mosquitto_lib_init();
    start = bench_now_ns();
    for (int w = 0; w < storm.workers; w++) {
        pthread_create(&threads[w], NULL, worker_main, (void *)(intptr_t)w);
    }
    for (int w = 0; w < storm.workers; w++) {
        pthread_join(threads[w], NULL);
    }
    print_report((double)(bench_now_ns() - start) / 1e9);
    for (int i = 0; i < storm.count; i++) {
        if (storm.attempts[i].mosq) {
            mosquitto_disconnect_v5(storm.attempts[i].mosq, 0, NULL);
            mosquitto_loop(storm.attempts[i].mosq, 10, 1);
            mosquitto_destroy(storm.attempts[i].mosq);
        }
    }
    free(storm.attempts);
    mosquitto_lib_cleanup();
    return 0;
}
