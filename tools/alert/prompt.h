/*
 * The interactive prompt of publish, update and cancel: when standard input is a
 * terminal and a required field is missing, asks for each missing field on standard
 * error and reads the answers from standard input, then asks for confirmation.
 */
#ifndef IACTN_ALERT_PROMPT_H
#define IACTN_ALERT_PROMPT_H

#include "iactn_alert.h"

/* Answers typed at the prompt; each is NULL or a string the struct owns. */
struct prompt_answers {
    char *category;
    char *tlp;
    char *headline;
    char *description;
    char *severity;
    char *urgency;
    char *certainty;
    char *to;
    char *agencies;
};

/* Returns 1 when standard input is a terminal, so that the prompt may ask. */
int prompt_available(void);

/*
 * Asks for every field of `options` that is unset among category, TLP, headline and
 * description (in options->lang; not asked when `texts_optional`), severity, urgency
 * and certainty, and the distribution that the TLP requires. Each answer is checked
 * and asked again until valid. Sets the options' fields to point into `answers`.
 * Returns 0, or -1 when standard input ends. Blocks on the terminal.
 */
int prompt_missing(struct tool_options *options, struct prompt_answers *answers,
                   int texts_optional);

/* Asks `question` followed by " [y/N] ". Returns 1 for y or yes, 0 otherwise. */
int prompt_confirm(const char *question);

/* Frees the answers and resets them to NULL. */
void prompt_free(struct prompt_answers *answers);

#endif
