#include "publish.h"

#include "alert.h"
#include "client.h"
#include "compose.h"
#include "prompt.h"
#include "topic.h"

#include <ctype.h>
#include <errno.h>
#include <mqtt_protocol.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Seconds to wait for the PUBACK once the message is sent. */
#define PUBACK_TIMEOUT 15

struct publication {
    int mid;
    int acknowledged;
    struct puback *answer;
};

/* Reads at most ALERT_MAX_BYTES + 1 bytes, so that an oversized file is detected. */
static char *read_input(const char *path, size_t *len)
{
    FILE *file = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char *buf;

    if (file == NULL) {
        fprintf(stderr, PROGRAM ": cannot open alert file %s: %s\n", path,
                strerror(errno));
        return NULL;
    }
    buf = malloc(ALERT_MAX_BYTES + 2);
    if (buf != NULL) {
        *len = fread(buf, 1, ALERT_MAX_BYTES + 1, file);
        if (ferror(file)) {
            fprintf(stderr, PROGRAM ": cannot read alert file %s: %s\n", path,
                    strerror(errno));
            free(buf);
            buf = NULL;
        }
    }
    if (file != stdin) {
        fclose(file);
    }
    return buf;
}

/* Reads the alert file; for update and cancel completes it first. */
static json_t *load_file(const struct tool_options *options)
{
    struct iactn_alert_error error;
    const char *path = options->file;
    const char *name = strcmp(path, "-") == 0 ? "standard input" : path;
    json_t *alert;
    size_t len = 0;
    char *payload;

    payload = read_input(path, &len);
    if (payload == NULL) {
        return NULL;
    }
    alert = alert_parse(payload, len, &error);
    free(payload);
    if (alert != NULL && compose_complete(alert, options) != 0) {
        json_decref(alert);
        return NULL;
    }
    if (alert == NULL || alert_validate(alert, &error) != 0) {
        fprintf(stderr, PROGRAM ": invalid alert in %s: %s\n", name, error.message);
        json_decref(alert);
        return NULL;
    }
    return alert;
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid, int reason_code,
                       const mosquitto_property *properties)
{
    struct client *client = obj;
    struct publication *publication = client->command;
    char *reason = NULL;

    (void)mosq;
    if (mid != publication->mid) {
        return;
    }
    publication->acknowledged = 1;
    publication->answer->reason_code = reason_code;
    if (mosquitto_property_read_string(properties, MQTT_PROP_REASON_STRING, &reason,
                                       false) != NULL) {
        snprintf(publication->answer->reason_string,
                 sizeof(publication->answer->reason_string), "%s", reason);
        free(reason);
    }
}

static int acknowledged(struct client *client)
{
    return ((struct publication *)client->command)->acknowledged;
}

void publish_reason_text(int reason_code, char *out, size_t out_size)
{
    snprintf(out, out_size, "%s", mosquitto_reason_string(reason_code));
    if (out[0] != '\0') {
        out[0] = (char)tolower((unsigned char)out[0]);
    }
}

int publish_send(const struct tool_options *options, const struct identity *identity,
                 const char *topic, const void *payload, size_t len, const char *what,
                 struct puback *answer)
{
    struct publication publication = {.answer = answer};
    struct client client;
    int rc;

    memset(answer, 0, sizeof(*answer));
    rc = client_open(&client, options, identity->client_id, &publication);
    if (rc != 0) {
        goto out;
    }
    mosquitto_publish_v5_callback_set(client.mosq, on_publish);
    rc = mosquitto_publish_v5(client.mosq, &publication.mid, topic, (int)len, payload, 1,
                              false, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, PROGRAM ": cannot send %s: %s\n", what, mosquitto_strerror(rc));
        rc = EXIT_CONNECTION;
        goto out;
    }

    rc = client_run(&client, acknowledged, PUBACK_TIMEOUT * 1000L);
    if (rc == 0 && publication.acknowledged) {
        goto out;
    }
    if (rc == 0 || rc == -1) {
        fprintf(stderr,
                PROGRAM ": %s before the broker acknowledged %s; it may or may not "
                        "have been accepted\n",
                rc == -1 ? "timed out" : "interrupted", what);
        rc = EXIT_CONNECTION;
    } else {
        fprintf(stderr, PROGRAM ": %s may or may not have been accepted\n", what);
    }

out:
    client_close(&client);
    return rc;
}

/* Why the broker may have refused, per command, in words the user can act on. */
static const char *refusal_explanation(enum command command)
{
    switch (command) {
    case CMD_UPDATE:
    case CMD_CANCEL:
        return "The broker accepts an update or cancellation only from the state that "
               "sent the referenced alert, and only for an alert it knows; it also "
               "applies every rule of a new alert (your state's topic, a known category "
               "matching the alert's, recipients the sharing rules allow).";
    default:
        return "The broker accepts alerts only on the topic of your own state, in a "
               "known category that matches the alert, with an id no other state has "
               "used, and with recipients that the sharing rules allow.";
    }
}

static void print_json_result(const char *result, const char *id, const char *topic,
                              const struct puback *answer)
{
    char reason[128];
    json_t *object;
    char *text;

    publish_reason_text(answer->reason_code, reason, sizeof(reason));
    object = json_pack("{s:s, s:s, s:s, s:i, s:s}", "result", result, "id", id, "topic",
                       topic, "reason_code", answer->reason_code, "reason", reason);
    text = object != NULL ? json_dumps(object, JSON_COMPACT) : NULL;
    if (text != NULL) {
        printf("%s\n", text);
    }
    free(text);
    json_decref(object);
}

static int report(const struct tool_options *options, const struct puback *answer,
                  const char *id, const char *topic)
{
    int rc = answer->reason_code;
    char reason[128];

    if (rc < 0x80) {
        if (options->json) {
            print_json_result("accepted", id, topic, answer);
        } else {
            printf("accepted id=%s topic=%s\n", id, topic);
        }
        if (rc == MQTT_RC_NO_MATCHING_SUBSCRIBERS) {
            fprintf(stderr, PROGRAM ": the broker accepted the alert; no recipient is "
                                    "subscribed right now.\n");
        }
        return EXIT_ACCEPTED;
    }
    publish_reason_text(rc, reason, sizeof(reason));
    if (options->json) {
        print_json_result("refused", id, topic, answer);
    } else {
        printf("refused id=%s reason=0x%02x (%s)\n", id, rc, reason);
    }
    if (answer->reason_string[0] != '\0') {
        fprintf(stderr, PROGRAM ": reason given by the broker: %s\n", answer->reason_string);
    }
    if (rc == MQTT_RC_NOT_AUTHORIZED) {
        fprintf(stderr,
                PROGRAM ": the broker refused the alert (0x87, not authorized). %s "
                        "The broker's log names the exact rule: look for \"publish "
                        "rejected\" or \"publish denied\" with your principal id.\n",
                refusal_explanation(options->command));
    } else {
        fprintf(stderr, PROGRAM ": the broker refused the alert.\n");
    }
    return EXIT_REFUSED;
}

int publish_alert(const struct tool_options *options, const struct identity *identity,
                  json_t *alert)
{
    const char *id = json_string_value(json_object_get(alert, "id"));
    struct puback answer;
    char topic[TOPIC_MAX];
    char what[64];
    char *payload;
    int rc;

    if (identity->state[0] == '\0') {
        fprintf(stderr,
                PROGRAM ": cannot tell the origin state: the certificate's subject "
                        "has no country (C); give --origin CODE\n");
        return EXIT_USAGE;
    }
    payload = json_dumps(alert, JSON_COMPACT | JSON_REAL_PRECISION(15));
    if (payload == NULL || strlen(payload) > ALERT_MAX_BYTES) {
        fprintf(stderr, PROGRAM ": the alert is larger than %d bytes\n", ALERT_MAX_BYTES);
        free(payload);
        return EXIT_INVALID_ALERT;
    }
    snprintf(topic, sizeof(topic), "iactn/alerts/%s/%s", identity->state,
             json_string_value(json_object_get(alert, "category")));
    snprintf(what, sizeof(what), "alert %s", id);
    rc = publish_send(options, identity, topic, payload, strlen(payload), what, &answer);
    if (rc == 0) {
        rc = report(options, &answer, id, topic);
    }
    free(payload);
    return rc;
}

static void print_alert(json_t *alert)
{
    char *text = json_dumps(alert, JSON_INDENT(2) | JSON_REAL_PRECISION(15));

    printf("%s\n", text != NULL ? text : "");
    free(text);
}

/* Shows the alert composed at the prompt and asks whether to publish it. */
static int confirm(json_t *alert, const struct identity *identity)
{
    char *text = json_dumps(alert, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
    char question[TOPIC_MAX + 64];

    fprintf(stderr, "%s\n", text != NULL ? text : "");
    free(text);
    snprintf(question, sizeof(question), "Publish this alert to iactn/alerts/%s/%s?",
             identity->state[0] != '\0' ? identity->state : "?",
             json_string_value(json_object_get(alert, "category")));
    if (!prompt_confirm(question)) {
        fprintf(stderr, PROGRAM ": not published\n");
        return EXIT_ABORTED;
    }
    return 0;
}

int publish_run(const struct tool_options *options, const struct identity *identity)
{
    json_t *alert;
    int prompted = 0;
    int rc = EXIT_INVALID_ALERT;

    if (options->file != NULL) {
        alert = load_file(options);
    } else {
        alert = compose_alert(options, &prompted, &rc);
    }
    if (alert == NULL) {
        return rc;
    }
    if (options->dry_run) {
        print_alert(alert);
        rc = EXIT_ACCEPTED;
    } else if (prompted && (rc = confirm(alert, identity)) != 0) {
        /* declined: rc is EXIT_ABORTED */
    } else {
        rc = publish_alert(options, identity, alert);
    }
    json_decref(alert);
    return rc;
}
