// Entry point of the WASI command module: `micropython.wasm [options] [-c CODE | -m MODULE | FILE | -] [args...]`.
//
// Exit codes follow CPython: 0 on success, 1 for an uncaught exception (its
// traceback goes to stderr), n for `SystemExit(n)`, 2 for bad usage.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "py/builtin.h"
#include "py/compile.h"
#include "py/gc.h"
#include "py/mperrno.h"
#include "py/mphal.h"
#include "py/mpstate.h"
#include "py/repl.h"
#include "py/runtime.h"
#include "py/stackctrl.h"
#include "extmod/vfs.h"
#include "extmod/vfs_posix.h"
#include "genhdr/mpversion.h"


#define EXIT_USAGE (2)
// Bit set in a result to say "stop now" (SystemExit), as opposed to an error
// that the REPL reports and survives.
#define FORCED_EXIT (0x100)

// Sizes of the regions MicroPython manages itself. The GC heap can be chosen
// with `-X heapsize=`; the C stack size is fixed at link time (see the build's
// `stack_size`), and MICROPY_STACK_SIZE is how much of it Python may use
// before RecursionError, leaving a margin for the error path itself.
#ifndef MPWASM_DEFAULT_HEAP_SIZE
#define MPWASM_DEFAULT_HEAP_SIZE (8 * 1024 * 1024)
#endif
#ifndef MPWASM_PYSTACK_SIZE
#define MPWASM_PYSTACK_SIZE (256 * 1024)
#endif
#ifndef MPWASM_C_STACK_SIZE
#define MPWASM_C_STACK_SIZE (1024 * 1024)
#endif
#define MPWASM_C_STACK_MARGIN (32 * 1024)

static mp_obj_t pystack_storage[MPWASM_PYSTACK_SIZE / sizeof(mp_obj_t)];

static void print_usage(const char *prog) {
    fprintf(stderr,
        "usage: %s [-X heapsize=N[k|m]] [-c CODE | -m MODULE | FILE | -] [arg ...]\n"
        "  -c CODE    run CODE\n"
        "  -m MODULE  run MODULE as __main__\n"
        "  FILE       run the script FILE\n"
        "  -          read the program from stdin\n"
        "  (none)     interactive prompt on stdin\n",
        prog);
}

// Turns an uncaught exception into an exit status, printing it unless it is a
// SystemExit, as CPython does.
static int handle_uncaught_exception(mp_obj_base_t *exc) {
    if (mp_obj_is_subclass_fast(MP_OBJ_FROM_PTR(exc->type), MP_OBJ_FROM_PTR(&mp_type_SystemExit))) {
        mp_obj_t exit_val = mp_obj_exception_get_value(MP_OBJ_FROM_PTR(exc));
        mp_int_t code = 0;
        if (exit_val == mp_const_none) {
            code = 0;
        } else if (mp_obj_get_int_maybe(exit_val, &code)) {
            code &= 0xff;
        } else {
            mp_obj_print_helper(&mp_stderr_print, exit_val, PRINT_STR);
            mp_print_str(&mp_stderr_print, "\n");
            code = 1;
        }
        return FORCED_EXIT | (int)code;
    }
    mp_obj_print_exception(&mp_stderr_print, MP_OBJ_FROM_PTR(exc));
    return 1;
}

// Source of a program: a string in memory, or a file path (or stdin as "-").
typedef enum { SOURCE_STR, SOURCE_FILE, SOURCE_STDIN } source_kind_t;

// Reads the whole of stdin into `program`; the lexer takes ownership.
static void read_all_stdin(vstr_t *program) {
    vstr_init(program, 256);
    for (;;) {
        char *chunk = vstr_add_len(program, 256);
        ssize_t n = read(STDIN_FILENO, chunk, 256);
        vstr_cut_tail_bytes(program, 256 - (n > 0 ? n : 0));
        if (n <= 0) {
            return;
        }
    }
}

static int execute_source(source_kind_t kind, const char *source, mp_parse_input_kind_t input_kind, bool is_repl) {
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_lexer_t *lex;
        if (kind == SOURCE_STR) {
            lex = mp_lexer_new_from_str_len(is_repl ? MP_QSTR__lt_stdin_gt_ : MP_QSTR__lt_string_gt_, source, strlen(source), 0);
        } else if (kind == SOURCE_STDIN) {
            vstr_t program;
            read_all_stdin(&program);
            lex = mp_lexer_new_from_str_len(MP_QSTR__lt_stdin_gt_, program.buf, program.len, program.alloc);
        } else {
            lex = mp_lexer_new_from_file(qstr_from_str(source));
        }
        qstr source_name = lex->source_name;
        if (kind == SOURCE_FILE) {
            mp_store_global(MP_QSTR___file__, MP_OBJ_NEW_QSTR(source_name));
        }
        mp_parse_tree_t parse_tree = mp_parse(lex, input_kind);
        mp_obj_t module_fun = mp_compile(&parse_tree, source_name, is_repl);
        mp_call_function_0(module_fun);
        mp_handle_pending(true);
        nlr_pop();
        return 0;
    }
    mp_handle_pending(false);
    return handle_uncaught_exception(nlr.ret_val);
}

static int run_module(const char *name) {
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_obj_t import_args[4] = {
            mp_obj_new_str_from_cstr(name), mp_const_none, mp_const_none, MP_OBJ_NEW_SMALL_INT(0),
        };
        // MICROPY_MODULE_OVERRIDE_MAIN_IMPORT makes this import run as __main__.
        mp_builtin___import__(MP_ARRAY_SIZE(import_args), import_args);
        nlr_pop();
        return 0;
    }
    return handle_uncaught_exception(nlr.ret_val);
}

// Reads one line into `line` (emptied first); false at end of input.
static bool read_line(vstr_t *line, const char *prompt) {
    vstr_reset(line);
    return mp_hal_readline(line, prompt) == 0 || vstr_len(line) > 0;
}

static int run_repl(void) {
    bool interactive = isatty(STDIN_FILENO);
    if (interactive) {
        mp_hal_stdout_tx_str(MICROPY_BANNER_NAME_AND_VERSION "; " MICROPY_BANNER_MACHINE "\n");
    }
    vstr_t line;
    vstr_init(&line, 64);
    int status = 0;
    while (read_line(&line, interactive ? ">>> " : "")) {
        while (mp_repl_continue_with_input(vstr_null_terminated_str(&line))) {
            vstr_t more;
            vstr_init(&more, 32);
            bool got = read_line(&more, interactive ? "... " : "");
            vstr_add_byte(&line, '\n');
            vstr_add_strn(&line, vstr_str(&more), vstr_len(&more));
            vstr_clear(&more);
            if (!got) {
                break;
            }
        }
        status = execute_source(SOURCE_STR, vstr_null_terminated_str(&line), MP_PARSE_SINGLE_INPUT, true);
        if (status & FORCED_EXIT) {
            break;
        }
    }
    vstr_clear(&line);
    if (interactive && !(status & FORCED_EXIT)) {
        mp_hal_stdout_tx_str("\n");
    }
    // At end of input the REPL's status is that of a clean exit unless
    // SystemExit said otherwise; errors were already reported line by line.
    return (status & FORCED_EXIT) ? status : 0;
}

// Parses "-X heapsize=N[k|m]"; returns false on a malformed value.
static bool parse_heap_size(const char *value, size_t *heap_size) {
    char *end;
    unsigned long long size = strtoull(value, &end, 0);
    if (end == value) {
        return false;
    }
    if (*end == 'k' || *end == 'K') {
        size *= 1024;
        end++;
    } else if (*end == 'm' || *end == 'M') {
        size *= 1024 * 1024;
        end++;
    }
    if (*end != '\0' || size < 16 * 1024 || size > 1024ull * 1024 * 1024) {
        return false;
    }
    *heap_size = (size_t)size;
    return true;
}

static void set_sys_argv(int argc, char **argv) {
    mp_obj_list_init(MP_OBJ_TO_PTR(mp_sys_argv), 0);
    for (int i = 0; i < argc; i++) {
        mp_obj_list_append(mp_sys_argv, mp_obj_new_str_from_cstr(argv[i]));
    }
}

// sys.path[0] is the script's folder, or "" for -c, -m and the REPL (as CPython).
static void set_path_head(const char *script) {
    mp_obj_list_t *path = MP_OBJ_TO_PTR(mp_sys_path);
    const char *slash = script ? strrchr(script, '/') : NULL;
    path->items[0] = slash ? mp_obj_new_str_via_qstr(script, slash - script) : MP_OBJ_NEW_QSTR(MP_QSTR_);
}

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

int main(int argc, char **argv) {
    mp_stack_ctrl_init();
    mp_stack_set_limit(MPWASM_C_STACK_SIZE - MPWASM_C_STACK_MARGIN);

    size_t heap_size = MPWASM_DEFAULT_HEAP_SIZE;
    int arg = 1;
    while (arg < argc && strcmp(argv[arg], "-X") == 0) {
        if (arg + 1 >= argc || strncmp(argv[arg + 1], "heapsize=", 9) != 0
            || !parse_heap_size(argv[arg + 1] + 9, &heap_size)) {
            fprintf(stderr, "%s: -X expects heapsize=N[k|m] (16k to 1024m)\n", argv[0]);
            return EXIT_USAGE;
        }
        arg += 2;
    }

    char *heap = malloc(heap_size);
    if (heap == NULL) {
        fprintf(stderr, "%s: cannot allocate a %zu-byte heap\n", argv[0], heap_size);
        return 1;
    }
    gc_init(heap, heap + heap_size);
    mp_pystack_init(pystack_storage, pystack_storage + MP_ARRAY_SIZE(pystack_storage));
    mp_init();
    mount_host_filesystem();

    // mp_init() made sys.path ["", ".frozen"]; the first entry is set per
    // mode below, and /lib is where a host can preopen extra packages.
    mp_obj_list_append(mp_sys_path, MP_OBJ_NEW_QSTR(MP_QSTR__slash_lib));

    int status;
    if (arg >= argc) {
        set_sys_argv(1, (char *[]) {""});
        set_path_head(NULL);
        status = run_repl();
    } else if (strcmp(argv[arg], "-c") == 0 || strcmp(argv[arg], "-m") == 0) {
        bool is_code = argv[arg][1] == 'c';
        if (arg + 1 >= argc) {
            fprintf(stderr, "%s: argument expected for the %s option\n", argv[0], argv[arg]);
            print_usage(argv[0]);
            status = EXIT_USAGE;
        } else {
            // sys.argv[0] is "-c" for code (as CPython) and the module's name for -m.
            set_sys_argv(argc - arg - 1, argv + arg + 1);
            if (is_code) {
                mp_obj_list_store(mp_sys_argv, MP_OBJ_NEW_SMALL_INT(0), mp_obj_new_str("-c", 2));
            }
            set_path_head(NULL);
            status = is_code
                ? execute_source(SOURCE_STR, argv[arg + 1], MP_PARSE_FILE_INPUT, false)
                : run_module(argv[arg + 1]);
        }
    } else if (strcmp(argv[arg], "-h") == 0 || strcmp(argv[arg], "--help") == 0) {
        print_usage(argv[0]);
        status = 0;
    } else if (argv[arg][0] == '-' && argv[arg][1] != '\0') {
        fprintf(stderr, "%s: unknown option %s\n", argv[0], argv[arg]);
        print_usage(argv[0]);
        status = EXIT_USAGE;
    } else if (strcmp(argv[arg], "-") == 0) {
        set_sys_argv(argc - arg, argv + arg);
        set_path_head(NULL);
        status = execute_source(SOURCE_STDIN, NULL, MP_PARSE_FILE_INPUT, false);
    } else {
        if (access(argv[arg], R_OK) != 0) {
            // As CPython: a missing script is a usage error, not a traceback.
            fprintf(stderr, "%s: can't open file '%s': %s (is its directory preopened, e.g. wasmtime --dir?)\n",
                argv[0], argv[arg], strerror(errno));
            status = EXIT_USAGE;
        } else {
            set_sys_argv(argc - arg, argv + arg);
            set_path_head(argv[arg]);
            status = execute_source(SOURCE_FILE, argv[arg], MP_PARSE_FILE_INPUT, false);
        }
    }

    #if MICROPY_PY_SYS_ATEXIT
    if (mp_obj_is_callable(MP_STATE_VM(sys_exitfunc))) {
        nlr_buf_t nlr;
        if (nlr_push(&nlr) == 0) {
            mp_call_function_0(MP_STATE_VM(sys_exitfunc));
            nlr_pop();
        } else {
            int atexit_status = handle_uncaught_exception(nlr.ret_val);
            if (!(status & FORCED_EXIT) && status == 0) {
                status = atexit_status;
            }
        }
    }
    #endif
    mp_deinit();
    free(heap);
    return status & 0xff;
}

// Called by MicroPython when no handler is left: nothing sensible remains.
void nlr_jump_fail(void *val) {
    fprintf(stderr, "FATAL: uncaught NLR %p\n", val);
    exit(1);
}
