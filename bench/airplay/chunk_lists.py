"""The benchmark's CSV lists, read the same way by every script: the catalog (``catalog.csv``: track_id, path) and
the chunks to match (``chunks*.csv``: chunk_id, station_id, start_utc, path).

Only the standard library at import: the measured child processes of ``run.py``, ``scale.py`` and
``compare_engines.py`` read these lists, and whatever is imported here is charged to their CPU.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import Any

CHUNK_S = 30.0  # seconds of air per chunk


def catalog_csv(path: Path) -> list[tuple[str, Path]]:
    """(track_id, audio file) of every catalog track, in the file's order."""
    with open(path, newline="") as handle:
        return [(row["track_id"], Path(row["path"])) for row in csv.DictReader(handle)]


def chunk_refs_csv(path: Path) -> list[Any]:
    """The listed chunks as ``audio.matcher.ChunkRef``, in the file's order (the engine is imported here, so that
    a child's ``PYTHONPATH`` decides which engine's ``ChunkRef`` it gets)."""
    from audio.matcher import ChunkRef

    with open(path, newline="") as handle:
        return [
            ChunkRef(row["chunk_id"], row["station_id"], datetime.fromisoformat(row["start_utc"]), Path(row["path"]))
            for row in csv.DictReader(handle)
        ]
