// Exported API of the library ("reactor") module, used by the Rust and npm
// bundles to keep one interpreter alive across many runs. The contract is
// declared, with its calling convention, in mpwasm_api.h.
#include <stdlib.h>
#include <string.h>

#include "py/mpprint.h"
#include "py/objexcept.h"
#include "py/runtime.h"
#include "py/repl.h"
#include "py/stackctrl.h"

#include "mpwasm_api.h"
#include "runtime.h"

#define EXPORT(name) __attribute__((export_name(#name)))

// The last error as JSON, in malloc'd memory: the GC does not scan statics,
// so a buffer on its heap could be freed while we still point at it.
static char *error_json;
static size_t error_json_len;
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

static void set_error_json(const char *json, size_t len) {
    free(error_json);
    error_json = malloc(len + 1);
    if (error_json == NULL) {
        error_json_len = 0;
        return;
    }
    memcpy(error_json, json, len);
    error_json[len] = '\0';
    error_json_len = len;
}

// Describes the last exception as JSON. Building the text allocates on the
// GC heap, which may be full (the error may be a MemoryError): then a fixed
// description stands in rather than a second, uncaught exception.
static void record_error(void) {
    mp_obj_t exc = mpwasm_last_exception();
    if (exc == MP_OBJ_NULL) {
        set_error_json("", 0);
        return;
    }
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        vstr_t json;
        vstr_init(&json, 128);
        vstr_t text;
        vstr_init(&text, 64);
        mp_print_t print = {&text, vstr_print_strn};

        vstr_add_str(&json, "{\"type\":");
        const char *type_name = qstr_str(mp_obj_get_type(exc)->name);
        json_string(&json, type_name, strlen(type_name));

        vstr_add_str(&json, ",\"message\":");
        mp_obj_print_helper(&print, exc, PRINT_STR);
        json_string(&json, vstr_str(&text), vstr_len(&text));

        vstr_add_str(&json, ",\"traceback\":");
        vstr_reset(&text);
        mp_obj_print_exception(&print, exc);
        json_string(&json, vstr_str(&text), vstr_len(&text));
        vstr_add_byte(&json, '}');
        set_error_json(vstr_str(&json), vstr_len(&json));
        vstr_clear(&text);
        vstr_clear(&json);
        nlr_pop();
    } else {
        // Only the type's name, which needs no allocation to read.
        static const char head[] = "{\"type\":\"", tail[] = "\",\"message\":\"\",\"traceback\":\"\"}";
        const char *type_name = qstr_str(mp_obj_get_type(exc)->name);
        size_t name_len = strlen(type_name);
        char *fallback = malloc(sizeof(head) + name_len + sizeof(tail));
        if (fallback != NULL) {
            memcpy(fallback, head, sizeof(head) - 1);
            memcpy(fallback + sizeof(head) - 1, type_name, name_len);
            memcpy(fallback + sizeof(head) - 1 + name_len, tail, sizeof(tail));
            set_error_json(fallback, sizeof(head) - 1 + name_len + sizeof(tail) - 1);
            free(fallback);
        }
    }
}

EXPORT(mpwasm_exec)
int mpwasm_exec(const char *code, uint32_t len, uint32_t flags) {
    if (!initialised) {
        return -1;
    }
    // Each call arrives from the host on a fresh stack: measure recursion
    // depth from here, not from where mpwasm_init happened to run.
    mp_stack_ctrl_init();
    bool single = flags & MPWASM_EXEC_SINGLE;
    bool quiet = flags & MPWASM_EXEC_QUIET;
    int status = flags & MPWASM_EXEC_ASYNC
        ? mpwasm_run_source_async(code, len, quiet)
        : mpwasm_run_source(single ? MP_QSTR__lt_stdin_gt_ : MP_QSTR__lt_string_gt_, code, len,
            single ? MP_PARSE_SINGLE_INPUT : MP_PARSE_FILE_INPUT, single, quiet);
    if (status != 0) {
        record_error();
    }
    return status;
}

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
    return error_json ? error_json : "";
}

EXPORT(mpwasm_error_json_len)
uint32_t mpwasm_error_json_len(void) {
    return error_json_len;
}
