#include "status.h"

#include "client.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Distinct acknowledging principals remembered for the summary. */
#define SENDERS_MAX 256

struct sender_status {
    char principal[128];
    char state[3];
    char status[16];
};

struct status {
    const struct tool_options *options;
    char filter[32];
    int subscribe_mid;
    int subscribed;
    int granted;
    long matched; /* acknowledgements of the alert */
    struct sender_status senders[SENDERS_MAX];
    int sender_count;
};

static const char *text_at(json_t *object, const char *name0, const char *name1)
{
    json_t *value = json_object_get(object, name0);
    const char *text;

    if (name1 != NULL) {
        value = json_object_get(value, name1);
    }
    text = json_string_value(value);
    return text != NULL && text[0] != '\0' ? text : "-";
}

static void print_clean(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        putchar(*p < 0x20 || *p == 0x7f ? ' ' : *p);
    }
}

/* Records the latest status of the acknowledging principal for the summary. */
static void remember(struct status *status, json_t *ack)
{
    json_t *sender = json_object_get(json_object_get(ack, "iactn"), "sender");
    const char *principal = text_at(sender, "principal", NULL);
    struct sender_status *entry = NULL;

    for (int i = 0; i < status->sender_count; i++) {
        if (strcmp(status->senders[i].principal, principal) == 0) {
            entry = &status->senders[i];
        }
    }
    if (entry == NULL && status->sender_count < SENDERS_MAX) {
        entry = &status->senders[status->sender_count++];
        snprintf(entry->principal, sizeof(entry->principal), "%s", principal);
        snprintf(entry->state, sizeof(entry->state), "%s", text_at(sender, "state", NULL));
    }
    if (entry != NULL) {
        snprintf(entry->status, sizeof(entry->status), "%s", text_at(ack, "status", NULL));
    }
}

static void print_ack(const struct mosquitto_message *message, json_t *ack, int json)
{
    const char *note = json_string_value(json_object_get(ack, "note"));

    if (json) {
        fwrite(message->payload, 1, (size_t)message->payloadlen, stdout);
        putchar('\n');
        return;
    }
    print_clean(text_at(ack, "iactn", "received"));
    /* iactn/acks/{ORIGIN}/{RECIPIENT}: the recipient is the last level. */
    printf(" %s ", strlen(message->topic) == 16 ? message->topic + 14 : "-");
    print_clean(text_at(json_object_get(ack, "iactn"), "sender", "principal"));
    putchar(' ');
    print_clean(text_at(ack, "status", NULL));
    if (note != NULL) {
        putchar(' ');
        print_clean(note);
    }
    putchar('\n');
}

static void on_message(struct mosquitto *mosq, void *obj,
                       const struct mosquitto_message *message,
                       const mosquitto_property *properties)
{
    struct client *client = obj;
    struct status *status = client->command;
    const char *alert_id;
    json_t *ack;

    (void)mosq;
    (void)properties;
    ack = json_loadb(message->payload, (size_t)message->payloadlen, 0, NULL);
    alert_id = json_string_value(json_object_get(ack, "alert_id"));
    if (alert_id != NULL && strcasecmp(alert_id, status->options->alert_id) == 0) {
        print_ack(message, ack, status->options->json);
        fflush(stdout);
        remember(status, ack);
        status->matched++;
    }
    json_decref(ack);
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
                         const int *granted_qos, const mosquitto_property *properties)
{
    struct client *client = obj;
    struct status *status = client->command;

    (void)mosq;
    (void)properties;
    if (mid != status->subscribe_mid) {
        return;
    }
    status->subscribed = 1;
    if (qos_count > 0 && granted_qos[0] < 0x80) {
        status->granted = 1;
        fprintf(stderr, PROGRAM ": watching %s for acknowledgements of alert %s\n",
                status->filter, status->options->alert_id);
        return;
    }
    fprintf(stderr,
            PROGRAM ": the broker refused the subscription to %s: %s (reason 0x%02x). "
                    "Only principals of the state that sent an alert may read its "
                    "acknowledgements, and only if their role may.\n",
            status->filter, mosquitto_reason_string(qos_count > 0 ? granted_qos[0] : 0x80),
            qos_count > 0 ? granted_qos[0] : 0x80);
}

/* Milliseconds left of `timeout_seconds` since `start`, at least 1 (0 means no limit). */
static long remaining_ms(const struct timespec *start, long timeout_seconds)
{
    struct timespec now;
    long elapsed;

    clock_gettime(CLOCK_MONOTONIC, &now);
    elapsed = (long)(now.tv_sec - start->tv_sec) * 1000 +
              (now.tv_nsec - start->tv_nsec) / 1000000;
    return elapsed >= timeout_seconds * 1000 ? 1 : timeout_seconds * 1000 - elapsed;
}

static int subscribed(struct client *client)
{
    return ((struct status *)client->command)->subscribed;
}

static int finished(struct client *client)
{
    const struct status *status = client->command;

    return status->options->count > 0 && status->matched >= status->options->count;
}

static void print_summary(const struct status *status)
{
    json_t *summary;
    char *text;

    if (!status->options->json) {
        printf("summary alert=%s acks=%ld principals=", status->options->alert_id,
               status->matched);
        for (int i = 0; i < status->sender_count; i++) {
            printf("%s%s(%s):%s", i > 0 ? "," : "", status->senders[i].principal,
                   status->senders[i].state, status->senders[i].status);
        }
        printf("%s\n", status->sender_count == 0 ? "-" : "");
        return;
    }
    summary = json_pack("{s:s, s:I, s:[]}", "alert_id", status->options->alert_id,
                        "acks", (json_int_t)status->matched, "principals");
    for (int i = 0; summary != NULL && i < status->sender_count; i++) {
        json_array_append_new(json_object_get(summary, "principals"),
                              json_pack("{s:s, s:s, s:s}", "principal",
                                        status->senders[i].principal, "state",
                                        status->senders[i].state, "status",
                                        status->senders[i].status));
    }
    text = summary != NULL ? json_dumps(summary, JSON_COMPACT) : NULL;
    if (text != NULL) {
        printf("%s\n", text);
    }
    free(text);
    json_decref(summary);
}

int status_run(const struct tool_options *options, const struct identity *identity)
{
    struct status *status = calloc(1, sizeof(*status));
    long timeout = options->timeout > 0 ? options->timeout : STATUS_DEFAULT_TIMEOUT;
    struct client client = {0};
    struct timespec start;
    char *filters[1];
    int rc;

    clock_gettime(CLOCK_MONOTONIC, &start);
    if (status == NULL) {
        fprintf(stderr, PROGRAM ": out of memory\n");
        return EXIT_CONNECTION;
    }
    status->options = options;
    if (identity->state[0] == '\0') {
        fprintf(stderr, PROGRAM ": cannot tell your state: the certificate's subject has "
                        "no country (C); give --origin CODE\n");
        rc = EXIT_USAGE;
        goto out;
    }
    snprintf(status->filter, sizeof(status->filter), "iactn/acks/%s/+", identity->state);
    rc = client_open(&client, options, identity->client_id, status);
    if (rc != 0) {
        goto out;
    }
    mosquitto_subscribe_v5_callback_set(client.mosq, on_subscribe);
    mosquitto_message_v5_callback_set(client.mosq, on_message);
    filters[0] = status->filter;
    rc = mosquitto_subscribe_multiple(client.mosq, &status->subscribe_mid, 1, filters, 1,
                                      0, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, PROGRAM ": cannot subscribe: %s\n", mosquitto_strerror(rc));
        rc = EXIT_CONNECTION;
        goto out;
    }

    /* The whole run, subscription included, is bounded by the timeout. */
    rc = client_run(&client, subscribed, remaining_ms(&start, timeout));
    if (rc == 0 && status->subscribed && !status->granted) {
        rc = EXIT_REFUSED;
        goto out;
    }
    if (rc == 0 && status->subscribed) {
        rc = client_run(&client, finished, remaining_ms(&start, timeout));
    }
    if (rc == -1 || rc == 0) {
        print_summary(status);
        rc = EXIT_ACCEPTED;
    }

out:
    client_close(&client);
    free(status);
    return rc;
}
