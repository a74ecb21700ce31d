# A MicroPython manifest (tools/manifestfile.py semantics): paths are
# relative to this file. The port's own manifest is always included first.
package("textstats", opt=2)
module("greeting.py")
