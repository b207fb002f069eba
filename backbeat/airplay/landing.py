"""The landing folder: radio chunks named `{station}_{YYYYmmddTHHMMSSZ}.{ext}`, the UTC start in the name."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

AUDIO_EXTENSIONS = ("mp3", "ogg", "opus", "flac", "wav", "m4a", "aac")
CHUNK_NAME = re.compile(
    r"(?P<station>[a-z0-9][a-z0-9-]*)_(?P<stamp>[0-9]{8}T[0-9]{6}Z)\.(?P<ext>" + "|".join(AUDIO_EXTENSIONS) + ")"
)
EXPECTED = "{station}_{YYYYmmddTHHMMSSZ}.{ext} (station: lowercase letters, digits, hyphens)"


class ChunkNameError(ValueError):
    """A landing file whose name does not say which station and when."""


@dataclass(frozen=True)
class LandingChunk:
    """A chunk file in the landing folder, with what its name says."""

    path: Path
    station_id: str
    start_utc: datetime
    fmt: str

    @property
    def chunk_id(self) -> str:
        return self.path.stem

    @property
    def day(self) -> date:
        return self.start_utc.date()


def parse_chunk_name(path: Path) -> LandingChunk:
    """What a chunk's file name says; ChunkNameError naming the file when it does not fit the pattern."""
    match = CHUNK_NAME.fullmatch(path.name)
    if not match:
        raise ChunkNameError(f"{path.name}: name does not match {EXPECTED}")
    try:
        start = datetime.strptime(match["stamp"], "%Y%m%dT%H%M%SZ")
    except ValueError:
        raise ChunkNameError(f"{path.name}: {match['stamp']} is not a valid UTC time") from None
    return LandingChunk(path, match["station"], start, match["ext"])


@dataclass(frozen=True)
class LandingFile:
    path: Path
    mtime_ns: int


def list_landing(folder: Path) -> list[LandingFile]:
    """Every regular file in the landing folder (not hidden, not partial downloads), sorted by name."""
    if not folder.is_dir():
        return []
    files = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_file() and not entry.name.startswith(".") and not entry.name.endswith(".part"):
                files.append(LandingFile(Path(entry.path), entry.stat().st_mtime_ns))
    return sorted(files, key=lambda f: f.path.name)


@dataclass(frozen=True)
class LandingListing:
    """One listing of the landing folder, every name parsed once: the chunks of any station-day, the misnamed
    files of any station and the stations of any day, without listing the folder again (it is flat, and large:
    a day at 1,000 stations is 2.88 million chunks)."""

    chunks: dict[tuple[str, date], list[LandingChunk]]
    misnamed: dict[str, list[tuple[Path, str]]]
    stations_by_day: dict[date, set[str]]

    @classmethod
    def of(cls, folder: Path) -> LandingListing:
        chunks: dict[tuple[str, date], list[LandingChunk]] = {}
        misnamed: dict[str, list[tuple[Path, str]]] = {}
        stations_by_day: dict[date, set[str]] = {}
        for file in list_landing(folder):
            try:
                chunk = parse_chunk_name(file.path)
            except ChunkNameError as exc:
                prefix, underscore, _ = file.path.name.partition("_")  # station ids have no "_"
                if underscore:
                    misnamed.setdefault(prefix, []).append((file.path, str(exc)))
                continue
            chunks.setdefault((chunk.station_id, chunk.day), []).append(chunk)
            stations_by_day.setdefault(chunk.day, set()).add(chunk.station_id)
        for found in chunks.values():
            found.sort(key=lambda c: c.start_utc)
        return cls(chunks, misnamed, stations_by_day)

    def chunks_for(self, station_id: str, day: date) -> tuple[list[LandingChunk], list[tuple[Path, str]]]:
        """The chunks of one station-day, and the station's files whose names are malformed (with the reason)."""
        return list(self.chunks.get((station_id, day), [])), list(self.misnamed.get(station_id, []))

    def stations_on(self, day: date) -> set[str]:
        """The stations with a well-named chunk of `day`."""
        return set(self.stations_by_day.get(day, set()))


def chunks_for(folder: Path, station_id: str, day: date) -> tuple[list[LandingChunk], list[tuple[Path, str]]]:
    """The chunks of one station-day, and the station's files whose names are malformed (with the reason).
    Lists the folder: for several station-days, list it once with `LandingListing.of`."""
    return LandingListing.of(folder).chunks_for(station_id, day)


def stations_on(folder: Path, day: date) -> set[str]:
    """The stations with a well-named chunk of `day` in the landing folder."""
    return LandingListing.of(folder).stations_on(day)


def stations_named(day: date, names: Iterable[str]) -> set[str]:
    """The stations of the well-named chunk files of `day` among `names` (file names, or keys ending in them)."""
    stations = set()
    for name in names:
        try:
            chunk = parse_chunk_name(Path(name.rsplit("/", 1)[-1]))
        except ChunkNameError:
            continue
        if chunk.day == day:
            stations.add(chunk.station_id)
    return stations
