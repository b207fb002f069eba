"""A fingerprint of inbox files: what a sensor compares to know whether people dropped or changed anything."""

import hashlib
from pathlib import Path


def inbox_fingerprint(root: Path, entries: tuple[str, ...]) -> str:
    """A short hash of the names, sizes and modification times of the files under `root`/`entries`.

    It changes when any watched file is added, removed or rewritten, and its size does not grow with the folder.
    Hidden files and capture's `*.part` files are ignored.
    """
    digest = hashlib.sha256()
    for entry in entries:
        path = root / entry
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path] if path.is_file() else []
        for file in files:
            if file.name.startswith(".") or file.suffix == ".part":
                continue
            stat = file.stat()
            digest.update(f"{file.relative_to(root)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]
