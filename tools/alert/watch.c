#include "watch.h"

#include "ack.h"
#include "client.h"
#include "lang.h"

#include <jansson.h>
#include <mqtt_protocol.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Acknowledgements awaiting their PUBACK, and ids already acknowledged. */
#define PENDING_MAX 64
#define ACKED_MAX 256
/* Seconds to wait for outstanding PUBACKs of acknowledgements before leaving. */
#define ACK_DRAIN_TIMEOUT 10

struct pending_ack {
    int mid;
    char alert_id[40];
};

struct watch {
    const struct tool_options *options;
    const struct identity *identity;
    const char *const *topics;
    int topic_count;
    int subscribe_mid;
    int subscribed;    /* the SUBACK arrived */
    int granted_count; /* filters the broker accepted */
    long received;     /* messages printed */
    int outstanding;   /* acknowledgements sent and not yet answered */
    struct pending_ack pending[PENDING_MAX];
    char acked[ACKED_MAX][40]; /* ring of alert ids already acknowledged */
    int acked_next;
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

/* Writes " update-of=ID" or " cancel-of=ID" for updates and cancellations. */
static void print_lifecycle(json_t *alert)
{
    const char *msg_type = json_string_value(json_object_get(alert, "msg_type"));
    const char *reference = json_string_value(json_array_get(json_object_get(alert,
                                                                  "references"), 0));

    if (msg_type == NULL || strcmp(msg_type, "alert") == 0) {
        return;
    }
    printf(" ");
    print_clean(msg_type);
    printf("-of=");
    print_clean(reference != NULL ? reference : "-");
}

/* Writes the headline in the preferred language, else in another one, marked. */
static void print_headline(json_t *alert, const char *preferred)
{
    const char *used = preferred;
    const char *text = lang_pick(json_object_get(alert, "headline"), preferred, &used);

    putchar(' ');
    if (text == NULL) {
        putchar('-');
        return;
    }
    if (strcmp(used, preferred) != 0) {
        printf("[%s] ", used);
    }
    print_clean(text);
}

static void print_summary(const struct mosquitto_message *message, json_t *alert,
                          const char *preferred)
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
    print_lifecycle(alert);
    print_headline(alert, preferred);
    putchar('\n');
}

/* Prints an acknowledgement: time, origin>recipient, sender, status, alert, note. */
static void print_ack_summary(const struct mosquitto_message *message, json_t *ack)
{
    const char *topic = message->topic;
    const char *note = json_string_value(json_object_get(ack, "note"));

    print_clean(member_string(ack, "iactn", "received"));
    printf(" ack ");
    /* iactn/acks/{ORIGIN}/{RECIPIENT} */
    if (strlen(topic) == 16) {
        printf("%.2s>%.2s ", topic + 11, topic + 14);
    } else {
        printf("-> ");
    }
    print_clean(member_string(json_object_get(ack, "iactn"), "sender", "principal"));
    putchar(' ');
    print_clean(member_string(ack, "status", NULL));
    putchar(' ');
    print_clean(member_string(ack, "alert_id", NULL));
    if (note != NULL) {
        putchar(' ');
        print_clean(note);
    }
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

static int already_acked(struct watch *watch, const char *id)
{
    for (int i = 0; i < ACKED_MAX; i++) {
        if (strcmp(watch->acked[i], id) == 0) {
            return 1;
        }
    }
    snprintf(watch->acked[watch->acked_next], sizeof(watch->acked[0]), "%s", id);
    watch->acked_next = (watch->acked_next + 1) % ACKED_MAX;
    return 0;
}

static void remember_pending(struct watch *watch, int mid, const char *id)
{
    for (int i = 0; i < PENDING_MAX; i++) {
        if (watch->pending[i].mid == 0) {
            watch->pending[i].mid = mid;
            snprintf(watch->pending[i].alert_id, sizeof(watch->pending[i].alert_id),
                     "%s", id);
            return;
        }
    }
}

/* Publishes the automatic acknowledgement of an alert just received. Alerts of the
 * user's own principal, and alerts already acknowledged, are skipped. */
static void acknowledge(struct client *client, const char *topic, json_t *alert)
{
    struct watch *watch = client->command;
    const char *id = json_string_value(json_object_get(alert, "id"));
    const char *sender = member_string(json_object_get(alert, "iactn"), "sender",
                                       "principal");
    char origin[3];
    char ack_topic_name[64];
    char *payload;
    int mid = 0;
    int rc;

    topic_origin(topic, origin);
    if (id == NULL || strcmp(origin, "-") == 0 ||
        strcmp(sender, watch->identity->principal) == 0 || already_acked(watch, id)) {
        return;
    }
    payload = ack_payload(id, watch->options->auto_ack, NULL);
    if (payload == NULL) {
        return;
    }
    ack_topic(origin, watch->identity->state, ack_topic_name, sizeof(ack_topic_name));
    rc = mosquitto_publish_v5(client->mosq, &mid, ack_topic_name, (int)strlen(payload),
                              payload, 1, false, NULL);
    free(payload);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, PROGRAM ": cannot send the acknowledgement of alert %s: %s\n", id,
                mosquitto_strerror(rc));
        return;
    }
    remember_pending(watch, mid, id);
    watch->outstanding++;
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid, int reason_code,
                       const mosquitto_property *properties)
{
    struct client *client = obj;
    struct watch *watch = client->command;
    const char *id = "-";

    (void)mosq;
    (void)properties;
    for (int i = 0; i < PENDING_MAX; i++) {
        if (watch->pending[i].mid == mid) {
            id = watch->pending[i].alert_id;
            watch->pending[i].mid = 0;
            break;
        }
    }
    watch->outstanding--;
    if (reason_code < 0x80) {
        fprintf(stderr, PROGRAM ": acknowledged alert=%s status=%s\n", id,
                watch->options->auto_ack);
        return;
    }
    fprintf(stderr,
            PROGRAM ": the broker refused the acknowledgement of alert %s: %s (reason "
                    "0x%02x). Your role may not acknowledge, or the broker does not know "
                    "the alert; its log names the reason.\n",
            id, mosquitto_reason_string(reason_code), reason_code);
}

static int is_ack_topic(const char *topic)
{
    return strncmp(topic, "iactn/acks/", 11) == 0;
}

static void on_message(struct mosquitto *mosq, void *obj,
                       const struct mosquitto_message *message,
                       const mosquitto_property *properties)
{
    struct client *client = obj;
    struct watch *watch = client->command;
    json_t *document;

    (void)mosq;
    (void)properties;
    document = json_loadb(message->payload, (size_t)message->payloadlen, 0, NULL);
    if (!json_is_object(document)) {
        fprintf(stderr,
                PROGRAM ": skipped a message on %s that is not a JSON object (%d "
                        "bytes)\n",
                message->topic, message->payloadlen);
        json_decref(document);
        return;
    }
    if (watch->options->json) {
        print_json(message, document);
    } else if (is_ack_topic(message->topic)) {
        print_ack_summary(message, document);
    } else {
        print_summary(message, document, watch->options->lang);
    }
    fflush(stdout);
    if (watch->options->auto_ack != NULL && !is_ack_topic(message->topic)) {
        acknowledge(client, message->topic, document);
    }
    json_decref(document);
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

static int drained(struct client *client)
{
    return ((struct watch *)client->command)->outstanding <= 0;
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

int watch_run(const struct tool_options *options, const struct identity *identity)
{
    struct watch watch = {.options = options, .identity = identity};
    struct timespec start;
    struct client client;
    int rc;

    clock_gettime(CLOCK_MONOTONIC, &start);
    watch.topics = options->topic_count > 0 ? options->topics : default_topics;
    watch.topic_count = options->topic_count > 0 ? options->topic_count : 1;

    rc = client_open(&client, options, identity->client_id, &watch);
    if (rc != 0) {
        goto out;
    }
    mosquitto_subscribe_v5_callback_set(client.mosq, on_subscribe);
    mosquitto_message_v5_callback_set(client.mosq, on_message);
    mosquitto_publish_v5_callback_set(client.mosq, on_publish);
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
    if (rc == 0 && watch.outstanding > 0 && !client.disconnected &&
        client_run(&client, drained, ACK_DRAIN_TIMEOUT * 1000L) == -1) {
        fprintf(stderr, PROGRAM ": %d acknowledgement(s) not answered by the broker within "
                        "%d s\n", watch.outstanding, ACK_DRAIN_TIMEOUT);
    }

out:
    client_close(&client);
    return rc;
}
