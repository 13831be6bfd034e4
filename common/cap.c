/*
 * CAP 1.2 to IACTN: reads a CAP document tree (see cap.h) into an alert.
 */
#include "cap.h"

#include "alert.h"

#include <ctype.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Limits of the alert schema that the conversion must respect itself. */
#define POLYGON_POSITIONS_MAX 1024
#define REFERENCES_MAX 32
#define ADDRESS_MAX 256

/* A CAP value and the IACTN value it becomes. */
struct word_map {
    const char *cap;
    const char *iactn;
};

static const struct word_map statuses[] = {
    {"Actual", "actual"}, {"Exercise", "exercise"}, {"Test", "test"}, {NULL, NULL}};
static const struct word_map msg_types[] = {
    {"Alert", "alert"}, {"Update", "update"}, {"Cancel", "cancel"}, {NULL, NULL}};
static const struct word_map urgencies[] = {
    {"Immediate", "immediate"}, {"Expected", "expected"}, {"Future", "future"},
    {"Past", "past"},           {"Unknown", "unknown"},   {NULL, NULL}};
static const struct word_map severities[] = {
    {"Extreme", "extreme"}, {"Severe", "severe"},   {"Moderate", "moderate"},
    {"Minor", "minor"},     {"Unknown", "unknown"}, {NULL, NULL}};
/* "Very Likely" is the CAP 1.0 word, still found in old feeds. */
static const struct word_map certainties[] = {
    {"Observed", "observed"}, {"Likely", "likely"},   {"Very Likely", "likely"},
    {"Possible", "possible"}, {"Unlikely", "unlikely"}, {"Unknown", "unknown"},
    {NULL, NULL}};
/* CAP categories with an IACTN counterpart; the others need --category. */
static const struct word_map categories[] = {
    {"CBRNE", "cbrn"}, {"Security", "imminent-threat"}, {NULL, NULL}};
/* TLP 1.0 named CLEAR "WHITE". */
static const struct word_map tlp_markings[] = {
    {"CLEAR", "CLEAR"}, {"WHITE", "CLEAR"}, {"GREEN", "GREEN"}, {"AMBER+STRICT", "AMBER+STRICT"},
    {"AMBER", "AMBER"}, {"RED", "RED"},     {NULL, NULL}};

static const char *const alert_languages[] = {"en", "es", "pt", "fr"};

struct import {
    const struct cap_import_options *options;
    struct cap_error *error;
    json_t *alert;
};

static int fail(struct import *import, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(struct import *import, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(import->error->message, sizeof(import->error->message), fmt, ap);
    va_end(ap);
    return -1;
}

static void warn(const struct import *import, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void warn(const struct import *import, const char *fmt, ...)
{
    char message[320];
    va_list ap;

    if (import->options->warn == NULL) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    import->options->warn(message, import->options->warn_data);
}

/* Returns the occurrences of child element `name`, or NULL when there are none. */
static json_t *elements(json_t *parent, const char *name)
{
    json_t *list = json_object_get(parent, name);

    return json_is_array(list) && json_array_size(list) > 0 ? list : NULL;
}

/* Returns the text of the first child element `name`, or NULL when it is absent,
 * empty or has child elements of its own. */
static const char *text_of(json_t *parent, const char *name)
{
    const char *text = json_string_value(json_array_get(elements(parent, name), 0));

    return text != NULL && text[0] != '\0' ? text : NULL;
}

static const char *required_text(struct import *import, json_t *parent, const char *name,
                                 const char *where)
{
    const char *text = text_of(parent, name);

    if (text == NULL) {
        fail(import, "missing <%s> in <%s>", name, where);
    }
    return text;
}

/* Looks `value` up in `map`. Returns the IACTN value, or NULL after failing with the
 * element's name and the expected values. */
static const char *map_word(struct import *import, const struct word_map *map,
                            const char *value, const char *element)
{
    char expected[160] = "";
    size_t used = 0;

    for (size_t i = 0; map[i].cap != NULL; i++) {
        if (strcmp(map[i].cap, value) == 0) {
            return map[i].iactn;
        }
        used += (size_t)snprintf(expected + used, sizeof(expected) - used, "%s%s",
                                 i > 0 ? ", " : "", map[i].cap);
        if (used >= sizeof(expected)) {
            used = sizeof(expected) - 1;
        }
    }
    fail(import, "<%s> \"%s\" has no IACTN equivalent (expected %s)", element, value,
         expected);
    return NULL;
}

int cap_is_uuid(const char *text)
{
    static const int group_lengths[] = {8, 4, 4, 4, 12};
    const char *p = text;

    for (size_t g = 0; g < 5; g++) {
        for (int i = 0; i < group_lengths[g]; i++, p++) {
            if (!isxdigit((unsigned char)*p)) {
                return 0;
            }
        }
        if (*p != (g < 4 ? '-' : '\0')) {
            return 0;
        }
        p++;
    }
    return 1;
}

static void uuid_bytes(const char *text, unsigned char out[16])
{
    size_t n = 0;

    for (const char *c = text; *c != '\0' && n < 32; c++) {
        int v;

        if (*c == '-') {
            continue;
        }
        v = isdigit((unsigned char)*c) ? *c - '0' : tolower((unsigned char)*c) - 'a' + 10;
        out[n / 2] = (unsigned char)(n % 2 ? (out[n / 2] | v) : v << 4);
        n++;
    }
}

int cap_uuid_v5(const char *sender, const char *identifier, char out[37])
{
    unsigned char namespace_bytes[16];
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t len = 0;
    int ok;

    uuid_bytes(CAP_UUID_NAMESPACE, namespace_bytes);
    /* RFC 9562 version 5: SHA-1 over the namespace's 16 bytes, then the name. */
    ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha1(), NULL) == 1 &&
         EVP_DigestUpdate(md, namespace_bytes, sizeof(namespace_bytes)) == 1 &&
         EVP_DigestUpdate(md, sender, strlen(sender)) == 1 &&
         EVP_DigestUpdate(md, ",", 1) == 1 &&
         EVP_DigestUpdate(md, identifier, strlen(identifier)) == 1 &&
         EVP_DigestFinal_ex(md, digest, &digest_len) == 1 && digest_len >= 16;
    EVP_MD_CTX_free(md);
    if (!ok) {
        return -1;
    }
    digest[6] = (unsigned char)((digest[6] & 0x0f) | 0x50);
    digest[8] = (unsigned char)((digest[8] & 0x3f) | 0x80);
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out[len++] = '-';
        }
        len += (size_t)snprintf(out + len, 37 - len, "%02x", digest[i]);
    }
    out[36] = '\0';
    return 0;
}

/* The alert id of CAP identifier `identifier` from `sender`: the identifier itself
 * when it is a UUID (lower-cased), else its version 5 UUID. */
static int alert_id_of(struct import *import, const char *sender, const char *identifier,
                       char out[37])
{
    if (cap_is_uuid(identifier)) {
        for (int i = 0; i < 37; i++) {
            out[i] = (char)tolower((unsigned char)identifier[i]);
        }
        return 0;
    }
    if (cap_uuid_v5(sender, identifier, out) != 0) {
        return fail(import, "cannot compute the id of identifier \"%s\": SHA-1 failed",
                    identifier);
    }
    return 0;
}

static int check_time(struct import *import, const char *value, const char *element,
                      time_t *out)
{
    if (alert_parse_time(value, out) != 0) {
        return fail(import,
                    "<%s> \"%s\" is not a date and time such as "
                    "2026-12-04T10:40:00-05:00",
                    element, value);
    }
    return 0;
}

/* Sets id, sent, status, msg_type and references from the <alert> element. */
static int import_header(struct import *import, json_t *document)
{
    const char *identifier = required_text(import, document, "identifier", "alert");
    const char *sender = identifier ? required_text(import, document, "sender", "alert")
                                    : NULL;
    const char *sent = sender ? required_text(import, document, "sent", "alert") : NULL;
    const char *status = sent ? required_text(import, document, "status", "alert") : NULL;
    const char *msg_type =
        status ? required_text(import, document, "msgType", "alert") : NULL;
    char id[37];
    time_t ignored;

    if (msg_type == NULL || check_time(import, sent, "sent", &ignored) != 0 ||
        alert_id_of(import, sender, identifier, id) != 0) {
        return -1;
    }
    if (strcmp(msg_type, "Ack") == 0 || strcmp(msg_type, "Error") == 0) {
        return fail(import, "<msgType> %s is not an alert; acknowledge alerts with "
                            "iactn-alert ack",
                    msg_type);
    }
    if (strcmp(status, "System") == 0 || strcmp(status, "Draft") == 0) {
        return fail(import, "<status> %s is not an alert to share (expected Actual, "
                            "Exercise or Test)",
                    status);
    }
    status = map_word(import, statuses, status, "status");
    msg_type = status ? map_word(import, msg_types, msg_type, "msgType") : NULL;
    if (msg_type == NULL) {
        return -1;
    }
    json_object_set_new(import->alert, "id", json_string(id));
    json_object_set_new(import->alert, "sent", json_string(sent));
    json_object_set_new(import->alert, "status", json_string(status));
    json_object_set_new(import->alert, "msg_type", json_string(msg_type));
    return 0;
}

/* Reads <references>: "sender,identifier,sent" entries separated by white space. */
static int import_references(struct import *import, json_t *document)
{
    const char *text = text_of(document, "references");
    const char *msg_type = json_string_value(json_object_get(import->alert, "msg_type"));
    json_t *ids = json_array();
    char entry[512];
    int count = 0;

    if (strcmp(msg_type, "alert") == 0) {
        if (text != NULL) {
            warn(import, "<references> of an Alert left out: only updates and "
                         "cancellations reference other alerts in IACTN");
        }
        json_decref(ids);
        return 0;
    }
    while (text != NULL && *text != '\0') {
        size_t len = strcspn(text, " \t\r\n");
        char *identifier;
        char *sent;
        char id[37];

        if (len > 0) {
            snprintf(entry, sizeof(entry), "%.*s", (int)len, text);
            identifier = strchr(entry, ',');
            sent = identifier ? strchr(identifier + 1, ',') : NULL;
            if (sent == NULL || identifier == entry || sent == identifier + 1) {
                json_decref(ids);
                return fail(import, "<references> entry \"%s\" is not "
                                    "sender,identifier,sent",
                            entry);
            }
            *identifier++ = '\0';
            *sent = '\0';
            if (alert_id_of(import, entry, identifier, id) != 0) {
                json_decref(ids);
                return -1;
            }
            if (++count > REFERENCES_MAX) {
                json_decref(ids);
                return fail(import, "<references> names more than %d alerts",
                            REFERENCES_MAX);
            }
            json_array_append_new(ids, json_string(id));
        }
        text += len;
        text += strspn(text, " \t\r\n");
    }
    if (json_array_size(ids) == 0) {
        json_decref(ids);
        return fail(import, "<msgType> %s needs <references> naming the alert it %s",
                    strcmp(msg_type, "update") == 0 ? "Update" : "Cancel",
                    strcmp(msg_type, "update") == 0 ? "updates" : "cancels");
    }
    json_object_set_new(import->alert, "references", ids);
    return 0;
}

/* Returns the IACTN language of a CAP <language> (RFC 3066 tag, default en-US), or
 * NULL when its primary subtag is not en, es, pt or fr. */
static const char *language_of(const char *tag)
{
    char primary[4];
    size_t len;

    if (tag == NULL) {
        return "en";
    }
    len = strcspn(tag, "-_");
    if (len != 2) {
        return NULL;
    }
    primary[0] = (char)tolower((unsigned char)tag[0]);
    primary[1] = (char)tolower((unsigned char)tag[1]);
    primary[2] = '\0';
    for (size_t i = 0; i < sizeof(alert_languages) / sizeof(alert_languages[0]); i++) {
        if (strcmp(primary, alert_languages[i]) == 0) {
            return alert_languages[i];
        }
    }
    return NULL;
}

/* Joins the non-NULL parts with a blank line between them. Returns a new string. */
static json_t *joined_text(const char *const *parts, size_t count)
{
    size_t size = 1;
    char *text;
    json_t *result;

    for (size_t i = 0; i < count; i++) {
        size += parts[i] != NULL ? strlen(parts[i]) + 2 : 0;
    }
    text = calloc(1, size);
    if (text == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < count; i++) {
        if (parts[i] == NULL) {
            continue;
        }
        if (text[0] != '\0') {
            strcat(text, "\n\n");
        }
        strcat(text, parts[i]);
    }
    result = text[0] != '\0' ? json_string(text) : NULL;
    free(text);
    return result;
}

/* Fills headline and description from every <info>, one language each. */
static int import_texts(struct import *import, json_t *infos, const char *note)
{
    json_t *headline = json_object();
    json_t *description = json_object();
    size_t i;
    json_t *info;

    json_array_foreach(infos, i, info)
    {
        const char *tag = text_of(info, "language");
        const char *lang = language_of(tag);
        const char *title = text_of(info, "headline");
        const char *parts[3] = {text_of(info, "description"), text_of(info, "instruction"),
                                note};
        json_t *body;

        if (lang == NULL) {
            warn(import, "<info> in language \"%s\" left out: IACTN alerts carry en, "
                         "es, pt and fr",
                 tag);
            continue;
        }
        if (json_object_get(headline, lang) != NULL) {
            warn(import, "second <info> in language %s (\"%s\") left out", lang,
                 tag != NULL ? tag : "en-US");
            continue;
        }
        title = title != NULL ? title : text_of(info, "event");
        if (title == NULL) {
            json_decref(headline);
            json_decref(description);
            return fail(import, "<info> in language %s has neither <headline> nor <event>",
                        lang);
        }
        json_object_set_new(headline, lang, json_string(title));
        body = joined_text(parts, 3);
        if (body != NULL) {
            json_object_set_new(description, lang, body);
        }
    }
    if (json_object_size(headline) == 0) {
        json_decref(headline);
        json_decref(description);
        return fail(import, "no <info> in English, Spanish, Portuguese or French");
    }
    if (json_object_size(description) == 0) {
        warn(import, "no <info> has a description: the headlines serve as descriptions");
        json_object_update(description, headline);
    }
    json_object_set_new(import->alert, "headline", headline);
    json_object_set_new(import->alert, "description", description);
    return 0;
}

/* Finds <eventCode> iactn-category in the info. Returns its value or NULL. */
static const char *category_code(json_t *info)
{
    size_t i;
    json_t *code;

    json_array_foreach(elements(info, "eventCode"), i, code)
    {
        const char *name = text_of(code, "valueName");

        if (name != NULL && strcmp(name, CAP_CATEGORY_CODE) == 0) {
            return text_of(code, "value");
        }
    }
    return NULL;
}

static int import_category(struct import *import, json_t *info)
{
    const char *category = import->options->category;
    json_t *cap_categories = elements(info, "category");
    size_t i;
    json_t *item;

    if (category == NULL) {
        category = category_code(info);
    }
    json_array_foreach(cap_categories, i, item)
    {
        for (size_t m = 0; category == NULL && categories[m].cap != NULL; m++) {
            if (json_string_value(item) != NULL &&
                strcmp(json_string_value(item), categories[m].cap) == 0) {
                category = categories[m].iactn;
            }
        }
    }
    if (category == NULL) {
        return fail(import,
                    "<category> %s has no IACTN category (only CBRNE and Security map "
                    "to one); give --category",
                    json_string_value(json_array_get(cap_categories, 0)) != NULL
                        ? json_string_value(json_array_get(cap_categories, 0))
                        : "(missing)");
    }
    json_object_set_new(import->alert, "category", json_string(category));
    return 0;
}

/* Sets urgency, severity, certainty and expires from the primary <info>. */
static int import_assessment(struct import *import, json_t *info)
{
    static const struct {
        const char *element;
        const struct word_map *map;
    } fields[] = {{"urgency", urgencies}, {"severity", severities}, {"certainty", certainties}};
    const char *expires = text_of(info, "expires");
    char when[32];
    struct tm tm;
    time_t at;

    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        const char *value = required_text(import, info, fields[i].element, "info");

        if (value == NULL || (value = map_word(import, fields[i].map, value,
                                               fields[i].element)) == NULL) {
            return -1;
        }
        json_object_set_new(import->alert, fields[i].element, json_string(value));
    }
    if (expires != NULL) {
        if (check_time(import, expires, "expires", &at) != 0) {
            return -1;
        }
        json_object_set_new(import->alert, "expires", json_string(expires));
        return 0;
    }
    check_time(import, json_string_value(json_object_get(import->alert, "sent")), "sent",
               &at);
    at += (time_t)llround(import->options->expires_hours * 3600);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&at, &tm));
    json_object_set_new(import->alert, "expires", json_string(when));
    return 0;
}

/* Reads "lat,lon" at *text into a GeoJSON position [lon, lat] and moves past it. */
static int read_position(struct import *import, const char **text, double position[2],
                         const char *element)
{
    double lat;
    double lon;
    int consumed = 0;

    if (sscanf(*text, "%lf,%lf%n", &lat, &lon, &consumed) != 2 ||
        ((*text)[consumed] != '\0' && !isspace((unsigned char)(*text)[consumed]))) {
        return fail(import, "<%s> point \"%.40s\" is not lat,lon", element, *text);
    }
    if (!isfinite(lat) || !isfinite(lon) || lat < -90 || lat > 90 || lon < -180 ||
        lon > 180) {
        return fail(import, "<%s> point %g,%g is outside -90..90, -180..180", element, lat,
                    lon);
    }
    *text += consumed;
    position[0] = lon;
    position[1] = lat;
    return 0;
}

/* Converts a CAP polygon "lat,lon lat,lon ..." into a GeoJSON Polygon. */
static json_t *polygon_of(struct import *import, const char *text)
{
    json_t *ring = json_array();
    double position[2];
    double first[2] = {0, 0};

    for (;;) {
        text += strspn(text, " \t\r\n");
        if (*text == '\0') {
            break;
        }
        if (read_position(import, &text, position, "polygon") != 0 ||
            json_array_size(ring) == POLYGON_POSITIONS_MAX) {
            if (json_array_size(ring) == POLYGON_POSITIONS_MAX) {
                fail(import, "<polygon> has more than %d points", POLYGON_POSITIONS_MAX);
            }
            json_decref(ring);
            return NULL;
        }
        if (json_array_size(ring) == 0) {
            memcpy(first, position, sizeof(first));
        }
        json_array_append_new(ring, json_pack("[f,f]", position[0], position[1]));
    }
    if (json_array_size(ring) > 0 &&
        (position[0] != first[0] || position[1] != first[1])) {
        warn(import, "<polygon> was not closed: its first point was added at the end");
        json_array_append_new(ring, json_pack("[f,f]", first[0], first[1]));
    }
    if (json_array_size(ring) < 4) {
        json_decref(ring);
        fail(import, "<polygon> has fewer than 4 points (first and last equal)");
        return NULL;
    }
    return json_pack("{s:s, s:[o]}", "type", "Polygon", "coordinates", ring);
}

/* Reads a CAP circle "lat,lon radius" (radius in km). */
static int read_circle(struct import *import, const char *text, double center[2],
                       double *radius)
{
    int consumed = 0;

    if (read_position(import, &text, center, "circle") != 0) {
        return -1;
    }
    if (sscanf(text, " %lf %n", radius, &consumed) != 1 || text[consumed] != '\0' ||
        !isfinite(*radius) || *radius < 0) {
        return fail(import, "<circle> radius \"%s\" is not a number of kilometres",
                    text);
    }
    return 0;
}

/* Adds `code` to the area's countries once. */
static void add_country(json_t *area, const char *code)
{
    json_t *countries = json_object_get(area, "countries");
    size_t i;
    json_t *item;

    if (countries == NULL) {
        countries = json_array();
        json_object_set_new(area, "countries", countries);
    }
    json_array_foreach(countries, i, item)
    {
        if (strcmp(json_string_value(item), code) == 0) {
            return;
        }
    }
    json_array_append_new(countries, json_string(code));
}

static int is_state_code(const char *text)
{
    return text != NULL && strlen(text) == 2 && isupper((unsigned char)text[0]) &&
           isupper((unsigned char)text[1]);
}

/* Appends `text` to the growing area description, "; " between parts. */
static void append_description(char *buf, size_t size, const char *text)
{
    size_t used = strlen(buf);

    snprintf(buf + used, size - used, "%s%s", used > 0 ? "; " : "", text);
}

/* Reads one <area>: description parts, geometry and countries. */
static int import_one_area(struct import *import, json_t *cap_area, json_t *area,
                           char *description, size_t size)
{
    const char *area_desc = text_of(cap_area, "areaDesc");
    size_t i;
    json_t *item;
    char note[160];

    if (area_desc != NULL) {
        append_description(description, size, area_desc);
    }
    json_array_foreach(elements(cap_area, "polygon"), i, item)
    {
        json_t *geometry;

        if (json_string_value(item) == NULL) {
            continue;
        }
        if (json_object_get(area, "geometry") != NULL) {
            warn(import, "an extra <polygon> was left out: an IACTN area has one "
                         "geometry");
            continue;
        }
        geometry = polygon_of(import, json_string_value(item));
        if (geometry == NULL) {
            return -1;
        }
        json_object_set_new(area, "geometry", geometry);
    }
    json_array_foreach(elements(cap_area, "circle"), i, item)
    {
        double center[2];
        double radius;

        if (json_string_value(item) == NULL) {
            continue;
        }
        if (read_circle(import, json_string_value(item), center, &radius) != 0) {
            return -1;
        }
        if (radius == 0 && json_object_get(area, "geometry") == NULL) {
            json_object_set_new(area, "geometry",
                                json_pack("{s:s, s:[f,f]}", "type", "Point",
                                          "coordinates", center[0], center[1]));
            continue;
        }
        snprintf(note, sizeof(note), "circle centre %.6g,%.6g radius %.6g km", center[1],
                 center[0], radius);
        append_description(description, size, note);
    }
    json_array_foreach(elements(cap_area, "geocode"), i, item)
    {
        const char *name = text_of(item, "valueName");
        const char *value = text_of(item, "value");

        if (name != NULL && (strncasecmp(name, "ISO3166-1", 9) == 0 ||
                             strncasecmp(name, "ISO 3166-1", 10) == 0) &&
            is_state_code(value)) {
            add_country(area, value);
        }
    }
    return 0;
}

/* Builds the IACTN area from the <area> elements of the primary <info>. */
static int import_area(struct import *import, json_t *info)
{
    json_t *area = json_object();
    char description[2048] = "";
    size_t i;
    json_t *cap_area;

    json_array_foreach(elements(info, "area"), i, cap_area)
    {
        if (json_is_object(cap_area) &&
            import_one_area(import, cap_area, area, description, sizeof(description)) !=
                0) {
            json_decref(area);
            return -1;
        }
    }
    if (description[0] != '\0') {
        json_object_set_new(area, "description", json_string(description));
    }
    if (json_object_size(area) > 0) {
        json_object_set_new(import->alert, "area", area);
    } else {
        json_decref(area);
    }
    return 0;
}

/* Returns the TLP that a "TLP:X" marking in `restriction` names, or NULL. */
static const char *tlp_marking(const char *restriction)
{
    for (const char *p = restriction; p != NULL && *p != '\0'; p++) {
        char word[16];
        size_t len;

        if (strncasecmp(p, "TLP:", 4) != 0) {
            continue;
        }
        len = strspn(p + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+");
        if (len == 0 || len >= sizeof(word)) {
            continue;
        }
        for (size_t i = 0; i < len; i++) {
            word[i] = (char)toupper((unsigned char)p[4 + i]);
        }
        word[len] = '\0';
        for (size_t m = 0; tlp_markings[m].cap != NULL; m++) {
            if (strcmp(word, tlp_markings[m].cap) == 0) {
                return tlp_markings[m].iactn;
            }
        }
    }
    return NULL;
}

static int is_id(const char *text)
{
    if (!islower((unsigned char)text[0]) && !isdigit((unsigned char)text[0])) {
        return 0;
    }
    for (const char *p = text; *p != '\0'; p++) {
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-') {
            return 0;
        }
    }
    return strlen(text) <= 63;
}

static void add_unique(json_t *distribution, const char *list, const char *value)
{
    json_t *array = json_object_get(distribution, list);
    size_t i;
    json_t *item;

    if (array == NULL) {
        array = json_array();
        json_object_set_new(distribution, list, array);
    }
    json_array_foreach(array, i, item)
    {
        if (strcmp(json_string_value(item), value) == 0) {
            return;
        }
    }
    json_array_append_new(array, json_string(value));
}

/* Sorts one CAP address into the distribution: state code, group:ID or agency id. */
static void add_address(const struct import *import, json_t *distribution,
                        const char *address)
{
    if (is_state_code(address)) {
        add_unique(distribution, "states", address);
    } else if (strncmp(address, "group:", 6) == 0 && is_id(address + 6)) {
        add_unique(distribution, "groups", address + 6);
    } else if (is_id(address)) {
        add_unique(distribution, "agencies", address);
    } else {
        warn(import, "address \"%s\" left out: it is not a state code, an agency id or "
                     "group:ID",
             address);
    }
}

/* Reads <addresses>: space-separated, with double quotes around addresses that
 * contain spaces. */
static json_t *distribution_of(const struct import *import, const char *addresses)
{
    json_t *distribution = json_object();
    char address[ADDRESS_MAX];

    while (addresses != NULL && *addresses != '\0') {
        size_t len;

        addresses += strspn(addresses, " \t\r\n");
        if (*addresses == '"') {
            addresses++;
            len = strcspn(addresses, "\"");
        } else {
            len = strcspn(addresses, " \t\r\n");
        }
        if (len > 0) {
            snprintf(address, sizeof(address), "%.*s", (int)len, addresses);
            add_address(import, distribution, address);
        }
        addresses += len;
        if (*addresses == '"') {
            addresses++;
        }
    }
    if (json_object_size(distribution) == 0) {
        json_decref(distribution);
        return NULL;
    }
    return distribution;
}

/* Sets tlp (and distribution) from <scope>, <restriction> and <addresses>. */
static int import_scope(struct import *import, json_t *document)
{
    const char *scope = required_text(import, document, "scope", "alert");
    const char *tlp = tlp_marking(text_of(document, "restriction"));
    json_t *distribution = distribution_of(import, text_of(document, "addresses"));

    if (scope == NULL) {
        json_decref(distribution);
        return -1;
    }
    if (tlp == NULL) {
        if (strcmp(scope, "Public") == 0) {
            tlp = "CLEAR";
        } else if (strcmp(scope, "Restricted") == 0) {
            tlp = "GREEN";
        } else if (strcmp(scope, "Private") == 0) {
            tlp = json_object_get(distribution, "agencies") != NULL ? "AMBER+STRICT"
                                                                     : "AMBER";
        } else {
            json_decref(distribution);
            return fail(import, "<scope> \"%s\" is not Public, Restricted or Private",
                        scope);
        }
    }
    json_object_set_new(import->alert, "tlp", json_string(tlp));
    if (distribution != NULL) {
        json_object_set_new(import->alert, "distribution", distribution);
    }
    return 0;
}

/* Warns about the parts of the primary <info> that IACTN has no place for. */
static void warn_left_out(const struct import *import, json_t *info)
{
    size_t count = json_array_size(elements(info, "resource"));

    if (count > 0) {
        warn(import, "%zu <resource> element(s) left out: CAP gives SHA-1 digests and "
                     "IACTN attachments need SHA-256",
             count);
    }
}

/* Returns the first <info> in an IACTN language, which gives the fields that are not
 * per language, or the first <info> of all when none is. */
static json_t *primary_info(json_t *infos)
{
    size_t i;
    json_t *info;

    json_array_foreach(infos, i, info)
    {
        if (json_is_object(info) && language_of(text_of(info, "language")) != NULL) {
            return info;
        }
    }
    return json_array_get(infos, 0);
}

json_t *cap_to_alert(json_t *document, const struct cap_import_options *options,
                     struct cap_error *error)
{
    struct import import = {options, error, json_object()};
    json_t *infos = elements(document, "info");
    json_t *first = primary_info(infos);
    const char *note = text_of(document, "note");

    error->message[0] = '\0';
    if (import.alert == NULL) {
        snprintf(error->message, sizeof(error->message), "out of memory");
        return NULL;
    }
    if (import_header(&import, document) != 0 ||
        import_references(&import, document) != 0 || import_scope(&import, document) != 0) {
        goto fail;
    }
    if (!json_is_object(first)) {
        fail(&import, "missing <info>: IACTN alerts need a headline and description");
        goto fail;
    }
    if (import_category(&import, first) != 0 || import_assessment(&import, first) != 0 ||
        import_texts(&import, infos, note) != 0 || import_area(&import, first) != 0) {
        goto fail;
    }
    warn_left_out(&import, first);
    return import.alert;

fail:
    json_decref(import.alert);
    return NULL;
}
