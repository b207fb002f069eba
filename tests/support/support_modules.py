"""Loading a test-support module (local servers, renderers) that lives beside the tests that use it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def load_support_module(path: Path, name: str) -> ModuleType:
    """Import the file at `path` as module `name` (once: a second call returns the same module).

    tests/ has no packages (pytest runs in importlib mode), so support files are imported by path. The module
    is registered in `sys.modules` before it runs, because dataclasses look their module up there.
    """
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path}: not a loadable Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
