// The `host` module: Python calls into functions the embedding host
// registered. Arguments and results cross as JSON text:
//
//   import host
//   host.call("add", 2, 3)   # or host.add(2, 3)
//
// In the library module the two imports below are provided by the host
// (Rust or JavaScript). The command module, which must run on any WASI
// runtime, is compiled without them and raises HostError instead.
#include <string.h>

#include "py/objstr.h"
#include "py/runtime.h"

// Arguments and results travel as JSON, so the module needs `json`.
#if MICROPY_PY_JSON

MP_DEFINE_EXCEPTION(HostError, Exception)

#if MPWASM_LIBRARY
// The component module (MPWASM_COMPONENT) defines these two in component.c
// over its WIT `host` import; the plain library module imports them.
#if MPWASM_COMPONENT
#define HOST_IMPORT(name)
#else
#define HOST_IMPORT(name) __attribute__((import_module("mpwasm"), import_name(#name)))
#endif

// Calls the host function `name` with a JSON array of arguments. Returns the
// length of the JSON result (>= 0), or -(length + 1) of an error message.
// Either is then fetched with host_take_result().
HOST_IMPORT(host_call)
int32_t mpwasm_host_call(const char *name, uint32_t name_len, const char *args_json, uint32_t args_len);

// Copies the pending result or error message into `buffer`.
HOST_IMPORT(host_take_result)
void mpwasm_host_take_result(char *buffer, uint32_t len);
#endif

static mp_obj_t json_function(qstr name) {
    mp_obj_t json = mp_import_name(MP_QSTR_json, mp_const_none, MP_OBJ_NEW_SMALL_INT(0));
    return mp_load_attr(json, name);
}

static mp_obj_t host_call(size_t n_args, const mp_obj_t *args) {
    size_t name_len;
    const char *name = mp_obj_str_get_data(args[0], &name_len);
    #if MPWASM_LIBRARY
    mp_obj_t arg_list = mp_obj_new_list(n_args - 1, (mp_obj_t *)args + 1);
    mp_obj_t args_json = mp_call_function_1(json_function(MP_QSTR_dumps), arg_list);
    size_t args_len;
    const char *args_text = mp_obj_str_get_data(args_json, &args_len);
    int32_t result = mpwasm_host_call(name, name_len, args_text, args_len);
    bool failed = result < 0;
    size_t len = failed ? (size_t)(-(result + 1)) : (size_t)result;
    vstr_t text;
    vstr_init_len(&text, len);
    mpwasm_host_take_result(text.buf, len);
    // "!" and a JSON id: the function returned a Promise that runPythonAsync
    // settles later; awaiting _asyncjs.promise(id) parks the calling task.
    bool promise = !failed && len > 0 && text.buf[0] == '!';
    if (promise) {
        text.buf[0] = ' ';
    }
    mp_obj_t payload = mp_obj_new_str_from_vstr(&text);
    if (failed) {
        mp_raise_type_arg(&mp_type_HostError, payload);
    }
    mp_obj_t value = mp_call_function_1(json_function(MP_QSTR_loads), payload);
    if (promise) {
        mp_obj_t runner = mp_import_name(MP_QSTR__asyncjs, mp_const_none, MP_OBJ_NEW_SMALL_INT(0));
        return mp_call_function_1(mp_load_attr(runner, MP_QSTR_promise), value);
    }
    return value;
    #else
    (void)n_args;
    (void)name_len;
    mp_raise_msg_varg(&mp_type_HostError, MP_ERROR_TEXT("no host functions in the command module (called %s)"), name);
    #endif
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(host_call_obj, 1, MP_OBJ_FUN_ARGS_MAX, host_call);

// host.NAME(...) is host.call("NAME", ...).
static mp_obj_t host_getattr(mp_obj_t attr) {
    qstr attr_name = mp_obj_str_get_qstr(attr);
    // Dunder lookups (the import system asks for __init__) are Python's
    // own protocol, never host functions: MP_OBJ_NULL means "no attribute".
    if (strncmp(qstr_str(attr_name), "__", 2) == 0) {
        return MP_OBJ_NULL;
    }
    mp_obj_t name = MP_OBJ_NEW_QSTR(attr_name);
    // functools.partial is not always built in; a closure over the name does
    // the same with MicroPython's native closure type.
    return mp_obj_new_closure(MP_OBJ_FROM_PTR(&host_call_obj), 1, &name);
}
static MP_DEFINE_CONST_FUN_OBJ_1(host_getattr_obj, host_getattr);

static const mp_rom_map_elem_t host_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_host) },
    { MP_ROM_QSTR(MP_QSTR_call), MP_ROM_PTR(&host_call_obj) },
    { MP_ROM_QSTR(MP_QSTR_HostError), MP_ROM_PTR(&mp_type_HostError) },
    { MP_ROM_QSTR(MP_QSTR___getattr__), MP_ROM_PTR(&host_getattr_obj) },
};
static MP_DEFINE_CONST_DICT(host_module_globals, host_module_globals_table);

const mp_obj_module_t mp_module_host = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&host_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR_host, mp_module_host);

#endif // MICROPY_PY_JSON
