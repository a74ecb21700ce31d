// The library ("reactor") module's exported API: the one contract between
// this C port and the hosts that drive it. api.c implements it (the compiler
// checks the definitions against these declarations) and `cargo xtask dist`
// reads this header with bindgen to generate the hosts' side: the Rust
// crate's typed bindings and constants, and the npm package's constants.
// Every function here must be exported with exactly the wasm signature its C
// types lower to; the packager checks that against the built module.
//
// Calling convention: the host copies source text into memory it got from
// mpwasm_alloc(), calls mpwasm_exec(), and frees it. Output goes to WASI
// stdout/stderr. After a failed run, mpwasm_error_json() describes the
// exception as {"type": ..., "message": ..., "traceback": ...}.
#ifndef MPWASM_API_H
#define MPWASM_API_H

#include <stdint.h>

// Flags of mpwasm_exec.
#define MPWASM_EXEC_SINGLE (1) // REPL-style: echo the value of expressions
#define MPWASM_EXEC_QUIET (2)  // do not print the traceback to stderr
// Top-level await: if the source awaits, its coroutine becomes the main task
// of the asyncio runner that the host then steps (the frozen _asyncjs).
#define MPWASM_EXEC_ASYNC (4)

// Bit set in a status to say "stop now" (SystemExit), as opposed to an error
// that a REPL reports and survives. The low 8 bits are the exit code.
#define MPWASM_FORCED_EXIT (0x100)

// Starts MicroPython with a heap of `heap_size` bytes (0: the default).
// Returns 0, or -1 if the heap cannot be allocated. Later calls do nothing.
int mpwasm_init(uint32_t heap_size);

// Memory for the host to pass text in; free it with mpwasm_free().
void *mpwasm_alloc(uint32_t size);
void mpwasm_free(void *ptr);

// Runs `len` bytes of source at `code` with MPWASM_EXEC_* `flags`. Returns
// 0, 1 for an uncaught exception, MPWASM_FORCED_EXIT|n for SystemExit(n),
// or -1 if mpwasm_init was not called.
int mpwasm_exec(const char *code, uint32_t len, uint32_t flags);

// 1 if `code` is an incomplete statement that a REPL should keep reading.
int mpwasm_needs_more_input(const char *code, uint32_t len);

// The last failed run's exception as JSON (empty before any failure).
const char *mpwasm_error_json(void);
uint32_t mpwasm_error_json_len(void);

#endif // MPWASM_API_H
