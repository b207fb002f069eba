"""Drive a checkout of audfprint (github.com/dpwe/audfprint, kept outside the repo) through its own CLI, and
turn its per-chunk matches into Backbeat detections so both engines' plays are merged and scored alike.

audfprint's ``match -R`` prints, per chunk and match:
``Matched <dur> s starting at <q0> s in <chunk> to time <ref_t> s in <ref> with <n> of <m> common hashes at
rank <r>`` where ``ref_t`` is the reference time at ``q0``.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from audio.matcher import DETECTION_SCHEMA
from backbeat.airplay.landing import parse_chunk_name

MATCH_LINE = re.compile(
    r"Matched\s+(?P<dur>[-\d.]+) s starting at\s+(?P<q0>[-\d.]+) s in (?P<query>.+?) to time\s+(?P<ref_t>[-\d.]+) s "
    r"in (?P<ref>.+?) with\s+(?P<n>\d+) of\s+(?P<m>\d+) common hashes at rank\s+(?P<rank>\d+)"
)
# audfprint's own acceptance floor (``--min-count`` default): used only to squash scores into a confidence.
MIN_COUNT = 5


def index_command(python: str, audfprint: Path, db: Path, list_file: Path) -> list[str]:
    return [python, str(audfprint), "new", "--dbase", str(db), "--list", str(list_file), "--continue-on-error"]


def match_command(python: str, audfprint: Path, db: Path, list_file: Path, out: Path, cores: int) -> list[str]:
    # -R: report where in the chunk the match lies; -x 5: up to 5 tracks per chunk (crossfades, talk-overs).
    return [
        python,
        str(audfprint),
        "match",
        "--dbase",
        str(db),
        "--list",
        str(list_file),
        "--find-time-range",
        "--max-matches",
        "5",
        "--ncores",
        str(cores),
        "--opfile",
        str(out),
        "--continue-on-error",
    ]


def detections_from_output(text: str, track_of_path: dict[str, str]) -> pl.DataFrame:
    """One detection per (chunk, track), the best-supported alignment, in ``DETECTION_SCHEMA``."""
    rows = []
    for line in text.splitlines():
        match = MATCH_LINE.search(line)
        if not match:
            continue
        ref = match["ref"]
        track = track_of_path.get(ref) or track_of_path.get(str(Path(ref).resolve()))
        if track is None:
            raise ValueError(f"audfprint matched a file that is not in the catalog: {ref}")
        chunk = parse_chunk_name(Path(match["query"]))
        q0, dur, n = float(match["q0"]), float(match["dur"]), int(match["n"])
        rows.append(
            {
                "chunk_id": chunk.chunk_id,
                "station_id": chunk.station_id,
                "chunk_start_utc": chunk.start_utc,
                "track_id": track,
                "track_offset_s": float(match["ref_t"]) - q0,
                "query_start_s": q0,
                "query_end_s": q0 + dur,
                "score": n,
                "confidence": n / (n + MIN_COUNT),
            }
        )
    frame = pl.DataFrame(rows, schema=DETECTION_SCHEMA)
    return (
        frame.sort("score", descending=True)
        .unique(["chunk_id", "track_id"], keep="first", maintain_order=True)
        .sort("chunk_start_utc", "chunk_id", "track_id")
    )
