// minimal: the core language only; every optional module is off.
#define MICROPY_CONFIG_ROM_LEVEL (MICROPY_CONFIG_ROM_LEVEL_CORE_FEATURES)
#define MICROPY_PY_OS            (0)
#define MICROPY_PY_TIME          (0)
