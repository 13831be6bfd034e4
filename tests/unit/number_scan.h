/* The reference for the number limits of the JSON reader, shared by the unit test
 * and the fuzzer: a plain scan of the bytes outside strings, as alert_parse checked
 * them before the reader reported them. */
#ifndef IACTN_NUMBER_SCAN_H
#define IACTN_NUMBER_SCAN_H

#include "jsontext.h"

#include <stdbool.h>
#include <stddef.h>

/* Returns the maximum digits and exponent of the numbers of an accepted text, from a
 * plain scan of its bytes outside strings. */
static inline struct jsontext_numbers scan_numbers(const char *s, size_t len)
{
    struct jsontext_numbers maximum = {0, 0};
    bool in_string = false;

    for (size_t i = 0; i < len;) {
        size_t digits = 0, exponent = 0;

        if (in_string) {
            in_string = s[i] != '"';
            i += s[i] == '\\' ? 2 : 1;
            continue;
        }
        if (s[i] == '"') {
            in_string = true;
            i++;
            continue;
        }
        if (s[i] != '-' && (s[i] < '0' || s[i] > '9')) {
            i++;
            continue;
        }
        i += s[i] == '-';
        for (; i < len && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.'); i++) {
            digits += s[i] != '.';
        }
        if (i < len && (s[i] == 'e' || s[i] == 'E')) {
            i++;
            i += i < len && (s[i] == '+' || s[i] == '-');
            for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
                exponent =
                    exponent < 1000000 ? exponent * 10 + (size_t)(s[i] - '0') : exponent;
            }
        }
        maximum.digits = digits > maximum.digits ? digits : maximum.digits;
        exponent = exponent < 1000000 ? exponent : 1000000;
        maximum.exponent = exponent > maximum.exponent ? exponent : maximum.exponent;
    }
    return maximum;
}

#endif
