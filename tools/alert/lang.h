/*
 * Languages of alert text: choosing the user's preferred language and picking the text
 * to show from a language map such as {"en": "...", "es": "..."}.
 */
#ifndef IACTN_ALERT_LANG_H
#define IACTN_ALERT_LANG_H

#include <jansson.h>

/*
 * Returns the two-letter alert language ("en", "es", "pt" or "fr") that a locale name
 * such as "es_CO.UTF-8" or "fr" names, or NULL when it names none of them ("C",
 * "POSIX", "de_DE", empty).
 */
const char *lang_from_locale(const char *locale);

/*
 * Returns the preferred language when no flag or setting gives one: the language of
 * the first of LC_ALL, LC_MESSAGES and LANG that is set and not empty, or "en" when
 * that names no alert language or none is set.
 */
const char *lang_from_environment(void);

/*
 * Returns the text of `map` in `preferred`, else in the first of en, es, pt, fr that
 * the map has, and stores the language used in *used (may be NULL). Returns NULL
 * when the map has no text. The text belongs to `map`.
 */
const char *lang_pick(json_t *map, const char *preferred, const char **used);

#endif
