#include "topic.h"

#include <string.h>

/* A cursor over the '/'-separated levels of a topic or filter. */
struct level_cursor {
    const char *next; /* start of the next level, or NULL after the last one */
    const char *level;
    size_t len;
};

static void cursor_init(struct level_cursor *c, const char *s)
{
    c->next = s;
    c->level = NULL;
    c->len = 0;
}

static bool cursor_advance(struct level_cursor *c)
{
    const char *slash;

    if (c->next == NULL) {
        return false;
    }
    c->level = c->next;
    slash = strchr(c->next, '/');
    if (slash) {
        c->len = (size_t)(slash - c->next);
        c->next = slash + 1;
    } else {
        c->len = strlen(c->next);
        c->next = NULL;
    }
    return true;
}

static bool level_is(const struct level_cursor *c, const char *s)
{
    return c->len == strlen(s) && memcmp(c->level, s, c->len) == 0;
}

static bool levels_equal(const struct level_cursor *a, const struct level_cursor *b)
{
    return a->len == b->len && memcmp(a->level, b->level, a->len) == 0;
}

static bool is_wildcard(const struct level_cursor *c)
{
    return level_is(c, "+") || level_is(c, "#");
}

/* Wildcards in the first level never match topics that start with '$'. */
static bool first_level_blocked(const char *wild, const char *other)
{
    return (wild[0] == '+' || wild[0] == '#') && other[0] == '$';
}

bool topic_matches(const char *filter, const char *topic)
{
    struct level_cursor f, t;

    if (first_level_blocked(filter, topic)) {
        return false;
    }
    cursor_init(&f, filter);
    cursor_init(&t, topic);
    while (cursor_advance(&f)) {
        if (level_is(&f, "#")) {
            return true;
        }
        if (!cursor_advance(&t)) {
            return false;
        }
        if (!level_is(&f, "+") && !levels_equal(&f, &t)) {
            return false;
        }
    }
    return !cursor_advance(&t);
}

bool topic_filters_intersect(const char *a, const char *b)
{
    struct level_cursor x, y;
    bool more_x, more_y;

    if (first_level_blocked(a, b) || first_level_blocked(b, a)) {
        return false;
    }
    cursor_init(&x, a);
    cursor_init(&y, b);
    for (;;) {
        more_x = cursor_advance(&x);
        more_y = cursor_advance(&y);
        if (!more_x && !more_y) {
            return true;
        }
        if (!more_x) {
            return level_is(&y, "#");
        }
        if (!more_y) {
            return level_is(&x, "#");
        }
        if (level_is(&x, "#") || level_is(&y, "#")) {
            return true;
        }
        if (!is_wildcard(&x) && !is_wildcard(&y) && !levels_equal(&x, &y)) {
            return false;
        }
    }
}

bool topic_filter_covers(const char *outer, const char *inner)
{
    struct level_cursor o, i;

    /* inner names '$' topics that a first-level wildcard in outer cannot match */
    if (first_level_blocked(outer, inner)) {
        return false;
    }
    cursor_init(&o, outer);
    cursor_init(&i, inner);
    for (;;) {
        bool more_o = cursor_advance(&o);
        bool more_i = cursor_advance(&i);

        if (!more_o && !more_i) {
            return true;
        }
        if (!more_i) {
            /* inner ends here: outer must also match this exact level count */
            return level_is(&o, "#");
        }
        if (!more_o) {
            return false;
        }
        if (level_is(&o, "#")) {
            return true;
        }
        if (level_is(&i, "#")) {
            return false;
        }
        if (level_is(&o, "+")) {
            continue;
        }
        if (level_is(&i, "+") || !levels_equal(&o, &i)) {
            return false;
        }
    }
}

bool topic_filter_is_valid(const char *filter)
{
    struct level_cursor c;

    if (filter == NULL || filter[0] == '\0' || strlen(filter) > TOPIC_MAX) {
        return false;
    }
    cursor_init(&c, filter);
    while (cursor_advance(&c)) {
        const char *plus = memchr(c.level, '+', c.len);
        const char *hash = memchr(c.level, '#', c.len);

        if (plus && c.len != 1) {
            return false;
        }
        if (hash && (c.len != 1 || c.next != NULL)) {
            return false;
        }
    }
    return true;
}

const char *topic_strip_share(const char *filter)
{
    const char *group;
    const char *slash;

    if (strncmp(filter, "$share/", 7) != 0) {
        return filter;
    }
    group = filter + 7;
    slash = strchr(group, '/');
    if (slash == NULL || slash == group || slash[1] == '\0') {
        return NULL;
    }
    if (memchr(group, '+', (size_t)(slash - group)) ||
        memchr(group, '#', (size_t)(slash - group))) {
        return NULL;
    }
    return slash + 1;
}

bool topic_is_state_code(const char *s)
{
    return s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && s[2] == '\0';
}

bool topic_is_category(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > TOPIC_CATEGORY_MAX || s[0] < 'a' || s[0] > 'z') {
        return false;
    }
    for (size_t i = 1; i < n; i++) {
        char ch = s[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-')) {
            return false;
        }
    }
    return true;
}

int topic_parse_alert(const char *topic, char *origin, char *category)
{
    static const char prefix[] = "iactn/alerts/";
    const char *rest;

    if (strncmp(topic, prefix, sizeof(prefix) - 1) != 0) {
        return -1;
    }
    rest = topic + sizeof(prefix) - 1;
    if (strlen(rest) < 4 || rest[2] != '/') {
        return -1;
    }
    memcpy(origin, rest, 2);
    origin[2] = '\0';
    if (!topic_is_state_code(origin)) {
        return -1;
    }
    rest += 3;
    if (strlen(rest) > TOPIC_CATEGORY_MAX) {
        return -1;
    }
    strcpy(category, rest);
    return topic_is_category(category) ? 0 : -1;
}

static const char *placeholder_value(const char *name, size_t len,
                                     const struct iactn_topic_vars *vars)
{
    if (len == 7 && memcmp(name, "{state}", 7) == 0) {
        return vars->state;
    }
    if (len == 8 && memcmp(name, "{agency}", 8) == 0) {
        return vars->agency;
    }
    if (len == 11 && memcmp(name, "{principal}", 11) == 0) {
        return vars->principal;
    }
    return NULL;
}

int topic_expand(const char *pattern, const struct iactn_topic_vars *vars, char *out,
                 size_t out_size)
{
    size_t used = 0;

    while (*pattern) {
        const char *piece = pattern;
        size_t piece_len = 1;

        if (*pattern == '{') {
            const char *close = strchr(pattern, '}');
            size_t name_len = close ? (size_t)(close - pattern) + 1 : 0;

            piece = close ? placeholder_value(pattern, name_len, vars) : NULL;
            if (piece == NULL || piece[0] == '\0' || strpbrk(piece, "/+#")) {
                return -1;
            }
            piece_len = strlen(piece);
            pattern += name_len;
        } else {
            pattern++;
        }
        if (used + piece_len >= out_size) {
            return -1;
        }
        memcpy(out + used, piece, piece_len);
        used += piece_len;
    }
    out[used] = '\0';
    return 0;
}
