"""``python -m micropython_wasm``: the ``micropython-wasm`` command."""

from .cli import main

raise SystemExit(main())
