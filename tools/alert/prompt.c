#include "prompt.h"

#include "topic.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Checks one answer; returns 0 when it is acceptable, else -1 after printing why. */
typedef int (*answer_check)(char *answer);

static const char *const tlps[] = {"CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED", NULL};
static const char *const severities[] = {"extreme", "severe",  "moderate",
                                         "minor",   "unknown", NULL};
static const char *const urgencies[] = {"immediate", "expected", "future",
                                        "past",      "unknown",  NULL};
static const char *const certainties[] = {"observed", "likely",  "possible",
                                          "unlikely", "unknown", NULL};

int prompt_available(void)
{
    return isatty(STDIN_FILENO);
}

/* Reads one line from stdin without its newline and surrounding spaces. Returns a
 * new string, or NULL at the end of input. */
static char *read_answer(void)
{
    char *line = NULL;
    size_t size = 0;
    ssize_t len = getline(&line, &size, stdin);
    char *start;

    if (len < 0) {
        free(line);
        return NULL;
    }
    while (len > 0 && isspace((unsigned char)line[len - 1])) {
        line[--len] = '\0';
    }
    start = line;
    while (isspace((unsigned char)*start)) {
        start++;
    }
    memmove(line, start, strlen(start) + 1);
    return line;
}

static int in_list(const char *answer, const char *const *choices)
{
    for (size_t i = 0; choices[i] != NULL; i++) {
        if (strcasecmp(answer, choices[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Accepts one of `choices` in any case and rewrites it in upper or lower case. */
static int check_choice(char *answer, const char *const *choices, int upper)
{
    if (!in_list(answer, choices)) {
        fprintf(stderr, "  invalid value; expected one of:");
        for (size_t i = 0; choices[i] != NULL; i++) {
            fprintf(stderr, " %s", choices[i]);
        }
        fputc('\n', stderr);
        return -1;
    }
    for (char *p = answer; *p != '\0'; p++) {
        *p = (char)(upper ? toupper((unsigned char)*p) : tolower((unsigned char)*p));
    }
    return 0;
}

static int check_tlp(char *answer)
{
    return check_choice(answer, tlps, 1);
}

static int check_severity(char *answer)
{
    return check_choice(answer, severities, 0);
}

static int check_urgency(char *answer)
{
    return check_choice(answer, urgencies, 0);
}

static int check_certainty(char *answer)
{
    return check_choice(answer, certainties, 0);
}

static int check_category(char *answer)
{
    if (!topic_is_category(answer)) {
        fprintf(stderr, "  invalid category; expected a slug such as attack, "
                        "imminent-threat, travel, cbrn, cyber\n");
        return -1;
    }
    return 0;
}

static int check_text(char *answer)
{
    if (answer[0] == '\0') {
        fprintf(stderr, "  this field is required\n");
        return -1;
    }
    return 0;
}

static int check_list(char *answer)
{
    return check_text(answer);
}

/*
 * Asks `question` until the answer passes `check`. An empty answer takes
 * `default_value` when there is one. Returns the answer (owned by the caller) or NULL
 * at the end of input.
 */
static char *ask(const char *question, const char *default_value, answer_check check)
{
    for (;;) {
        char *answer;

        if (default_value != NULL) {
            fprintf(stderr, "%s [%s]: ", question, default_value);
        } else {
            fprintf(stderr, "%s: ", question);
        }
        fflush(stderr);
        answer = read_answer();
        if (answer == NULL) {
            fputc('\n', stderr);
            return NULL;
        }
        if (answer[0] == '\0' && default_value != NULL) {
            free(answer);
            answer = strdup(default_value);
        }
        if (answer != NULL && check(answer) == 0) {
            return answer;
        }
        free(answer);
    }
}

/* Asks for *field when it is unset; stores the answer in *slot. Returns 0 or -1. */
static int ask_field(const char **field, char **slot, const char *question,
                     const char *default_value, answer_check check)
{
    if (*field != NULL) {
        return 0;
    }
    *slot = ask(question, default_value, check);
    if (*slot == NULL) {
        return -1;
    }
    *field = *slot;
    return 0;
}

static int has_text(const char *const texts[LANGUAGE_COUNT], const char *any)
{
    for (int i = 0; i < LANGUAGE_COUNT; i++) {
        if (texts[i] != NULL) {
            return 1;
        }
    }
    return any != NULL;
}

/* Asks for the distribution that the TLP needs when the flags gave none. */
static int ask_distribution(struct tool_options *options, struct prompt_answers *answers)
{
    const char *tlp = options->tlp;

    if ((strcmp(tlp, "AMBER+STRICT") == 0 || strcmp(tlp, "RED") == 0) &&
        options->agencies == NULL) {
        return ask_field(&options->agencies, &answers->agencies,
                         "Receiving agencies (comma-separated ids, required by this TLP)",
                         NULL, check_list);
    }
    if (strcmp(tlp, "AMBER") == 0 && options->to == NULL && options->agencies == NULL &&
        options->groups == NULL) {
        return ask_field(&options->to, &answers->to,
                         "Receiving states (comma-separated codes such as MX,CA; "
                         "required by AMBER)",
                         NULL, check_list);
    }
    return 0;
}

int prompt_missing(struct tool_options *options, struct prompt_answers *answers,
                   int texts_optional)
{
    char headline_question[80];
    char description_question[80];

    snprintf(headline_question, sizeof(headline_question), "Headline (%s)", options->lang);
    snprintf(description_question, sizeof(description_question), "Description (%s)",
             options->lang);
    fprintf(stderr, "Missing alert fields; press Ctrl-D to stop.\n");
    if (ask_field(&options->category, &answers->category, "Category", NULL,
                  check_category) != 0 ||
        ask_field(&options->tlp, &answers->tlp,
                  "TLP (CLEAR, GREEN, AMBER, AMBER+STRICT, RED)", NULL, check_tlp) != 0) {
        return -1;
    }
    if (!texts_optional && !has_text(options->headline, options->headline_any) &&
        ask_field(&options->headline_any, &answers->headline, headline_question, NULL,
                  check_text) != 0) {
        return -1;
    }
    if (!texts_optional && !has_text(options->description, options->description_any) &&
        ask_field(&options->description_any, &answers->description,
                  description_question, NULL, check_text) != 0) {
        return -1;
    }
    if (ask_field(&options->severity, &answers->severity,
                  "Severity (extreme, severe, moderate, minor, unknown)", "unknown",
                  check_severity) != 0 ||
        ask_field(&options->urgency, &answers->urgency,
                  "Urgency (immediate, expected, future, past, unknown)", "unknown",
                  check_urgency) != 0 ||
        ask_field(&options->certainty, &answers->certainty,
                  "Certainty (observed, likely, possible, unlikely, unknown)", "unknown",
                  check_certainty) != 0) {
        return -1;
    }
    return ask_distribution(options, answers);
}

int prompt_confirm(const char *question)
{
    char *answer;
    int yes;

    fprintf(stderr, "%s [y/N] ", question);
    fflush(stderr);
    answer = read_answer();
    if (answer == NULL) {
        fputc('\n', stderr);
        return 0;
    }
    yes = strcasecmp(answer, "y") == 0 || strcasecmp(answer, "yes") == 0;
    free(answer);
    return yes;
}

void prompt_free(struct prompt_answers *answers)
{
    char **fields[] = {&answers->category, &answers->tlp,      &answers->headline,
                       &answers->description, &answers->severity, &answers->urgency,
                       &answers->certainty, &answers->to,       &answers->agencies};

    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        free(*fields[i]);
        *fields[i] = NULL;
    }
}
