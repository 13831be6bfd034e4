/*
 * MQTT topic names and filters as IACTN uses them: matching, the relations between
 * two filters that subscription checks need, and the parts of IACTN's own topics.
 */
#ifndef IACTN_TOPIC_H
#define IACTN_TOPIC_H

#include <stdbool.h>
#include <stddef.h>

#define TOPIC_CATEGORY_MAX 32
#define TOPIC_MAX 512

/* Values that stand in for {state}, {agency} and {principal} in a pattern. NULL or
 * empty members have no value, and a pattern that needs them matches nothing. */
struct iactn_topic_vars {
    const char *state;
    const char *agency;
    const char *principal;
};

/* Returns true when the topic name (no wildcards) matches the filter under MQTT rules,
 * including the rule that wildcards in the first level never match a topic that
 * starts with '$'. */
bool topic_matches(const char *filter, const char *topic);

/* Returns true when at least one topic name can match both filters. */
bool topic_filters_intersect(const char *a, const char *b);

/* Returns true when every topic name that inner matches is also matched by outer. */
bool topic_filter_covers(const char *outer, const char *inner);

/* Returns true when filter is a well-formed MQTT topic filter: not empty, '#' only as
 * a whole last level, '+' only as a whole level. */
bool topic_filter_is_valid(const char *filter);

/* Returns the filter without a leading "$share/{group}/", a pointer into filter; the
 * filter itself when it has no such prefix; NULL when the prefix is malformed. */
const char *topic_strip_share(const char *filter);

/* Parses "iactn/alerts/{ORIGIN}/{category}". Returns 0 and fills origin (3 bytes) and
 * category (TOPIC_CATEGORY_MAX + 1 bytes), or -1 when topic is not an alert topic of
 * that exact shape. */
int topic_parse_alert(const char *topic, char *origin, char *category);

/* Returns true for an ISO 3166-1 alpha-2 code in upper case. */
bool topic_is_state_code(const char *s);

/* Returns true for a category slug: a lower-case letter, then up to 31 lower-case
 * letters, digits or '-'. */
bool topic_is_category(const char *s);

/* Writes pattern into out with {state}, {agency} and {principal} replaced by vars.
 * Returns 0, or -1 when a placeholder has no value, a value contains '/', '+' or '#',
 * or the result does not fit in out_size bytes. */
int topic_expand(const char *pattern, const struct iactn_topic_vars *vars, char *out,
                 size_t out_size);

#endif
