# For MicroPython's own Makefiles (USER_C_MODULES=examples/c-module); mpwasm
# compiles every .c file of this folder and needs nothing from here.
FASTMATH_MOD_DIR := $(USERMOD_DIR)
SRC_USERMOD_C += $(FASTMATH_MOD_DIR)/fastmath.c
CFLAGS_USERMOD += -I$(FASTMATH_MOD_DIR)
