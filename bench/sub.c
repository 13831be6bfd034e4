/*
 * bench-sub: opens subscriber connections, counts the messages each receives and,
 * with --latency, records how long each alert took from its publisher's call to
 * mosquitto_publish (the time its id carries) until it arrived here.
 *
 * Prints "ready N" once every connection holds its subscription, then a line
 * "count TOTAL" for each SIGUSR1, so that a driver can tell when deliveries stop.
 * After SIGTERM or SIGINT it prints one JSON object with the counts and a latency
 * histogram (10 microsecond buckets) on stdout.
 */
#include "util.h"

#include <getopt.h>
#include <mqtt_protocol.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROGRAM "bench-sub"
#define MAX_CONNECTIONS 256
#define BUCKET_NS 10000u
#define BUCKETS 200000u /* 2 s; slower deliveries land in the last bucket */
#define READY_TIMEOUT_NS (30ull * 1000000000ull)

struct connection {
    struct bench_identity id;
    struct mosquitto *mosq;
    atomic_ulong received;
    atomic_int subscribed;
    atomic_int disconnects;
};

static struct {
    const char *filter;
    int qos;
    bool latency;
    struct connection conns[MAX_CONNECTIONS];
    int n_conns;
    atomic_uint histogram[BUCKETS];
    atomic_ullong first_ns;
    atomic_ullong last_ns;
} sub = {.filter = "iactn/alerts/#", .qos = 1};

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t count_requested;

static void on_signal(int sig)
{
    if (sig == SIGUSR1) {
        count_requested = 1;
    } else {
        stop_requested = 1;
    }
}

static unsigned long long total_received(void)
{
    unsigned long long total = 0;

    for (int i = 0; i < sub.n_conns; i++) {
        total += atomic_load(&sub.conns[i].received);
    }
    return total;
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                       const mosquitto_property *props)
{
    struct connection *c = obj;

    (void)flags;
    (void)props;
    if (rc != 0) {
        fprintf(stderr, PROGRAM ": client_id=%s connection refused reason=%s\n",
                c->id.client_id, mosquitto_reason_string(rc));
        return;
    }
    mosquitto_subscribe_v5(mosq, NULL, sub.filter, sub.qos, 0, NULL);
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
                         const int *granted, const mosquitto_property *props)
{
    struct connection *c = obj;

    (void)mosq;
    (void)mid;
    (void)props;
    if (qos_count < 1 || granted[0] >= 0x80) {
        fprintf(stderr, PROGRAM ": client_id=%s subscription to %s refused\n",
                c->id.client_id, sub.filter);
        return;
    }
    atomic_store(&c->subscribed, 1);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc,
                          const mosquitto_property *props)
{
    struct connection *c = obj;

    (void)mosq;
    (void)props;
    if (!stop_requested) {
        atomic_fetch_add(&c->disconnects, 1);
        fprintf(stderr, PROGRAM ": client_id=%s disconnected rc=%d\n", c->id.client_id,
                rc);
    }
}

static void record_latency(uint64_t now, const struct mosquitto_message *msg)
{
    uint64_t sent = bench_id_time(msg->payload, (size_t)msg->payloadlen);
    uint64_t bucket;

    if (sent == 0 || sent > now) {
        return;
    }
    bucket = (now - sent) / BUCKET_NS;
    atomic_fetch_add(&sub.histogram[bucket < BUCKETS ? bucket : BUCKETS - 1], 1);
}

static void on_message(struct mosquitto *mosq, void *obj,
                       const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
    struct connection *c = obj;
    unsigned long long now = bench_now_ns();
    unsigned long long zero = 0;

    (void)mosq;
    (void)props;
    atomic_fetch_add(&c->received, 1);
    atomic_compare_exchange_strong(&sub.first_ns, &zero, now);
    atomic_store(&sub.last_ns, now);
    if (sub.latency) {
        record_latency(now, msg);
    }
}

static int start_connection(const struct bench_broker *broker, struct connection *c)
{
    int rc;

    c->mosq = bench_client_new(broker, &c->id, c);
    if (c->mosq == NULL) {
        return -1;
    }
    mosquitto_connect_v5_callback_set(c->mosq, on_connect);
    mosquitto_subscribe_v5_callback_set(c->mosq, on_subscribe);
    mosquitto_message_v5_callback_set(c->mosq, on_message);
    mosquitto_disconnect_v5_callback_set(c->mosq, on_disconnect);
    rc = mosquitto_connect_bind_v5(c->mosq, broker->host, broker->port, 60, NULL, NULL);
    if (rc == MOSQ_ERR_SUCCESS) {
        rc = mosquitto_loop_start(c->mosq);
    }
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, PROGRAM ": client_id=%s connect failed: %s\n", c->id.client_id,
                mosquitto_strerror(rc));
        return -1;
    }
    return 0;
}

/* Waits until every connection has its subscription. Returns 0, or -1 on timeout. */
static int wait_until_subscribed(void)
{
    uint64_t deadline = bench_now_ns() + READY_TIMEOUT_NS;

    while (!stop_requested && bench_now_ns() < deadline) {
        int ready = 0;

        for (int i = 0; i < sub.n_conns; i++) {
            ready += atomic_load(&sub.conns[i].subscribed);
        }
        if (ready == sub.n_conns) {
            return 0;
        }
        usleep(10000);
    }
    return -1;
}

static void print_report(void)
{
    unsigned long long total = 0;
    int disconnects = 0;
    bool first = true;

    printf("{\"connections\":{");
    for (int i = 0; i < sub.n_conns; i++) {
        unsigned long n = atomic_load(&sub.conns[i].received);

        total += n;
        disconnects += atomic_load(&sub.conns[i].disconnects);
        printf("%s\"%s\":%lu", i ? "," : "", sub.conns[i].id.client_id, n);
    }
    printf("},\"received\":%llu,\"disconnects\":%d,\"first_ns\":%llu,\"last_ns\":%llu,"
           "\"bucket_us\":%u,\"latency\":[",
           total, disconnects, (unsigned long long)atomic_load(&sub.first_ns),
           (unsigned long long)atomic_load(&sub.last_ns), BUCKET_NS / 1000);
    for (unsigned b = 0; b < BUCKETS; b++) {
        unsigned n = atomic_load(&sub.histogram[b]);

        if (n) {
            printf("%s[%u,%u]", first ? "" : ",", b, n);
            first = false;
        }
    }
    printf("]}\n");
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: " PROGRAM " --port PORT --ca FILE --client CERT,KEY,CLIENT_ID ...\n"
            "  --host HOST     broker address (default 127.0.0.1)\n"
            "  --filter TOPIC  subscription filter (default iactn/alerts/#)\n"
            "  --qos N         subscription QoS (default 1)\n"
            "  --latency       record the publish-to-receive time carried in alert ids\n"
            "  --client ...    one subscriber connection; repeat for more (up to %d)\n",
            MAX_CONNECTIONS);
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"host", required_argument, NULL, 'h'},
        {"port", required_argument, NULL, 'p'},
        {"ca", required_argument, NULL, 'c'},
        {"filter", required_argument, NULL, 'f'},
        {"qos", required_argument, NULL, 'q'},
        {"latency", no_argument, NULL, 'l'},
        {"client", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    struct bench_broker broker = {"127.0.0.1", 0, NULL};
    int opt, status = 0;

    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'h':
            broker.host = optarg;
            break;
        case 'p':
            broker.port = atoi(optarg);
            break;
        case 'c':
            broker.ca = optarg;
            break;
        case 'f':
            sub.filter = optarg;
            break;
        case 'q':
            sub.qos = atoi(optarg);
            break;
        case 'l':
            sub.latency = true;
            break;
        case 'i':
            if (sub.n_conns == MAX_CONNECTIONS ||
                bench_identity_parse(optarg, &sub.conns[sub.n_conns].id) != 0) {
                return bench_fail(PROGRAM, "invalid or one too many --client: %s",
                                  optarg);
            }
            sub.n_conns++;
            break;
        case 'H':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (broker.port <= 0 || broker.ca == NULL || sub.n_conns == 0) {
        usage(stderr);
        return 2;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGUSR1, on_signal);
    mosquitto_lib_init();
    for (int i = 0; i < sub.n_conns; i++) {
        if (start_connection(&broker, &sub.conns[i]) != 0) {
            status = 1;
            goto out;
        }
    }
    if (wait_until_subscribed() != 0) {
        status = bench_fail(PROGRAM, "not every connection subscribed within 30 s");
        goto out;
    }
    printf("ready %d\n", sub.n_conns);
    fflush(stdout);
    /* the signal may reach any thread, so poll the flag rather than pause() */
    while (!stop_requested) {
        if (count_requested) {
            count_requested = 0;
            printf("count %llu\n", total_received());
            fflush(stdout);
        }
        usleep(2000);
    }
    print_report();

out:
    stop_requested = 1;
    for (int i = 0; i < sub.n_conns; i++) {
        if (sub.conns[i].mosq) {
            mosquitto_disconnect_v5(sub.conns[i].mosq, 0, NULL);
            mosquitto_loop_stop(sub.conns[i].mosq, false);
            mosquitto_destroy(sub.conns[i].mosq);
        }
    }
    mosquitto_lib_cleanup();
    return status;
}
