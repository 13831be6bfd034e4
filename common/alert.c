#include "alert.h"
#include "jsontext.h"
#include "topic.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct field_rule;
typedef int (*check_fn)(json_t *value, const struct field_rule *rule, const char *path,
                        struct iactn_alert_error *err);

/* One member of an object: its name, whether it must be present, and its check. */
struct field_rule {
    const char *name;
    bool required;
    check_fn check;
    const char *const *values; /* allowed values, for enumerations */
    size_t max;                /* maximum length or item count, where it applies */
};

static int fail(struct iactn_alert_error *err, const char *reason, const char *path,
                const char *fmt, ...)
{
    va_list ap;

    err->reason = reason;
    snprintf(err->field, sizeof(err->field), "%s", path);
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return -1;
}

/* Shortens out, which vsnprintf cut at the end of its buffer, to end on a whole UTF-8
 * character, so the shortened path stays valid text. */
static void cut_to_character(char *out)
{
    size_t n = strlen(out);

    while (n > 0 && ((unsigned char)out[n - 1] & 0xC0) == 0x80) {
        n--;
    }
    if (n > 0 && (unsigned char)out[n - 1] >= 0xC0) {
        n--;
    }
    out[n] = '\0';
}

/* Writes a JSON pointer into out. Paths longer than out are cut, which only shortens
 * the field name shown in an error message. */
static void format_path(char *out, size_t size, const char *fmt, ...)
{
    va_list ap;
    int written;

    va_start(ap, fmt);
    written = vsnprintf(out, size, fmt, ap);
    va_end(ap);
    if (written >= 0 && (size_t)written >= size) {
        cut_to_character(out);
    }
}

/* format_path(out, size, "%s/%s", path, name) without the cost of a printf: it runs
 * for every member of every alert. */
static void member_path(char *out, size_t size, const char *path, const char *name)
{
    size_t path_len = strlen(path), name_len = strlen(name);

    if (path_len + 1 + name_len < size) {
        memcpy(out, path, path_len);
        out[path_len] = '/';
        memcpy(out + path_len + 1, name, name_len + 1);
        return;
    }
    format_path(out, size, "%s/%s", path, name);
}

/* Length in Unicode code points, as JSON Schema counts it: the bytes that are not
 * continuation bytes (10xxxxxx). Counted eight bytes at a time, because every text of
 * every alert goes through here. */
static size_t utf8_length(const char *s, size_t len)
{
    const uint64_t high = 0x8080808080808080ull;
    size_t n = len, i = 0;

    for (; i + 8 <= len; i += 8) {
        uint64_t w, continuation;

        memcpy(&w, s + i, 8);
        /* bit 7 of each byte set and bit 6 clear; the shift moves bit 6 to bit 7 */
        continuation = w & ~(w << 1) & high;
        if (continuation) {
            n -= (size_t)__builtin_popcountll(continuation);
        }
    }
    for (; i < len; i++) {
        if (((unsigned char)s[i] & 0xC0) == 0x80) {
            n--;
        }
    }
    return n;
}

static int check_string(json_t *v, const char *path, size_t min, size_t max,
                        struct iactn_alert_error *err)
{
    size_t n;

    if (!json_is_string(v)) {
        return fail(err, "schema", path, "%s must be a string", path);
    }
    n = utf8_length(json_string_value(v), json_string_length(v));
    if (n < min || n > max) {
        return fail(err, "schema", path, "%s must be %zu to %zu characters long", path,
                    min, max);
    }
    return 0;
}

static bool is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
}

static bool is_uuid(const char *s)
{
    static const size_t groups[] = {8, 4, 4, 4, 12};

    for (size_t g = 0; g < 5; g++) {
        if (!is_hex(s, groups[g])) {
            return false;
        }
        s += groups[g];
        if (g < 4 && *s++ != '-') {
            return false;
        }
    }
    return *s == '\0';
}

static int check_uuid(json_t *v, const struct field_rule *rule, const char *path,
                      struct iactn_alert_error *err)
{
    (void)rule;
    if (!json_is_string(v) || !is_uuid(json_string_value(v))) {
        return fail(err, "schema", path, "%s must be a UUID", path);
    }
    return 0;
}

static int check_time(json_t *v, const struct field_rule *rule, const char *path,
                      struct iactn_alert_error *err)
{
    time_t t;

    (void)rule;
    if (!json_is_string(v) || alert_parse_time(json_string_value(v), &t) != 0) {
        return fail(err, "schema", path,
                    "%s must be an RFC 3339 date-time such as 2026-12-04T15:40:00Z", path);
    }
    return 0;
}

static int check_enum(json_t *v, const struct field_rule *rule, const char *path,
                      struct iactn_alert_error *err)
{
    if (json_is_string(v)) {
        for (const char *const *e = rule->values; *e; e++) {
            if (strcmp(json_string_value(v), *e) == 0) {
                return 0;
            }
        }
    }
    return fail(err, "schema", path, "%s has a value that is not allowed", path);
}

static int check_category(json_t *v, const struct field_rule *rule, const char *path,
                          struct iactn_alert_error *err)
{
    (void)rule;
    if (!json_is_string(v) || !topic_is_category(json_string_value(v))) {
        return fail(err, "schema", path, "%s must be a category slug such as 'attack'",
                    path);
    }
    return 0;
}

static int check_any(json_t *v, const struct field_rule *rule, const char *path,
                     struct iactn_alert_error *err)
{
    (void)v;
    (void)rule;
    (void)path;
    (void)err;
    return 0;
}

/* Checks obj against a table of members: unknown members, missing required ones and
 * each member's own check. */
static int check_members(json_t *obj, const struct field_rule *rules, size_t n_rules,
                         const char *path, struct iactn_alert_error *err)
{
    const char *key;
    json_t *value;
    char sub[96];

    json_object_foreach(obj, key, value) {
        size_t i;

        for (i = 0; i < n_rules && strcmp(rules[i].name, key) != 0; i++) {
        }
        member_path(sub, sizeof(sub), path, key);
        if (i == n_rules) {
            return fail(err, "schema", sub, "unknown member %s", sub);
        }
        if (rules[i].check(value, &rules[i], sub, err) != 0) {
            return -1;
        }
    }
    for (size_t i = 0; i < n_rules; i++) {
        if (rules[i].required && json_object_get(obj, rules[i].name) == NULL) {
            member_path(sub, sizeof(sub), path, rules[i].name);
            return fail(err, "schema", sub, "missing required member %s", sub);
        }
    }
    return 0;
}

static int check_object(json_t *v, const char *path, bool non_empty,
                        struct iactn_alert_error *err)
{
    if (!json_is_object(v)) {
        return fail(err, "schema", path, "%s must be an object", path);
    }
    if (non_empty && json_object_size(v) == 0) {
        return fail(err, "schema", path, "%s must not be empty", path);
    }
    return 0;
}

static int check_language_text(json_t *v, const struct field_rule *rule, const char *path,
                               struct iactn_alert_error *err)
{
    return check_string(v, path, 1, rule->max, err);
}

static int check_language_map(json_t *v, const struct field_rule *rule, const char *path,
                              struct iactn_alert_error *err)
{
    const struct field_rule languages[] = {
        {"en", false, check_language_text, NULL, rule->max},
        {"es", false, check_language_text, NULL, rule->max},
        {"pt", false, check_language_text, NULL, rule->max},
        {"fr", false, check_language_text, NULL, rule->max},
    };

    if (check_object(v, path, true, err) != 0) {
        return -1;
    }
    return check_members(v, languages, 4, path, err);
}

typedef bool (*item_predicate)(const char *s);

static bool is_uuid_item(const char *s)
{
    return is_uuid(s);
}

static bool is_agency_id(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 63 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9'))) {
        return false;
    }
    for (size_t i = 1; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            return false;
        }
    }
    return true;
}

/* An array of distinct strings, each accepted by predicate. */
static int check_string_array(json_t *v, const char *path, size_t max,
                              item_predicate predicate, const char *what,
                              struct iactn_alert_error *err)
{
    size_t i, j;
    json_t *item;

    if (!json_is_array(v) || json_array_size(v) > max) {
        return fail(err, "schema", path, "%s must be an array of at most %zu %s", path, max,
                    what);
    }
    json_array_foreach(v, i, item) {
        if (!json_is_string(item) || !predicate(json_string_value(item))) {
            return fail(err, "schema", path, "%s/%zu must be %s", path, i, what);
        }
        for (j = 0; j < i; j++) {
            if (json_equal(item, json_array_get(v, j))) {
                return fail(err, "schema", path, "%s lists %s twice", path,
                            json_string_value(item));
            }
        }
    }
    return 0;
}

static int check_references(json_t *v, const struct field_rule *rule, const char *path,
                            struct iactn_alert_error *err)
{
    return check_string_array(v, path, rule->max, is_uuid_item, "UUIDs", err);
}

static int check_state_list(json_t *v, const struct field_rule *rule, const char *path,
                            struct iactn_alert_error *err)
{
    return check_string_array(v, path, rule->max, topic_is_state_code,
                              "upper-case ISO 3166-1 alpha-2 codes", err);
}

static int check_id_list(json_t *v, const struct field_rule *rule, const char *path,
                         struct iactn_alert_error *err)
{
    return check_string_array(v, path, rule->max, is_agency_id,
                              "lower-case ids (letters, digits, '-')", err);
}

static int check_text(json_t *v, const struct field_rule *rule, const char *path,
                      struct iactn_alert_error *err)
{
    return check_string(v, path, 1, rule->max, err);
}

static int check_position(json_t *v, const char *path, struct iactn_alert_error *err)
{
    double lon, lat;

    if (!json_is_array(v) || json_array_size(v) != 2 ||
        !json_is_number(json_array_get(v, 0)) || !json_is_number(json_array_get(v, 1))) {
        return fail(err, "schema", path, "%s must be [longitude, latitude]", path);
    }
    lon = json_number_value(json_array_get(v, 0));
    lat = json_number_value(json_array_get(v, 1));
    if (lon < -180 || lon > 180 || lat < -90 || lat > 90) {
        return fail(err, "schema", path, "%s is outside [-180..180, -90..90]", path);
    }
    return 0;
}

static int check_polygon(json_t *rings, const char *path, struct iactn_alert_error *err)
{
    size_t i, j;
    json_t *ring, *pos;
    char sub[96];

    if (!json_is_array(rings) || json_array_size(rings) < 1 || json_array_size(rings) > 16) {
        return fail(err, "schema", path, "%s must be an array of 1 to 16 rings", path);
    }
    json_array_foreach(rings, i, ring) {
        if (!json_is_array(ring) || json_array_size(ring) < 4 ||
            json_array_size(ring) > 1024) {
            return fail(err, "schema", path, "%s/%zu must have 4 to 1024 positions", path,
                        i);
        }
        json_array_foreach(ring, j, pos) {
            format_path(sub, sizeof(sub), "%s/%zu/%zu", path, i, j);
            if (check_position(pos, sub, err) != 0) {
                return -1;
            }
        }
    }
    return 0;
}

static int check_geometry(json_t *v, const struct field_rule *rule, const char *path,
                          struct iactn_alert_error *err)
{
    const char *type;
    json_t *coordinates;
    char sub[96];

    (void)rule;
    if (check_object(v, path, false, err) != 0) {
        return -1;
    }
    type = json_string_value(json_object_get(v, "type"));
    coordinates = json_object_get(v, "coordinates");
    if (type == NULL || coordinates == NULL || json_object_size(v) != 2) {
        return fail(err, "schema", path, "%s must have exactly 'type' and 'coordinates'",
                    path);
    }
    format_path(sub, sizeof(sub), "%s/coordinates", path);
    if (strcmp(type, "Point") == 0) {
        return check_position(coordinates, sub, err);
    }
    if (strcmp(type, "Polygon") == 0) {
        return check_polygon(coordinates, sub, err);
    }
    return fail(err, "schema", path, "%s/type must be Point or Polygon", path);
}

static int check_area(json_t *v, const struct field_rule *rule, const char *path,
                      struct iactn_alert_error *err)
{
    static const struct field_rule members[] = {
        {"countries", false, check_state_list, NULL, 35},
        {"description", false, check_text, NULL, 1024},
        {"geometry", false, check_geometry, NULL, 0},
    };

    (void)rule;
    if (check_object(v, path, true, err) != 0) {
        return -1;
    }
    return check_members(v, members, 3, path, err);
}

static int check_distribution(json_t *v, const struct field_rule *rule, const char *path,
                              struct iactn_alert_error *err)
{
    static const struct field_rule members[] = {
        {"states", false, check_state_list, NULL, 35},
        {"agencies", false, check_id_list, NULL, 64},
        {"groups", false, check_id_list, NULL, 16},
    };

    (void)rule;
    if (check_object(v, path, true, err) != 0) {
        return -1;
    }
    return check_members(v, members, 3, path, err);
}

static int check_size(json_t *v, const struct field_rule *rule, const char *path,
                      struct iactn_alert_error *err)
{
    (void)rule;
    /* JSON Schema's integer includes numbers such as 1.0, which jansson reads as reals */
    if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) <= 9.0e15 &&
        json_real_value(v) == (double)(long long)json_real_value(v)) {
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        return fail(err, "schema", path, "%s must be a non-negative integer", path);
    }
    return 0;
}

static int check_sha256(json_t *v, const struct field_rule *rule, const char *path,
                        struct iactn_alert_error *err)
{
    const char *s = json_string_value(v);

    (void)rule;
    if (s == NULL || strlen(s) != 64 || strspn(s, "0123456789abcdef") != 64) {
        return fail(err, "schema", path, "%s must be 64 lower-case hex digits", path);
    }
    return 0;
}

static int check_media_type(json_t *v, const struct field_rule *rule, const char *path,
                            struct iactn_alert_error *err)
{
    (void)rule;
    return check_string(v, path, 3, 127, err);
}

static int check_attachments(json_t *v, const struct field_rule *rule, const char *path,
                             struct iactn_alert_error *err)
{
    static const struct field_rule members[] = {
        {"name", true, check_text, NULL, 255},
        {"media_type", false, check_media_type, NULL, 127},
        {"size", true, check_size, NULL, 0},
        {"sha256", true, check_sha256, NULL, 0},
    };
    size_t i;
    json_t *item;
    char sub[96];

    if (!json_is_array(v) || json_array_size(v) > rule->max) {
        return fail(err, "schema", path, "%s must be an array of at most %zu items", path,
                    rule->max);
    }
    json_array_foreach(v, i, item) {
        format_path(sub, sizeof(sub), "%s/%zu", path, i);
        if (check_object(item, sub, false, err) != 0 ||
            check_members(item, members, 4, sub, err) != 0) {
            return -1;
        }
    }
    return 0;
}

static const char *const statuses[] = {"actual", "exercise", "test", NULL};
static const char *const msg_types[] = {"alert", "update", "cancel", NULL};
static const char *const tlps[] = {"CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED", NULL};
static const char *const urgencies[] = {"immediate", "expected", "future", "past",
                                        "unknown",   NULL};
static const char *const severities[] = {"extreme", "severe", "moderate", "minor",
                                         "unknown", NULL};
static const char *const certainties[] = {"observed", "likely", "possible", "unlikely",
                                          "unknown",  NULL};

static const struct field_rule alert_members[] = {
    {"id", true, check_uuid, NULL, 0},
    {"sent", true, check_time, NULL, 0},
    {"status", true, check_enum, statuses, 0},
    {"msg_type", true, check_enum, msg_types, 0},
    {"references", false, check_references, NULL, 32},
    {"tlp", true, check_enum, tlps, 0},
    {"category", true, check_category, NULL, 0},
    {"urgency", true, check_enum, urgencies, 0},
    {"severity", true, check_enum, severities, 0},
    {"certainty", true, check_enum, certainties, 0},
    {"headline", true, check_language_map, NULL, 256},
    {"description", true, check_language_map, NULL, 16384},
    {"expires", true, check_time, NULL, 0},
    {"area", false, check_area, NULL, 0},
    {"distribution", false, check_distribution, NULL, 0},
    {"attachments", false, check_attachments, NULL, 32},
    {"sender", false, check_any, NULL, 0},
    {"iactn", false, check_any, NULL, 0},
};

/* Rules that tie members together: references follow msg_type, TLP needs a
 * distribution, and an alert expires after it was sent. */
static int check_cross_rules(json_t *alert, struct iactn_alert_error *err)
{
    const char *msg_type = json_string_value(json_object_get(alert, "msg_type"));
    const char *tlp = json_string_value(json_object_get(alert, "tlp"));
    json_t *references = json_object_get(alert, "references");
    json_t *distribution = json_object_get(alert, "distribution");
    json_t *agencies = json_object_get(distribution, "agencies");
    time_t sent, expires;
    bool is_alert = strcmp(msg_type, "alert") == 0;

    if (!is_alert && json_array_size(references) == 0) {
        return fail(err, "schema", "/references",
                    "an %s must name the alerts it refers to in references", msg_type);
    }
    if (is_alert && json_array_size(references) > 0) {
        return fail(err, "schema", "/references", "a new alert cannot have references");
    }
    if (strcmp(tlp, "AMBER") == 0 && distribution == NULL) {
        return fail(err, "tlp_requires_distribution", "/distribution",
                    "TLP:AMBER alerts must say who receives them in distribution");
    }
    if ((strcmp(tlp, "AMBER+STRICT") == 0 || strcmp(tlp, "RED") == 0) &&
        json_array_size(agencies) == 0) {
        return fail(err, "tlp_requires_agencies", "/distribution/agencies",
                    "TLP:%s alerts must name the receiving agencies in "
                    "distribution.agencies",
                    tlp);
    }
    alert_parse_time(json_string_value(json_object_get(alert, "sent")), &sent);
    alert_parse_time(json_string_value(json_object_get(alert, "expires")), &expires);
    if (expires <= sent) {
        return fail(err, "expires_before_sent", "/expires",
                    "expires must be later than sent");
    }
    return 0;
}

int alert_validate(json_t *alert, struct iactn_alert_error *err)
{
    size_t n = sizeof(alert_members) / sizeof(alert_members[0]);

    if (check_object(alert, "", false, err) != 0) {
        err->reason = "not_object";
        return -1;
    }
    if (check_members(alert, alert_members, n, "", err) != 0) {
        return -1;
    }
    return check_cross_rules(alert, err);
}

static const char *const ack_statuses[] = {"received", "read", "actioned", NULL};

static const struct field_rule ack_members[] = {
    {"alert_id", true, check_uuid, NULL, 0},
    {"status", true, check_enum, ack_statuses, 0},
    {"sent", true, check_time, NULL, 0},
    {"note", false, check_text, NULL, 1024},
    {"sender", false, check_any, NULL, 0},
    {"iactn", false, check_any, NULL, 0},
};

int alert_validate_ack(json_t *ack, struct iactn_alert_error *err)
{
    if (check_object(ack, "", false, err) != 0) {
        err->reason = "not_object";
        return -1;
    }
    return check_members(ack, ack_members, sizeof(ack_members) / sizeof(ack_members[0]),
                         "", err);
}

/* Returns true when the eight bytes at s are all ASCII. */
static bool ascii_word(const unsigned char *s)
{
    uint64_t word;

    memcpy(&word, s, sizeof(word));
    return (word & 0x8080808080808080u) == 0;
}

int alert_is_utf8(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        unsigned int cp;

        if (i + 8 <= len && ascii_word(s + i)) {
            i += 8;
            continue;
        }
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1, cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2, cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3, cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + n >= len) {
            return 0;
        }
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF)) {
            return 0;
        }
        i += n + 1;
    }
    return 1;
}

json_t *alert_parse(const void *payload, size_t len, struct iactn_alert_error *err)
{
    struct jsontext_numbers numbers;
    struct jsontext_error jerr;
    json_t *root;

    if (len > ALERT_MAX_BYTES) {
        fail(err, "too_large", "", "the alert is %zu bytes, more than the limit of %d", len,
             ALERT_MAX_BYTES);
        return NULL;
    }
    if (!alert_is_utf8(payload, len)) {
        fail(err, "invalid_utf8", "", "the alert is not valid UTF-8");
        return NULL;
    }
    root = jsontext_parse_numbers(payload, len, &numbers, &jerr);
    if (root == NULL) {
        fail(err, "invalid_json", "", "invalid JSON at line %d column %d: %s", jerr.line,
             jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        fail(err, "not_object", "", "the alert must be a JSON object");
        return NULL;
    }
    /* the archive's limits, see alert.h */
    if (numbers.digits > ALERT_MAX_NUMBER_DIGITS ||
        numbers.exponent > ALERT_MAX_NUMBER_EXPONENT) {
        json_decref(root);
        fail(err, "number_out_of_range", "",
             "a number has more than %d digits or an exponent beyond +-%d, which the "
             "archive cannot store",
             ALERT_MAX_NUMBER_DIGITS, ALERT_MAX_NUMBER_EXPONENT);
        return NULL;
    }
    return root;
}

static bool read_digits(const char *s, int n, int *out)
{
    *out = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        *out = *out * 10 + (s[i] - '0');
    }
    return true;
}

/* Days in a month of the proleptic Gregorian calendar, as PostgreSQL counts them. */
static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);

    return month == 2 && leap ? 29 : days[month - 1];
}

int alert_parse_time(const char *s, time_t *out)
{
    struct tm tm = {0};
    int year, month, day, hour, minute, second, off_h = 0, off_m = 0, sign = 0;
    const char *p;

    if (strlen(s) < 20 || !read_digits(s, 4, &year) || s[4] != '-' ||
        !read_digits(s + 5, 2, &month) || s[7] != '-' || !read_digits(s + 8, 2, &day) ||
        s[10] != 'T' || !read_digits(s + 11, 2, &hour) || s[13] != ':' ||
        !read_digits(s + 14, 2, &minute) || s[16] != ':' || !read_digits(s + 17, 2, &second)) {
        return -1;
    }
    /* PostgreSQL has no year 0000 (1 BC) in its input. */
    if (year < 1 || month < 1 || month > 12 || day < 1 ||
        day > days_in_month(year, month) || hour > 23 || minute > 59 || second > 60) {
        return -1;
    }
    p = s + 19;
    if (*p == '.') {
        size_t digits = strspn(p + 1, "0123456789");

        if (digits < 1 || digits > 9) {
            return -1;
        }
        p += 1 + digits;
    }
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '+' ? 1 : -1;
        if (!read_digits(p + 1, 2, &off_h) || p[3] != ':' || !read_digits(p + 4, 2, &off_m) ||
            off_h > 23 || off_m > 59) {
            return -1;
        }
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0') {
        return -1;
    }
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    *out = timegm(&tm) - sign * (off_h * 3600 + off_m * 60);
    return 0;
}
