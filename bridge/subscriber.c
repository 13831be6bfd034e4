/*
 * When libmosquitto acknowledges a QoS 1 message: on receiving a PUBLISH it queues the
 * PUBACK first and then calls the message callback. With the default threading mode
 * (no thread) the PUBACK is written at once, before the callback runs. Once the client
 * is marked threaded (by mosquitto_loop_start() or mosquitto_threaded_set()), the
 * network loop writes it only after the callback has returned.
 *
 * So the bridge marks the client threaded, runs the library's loop
 * (mosquitto_loop_forever) on its network thread, and waits inside the callback until
 * the archive's writer has committed the message (archive.c commits the messages of
 * all connections waiting at once in one transaction). A message is then never
 * acknowledged before it is in the database. A crash
 * in between leaves it unacknowledged in the persistent session, and the broker
 * delivers it again. It is library behaviour, not a documented promise, so
 * tests/integration/test_bridge_crash.py keeps checking it on Debian 12's libmosquitto
 * 2.0.11: it kills the bridge while every connection holds an alert in its callback,
 * waiting for a stopped database, and finds all alerts archived after the restart.
 * With the client not marked threaded, the same test loses one alert per connection.
 *
 * The thread is ours rather than mosquitto_loop_start()'s because
 * mosquitto_loop_forever() returns for good after some errors (a failed TLS handshake,
 * a protocol error), and the library's thread would then end silently. Here the loop
 * is restarted. Ordinary reconnects are the library's. They resend the CONNECT
 * properties (session expiry) of the first connect, which libmosquitto 2.0 keeps.
 */
#include "subscriber.h"

#include "log.h"
#include "thread.h"

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KEEPALIVE_SECONDS 60
#define RECONNECT_DELAY_MIN 1
#define RECONNECT_DELAY_MAX 60

static char *const filters[] = {SUBSCRIBER_ALERTS_FILTER, SUBSCRIBER_ACKS_FILTER};
#define FILTER_COUNT 2

struct subscriber {
    struct subscriber_options options;
    struct mosquitto *mosq;
    mosquitto_property *connect_properties;
    struct archive *archive;
    const atomic_int *stop;
    pthread_t thread;
    int thread_started;
    atomic_int thread_ended;
    atomic_int connected;
    atomic_int in_message;
    int last_refusal; /* CONNACK reason of the last refusal logged at error level */
    atomic_int restart_delay; /* seconds before the next network loop restart */
};

/* Describes a disconnect code, which is a libmosquitto error number or, when the
 * broker sent a DISCONNECT, an MQTT 5 reason code (0x80 and above). */
static const char *describe_disconnect(int rc)
{
    return rc >= 0x80 ? mosquitto_reason_string(rc) : mosquitto_strerror(rc);
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                       const mosquitto_property *properties)
{
    struct subscriber *subscriber = obj;
    int mid;

    (void)properties;
    if (rc != 0) {
        log_msg(rc == subscriber->last_refusal ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR,
                "msg=\"broker refused the connection; check that the certificate is "
                "registered for an archiver and that client_id starts with its principal "
                "id and '-'\" reason=\"%s\" code=0x%02x client_id=%s",
                mosquitto_reason_string(rc), rc, subscriber->options.client_id);
        subscriber->last_refusal = rc;
        return;
    }
    subscriber->last_refusal = 0;
    atomic_store(&subscriber->restart_delay, RECONNECT_DELAY_MIN);
    atomic_store(&subscriber->connected, 1);
    log_msg(
        LOG_LEVEL_INFO,
        "msg=\"connected to the broker\" host=%s port=%d client_id=%s session_present=%d",
        subscriber->options.host, subscriber->options.port, subscriber->options.client_id,
        flags & 1);

    /* The persistent session keeps the subscriptions; subscribing again is harmless
     * and covers a session the broker has expired. */
    rc = mosquitto_subscribe_multiple(mosq, &mid, FILTER_COUNT, filters, 1, 0, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        log_msg(LOG_LEVEL_ERROR,
                "msg=\"cannot send the subscriptions\" client_id=%s error=\"%s\"",
                subscriber->options.client_id, mosquitto_strerror(rc));
    }
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc,
                          const mosquitto_property *properties)
{
    struct subscriber *subscriber = obj;
    int was_connected = atomic_exchange(&subscriber->connected, 0);

    (void)mosq;
    (void)properties;
    if (atomic_load(subscriber->stop)) {
        log_msg(LOG_LEVEL_INFO, "msg=\"disconnected from the broker\"");
    } else if (was_connected) {
        log_msg(
            LOG_LEVEL_WARNING,
            "msg=\"connection to the broker lost; reconnecting\" reason=\"%s\" code=%d",
            describe_disconnect(rc), rc);
    }
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
                         const int *granted_qos, const mosquitto_property *properties)
{
    struct subscriber *subscriber = obj;

    (void)mosq;
    (void)properties;
    for (int i = 0; i < FILTER_COUNT; i++) {
        if (i >= qos_count || granted_qos[i] >= 0x80) {
            log_msg(LOG_LEVEL_ERROR,
                    "msg=\"broker refused the subscription; nothing it covers is "
                    "archived until the archiver role may subscribe to it\" "
                    "client_id=%s filter=%s reason=\"%s\" mid=%d",
                    subscriber->options.client_id, filters[i],
                    i >= qos_count ? "no reason code"
                                   : mosquitto_reason_string(granted_qos[i]),
                    mid);
            continue;
        }
        log_msg(LOG_LEVEL_INFO, "msg=\"subscribed\" client_id=%s filter=%s qos=%d",
                subscriber->options.client_id, filters[i], granted_qos[i]);
    }
}

static void log_unarchivable(const struct mosquitto_message *message, const char *err)
{
    char topic[300];
    char reason[300];

    log_msg(LOG_LEVEL_ERROR,
            "msg=\"message cannot be archived; acknowledged without a row\" topic=%s "
            "mid=%d qos=%d bytes=%d reason=%s",
            log_quote(topic, sizeof(topic), message->topic), message->mid, message->qos,
            message->payloadlen, log_quote(reason, sizeof(reason), err));
}

/* Ends the process without returning from the message callback. Returning would let
 * the queued PUBACK go out for a message that is not in the database; ending here
 * leaves it unacknowledged instead. */
static void exit_unacknowledged(const char *id, int mid)
{
    log_msg(LOG_LEVEL_WARNING,
            "msg=\"stopping before the message was archived; the broker keeps it "
            "unacknowledged and delivers it again\" id=%s mid=%d",
            id, mid);
    _exit(EXIT_SUCCESS);
}

static void archive_ack(struct subscriber *subscriber,
                        const struct mosquitto_message *message)
{
    struct ack_row row;
    char err[256];

    if (ack_row_parse(&row, message->topic, message->payload, (size_t)message->payloadlen,
                      err, sizeof(err)) != 0) {
        log_unarchivable(message, err);
        return;
    }
    switch (archive_insert_ack(subscriber->archive, &row)) {
    case ARCHIVE_INSERTED:
        log_msg(LOG_LEVEL_DEBUG,
                "msg=\"archived acknowledgement\" alert_id=%s sender=%s status=%s mid=%d",
                row.alert_id, row.sender, row.status, message->mid);
        break;
    case ARCHIVE_DUPLICATE:
        log_msg(LOG_LEVEL_DEBUG,
                "msg=\"acknowledgement already archived\" alert_id=%s sender=%s "
                "status=%s mid=%d",
                row.alert_id, row.sender, row.status, message->mid);
        break;
    case ARCHIVE_REJECTED:
        /* archive_insert_ack() logged the database's reason. */
        break;
    case ARCHIVE_STOPPED:
        exit_unacknowledged(row.alert_id, message->mid);
    }
    ack_row_clear(&row);
}

static void archive_alert(struct subscriber *subscriber,
                          const struct mosquitto_message *message)
{
    struct archive_row row;
    char err[256];

    if (archive_row_parse(&row, message->topic, message->payload,
                          (size_t)message->payloadlen, err, sizeof(err)) != 0) {
        log_unarchivable(message, err);
        return;
    }

    switch (archive_insert(subscriber->archive, &row)) {
    case ARCHIVE_INSERTED:
        log_msg(LOG_LEVEL_DEBUG,
                "msg=\"archived alert\" id=%s origin=%s category=%s mid=%d", row.id,
                row.origin, row.category, message->mid);
        break;
    case ARCHIVE_DUPLICATE:
        log_msg(LOG_LEVEL_DEBUG, "msg=\"alert already archived\" id=%s mid=%d", row.id,
                message->mid);
        break;
    case ARCHIVE_REJECTED:
        /* archive_insert() logged the database's reason. */
        break;
    case ARCHIVE_STOPPED:
        exit_unacknowledged(row.id, message->mid);
    }
    archive_row_clear(&row);
}

static void on_message(struct mosquitto *mosq, void *obj,
                       const struct mosquitto_message *message,
                       const mosquitto_property *properties)
{
    struct subscriber *subscriber = obj;

    (void)mosq;
    (void)properties;
    atomic_store(&subscriber->in_message, 1);
    if (strncmp(message->topic, "iactn/acks/", 11) == 0) {
        archive_ack(subscriber, message);
    } else {
        archive_alert(subscriber, message);
    }
    atomic_store(&subscriber->in_message, 0);
}

static void on_log(struct mosquitto *mosq, void *obj, int level, const char *text)
{
    char quoted[600];

    (void)mosq;
    (void)obj;
    /* libmosquitto reports TLS failures (e.g. "OpenSSL Error[0]: ... certificate verify
     * failed") only through its log. */
    log_msg(level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING) ? LOG_LEVEL_WARNING
                                                      : LOG_LEVEL_DEBUG,
            "msg=\"mqtt library\" text=%s", log_quote(quoted, sizeof(quoted), text));
}

struct subscriber *subscriber_new(const struct subscriber_options *options,
                                  struct archive *archive, const atomic_int *stop)
{
    struct subscriber *subscriber = calloc(1, sizeof(*subscriber));
    int rc;

    if (subscriber == NULL) {
        log_msg(LOG_LEVEL_ERROR, "msg=\"out of memory\"");
        return NULL;
    }
    subscriber->options = *options;
    subscriber->archive = archive;
    subscriber->stop = stop;
    atomic_init(&subscriber->restart_delay, RECONNECT_DELAY_MIN);

    /* clean_start false: the broker keeps the session and its queue across restarts. */
    subscriber->mosq = mosquitto_new(options->client_id, false, subscriber);
    if (subscriber->mosq == NULL) {
        log_msg(LOG_LEVEL_ERROR, "msg=\"cannot create the MQTT client\" client_id=%s",
                options->client_id);
        goto fail;
    }
    mosquitto_int_option(subscriber->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_threaded_set(subscriber->mosq, true);
    /* Each PUBACK waits for a commit; Nagle's algorithm would hold it back further
     * while an earlier one is unacknowledged. */
    mosquitto_int_option(subscriber->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_reconnect_delay_set(subscriber->mosq, RECONNECT_DELAY_MIN,
                                  RECONNECT_DELAY_MAX, true);
    rc = mosquitto_tls_set(subscriber->mosq, options->ca_file, NULL, options->cert_file,
                           options->key_file, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        log_msg(
            LOG_LEVEL_ERROR,
            "msg=\"cannot use the TLS files; check that they exist and are readable\" "
            "ca=%s cert=%s key=%s error=\"%s\"",
            options->ca_file, options->cert_file, options->key_file,
            mosquitto_strerror(rc));
        goto fail;
    }
    if (mosquitto_property_add_int32(&subscriber->connect_properties,
                                     MQTT_PROP_SESSION_EXPIRY_INTERVAL,
                                     SUBSCRIBER_SESSION_EXPIRY) != MOSQ_ERR_SUCCESS) {
        log_msg(LOG_LEVEL_ERROR, "msg=\"out of memory\"");
        goto fail;
    }

    mosquitto_connect_v5_callback_set(subscriber->mosq, on_connect);
    mosquitto_disconnect_v5_callback_set(subscriber->mosq, on_disconnect);
    mosquitto_subscribe_v5_callback_set(subscriber->mosq, on_subscribe);
    mosquitto_message_v5_callback_set(subscriber->mosq, on_message);
    mosquitto_log_callback_set(subscriber->mosq, on_log);
    return subscriber;

fail:
    subscriber_free(subscriber);
    return NULL;
}

static void *network_main(void *arg)
{
    struct subscriber *subscriber = arg;
    int delay;
    int rc;

    rc = mosquitto_connect_bind_v5(subscriber->mosq, subscriber->options.host,
                                   subscriber->options.port, KEEPALIVE_SECONDS, NULL,
                                   subscriber->connect_properties);
    if (rc != MOSQ_ERR_SUCCESS) {
        log_msg(
            LOG_LEVEL_WARNING,
            "msg=\"cannot connect to the broker; retrying\" host=%s port=%d error=\"%s\"",
            subscriber->options.host, subscriber->options.port, mosquitto_strerror(rc));
    }

    while (!atomic_load(subscriber->stop)) {
        /* Returns after mosquitto_disconnect() or an error the library will not retry. */
        rc = mosquitto_loop_forever(subscriber->mosq, 1000, 1);
        if (atomic_load(subscriber->stop)) {
            break;
        }
        delay = atomic_load(&subscriber->restart_delay);
        log_msg(LOG_LEVEL_ERROR,
                "msg=\"MQTT network loop stopped; restarting it\" error=\"%s\" "
                "retry_seconds=%d",
                mosquitto_strerror(rc), delay);
        thread_sleep_unless_stopped(delay * 1000L, subscriber->stop);
        atomic_store(&subscriber->restart_delay,
                     delay * 2 > RECONNECT_DELAY_MAX ? RECONNECT_DELAY_MAX : delay * 2);

        /* A failure here is retried by mosquitto_loop_forever() itself. */
        mosquitto_reconnect(subscriber->mosq);
    }
    atomic_store(&subscriber->thread_ended, 1);
    return NULL;
}

int subscriber_start(struct subscriber *subscriber)
{
    int rc = pthread_create(&subscriber->thread, NULL, network_main, subscriber);

    if (rc != 0) {
        log_msg(LOG_LEVEL_ERROR, "msg=\"cannot start the network thread\" error=\"%s\"",
                strerror(rc));
        return -1;
    }
    subscriber->thread_started = 1;
    return 0;
}

int subscriber_stop(struct subscriber *subscriber, int timeout_seconds)
{
    struct timespec step = {0, 100 * 1000000L};

    /* Marks the client disconnected, so that the loop ends instead of reconnecting. */
    mosquitto_disconnect(subscriber->mosq);

    for (int i = 0; i < timeout_seconds * 10; i++) {
        if (atomic_load(&subscriber->thread_ended)) {
            pthread_join(subscriber->thread, NULL);
            subscriber->thread_started = 0;
            return 0;
        }
        /* Disconnected and outside the callback, the thread has nothing unacknowledged
         * and may be asleep in the library's reconnect delay for up to a minute. */
        if (i >= 10 && !atomic_load(&subscriber->connected) &&
            !atomic_load(&subscriber->in_message)) {
            return -1;
        }
        nanosleep(&step, NULL);
    }
    return -1;
}

void subscriber_free(struct subscriber *subscriber)
{
    if (subscriber == NULL) {
        return;
    }
    mosquitto_destroy(subscriber->mosq);
    mosquitto_property_free_all(&subscriber->connect_properties);
    free(subscriber);
}
