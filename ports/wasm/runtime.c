// VM start-up and source execution shared by the command and library modules.
#include <stdlib.h>
#include <string.h>

#include "py/builtin.h"
#include "py/compile.h"
#include "py/gc.h"
#include "py/mphal.h"
#include "py/mpstate.h"
#include "py/runtime.h"
#include "py/stackctrl.h"
#include "extmod/vfs.h"
#include "extmod/vfs_posix.h"

#include "runtime.h"

#ifndef MPWASM_PYSTACK_SIZE
#define MPWASM_PYSTACK_SIZE (256 * 1024)
#endif
#ifndef MPWASM_C_STACK_SIZE
#define MPWASM_C_STACK_SIZE (1024 * 1024)
#endif
// Room left on the C stack below the limit for raising RecursionError itself.
#define MPWASM_C_STACK_MARGIN (32 * 1024)
// The engine running the module keeps its own stack of wasm frames, which
// the shadow-stack check cannot see, and a C frame costs more there: the
// spill pass gives a function only the slots it needs, so re's backtracking
// takes ~5x its shadow-stack bytes in V8 (a 256 KiB limit overflowed Node's
// 984 KB stack, 192 KiB did not). RecursionError must come before that stack
// runs out, so Python may use at most half the limit that failed.
#ifndef MPWASM_RECURSION_STACK_LIMIT
#define MPWASM_RECURSION_STACK_LIMIT (128 * 1024)
#endif

static mp_obj_t pystack_storage[MPWASM_PYSTACK_SIZE / sizeof(mp_obj_t)];
static char *heap;

// The last uncaught exception is a root pointer (MP_REGISTER_ROOT_POINTER)
// so the collector keeps it alive between calls from the host.
MP_REGISTER_ROOT_POINTER(mp_obj_t mpwasm_last_exception);

static void mount_host_filesystem(void) {
    // The WASI preopens are the host filesystem; VfsPosix at "/" lets the
    // import machinery and open() reach them with ordinary paths.
    mp_obj_t args[2] = {
        MP_OBJ_TYPE_GET_SLOT(&mp_type_vfs_posix, make_new)(&mp_type_vfs_posix, 0, 0, NULL),
        MP_OBJ_NEW_QSTR(MP_QSTR__slash_),
    };
    mp_vfs_mount(2, args, (mp_map_t *)&mp_const_empty_map);
    MP_STATE_VM(vfs_cur) = MP_STATE_VM(vfs_mount_table);
}

bool mpwasm_runtime_init(size_t heap_size) {
    mp_stack_ctrl_init();
    mp_stack_set_limit(MIN(MPWASM_C_STACK_SIZE - MPWASM_C_STACK_MARGIN, MPWASM_RECURSION_STACK_LIMIT));
    heap = malloc(heap_size);
    if (heap == NULL) {
        return false;
    }
    gc_init(heap, heap + heap_size);
    mp_pystack_init(pystack_storage, pystack_storage + MP_ARRAY_SIZE(pystack_storage));
    mp_init();
    mount_host_filesystem();
    // mp_init() made sys.path ["", ".frozen"]; /lib is where a host can
    // preopen extra packages.
    mp_obj_list_append(mp_sys_path, MP_OBJ_NEW_QSTR(MP_QSTR__slash_lib));
    MP_STATE_VM(mpwasm_last_exception) = MP_OBJ_NULL;
    return true;
}

void mpwasm_runtime_deinit(void) {
    mp_deinit();
    free(heap);
    heap = NULL;
}

// Turns an uncaught exception into a status, printing it (unless quiet or a
// SystemExit, as CPython does) and remembering it.
static int handle_uncaught_exception(mp_obj_base_t *exc, bool quiet) {
    MP_STATE_VM(mpwasm_last_exception) = MP_OBJ_FROM_PTR(exc);
    if (mp_obj_is_subclass_fast(MP_OBJ_FROM_PTR(exc->type), MP_OBJ_FROM_PTR(&mp_type_SystemExit))) {
        mp_obj_t exit_val = mp_obj_exception_get_value(MP_OBJ_FROM_PTR(exc));
        mp_int_t code = 0;
        if (exit_val == mp_const_none) {
            code = 0;
        } else if (mp_obj_is_int(exit_val)) {
            // Any integer, however big, exits with its low byte, as POSIX
            // takes it; mp_obj_get_int_maybe would raise OverflowError past
            // 32 bits, here where no handler is left to catch it.
            code = mp_obj_int_get_truncated(exit_val) & 0xff;
        } else if (mp_obj_get_int_maybe(exit_val, &code)) {
            code &= 0xff;
        } else {
            if (!quiet) {
                mp_obj_print_helper(&mp_stderr_print, exit_val, PRINT_STR);
                mp_print_str(&mp_stderr_print, "\n");
            }
            code = 1;
        }
        return MPWASM_FORCED_EXIT | (int)code;
    }
    if (!quiet) {
        mp_obj_print_exception(&mp_stderr_print, MP_OBJ_FROM_PTR(exc));
    }
    return 1;
}

// Where a program's text comes from: memory, or a file read through the VFS.
typedef struct {
    qstr name;
    const char *text; // NULL: read the file called `name`
    size_t len;
    bool top_level_await;
} program_t;

#if MICROPY_COMP_ALLOW_TOP_LEVEL_AWAIT
#define ALLOW_TOP_LEVEL_AWAIT(allow) (mp_compile_allow_top_level_await = (allow))
#else
#define ALLOW_TOP_LEVEL_AWAIT(allow) ((void)(allow))
#endif

// Top-level await made the program a coroutine: it becomes the main task of
// the asyncio runner (_asyncjs) that the host steps from its event loop.
static void start_main_task(mp_obj_t coroutine) {
    mp_obj_t runner = mp_import_name(MP_QSTR__asyncjs, mp_const_none, MP_OBJ_NEW_SMALL_INT(0));
    mp_call_function_1(mp_load_attr(runner, MP_QSTR_start), coroutine);
}

static int run_program(const program_t *program, mp_parse_input_kind_t input_kind, bool is_repl, bool quiet) {
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_lexer_t *lex = program->text
            ? mp_lexer_new_from_str_len(program->name, program->text, program->len, 0)
            : mp_lexer_new_from_file(program->name);
        if (program->text == NULL) {
            mp_store_global(MP_QSTR___file__, MP_OBJ_NEW_QSTR(program->name));
        }
        mp_parse_tree_t parse_tree = mp_parse(lex, input_kind);
        // Only this compile: modules the program imports cannot await at top level.
        ALLOW_TOP_LEVEL_AWAIT(program->top_level_await);
        mp_obj_t module_fun = mp_compile(&parse_tree, program->name, is_repl);
        ALLOW_TOP_LEVEL_AWAIT(false);
        mp_obj_t coroutine = mp_call_function_0(module_fun);
        if (program->top_level_await && coroutine != mp_const_none) {
            start_main_task(coroutine);
        }
        mp_handle_pending(true);
        nlr_pop();
        return 0;
    }
    ALLOW_TOP_LEVEL_AWAIT(false);
    mp_handle_pending(false);
    return handle_uncaught_exception(nlr.ret_val, quiet);
}

int mpwasm_run_source(qstr source_name, const char *source, size_t len, mp_parse_input_kind_t input_kind, bool is_repl,
    bool quiet) {
    program_t program = {source_name, source, len, false};
    return run_program(&program, input_kind, is_repl, quiet);
}

int mpwasm_run_source_async(const char *source, size_t len, bool quiet) {
    program_t program = {MP_QSTR__lt_string_gt_, source, len, true};
    return run_program(&program, MP_PARSE_FILE_INPUT, false, quiet);
}

int mpwasm_run_file(const char *path) {
    program_t program = {qstr_from_str(path), NULL, 0, false};
    return run_program(&program, MP_PARSE_FILE_INPUT, false, false);
}

int mpwasm_run_module(const char *name) {
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        // fromlist=False is the sentinel that, with
        // MICROPY_MODULE_OVERRIDE_MAIN_IMPORT, runs the module as __main__.
        mp_obj_t import_args[4] = {
            mp_obj_new_str_from_cstr(name), mp_const_none, mp_const_none, mp_const_false,
        };
        mp_builtin___import__(MP_ARRAY_SIZE(import_args), import_args);
        nlr_pop();
        return 0;
    }
    return handle_uncaught_exception(nlr.ret_val, false);
}

int mpwasm_run_atexit(int status) {
    #if MICROPY_PY_SYS_ATEXIT
    if (mp_obj_is_callable(MP_STATE_VM(sys_exitfunc))) {
        nlr_buf_t nlr;
        if (nlr_push(&nlr) == 0) {
            mp_call_function_0(MP_STATE_VM(sys_exitfunc));
            nlr_pop();
        } else {
            int atexit_status = handle_uncaught_exception(nlr.ret_val, false);
            if (status == 0) {
                status = atexit_status;
            }
        }
    }
    #endif
    return status;
}

mp_obj_t mpwasm_last_exception(void) {
    return MP_STATE_VM(mpwasm_last_exception);
}

// Called by MicroPython when no handler is left: nothing sensible remains.
void nlr_jump_fail(void *val) {
    (void)val;
    mp_print_str(&mp_stderr_print, "FATAL: uncaught NLR\n");
    abort();
}
