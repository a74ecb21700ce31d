// The part of the port shared by the command module (main.c) and the
// library module (api.c): bringing the VM up and running source text.
#ifndef MPWASM_RUNTIME_H
#define MPWASM_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>

#include "py/obj.h"
#include "py/parse.h"

// MPWASM_FORCED_EXIT is part of the library module's API.
#include "mpwasm_api.h"

#ifndef MPWASM_DEFAULT_HEAP_SIZE
#define MPWASM_DEFAULT_HEAP_SIZE (8 * 1024 * 1024)
#endif

// Starts MicroPython with a GC heap of `heap_size` bytes; false if the heap
// cannot be allocated.
bool mpwasm_runtime_init(size_t heap_size);
void mpwasm_runtime_deinit(void);

// Compiles and runs `source` (of `len` bytes) named `source_name` in
// __main__. Returns 0, 1 for an uncaught exception, or MPWASM_FORCED_EXIT|n.
// Exceptions are printed to stderr unless `quiet`; either way the last one is
// kept for mpwasm_last_exception().
int mpwasm_run_source(qstr source_name, const char *source, size_t len, mp_parse_input_kind_t input_kind, bool is_repl,
    bool quiet);

// Like mpwasm_run_source for a file's text, compiled with top-level await:
// if it awaits, it starts as the main task of the asyncio runner (_asyncjs).
int mpwasm_run_source_async(const char *source, size_t len, bool quiet);

// Runs the script at `path` (read through the VFS), setting __file__.
int mpwasm_run_file(const char *path);

// Imports `name` as __main__ (python -m).
int mpwasm_run_module(const char *name);

// Runs the registered sys.atexit function, if any, and folds its status in.
int mpwasm_run_atexit(int status);

// The last uncaught exception, or MP_OBJ_NULL.
mp_obj_t mpwasm_last_exception(void);

#endif
