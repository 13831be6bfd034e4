/*
 * IACTN to CAP 1.2: writes an alert as a CAP document, elements in the order the CAP
 * 1.2 schema requires.
 */
#include "cap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const alert_languages[] = {"en", "es", "pt", "fr"};

/* Writes `text` as XML character data. XML 1.0 cannot carry control characters other
 * than tab, newline and carriage return, so those become spaces. */
static void put_escaped(FILE *out, const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        switch (*p) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\r':
            fputs("&#13;", out);
            break;
        default:
            fputc(*p < 0x20 && *p != '\t' && *p != '\n' ? ' ' : *p, out);
        }
    }
}

static void put_element(FILE *out, int depth, const char *name, const char *text)
{
    fprintf(out, "%*s<%s>", depth * 2, "", name);
    put_escaped(out, text);
    fprintf(out, "</%s>\n", name);
}

/* Writes `value` with its first letter in upper case: "actual" becomes "Actual". */
static void put_word(FILE *out, int depth, const char *name, const char *value)
{
    char word[32];

    snprintf(word, sizeof(word), "%s", value);
    if (word[0] >= 'a' && word[0] <= 'z') {
        word[0] = (char)(word[0] - 'a' + 'A');
    }
    put_element(out, depth, name, word);
}

/* Writes an RFC 3339 time in CAP's form: seconds, no fraction, a numeric offset. */
static void cap_time(const char *rfc3339, char out[32])
{
    const char *offset = rfc3339 + 19;

    offset += strspn(offset, ".0123456789");
    snprintf(out, 32, "%.19s%s", rfc3339, *offset == 'Z' || *offset == 'z' ? "+00:00" : offset);
}

static const char *text_at(json_t *object, const char *name)
{
    return json_string_value(json_object_get(object, name));
}

/* CAP scope of a TLP: CLEAR is public, TLPs limited to named agencies are private. */
static const char *scope_of(const char *tlp, json_t *distribution)
{
    if (strcmp(tlp, "CLEAR") == 0) {
        return "Public";
    }
    if (json_array_size(json_object_get(distribution, "agencies")) > 0 &&
        (strcmp(tlp, "AMBER+STRICT") == 0 || strcmp(tlp, "RED") == 0)) {
        return "Private";
    }
    return "Restricted";
}

/* Writes <addresses>: states, agencies, then group:ID, separated by spaces. */
static void put_addresses(FILE *out, json_t *distribution)
{
    static const struct {
        const char *list;
        const char *prefix;
    } lists[] = {{"states", ""}, {"agencies", ""}, {"groups", "group:"}};
    int written = 0;

    for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
        size_t i;
        json_t *item;

        json_array_foreach(json_object_get(distribution, lists[l].list), i, item)
        {
            fputs(written++ == 0 ? "  <addresses>" : " ", out);
            fputs(lists[l].prefix, out);
            put_escaped(out, json_string_value(item));
        }
    }
    if (written > 0) {
        fputs("</addresses>\n", out);
    }
}

/* Returns the entry of `references` whose id is `id`, or NULL. */
static json_t *reference_entry(json_t *references, const char *id)
{
    size_t i;
    json_t *entry;

    json_array_foreach(references, i, entry)
    {
        const char *entry_id = text_at(entry, "id");

        if (entry_id != NULL && strcasecmp(entry_id, id) == 0) {
            return entry;
        }
    }
    return NULL;
}

/* Writes <references> as "sender,identifier,sent" entries. */
static void put_references(FILE *out, json_t *alert, const struct cap_export_options *options)
{
    json_t *references = json_object_get(alert, "references");
    char sent[32];
    size_t i;
    json_t *item;

    if (json_array_size(references) == 0) {
        return;
    }
    fputs("  <references>", out);
    json_array_foreach(references, i, item)
    {
        json_t *entry = reference_entry(options->references, json_string_value(item));
        const char *sender = entry ? text_at(entry, "sender") : NULL;
        const char *when = entry ? text_at(entry, "sent") : NULL;

        cap_time(when != NULL ? when : text_at(alert, "sent"), sent);
        if (i > 0) {
            fputc(' ', out);
        }
        put_escaped(out, sender != NULL ? sender : options->sender);
        fputc(',', out);
        put_escaped(out, json_string_value(item));
        fputc(',', out);
        put_escaped(out, sent);
    }
    fputs("</references>\n", out);
}

static void put_header(FILE *out, json_t *alert, const struct cap_export_options *options)
{
    const char *tlp = text_at(alert, "tlp");
    json_t *distribution = json_object_get(alert, "distribution");
    char sent[32];
    char restriction[32];

    cap_time(text_at(alert, "sent"), sent);
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", out);
    fputs("<alert xmlns=\"" CAP_NAMESPACE "\">\n", out);
    put_element(out, 1, "identifier", text_at(alert, "id"));
    put_element(out, 1, "sender", options->sender);
    put_element(out, 1, "sent", sent);
    put_word(out, 1, "status", text_at(alert, "status"));
    put_word(out, 1, "msgType", text_at(alert, "msg_type"));
    put_element(out, 1, "scope", scope_of(tlp, distribution));
    if (strcmp(tlp, "CLEAR") != 0) {
        snprintf(restriction, sizeof(restriction), "TLP:%s", tlp);
        put_element(out, 1, "restriction", restriction);
    }
    put_addresses(out, distribution);
    put_references(out, alert, options);
}

/* CBRN material and explosives are CAP's CBRNE; every other IACTN category is a
 * security event. */
static const char *cap_category(const char *category)
{
    return strcmp(category, "cbrn") == 0 || strcmp(category, "explosives") == 0
               ? "CBRNE"
               : "Security";
}

static void put_position(FILE *out, json_t *position)
{
    fprintf(out, "%.15g,%.15g", json_number_value(json_array_get(position, 1)),
            json_number_value(json_array_get(position, 0)));
}

static void put_area(FILE *out, json_t *area)
{
    json_t *geometry = json_object_get(area, "geometry");
    const char *type = text_at(geometry, "type");
    const char *description = text_at(area, "description");
    size_t i;
    json_t *item;

    fputs("    <area>\n", out);
    if (description != NULL) {
        put_element(out, 3, "areaDesc", description);
    } else {
        /* areaDesc is required: name the countries when there is no text. */
        fputs("      <areaDesc>", out);
        json_array_foreach(json_object_get(area, "countries"), i, item)
        {
            fprintf(out, "%s", i > 0 ? ", " : "");
            put_escaped(out, json_string_value(item));
        }
        fputs(json_array_size(json_object_get(area, "countries")) == 0 ? "Not specified" : "",
              out);
        fputs("</areaDesc>\n", out);
    }
    if (type != NULL && strcmp(type, "Polygon") == 0) {
        /* CAP polygons have no holes: only the outer ring is written. */
        fputs("      <polygon>", out);
        json_array_foreach(json_array_get(json_object_get(geometry, "coordinates"), 0), i,
                           item)
        {
            fputs(i > 0 ? " " : "", out);
            put_position(out, item);
        }
        fputs("</polygon>\n", out);
    } else if (type != NULL && strcmp(type, "Point") == 0) {
        /* CAP has no point element, so a point is written as a circle of radius 0. */
        fputs("      <circle>", out);
        put_position(out, json_object_get(geometry, "coordinates"));
        fputs(" 0</circle>\n", out);
    }
    json_array_foreach(json_object_get(area, "countries"), i, item)
    {
        fputs("      <geocode>\n", out);
        put_element(out, 4, "valueName", "ISO3166-1");
        put_element(out, 4, "value", json_string_value(item));
        fputs("      </geocode>\n", out);
    }
    fputs("    </area>\n", out);
}

static void put_resources(FILE *out, json_t *attachments)
{
    size_t i;
    json_t *item;
    char size[32];

    json_array_foreach(attachments, i, item)
    {
        const char *media_type = text_at(item, "media_type");

        snprintf(size, sizeof(size), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(item, "size")));
        fputs("    <resource>\n", out);
        put_element(out, 3, "resourceDesc", text_at(item, "name"));
        put_element(out, 3, "mimeType",
                    media_type != NULL ? media_type : "application/octet-stream");
        put_element(out, 3, "size", size);
        fputs("    </resource>\n", out);
    }
}

static void put_info(FILE *out, json_t *alert, const char *lang,
                     const struct cap_export_options *options)
{
    const char *category = text_at(alert, "category");
    const char *headline = text_at(json_object_get(alert, "headline"), lang);
    const char *description = text_at(json_object_get(alert, "description"), lang);
    json_t *sender = json_object_get(json_object_get(alert, "iactn"), "sender");
    char expires[32];

    cap_time(text_at(alert, "expires"), expires);
    fputs("  <info>\n", out);
    put_element(out, 2, "language", lang);
    put_element(out, 2, "category", cap_category(category));
    put_element(out, 2, "event", options->event != NULL ? options->event : category);
    put_word(out, 2, "urgency", text_at(alert, "urgency"));
    put_word(out, 2, "severity", text_at(alert, "severity"));
    put_word(out, 2, "certainty", text_at(alert, "certainty"));
    fputs("    <eventCode>\n", out);
    put_element(out, 3, "valueName", CAP_CATEGORY_CODE);
    put_element(out, 3, "value", category);
    fputs("    </eventCode>\n", out);
    put_element(out, 2, "expires", expires);
    if (text_at(sender, "agency") != NULL) {
        put_element(out, 2, "senderName", text_at(sender, "agency"));
    }
    if (headline != NULL) {
        put_element(out, 2, "headline", headline);
    }
    if (description != NULL) {
        put_element(out, 2, "description", description);
    }
    put_resources(out, json_object_get(alert, "attachments"));
    if (json_is_object(json_object_get(alert, "area"))) {
        put_area(out, json_object_get(alert, "area"));
    }
    fputs("  </info>\n", out);
}

/* Checks the members the writer reads without further checks. */
static int check_members(json_t *alert, struct cap_error *error)
{
    static const char *const strings[] = {"id",       "sent",     "status",   "msg_type",
                                          "tlp",      "category", "urgency",  "severity",
                                          "certainty", "expires"};

    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        const char *value = text_at(alert, strings[i]);

        if (value == NULL || (i == 1 || i == 9 ? strlen(value) < 20 : value[0] == '\0')) {
            snprintf(error->message, sizeof(error->message),
                     "the alert has no valid \"%s\" member", strings[i]);
            return -1;
        }
    }
    return 0;
}

char *cap_from_alert(json_t *alert, const struct cap_export_options *options,
                     struct cap_error *error)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out;

    error->message[0] = '\0';
    if (check_members(alert, error) != 0) {
        return NULL;
    }
    out = open_memstream(&text, &size);
    if (out == NULL) {
        snprintf(error->message, sizeof(error->message), "out of memory");
        return NULL;
    }
    put_header(out, alert, options);
    for (size_t i = 0; i < sizeof(alert_languages) / sizeof(alert_languages[0]); i++) {
        const char *lang = alert_languages[i];

        if (json_object_get(json_object_get(alert, "headline"), lang) != NULL ||
            json_object_get(json_object_get(alert, "description"), lang) != NULL) {
            put_info(out, alert, lang, options);
        }
    }
    fputs("</alert>\n", out);
    if (fclose(out) != 0) {
        free(text);
        snprintf(error->message, sizeof(error->message), "out of memory");
        return NULL;
    }
    return text;
}
