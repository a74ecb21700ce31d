# Python modules frozen into the standard variant.
include("$(MPY_DIR)/extmod/asyncio")
