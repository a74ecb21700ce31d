// Root scanning for the garbage collector on wasm32.
//
// WebAssembly keeps most C locals in wasm locals, which no code can read; only
// values whose address is taken, or that the build spills, live in linear
// memory on the "shadow stack" below __stack_pointer. The build therefore runs
// a pointer-spilling pass (see the build's gc_strategy) so every pointer that
// is live across a call is also stored on the shadow stack, and this scan of
// the whole used part of the shadow stack then sees every root.
//
// A live pointer may point into an object rather than at its start
// (&self->mpz, or a cursor into a list's items) while nothing else on the
// stack refers to the object; the pass stores only live values, so the scan
// takes any pointer into an object as a reference to it
// (gc_collect_root_interior, added to py/gc.c by patches/gc.patch).
#include <stdint.h>

#include "py/gc.h"
#include "py/mpstate.h"

void gc_collect_root_interior(void **ptrs, size_t len);

// Highest address of the shadow stack, defined by wasm-ld.
extern char __stack_high;

__attribute__((noinline)) static uintptr_t current_stack_pointer(void) {
    volatile uintptr_t marker = 0;
    return (uintptr_t)&marker;
}

void gc_collect(void) {
    gc_collect_start();
    uintptr_t sp = current_stack_pointer() & ~(uintptr_t)(sizeof(void *) - 1);
    gc_collect_root_interior((void **)sp, ((uintptr_t)&__stack_high - sp) / sizeof(void *));
    gc_collect_end();
}
