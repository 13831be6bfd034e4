#include "watch.h"

#include "client.h"

#include <jansson.h>
#include <mqtt_protocol.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct watch {
    const struct tool_options *options;
    const char *const *topics;
    int topic_count;
    int subscribe_mid;
    int subscribed;    /* the SUBACK arrived */
    int granted_count; /* filters the broker accepted */
    long received;     /* alerts printed */
};

static const char *const default_topics[] = {"iactn/alerts/#"};

/* Writes `text` with control characters replaced by spaces, so a line stays one line. */
static void print_clean(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        putchar(*p < 0x20 || *p == 0x7f ? ' ' : *p);
    }
}

static const char *member_string(json_t *object, const char *path0, const char *path1)
{
    json_t *value = json_object_get(object, path0);
    const char *text;

    if (path1 != NULL) {
        value = json_object_get(value, path1);
    }
    text = json_string_value(value);
    return text != NULL && text[0] != '\0' ? text : "-";
}

/* Returns the headline in English, or else in the first language present. */
static const char *headline(json_t *alert)
{
    json_t *map = json_object_get(alert, "headline");
    const char *key;
    json_t *value;

    if (json_string_value(json_object_get(map, "en")) != NULL) {
        return json_string_value(json_object_get(map, "en"));
    }
    json_object_foreach(map, key, value)
    {
        if (json_string_value(value) != NULL) {
            return json_string_value(value);
        }
    }
    return "-";
}

/* Origin is the third topic level of iactn/alerts/{ORIGIN}/{category}. */
static void topic_origin(const char *topic, char out[3])
{
    strcpy(out, "-");
    if (strncmp(topic, "iactn/alerts/", 13) == 0 && strlen(topic) > 16 &&
        topic[15] == '/') {
        memcpy(out, topic + 13, 2);
        out[2] = '\0';
    }
}

static void print_summary(const struct mosquitto_message *message, json_t *alert)
{
    char origin[3];

    topic_origin(message->topic, origin);
    print_clean(member_string(alert, "iactn", "received"));
    printf(" %s ", origin);
    print_clean(member_string(alert, "category", NULL));
    printf(" TLP:");
    print_clean(member_string(alert, "tlp", NULL));
    putchar(' ');
    print_clean(member_string(json_object_get(alert, "iactn"), "sender", "principal"));
    putchar(' ');
    print_clean(member_string(alert, "id", NULL));
    putchar(' ');
    print_clean(headline(alert));
    putchar('\n');
}

static void print_json(const struct mosquitto_message *message, json_t *alert)
{
    char *text;

    /* The broker writes the stamped alert compactly; anything else is re-serialised so
     * that each document stays on one line. */
    if (memchr(message->payload, '\n', (size_t)message->payloadlen) == NULL) {
        fwrite(message->payload, 1, (size_t)message->payloadlen, stdout);
        putchar('\n');
        return;
    }
    text = json_dumps(alert, JSON_COMPACT);
    if (text != NULL) {
        printf("%s\n", text);
        free(text);
    }
}

static void on_message(struct mosquitto *mosq, void *obj,
                       const struct mosquitto_message *message,
                       const mosquitto_property *properties)
{
    struct client *client = obj;
    struct watch *watch = client->command;
    json_t *alert;

    (void)mosq;
    (void)properties;
    alert = json_loadb(message->payload, (size_t)message->payloadlen, 0, NULL);
    if (!json_is_object(alert)) {
        fprintf(stderr,
                PROGRAM ": skipped a message on %s that is not a JSON alert (%d "
                        "bytes)\n",
                message->topic, message->payloadlen);
        json_decref(alert);
        return;
    }
    if (watch->options->json) {
        print_json(message, alert);
    } else {
        print_summary(message, alert);
    }
    fflush(stdout);
    json_decref(alert);
    watch->received++;
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
                         const int *granted_qos, const mosquitto_property *properties)
{
    struct client *client = obj;
    struct watch *watch = client->command;

    (void)mosq;
    (void)properties;
    if (mid != watch->subscribe_mid) {
        return;
    }
    for (int i = 0; i < qos_count && i < watch->topic_count; i++) {
        if (granted_qos[i] >= 0x80) {
            fprintf(stderr,
                    PROGRAM ": the broker refused the subscription to %s: %s (reason "
                            "0x%02x). Your role may not read that topic.\n",
                    watch->topics[i], mosquitto_reason_string(granted_qos[i]),
                    granted_qos[i]);
        } else {
            fprintf(stderr, PROGRAM ": watching %s (QoS %d)\n", watch->topics[i],
                    granted_qos[i]);
            watch->granted_count++;
        }
    }
    watch->subscribed = 1;
}

static int subscribed(struct client *client)
{
    return ((struct watch *)client->command)->subscribed;
}

static int finished(struct client *client)
{
    const struct watch *watch = client->command;

    return watch->options->count > 0 && watch->received >= watch->options->count;
}

static long remaining_ms(const struct timespec *start, long timeout_seconds)
{
    struct timespec now;
    long elapsed;

    if (timeout_seconds <= 0) {
        return 0;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    elapsed = (long)(now.tv_sec - start->tv_sec) * 1000 +
              (now.tv_nsec - start->tv_nsec) / 1000000;
    /* client_run() reads 0 as "no limit", so an elapsed timeout becomes 1 ms. */
    return elapsed >= timeout_seconds * 1000 ? 1 : timeout_seconds * 1000 - elapsed;
}

int watch_run(const struct tool_options *options, const char *client_id)
{
    struct watch watch = {.options = options};
    struct timespec start;
    struct client client;
    int rc;

    clock_gettime(CLOCK_MONOTONIC, &start);
    watch.topics = options->topic_count > 0 ? options->topics : default_topics;
    watch.topic_count = options->topic_count > 0 ? options->topic_count : 1;

    rc = client_open(&client, options, client_id, &watch);
    if (rc != 0) {
        goto out;
    }
    mosquitto_subscribe_v5_callback_set(client.mosq, on_subscribe);
    mosquitto_message_v5_callback_set(client.mosq, on_message);
    rc =
        mosquitto_subscribe_multiple(client.mosq, &watch.subscribe_mid, watch.topic_count,
                                     (char *const *)watch.topics, 1, 0, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, PROGRAM ": cannot subscribe: %s\n", mosquitto_strerror(rc));
        rc = rc == MOSQ_ERR_MALFORMED_UTF8 || rc == MOSQ_ERR_INVAL ? EXIT_USAGE
                                                                   : EXIT_CONNECTION;
        goto out;
    }

    rc = client_run(&client, subscribed, remaining_ms(&start, options->timeout));
    if (rc == 0 && watch.subscribed && watch.granted_count == 0) {
        rc = EXIT_REFUSED;
        goto out;
    }
    if (rc == 0 && watch.subscribed) {
        rc = client_run(&client, finished, remaining_ms(&start, options->timeout));
    }
    /* -1: the timeout passed, which is a normal end for watch. */
    if (rc == -1) {
        rc = EXIT_ACCEPTED;
    }

out:
    client_close(&client);
    return rc;
}
