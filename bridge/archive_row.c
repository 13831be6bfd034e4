#include "archive_row.h"

#include "alert.h"
#include "jsontext.h"
#include "stamp.h"
#include "topic.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_uuid(const char *s)
{
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') {
                return 0;
            }
        } else if (!isxdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return s[36] == '\0';
}

/* Principal ids follow ^[a-z0-9][a-z0-9._-]{0,62}$, agency ids the same without '.'
 * and '_'. */
static int is_identifier(const char *s, const char *extra)
{
    size_t len = strlen(s);

    if (len == 0 || len > 63 ||
        !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0]))) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (!islower(c) && !isdigit(c) && strchr(extra, c) == NULL) {
            return 0;
        }
    }
    return 1;
}

static int is_agency_id(const char *s)
{
    return is_identifier(s, "-");
}

static int is_principal_id(const char *s)
{
    return is_identifier(s, "._-");
}

static int is_time(const char *s)
{
    time_t ignored;

    return alert_parse_time(s, &ignored) == 0;
}

/* Returns the string member `name` of `object`, or NULL if it is missing or not a
 * non-empty string. */
static const char *get_string(json_t *object, const char *name)
{
    const char *value = json_string_value(json_object_get(object, name));

    return value != NULL && value[0] != '\0' ? value : NULL;
}

/*
 * Builds a PostgreSQL text array literal from a JSON array of strings that each pass
 * `check`. A missing array gives "{}". Returns a malloc'd string, or NULL if an
 * element is not a string or fails the check (or memory runs out).
 */
static char *array_literal(json_t *array, int (*check)(const char *))
{
    size_t count = json_is_array(array) ? json_array_size(array) : 0;
    size_t size = 3;
    size_t index;
    json_t *item;
    char *literal;

    if (array != NULL && !json_is_array(array)) {
        return NULL;
    }
    json_array_foreach(array, index, item)
    {
        const char *value = json_string_value(item);

        if (value == NULL || !check(value)) {
            return NULL;
        }
        size += strlen(value) + 3;
    }

    literal = malloc(size);
    if (literal == NULL) {
        return NULL;
    }
    /* The checks above admit only letters, digits and "-", so quoting needs no escapes.
     */
    strcpy(literal, "{");
    for (index = 0; index < count; index++) {
        strcat(literal, index == 0 ? "\"" : ",\"");
        strcat(literal, json_string_value(json_array_get(array, index)));
        strcat(literal, "\"");
    }
    strcat(literal, "}");
    return literal;
}

static int is_state_code(const char *s)
{
    return topic_is_state_code(s);
}

/* Reads what the stamps of alerts and acknowledgements share: the sender's principal
 * and the time the broker received the message. Returns NULL or the reason the stamp
 * is malformed. */
static const char *read_stamp_sender(json_t *stamp, const char **sender,
                                     const char **received_at)
{
    if (!json_is_object(stamp)) {
        return "no \"iactn\" stamp object; the message did not pass the IACTN broker "
               "plugin";
    }
    *sender = get_string(json_object_get(stamp, "sender"), "principal");
    if (*sender == NULL || !is_principal_id(*sender)) {
        return "missing or invalid iactn.sender.principal";
    }
    *received_at = get_string(stamp, "received");
    if (*received_at == NULL || !is_time(*received_at)) {
        return "missing or invalid iactn.received";
    }
    return NULL;
}

/* Reads the stamp members into `row`. Returns NULL or the reason it is malformed. */
static const char *read_stamp(struct archive_row *row, json_t *stamp)
{
    json_t *sender = json_object_get(stamp, "sender");
    json_t *recipients = json_object_get(stamp, "recipients");
    const char *reason = read_stamp_sender(stamp, &row->sender, &row->received_at);
    json_t *agency;

    if (reason != NULL) {
        return reason;
    }
    agency = json_object_get(sender, "agency");
    if (agency != NULL && !json_is_null(agency)) {
        row->sender_agency = json_string_value(agency);
        if (row->sender_agency == NULL || !is_agency_id(row->sender_agency)) {
            return "invalid iactn.sender.agency";
        }
    }
    if (!json_is_array(json_object_get(recipients, "states"))) {
        return "missing iactn.recipients.states";
    }
    row->recipient_states =
        array_literal(json_object_get(recipients, "states"), is_state_code);
    if (row->recipient_states == NULL) {
        return "invalid state code in iactn.recipients.states";
    }
    row->recipient_agencies =
        array_literal(json_object_get(recipients, "agencies"), is_agency_id);
    if (row->recipient_agencies == NULL) {
        return "invalid agency id in iactn.recipients.agencies";
    }
    return NULL;
}

/* Reads the alert's own members into `row`. Returns NULL or the reason it is invalid. */
static const char *read_alert(struct archive_row *row, json_t *alert)
{
    json_t *expires = json_object_get(alert, "expires");

    row->id = get_string(alert, "id");
    if (row->id == NULL || !is_uuid(row->id)) {
        return "missing or invalid id (expected a UUID)";
    }
    row->category = get_string(alert, "category");
    row->tlp = get_string(alert, "tlp");
    row->status = get_string(alert, "status");
    row->msg_type = get_string(alert, "msg_type");
    if (row->category == NULL || row->tlp == NULL || row->status == NULL ||
        row->msg_type == NULL) {
        return "missing category, tlp, status or msg_type";
    }
    row->sent = get_string(alert, "sent");
    if (row->sent == NULL || !is_time(row->sent)) {
        return "missing or invalid sent time";
    }
    if (expires != NULL && !json_is_null(expires)) {
        row->expires = json_string_value(expires);
        if (row->expires == NULL || !is_time(row->expires)) {
            return "invalid expires time";
        }
    }
    return NULL;
}

/* Checks that a payload is valid UTF-8, which jsontext_parse requires. Returns 0, or
 * -1 with err set. */
static int check_utf8(const void *payload, size_t len, char *err, size_t err_size)
{
    if (!alert_is_utf8(payload, len)) {
        snprintf(err, err_size, "payload is not valid UTF-8");
        return -1;
    }
    return 0;
}

/* Parses a stamped payload that check_utf8() accepted. Text that is valid UTF-8 and
 * parses has no NUL byte (jsontext_parse rejects control characters and \u0000), so
 * jsonb can store it. Returns a new reference, or NULL with err set. */
static json_t *parse_payload(const void *payload, size_t len, char *err, size_t err_size)
{
    struct jsontext_error json_error;
    json_t *document;

    document = jsontext_parse(payload, len, &json_error);
    if (document == NULL) {
        snprintf(err, err_size, "payload is not JSON: %s (line %d column %d)",
                 json_error.text, json_error.line, json_error.column);
    }
    return document;
}

/* Copies `slice` to out + *used as a C string and returns it. */
static const char *keep(char *out, size_t *used, struct stamp_slice slice)
{
    char *copy = out + *used;

    memcpy(copy, slice.text, slice.len);
    copy[slice.len] = '\0';
    *used += slice.len + 1;
    return copy;
}

/* Builds the array literal of a stamp list ("CA","CO" gives {"CA","CO"}), or returns
 * NULL unless every item passes `check`. The checks admit no quote or backslash, so
 * the list's own text is the literal's inside. */
static char *list_literal(struct stamp_slice list, int (*check)(const char *))
{
    const char *p = list.text;
    const char *end = list.text + list.len;
    char item[64];
    char *literal;

    while (p < end) {
        const char *close = memchr(p + 1, '"', (size_t)(end - p - 1));
        size_t n = close != NULL ? (size_t)(close - p - 1) : sizeof(item);

        if (n >= sizeof(item)) {
            return NULL;
        }
        memcpy(item, p + 1, n);
        item[n] = '\0';
        if (!check(item)) {
            return NULL;
        }
        p = close + 2; /* past the quote and the comma */
    }
    literal = malloc(list.len + 3);
    if (literal == NULL) {
        return NULL;
    }
    literal[0] = '{';
    memcpy(literal + 1, list.text, list.len);
    memcpy(literal + 1 + list.len, "}", 2);
    return literal;
}

/* Returns whether `slice` is free of control bytes, which JSON rejects in strings.
 * Among them are NUL bytes, which would cut the C strings checked below. */
static int is_plain(struct stamp_slice slice)
{
    for (size_t i = 0; i < slice.len; i++) {
        if ((unsigned char)slice.text[i] < 0x20) {
            return 0;
        }
    }
    return 1;
}

/* Reads the stamp with stamp_read(), without a JSON tree, and parses only the
 * alert's own members. Every alert the broker plugin accepted has this form, and the
 * stamp contains most of the values a full parse would build (one per recipient state).
 * Returns 0, or -1 when the payload has any other form or fails a check. The caller
 * then reads it with the general parser, which gives the reason. */
static int read_stamped(struct archive_row *row, const char *payload, size_t len)
{
    struct stamp_view view;
    struct jsontext_error json_error;
    char state[3] = "";
    size_t used = 0;
    char *rest;

    if (!stamp_read(payload, len, &view) || view.end >= len || payload[view.end] != ',' ||
        view.state.len > 2) {
        return -1;
    }
    if (!is_plain(view.states) || !is_plain(view.agencies) || !is_plain(view.principal) ||
        !is_plain(view.role) || !is_plain(view.state) || !is_plain(view.agency) ||
        !is_plain(view.received)) {
        return -1;
    }
    row->stamp_text =
        malloc(view.principal.len + view.agency.len + view.received.len + 3);
    if (row->stamp_text == NULL) {
        return -1;
    }
    row->sender = keep(row->stamp_text, &used, view.principal);
    row->received_at = keep(row->stamp_text, &used, view.received);
    if (view.agency.text != NULL) {
        row->sender_agency = keep(row->stamp_text, &used, view.agency);
    }
    if (view.state.text != NULL) {
        memcpy(state, view.state.text, view.state.len);
        state[view.state.len] = '\0';
    }
    if (!is_principal_id(row->sender) || !is_time(row->received_at) ||
        (row->sender_agency != NULL && !is_agency_id(row->sender_agency)) ||
        (view.state.text != NULL && !is_state_code(state))) {
        return -1;
    }
    row->recipient_states = list_literal(view.states, is_state_code);
    row->recipient_agencies = list_literal(view.agencies, is_agency_id);
    if (row->recipient_states == NULL || row->recipient_agencies == NULL) {
        return -1;
    }

    /* The alert's members are what follows the stamp's comma, after an opening brace. */
    rest = malloc(len - view.end);
    if (rest == NULL) {
        return -1;
    }
    rest[0] = '{';
    memcpy(rest + 1, payload + view.end + 1, len - view.end - 1);
    row->document = jsontext_parse(rest, len - view.end, &json_error);
    free(rest);
    if (row->document == NULL || !json_is_object(row->document) ||
        json_object_get(row->document, "iactn") != NULL) {
        return -1;
    }
    return read_alert(row, row->document) == NULL ? 0 : -1;
}

/* Frees what a failed read_stamped() left in `row`, keeping its topic and origin. */
static void forget_stamped(struct archive_row *row)
{
    const char *topic = row->topic;
    char origin[sizeof(row->origin)];

    memcpy(origin, row->origin, sizeof(origin));
    archive_row_clear(row);
    row->topic = topic;
    memcpy(row->origin, origin, sizeof(origin));
}

int archive_row_parse(struct archive_row *row, const char *topic, const void *payload,
                      size_t len, char *err, size_t err_size)
{
    char category[TOPIC_CATEGORY_MAX + 1];
    const char *problem;

    memset(row, 0, sizeof(*row));
    row->topic = topic;
    if (topic_parse_alert(topic, row->origin, category) != 0) {
        snprintf(err, err_size, "topic is not iactn/alerts/{ORIGIN}/{category}");
        return -1;
    }

    if (check_utf8(payload, len, err, err_size) != 0) {
        goto fail;
    }
    if (read_stamped(row, payload, len) == 0) {
        goto copy;
    }
    forget_stamped(row);

    row->document = parse_payload(payload, len, err, err_size);
    if (row->document == NULL) {
        goto fail;
    }
    if (!json_is_object(row->document)) {
        snprintf(err, err_size, "payload is not a JSON object");
        goto fail;
    }
    problem = read_stamp(row, json_object_get(row->document, "iactn"));
    if (problem == NULL) {
        problem = read_alert(row, row->document);
    }
    if (problem != NULL) {
        snprintf(err, err_size, "%s", problem);
        goto fail;
    }

copy:
    row->payload = malloc(len + 1);
    if (row->payload == NULL) {
        snprintf(err, err_size, "out of memory");
        goto fail;
    }
    memcpy(row->payload, payload, len);
    row->payload[len] = '\0';
    row->payload_len = len;
    return 0;

fail:
    archive_row_clear(row);
    return -1;
}

void archive_row_clear(struct archive_row *row)
{
    json_decref(row->document);
    free(row->stamp_text);
    free(row->recipient_states);
    free(row->recipient_agencies);
    free(row->payload);
    memset(row, 0, sizeof(*row));
}

/* Parses "iactn/acks/{ORIGIN}/{RECIPIENT}" into the row. Returns 0 or -1. */
static int parse_ack_topic(struct ack_row *row, const char *topic)
{
    static const char prefix[] = "iactn/acks/";
    const size_t n = sizeof(prefix) - 1;

    if (strncmp(topic, prefix, n) != 0 || strlen(topic) != n + 5 || topic[n + 2] != '/') {
        return -1;
    }
    memcpy(row->origin, topic + n, 2);
    memcpy(row->recipient, topic + n + 3, 2);
    return is_state_code(row->origin) && is_state_code(row->recipient) ? 0 : -1;
}

/* Reads the acknowledgement's stamp and members into `row`. Returns NULL or the reason
 * it cannot be archived. */
static const char *read_ack(struct ack_row *row)
{
    static const char *const statuses[] = {"received", "read", "actioned"};
    json_t *stamp = json_object_get(row->document, "iactn");
    json_t *sender = json_object_get(stamp, "sender");
    json_t *note = json_object_get(row->document, "note");
    const char *reason = read_stamp_sender(stamp, &row->sender, &row->received_at);
    const char *state;

    if (reason != NULL) {
        return reason;
    }
    state = get_string(sender, "state");
    if (state == NULL || strcmp(state, row->recipient) != 0) {
        return "iactn.sender.state is not the recipient state in the topic";
    }
    row->alert_id = get_string(row->document, "alert_id");
    if (row->alert_id == NULL || !is_uuid(row->alert_id)) {
        return "missing or invalid alert_id (expected a UUID)";
    }
    row->status = get_string(row->document, "status");
    for (size_t i = 0; row->status != NULL && i < 3; i++) {
        if (strcmp(row->status, statuses[i]) == 0) {
            row->sent = get_string(row->document, "sent");
            break;
        }
    }
    if (row->sent == NULL || !is_time(row->sent)) {
        return "missing status (received, read or actioned) or invalid sent time";
    }
    if (note != NULL && !json_is_null(note) &&
        (row->note = json_string_value(note)) == NULL) {
        return "note is not a string";
    }
    return NULL;
}

int ack_row_parse(struct ack_row *row, const char *topic, const void *payload, size_t len,
                  char *err, size_t err_size)
{
    const char *problem;

    memset(row, 0, sizeof(*row));
    row->topic = topic;
    if (parse_ack_topic(row, topic) != 0) {
        snprintf(err, err_size, "topic is not iactn/acks/{ORIGIN}/{RECIPIENT}");
        return -1;
    }
    if (check_utf8(payload, len, err, err_size) != 0) {
        return -1;
    }
    row->document = parse_payload(payload, len, err, err_size);
    if (row->document == NULL) {
        return -1;
    }
    problem =
        json_is_object(row->document) ? read_ack(row) : "payload is not a JSON object";
    if (problem != NULL) {
        snprintf(err, err_size, "%s", problem);
        ack_row_clear(row);
        return -1;
    }
    return 0;
}

void ack_row_clear(struct ack_row *row)
{
    json_decref(row->document);
    memset(row, 0, sizeof(*row));
}
