"""Playlist policies as data, validated with errors that name the policy and the field."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file, playlist and field."""


@dataclass(frozen=True)
class PlaylistPolicy:
    playlist_id: str
    theme: str
    size: int = 50
    repeat_gap_days: int = 7
    max_per_artist: int = 2
    max_per_album: int = 2
    genres: tuple[str, ...] = ()
    allow_explicit: bool = True
    min_popularity: int = 0
    extra: dict = field(default_factory=dict, compare=False)


def load_policies(path: Path) -> list[PlaylistPolicy]:
    """Every playlist policy in a JSON file `{"playlists": [...]}`."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise PolicyError(f"{path}: cannot be read as JSON: {exc}") from exc
    playlists = document.get("playlists") if isinstance(document, dict) else None
    if not isinstance(playlists, list):
        raise PolicyError(f"{path}: top level must be an object with a 'playlists' list")
    policies, seen = [], set()
    for i, item in enumerate(playlists):
        where = f"{path}: playlists[{i}]"
        if not isinstance(item, dict):
            raise PolicyError(f"{where}: must be an object")
        pid = item.get("playlist_id")
        if not isinstance(pid, str) or not pid:
            raise PolicyError(f"{where}: field 'playlist_id' is required")
        if pid in seen:
            raise PolicyError(f"{where}: playlist_id {pid!r} appears twice")
        seen.add(pid)
        filters = item.get("filters") or {}
        policy = PlaylistPolicy(
            playlist_id=pid,
            theme=_typed(item, "theme", str, where, default=pid),
            size=_positive(item, "size", where, 50),
            repeat_gap_days=_positive(item, "repeat_gap_days", where, 7, allow_zero=True),
            max_per_artist=_positive(item, "max_per_artist", where, 2),
            max_per_album=_positive(item, "max_per_album", where, 2),
            genres=tuple(_typed(filters, "genres", list, f"{where}.filters", default=[])),
            allow_explicit=_typed(filters, "explicit", bool, f"{where}.filters", default=True),
            min_popularity=_positive(filters, "min_popularity", f"{where}.filters", 0, allow_zero=True),
        )
        policies.append(policy)
    return policies


def _typed(item: dict, name: str, kind: type, where: str, default: object) -> object:
    value = item.get(name, default)
    if not isinstance(value, kind):
        raise PolicyError(f"{where}: field {name!r} must be {kind.__name__}, got {value!r}")
    return value


def _positive(item: dict, name: str, where: str, default: int, allow_zero: bool = False) -> int:
    value = item.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < (0 if allow_zero else 1):
        raise PolicyError(f"{where}: field {name!r} must be a whole number ≥ {0 if allow_zero else 1}, got {value!r}")
    return value
