// Root scanning for the native reference build of the port: the registers
// and the whole C stack, as MicroPython's unix port does. Replaces
// ports/wasm/gccollect.c, which scans the wasm shadow stack.
#include "py/gc.h"
#include "py/mpstate.h"
#include "shared/runtime/gchelper.h"

// The top of the main thread's stack, as glibc recorded it at start-up.
extern void *__libc_stack_end;

void gc_collect(void) {
    // runtime.c records the stack top inside mpwasm_runtime_init(), a frame
    // below main(); frames called from main() later reach above that mark, so
    // the scan runs to the real top of the stack instead.
    char *limit_top = MP_STATE_THREAD(stack_top);
    MP_STATE_THREAD(stack_top) = __libc_stack_end;
    gc_collect_start();
    gc_helper_collect_regs_and_stack();
    gc_collect_end();
    MP_STATE_THREAD(stack_top) = limit_top;
}
