#include "lang.h"

#include "compose.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

const char *lang_from_locale(const char *locale)
{
    char code[3];

    if (locale == NULL || strlen(locale) < 2) {
        return NULL;
    }
    /* A locale is language[_territory][.codeset][@modifier]; only the language counts. */
    if (locale[2] != '\0' && locale[2] != '_' && locale[2] != '.' && locale[2] != '@' &&
        locale[2] != '-') {
        return NULL;
    }
    code[0] = (char)tolower((unsigned char)locale[0]);
    code[1] = (char)tolower((unsigned char)locale[1]);
    code[2] = '\0';
    for (int i = 0; i < LANGUAGE_COUNT; i++) {
        if (strcmp(code, compose_languages[i]) == 0) {
            return compose_languages[i];
        }
    }
    return NULL;
}

const char *lang_from_environment(void)
{
    static const char *const variables[] = {"LC_ALL", "LC_MESSAGES", "LANG"};

    for (size_t i = 0; i < sizeof(variables) / sizeof(variables[0]); i++) {
        const char *value = getenv(variables[i]);

        /* POSIX: the first variable that is set decides, even for an unknown locale. */
        if (value != NULL && value[0] != '\0') {
            const char *lang = lang_from_locale(value);

            return lang != NULL ? lang : "en";
        }
    }
    return "en";
}

const char *lang_pick(json_t *map, const char *preferred, const char **used)
{
    const char *text = json_string_value(json_object_get(map, preferred));

    if (text != NULL) {
        if (used != NULL) {
            *used = preferred;
        }
        return text;
    }
    for (int i = 0; i < LANGUAGE_COUNT; i++) {
        text = json_string_value(json_object_get(map, compose_languages[i]));
        if (text != NULL) {
            if (used != NULL) {
                *used = compose_languages[i];
            }
            return text;
        }
    }
    return NULL;
}
