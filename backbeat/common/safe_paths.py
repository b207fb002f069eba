"""Paths read from data files stay inside the data roots: `../../etc/passwd` or an absolute path to a token
file in a catalog CSV is refused, never opened."""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath


class PathOutsideRoot(ValueError):
    """A path from a data file that is absolute or resolves outside the folder it must stay in."""


def relative_path_problem(value: str) -> str | None:
    """Why `value` cannot be a path relative to a data root, or None: absolute, a drive, or `..` segments."""
    text = value.strip()
    if not text:
        return "is empty"
    if PurePosixPath(text).is_absolute() or PureWindowsPath(text).is_absolute() or PureWindowsPath(text).drive:
        return "must be a path relative to its data folder, not an absolute path"
    if ".." in PurePosixPath(text.replace("\\", "/")).parts:
        return "must not climb out of its data folder with '..'"
    return None


def confined_path(root: Path, relative: str) -> Path:
    """`root / relative`, resolved (symbolic links followed); refused when it leaves `root`."""
    problem = relative_path_problem(relative)
    if problem:
        raise PathOutsideRoot(f"path {relative!r} {problem}")
    base = root.resolve()
    resolved = (base / relative.strip()).resolve()
    if not resolved.is_relative_to(base):
        raise PathOutsideRoot(f"path {relative!r} resolves outside {base} (through a link)")
    return resolved
