// full: standard plus every module the fetched tree supports without
// external libraries.
#define MICROPY_CONFIG_ROM_LEVEL (MICROPY_CONFIG_ROM_LEVEL_EVERYTHING)
#define MICROPY_PY_CMATH         (1)
#define MICROPY_PY_FRAMEBUF      (1)
#define MICROPY_PY_UCTYPES       (1)
#define MICROPY_PY_MARSHAL       (1)
