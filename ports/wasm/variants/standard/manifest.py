# Python modules frozen into the standard variant.
include("$(MPY_DIR)/extmod/asyncio")
# runPythonAsync's asyncio runner (npm package).
module("_asyncjs.py", base_path="$(PORT_DIR)/modules")
