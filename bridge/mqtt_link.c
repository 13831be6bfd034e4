/*
 * The link runs mosquitto_loop_forever() on its own thread rather than the library's
 * mosquitto_loop_start(), for the reason subscriber.c gives: the loop returns for good
 * after some errors (a failed TLS handshake, a protocol error), and the library's
 * thread would then end silently. Here the loop is restarted with backoff.
 */
#include "mqtt_link.h"

#include "log.h"
#include "thread.h"

#include <mqtt_protocol.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define KEEPALIVE_SECONDS 60
#define RECONNECT_DELAY_MIN 1
#define RECONNECT_DELAY_MAX 60

struct mqtt_link {
    struct mqtt_link_options options;
    char *client_id;
    struct mosquitto *mosq;
    pthread_t thread;
    bool thread_started;
    atomic_int thread_ended;
    atomic_int stop;
    atomic_int connected;
    atomic_int restart_delay; /* seconds before the next loop restart */
    int last_refusal;         /* CONNACK code last logged at error level */
};

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                       const mosquitto_property *properties)
{
    struct mqtt_link *link = obj;

    (void)mosq;
    (void)flags;
    (void)properties;
    if (rc != 0) {
        log_msg(rc == link->last_refusal ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR,
                "msg=\"broker refused the connection\" link=%s client_id=%s "
                "reason=\"%s\" code=0x%02x",
                link->options.name, link->client_id, mosquitto_reason_string(rc), rc);
        link->last_refusal = rc;
        return;
    }
    link->last_refusal = 0;
    atomic_store(&link->restart_delay, RECONNECT_DELAY_MIN);
    atomic_store(&link->connected, 1);
    log_msg(LOG_LEVEL_INFO, "msg=\"connected to the broker\" link=%s client_id=%s",
            link->options.name, link->client_id);
    if (link->options.on_connect != NULL) {
        link->options.on_connect(link, link->options.userdata);
    }
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc,
                          const mosquitto_property *properties)
{
    struct mqtt_link *link = obj;
    int was_connected = atomic_exchange(&link->connected, 0);

    (void)mosq;
    (void)properties;
    if (was_connected && !atomic_load(&link->stop)) {
        log_msg(
            LOG_LEVEL_WARNING,
            "msg=\"connection to the broker lost; reconnecting\" link=%s reason=\"%s\"",
            link->options.name,
            rc >= 0x80 ? mosquitto_reason_string(rc) : mosquitto_strerror(rc));
    }
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
                         const int *granted_qos, const mosquitto_property *properties)
{
    struct mqtt_link *link = obj;
    bool granted = qos_count >= 1 && granted_qos[0] < 0x80;

    (void)mosq;
    (void)mid;
    (void)properties;
    if (!granted) {
        log_msg(LOG_LEVEL_ERROR,
                "msg=\"broker refused the subscription; check the archiver's topic "
                "rights\" link=%s reason=\"%s\"",
                link->options.name,
                qos_count < 1 ? "no reason code"
                              : mosquitto_reason_string(granted_qos[0]));
    }
    if (link->options.on_subscribe != NULL) {
        link->options.on_subscribe(link, granted, link->options.userdata);
    }
}

static void on_message(struct mosquitto *mosq, void *obj,
                       const struct mosquitto_message *message,
                       const mosquitto_property *properties)
{
    struct mqtt_link *link = obj;

    (void)mosq;
    if (link->options.on_message != NULL) {
        link->options.on_message(link, message, properties, link->options.userdata);
    }
}

static void on_log(struct mosquitto *mosq, void *obj, int level, const char *text)
{
    struct mqtt_link *link = obj;
    char quoted[600];

    (void)mosq;
    log_msg(level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING) ? LOG_LEVEL_WARNING
                                                      : LOG_LEVEL_DEBUG,
            "msg=\"mqtt library\" link=%s text=%s", link->options.name,
            log_quote(quoted, sizeof(quoted), text));
}

struct mqtt_link *mqtt_link_new(const struct mqtt_link_options *options)
{
    struct mqtt_link *link = calloc(1, sizeof(*link));
    int rc;

    if (link == NULL || (link->client_id = strdup(options->client_id)) == NULL) {
        log_msg(LOG_LEVEL_ERROR, "msg=\"out of memory\"");
        free(link);
        return NULL;
    }
    link->options = *options;
    link->options.client_id = link->client_id;
    atomic_init(&link->restart_delay, RECONNECT_DELAY_MIN);

    /* A clean session: nothing waits for this link while it is away. */
    link->mosq = mosquitto_new(link->client_id, true, link);
    if (link->mosq == NULL) {
        log_msg(LOG_LEVEL_ERROR, "msg=\"cannot create the MQTT client\" client_id=%s",
                link->client_id);
        goto fail;
    }
    mosquitto_int_option(link->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_threaded_set(link->mosq, true);
    mosquitto_reconnect_delay_set(link->mosq, RECONNECT_DELAY_MIN, RECONNECT_DELAY_MAX,
                                  true);
    rc = mosquitto_tls_set(link->mosq, options->ca_file, NULL, options->cert_file,
                           options->key_file, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        log_msg(LOG_LEVEL_ERROR,
                "msg=\"cannot use the TLS files; check that they exist and are "
                "readable\" link=%s ca=%s cert=%s key=%s error=\"%s\"",
                options->name, options->ca_file, options->cert_file, options->key_file,
                mosquitto_strerror(rc));
        goto fail;
    }
    mosquitto_connect_v5_callback_set(link->mosq, on_connect);
    mosquitto_disconnect_v5_callback_set(link->mosq, on_disconnect);
    mosquitto_subscribe_v5_callback_set(link->mosq, on_subscribe);
    mosquitto_message_v5_callback_set(link->mosq, on_message);
    mosquitto_log_callback_set(link->mosq, on_log);
    return link;

fail:
    mqtt_link_free(link);
    return NULL;
}

static void *link_main(void *arg)
{
    struct mqtt_link *link = arg;
    int delay;
    int rc;

    rc = mosquitto_connect_bind_v5(link->mosq, link->options.host, link->options.port,
                                   KEEPALIVE_SECONDS, NULL, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        log_msg(LOG_LEVEL_WARNING,
                "msg=\"cannot connect to the broker; retrying\" link=%s host=%s port=%d "
                "error=\"%s\"",
                link->options.name, link->options.host, link->options.port,
                mosquitto_strerror(rc));
    }
    while (!atomic_load(&link->stop)) {
        /* Returns after mosquitto_disconnect() or an error the library will not
         * retry. */
        rc = mosquitto_loop_forever(link->mosq, 1000, 1);
        if (atomic_load(&link->stop)) {
            break;
        }
        delay = atomic_load(&link->restart_delay);
        log_msg(LOG_LEVEL_ERROR,
                "msg=\"MQTT network loop stopped; restarting it\" link=%s error=\"%s\" "
                "retry_seconds=%d",
                link->options.name, mosquitto_strerror(rc), delay);
        thread_sleep_unless_stopped(delay * 1000L, &link->stop);
        atomic_store(&link->restart_delay,
                     delay * 2 > RECONNECT_DELAY_MAX ? RECONNECT_DELAY_MAX : delay * 2);
        /* A failure here is retried by mosquitto_loop_forever() itself. */
        mosquitto_reconnect(link->mosq);
    }
    atomic_store(&link->thread_ended, 1);
    return NULL;
}

int mqtt_link_start(struct mqtt_link *link)
{
    int rc = pthread_create(&link->thread, NULL, link_main, link);

    if (rc != 0) {
        log_msg(LOG_LEVEL_ERROR,
                "msg=\"cannot start the network thread\" link=%s "
                "error=\"%s\"",
                link->options.name, strerror(rc));
        return -1;
    }
    link->thread_started = true;
    return 0;
}

int mqtt_link_stop(struct mqtt_link *link, int timeout_seconds)
{
    if (!link->thread_started) {
        return 0;
    }
    atomic_store(&link->stop, 1);
    mosquitto_disconnect(link->mosq);
    if (thread_join_within(link->thread, &link->thread_ended, timeout_seconds) != 0) {
        return -1;
    }
    link->thread_started = false;
    return 0;
}

void mqtt_link_free(struct mqtt_link *link)
{
    if (link == NULL) {
        return;
    }
    mosquitto_destroy(link->mosq);
    free(link->client_id);
    free(link);
}

bool mqtt_link_connected(const struct mqtt_link *link)
{
    return atomic_load(&link->connected) != 0;
}

int mqtt_link_subscribe(struct mqtt_link *link, const char *filter, bool no_local)
{
    int options = no_local ? MQTT_SUB_OPT_NO_LOCAL : 0;
    int rc = mosquitto_subscribe_v5(link->mosq, NULL, filter, 1, options, NULL);

    if (rc != MOSQ_ERR_SUCCESS) {
        log_msg(LOG_LEVEL_ERROR,
                "msg=\"cannot send the subscription\" link=%s filter=%s error=\"%s\"",
                link->options.name, filter, mosquitto_strerror(rc));
        return -1;
    }
    return 0;
}

int mqtt_link_publish(struct mqtt_link *link, const char *topic, const void *payload,
                      size_t len, bool retain, const mosquitto_property *properties)
{
    char quoted[300];
    int rc;

    if (len > INT32_MAX) {
        return -1;
    }
    rc = mosquitto_publish_v5(link->mosq, NULL, topic, (int)len, payload, 1, retain,
                              properties);
    if (rc != MOSQ_ERR_SUCCESS) {
        log_msg(rc == MOSQ_ERR_NO_CONN ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARNING,
                "msg=\"cannot publish\" link=%s topic=%s error=\"%s\"",
                link->options.name, log_quote(quoted, sizeof(quoted), topic),
                mosquitto_strerror(rc));
        return -1;
    }
    return 0;
}
