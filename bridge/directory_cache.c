#include "directory_cache.h"

#include <stdlib.h>
#include <string.h>

#define TOPIC_PREFIX "iactn/directory/"
#define NAME_MAX_LEN 63

/* Returns the index of topic, or of where it would go, in *index; true when found. */
static int locate(const struct directory_cache *cache, const char *topic, size_t *index)
{
    size_t low = 0;
    size_t high = cache->count;

    while (low < high) {
        size_t middle = low + (high - low) / 2;
        int order = strcmp(cache->entries[middle].topic, topic);

        if (order == 0) {
            *index = middle;
            return 1;
        }
        if (order < 0) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    *index = low;
    return 0;
}

struct directory_entry *directory_cache_find(struct directory_cache *cache,
                                             const char *topic)
{
    size_t index;

    return locate(cache, topic, &index) ? &cache->entries[index] : NULL;
}

/* Replaces *slot with a copy of value (NULL stays NULL). Returns 0 or -1. */
static int replace(char **slot, const char *value)
{
    char *copy = NULL;

    if (value != NULL && (copy = strdup(value)) == NULL) {
        return -1;
    }
    free(*slot);
    *slot = copy;
    return 0;
}

struct directory_entry *directory_cache_set(struct directory_cache *cache,
                                            const char *topic, const char *canonical,
                                            const char *updated)
{
    struct directory_entry *entry;
    size_t index;

    if (!locate(cache, topic, &index)) {
        char *copy = strdup(topic);

        if (copy == NULL) {
            return NULL;
        }
        if (cache->count == cache->capacity) {
            size_t capacity = cache->capacity ? cache->capacity * 2 : 64;
            struct directory_entry *grown =
                realloc(cache->entries, capacity * sizeof(*grown));

            if (grown == NULL) {
                free(copy);
                return NULL;
            }
            cache->entries = grown;
            cache->capacity = capacity;
        }
        memmove(&cache->entries[index + 1], &cache->entries[index],
                (cache->count - index) * sizeof(*cache->entries));
        memset(&cache->entries[index], 0, sizeof(*cache->entries));
        cache->entries[index].topic = copy;
        cache->count++;
    }
    entry = &cache->entries[index];
    if (replace(&entry->canonical, canonical) != 0 ||
        replace(&entry->updated, updated) != 0) {
        return NULL;
    }
    return entry;
}

void directory_cache_remove(struct directory_cache *cache, const char *topic)
{
    size_t index;

    if (!locate(cache, topic, &index)) {
        return;
    }
    free(cache->entries[index].topic);
    free(cache->entries[index].canonical);
    free(cache->entries[index].updated);
    memmove(&cache->entries[index], &cache->entries[index + 1],
            (cache->count - index - 1) * sizeof(*cache->entries));
    cache->count--;
}

void directory_cache_clear(struct directory_cache *cache)
{
    for (size_t i = 0; i < cache->count; i++) {
        free(cache->entries[i].topic);
        free(cache->entries[i].canonical);
        free(cache->entries[i].updated);
    }
    free(cache->entries);
    memset(cache, 0, sizeof(*cache));
}

char *directory_canonical(json_t *entry)
{
    json_t *copy = json_copy(entry);
    char *text;

    if (copy == NULL) {
        return NULL;
    }
    json_object_del(copy, "updated");
    text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(copy);
    return text;
}

int directory_topic_valid(const char *topic)
{
    const char *name = topic + strlen(TOPIC_PREFIX) + 3;
    size_t len;

    if (strncmp(topic, TOPIC_PREFIX, strlen(TOPIC_PREFIX)) != 0 ||
        strlen(topic) < strlen(TOPIC_PREFIX) + 4) {
        return 0;
    }
    topic += strlen(TOPIC_PREFIX);
    if (topic[0] < 'A' || topic[0] > 'Z' || topic[1] < 'A' || topic[1] > 'Z' ||
        topic[2] != '/') {
        return 0;
    }
    len = strlen(name);
    if (len == 0 || len > NAME_MAX_LEN) {
        return 0;
    }
    return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-_") == len;
}
