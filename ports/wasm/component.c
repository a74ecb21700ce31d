// The library as a WebAssembly component: the WIT world `library` of
// wit/micropython.wit over the port's runtime (runtime.h). wit-bindgen
// generates the canonical-ABI glue into the build folder (wit/*.h, *.c); this
// file is what that glue calls.
//
// A component instance holds one interpreter, since MicroPython keeps its
// state in globals: the newest session (or a one-shot run) owns it, and
// older sessions answer with a "SessionClosed" error.
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "py/compile.h"
#include "py/mpstate.h"
#include "py/objstr.h"
#include "py/runtime.h"
#include "py/stackctrl.h"

#include "runtime.h"
#include "wit/mpwasm_component.h"

typedef mpwasm_component_string_t wit_string_t;
typedef exports_mpwasm_micropython_interpreter_limits_t limits_t;
typedef exports_mpwasm_micropython_interpreter_output_t output_t;
typedef exports_mpwasm_micropython_interpreter_python_error_t python_error_t;
typedef exports_mpwasm_micropython_interpreter_session_t session_t;

#define DEFAULT_OUTPUT_BYTES (1024 * 1024)
// Below this MicroPython cannot even start (mp_init allocates).
#define MIN_HEAP_BYTES (16 * 1024)

// ---- WIT strings -----------------------------------------------------------

// Length of the valid UTF-8 sequence at `s` (with `n` bytes left), or 0.
static size_t utf8_sequence(const unsigned char *s, size_t n) {
    unsigned char lead = s[0];
    if (lead < 0x80) {
        return 1;
    }
    size_t len;
    uint32_t min;
    if ((lead & 0xe0) == 0xc0) {
        len = 2, min = 0x80;
    } else if ((lead & 0xf0) == 0xe0) {
        len = 3, min = 0x800;
    } else if ((lead & 0xf8) == 0xf0) {
        len = 4, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len) {
        return 0;
    }
    uint32_t code_point = lead & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        code_point = (code_point << 6) | (s[i] & 0x3f);
    }
    if (code_point < min || code_point > 0x10ffff || (code_point >= 0xd800 && code_point <= 0xdfff)) {
        return 0;
    }
    return len;
}

// A malloc'd copy of `text` as a WIT string, which must be UTF-8 (the
// canonical ABI traps on anything else): each invalid byte becomes U+FFFD.
// The glue's post-return functions free it.
static wit_string_t wit_string(const char *text, size_t len) {
    static const char replacement[] = "\xef\xbf\xbd";
    const unsigned char *in = (const unsigned char *)text;
    size_t out_len = 0;
    for (size_t i = 0; i < len;) {
        size_t seq = utf8_sequence(in + i, len - i);
        out_len += seq ? seq : 3;
        i += seq ? seq : 1;
    }
    wit_string_t out = {malloc(out_len ? out_len : 1), out_len};
    if (out.ptr == NULL) {
        // Nothing sensible is left to return; an empty string is valid.
        out.len = 0;
        return out;
    }
    size_t at = 0;
    for (size_t i = 0; i < len;) {
        size_t seq = utf8_sequence(in + i, len - i);
        if (seq) {
            memcpy(out.ptr + at, in + i, seq);
            at += seq, i += seq;
        } else {
            memcpy(out.ptr + at, replacement, 3);
            at += 3, i += 1;
        }
    }
    return out;
}

static wit_string_t wit_cstring(const char *text) {
    return wit_string(text, strlen(text));
}

// ---- Output ----------------------------------------------------------------

// stdout and stderr of the call in progress, in malloc'd memory (the GC heap
// may be full when Python prints its MemoryError).
typedef struct {
    char *bytes;
    size_t len;
    size_t capacity;
} stream_buffer_t;

static stream_buffer_t streams[2];
static size_t output_limit = DEFAULT_OUTPUT_BYTES;
static bool output_truncated;

static void begin_output(void) {
    for (size_t i = 0; i < 2; i++) {
        streams[i].len = 0;
    }
    output_truncated = false;
}

static void end_output(output_t *output) {
    output->stdout_ = wit_string(streams[0].bytes, streams[0].len);
    output->stderr_ = wit_string(streams[1].bytes, streams[1].len);
    output->truncated = output_truncated;
}

ssize_t __real_write(int fd, const void *buffer, size_t len);

// Every write of the port (print, sys.stdout, tracebacks) ends in write():
// the linker routes it here (port.toml's `wrap`), so stdout and stderr land
// in the `output` record instead of the embedder's streams.
ssize_t __wrap_write(int fd, const void *buffer, size_t len) {
    if (fd != STDOUT_FILENO && fd != STDERR_FILENO) {
        return __real_write(fd, buffer, len);
    }
    stream_buffer_t *stream = &streams[fd == STDOUT_FILENO ? 0 : 1];
    size_t room = stream->len < output_limit ? output_limit - stream->len : 0;
    size_t keep = len < room ? len : room;
    if (keep < len) {
        output_truncated = true;
    }
    if (stream->len + keep > stream->capacity) {
        size_t capacity = stream->capacity ? stream->capacity : 256;
        while (capacity < stream->len + keep) {
            capacity *= 2;
        }
        char *grown = realloc(stream->bytes, capacity);
        if (grown == NULL) {
            output_truncated = true;
            return len;
        }
        stream->bytes = grown;
        stream->capacity = capacity;
    }
    memcpy(stream->bytes + stream->len, buffer, keep);
    stream->len += keep;
    // All of it counts as written: the writer must not retry what was dropped.
    return len;
}

// ---- Errors ----------------------------------------------------------------

static void vstr_print_strn(void *data, const char *str, size_t len) {
    vstr_add_strn((vstr_t *)data, str, len);
}

static void fill_error(python_error_t *error, const char *type, const char *message) {
    error->type = wit_cstring(type);
    error->message = wit_cstring(message);
    error->traceback = wit_cstring("");
}

// Describes the last uncaught exception. Its text is built on the GC heap,
// which may be full (the error may be a MemoryError): then the type's name
// alone, which needs no allocation, stands in.
static void describe_exception(python_error_t *error) {
    mp_obj_t exc = mpwasm_last_exception();
    const char *type_name = qstr_str(mp_obj_get_type(exc)->name);
    error->message = (wit_string_t){NULL, 0};
    error->traceback = (wit_string_t){NULL, 0};
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        vstr_t text;
        vstr_init(&text, 64);
        mp_print_t print = {&text, vstr_print_strn};
        mp_obj_print_helper(&print, exc, PRINT_STR);
        error->message = wit_string(vstr_str(&text), vstr_len(&text));
        vstr_reset(&text);
        mp_obj_print_exception(&print, exc);
        error->traceback = wit_string(vstr_str(&text), vstr_len(&text));
        vstr_clear(&text);
        nlr_pop();
    } else {
        free(error->message.ptr);
        free(error->traceback.ptr);
        error->message = wit_cstring("");
        error->traceback = wit_cstring("");
    }
    error->type = wit_cstring(type_name);
}

// ---- The interpreter -------------------------------------------------------

struct exports_mpwasm_micropython_interpreter_session_t {
    // Which start of the interpreter this session owns.
    uint32_t generation;
    // Why the session has no interpreter (its limits were refused), or NULL.
    const char *refused;
};

static bool interpreter_running;
// Counts the starts of the interpreter; a session remembers its own.
static uint32_t generation;

static void stop_interpreter(void) {
    if (interpreter_running) {
        mpwasm_runtime_deinit();
        interpreter_running = false;
    }
}

// Starts a fresh interpreter under `limits`, replacing any other. Returns
// NULL, or why it could not start.
static const char *start_interpreter(const limits_t *limits) {
    stop_interpreter();
    generation++;
    output_limit = limits->output_bytes.is_some ? limits->output_bytes.val : DEFAULT_OUTPUT_BYTES;
    size_t heap_bytes = limits->heap_bytes.is_some ? limits->heap_bytes.val : MPWASM_DEFAULT_HEAP_SIZE;
    if (heap_bytes < MIN_HEAP_BYTES) {
        return "heap-bytes must be at least 16384";
    }
    mp_stack_ctrl_init();
    if (!mpwasm_runtime_init(heap_bytes)) {
        return "the heap could not be allocated: heap-bytes is more than the component's memory allows";
    }
    interpreter_running = true;
    return NULL;
}

// Runs statements in __main__; their output and any exception go to the
// result record.
static bool run_statements(wit_string_t *code, output_t *ret, python_error_t *err) {
    begin_output();
    // Each call arrives from the host on a fresh stack: measure recursion
    // depth from here.
    mp_stack_ctrl_init();
    int status = mpwasm_run_source(MP_QSTR__lt_string_gt_, (const char *)code->ptr, code->len, MP_PARSE_FILE_INPUT,
        false, true);
    if (status == 0) {
        end_output(ret);
        return true;
    }
    describe_exception(err);
    end_output(&err->output);
    return false;
}

// Evaluates one expression to JSON text. What it prints is kept only when
// it fails (the result record has no room for output).
static bool eval_expression(wit_string_t *expression, wit_string_t *ret, python_error_t *err) {
    begin_output();
    mp_stack_ctrl_init();
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_lexer_t *lex =
            mp_lexer_new_from_str_len(MP_QSTR__lt_string_gt_, (const char *)expression->ptr, expression->len, 0);
        qstr source_name = lex->source_name;
        mp_parse_tree_t parse_tree = mp_parse(lex, MP_PARSE_EVAL_INPUT);
        mp_obj_t value = mp_call_function_0(mp_compile(&parse_tree, source_name, false));
        mp_obj_t json = mp_import_name(MP_QSTR_json, mp_const_none, MP_OBJ_NEW_SMALL_INT(0));
        mp_obj_t text = mp_call_function_1(mp_load_attr(json, MP_QSTR_dumps), value);
        // MicroPython's json.dumps writes what it cannot encode as its repr,
        // which is not JSON: the result must read back.
        nlr_buf_t check;
        if (nlr_push(&check) == 0) {
            mp_call_function_1(mp_load_attr(json, MP_QSTR_loads), text);
            nlr_pop();
        } else {
            mp_raise_msg_varg(&mp_type_TypeError, MP_ERROR_TEXT("the value (a %s) cannot be represented as JSON"),
                mp_obj_get_type_str(value));
        }
        size_t len;
        const char *data = mp_obj_str_get_data(text, &len);
        *ret = wit_string(data, len);
        nlr_pop();
        return true;
    }
    MP_STATE_VM(mpwasm_last_exception) = MP_OBJ_FROM_PTR(nlr.ret_val);
    describe_exception(err);
    end_output(&err->output);
    return false;
}

// The error of a call on a session that cannot run: replaced or refused.
static bool session_unavailable(const session_t *session, python_error_t *err) {
    begin_output();
    end_output(&err->output);
    if (session->refused != NULL) {
        fill_error(err, "ValueError", session->refused);
    } else {
        fill_error(err, "SessionClosed",
            "a newer session or a one-shot run replaced this session's interpreter; "
            "instantiate the component once per session that must stay alive");
    }
    return false;
}

static bool session_usable(const session_t *session) {
    return session->refused == NULL && interpreter_running && session->generation == generation;
}

exports_mpwasm_micropython_interpreter_own_session_t exports_mpwasm_micropython_interpreter_constructor_session(
    limits_t *limits) {
    session_t *session = malloc(sizeof(session_t));
    if (session == NULL) {
        abort();
    }
    session->refused = start_interpreter(limits);
    session->generation = generation;
    return exports_mpwasm_micropython_interpreter_session_new(session);
}

void exports_mpwasm_micropython_interpreter_session_destructor(session_t *session) {
    if (session_usable(session)) {
        stop_interpreter();
    }
    free(session);
}

bool exports_mpwasm_micropython_interpreter_method_session_run(exports_mpwasm_micropython_interpreter_borrow_session_t self,
    wit_string_t *code, output_t *ret, python_error_t *err) {
    if (!session_usable(self)) {
        return session_unavailable(self, err);
    }
    return run_statements(code, ret, err);
}

bool exports_mpwasm_micropython_interpreter_method_session_eval(
    exports_mpwasm_micropython_interpreter_borrow_session_t self, wit_string_t *expression, wit_string_t *ret,
    python_error_t *err) {
    if (!session_usable(self)) {
        return session_unavailable(self, err);
    }
    return eval_expression(expression, ret, err);
}

bool exports_mpwasm_micropython_interpreter_run(wit_string_t *code, limits_t *limits, output_t *ret,
    python_error_t *err) {
    const char *refused = start_interpreter(limits);
    if (refused != NULL) {
        begin_output();
        end_output(&err->output);
        fill_error(err, "ValueError", refused);
        return false;
    }
    bool ok = run_statements(code, ret, err);
    stop_interpreter();
    return ok;
}

// ---- Host calls ------------------------------------------------------------

// modhost.c's two-step protocol over the WIT import, which answers in one
// step: the answer waits here until Python takes it.
static wit_string_t pending_answer;

int32_t mpwasm_host_call(const char *name, uint32_t name_len, const char *args_json, uint32_t args_len) {
    wit_string_t wit_name = {(uint8_t *)name, name_len};
    wit_string_t wit_args = {(uint8_t *)args_json, args_len};
    wit_string_t result, message;
    bool ok = mpwasm_micropython_host_call(&wit_name, &wit_args, &result, &message);
    mpwasm_component_string_free(&pending_answer);
    pending_answer = ok ? result : message;
    return ok ? (int32_t)pending_answer.len : -(int32_t)pending_answer.len - 1;
}

void mpwasm_host_take_result(char *buffer, uint32_t len) {
    memcpy(buffer, pending_answer.ptr, len);
    mpwasm_component_string_free(&pending_answer);
}
