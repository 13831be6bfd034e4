#include "jsonarena.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* Every allocation is rounded up to this, which is malloc's alignment on x86-64. */
#define ARENA_ALIGN 16

/* One block per thread, allocated at the thread's first scope. */
static _Thread_local struct {
    char *block;
    size_t used;
    bool open;
} arena;

bool json_arena_owns(const void *p)
{
    uintptr_t at = (uintptr_t)p, start = (uintptr_t)arena.block;

    return arena.block != NULL && at >= start && at < start + JSON_ARENA_BYTES;
}

static void *arena_malloc(size_t size)
{
    /* malloc handles a request of 0 bytes, so it never gets the address past the block */
    if (arena.open && size > 0) {
        size_t rounded = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);

        if (rounded >= size && rounded <= JSON_ARENA_BYTES - arena.used) {
            void *p = arena.block + arena.used;

            arena.used += rounded;
            return p;
        }
    }
    return malloc(size);
}

static void arena_free(void *p)
{
    if (!json_arena_owns(p)) {
        free(p);
    }
}

void json_arena_install(void)
{
    json_set_alloc_funcs(arena_malloc, arena_free);
}

void json_arena_uninstall(void)
{
    json_set_alloc_funcs(malloc, free);
    free(arena.block);
    arena.block = NULL;
    arena.used = 0;
    arena.open = false;
}

void json_arena_open(void)
{
    if (arena.block == NULL) {
        arena.block = malloc(JSON_ARENA_BYTES);
    }
    arena.used = 0;
    arena.open = arena.block != NULL;
}

void json_arena_close(void)
{
    arena.open = false;
    arena.used = 0;
}

void json_text_free(char *text)
{
    json_free_t free_text;

    json_get_alloc_funcs(NULL, &free_text);
    free_text(text);
}
