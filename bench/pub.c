/*
 * bench-pub: publishes valid IACTN alerts of a fixed size at QoS 1 from one or more
 * connections, either as fast as a window of unacknowledged messages allows or at a
 * fixed total rate, and reports how many the broker acknowledged.
 *
 * Each alert's id carries the time of its mosquitto_publish call (see util.h), so
 * bench-sub can measure latency. With --mix mixed, every alert names a random
 * distribution of 1, 4 or 12 states, or none (every state), in equal shares; the
 * report counts how many alerts each state should receive through the stamp.
 */
#include "util.h"

#include <getopt.h>
#include <mqtt_protocol.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROGRAM "bench-pub"
#define MAX_CONNECTIONS 64
#define MAX_STATES 64
#define PAYLOAD_MAX 65536
#define ACK_TIMEOUT_NS (60ull * 1000000000ull)

struct publisher {
    struct bench_identity id; /* extra: the origin state */
    struct mosquitto *mosq;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t acked_cond;
    unsigned long published;
    unsigned long acked;
    unsigned long rejected;
    unsigned long long last_ack_ns;
    atomic_int connected;
    unsigned long expected[MAX_STATES];
    unsigned int seed;
    int index;
};

static struct {
    struct bench_broker broker;
    struct publisher pubs[MAX_CONNECTIONS];
    int n_pubs;
    char *states[MAX_STATES];
    int n_states;
    bool mixed;
    double duration;
    unsigned long count;
    double rate;
    int window;
    size_t size;
    const char *category;
    char sent[32];
    char expires[32];
    uint64_t start_ns;
} pub = {.window = 100, .size = 1024, .category = "exercise-drill"};

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                       const mosquitto_property *props)
{
    struct publisher *p = obj;

    (void)mosq;
    (void)flags;
    (void)props;
    if (rc != 0) {
        fprintf(stderr, PROGRAM ": client_id=%s connection refused reason=%s\n",
                p->id.client_id, mosquitto_reason_string(rc));
        atomic_store(&p->connected, -1);
        return;
    }
    atomic_store(&p->connected, 1);
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid, int reason,
                       const mosquitto_property *props)
{
    struct publisher *p = obj;

    (void)mosq;
    (void)mid;
    (void)props;
    pthread_mutex_lock(&p->lock);
    p->acked++;
    /* 0x10 (no matching subscribers) still means the broker took the alert */
    if (reason >= 0x80) {
        p->rejected++;
    }
    p->last_ack_ns = bench_now_ns();
    pthread_cond_signal(&p->acked_cond);
    pthread_mutex_unlock(&p->lock);
}

static int state_index(const char *code)
{
    for (int i = 0; i < pub.n_states; i++) {
        if (strcmp(pub.states[i], code) == 0) {
            return i;
        }
    }
    return -1;
}

/* Picks this alert's distribution, writes it as a JSON member (or nothing) into out
 * and counts its recipients in p->expected. */
static void choose_distribution(struct publisher *p, char *out, size_t out_size)
{
    static const int sizes[] = {0, 1, 4, 12};
    int pool[MAX_STATES], k = 0, origin = state_index(p->id.extra);
    size_t used = 0;
    bool origin_named = false;

    out[0] = '\0';
    if (pub.mixed) {
        k = sizes[rand_r(&p->seed) % 4];
    }
    if (k == 0) {
        for (int i = 0; i < pub.n_states; i++) {
            p->expected[i]++;
        }
        return;
    }
    for (int i = 0; i < pub.n_states; i++) {
        pool[i] = i;
    }
    used += (size_t)snprintf(out, out_size, "\"distribution\":{\"states\":[");
    for (int i = 0; i < k; i++) {
        int j = i + rand_r(&p->seed) % (pub.n_states - i);
        int pick = pool[j];

        pool[j] = pool[i];
        pool[i] = pick;
        origin_named |= pick == origin;
        p->expected[pick]++;
        used += (size_t)snprintf(out + used, out_size - used, "%s\"%s\"", i ? "," : "",
                                 pub.states[pick]);
    }
    snprintf(out + used, out_size - used, "]},");
    /* the origin always receives its own alerts */
    if (!origin_named && origin >= 0) {
        p->expected[origin]++;
    }
}

/* Writes one alert of pub.size bytes (or more, when the fixed fields alone are
 * larger) into buf. Returns its length; the id starts at offset 7. */
static size_t build_alert(struct publisher *p, char *buf)
{
    static const char head[] =
        "{\"id\":\"00000000-0000-0000-0000-000000000000\",\"sent\":\"%s\","
        "\"status\":\"exercise\",\"msg_type\":\"alert\",\"tlp\":\"GREEN\","
        "\"category\":\"%s\",\"urgency\":\"immediate\",\"severity\":\"severe\","
        "\"certainty\":\"likely\",\"headline\":{\"en\":\"Benchmark alert\"},%s"
        "\"expires\":\"%s\",\"description\":{\"en\":\"";
    char distribution[1024];
    size_t len, pad;

    choose_distribution(p, distribution, sizeof(distribution));
    len = (size_t)snprintf(buf, PAYLOAD_MAX, head, pub.sent, pub.category, distribution,
                           pub.expires);
    /* 4 bytes close the description, its map and the alert */
    pad = pub.size > len + 4 ? pub.size - len - 4 : 1;
    memset(buf + len, 'x', pad);
    len += pad;
    memcpy(buf + len, "\"}}", 4);
    return len + 3;
}

static void wait_for_window(struct publisher *p)
{
    pthread_mutex_lock(&p->lock);
    while (p->published - p->acked >= (unsigned long)pub.window) {
        pthread_cond_wait(&p->acked_cond, &p->lock);
    }
    pthread_mutex_unlock(&p->lock);
}

static bool time_is_up(const struct publisher *p, uint64_t now)
{
    unsigned long share = pub.count / (unsigned long)pub.n_pubs;

    if (pub.count) {
        return p->published >= share + ((unsigned long)p->index < pub.count % pub.n_pubs);
    }
    return now - pub.start_ns >= (uint64_t)(pub.duration * 1e9);
}

static void sleep_until(uint64_t when_ns)
{
    struct timespec ts = {(time_t)(when_ns / 1000000000u), (long)(when_ns % 1000000000u)};

    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {
    }
}

static void *publish_main(void *arg)
{
    struct publisher *p = arg;
    static char payloads[MAX_CONNECTIONS][PAYLOAD_MAX];
    char *buf = payloads[p->index];
    char topic[128];
    uint64_t interval = pub.rate > 0 ? (uint64_t)(1e9 * pub.n_pubs / pub.rate) : 0;
    /* spread the connections' schedules over one interval */
    uint64_t next = pub.start_ns + interval * (uint64_t)p->index / (uint64_t)pub.n_pubs;

    snprintf(topic, sizeof(topic), "iactn/alerts/%s/%s", p->id.extra, pub.category);
    for (;;) {
        uint64_t now = bench_now_ns();
        size_t len;
        char id[37];
        int rc;

        if (time_is_up(p, now)) {
            break;
        }
        if (interval) {
            sleep_until(next);
            next += interval;
        }
        wait_for_window(p);
        len = build_alert(p, buf);
        bench_id_write(id, bench_now_ns(),
                       (uint64_t)p->index << 40 |
                           (uint64_t)(p->published & 0xffffffffffULL));
        memcpy(buf + 7, id, 36);
        pthread_mutex_lock(&p->lock);
        p->published++;
        pthread_mutex_unlock(&p->lock);
        rc = mosquitto_publish_v5(p->mosq, NULL, topic, (int)len, buf, 1, false, NULL);
        if (rc != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, PROGRAM ": client_id=%s publish failed: %s\n",
                    p->id.client_id, mosquitto_strerror(rc));
            pthread_mutex_lock(&p->lock);
            p->published--;
            pthread_mutex_unlock(&p->lock);
            break;
        }
    }
    return NULL;
}

static int connect_publisher(struct publisher *p, int index)
{
    uint64_t deadline = bench_now_ns() + 30ull * 1000000000ull;
    int rc;

    p->index = index;
    p->seed = 12345u + (unsigned)index * 7919u;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->acked_cond, NULL);
    p->mosq = bench_client_new(&pub.broker, &p->id, p);
    if (p->mosq == NULL) {
        return -1;
    }
    mosquitto_connect_v5_callback_set(p->mosq, on_connect);
    mosquitto_publish_v5_callback_set(p->mosq, on_publish);
    rc = mosquitto_connect_bind_v5(p->mosq, pub.broker.host, pub.broker.port, 60, NULL,
                                   NULL);
    if (rc == MOSQ_ERR_SUCCESS) {
        rc = mosquitto_loop_start(p->mosq);
    }
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, PROGRAM ": client_id=%s connect failed: %s\n", p->id.client_id,
                mosquitto_strerror(rc));
        return -1;
    }
    while (atomic_load(&p->connected) == 0 && bench_now_ns() < deadline) {
        sleep_until(bench_now_ns() + 5000000u);
    }
    return atomic_load(&p->connected) == 1 ? 0 : -1;
}

/* Waits until every published alert is acknowledged. Returns 0, or -1 on timeout. */
static int wait_for_acks(void)
{
    uint64_t deadline = bench_now_ns() + ACK_TIMEOUT_NS;

    for (int i = 0; i < pub.n_pubs; i++) {
        struct publisher *p = &pub.pubs[i];
        int done;

        do {
            pthread_mutex_lock(&p->lock);
            done = p->acked >= p->published;
            pthread_mutex_unlock(&p->lock);
            if (!done) {
                sleep_until(bench_now_ns() + 1000000u);
            }
        } while (!done && bench_now_ns() < deadline);
        if (!done) {
            return -1;
        }
    }
    return 0;
}

static void print_report(uint64_t end_ns)
{
    unsigned long published = 0, acked = 0, rejected = 0;
    unsigned long long last_ack = 0;

    for (int i = 0; i < pub.n_pubs; i++) {
        published += pub.pubs[i].published;
        acked += pub.pubs[i].acked;
        rejected += pub.pubs[i].rejected;
        if (pub.pubs[i].last_ack_ns > last_ack) {
            last_ack = pub.pubs[i].last_ack_ns;
        }
    }
    printf("{\"published\":%lu,\"acked\":%lu,\"rejected\":%lu,\"start_ns\":%llu,"
           "\"end_ns\":%llu,\"last_ack_ns\":%llu,\"expected\":{",
           published, acked, rejected, (unsigned long long)pub.start_ns,
           (unsigned long long)end_ns, last_ack);
    for (int s = 0; s < pub.n_states; s++) {
        unsigned long n = 0;

        for (int i = 0; i < pub.n_pubs; i++) {
            n += pub.pubs[i].expected[s];
        }
        printf("%s\"%s\":%lu", s ? "," : "", pub.states[s], n);
    }
    printf("}}\n");
}

static void format_utc(char *out, size_t size, time_t when)
{
    struct tm tm;

    gmtime_r(&when, &tm);
    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int parse_states(char *list)
{
    char *save = NULL;

    for (char *s = strtok_r(list, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
        if (pub.n_states == MAX_STATES) {
            return -1;
        }
        pub.states[pub.n_states++] = s;
    }
    return pub.n_states > 0 ? 0 : -1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: " PROGRAM " --port PORT --ca FILE --states CODES\n"
            "                 --client CERT,KEY,CLIENT_ID,ORIGIN ... (--duration S | "
            "--count N)\n"
            "  --host HOST       broker address (default 127.0.0.1)\n"
            "  --states CODES    comma-separated state codes that distributions pick "
            "from\n"
            "  --mix MIX         broadcast (no distribution) or mixed (default "
            "broadcast)\n"
            "  --duration S      publish for S seconds\n"
            "  --count N         publish N alerts in all\n"
            "  --rate R          alerts per second over all connections (default: as "
            "fast as the window allows)\n"
            "  --window W        unacknowledged alerts allowed per connection (default "
            "100)\n"
            "  --size BYTES      alert size before the broker's stamp (default 1024)\n"
            "  --category SLUG   alert category (default exercise-drill)\n");
}

static int parse_args(int argc, char **argv)
{
    static const struct option options[] = {
        {"host", required_argument, NULL, 'h'},
        {"port", required_argument, NULL, 'p'},
        {"ca", required_argument, NULL, 'c'},
        {"client", required_argument, NULL, 'i'},
        {"states", required_argument, NULL, 's'},
        {"mix", required_argument, NULL, 'm'},
        {"duration", required_argument, NULL, 'd'},
        {"count", required_argument, NULL, 'n'},
        {"rate", required_argument, NULL, 'r'},
        {"window", required_argument, NULL, 'w'},
        {"size", required_argument, NULL, 'z'},
        {"category", required_argument, NULL, 'g'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    int opt;

    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'h':
            pub.broker.host = optarg;
            break;
        case 'p':
            pub.broker.port = atoi(optarg);
            break;
        case 'c':
            pub.broker.ca = optarg;
            break;
        case 'i':
            if (pub.n_pubs == MAX_CONNECTIONS ||
                bench_identity_parse(optarg, &pub.pubs[pub.n_pubs].id) != 0 ||
                pub.pubs[pub.n_pubs].id.extra == NULL) {
                return bench_fail(PROGRAM, "invalid or one too many --client: %s",
                                  optarg);
            }
            pub.n_pubs++;
            break;
        case 's':
            if (parse_states(optarg) != 0) {
                return bench_fail(PROGRAM, "invalid --states: give up to %d codes",
                                  MAX_STATES);
            }
            break;
        case 'm':
            pub.mixed = strcmp(optarg, "mixed") == 0;
            break;
        case 'd':
            pub.duration = atof(optarg);
            break;
        case 'n':
            pub.count = strtoul(optarg, NULL, 10);
            break;
        case 'r':
            pub.rate = atof(optarg);
            break;
        case 'w':
            pub.window = atoi(optarg);
            break;
        case 'z':
            pub.size = strtoul(optarg, NULL, 10);
            break;
        case 'g':
            pub.category = optarg;
            break;
        case 'H':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return 2;
        }
    }
    if (pub.broker.port <= 0 || pub.broker.ca == NULL || pub.n_pubs == 0 ||
        pub.n_states == 0 || (pub.duration <= 0 && pub.count == 0) || pub.window < 1 ||
        pub.size >= PAYLOAD_MAX / 2) {
        usage(stderr);
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int status;
    uint64_t end_ns;

    pub.broker.host = "127.0.0.1";
    status = parse_args(argc, argv);
    if (status != 0) {
        return status;
    }
    format_utc(pub.sent, sizeof(pub.sent), time(NULL));
    format_utc(pub.expires, sizeof(pub.expires), time(NULL) + 86400);
    mosquitto_lib_init();
    for (int i = 0; i < pub.n_pubs; i++) {
        if (connect_publisher(&pub.pubs[i], i) != 0) {
            status = bench_fail(PROGRAM, "client_id=%s could not connect",
                                pub.pubs[i].id.client_id);
            goto out;
        }
    }
    pub.start_ns = bench_now_ns();
    for (int i = 0; i < pub.n_pubs; i++) {
        pthread_create(&pub.pubs[i].thread, NULL, publish_main, &pub.pubs[i]);
    }
    for (int i = 0; i < pub.n_pubs; i++) {
        pthread_join(pub.pubs[i].thread, NULL);
    }
    end_ns = bench_now_ns();
    if (wait_for_acks() != 0) {
        status = bench_fail(PROGRAM, "not every alert was acknowledged within 60 s");
    }
    print_report(end_ns);

out:
    for (int i = 0; i < pub.n_pubs; i++) {
        if (pub.pubs[i].mosq) {
            mosquitto_disconnect_v5(pub.pubs[i].mosq, 0, NULL);
            mosquitto_loop_stop(pub.pubs[i].mosq, false);
            mosquitto_destroy(pub.pubs[i].mosq);
        }
    }
    mosquitto_lib_cleanup();
    return status;
}
