/*
 * Scratch memory for short-lived jansson values. While a scope is open on a thread,
 * jansson allocates on that thread from one block, and freeing does nothing. Closing
 * the scope makes the whole block free again. Outside a scope, and when the block is
 * full, jansson uses malloc and free as before.
 *
 * The broker's message event parses every alert into a tree and frees it again, about
 * 45 allocations for a 1 KiB alert. From the block, none of them calls malloc or free.
 */
#ifndef IACTN_JSONARENA_H
#define IACTN_JSONARENA_H

#include <stdbool.h>

/* Bytes of one thread's block. The tree of a 1 KiB alert takes 4 to 5 KiB of it. */
#define JSON_ARENA_BYTES (256 * 1024)

/* Makes jansson allocate through the arena's functions (json_set_alloc_funcs). Call
 * it before any jansson value exists that is freed later, since it replaces jansson's
 * allocator for the whole process. */
void json_arena_install(void);

/* Gives jansson back malloc and free, and frees the calling thread's block. Call it
 * when no value from a scope is left. */
void json_arena_uninstall(void);

/* Opens a scope on the calling thread: jansson allocations come from the block until
 * json_arena_close(). Every value made in the scope must be released before the
 * scope closes, and no text from json_dumps may outlive it. Without a block (the
 * first malloc of it failed) jansson keeps using malloc. */
void json_arena_open(void);

/* Closes the calling thread's scope and empties its block. */
void json_arena_close(void);

/* Returns true when p lies in the calling thread's block. */
bool json_arena_owns(const void *p);

/* Frees text from json_dumps with jansson's current free function, which is the
 * arena's own after json_arena_install(). */
void json_text_free(char *text);

#endif
