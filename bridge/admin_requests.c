#include "admin_requests.h"

#include "adminop.h"
#include "database.h"
#include "log.h"

#include <libpq-fe.h>
#include <mqtt_protocol.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQUEST_FILTER "$share/iactn-bridge-admin/iactn/admin/+/request"
#define REPLY_PREFIX "iactn/admin/reply/"

struct admin_requests {
    char *conninfo;
    char *ca_file;
    struct mqtt_link *link;
    PGconn *conn; /* used only on the link's thread */
};

/* The verified sender of a request, from the broker's stamp. */
struct sender {
    const char *principal;
    const char *role;
    const char *state; /* NULL for a network principal */
};

/* Link thread. */
static void on_link_connect(struct mqtt_link *link, void *userdata)
{
    (void)userdata;
    mqtt_link_subscribe(link, REQUEST_FILTER, false);
}

/* Opens the connection when there is none or it broke. Returns 0 or -1 after
 * logging. Limits how long one request may hold the thread. */
static int ensure_db(struct admin_requests *service)
{
    char err[512];
    char quoted[600];

    if (service->conn != NULL && PQstatus(service->conn) == CONNECTION_OK) {
        return 0;
    }
    PQfinish(service->conn);
    service->conn = database_connect(
        service->conninfo, "iactn-bridge-admin",
        "SET statement_timeout = '30s'; SET lock_timeout = '10s'", err, sizeof(err));
    if (service->conn == NULL) {
        log_msg(LOG_LEVEL_ERROR,
                "msg=\"administration requests cannot use the database\" error=%s",
                log_quote(quoted, sizeof(quoted), err));
        return -1;
    }
    return 0;
}

/* Parses "iactn/admin/{STATE}/request". Returns 0 or -1. */
static int parse_topic(const char *topic, char state[3])
{
    if (strlen(topic) != 22 || strncmp(topic, "iactn/admin/", 12) != 0 ||
        strcmp(topic + 14, "/request") != 0 || topic[12] < 'A' || topic[12] > 'Z' ||
        topic[13] < 'A' || topic[13] > 'Z') {
        return -1;
    }
    memcpy(state, topic + 12, 2);
    state[2] = '\0';
    return 0;
}

static int read_sender(json_t *request, struct sender *sender)
{
    json_t *stamp = json_object_get(json_object_get(request, "iactn"), "sender");

    sender->principal = json_string_value(json_object_get(stamp, "principal"));
    sender->role = json_string_value(json_object_get(stamp, "role"));
    sender->state = json_string_value(json_object_get(stamp, "state"));
    return sender->principal != NULL && sender->role != NULL ? 0 : -1;
}

/* Checks what the broker cannot: the sender's role, and that a state administrator
 * sent to its own state's topic. */
static int check_sender(const struct sender *sender, const char *topic_state,
                        struct adminop_error *err)
{
    if (strcmp(sender->role, "admin") != 0) {
        err->code = ADMINOP_FORBIDDEN;
        snprintf(err->message, sizeof(err->message),
                 "only administrators may send administration requests, and %s has the "
                 "role %s",
                 sender->principal, sender->role);
        return -1;
    }
    if (sender->state != NULL && strcmp(sender->state, topic_state) != 0) {
        err->code = ADMINOP_FORBIDDEN;
        snprintf(err->message, sizeof(err->message),
                 "administrators of %s send their requests to iactn/admin/%s/request",
                 sender->state, sender->state);
        return -1;
    }
    return 0;
}

/* Publishes the reply with the request's Correlation Data, if it had one. */
static void send_reply(struct admin_requests *service, const char *principal,
                       const mosquitto_property *request_properties, json_t *reply)
{
    mosquitto_property *properties = NULL;
    char topic[sizeof(REPLY_PREFIX) + 64];
    void *correlation = NULL;
    uint16_t correlation_len = 0;
    char *text = json_dumps(reply, JSON_COMPACT);

    snprintf(topic, sizeof(topic), REPLY_PREFIX "%s", principal);
    if (mosquitto_property_read_binary(request_properties, MQTT_PROP_CORRELATION_DATA,
                                       &correlation, &correlation_len, false) != NULL &&
        mosquitto_property_add_binary(&properties, MQTT_PROP_CORRELATION_DATA,
                                      correlation, correlation_len) != MOSQ_ERR_SUCCESS) {
        log_msg(LOG_LEVEL_ERROR, "msg=\"out of memory\"");
    } else if (text != NULL) {
        mqtt_link_publish(service->link, topic, text, strlen(text), false, properties);
    }
    free(correlation);
    free(text);
    mosquitto_property_free_all(&properties);
}

/* Warns when the request names a response topic other than the one topic that only
 * its sender can read. */
static void check_response_topic(const mosquitto_property *properties,
                                 const char *principal)
{
    char expected[sizeof(REPLY_PREFIX) + 64];
    char quoted[300];
    char *asked = NULL;

    snprintf(expected, sizeof(expected), REPLY_PREFIX "%s", principal);
    if (mosquitto_property_read_string(properties, MQTT_PROP_RESPONSE_TOPIC, &asked,
                                       false) != NULL &&
        strcmp(asked, expected) != 0) {
        log_msg(LOG_LEVEL_WARNING,
                "msg=\"response topic ignored; replying on the sender's reply topic\" "
                "principal=%s response_topic=%s reply_topic=%s",
                principal, log_quote(quoted, sizeof(quoted), asked), expected);
    }
    free(asked);
}

/* Runs the request, or explains in err why not. Returns the result or NULL. */
static json_t *apply(struct admin_requests *service, const struct sender *sender,
                     const char *topic_state, json_t *request, struct adminop_error *err)
{
    const struct adminop_actor actor = {sender->principal, sender->state,
                                        service->ca_file};

    if (check_sender(sender, topic_state, err) != 0) {
        return NULL;
    }
    if (ensure_db(service) != 0) {
        err->code = ADMINOP_UNAVAILABLE;
        snprintf(err->message, sizeof(err->message),
                 "the database is unavailable; try again later");
        return NULL;
    }
    return adminop_run(service->conn, &actor, request, err);
}

static void log_outcome(const struct sender *sender, const char *op, const char *topic,
                        const struct adminop_error *err)
{
    char quoted_op[100];
    char quoted_error[600];

    log_quote(quoted_op, sizeof(quoted_op), op ? op : "");
    if (err->code == NULL) {
        log_msg(LOG_LEVEL_INFO,
                "msg=\"administration request applied\" principal=%s op=%s topic=%s",
                sender->principal, quoted_op, topic);
        return;
    }
    log_msg(strcmp(err->code, ADMINOP_INTERNAL) == 0 ? LOG_LEVEL_ERROR
                                                     : LOG_LEVEL_WARNING,
            "msg=\"administration request rejected\" principal=%s op=%s topic=%s "
            "code=%s error=%s",
            sender->principal, quoted_op, topic, err->code,
            log_quote(quoted_error, sizeof(quoted_error), err->message));
}

/* Link thread: one request, from parsing to reply. */
static void on_link_message(struct mqtt_link *link,
                            const struct mosquitto_message *message,
                            const mosquitto_property *properties, void *userdata)
{
    struct admin_requests *service = userdata;
    struct adminop_error err = {0};
    struct sender sender;
    char topic_state[3];
    json_t *request;
    json_t *result = NULL;
    json_t *reply;
    const char *op;
    char quoted[300];

    (void)link;
    request = json_loadb(message->payload, (size_t)message->payloadlen, 0, NULL);
    if (parse_topic(message->topic, topic_state) != 0 || request == NULL ||
        read_sender(request, &sender) != 0) {
        /* Without the broker's stamp the sender, and so the reply topic, is unknown. */
        log_msg(LOG_LEVEL_WARNING,
                "msg=\"administration request without the broker's stamp ignored\" "
                "topic=%s bytes=%d",
                log_quote(quoted, sizeof(quoted), message->topic), message->payloadlen);
        json_decref(request);
        return;
    }
    op = json_string_value(json_object_get(request, "op"));
    check_response_topic(properties, sender.principal);
    result = apply(service, &sender, topic_state, request, &err);
    if (result != NULL) {
        reply = json_pack("{s:b,s:o}", "ok", 1, "result", result);
    } else {
        const struct adminop_actor actor = {sender.principal, sender.state, NULL};

        if (strcmp(err.code, ADMINOP_UNAVAILABLE) != 0 &&
            (ensure_db(service) != 0 ||
             adminop_audit_rejection(service->conn, &actor, op, message->topic, &err) !=
                 0)) {
            log_msg(LOG_LEVEL_ERROR,
                    "msg=\"cannot audit a rejected request\" "
                    "principal=%s",
                    sender.principal);
        }
        reply =
            json_pack("{s:b,s:s,s:s}", "ok", 0, "error", err.message, "code", err.code);
    }
    log_outcome(&sender, op, message->topic, &err);
    if (reply != NULL) {
        send_reply(service, sender.principal, properties, reply);
    }
    json_decref(reply);
    json_decref(request);
}

struct admin_requests *admin_requests_new(const char *conninfo,
                                          const struct mqtt_link_options *link)
{
    struct admin_requests *service = calloc(1, sizeof(*service));
    struct mqtt_link_options options = *link;

    if (service == NULL || (service->conninfo = strdup(conninfo)) == NULL ||
        (service->ca_file = strdup(link->ca_file)) == NULL) {
        log_msg(LOG_LEVEL_ERROR, "msg=\"out of memory\"");
        admin_requests_free(service);
        return NULL;
    }
    options.name = "admin";
    options.on_connect = on_link_connect;
    options.on_subscribe = NULL;
    options.on_message = on_link_message;
    options.userdata = service;
    service->link = mqtt_link_new(&options);
    if (service->link == NULL) {
        admin_requests_free(service);
        return NULL;
    }
    return service;
}

int admin_requests_start(struct admin_requests *service)
{
    return mqtt_link_start(service->link);
}

int admin_requests_stop(struct admin_requests *service, int timeout_seconds)
{
    return mqtt_link_stop(service->link, timeout_seconds);
}

void admin_requests_free(struct admin_requests *service)
{
    if (service == NULL) {
        return;
    }
    mqtt_link_free(service->link);
    PQfinish(service->conn);
    free(service->conninfo);
    free(service->ca_file);
    free(service);
}
