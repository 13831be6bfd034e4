#include "compose.h"

#include "alert.h"

#include <ctype.h>
#include <math.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const compose_languages[4] = {"en", "es", "pt", "fr"};

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

static void format_time(time_t t, char out[32])
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

static json_t *language_map(const char *const texts[4], const char *any, const char *lang)
{
    json_t *map = json_object();

    for (int i = 0; i < 4; i++) {
        if (texts[i] != NULL) {
            json_object_set_new(map, compose_languages[i], json_string(texts[i]));
        }
    }
    if (any != NULL) {
        json_object_set_new(map, lang, json_string(any));
    }
    return map;
}

static int parse_expires(const char *text, double *hours)
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

static int check_required(const struct tool_options *options)
{
    int have_headline = options->headline_any != NULL;
    int have_description = options->description_any != NULL;

    for (int i = 0; i < 4; i++) {
        have_headline |= options->headline[i] != NULL;
        have_description |= options->description[i] != NULL;
    }
    if (options->category == NULL) {
        return usage_error("missing --category (e.g. attack, travel, cyber)", NULL);
    }
    if (options->tlp == NULL) {
        return usage_error("missing --tlp (CLEAR, GREEN, AMBER, AMBER+STRICT or RED)",
                           NULL);
    }
    if (!have_headline || !have_description) {
        return usage_error("missing --headline-en (or -es, -pt, -fr) or --description-en",
                           NULL);
    }
    return 0;
}

/* Adds the distribution from --to, --agencies and --groups, if any was given. */
static int add_distribution(json_t *alert, const struct tool_options *options)
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

json_t *compose_alert(const struct tool_options *options)
{
    struct iactn_alert_error error;
    const char *hint = "";
    char id[37];
    char sent[32];
    char expires[32];
    double hours;
    time_t now = time(NULL);
    json_t *alert;

    if (check_required(options) != 0 || parse_expires(options->expires_in, &hours) != 0) {
        return NULL;
    }
    if (compose_uuid(id) != 0) {
        usage_error("cannot generate an alert id: the random generator failed", NULL);
        return NULL;
    }
    format_time(now, sent);
    format_time(now + (time_t)llround(hours * 3600), expires);

    alert = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s}", "id", id, "sent",
        sent, "status", options->status ? options->status : "actual", "msg_type", "alert",
        "tlp", options->tlp, "category", options->category, "urgency",
        options->urgency ? options->urgency : "unknown", "severity",
        options->severity ? options->severity : "unknown", "certainty",
        options->certainty ? options->certainty : "unknown", "headline",
        language_map(options->headline, options->headline_any, options->lang),
        "description",
        language_map(options->description, options->description_any, options->lang),
        "expires", expires);
    if (alert == NULL || add_distribution(alert, options) != 0) {
        json_decref(alert);
        return NULL;
    }

    if (alert_validate(alert, &error) != 0) {
        /* The TLP rules are the ones a user fixes with the distribution flags. */
        if (strcmp(error.reason, "tlp_requires_agencies") == 0) {
            hint = " (give --agencies)";
        } else if (strcmp(error.reason, "tlp_requires_distribution") == 0) {
            hint = " (give --to, --agencies or --groups)";
        }
        fprintf(stderr, PROGRAM ": the flags do not make a valid alert: %s%s\n",
                error.message, hint);
        json_decref(alert);
        return NULL;
    }
    return alert;
}
