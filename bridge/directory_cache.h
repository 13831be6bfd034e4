/*
 * The directory publisher's record of each retained directory entry: per
 * topic, the entry's content without "updated", in a canonical form (compact JSON
 * with sorted keys) that two entries can be compared in, and the entry's "updated".
 * Used by the directory thread only.
 */
#ifndef IACTN_DIRECTORY_CACHE_H
#define IACTN_DIRECTORY_CACHE_H

#include <jansson.h>
#include <stddef.h>

struct directory_entry {
    char *topic;
    char *canonical; /* NULL: unknown, so the next comparison publishes the entry */
    char *updated;
};

/* Entries sorted by topic (byte order). */
struct directory_cache {
    struct directory_entry *entries;
    size_t count;
    size_t capacity;
};

/* Returns the entry for topic, or NULL. */
struct directory_entry *directory_cache_find(struct directory_cache *cache,
                                             const char *topic);

/*
 * Sets the entry of `topic` (inserting it in order when missing) to copies of
 * `canonical` and `updated`, each of which may be NULL. Returns the entry, or NULL
 * when memory runs out.
 */
struct directory_entry *directory_cache_set(struct directory_cache *cache,
                                            const char *topic, const char *canonical,
                                            const char *updated);

/* Removes the entry of `topic`, if any. */
void directory_cache_remove(struct directory_cache *cache, const char *topic);

/* Frees every entry and the array. */
void directory_cache_clear(struct directory_cache *cache);

/*
 * Returns the canonical form of `entry` without its "updated" member, as a string to
 * free(), or NULL when memory runs out. Does not modify `entry`.
 */
char *directory_canonical(json_t *entry);

/*
 * Returns true for a topic the directory publishes, iactn/directory/{STATE}/{name},
 * with a name of at most 63 lower-case letters, digits, '-' or '_'.
 */
int directory_topic_valid(const char *topic);

#endif
