// Drives ports/wasm/malloc.c for build::malloc_tests: random allocations,
// reallocations and frees whose contents are checked, alignment requests,
// big blocks that must reuse freed memory, and requests that must fail.
// Compiled with -fno-builtin, so that clang keeps every call to the
// allocator (it may otherwise assume an unused allocation succeeds).
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// wasi-libc declares it in <malloc.h>, which not every sysroot has.
size_t malloc_usable_size(void *payload);

#define SLOTS 64

static unsigned char *blocks[SLOTS];
static size_t sizes[SLOTS];
static uint32_t seed = 12345;

static uint32_t next_random(void) {
    seed = seed * 1103515245u + 12345u;
    return seed >> 8;
}

// Mostly small sizes, as the C library asks for, some of a few pages.
static size_t random_size(void) {
    uint32_t kind = next_random() % 16;
    if (kind == 0) {
        return next_random() % (256 * 1024);
    }
    return next_random() % (kind < 12 ? 64 : 2048);
}

static void fill(int slot) {
    for (size_t i = 0; i < sizes[slot]; i++) {
        blocks[slot][i] = (unsigned char)(slot * 31 + i);
    }
}

static int intact(int slot, size_t length) {
    for (size_t i = 0; i < length; i++) {
        if (blocks[slot][i] != (unsigned char)(slot * 31 + i)) {
            return 0;
        }
    }
    return 1;
}

// 0 if every check held, otherwise which one failed.
__attribute__((export_name("stress"))) int stress(int rounds) {
    for (int round = 0; round < rounds; round++) {
        int slot = next_random() % SLOTS;
        size_t size = random_size();
        if (blocks[slot] != NULL && !intact(slot, sizes[slot])) {
            return 1;
        }
        switch (next_random() % 4) {
            case 0:
                free(blocks[slot]);
                blocks[slot] = NULL;
                sizes[slot] = 0;
                continue;
            case 1: {
                unsigned char *moved = realloc(blocks[slot], size);
                if (size == 0) {
                    blocks[slot] = NULL;
                    sizes[slot] = 0;
                    continue;
                }
                if (moved == NULL) {
                    return 2;
                }
                size_t kept = sizes[slot] < size ? sizes[slot] : size;
                blocks[slot] = moved;
                if (!intact(slot, kept)) {
                    return 3;
                }
                break;
            }
            case 2: {
                free(blocks[slot]);
                blocks[slot] = calloc(1, size);
                if (blocks[slot] == NULL) {
                    return 4;
                }
                for (size_t i = 0; i < size; i++) {
                    if (blocks[slot][i] != 0) {
                        return 5;
                    }
                }
                break;
            }
            default:
                free(blocks[slot]);
                blocks[slot] = malloc(size);
                if (blocks[slot] == NULL) {
                    return 6;
                }
        }
        if (((uintptr_t)blocks[slot] & 15) != 0) {
            return 7;
        }
        sizes[slot] = size;
        fill(slot);
    }
    for (int slot = 0; slot < SLOTS; slot++) {
        if (blocks[slot] != NULL && !intact(slot, sizes[slot])) {
            return 8;
        }
        free(blocks[slot]);
        blocks[slot] = NULL;
        sizes[slot] = 0;
    }
    return 0;
}

__attribute__((export_name("aligned"))) int aligned(void) {
    for (size_t alignment = 32; alignment <= 8192; alignment *= 2) {
        unsigned char *first = aligned_alloc(alignment, 100);
        void *second = NULL;
        if (first == NULL || (uintptr_t)first % alignment != 0) {
            return 1;
        }
        if (posix_memalign(&second, alignment, 3000) != 0 || (uintptr_t)second % alignment != 0) {
            return 2;
        }
        memset(first, 0xab, 100);
        memset(second, 0xcd, 3000);
        if (malloc_usable_size(first) < 100 || first[99] != 0xab) {
            return 3;
        }
        free(first);
        free(second);
    }
    // Not a power of two (volatile, or clang refuses the constant).
    volatile size_t odd = 24;
    void *unused = NULL;
    if (aligned_alloc(odd, 8) != NULL || posix_memalign(&unused, odd, 8) != EINVAL) {
        return 4;
    }
    return 0;
}

// Big blocks freed between smaller ones: memory grows by one block's worth,
// not by one per round.
__attribute__((export_name("reuse"))) int reuse(int rounds) {
    for (int round = 0; round < rounds; round++) {
        void *small = malloc(40 + round);
        void *big = malloc(8 << 20);
        void *after = malloc(100);
        if (small == NULL || big == NULL || after == NULL) {
            return 1;
        }
        memset(big, round, 8 << 20);
        free(big);
        free(small);
        free(after);
    }
    return 0;
}

// Requests no memory can hold fail with ENOMEM instead of wrapping around.
__attribute__((export_name("impossible"))) int impossible(void) {
    errno = 0;
    if (malloc(SIZE_MAX) != NULL || errno != ENOMEM) {
        return 1;
    }
    if (calloc(SIZE_MAX / 2, 4) != NULL) {
        return 2;
    }
    if (malloc((size_t)3 << 30) != NULL) {
        return 3;
    }
    void *block = malloc(10);
    if (realloc(block, SIZE_MAX - 8) != NULL) {
        return 4;
    }
    free(block);
    return 0;
}

__attribute__((export_name("memory_pages"))) int memory_pages(void) {
    return (int)__builtin_wasm_memory_size(0);
}
