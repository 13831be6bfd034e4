#include "publish.h"

#include "alert.h"
#include "client.h"
#include "compose.h"
#include "topic.h"

#include <ctype.h>
#include <errno.h>
#include <mqtt_protocol.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Seconds to wait for the PUBACK once the alert is sent. */
#define PUBACK_TIMEOUT 15

struct publication {
    int mid;
    int acknowledged;
    int reason_code;
    char reason_string[256]; /* from the PUBACK's reason string property, if any */
};

struct alert_input {
    json_t *alert;
    char *payload; /* the bytes to publish */
    size_t len;
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

static int load_file(const char *path, struct alert_input *input)
{
    struct iactn_alert_error error;
    const char *name = strcmp(path, "-") == 0 ? "standard input" : path;

    input->payload = read_input(path, &input->len);
    if (input->payload == NULL) {
        return EXIT_INVALID_ALERT;
    }
    input->alert = alert_parse(input->payload, input->len, &error);
    if (input->alert == NULL || alert_validate(input->alert, &error) != 0) {
        fprintf(stderr, PROGRAM ": invalid alert in %s: %s\n", name, error.message);
        return EXIT_INVALID_ALERT;
    }
    return 0;
}

static int build_from_flags(const struct tool_options *options, struct alert_input *input)
{
    input->alert = compose_alert(options);
    if (input->alert == NULL) {
        return EXIT_USAGE;
    }
    input->payload = json_dumps(input->alert, JSON_COMPACT);
    input->len = input->payload != NULL ? strlen(input->payload) : 0;
    if (input->payload == NULL || input->len > ALERT_MAX_BYTES) {
        fprintf(stderr, PROGRAM ": the alert is larger than %d bytes\n", ALERT_MAX_BYTES);
        return EXIT_USAGE;
    }
    return 0;
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
    publication->reason_code = reason_code;
    if (mosquitto_property_read_string(properties, MQTT_PROP_REASON_STRING, &reason,
                                       false) != NULL) {
        snprintf(publication->reason_string, sizeof(publication->reason_string), "%s",
                 reason);
        free(reason);
    }
}

static int acknowledged(struct client *client)
{
    return ((struct publication *)client->command)->acknowledged;
}

static int report(const struct publication *publication, const char *id,
                  const char *topic)
{
    int rc = publication->reason_code;
    char reason[128];

    if (rc < 0x80) {
        printf("accepted id=%s topic=%s\n", id, topic);
        if (rc == MQTT_RC_NO_MATCHING_SUBSCRIBERS) {
            fprintf(stderr, PROGRAM ": the broker accepted the alert; no recipient is "
                                    "subscribed right now.\n");
        }
        return EXIT_ACCEPTED;
    }
    snprintf(reason, sizeof(reason), "%s", mosquitto_reason_string(rc));
    reason[0] = (char)tolower((unsigned char)reason[0]);
    printf("refused id=%s reason=0x%02x (%s)\n", id, rc, reason);
    if (publication->reason_string[0] != '\0') {
        fprintf(stderr, PROGRAM ": reason given by the broker: %s\n",
                publication->reason_string);
    }
    if (rc == MQTT_RC_NOT_AUTHORIZED) {
        fprintf(
            stderr, PROGRAM
            ": the broker refused the alert. It accepts alerts only on the "
            "topic of your own state, in a known category that matches the alert, with "
            "recipients that the sharing rules allow; its log names the exact rule.\n");
    } else {
        fprintf(stderr, PROGRAM ": the broker refused the alert.\n");
    }
    return EXIT_REFUSED;
}

static int send_alert(const struct tool_options *options, const struct alert_input *input,
                      const char *topic, const char *client_id)
{
    struct publication publication = {0};
    const char *id = json_string_value(json_object_get(input->alert, "id"));
    struct client client;
    int rc;

    rc = client_open(&client, options, client_id, &publication);
    if (rc != 0) {
        goto out;
    }
    mosquitto_publish_v5_callback_set(client.mosq, on_publish);
    rc = mosquitto_publish_v5(client.mosq, &publication.mid, topic, (int)input->len,
                              input->payload, 1, false, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, PROGRAM ": cannot send the alert: %s\n", mosquitto_strerror(rc));
        rc = EXIT_CONNECTION;
        goto out;
    }

    rc = client_run(&client, acknowledged, PUBACK_TIMEOUT * 1000L);
    if (rc == 0 && publication.acknowledged) {
        rc = report(&publication, id, topic);
    } else if (rc == 0 || rc == -1) {
        fprintf(stderr,
                PROGRAM ": %s before the broker acknowledged alert %s; it may or may not "
                        "have been accepted\n",
                rc == -1 ? "timed out" : "interrupted", id);
        rc = EXIT_CONNECTION;
    } else {
        fprintf(stderr, PROGRAM ": alert %s may or may not have been accepted\n", id);
    }

out:
    client_close(&client);
    return rc;
}

int publish_run(const struct tool_options *options, const char *origin,
                const char *client_id)
{
    struct alert_input input = {0};
    char topic[TOPIC_MAX];
    char *text;
    int rc;

    rc = options->file != NULL ? load_file(options->file, &input)
                               : build_from_flags(options, &input);
    if (rc != 0) {
        goto out;
    }
    if (options->dry_run) {
        text = json_dumps(input.alert, JSON_INDENT(2));
        printf("%s\n", text != NULL ? text : "");
        free(text);
        goto out;
    }

    if (origin == NULL) {
        fprintf(stderr,
                PROGRAM ": cannot tell the origin state: the certificate's subject "
                        "has no country (C); give --origin CODE\n");
        rc = EXIT_USAGE;
        goto out;
    }
    snprintf(topic, sizeof(topic), "iactn/alerts/%s/%s", origin,
             json_string_value(json_object_get(input.alert, "category")));
    rc = send_alert(options, &input, topic, client_id);

out:
    json_decref(input.alert);
    free(input.payload);
    return rc;
}
