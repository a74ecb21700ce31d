// The C library's malloc, in place of wasi-libc's dlmalloc.
//
// MicroPython allocates its objects from its own heap (py/gc.c); malloc
// serves only that heap itself (one block, from start-up or a session's
// creation to its end) and the C library's few needs: the preopened
// folders, the environment, directory streams, path buffers, and the
// component's strings. dlmalloc, built for many small allocations, is about
// 11 kB of code in every module; this first-fit allocator is a tenth of
// that and keeps what matters here: freed memory is reused and merged with
// its neighbours, so a host that creates and drops sessions, each with a
// heap of megabytes, does not grow memory without bound.
//
// Memory is one arena from __heap_base up, grown with memory.grow. Each
// chunk starts with a 16-byte header holding its size (payloads stay
// 16-byte aligned, as max_align_t needs); free chunks form a list in
// address order, so freeing merges a chunk with the free chunks on either
// side.
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define ALIGNMENT 16
#define HEADER 16
#define MIN_CHUNK 32
#define PAGE 65536

typedef struct chunk {
    // Bytes of the whole chunk, header included; a multiple of ALIGNMENT.
    size_t size;
    // The next free chunk, by address (free chunks only).
    struct chunk *next;
} chunk_t;

extern unsigned char __heap_base;

static chunk_t *free_list;
static uintptr_t arena_end;

static uintptr_t align_up(uintptr_t value, uintptr_t alignment) {
    return (value + alignment - 1) & ~(alignment - 1);
}

static chunk_t *chunk_of(void *payload) {
    return (chunk_t *)((unsigned char *)payload - HEADER);
}

static void *payload_of(chunk_t *chunk) {
    return (unsigned char *)chunk + HEADER;
}

// The first free chunk at or after `chunk`'s address; `*prev` becomes the
// free chunk before it, or NULL.
static chunk_t *free_from(chunk_t *chunk, chunk_t **prev) {
    *prev = NULL;
    chunk_t *next = free_list;
    while (next != NULL && next < chunk) {
        *prev = next;
        next = next->next;
    }
    return next;
}

// Puts a chunk in the free list, merging it with adjacent free chunks.
static void release(chunk_t *chunk) {
    chunk_t *prev;
    chunk_t *next = free_from(chunk, &prev);
    if (next != NULL && (uintptr_t)chunk + chunk->size == (uintptr_t)next) {
        chunk->size += next->size;
        next = next->next;
    }
    chunk->next = next;
    if (prev != NULL && (uintptr_t)prev + prev->size == (uintptr_t)chunk) {
        prev->size += chunk->size;
        prev->next = next;
    } else if (prev != NULL) {
        prev->next = chunk;
    } else {
        free_list = chunk;
    }
}

// Makes sure the arena ends with a free chunk of at least `size` bytes:
// on the first call it takes in the space between __heap_base and the
// initial end of memory, then it grows memory by whole pages. Returns 0 if
// memory cannot grow that far.
static int grow(size_t size) {
    if (arena_end == 0) {
        uintptr_t start = align_up((uintptr_t)&__heap_base, ALIGNMENT);
        arena_end = __builtin_wasm_memory_size(0) * PAGE;
        if (arena_end >= start + MIN_CHUNK) {
            chunk_t *initial = (chunk_t *)start;
            initial->size = arena_end - start;
            release(initial);
        } else {
            arena_end = start;
        }
    }
    size_t tail = 0;
    for (chunk_t *chunk = free_list; chunk != NULL; chunk = chunk->next) {
        if ((uintptr_t)chunk + chunk->size == arena_end) {
            tail = chunk->size;
        }
    }
    if (tail >= size) {
        return 1;
    }
    // Memory stops one page short of 4 GiB, so that its end stays a
    // 32-bit address.
    size_t pages = align_up(size - tail, PAGE) / PAGE;
    size_t current_pages = __builtin_wasm_memory_size(0);
    if (size - tail > (size_t)UINT32_MAX || pages > 65535 - current_pages) {
        return 0;
    }
    size_t old_pages = __builtin_wasm_memory_grow(0, pages);
    if (old_pages == SIZE_MAX) {
        return 0;
    }
    // If something else grew memory since, the new pages start a region of
    // their own, not joined to the arena's free tail; the caller asks again.
    chunk_t *added = (chunk_t *)(old_pages * PAGE);
    arena_end = (old_pages + pages) * PAGE;
    added->size = arena_end - (uintptr_t)added;
    release(added);
    return 1;
}

// The chunk size that holds `bytes` of payload, or 0 if none can.
static size_t chunk_size(size_t bytes) {
    if (bytes > SIZE_MAX - HEADER - ALIGNMENT) {
        return 0;
    }
    size_t size = align_up(bytes + HEADER, ALIGNMENT);
    return size < MIN_CHUNK ? MIN_CHUNK : size;
}

// Takes `size` bytes from the start of a free chunk (`prev` precedes it in
// the list, or is NULL), leaving the rest free if it can make a chunk.
static chunk_t *take(chunk_t *prev, chunk_t *chunk, size_t size) {
    chunk_t *rest = chunk->next;
    if (chunk->size - size >= MIN_CHUNK) {
        chunk_t *remainder = (chunk_t *)((uintptr_t)chunk + size);
        remainder->size = chunk->size - size;
        remainder->next = chunk->next;
        rest = remainder;
        chunk->size = size;
    }
    if (prev != NULL) {
        prev->next = rest;
    } else {
        free_list = rest;
    }
    return chunk;
}

void *malloc(size_t bytes) {
    size_t size = chunk_size(bytes);
    if (size == 0) {
        errno = ENOMEM;
        return NULL;
    }
    // Each round either finds a chunk or grows memory, until it cannot.
    do {
        chunk_t *prev = NULL;
        for (chunk_t *chunk = free_list; chunk != NULL; prev = chunk, chunk = chunk->next) {
            if (chunk->size >= size) {
                return payload_of(take(prev, chunk, size));
            }
        }
    } while (grow(size));
    errno = ENOMEM;
    return NULL;
}

void free(void *payload) {
    if (payload != NULL) {
        release(chunk_of(payload));
    }
}

void *calloc(size_t count, size_t bytes) {
    if (bytes != 0 && count > SIZE_MAX / bytes) {
        errno = ENOMEM;
        return NULL;
    }
    void *payload = malloc(count * bytes);
    if (payload != NULL) {
        memset(payload, 0, count * bytes);
    }
    return payload;
}

void *realloc(void *payload, size_t bytes) {
    if (payload == NULL) {
        return malloc(bytes);
    }
    if (bytes == 0) {
        free(payload);
        return NULL;
    }
    size_t size = chunk_size(bytes);
    if (size == 0) {
        errno = ENOMEM;
        return NULL;
    }
    chunk_t *chunk = chunk_of(payload);
    // Grow in place into the free chunk right after this one, if any.
    if (chunk->size < size) {
        chunk_t *prev;
        chunk_t *next = free_from(chunk, &prev);
        uintptr_t end = (uintptr_t)chunk + chunk->size;
        if (next != NULL && (uintptr_t)next == end && chunk->size + next->size >= size) {
            take(prev, next, size - chunk->size < MIN_CHUNK ? MIN_CHUNK : size - chunk->size);
            chunk->size += next->size;
        }
    }
    if (chunk->size >= size) {
        // Shrink: give back a tail big enough to be a chunk.
        if (chunk->size - size >= MIN_CHUNK) {
            chunk_t *tail = (chunk_t *)((uintptr_t)chunk + size);
            tail->size = chunk->size - size;
            chunk->size = size;
            release(tail);
        }
        return payload;
    }
    void *moved = malloc(bytes);
    if (moved != NULL) {
        memcpy(moved, payload, chunk->size - HEADER);
        free(payload);
    }
    return moved;
}

// A payload aligned to `alignment` (a power of two): a chunk with room to
// spare, whose front is given back as a chunk of its own.
static void *aligned(size_t alignment, size_t bytes) {
    if (alignment <= ALIGNMENT) {
        return malloc(bytes);
    }
    if (bytes > SIZE_MAX - alignment - MIN_CHUNK) {
        errno = ENOMEM;
        return NULL;
    }
    unsigned char *payload = malloc(bytes + alignment + MIN_CHUNK);
    if (payload == NULL) {
        return NULL;
    }
    chunk_t *chunk = chunk_of(payload);
    uintptr_t target = align_up((uintptr_t)payload, alignment);
    if (target != (uintptr_t)payload) {
        // The front must be able to stand as a chunk.
        while (target - (uintptr_t)payload < MIN_CHUNK) {
            target += alignment;
        }
        chunk_t *front = chunk;
        chunk_t *rest = chunk_of((void *)target);
        rest->size = chunk->size - (target - (uintptr_t)payload);
        front->size = target - (uintptr_t)payload;
        release(front);
        chunk = rest;
    }
    return payload_of(chunk);
}

void *aligned_alloc(size_t alignment, size_t bytes) {
    if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
        errno = EINVAL;
        return NULL;
    }
    return aligned(alignment, bytes);
}

int posix_memalign(void **result, size_t alignment, size_t bytes) {
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) {
        return EINVAL;
    }
    void *payload = aligned(alignment, bytes);
    if (payload == NULL) {
        return ENOMEM;
    }
    *result = payload;
    return 0;
}

size_t malloc_usable_size(void *payload) {
    return payload == NULL ? 0 : chunk_of(payload)->size - HEADER;
}

// The names the rest of wasi-libc calls (atexit, locales): defining them
// here keeps dlmalloc out of the link entirely.
void *__libc_malloc(size_t bytes) {
    return malloc(bytes);
}

void __libc_free(void *payload) {
    free(payload);
}

void *__libc_calloc(size_t count, size_t bytes) {
    return calloc(count, bytes);
}
