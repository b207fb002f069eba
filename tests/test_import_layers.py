"""Imports only go down: orchestration (and the CLI) → assets → core (backbeat/…, audio) → integrations.

An AST walk over every module of the layered packages, lazy imports inside functions included. A violation
that cannot be fixed yet goes into KNOWN_DEBT with its reason; an entry that no longer violates fails too, so
the list only shrinks.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("integrations", "audio", "assets", "orchestration", "backbeat")

# Higher may import lower, never the reverse. Audio sits below the backbeat core: the core may use audio.
INTEGRATIONS, AUDIO, CORE, ASSETS, ENTRY = range(5)
LAYER_NAMES = {INTEGRATIONS: "integrations", AUDIO: "audio", CORE: "core", ASSETS: "assets", ENTRY: "entry point"}

# Entry points like orchestration: they wire everything and may import anything.
CLI_MODULES = ("backbeat.cli", "backbeat.commands", "backbeat.demo", "backbeat.pipeline", "backbeat.code_location")
CLI_MODULES += ("backbeat.summary",)

# (importing module, imported module) → why it is still there.
KNOWN_DEBT: dict[tuple[str, str], str] = {}


def layer(module: str) -> int | None:
    """The layer of a dotted module name, or None for modules outside the layered packages (dagster, polars…)."""
    top = module.split(".")[0]
    if top == "integrations":
        return INTEGRATIONS
    if top == "audio":
        return AUDIO
    if top == "assets":
        return ASSETS
    if top == "orchestration":
        return ENTRY
    if top == "backbeat":
        if any(module == cli or module.startswith(cli + ".") for cli in CLI_MODULES):
            return ENTRY
        return CORE
    return None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, module: str) -> set[str]:
    """Every module `path` imports, anywhere in the file; `from x import y` counts as x and as x.y."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return {source_module(name) for name in found}


def source_module(name: str) -> str:
    """The longest prefix of `name` that is a module or package of this repository (`x.y.CONST` → `x.y`)."""
    parts = name.split(".")
    while len(parts) > 1:
        path = REPO_ROOT.joinpath(*parts)
        if path.with_suffix(".py").is_file() or (path / "__init__.py").is_file():
            break
        parts.pop()
    return ".".join(parts)


def violations() -> set[tuple[str, str]]:
    """(importer, imported) pairs where a module imports a higher layer than its own."""
    found: set[tuple[str, str]] = set()
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            importer = module_name(path)
            own = layer(importer)
            assert own is not None, importer
            for imported in imported_modules(path, importer):
                target = layer(imported)
                if target is not None and target > own:
                    found.add((importer, imported))
    return found


def test_layers_are_classified() -> None:
    assert layer("integrations.warehouse.client") == INTEGRATIONS
    assert layer("audio.matcher") == AUDIO
    assert layer("backbeat.settings") == CORE
    assert layer("assets.common.partitions") == ASSETS
    assert layer("orchestration.definitions") == ENTRY
    assert layer("backbeat.commands.catalog") == ENTRY
    assert layer("backbeat.cli") == ENTRY
    assert layer("dagster") is None


def test_the_walk_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text("def f():\n    from orchestration.definitions import defs\n\nfrom . import partitions\n")
    found = imported_modules(source, "assets.common.mod")
    assert "orchestration.definitions" in found
    assert "assets.common.partitions" in found


def test_a_constant_resolves_to_its_module(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text("from backbeat.registry import DBT_SOURCE_TABLES\nfrom backbeat import cli\n")
    found = imported_modules(source, "integrations.mod")
    assert {"backbeat.registry", "backbeat.cli"} <= found
    assert "backbeat.registry.DBT_SOURCE_TABLES" not in found


def test_imports_only_go_down() -> None:
    new = sorted(violations() - KNOWN_DEBT.keys())
    assert not new, "upward imports (importer → imported, layers low to high: integrations, audio, core, assets, " + (
        "entry point):\n"
        + "\n".join(f"  {a} ({LAYER_NAMES[layer(a)]}) → {b} ({LAYER_NAMES[layer(b)]})" for a, b in new)  # type: ignore[index]
    )


def test_known_debt_still_exists() -> None:
    """Every KNOWN_DEBT entry still imports upward (trivially true while the list is empty)."""
    found = violations() if KNOWN_DEBT else set()
    for entry in sorted(KNOWN_DEBT):
        assert entry in found, f"{entry} no longer imports upward: remove it from KNOWN_DEBT"


def test_the_core_never_imports_dagster() -> None:
    """`backbeat/<domain>/` and `audio/` are plain Python: a Dagster import there belongs in assets/."""
    offenders = []
    for package in ("backbeat", "audio"):
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            module = module_name(path)
            if layer(module) not in (CORE, AUDIO):
                continue
            if any(name.startswith("dagster") for name in imported_modules(path, module)):
                offenders.append(module)
    assert not offenders, f"core modules importing Dagster: {offenders}"
