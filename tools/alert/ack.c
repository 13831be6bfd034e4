#include "ack.h"

#include "alert.h"
#include "compose.h"
#include "publish.h"

#include <jansson.h>
#include <mqtt_protocol.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int ack_status_is_valid(const char *status)
{
    return status != NULL && (strcmp(status, "received") == 0 ||
                              strcmp(status, "read") == 0 ||
                              strcmp(status, "actioned") == 0);
}

char *ack_payload(const char *alert_id, const char *status, const char *note)
{
    struct iactn_alert_error error;
    char sent[32];
    json_t *ack;
    char *text = NULL;

    compose_format_time(time(NULL), sent);
    ack = json_pack("{s:s, s:s, s:s}", "alert_id", alert_id, "status", status, "sent",
                    sent);
    if (ack == NULL) {
        fprintf(stderr, PROGRAM ": out of memory\n");
        return NULL;
    }
    if (note != NULL) {
        json_object_set_new(ack, "note", json_string(note));
    }
    if (alert_validate_ack(ack, &error) != 0) {
        fprintf(stderr, PROGRAM ": invalid acknowledgement: %s\n", error.message);
    } else {
        text = json_dumps(ack, JSON_COMPACT);
    }
    json_decref(ack);
    return text;
}

void ack_topic(const char *origin, const char *recipient, char *out, size_t out_size)
{
    snprintf(out, out_size, "iactn/acks/%s/%s", origin, recipient);
}

static void print_json_result(const char *result, const struct tool_options *options,
                              const char *topic, int reason_code)
{
    char reason[128];
    json_t *object;
    char *text;

    publish_reason_text(reason_code, reason, sizeof(reason));
    object = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s}", "result", result, "alert_id",
                       options->alert_id, "status", options->status, "topic", topic,
                       "reason_code", reason_code, "reason", reason);
    text = object != NULL ? json_dumps(object, JSON_COMPACT) : NULL;
    if (text != NULL) {
        printf("%s\n", text);
    }
    free(text);
    json_decref(object);
}

static int report(const struct tool_options *options, const struct identity *identity,
                  const char *topic, const struct puback *answer)
{
    char reason[128];

    if (answer->reason_code < 0x80) {
        if (options->json) {
            print_json_result("accepted", options, topic, answer->reason_code);
        } else {
            printf("accepted alert=%s status=%s topic=%s\n", options->alert_id,
                   options->status, topic);
        }
        return EXIT_ACCEPTED;
    }
    publish_reason_text(answer->reason_code, reason, sizeof(reason));
    if (options->json) {
        print_json_result("refused", options, topic, answer->reason_code);
    } else {
        printf("refused alert=%s reason=0x%02x (%s)\n", options->alert_id,
               answer->reason_code, reason);
    }
    if (answer->reason_code == MQTT_RC_NOT_AUTHORIZED) {
        fprintf(stderr,
                PROGRAM ": the broker refused the acknowledgement (0x87, not "
                        "authorized). It accepts one only from a principal of the "
                        "recipient state in the topic (yours: %s) whose role may "
                        "acknowledge, for an alert it knows was sent by the state you "
                        "named with --origin (%s). Check the alert id and --origin; the "
                        "broker's log names the exact reason (look for \"publish "
                        "rejected\" or \"publish denied\" with your principal id).\n",
                identity->state, options->alert_origin);
    } else {
        fprintf(stderr, PROGRAM ": the broker refused the acknowledgement.\n");
    }
    return EXIT_REFUSED;
}

int ack_run(const struct tool_options *options, const struct identity *identity)
{
    struct puback answer;
    char topic[64];
    char what[64];
    char *payload;
    int rc;

    payload = ack_payload(options->alert_id, options->status, options->note);
    if (payload == NULL) {
        return EXIT_USAGE;
    }
    if (options->dry_run) {
        printf("%s\n", payload);
        free(payload);
        return EXIT_ACCEPTED;
    }
    if (identity->state[0] == '\0') {
        fprintf(stderr, PROGRAM ": cannot tell your state: the certificate's subject has "
                        "no country (C); set origin in the settings file\n");
        free(payload);
        return EXIT_USAGE;
    }
    ack_topic(options->alert_origin, identity->state, topic, sizeof(topic));
    snprintf(what, sizeof(what), "the acknowledgement of alert %s", options->alert_id);
    rc = publish_send(options, identity, topic, payload, strlen(payload), what, &answer);
    if (rc == 0) {
        rc = report(options, identity, topic, &answer);
    }
    free(payload);
    return rc;
}
