"""One optional grammar loaded when first used instead of at every process start.

jsonschema, which dbt, dagster-dbt and great-expectations import, imports the optional package `rfc3987_syntax`
at import time for two string formats ("iri", "iri-reference"), and that package builds its Lark grammar on
import: 0.9-1.1 CPU-s in every process that loads the code location or runs dbt (a Dagster step process, a
`backbeat` command, each dbt invocation), most of the 2.8 s a `dbt --version` takes. `defer_rfc3987_syntax`
puts a stand-in in its place whose functions load the real package on first call, so both formats still
validate exactly as before, in the processes that use them.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import threading
import types
from typing import Any

PACKAGE = "rfc3987_syntax"
_load_lock = threading.Lock()


def _real_package() -> types.ModuleType:
    """Import the real package in the stand-in's place (once; later calls find it in ``sys.modules``)."""
    with _load_lock:
        module = sys.modules.get(PACKAGE)
        if module is not None and not getattr(module, "__backbeat_stand_in__", False):
            return module
        spec = importlib.machinery.PathFinder.find_spec(PACKAGE)
        if spec is None or spec.loader is None:
            raise ImportError(f"{PACKAGE} is not installed")
        real = importlib.util.module_from_spec(spec)
        sys.modules[PACKAGE] = real  # its submodules import names from the package while it loads
        try:
            spec.loader.exec_module(real)
        except BaseException:
            if module is not None:
                sys.modules[PACKAGE] = module
            raise
        return real


def _stand_in() -> types.ModuleType:
    stand_in = types.ModuleType(PACKAGE, f"Stand-in for {PACKAGE}: loads the real package on first use.")

    def is_valid_syntax(term: str, value: str) -> bool:
        result: bool = _real_package().is_valid_syntax(term, value)
        return result

    def __getattr__(name: str) -> Any:  # any other public name loads the real package too (PEP 562)
        if name.startswith("__"):  # the import system's probes (`__path__` on `from ... import`) load nothing
            raise AttributeError(name)
        return getattr(_real_package(), name)

    stand_in.is_valid_syntax = is_valid_syntax  # type: ignore[attr-defined]
    stand_in.__getattr__ = __getattr__  # type: ignore[method-assign]
    stand_in.__backbeat_stand_in__ = True  # type: ignore[attr-defined]
    return stand_in


def defer_rfc3987_syntax() -> bool:
    """Register the stand-in unless the package is already imported or not installed; whether it was."""
    if PACKAGE in sys.modules or importlib.machinery.PathFinder.find_spec(PACKAGE) is None:
        return False
    sys.modules[PACKAGE] = _stand_in()
    return True
