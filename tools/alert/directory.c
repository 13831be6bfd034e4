#include "directory.h"

#include "client.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STATE_ENTRY "_state"

struct directory {
    const struct tool_options *options;
    char filter[40];
    int subscribe_mid;
    int subscribed;
    int granted;
    long last_ms;    /* when the SUBACK or the last entry arrived */
    json_t *entries; /* {topic: entry}, retained entries that are not empty */
};

static long now_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
                         const int *granted_qos, const mosquitto_property *properties)
{
    struct client *client = obj;
    struct directory *directory = client->command;
    int code = qos_count > 0 ? granted_qos[0] : 0x80;

    (void)mosq;
    (void)properties;
    if (mid != directory->subscribe_mid) {
        return;
    }
    directory->subscribed = 1;
    directory->last_ms = now_ms();
    if (code < 0x80) {
        directory->granted = 1;
        return;
    }
    fprintf(stderr,
            PROGRAM ": the broker refused the subscription to %s: %s (reason 0x%02x). "
                    "Only principals of member states (liaison, agency-system and admin "
                    "roles) may read the directory.\n",
            directory->filter, mosquitto_reason_string(code), code);
}

static void on_message(struct mosquitto *mosq, void *obj,
                       const struct mosquitto_message *message,
                       const mosquitto_property *properties)
{
    struct client *client = obj;
    struct directory *directory = client->command;
    json_t *entry;

    (void)mosq;
    (void)properties;
    directory->last_ms = now_ms();
    if (message->payloadlen == 0) {
        json_object_del(directory->entries, message->topic);
        return;
    }
    entry = json_loadb(message->payload, (size_t)message->payloadlen, 0, NULL);
    if (!json_is_object(entry)) {
        fprintf(stderr, PROGRAM ": skipped a directory entry on %s that is not JSON\n",
                message->topic);
        json_decref(entry);
        return;
    }
    json_object_set_new(directory->entries, message->topic, entry);
}

static int subscribed(struct client *client)
{
    return ((struct directory *)client->command)->subscribed;
}

/* All retained entries have arrived once none came for a while. */
static int quiet(struct client *client)
{
    const struct directory *directory = client->command;

    return now_ms() - directory->last_ms >= DIRECTORY_QUIET_MS;
}

static long remaining_ms(long deadline_ms)
{
    long left = deadline_ms - now_ms();

    /* client_run() reads 0 as "no limit", so an elapsed deadline becomes 1 ms. */
    return left > 0 ? left : 1;
}

/* Writes text with control characters replaced by spaces, so a line stays one line. */
static void print_clean(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        putchar(*p < 0x20 || *p == 0x7f ? ' ' : *p);
    }
}

static const char *text_of(json_t *object, const char *name)
{
    const char *text = json_string_value(json_object_get(object, name));

    return text != NULL && text[0] != '\0' ? text : NULL;
}

/* Prints the strings of an array joined by ", ", or "-" when it is empty. */
static void print_list(json_t *array)
{
    size_t i;
    json_t *item;

    if (json_array_size(array) == 0) {
        putchar('-');
    }
    json_array_foreach(array, i, item)
    {
        if (i > 0) {
            fputs(", ", stdout);
        }
        print_clean(json_string_value(item) ? json_string_value(item) : "?");
    }
}

/* Prints one contact: name, function, phones, e-mail, languages and time zone. */
static void print_contact(json_t *contact)
{
    print_clean(text_of(contact, "name") ? text_of(contact, "name") : "?");
    if (text_of(contact, "function") != NULL) {
        fputs(" (", stdout);
        print_clean(text_of(contact, "function"));
        putchar(')');
    }
    fputs("; phones ", stdout);
    print_list(json_object_get(contact, "phones"));
    fputs("; e-mail ", stdout);
    print_clean(text_of(contact, "email") ? text_of(contact, "email") : "-");
    fputs("; languages ", stdout);
    print_list(json_object_get(contact, "languages"));
    fputs("; time zone ", stdout);
    print_clean(text_of(contact, "time_zone") ? text_of(contact, "time_zone") : "-");
}

/* Prints "primary NAME ... until TIME" for one position of on_call_now. */
static void print_on_call(json_t *entry, const char *position)
{
    json_t *person = json_object_get(json_object_get(entry, "on_call_now"), position);

    printf("%-7s  ", position);
    if (!json_is_object(person)) {
        fputs("nobody on call\n", stdout);
        return;
    }
    print_contact(person);
    fputs("; until ", stdout);
    print_clean(text_of(person, "until") ? text_of(person, "until") : "?");
    putchar('\n');
}

/* Returns the state code and the last level of a directory topic. */
static int split_topic(const char *topic, char state[3], const char **name)
{
    const char *rest = topic + strlen("iactn/directory/");

    if (strncmp(topic, "iactn/directory/", 16) != 0 || strlen(rest) < 4 ||
        rest[2] != '/') {
        return -1;
    }
    memcpy(state, rest, 2);
    state[2] = '\0';
    *name = rest + 3;
    return 0;
}

/* Prints the whole directory, state by state; the entries are sorted by topic, and
 * "_state" sorts before the agencies. */
static void print_directory(json_t *topics, json_t *entries)
{
    size_t i;
    json_t *topic;

    json_array_foreach(topics, i, topic)
    {
        json_t *entry = json_object_get(entries, json_string_value(topic));
        json_t *contacts = json_object_get(entry, "contacts");
        const char *name;
        char state[3];
        size_t c;
        json_t *contact;

        if (split_topic(json_string_value(topic), state, &name) != 0) {
            continue;
        }
        if (strcmp(name, STATE_ENTRY) == 0) {
            printf("%s ", state);
            print_clean(text_of(entry, "name") ? text_of(entry, "name") : "");
            fputs("\n  on call for the whole state:\n    ", stdout);
            print_on_call(entry, "primary");
            fputs("    ", stdout);
            print_on_call(entry, "backup");
            continue;
        }
        printf("  agency %s: ", name);
        print_clean(text_of(entry, "name") ? text_of(entry, "name") : "");
        fputs("\n    on call:\n      ", stdout);
        print_on_call(entry, "primary");
        fputs("      ", stdout);
        print_on_call(entry, "backup");
        json_array_foreach(contacts, c, contact)
        {
            printf("    contact %lld: ",
                   (long long)json_integer_value(json_object_get(contact, "id")));
            print_contact(contact);
            putchar('\n');
        }
        if (json_array_size(contacts) == 0) {
            fputs("    no contacts\n", stdout);
        }
    }
}

/* Prints who to call now for the state and for each of its agencies. */
static void print_on_call_now(json_t *topics, json_t *entries)
{
    size_t i;
    json_t *topic;

    json_array_foreach(topics, i, topic)
    {
        json_t *entry = json_object_get(entries, json_string_value(topic));
        const char *name;
        char state[3];

        if (split_topic(json_string_value(topic), state, &name) != 0) {
            continue;
        }
        for (int p = 0; p < 2; p++) {
            if (strcmp(name, STATE_ENTRY) == 0) {
                printf("state  %-20s ", state);
            } else {
                printf("agency %-20s ", name);
            }
            print_on_call(entry, p == 0 ? "primary" : "backup");
        }
    }
}

static int compare_topics(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a),
                  json_string_value(*(json_t *const *)b));
}

/* Prints the entries in the form the command and --json select, sorted by topic. */
static void print_entries(const struct directory *directory)
{
    size_t count = json_object_size(directory->entries);
    json_t **names = calloc(count ? count : 1, sizeof(*names));
    json_t *topics = json_array();
    const char *topic;
    json_t *entry;
    size_t n = 0;
    char *text;

    if (names == NULL || topics == NULL) {
        fprintf(stderr, PROGRAM ": out of memory\n");
        goto out;
    }
    json_object_foreach(directory->entries, topic, entry)
    {
        names[n++] = json_string(topic);
    }
    /* By topic: states in order, and in each "_state" before the agencies. */
    qsort(names, n, sizeof(*names), compare_topics);
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(topics, names[i]);
    }
    if (directory->options->json) {
        for (size_t i = 0; i < n; i++) {
            entry = json_object_get(directory->entries, json_string_value(names[i]));
            text = json_dumps(entry, JSON_COMPACT);
            printf("%s\n", text ? text : "{}");
            free(text);
        }
    } else if (directory->options->command == CMD_ONCALL) {
        print_on_call_now(topics, directory->entries);
    } else {
        print_directory(topics, directory->entries);
    }
out:
    free(names);
    json_decref(topics);
}

/* Subscribes and collects the retained entries. Returns 0 or an exit code. */
static int collect(struct directory *directory, const struct identity *identity,
                   long deadline_ms)
{
    struct client client = {0};
    char *filters[1] = {directory->filter};
    int rc = client_open(&client, directory->options, identity->client_id, directory);

    if (rc != 0) {
        goto out;
    }
    mosquitto_subscribe_v5_callback_set(client.mosq, on_subscribe);
    mosquitto_message_v5_callback_set(client.mosq, on_message);
    rc = mosquitto_subscribe_multiple(client.mosq, &directory->subscribe_mid, 1, filters,
                                      1, 0, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, PROGRAM ": cannot subscribe: %s\n", mosquitto_strerror(rc));
        rc = EXIT_CONNECTION;
        goto out;
    }
    rc = client_run(&client, subscribed, remaining_ms(deadline_ms));
    if (rc == 0 && !directory->granted) {
        rc = directory->subscribed ? EXIT_REFUSED : EXIT_ACCEPTED;
    } else if (rc == 0) {
        rc = client_run(&client, quiet, remaining_ms(deadline_ms));
    }
    if (rc == -1 && !directory->subscribed) {
        fprintf(stderr, PROGRAM ": timed out waiting for the broker to accept the "
                                "subscription\n");
        rc = EXIT_CONNECTION;
    } else if (rc == -1) {
        rc = 0; /* the timeout ends the collection */
    }
out:
    client_close(&client);
    return rc;
}

int directory_run(const struct tool_options *options, const struct identity *identity)
{
    long timeout = options->timeout > 0 ? options->timeout : DIRECTORY_DEFAULT_TIMEOUT;
    long deadline_ms = now_ms() + timeout * 1000;
    struct directory directory = {.options = options};
    const char *state = options->directory_state;
    int rc;

    if (state != NULL) {
        snprintf(directory.filter, sizeof(directory.filter), "iactn/directory/%s/+",
                 state);
    } else {
        snprintf(directory.filter, sizeof(directory.filter), "iactn/directory/#");
    }
    directory.entries = json_object();
    if (directory.entries == NULL) {
        fprintf(stderr, PROGRAM ": out of memory\n");
        return EXIT_CONNECTION;
    }
    rc = collect(&directory, identity, deadline_ms);
    if (rc == 0 && json_object_size(directory.entries) == 0) {
        fprintf(stderr,
                PROGRAM ": no directory entry %s%s: the state has no active agencies, or "
                        "no iactn-bridge publishes the directory\n",
                state ? "for " : "", state ? state : "at all");
        rc = EXIT_REFUSED;
    } else if (rc == 0) {
        print_entries(&directory);
        fflush(stdout);
    }
    json_decref(directory.entries);
    return rc;
}
