// Port part of the `os` module (included by extmod/modos.c): the environment
// and entropy, both provided by WASI.
#include <errno.h>
#include <stdlib.h>

#include "py/runtime.h"
#include "py/mphal.h"

static mp_obj_t mp_os_getenv(size_t n_args, const mp_obj_t *args) {
    const char *value = getenv(mp_obj_str_get_str(args[0]));
    if (value == NULL) {
        return n_args == 2 ? args[1] : mp_const_none;
    }
    return mp_obj_new_str_from_cstr(value);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mp_os_getenv_obj, 1, 2, mp_os_getenv);

static mp_obj_t mp_os_putenv(mp_obj_t key_in, mp_obj_t value_in) {
    if (setenv(mp_obj_str_get_str(key_in), mp_obj_str_get_str(value_in), 1) == -1) {
        mp_raise_OSError(errno);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(mp_os_putenv_obj, mp_os_putenv);

static mp_obj_t mp_os_unsetenv(mp_obj_t key_in) {
    if (unsetenv(mp_obj_str_get_str(key_in)) == -1) {
        mp_raise_OSError(errno);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(mp_os_unsetenv_obj, mp_os_unsetenv);

static mp_obj_t mp_os_urandom(mp_obj_t num_in) {
    mp_int_t num = mp_obj_get_int(num_in);
    if (num < 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("negative length"));
    }
    vstr_t vstr;
    vstr_init_len(&vstr, num);
    mp_hal_get_random(num, vstr.buf);
    return mp_obj_new_bytes_from_vstr(&vstr);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mp_os_urandom_obj, mp_os_urandom);
