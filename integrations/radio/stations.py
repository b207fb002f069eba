"""The stations file (`station_id,name,stream_url,active,timezone`), read for capture.

Rows that cannot be captured are reported and skipped, so one bad line never stops the other stations.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

STATION_ID = re.compile(r"[a-z0-9][a-z0-9-]*")
_TRUE, _FALSE = ("true", "yes", "1"), ("false", "no", "0")


@dataclass(frozen=True)
class Station:
    station_id: str
    name: str
    stream_url: str
    active: bool


def read_stations(path: Path) -> tuple[list[Station], list[str]]:
    """Every well-formed station row, and one problem line per row that is not."""
    stations: list[Station] = []
    problems: list[str] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = {"station_id", "stream_url", "active"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing columns {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            station_id = (row["station_id"] or "").strip()
            url = (row["stream_url"] or "").strip()
            active = (row["active"] or "").strip().lower()
            if not STATION_ID.fullmatch(station_id):
                problems.append(f"line {line}: station_id {station_id!r} is not lowercase letters, digits, hyphens")
            elif not url.startswith(("http://", "https://")):
                problems.append(f"line {line}: {station_id}: stream_url {url!r} is not an http(s) URL")
            elif active not in _TRUE + _FALSE:
                problems.append(f"line {line}: {station_id}: active {row['active']!r} is not true/false")
            else:
                stations.append(Station(station_id, (row.get("name") or "").strip(), url, active in _TRUE))
    return stations, problems
