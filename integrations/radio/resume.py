"""Where a restarted capture picks up: the end of the audio a station's previous captures wrote.

The landing folder is the record of what was captured, so this reads it rather than any table: the station's
latest chunk by name (names sort by UTC start), its exact start from the FLAC comment the chunker writes
(`chunker.START_TAG`; the name, truncated to the second, for chunks without one) plus its decoded length.
Hidden `.part` files left by a capture that was killed hold audio that never became a chunk: they are
removed, and the air time they held becomes part of the restart's gap.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import soundfile as sf

from integrations.radio.chunker import START_TAG

log = logging.getLogger(__name__)
_STAMP_LENGTH = len("YYYYmmddTHHMMSSZ")


@dataclass(frozen=True)
class LastChunk:
    """A station's latest chunk in the landing folder and where its audio ends (epoch seconds)."""

    path: Path
    start_utc: float
    end_utc: float
    exact: bool  # False when the start came from the name (truncated to the second)


def latest_chunk_paths(landing: Path, station_ids: Iterable[str]) -> dict[str, Path]:
    """Each given station's latest chunk file, from one scan of the landing folder."""
    wanted = set(station_ids)
    latest: dict[str, Path] = {}
    if not landing.is_dir():
        return latest
    with os.scandir(landing) as entries:
        for entry in entries:
            name = entry.name
            if name.startswith(".") or not entry.is_file():
                continue
            station, sep, rest = name.rpartition("_")
            if not sep or station not in wanted or len(rest) <= _STAMP_LENGTH or rest[_STAMP_LENGTH] != ".":
                continue
            if station not in latest or name > latest[station].name:
                latest[station] = Path(entry.path)
    return latest


def read_last_chunk(path: Path) -> LastChunk | None:
    """Where the audio in chunk `path` starts and ends; None when the file cannot be read as audio."""
    stamp = path.name.rpartition("_")[2][:_STAMP_LENGTH]
    try:
        named = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
        with sf.SoundFile(path) as audio:
            seconds = audio.frames / audio.samplerate
            comment = audio.comment or ""
    except (ValueError, RuntimeError, sf.LibsndfileError) as exc:
        log.warning("%s: cannot read the last chunk to resume after it (%s)", path.name, exc)
        return None
    exact = comment.startswith(START_TAG)
    start = named
    if exact:
        try:
            start = float(comment[len(START_TAG) :])
        except ValueError:
            exact = False
    # Names are truncated, or one second later when the second was taken: a tag far from the name is not trusted.
    if exact and not named - 2 < start < named + 2:
        start, exact = named, False
    return LastChunk(path, start, start + seconds, exact)


def remove_partials(landing: Path, station_id: str) -> list[Path]:
    """Delete the station's hidden `.{station}_….part` files (a killed capture's unfinished chunk)."""
    removed = []
    for path in landing.glob(f".{station_id}_*.part"):
        path.unlink(missing_ok=True)
        removed.append(path)
        log.warning("%s: removed %s, an unfinished chunk from a capture that was killed", station_id, path.name)
    return removed
