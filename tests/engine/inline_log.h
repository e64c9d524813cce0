/* The log that inline_story.h writes (test_inline.c). */
#ifndef INLINE_LOG_H
#define INLINE_LOG_H

#include <stddef.h>
#include <stdint.h>

enum { INLINE_LOG_MAX = 512 };

typedef struct inline_entry {
    uint32_t id, gen;
    double value;
    size_t size;
    int status;
    char msg[128];
} inline_entry;

typedef struct inline_log {
    size_t n;
    uint32_t gen0;  /* the graph's first generation: entries hold gen - gen0 */
    inline_entry e[INLINE_LOG_MAX];
} inline_log;

void story_inline(inline_log *log);   /* the public header's inline builders */
void story_library(inline_log *log);  /* every call to the library */

#endif
