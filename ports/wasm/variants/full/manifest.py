# Python modules frozen into the full variant.
include("$(MPY_DIR)/extmod/asyncio")
