// Exported API of the library ("reactor") module, used by the Rust and npm
// bundles to keep one interpreter alive across many runs.
//
// Calling convention: the host copies source text into memory it got from
// mpwasm_alloc(), calls mpwasm_exec(), and frees it. Output goes to WASI
// stdout/stderr as in the command module. After a failed run,
// mpwasm_error_json() describes the exception as
// {"type": ..., "message": ..., "traceback": ...}.
#include <stdlib.h>
#include <string.h>

#include "py/mpprint.h"
#include "py/objexcept.h"
#include "py/runtime.h"
#include "py/repl.h"
#include "py/stackctrl.h"

#include "runtime.h"

#define EXPORT(name) __attribute__((export_name(#name)))

// Flags of mpwasm_exec.
#define MPWASM_EXEC_SINGLE (1) // REPL-style: echo the value of expressions
#define MPWASM_EXEC_QUIET (2)  // do not print the traceback to stderr

static vstr_t error_json;
static bool initialised;

EXPORT(mpwasm_init)
int mpwasm_init(uint32_t heap_size) {
    if (initialised) {
        return 0;
    }
    mp_stack_ctrl_init();
    if (!mpwasm_runtime_init(heap_size ? heap_size : MPWASM_DEFAULT_HEAP_SIZE)) {
        return -1;
    }
    vstr_init(&error_json, 0);
    initialised = true;
    return 0;
}

EXPORT(mpwasm_alloc)
void *mpwasm_alloc(uint32_t size) {
    return malloc(size ? size : 1);
}

EXPORT(mpwasm_free)
void mpwasm_free(void *ptr) {
    free(ptr);
}

static void vstr_print_strn(void *data, const char *str, size_t len) {
    vstr_add_strn((vstr_t *)data, str, len);
}

// Appends `text` to `out` as a JSON string literal.
static void json_string(vstr_t *out, const char *text, size_t len) {
    vstr_add_byte(out, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = text[i];
        if (c == '"' || c == '\\') {
            vstr_add_byte(out, '\\');
            vstr_add_byte(out, c);
        } else if (c < 0x20) {
            vstr_printf(out, "\\u%04x", c);
        } else {
            vstr_add_byte(out, c);
        }
    }
    vstr_add_byte(out, '"');
}

static void record_error(void) {
    vstr_reset(&error_json);
    mp_obj_t exc = mpwasm_last_exception();
    if (exc == MP_OBJ_NULL) {
        return;
    }
    vstr_t text;
    vstr_init(&text, 64);
    mp_print_t print = {&text, vstr_print_strn};

    vstr_add_str(&error_json, "{\"type\":");
    const char *type_name = qstr_str(mp_obj_get_type(exc)->name);
    json_string(&error_json, type_name, strlen(type_name));

    vstr_add_str(&error_json, ",\"message\":");
    mp_obj_print_helper(&print, exc, PRINT_STR);
    json_string(&error_json, vstr_str(&text), vstr_len(&text));

    vstr_add_str(&error_json, ",\"traceback\":");
    vstr_reset(&text);
    mp_obj_print_exception(&print, exc);
    json_string(&error_json, vstr_str(&text), vstr_len(&text));
    vstr_add_byte(&error_json, '}');
    vstr_clear(&text);
}

// Runs `len` bytes of source at `code`. Returns 0, 1 for an uncaught
// exception, 0x100|n for SystemExit(n), or -1 if mpwasm_init was not called.
EXPORT(mpwasm_exec)
int mpwasm_exec(const char *code, uint32_t len, uint32_t flags) {
    if (!initialised) {
        return -1;
    }
    // Each call arrives from the host on a fresh stack: measure recursion
    // depth from here, not from where mpwasm_init happened to run.
    mp_stack_ctrl_init();
    bool single = flags & MPWASM_EXEC_SINGLE;
    int status = mpwasm_run_source(single ? MP_QSTR__lt_stdin_gt_ : MP_QSTR__lt_string_gt_, code, len,
        single ? MP_PARSE_SINGLE_INPUT : MP_PARSE_FILE_INPUT, single, flags & MPWASM_EXEC_QUIET);
    if (status != 0) {
        record_error();
    }
    return status;
}

// 1 if `code` is an incomplete statement that a REPL should keep reading.
EXPORT(mpwasm_needs_more_input)
int mpwasm_needs_more_input(const char *code, uint32_t len) {
    vstr_t text;
    vstr_init(&text, len + 1);
    vstr_add_strn(&text, code, len);
    int more = mp_repl_continue_with_input(vstr_null_terminated_str(&text));
    vstr_clear(&text);
    return more;
}

EXPORT(mpwasm_error_json)
const char *mpwasm_error_json(void) {
    return vstr_null_terminated_str(&error_json);
}

EXPORT(mpwasm_error_json_len)
uint32_t mpwasm_error_json_len(void) {
    return vstr_len(&error_json);
}
