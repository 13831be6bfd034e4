#include "compose.h"

#include "alert.h"
#include "prompt.h"

#include <ctype.h>
#include <math.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

const char *const compose_languages[LANGUAGE_COUNT] = {"en", "es", "pt", "fr"};

int compose_uuid(char out[37])
{
    unsigned char bytes[16];
    size_t len = 0;

    if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
        return -1;
    }
    /* RFC 9562: version 4 in the high nibble of byte 6, variant 10 in byte 8. */
    bytes[6] = (unsigned char)((bytes[6] & 0x0f) | 0x40);
    bytes[8] = (unsigned char)((bytes[8] & 0x3f) | 0x80);
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out[len++] = '-';
        }
        len += (size_t)snprintf(out + len, 37 - len, "%02x", bytes[i]);
    }
    out[36] = '\0';
    return 0;
}

void compose_format_time(time_t t, char out[32])
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int usage_error(const char *message, const char *value)
{
    if (value != NULL) {
        fprintf(stderr, PROGRAM ": %s: \"%s\"\n", message, value);
    } else {
        fprintf(stderr, PROGRAM ": %s\n", message);
    }
    return -1;
}

/*
 * Adds the comma-separated `list` as an array member `name` of `distribution`, each
 * item trimmed and, if `upper`, upper-cased. Empty items are skipped. Returns 0, or -1
 * after printing the problem.
 */
static int add_list(json_t *distribution, const char *name, const char *list, int upper)
{
    json_t *array = json_array();
    char *copy = strdup(list);
    char *save = NULL;
    int rc = -1;

    if (array == NULL || copy == NULL) {
        usage_error("out of memory", NULL);
        goto out;
    }
    for (char *item = strtok_r(copy, ",", &save); item != NULL;
         item = strtok_r(NULL, ",", &save)) {
        char *end;

        while (isspace((unsigned char)*item)) {
            item++;
        }
        end = item + strlen(item);
        while (end > item && isspace((unsigned char)end[-1])) {
            *--end = '\0';
        }
        for (char *p = item; upper && *p != '\0'; p++) {
            *p = (char)toupper((unsigned char)*p);
        }
        if (*item != '\0') {
            json_array_append_new(array, json_string(item));
        }
    }
    if (json_array_size(array) == 0) {
        usage_error("empty list", list);
        goto out;
    }
    json_object_set(distribution, name, array);
    rc = 0;

out:
    json_decref(array);
    free(copy);
    return rc;
}

static json_t *language_map(const char *const texts[LANGUAGE_COUNT], const char *any,
                            const char *lang)
{
    json_t *map = json_object();

    for (int i = 0; i < LANGUAGE_COUNT; i++) {
        if (texts[i] != NULL) {
            json_object_set_new(map, compose_languages[i], json_string(texts[i]));
        }
    }
    if (any != NULL) {
        json_object_set_new(map, lang, json_string(any));
    }
    return map;
}

int compose_expires_hours(const char *text, double *hours)
{
    char *end;

    if (text == NULL) {
        *hours = COMPOSE_EXPIRES_DEFAULT_HOURS;
        return 0;
    }
    *hours = strtod(text, &end);
    if (end == text || *end != '\0' || !isfinite(*hours) || *hours <= 0 ||
        *hours > COMPOSE_EXPIRES_MAX_HOURS) {
        fprintf(stderr,
                PROGRAM ": invalid --expires-in \"%s\": expected hours, more than 0 "
                        "and at most %d\n",
                text, COMPOSE_EXPIRES_MAX_HOURS);
        return -1;
    }
    return 0;
}

static int has_texts(const char *const texts[LANGUAGE_COUNT], const char *any)
{
    for (int i = 0; i < LANGUAGE_COUNT; i++) {
        if (texts[i] != NULL) {
            return 1;
        }
    }
    return any != NULL;
}

/* A cancellation needs no text of its own: it gets a standard one. */
static int texts_optional(const struct tool_options *options)
{
    return options->command == CMD_CANCEL;
}

static int missing_required(const struct tool_options *options)
{
    return options->category == NULL || options->tlp == NULL ||
           (!texts_optional(options) &&
            (!has_texts(options->headline, options->headline_any) ||
             !has_texts(options->description, options->description_any)));
}

static int report_missing(const struct tool_options *options)
{
    if (options->category == NULL) {
        return usage_error("missing --category (e.g. attack, travel, cyber)", NULL);
    }
    if (options->tlp == NULL) {
        return usage_error("missing --tlp (CLEAR, GREEN, AMBER, AMBER+STRICT or RED)",
                           NULL);
    }
    return usage_error("missing --headline-en (or -es, -pt, -fr, or --headline) or "
                       "--description-en (or -es, -pt, -fr, or --description)",
                       NULL);
}

int compose_add_distribution(json_t *alert, const struct tool_options *options)
{
    json_t *distribution;
    int rc = 0;

    if (options->to == NULL && options->agencies == NULL && options->groups == NULL) {
        return 0;
    }
    distribution = json_object();
    if (options->to != NULL) {
        rc |= add_list(distribution, "states", options->to, 1);
    }
    if (options->agencies != NULL) {
        rc |= add_list(distribution, "agencies", options->agencies, 0);
    }
    if (options->groups != NULL) {
        rc |= add_list(distribution, "groups", options->groups, 0);
    }
    json_object_set_new(alert, "distribution", distribution);
    return rc;
}

/* The standard text of a cancellation, per language, with %s for the alert id. */
static const char *const cancel_headlines[LANGUAGE_COUNT] = {
    "Cancelled: alert %s",
    "Cancelada: alerta %s",
    "Cancelado: alerta %s",
    "Annulée : alerte %s",
};
static const char *const cancel_descriptions[LANGUAGE_COUNT] = {
    "The sender cancelled alert %s. Disregard it.",
    "El remitente canceló la alerta %s. No la tenga en cuenta.",
    "O remetente cancelou o alerta %s. Desconsidere-o.",
    "L'expéditeur a annulé l'alerte %s. N'en tenez plus compte.",
};

static json_t *standard_texts(const char *const formats[LANGUAGE_COUNT], const char *id)
{
    json_t *map = json_object();
    char text[256];

    for (int i = 0; i < LANGUAGE_COUNT; i++) {
        snprintf(text, sizeof(text), formats[i], id);
        json_object_set_new(map, compose_languages[i], json_string(text));
    }
    return map;
}

static const char *msg_type_of(enum command command)
{
    switch (command) {
    case CMD_UPDATE:
        return "update";
    case CMD_CANCEL:
        return "cancel";
    default:
        return "alert";
    }
}

void compose_report_invalid(const struct iactn_alert_error *error, const char *what)
{
    const char *hint = "";

    /* The TLP rules are the ones a user fixes with the distribution flags. */
    if (strcmp(error->reason, "tlp_requires_agencies") == 0) {
        hint = " (give --agencies)";
    } else if (strcmp(error->reason, "tlp_requires_distribution") == 0) {
        hint = " (give --to, --agencies or --groups)";
    }
    fprintf(stderr, PROGRAM ": %s do not make a valid alert: %s%s\n", what,
            error->message, hint);
}

/* Builds the alert from complete flags. Returns it, or NULL after printing why. */
static json_t *build(const struct tool_options *options)
{
    char id[37];
    char sent[32];
    char expires[32];
    double hours;
    time_t now = time(NULL);
    json_t *headline;
    json_t *description;
    json_t *alert;

    if (compose_expires_hours(options->expires_in, &hours) != 0) {
        return NULL;
    }
    if (compose_uuid(id) != 0) {
        usage_error("cannot generate an alert id: the random generator failed", NULL);
        return NULL;
    }
    compose_format_time(now, sent);
    compose_format_time(now + (time_t)llround(hours * 3600), expires);
    headline = language_map(options->headline, options->headline_any, options->lang);
    description =
        language_map(options->description, options->description_any, options->lang);
    if (texts_optional(options) && json_object_size(headline) == 0) {
        json_decref(headline);
        headline = standard_texts(cancel_headlines, options->alert_id);
    }
    if (texts_optional(options) && json_object_size(description) == 0) {
        json_decref(description);
        description = standard_texts(cancel_descriptions, options->alert_id);
    }

    alert = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s}", "id", id, "sent",
        sent, "status", options->status ? options->status : "actual", "msg_type",
        msg_type_of(options->command), "tlp", options->tlp, "category", options->category,
        "urgency", options->urgency ? options->urgency : "unknown", "severity",
        options->severity ? options->severity : "unknown", "certainty",
        options->certainty ? options->certainty : "unknown", "headline", headline,
        "description", description, "expires", expires);
    if (alert != NULL && options->alert_id != NULL) {
        json_object_set_new(alert, "references", json_pack("[s]", options->alert_id));
    }
    if (alert == NULL || compose_add_distribution(alert, options) != 0) {
        json_decref(alert);
        return NULL;
    }
    return alert;
}

json_t *compose_alert(const struct tool_options *options, int *prompted, int *exit_code)
{
    struct tool_options effective = *options;
    struct prompt_answers answers = {0};
    struct iactn_alert_error error;
    json_t *alert = NULL;

    *prompted = 0;
    *exit_code = EXIT_USAGE;
    if (missing_required(&effective)) {
        if (!prompt_available()) {
            report_missing(&effective);
            goto out;
        }
        *prompted = 1;
        if (prompt_missing(&effective, &answers, texts_optional(&effective)) != 0) {
            fprintf(stderr, PROGRAM ": input ended; nothing was published\n");
            *exit_code = EXIT_ABORTED;
            goto out;
        }
    }
    alert = build(&effective);
    if (alert != NULL && alert_validate(alert, &error) != 0) {
        compose_report_invalid(&error, "the flags");
        json_decref(alert);
        alert = NULL;
    }

out:
    prompt_free(&answers);
    return alert;
}

/* Returns `references` with `id` first and without duplicates (a new reference). */
static json_t *references_with(json_t *references, const char *id)
{
    json_t *result = json_pack("[s]", id);
    size_t i;
    json_t *item;

    json_array_foreach(references, i, item)
    {
        const char *text = json_string_value(item);

        if (text != NULL && strcasecmp(text, id) != 0) {
            json_array_append(result, item);
        }
    }
    return result;
}

int compose_complete(json_t *alert, const struct tool_options *options)
{
    const char *id = json_string_value(json_object_get(alert, "id"));
    char new_id[37];
    char when[32];
    double hours;
    time_t now = time(NULL);

    if (options->command != CMD_UPDATE && options->command != CMD_CANCEL) {
        return 0;
    }
    if (compose_expires_hours(options->expires_in, &hours) != 0) {
        return -1;
    }
    json_object_set_new(alert, "msg_type", json_string(msg_type_of(options->command)));
    json_object_set_new(alert, "references",
                        references_with(json_object_get(alert, "references"),
                                        options->alert_id));
    /* A file edited from the original still carries the original's id. */
    if (id == NULL || strcasecmp(id, options->alert_id) == 0) {
        if (compose_uuid(new_id) != 0) {
            return usage_error("cannot generate an alert id: the random generator failed",
                               NULL);
        }
        json_object_set_new(alert, "id", json_string(new_id));
    }
    if (json_object_get(alert, "sent") == NULL) {
        compose_format_time(now, when);
        json_object_set_new(alert, "sent", json_string(when));
    }
    if (json_object_get(alert, "expires") == NULL) {
        compose_format_time(now + (time_t)llround(hours * 3600), when);
        json_object_set_new(alert, "expires", json_string(when));
    }
    return 0;
}
