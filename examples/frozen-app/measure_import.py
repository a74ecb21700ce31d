# Times importing a package afresh, many times in one process: clearing it
# from sys.modules makes each import find, load and run it again.
#   micropython measure_import.py PACKAGE PATH [RUNS]
# PATH is the only entry of sys.path: ".frozen" for the copy frozen into
# the image, or a folder holding the package's source. Prints one line:
#   import PACKAGE from PATH: N us (RUNS runs)
import sys
import time

name, path = sys.argv[1], sys.argv[2]
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 50
sys.path[:] = [path]


def forget():
    for module in list(sys.modules):
        if module == name or module.startswith(name + "."):
            del sys.modules[module]


total = 0
for _ in range(runs):
    forget()
    start = time.ticks_us()
    __import__(name)
    total += time.ticks_diff(time.ticks_us(), start)
print("import {} from {}: {} us ({} runs)".format(name, path, total // runs, runs))
