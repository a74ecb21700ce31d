# Lists, as JSON, every file the given MicroPython manifests freeze, using
# MicroPython's own tools/manifestfile.py so the semantics are upstream's.
# xtask runs this before makemanifest.py to check the user's files (syntax,
# names) and to attribute sizes; makemanifest.py then freezes the same list.
#
# usage: python3 list_manifest.py MPY_DIR MPY_LIB_DIR PORT_DIR MANIFEST...
import json
import os
import sys

mpy_dir, lib_dir, port_dir = sys.argv[1:4]
sys.path.insert(0, os.path.join(mpy_dir, "tools"))
import manifestfile  # noqa: E402

search = manifestfile.ManifestFile._search


def search_existing(self, base_path, package_path, files, exts, kind, opt=None, strict=False):
    # Upstream walks a missing package folder silently and freezes nothing;
    # a missing path is a mistake worth naming.
    folder = os.path.join(self._resolve_path(base_path), package_path or "")
    if files is None and not os.path.isdir(folder):
        raise manifestfile.ManifestFileError("no such folder: {}".format(folder))
    return search(self, base_path, package_path, files, exts, kind, opt, strict)


manifestfile.ManifestFile._search = search_existing

manifest = manifestfile.ManifestFile(
    manifestfile.MODE_FREEZE,
    {"MPY_DIR": mpy_dir, "MPY_LIB_DIR": lib_dir, "PORT_DIR": port_dir},
)
files = []
for index, path in enumerate(sys.argv[4:]):
    before = len(manifest.files())
    try:
        manifest.execute(path)
    except manifestfile.ManifestFileError as error:
        print(error, file=sys.stderr)
        sys.exit(1)
    for result in manifest.files()[before:]:
        kind = {
            manifestfile.KIND_FREEZE_AS_MPY: "py",
            manifestfile.KIND_FREEZE_MPY: "mpy",
            manifestfile.KIND_FREEZE_AS_STR: "str",
        }[result.kind]
        files.append(
            {"manifest": index, "source": result.full_path, "target": result.target_path, "kind": kind}
        )
json.dump(files, sys.stdout)
