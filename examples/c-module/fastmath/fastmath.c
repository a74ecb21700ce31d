// fastmath: a small user C module in MicroPython's USER_C_MODULES layout.
//   import fastmath
//   fastmath.gcd(84, 36)          -> 12
//   fastmath.sum_squares([1, 2])  -> 5

#include "py/runtime.h"

static mp_obj_t fastmath_gcd(mp_obj_t a_in, mp_obj_t b_in) {
    mp_int_t a = mp_obj_get_int(a_in);
    mp_int_t b = mp_obj_get_int(b_in);
    a = a < 0 ? -a : a;
    b = b < 0 ? -b : b;
    while (b != 0) {
        mp_int_t rest = a % b;
        a = b;
        b = rest;
    }
    return mp_obj_new_int(a);
}
static MP_DEFINE_CONST_FUN_OBJ_2(fastmath_gcd_obj, fastmath_gcd);

static mp_obj_t fastmath_sum_squares(mp_obj_t iterable) {
    mp_obj_iter_buf_t iter_buf;
    mp_obj_t iter = mp_getiter(iterable, &iter_buf);
    mp_obj_t total = MP_OBJ_NEW_SMALL_INT(0);
    mp_obj_t item;
    while ((item = mp_iternext(iter)) != MP_OBJ_STOP_ITERATION) {
        total = mp_binary_op(MP_BINARY_OP_ADD, total, mp_binary_op(MP_BINARY_OP_MULTIPLY, item, item));
    }
    return total;
}
static MP_DEFINE_CONST_FUN_OBJ_1(fastmath_sum_squares_obj, fastmath_sum_squares);

static const mp_rom_map_elem_t fastmath_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_fastmath) },
    { MP_ROM_QSTR(MP_QSTR_gcd), MP_ROM_PTR(&fastmath_gcd_obj) },
    { MP_ROM_QSTR(MP_QSTR_sum_squares), MP_ROM_PTR(&fastmath_sum_squares_obj) },
};
static MP_DEFINE_CONST_DICT(fastmath_globals, fastmath_globals_table);

const mp_obj_module_t fastmath_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&fastmath_globals,
};

MP_REGISTER_MODULE(MP_QSTR_fastmath, fastmath_module);
