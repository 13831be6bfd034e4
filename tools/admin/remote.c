#include "remote.h"

#include "adminop.h"
#include "args.h"
#include "cert_subject.h"
#include "request.h"
#include "validate.h"

#include <errno.h>
#include <jansson.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KEEPALIVE_SECONDS 30
#define CORRELATION_BYTES 16
/* The topic state of a network administrator, whose certificate names no state:
 * ISO 3166-1 leaves ZZ unassigned, so it never names a member state. */
#define NETWORK_TOPIC_STATE "ZZ"

/* The state of the exchange with the broker, filled in by the callbacks. */
struct remote {
    struct mosquitto *mosq;
    int connack; /* CONNACK reason code, -1 until it arrives */
    bool disconnected;
    int disconnect_rc;
    int subscribe_result; /* granted QoS or refusal code, -1 until the SUBACK */
    int publish_mid;
    int publish_result; /* PUBACK reason code, -1 until it arrives */
    unsigned char correlation[CORRELATION_BYTES];
    char reply_topic[160];
    json_t *reply;
    char tls_error[256];
};

/* The connection settings, from the options and the environment. */
struct remote_settings {
    const char *host;
    long port;
    const char *ca_file;
    const char *cert_file;
    const char *key_file;
    long timeout;
};

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                       const mosquitto_property *properties)
{
    (void)mosq;
    (void)flags;
    (void)properties;
    ((struct remote *)obj)->connack = rc;
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc,
                          const mosquitto_property *properties)
{
    struct remote *remote = obj;

    (void)mosq;
    (void)properties;
    remote->disconnected = true;
    remote->disconnect_rc = rc;
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
                         const int *granted_qos, const mosquitto_property *properties)
{
    (void)mosq;
    (void)mid;
    (void)properties;
    ((struct remote *)obj)->subscribe_result = qos_count > 0 ? granted_qos[0] : 0x80;
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid, int reason_code,
                       const mosquitto_property *properties)
{
    struct remote *remote = obj;

    (void)mosq;
    (void)properties;
    if (mid == remote->publish_mid) {
        remote->publish_result = reason_code;
    }
}

/* Takes the reply that carries this request's correlation data. */
static void on_message(struct mosquitto *mosq, void *obj,
                       const struct mosquitto_message *message,
                       const mosquitto_property *properties)
{
    struct remote *remote = obj;
    void *correlation = NULL;
    uint16_t len = 0;

    (void)mosq;
    if (strcmp(message->topic, remote->reply_topic) != 0 || remote->reply != NULL) {
        return;
    }
    mosquitto_property_read_binary(properties, MQTT_PROP_CORRELATION_DATA, &correlation,
                                   &len, false);
    if (len == CORRELATION_BYTES &&
        memcmp(correlation, remote->correlation, CORRELATION_BYTES) == 0) {
        remote->reply =
            json_loadb(message->payload, (size_t)message->payloadlen, 0, NULL);
        if (remote->reply == NULL) {
            remote->reply = json_object();
        }
    }
    free(correlation);
}

static void on_log(struct mosquitto *mosq, void *obj, int level, const char *text)
{
    struct remote *remote = obj;

    (void)mosq;
    (void)level;
    /* libmosquitto reports TLS failures only through its log. */
    if (strstr(text, "OpenSSL Error") != NULL) {
        snprintf(remote->tls_error, sizeof(remote->tls_error), "%s", text);
    }
}

static long now_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Runs the network loop until done(remote) is true, the connection ends, or the
 * deadline passes. Returns true when done. */
static bool wait_for(struct remote *remote, bool (*done)(const struct remote *),
                     long deadline_ms)
{
    while (!done(remote) && !remote->disconnected && now_ms() < deadline_ms) {
        int rc = mosquitto_loop(remote->mosq, 100, 1);

        if (rc != MOSQ_ERR_SUCCESS && !remote->disconnected) {
            remote->disconnected = true;
            remote->disconnect_rc = rc;
        }
    }
    return done(remote);
}

static bool connack_arrived(const struct remote *remote)
{
    return remote->connack >= 0;
}

static bool suback_arrived(const struct remote *remote)
{
    return remote->subscribe_result >= 0;
}

static bool reply_arrived(const struct remote *remote)
{
    return remote->reply != NULL || (remote->publish_result >= 0x80);
}

static const char *first_set(const char *a, const char *b)
{
    return a != NULL && a[0] != '\0' ? a : (b != NULL && b[0] != '\0' ? b : NULL);
}

static int read_settings(const struct admin_args *args, struct remote_settings *out)
{
    const char *port = first_set(args->opt[OPT_PORT], getenv("IACTN_BROKER_PORT"));
    const char *timeout = args->opt[OPT_TIMEOUT];

    out->host = first_set(args->opt[OPT_HOST], getenv("IACTN_BROKER_HOST"));
    out->host = out->host != NULL ? out->host : "127.0.0.1";
    out->ca_file = first_set(args->opt[OPT_CA], getenv("IACTN_CA"));
    out->cert_file = first_set(args->opt[OPT_CERT], getenv("IACTN_CERT"));
    out->key_file = first_set(args->opt[OPT_KEY], getenv("IACTN_KEY"));
    out->port = 8883;
    out->timeout = REMOTE_TIMEOUT_DEFAULT;
    if (out->ca_file == NULL || out->cert_file == NULL || out->key_file == NULL) {
        admin_error("--remote needs --ca, --cert and --key (or IACTN_CA, IACTN_CERT and "
                    "IACTN_KEY): the network CA and your administrator certificate and "
                    "key, as PEM files");
        return -1;
    }
    if ((port != NULL && !validate_long("--port", port, 1, 65535, &out->port)) ||
        (timeout != NULL &&
         !validate_long("--timeout", timeout, 1, 600, &out->timeout))) {
        return -1;
    }
    return 0;
}

/* Explains a connection that failed before or at the CONNACK. */
static void explain_connect_failure(const struct remote *remote,
                                    const struct remote_settings *settings)
{
    if (remote->connack > 0) {
        admin_error("the broker refused the connection: %s; check that your certificate "
                    "is registered, not revoked or expired, and that your state and "
                    "agency are active",
                    mosquitto_reason_string(remote->connack));
    } else if (remote->tls_error[0] != '\0') {
        admin_error("TLS failed with the broker at %s:%ld: %s", settings->host,
                    settings->port, remote->tls_error);
    } else if (remote->disconnected) {
        admin_error("the connection to the broker at %s:%ld ended: %s", settings->host,
                    settings->port, mosquitto_strerror(remote->disconnect_rc));
    } else {
        admin_error("timed out after %ld s connecting to the broker at %s:%ld",
                    settings->timeout, settings->host, settings->port);
    }
}

/* Creates the client and connects as principal. Returns 0 once connected. */
static int open_connection(struct remote *remote, const struct remote_settings *settings,
                           const char *principal)
{
    char client_id[160];
    int rc;

    snprintf(client_id, sizeof(client_id), "%s-admin-%ld", principal, (long)getpid());
    remote->mosq = mosquitto_new(client_id, true, remote);
    if (remote->mosq == NULL) {
        admin_error("cannot create the MQTT client: %s", strerror(errno));
        return -1;
    }
    mosquitto_int_option(remote->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_connect_v5_callback_set(remote->mosq, on_connect);
    mosquitto_disconnect_v5_callback_set(remote->mosq, on_disconnect);
    mosquitto_subscribe_v5_callback_set(remote->mosq, on_subscribe);
    mosquitto_publish_v5_callback_set(remote->mosq, on_publish);
    mosquitto_message_v5_callback_set(remote->mosq, on_message);
    mosquitto_log_callback_set(remote->mosq, on_log);
    rc = mosquitto_tls_set(remote->mosq, settings->ca_file, NULL, settings->cert_file,
                           settings->key_file, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        admin_error("cannot use the TLS files --ca %s, --cert %s, --key %s: %s",
                    settings->ca_file, settings->cert_file, settings->key_file,
                    mosquitto_strerror(rc));
        return -1;
    }
    rc = mosquitto_connect_bind_v5(remote->mosq, settings->host, (int)settings->port,
                                   KEEPALIVE_SECONDS, NULL, NULL);
    if (rc == MOSQ_ERR_SUCCESS &&
        wait_for(remote, connack_arrived, now_ms() + settings->timeout * 1000) &&
        remote->connack == 0) {
        return 0;
    }
    if (rc != MOSQ_ERR_SUCCESS && remote->tls_error[0] == '\0') {
        admin_error("cannot connect to the broker at %s:%ld: %s", settings->host,
                    settings->port,
                    rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
        return -1;
    }
    explain_connect_failure(remote, settings);
    return -1;
}

/* Subscribes to the reply topic and publishes the request to the state's topic. */
static int send_request(struct remote *remote, const struct remote_settings *settings,
                        const char *topic_state, json_t *request)
{
    mosquitto_property *properties = NULL;
    char topic[64];
    char *text = json_dumps(request, JSON_COMPACT);
    int rc = -1;

    if (mosquitto_subscribe_v5(remote->mosq, NULL, remote->reply_topic, 1, 0, NULL) !=
            MOSQ_ERR_SUCCESS ||
        !wait_for(remote, suback_arrived, now_ms() + settings->timeout * 1000) ||
        remote->subscribe_result >= 0x80) {
        admin_error("the broker did not let you subscribe to %s, where the reply comes",
                    remote->reply_topic);
        goto out;
    }
    snprintf(topic, sizeof(topic), "iactn/admin/%s/request", topic_state);
    if (text == NULL || RAND_bytes(remote->correlation, CORRELATION_BYTES) != 1 ||
        mosquitto_property_add_string(&properties, MQTT_PROP_RESPONSE_TOPIC,
                                      remote->reply_topic) != MOSQ_ERR_SUCCESS ||
        mosquitto_property_add_binary(&properties, MQTT_PROP_CORRELATION_DATA,
                                      remote->correlation,
                                      CORRELATION_BYTES) != MOSQ_ERR_SUCCESS ||
        mosquitto_property_add_int32(&properties, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL,
                                     (uint32_t)settings->timeout) != MOSQ_ERR_SUCCESS) {
        admin_error("out of memory");
        goto out;
    }
    if (mosquitto_publish_v5(remote->mosq, &remote->publish_mid, topic, (int)strlen(text),
                             text, 1, false, properties) != MOSQ_ERR_SUCCESS) {
        admin_error("cannot send the request to %s", topic);
        goto out;
    }
    rc = 0;
out:
    mosquitto_property_free_all(&properties);
    free(text);
    return rc;
}

/* Waits for the reply and prints it. Returns an ADMIN_EXIT_* code. */
static int receive_reply(struct remote *remote, const struct remote_settings *settings,
                         const struct request_map *map, const char *topic_state, bool tsv)
{
    json_t *reply;

    if (!wait_for(remote, reply_arrived, now_ms() + settings->timeout * 1000)) {
        if (remote->disconnected) {
            admin_error("the connection to the broker ended before the reply came");
        } else {
            admin_error("no reply within %ld s: check that an iactn-bridge with "
                        "admin_requests on is connected to the broker",
                        settings->timeout);
        }
        return ADMIN_EXIT_FAILURE;
    }
    if (remote->reply == NULL) {
        admin_error("the broker rejected the request: %s; administrators of a state "
                    "send to iactn/admin/{their state}/request, and this one went to "
                    "iactn/admin/%s/request",
                    mosquitto_reason_string(remote->publish_result), topic_state);
        return ADMIN_EXIT_FAILURE;
    }
    reply = remote->reply;
    if (!json_is_true(json_object_get(reply, "ok"))) {
        const char *message = json_string_value(json_object_get(reply, "error"));

        return request_report_error(map,
                                    json_string_value(json_object_get(reply, "code")),
                                    message != NULL ? message : "the request failed");
    }
    return request_print(map, json_object_get(reply, "result"), tsv, false);
}

/* Reads the principal (CN) and the topic's state (C, or ZZ) from the certificate. */
static int read_identity(const char *cert_file, char *principal, size_t size,
                         char topic_state[3])
{
    struct cert_subject subject;
    char err[600];

    if (cert_subject_read(cert_file, &subject, err, sizeof(err)) != 0) {
        admin_error("%s", err);
        return -1;
    }
    if (!validate_id(ID_PRINCIPAL, subject.common_name)) {
        admin_error("the subject CN of %s is not a principal id", cert_file);
        return -1;
    }
    snprintf(principal, size, "%s", subject.common_name);
    snprintf(topic_state, 3, "%s",
             subject.country[0] != '\0' ? subject.country : NETWORK_TOPIC_STATE);
    return 0;
}

int remote_run(const struct admin_command *cmd, const struct admin_args *args, bool tsv)
{
    const struct request_map *map = request_find(cmd->group, cmd->verb);
    struct remote remote = {.connack = -1, .subscribe_result = -1, .publish_result = -1};
    struct remote_settings settings;
    json_t *request = NULL;
    char principal[128];
    char topic_state[3];
    int rc = ADMIN_EXIT_FAILURE;

    if (map == NULL) {
        admin_error("'%s%s%s' cannot run with --remote; run it against the database",
                    cmd->group, cmd->verb ? " " : "", cmd->verb ? cmd->verb : "");
        return ADMIN_EXIT_USAGE;
    }
    if (read_settings(args, &settings) != 0) {
        return ADMIN_EXIT_USAGE;
    }
    if (read_identity(settings.cert_file, principal, sizeof(principal), topic_state) !=
        0) {
        return ADMIN_EXIT_FAILURE;
    }
    rc = request_build(map, args, &request);
    if (rc != ADMIN_EXIT_OK) {
        return rc;
    }
    snprintf(remote.reply_topic, sizeof(remote.reply_topic), "iactn/admin/reply/%s",
             principal);
    mosquitto_lib_init();
    rc = ADMIN_EXIT_FAILURE;
    if (open_connection(&remote, &settings, principal) == 0 &&
        send_request(&remote, &settings, topic_state, request) == 0) {
        rc = receive_reply(&remote, &settings, map, topic_state, tsv);
    }
    if (remote.mosq != NULL && remote.connack == 0 && !remote.disconnected) {
        mosquitto_disconnect(remote.mosq);
        mosquitto_loop(remote.mosq, 100, 1);
    }
    mosquitto_destroy(remote.mosq);
    mosquitto_lib_cleanup();
    json_decref(remote.reply);
    json_decref(request);
    return rc;
}
