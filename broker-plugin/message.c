/*
 * Message event: runs once per accepted publish, after the write check and before the
 * broker stores or delivers anything. Alerts are validated, their recipients worked
 * out, and the payload replaced by the stamped one. Acknowledgements and
 * administration requests are validated and stamped with their sender. A rejected publish gets MQTT
 * reason code 0x87 (not authorized), because mosquitto 2.0 sends no other code for a
 * plugin's message-event denial. The reason goes to the log and to audit_log.
 */
#include "plugin.h"
#include "alert.h"
#include "jsonarena.h"
#include "sharing.h"
#include "stamp.h"
#include "topic.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RECIPIENTS_TEXT_MAX (POLICY_STATE_SLOTS * 3)

static int reject(const char *principal, const char *topic, const char *reason,
                  const char *detail)
{
    json_t *audit = json_pack("{s:s,s:s}", "reason", reason, "detail", detail);
    char *text;

    if (audit == NULL) {
        /* the detail quoted bytes that are not UTF-8: keep the reason at least */
        audit = json_pack("{s:s}", "reason", reason);
    }
    text = audit ? json_dumps(audit, JSON_COMPACT) : NULL;

    if (audit_record_limited(principal, "publish-rejected", topic, text)) {
        plugin_log(MOSQ_LOG_NOTICE,
                   "publish rejected principal=%s topic=%s reason=%s detail=\"%s\"",
                   principal, topic, reason, detail);
    }
    json_text_free(text);
    json_decref(audit);
    return MOSQ_ERR_ACL_DENIED;
}

/* Stamps a parsed payload. When the client sent no "iactn" or "sender" member, the
 * client's own bytes follow the stamp, which saves serialising the document again. */
static void *stamp_payload(const struct mosquitto_evt_message *ed, json_t *parsed,
                           const struct iactn_principal *sender,
                           const struct iactn_recipients *recipients,
                           const struct timespec *now, size_t *len)
{
    if (json_object_size(parsed) > 0 && json_object_get(parsed, "iactn") == NULL &&
        json_object_get(parsed, "sender") == NULL) {
        return stamp_write_original(ed->payload, ed->payloadlen, sender, recipients, now,
                                    mosquitto_malloc, len);
    }
    return stamp_write(parsed, sender, recipients, now, mosquitto_malloc, len);
}

/* Returns true when the client set a user property whose name starts with "iactn-":
 * those names are the broker's own. */
static bool has_reserved_property(const mosquitto_property *props)
{
    const mosquitto_property *p = props;
    bool skip_first = false;
    bool found = false;

    for (;;) {
        char *name = NULL, *value = NULL;

        p = mosquitto_property_read_string_pair(p, MQTT_PROP_USER_PROPERTY, &name, &value,
                                                skip_first);
        if (p == NULL) {
            return found;
        }
        if (name && strncmp(name, "iactn-", 6) == 0) {
            found = true;
        }
        mosquitto_free(name);
        mosquitto_free(value);
        skip_first = true;
    }
}

/* Writes the recipient states as "CA,CO,MX". */
static void recipients_text(const struct iactn_recipients *r, char *out, size_t out_size)
{
    char codes[POLICY_STATE_SLOTS][3];
    size_t n = state_set_list(&r->states, codes, POLICY_STATE_SLOTS);
    size_t used = 0;

    for (size_t i = 0; i < n && used + 4 <= out_size; i++) {
        if (i > 0) {
            out[used++] = ',';
        }
        out[used++] = codes[i][0];
        out[used++] = codes[i][1];
    }
    out[used] = '\0';
}

/* At most this many "alert accepted" lines a second. The rest are counted into one
 * line per second. Each line cost the broker about 25 µs (a formatted write to the log
 * file), and a sender could otherwise fill the disk with them. The archive contains
 * every accepted alert. */
#define ACCEPT_LINES_PER_SECOND 10

static struct {
    time_t second;     /* of the lines counted below */
    unsigned lines;    /* written in that second */
    unsigned unlogged; /* accepted in that second without a line */
} accept_log;

/* Writes the count of the alerts accepted in the past second without a line. */
static void flush_unlogged(void)
{
    if (accept_log.unlogged > 0) {
        plugin_log(MOSQ_LOG_NOTICE,
                   "alerts accepted without a line of their own count=%u second=%lld "
                   "limit=%d/s",
                   accept_log.unlogged, (long long)accept_log.second,
                   ACCEPT_LINES_PER_SECOND);
        accept_log.unlogged = 0;
    }
}

/* Returns true when an alert accepted in second now may have a log line. */
static bool accept_line_allowed(time_t now)
{
    if (now != accept_log.second) {
        flush_unlogged();
        accept_log.second = now;
        accept_log.lines = 0;
    }
    if (accept_log.lines < ACCEPT_LINES_PER_SECOND) {
        accept_log.lines++;
        return true;
    }
    accept_log.unlogged++;
    return false;
}

void message_tick(void)
{
    if (accept_log.unlogged > 0 && time(NULL) != accept_log.second) {
        flush_unlogged();
    }
}

/* The stamp's facts that go out as MQTT 5 user properties (see
 * message_set_user_properties). */
enum {
    PROPERTY_SENDER = 1,
    PROPERTY_ORIGIN = 2,
    PROPERTY_RECIPIENTS = 4,
};

static const struct {
    const char *name;
    unsigned bit;
} property_names[] = {
    {"sender", PROPERTY_SENDER},
    {"origin", PROPERTY_ORIGIN},
    {"recipients", PROPERTY_RECIPIENTS},
};

static unsigned user_properties;

int message_set_user_properties(const char *list)
{
    unsigned bits = 0;
    const char *p = list;

    if (strcmp(list, "none") == 0) {
        user_properties = 0;
        return 0;
    }
    for (;;) {
        size_t n = strcspn(p, ",");
        size_t i;

        for (i = 0; i < sizeof(property_names) / sizeof(property_names[0]); i++) {
            if (strlen(property_names[i].name) == n &&
                strncmp(property_names[i].name, p, n) == 0) {
                break;
            }
        }
        if (i == sizeof(property_names) / sizeof(property_names[0])) {
            return -1;
        }
        bits |= property_names[i].bit;
        if (p[n] == '\0') {
            break;
        }
        p += n + 1;
    }
    user_properties = bits;
    return 0;
}

/* Appends the chosen facts of the stamp as MQTT 5 user properties. The list is
 * appended to, never replaced, because mosquitto 2.0.11 leaks a replaced list. */
static void add_properties(struct mosquitto_evt_message *ed,
                           const struct iactn_principal *sender, const char *recipients)
{
    if (user_properties & PROPERTY_SENDER) {
        mosquitto_property_add_string_pair(&ed->properties, MQTT_PROP_USER_PROPERTY,
                                           "iactn-sender", sender->id);
    }
    if (user_properties & PROPERTY_ORIGIN) {
        mosquitto_property_add_string_pair(&ed->properties, MQTT_PROP_USER_PROPERTY,
                                           "iactn-origin", sender->state);
    }
    if (user_properties & PROPERTY_RECIPIENTS) {
        mosquitto_property_add_string_pair(&ed->properties, MQTT_PROP_USER_PROPERTY,
                                           "iactn-recipients", recipients);
    }
}

/* An alert id names one alert: sending the identical payload again (a QoS 1 resend) is
 * accepted, anything else under a known id is rejected, so recipients never hold a text
 * the archive does not. Only the state that sent an alert may update or cancel it, and
 * under the same category.
 * Returns 0, or -1 with *reason and detail set. */
static int check_history(const struct iactn_principal *sender, json_t *alert,
                         uint64_t content, const char **reason, char *detail,
                         size_t detail_size)
{
    const char *id = json_string_value(json_object_get(alert, "id"));
    const char *own_category = json_string_value(json_object_get(alert, "category"));
    json_t *references = json_object_get(alert, "references");
    const char *category = NULL;
    char origin[3];
    uint64_t known_content = 0;
    size_t i;
    json_t *ref;

    if (history_lookup(id, origin, NULL, &known_content, NULL) == HISTORY_KNOWN &&
        (strcmp(origin, sender->state) != 0 || known_content != content)) {
        *reason = "id_taken";
        snprintf(detail, detail_size, "alert id %s was already used by %s for another alert",
                 id, origin);
        return -1;
    }
    json_array_foreach(references, i, ref) {
        const char *target = json_string_value(ref);

        switch (history_lookup(target, origin, NULL, NULL, &category)) {
        case HISTORY_KNOWN:
            if (strcmp(origin, sender->state) != 0) {
                *reason = "not_original_sender";
                snprintf(detail, detail_size, "alert %s was sent by %s, not %s", target,
                         origin, sender->state);
                return -1;
            }
            /* subscribers of the original's category topic must see its updates */
            if (category && strcmp(category, own_category) != 0) {
                *reason = "category_changed";
                snprintf(detail, detail_size,
                         "alert %s has category %s; its updates and cancellations keep it",
                         target, category);
                return -1;
            }
            continue;
        case HISTORY_UNKNOWN:
            *reason = "unknown_reference";
            snprintf(detail, detail_size, "no alert %s is known", target);
            return -1;
        case HISTORY_NOT_LOADED:
            *reason = "history_unavailable";
            snprintf(detail, detail_size,
                     "alert %s is not in memory and the archive has not been read yet; "
                     "try again shortly",
                     target);
            return -1;
        }
    }
    return 0;
}

/* Checks the alert's content against its topic and the policy, and works out who
 * receives it. Returns 0, or -1 with *reason and detail set. */
static int check_alert(const struct iactn_policy *p, const struct iactn_principal *sender,
                       json_t *alert, uint64_t content, const char *category,
                       struct iactn_recipients *out, const char **reason, char *detail,
                       size_t detail_size)
{
    struct iactn_alert_error aerr = {0};
    struct iactn_sharing_error serr = {0};
    const char *declared;

    if (alert_validate(alert, &aerr) != 0) {
        *reason = aerr.reason;
        snprintf(detail, detail_size, "%s", aerr.message);
        return -1;
    }
    declared = json_string_value(json_object_get(alert, "category"));
    if (strcmp(declared, category) != 0) {
        *reason = "category_mismatch";
        snprintf(detail, detail_size, "the alert says category %s but the topic says %s",
                 declared, category);
        return -1;
    }
    if (check_history(sender, alert, content, reason, detail, detail_size) != 0) {
        return -1;
    }
    if (!policy_has_category(p, category)) {
        *reason = "unknown_category";
        snprintf(detail, detail_size, "category %s does not exist", category);
        return -1;
    }
    if (sharing_compute(p, sender, category,
                        json_string_value(json_object_get(alert, "tlp")),
                        json_object_get(alert, "distribution"), out, &serr) != 0) {
        *reason = serr.reason;
        snprintf(detail, detail_size, "%s", serr.message);
        return -1;
    }
    return 0;
}

/* Validates an alert, works out its recipients and replaces the payload with the
 * stamped one. Returns 0, or -1 with *reason and detail set. Runs in a JSON arena
 * scope, so no jansson value it makes may outlive it. */
static int stamp_alert(struct mosquitto_evt_message *ed, const struct iactn_policy *p,
                       const struct iactn_principal *sender, const char *category,
                       const char **reason, char *detail, size_t detail_size)
{
    char recipients[RECIPIENTS_TEXT_MAX];
    struct iactn_alert_error aerr = {0};
    struct iactn_recipients out;
    uint64_t content;
    struct timespec now;
    bool log_line;
    json_t *alert;
    void *stamped;
    size_t len = 0;

    alert = alert_parse(ed->payload, ed->payloadlen, &aerr);
    if (alert == NULL) {
        *reason = aerr.reason;
        snprintf(detail, detail_size, "%s", aerr.message);
        return -1;
    }
    content = history_content_hash(ed->payload, ed->payloadlen);
    if (check_alert(p, sender, alert, content, category, &out, reason, detail,
                    detail_size) != 0) {
        json_decref(alert);
        return -1;
    }
    clock_gettime(CLOCK_REALTIME, &now);
    stamped = stamp_payload(ed, alert, sender, &out, &now, &len);
    if (stamped == NULL) {
        json_decref(alert);
        *reason = "out_of_memory";
        snprintf(detail, detail_size, "the stamp could not be written");
        return -1;
    }
    history_add(json_string_value(json_object_get(alert, "id")), sender->state, category,
                &out.states, content);
    log_line = accept_line_allowed(now.tv_sec);
    if (log_line || (user_properties & PROPERTY_RECIPIENTS)) {
        recipients_text(&out, recipients, sizeof(recipients));
    }
    if (log_line) {
        plugin_log(MOSQ_LOG_NOTICE,
                   "alert accepted principal=%s id=%s topic=%s tlp=%s recipients=%s "
                   "agencies=%zu",
                   sender->id, json_string_value(json_object_get(alert, "id")), ed->topic,
                   json_string_value(json_object_get(alert, "tlp")), recipients,
                   out.n_agencies);
    }
    json_decref(alert);
    /* the broker frees the old payload */
    ed->payload = stamped;
    ed->payloadlen = (uint32_t)len;
    add_properties(ed, sender, recipients);
    return 0;
}

static int handle_alert(struct mosquitto_evt_message *ed, const struct iactn_policy *p,
                        const struct iactn_principal *sender)
{
    char origin[3], category[TOPIC_CATEGORY_MAX + 1], detail[256];
    const char *reason = NULL;
    int rc;

    if (topic_parse_alert(ed->topic, origin, category) != 0) {
        return reject(sender->id, ed->topic, "invalid_topic",
                      "alert topics are iactn/alerts/{STATE}/{category}");
    }
    if (strcmp(origin, sender->state) != 0) {
        return reject(sender->id, ed->topic, "origin_mismatch",
                      "alerts may only be published under the sender's own state");
    }
    if (ed->retain) {
        return reject(sender->id, ed->topic, "alert_retained",
                      "alerts are never retained");
    }
    /* the alert's JSON tree lives in the arena, so reject() runs after the scope ends */
    json_arena_open();
    rc = stamp_alert(ed, p, sender, category, &reason, detail, sizeof(detail));
    json_arena_close();
    return rc == 0 ? MOSQ_ERR_SUCCESS : reject(sender->id, ed->topic, reason, detail);
}

/* Parses "iactn/acks/{ORIGIN}/{RECIPIENT}". Returns 0 or -1. */
static int parse_ack_topic(const char *topic, char *origin, char *recipient)
{
    if (strlen(topic) != 16 || strncmp(topic, "iactn/acks/", 11) != 0 ||
        topic[13] != '/') {
        return -1;
    }
    memcpy(origin, topic + 11, 2);
    origin[2] = '\0';
    memcpy(recipient, topic + 14, 2);
    recipient[2] = '\0';
    return topic_is_state_code(origin) && topic_is_state_code(recipient) ? 0 : -1;
}

/* An acknowledgement is published by a recipient state about an alert of the origin
 * state named in its topic. It is validated and stamped with its verified sender. */
static int handle_ack(struct mosquitto_evt_message *ed, const struct iactn_principal *sender)
{
    char origin[3], recipient[3], known[3];
    const struct iactn_state_set *recipients = NULL;
    struct iactn_alert_error aerr = {0};
    struct timespec now;
    const char *alert_id;
    json_t *ack;
    void *stamped;
    size_t len = 0;

    if (parse_ack_topic(ed->topic, origin, recipient) != 0 ||
        strcmp(recipient, sender->state) != 0) {
        return reject(sender->id, ed->topic, "invalid_topic",
                      "acknowledgements go to iactn/acks/{ORIGIN}/{own state}");
    }
    ack = alert_parse(ed->payload, ed->payloadlen, &aerr);
    if (ack == NULL || alert_validate_ack(ack, &aerr) != 0) {
        json_decref(ack);
        return reject(sender->id, ed->topic, aerr.reason, aerr.message);
    }
    alert_id = json_string_value(json_object_get(ack, "alert_id"));
    if (history_lookup(alert_id, known, &recipients, NULL, NULL) != HISTORY_KNOWN ||
        strcmp(known, origin) != 0) {
        json_decref(ack);
        return reject(sender->id, ed->topic, "unknown_alert",
                      "no alert with that id from the origin state in the topic is known");
    }
    if (!state_set_contains(recipients, sender->state)) {
        json_decref(ack);
        return reject(sender->id, ed->topic, "not_a_recipient",
                      "only states that received an alert may acknowledge it");
    }
    clock_gettime(CLOCK_REALTIME, &now);
    stamped = stamp_payload(ed, ack, sender, NULL, &now, &len);
    json_decref(ack);
    if (stamped == NULL) {
        return reject(sender->id, ed->topic, "out_of_memory", "the stamp could not be written");
    }
    ed->payload = stamped;
    ed->payloadlen = (uint32_t)len;
    return MOSQ_ERR_SUCCESS;
}

/* An administration request on "iactn/admin/{STATE}/request" must be a JSON object. It
 * is stamped with its verified sender, because the archiver that applies it cannot
 * otherwise tell who sent it. */
static int handle_admin_request(struct mosquitto_evt_message *ed,
                                const struct iactn_principal *sender)
{
    struct iactn_alert_error aerr = {0};
    struct timespec now;
    json_t *request;
    void *stamped;
    size_t len = 0;

    request = alert_parse(ed->payload, ed->payloadlen, &aerr);
    if (request == NULL) {
        return reject(sender->id, ed->topic, aerr.reason, aerr.message);
    }
    clock_gettime(CLOCK_REALTIME, &now);
    stamped = stamp_payload(ed, request, sender, NULL, &now, &len);
    json_decref(request);
    if (stamped == NULL) {
        return reject(sender->id, ed->topic, "out_of_memory", "the stamp could not be written");
    }
    ed->payload = stamped;
    ed->payloadlen = (uint32_t)len;
    return MOSQ_ERR_SUCCESS;
}

static bool is_admin_request_topic(const char *topic)
{
    size_t n = strlen(topic);

    return n == 22 && strncmp(topic, "iactn/admin/", 12) == 0 &&
           strcmp(topic + 14, "/request") == 0;
}

int message_on_message(int event, void *event_data, void *userdata)
{
    struct mosquitto_evt_message *ed = event_data;
    const struct iactn_policy *p = snapshot_policy();
    const char *username = mosquitto_client_username(ed->client);
    const struct iactn_principal *sender;

    (void)event;
    (void)userdata;
    if (p == NULL || username == NULL) {
        return MOSQ_ERR_ACL_DENIED;
    }
    sender = policy_find_principal(p, username);
    if (sender == NULL || !sender->active) {
        return reject(username, ed->topic, "principal_unknown", "no such active principal");
    }
    if (has_reserved_property(ed->properties)) {
        return reject(sender->id, ed->topic, "reserved_property",
                      "user properties named iactn-* are set by the broker only");
    }
    if (strncmp(ed->topic, "iactn/alerts/", 13) == 0) {
        return handle_alert(ed, p, sender);
    }
    if (strncmp(ed->topic, "iactn/acks/", 11) == 0) {
        return handle_ack(ed, sender);
    }
    if (is_admin_request_topic(ed->topic)) {
        return handle_admin_request(ed, sender);
    }
    return MOSQ_ERR_SUCCESS;
}
