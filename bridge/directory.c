/*
 * The directory publisher's thread: its PostgreSQL connection and LISTEN, the events
 * that make it compare the database with the retained entries, and the comparison
 * itself. The MQTT link's thread only hands events over, through `lock` and a pipe
 * that wakes the publisher's poll().
 */
#include "directory.h"

#include "database.h"
#include "directory_cache.h"
#include "directory_sync.h"
#include "log.h"
#include "thread.h"

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SUBSCRIPTION_FILTER "iactn/directory/#"
#define SETTLE_MS 1000          /* retained entries arrive right after the SUBACK */
#define NOTIFY_DEBOUNCE_MS 200  /* one comparison for a burst of notifications */
#define REFRESH_MS (600 * 1000) /* a comparison at least this often */
#define RETRY_MS 5000           /* after a failed comparison */
#define DB_BACKOFF_FIRST_MS 1000
#define DB_BACKOFF_MAX_MS 60000

/* A retained entry read back from the broker, handed to the publisher's thread. */
struct inbox_item {
    char *topic;
    char *canonical; /* NULL for an empty payload: no entry */
    char *updated;
};

struct directory {
    char *conninfo;
    struct mqtt_link *link;
    pthread_t thread;
    bool thread_started;
    atomic_int stop;
    atomic_int thread_ended;
    int wake[2]; /* the link's thread writes a byte to wake[1] */

    /* Handed over from the link's thread, under lock. */
    pthread_mutex_t lock;
    bool reconnected;      /* connected again: publish every entry */
    int64_t subscribed_ms; /* when the last SUBACK arrived, or 0 */
    struct inbox_item *inbox;
    size_t inbox_count;
    size_t inbox_capacity;

    /* The publisher's thread only. */
    PGconn *conn;
    int64_t db_retry_ms; /* when to try to connect again */
    struct database_backoff db_backoff;
    bool db_outage_logged;
    struct directory_cache cache;
    int64_t due_ms; /* when to compare next */
    bool full;      /* publish every entry at the next comparison */
    int64_t settle_until_ms;
};

static int64_t now_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void wake_thread(struct directory *directory)
{
    char byte = 1;

    /* A full pipe already contains a wake-up, so a failed write loses nothing. */
    if (write(directory->wake[1], &byte, 1) < 0 && errno != EAGAIN) {
        log_msg(LOG_LEVEL_WARNING,
                "msg=\"cannot wake the directory thread\" error=\"%s\"", strerror(errno));
    }
}

static void free_item(struct inbox_item *item)
{
    free(item->topic);
    free(item->canonical);
    free(item->updated);
}

/* Link thread. */
static void on_link_connect(struct mqtt_link *link, void *userdata)
{
    struct directory *directory = userdata;

    /* The publisher also works without the subscription, only without reading entries
     * back, so a subscription that cannot be sent is treated like one already
     * acknowledged. */
    bool sent = mqtt_link_subscribe(link, SUBSCRIPTION_FILTER, true) == 0;

    pthread_mutex_lock(&directory->lock);
    directory->reconnected = true;
    directory->subscribed_ms = sent ? 0 : now_ms();
    pthread_mutex_unlock(&directory->lock);
    wake_thread(directory);
}

/* Link thread. A refused subscription still lets the publisher work, without reading
 * entries back. */
static void on_link_subscribe(struct mqtt_link *link, bool granted, void *userdata)
{
    struct directory *directory = userdata;

    (void)link;
    (void)granted;
    pthread_mutex_lock(&directory->lock);
    directory->subscribed_ms = now_ms();
    pthread_mutex_unlock(&directory->lock);
    wake_thread(directory);
}

/* Link thread: reads an entry back into an inbox item. */
static int read_item(const struct mosquitto_message *message, struct inbox_item *item)
{
    json_t *entry = NULL;

    memset(item, 0, sizeof(*item));
    item->topic = strdup(message->topic);
    if (item->topic == NULL) {
        return -1;
    }
    if (message->payloadlen == 0) {
        return 0;
    }
    entry = json_loadb(message->payload, (size_t)message->payloadlen, 0, NULL);
    if (json_is_object(entry)) {
        const char *updated = json_string_value(json_object_get(entry, "updated"));

        item->canonical = directory_canonical(entry);
        item->updated = updated != NULL ? strdup(updated) : NULL;
    } else {
        /* Not an entry this bridge wrote: an unknown canonical form replaces it. */
        item->canonical = strdup("");
    }
    json_decref(entry);
    return item->canonical != NULL ? 0 : -1;
}

/* Link thread. */
static void on_link_message(struct mqtt_link *link,
                            const struct mosquitto_message *message,
                            const mosquitto_property *properties, void *userdata)
{
    struct directory *directory = userdata;
    struct inbox_item item;

    (void)link;
    (void)properties;
    if (!directory_topic_valid(message->topic) || read_item(message, &item) != 0) {
        return;
    }
    pthread_mutex_lock(&directory->lock);
    if (directory->inbox_count == directory->inbox_capacity) {
        size_t capacity = directory->inbox_capacity ? directory->inbox_capacity * 2 : 64;
        struct inbox_item *grown = realloc(directory->inbox, capacity * sizeof(*grown));

        if (grown == NULL) {
            pthread_mutex_unlock(&directory->lock);
            free_item(&item);
            return;
        }
        directory->inbox = grown;
        directory->inbox_capacity = capacity;
    }
    directory->inbox[directory->inbox_count++] = item;
    pthread_mutex_unlock(&directory->lock);
    wake_thread(directory);
}

/* Takes what the link's thread handed over and schedules the comparison it needs. */
static void take_events(struct directory *directory)
{
    struct inbox_item *inbox;
    size_t count;
    char drain[64];

    while (read(directory->wake[0], drain, sizeof(drain)) > 0) {
    }
    pthread_mutex_lock(&directory->lock);
    if (directory->reconnected) {
        directory->reconnected = false;
        directory->full = true;
        directory->settle_until_ms = DIRECTORY_NEVER;
    }
    if (directory->subscribed_ms != 0 && directory->settle_until_ms == DIRECTORY_NEVER) {
        directory->settle_until_ms = directory->subscribed_ms + SETTLE_MS;
        directory->due_ms = directory->settle_until_ms;
    }
    inbox = directory->inbox;
    count = directory->inbox_count;
    directory->inbox = NULL;
    directory->inbox_count = directory->inbox_capacity = 0;
    pthread_mutex_unlock(&directory->lock);

    /* What the broker has replaces what this bridge believed; the next comparison
     * then publishes or clears whatever differs from the database. */
    for (size_t i = 0; i < count; i++) {
        if (inbox[i].canonical == NULL) {
            directory_cache_remove(&directory->cache, inbox[i].topic);
        } else {
            directory_cache_set(&directory->cache, inbox[i].topic, inbox[i].canonical,
                                inbox[i].updated);
        }
        free_item(&inbox[i]);
    }
    free(inbox);
    if (count > 0 && directory->due_ms > directory->settle_until_ms) {
        directory->due_ms = directory->settle_until_ms;
    }
}

/* Connects and LISTENs. Logs the first failure of an outage and the recovery. */
static void connect_db(struct directory *directory)
{
    char err[512];
    char quoted[600];

    directory->conn =
        database_connect(directory->conninfo, "iactn-bridge-directory",
                         "SET TimeZone = 'UTC'; LISTEN iactn_policy", err, sizeof(err));
    if (directory->conn != NULL) {
        log_msg(LOG_LEVEL_INFO, "msg=\"directory listening for policy changes\"");
        directory->db_outage_logged = false;
        database_backoff_reset(&directory->db_backoff);
        directory->full = true;
        directory->due_ms = now_ms();
        return;
    }
    if (!directory->db_outage_logged) {
        log_msg(LOG_LEVEL_ERROR,
                "msg=\"directory cannot use the database; retrying with backoff\" "
                "error=%s",
                log_quote(quoted, sizeof(quoted), err));
        directory->db_outage_logged = true;
    }
    directory->db_retry_ms = now_ms() + database_backoff_next(&directory->db_backoff);
}

static void drop_db(struct directory *directory, const char *why)
{
    char quoted[400];

    log_msg(LOG_LEVEL_ERROR, "msg=\"directory lost the database; reconnecting\" error=%s",
            database_quote_error(quoted, sizeof(quoted), why));
    directory->db_outage_logged = true;
    PQfinish(directory->conn);
    directory->conn = NULL;
    directory->db_retry_ms = now_ms() + directory->db_backoff.first_ms;
}

/* Takes the notifications libpq has queued, and makes a comparison due shortly if
 * there were any. libpq also queues those that arrive while a comparison's queries
 * run, and they leave nothing on the socket to wake the next poll. */
static void take_notifications(struct directory *directory)
{
    PGnotify *notify;
    int count = 0;

    while ((notify = PQnotifies(directory->conn)) != NULL) {
        count++;
        PQfreemem(notify);
    }
    if (count > 0 && directory->due_ms > now_ms() + NOTIFY_DEBOUNCE_MS) {
        directory->due_ms = now_ms() + NOTIFY_DEBOUNCE_MS;
    }
}

/* Reads pending input from the socket, then takes its notifications. */
static void read_notifications(struct directory *directory)
{
    if (PQconsumeInput(directory->conn) != 1) {
        drop_db(directory, PQerrorMessage(directory->conn));
        return;
    }
    take_notifications(directory);
}

/* Waits for the next event: a notification, a wake-up, the next due time. */
static void wait_for_event(struct directory *directory)
{
    struct pollfd fds[2] = {{directory->wake[0], POLLIN, 0}, {-1, POLLIN, 0}};
    int64_t until = directory->due_ms;
    int64_t timeout;

    if (directory->conn != NULL) {
        take_notifications(directory);
        until = directory->due_ms;
        fds[1].fd = PQsocket(directory->conn);
    } else if (directory->db_retry_ms < until) {
        until = directory->db_retry_ms;
    }
    /* Woken at least once a second, so that a stop is never missed for long. */
    timeout = until - now_ms();
    if (timeout < 0) {
        timeout = 0;
    } else if (timeout > 1000) {
        timeout = 1000;
    }
    if (poll(fds, 2, (int)timeout) > 0 && fds[1].fd >= 0 && fds[1].revents != 0) {
        read_notifications(directory);
    }
}

/* Compares when due and possible, and schedules the next comparison. */
static void compare_if_due(struct directory *directory)
{
    int64_t next_change_ms = DIRECTORY_NEVER;
    int64_t now = now_ms();

    if (now < directory->due_ms || now < directory->settle_until_ms ||
        directory->conn == NULL || !mqtt_link_connected(directory->link)) {
        return;
    }
    if (directory_sync(directory->conn, directory->link, &directory->cache,
                       directory->full, &next_change_ms) != 0) {
        if (PQstatus(directory->conn) != CONNECTION_OK) {
            drop_db(directory, PQerrorMessage(directory->conn));
        }
        directory->due_ms = now + RETRY_MS;
        return;
    }
    directory->full = false;
    directory->due_ms = now + REFRESH_MS;
    if (next_change_ms != DIRECTORY_NEVER && now + next_change_ms < directory->due_ms) {
        directory->due_ms = now + next_change_ms;
    }
}

static void *directory_main(void *arg)
{
    struct directory *directory = arg;

    while (!atomic_load(&directory->stop)) {
        if (directory->conn == NULL && now_ms() >= directory->db_retry_ms) {
            connect_db(directory);
        }
        take_events(directory);
        compare_if_due(directory);
        wait_for_event(directory);
    }
    atomic_store(&directory->thread_ended, 1);
    return NULL;
}

struct directory *directory_new(const char *conninfo,
                                const struct mqtt_link_options *link)
{
    struct directory *directory = calloc(1, sizeof(*directory));
    struct mqtt_link_options options = *link;

    if (directory == NULL) {
        log_msg(LOG_LEVEL_ERROR, "msg=\"out of memory\"");
        return NULL;
    }
    directory->wake[0] = directory->wake[1] = -1;
    pthread_mutex_init(&directory->lock, NULL);
    directory->db_backoff.first_ms = DB_BACKOFF_FIRST_MS;
    directory->db_backoff.max_ms = DB_BACKOFF_MAX_MS;
    directory->due_ms = DIRECTORY_NEVER;
    directory->settle_until_ms = DIRECTORY_NEVER;
    directory->conninfo = strdup(conninfo);
    if (directory->conninfo == NULL || pipe(directory->wake) != 0 ||
        fcntl(directory->wake[0], F_SETFL, O_NONBLOCK) != 0 ||
        fcntl(directory->wake[1], F_SETFL, O_NONBLOCK) != 0) {
        log_msg(LOG_LEVEL_ERROR, "msg=\"cannot set up the directory\" error=\"%s\"",
                strerror(errno));
        goto fail;
    }
    options.name = "directory";
    options.on_connect = on_link_connect;
    options.on_subscribe = on_link_subscribe;
    options.on_message = on_link_message;
    options.userdata = directory;
    directory->link = mqtt_link_new(&options);
    if (directory->link == NULL) {
        goto fail;
    }
    return directory;

fail:
    directory_free(directory);
    return NULL;
}

int directory_start(struct directory *directory)
{
    int rc = pthread_create(&directory->thread, NULL, directory_main, directory);

    if (rc != 0) {
        log_msg(LOG_LEVEL_ERROR, "msg=\"cannot start the directory thread\" error=\"%s\"",
                strerror(rc));
        return -1;
    }
    directory->thread_started = true;
    return mqtt_link_start(directory->link);
}

int directory_stop(struct directory *directory, int timeout_seconds)
{
    int rc = mqtt_link_stop(directory->link, timeout_seconds);

    if (!directory->thread_started) {
        return rc;
    }
    atomic_store(&directory->stop, 1);
    wake_thread(directory);
    if (thread_join_within(directory->thread, &directory->thread_ended,
                           timeout_seconds) != 0) {
        return -1;
    }
    directory->thread_started = false;
    return rc;
}

void directory_free(struct directory *directory)
{
    if (directory == NULL) {
        return;
    }
    mqtt_link_free(directory->link);
    PQfinish(directory->conn);
    for (size_t i = 0; i < directory->inbox_count; i++) {
        free_item(&directory->inbox[i]);
    }
    free(directory->inbox);
    directory_cache_clear(&directory->cache);
    for (int i = 0; i < 2; i++) {
        if (directory->wake[i] >= 0) {
            close(directory->wake[i]);
        }
    }
    pthread_mutex_destroy(&directory->lock);
    free(directory->conninfo);
    free(directory);
}
