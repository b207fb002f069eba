"""Playlist policies as data (JSON or YAML), validated with errors that name the file, the playlist and the field.

A policies file is `{"defaults": {...}, "playlists": [policy, ...]}` (`defaults` optional, applied to every policy
before its own fields). One policy describes a *family* of logical playlists sharing a theme; the planner decides
how many of them run (`min_playlists` ≤ n ≤ `max_playlists`, scaled with the usable catalog):

```yaml
playlists:
  - policy_id: focus-flow          # required; letters, digits, '-' and '_'  (alias: playlist_id)
    theme: Focus                   # the ThemeTag in "Vibe • Focus • #001 • 2026-11-02"
    description: Calm instrumental music for deep work.
    size: 50                       # K, tracks per daily snapshot
    repeat_gap_days: 7             # R: a track it uses on day d rests until d + R, for every playlist
    max_per_artist: 2
    max_per_album: 2
    filters:
      genres: [ambient, jazz]      # any of; empty = all genres
      exclude_genres: [metal]
      explicit: false              # false = clean tracks only
      popularity: {min: 20, max: 100}
      tempo_bpm: {min: 60, max: 110}   # needs audio features: tracks without them are excluded
      energy: {min: 0.0, max: 0.6}     # idem
      release_date: {from: 2000-01-01, to: 2026-12-31}
    order: energy_arc              # or {by: tempo_ascending, no_adjacent_artist: true}
    min_playlists: 1               # the planner's floor for this policy
    max_playlists: 20              # optional ceiling
```

Every problem is reported (not only the first), each naming file, playlist and dotted field path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

POLICY_FILE_NAMES = ("policies.json", "policies.yaml", "policies.yml")
ORDERINGS = (
    "shuffle",
    "tempo_ascending",
    "tempo_descending",
    "energy_ascending",
    "energy_descending",
    "energy_arc",
    "popularity_descending",
    "release_date_descending",
)
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_POLICY_FIELDS = {
    "policy_id",
    "playlist_id",
    "theme",
    "description",
    "size",
    "repeat_gap_days",
    "max_per_artist",
    "max_per_album",
    "filters",
    "order",
    "min_playlists",
    "max_playlists",
}
_FILTER_FIELDS = {
    "genres",
    "exclude_genres",
    "explicit",
    "popularity",
    "min_popularity",
    "tempo_bpm",
    "energy",
    "release_date",
}
_ORDER_FIELDS = {"by", "no_adjacent_artist"}


class PolicyError(ValueError):
    """A policy file that cannot be used. `problems` lists every problem, each naming file, playlist and field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class PlaylistPolicy:
    """One family of logical playlists: filters on the usable catalog, size, repeat gap, caps and ordering."""

    policy_id: str
    theme: str
    size: int = 50
    repeat_gap_days: int = 7
    max_per_artist: int = 2
    max_per_album: int = 2
    genres: tuple[str, ...] = ()
    allow_explicit: bool = True
    min_popularity: int = 0
    max_popularity: int = 100
    exclude_genres: tuple[str, ...] = ()
    tempo_bpm: tuple[float | None, float | None] | None = None
    energy: tuple[float | None, float | None] | None = None
    released_from: date | None = None
    released_to: date | None = None
    order: str = "shuffle"
    no_adjacent_artist: bool = True
    min_playlists: int = 1
    max_playlists: int | None = None
    description: str = ""
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def playlist_id(self) -> str:
        """The policy id (the first version called a policy a playlist)."""
        return self.policy_id

    @property
    def needs_features(self) -> bool:
        """Whether the policy filters on audio features (tracks without them cannot qualify)."""
        return self.tempo_bpm is not None or self.energy is not None

    def parameters(self) -> dict[str, Any]:
        """The policy as plain JSON-able data (stored with plans for audit)."""
        return {
            "size": self.size,
            "repeat_gap_days": self.repeat_gap_days,
            "max_per_artist": self.max_per_artist,
            "max_per_album": self.max_per_album,
            "genres": list(self.genres),
            "exclude_genres": list(self.exclude_genres),
            "explicit": self.allow_explicit,
            "popularity": [self.min_popularity, self.max_popularity],
            "tempo_bpm": list(self.tempo_bpm) if self.tempo_bpm else None,
            "energy": list(self.energy) if self.energy else None,
            "release_date": [
                str(self.released_from) if self.released_from else None,
                str(self.released_to) if self.released_to else None,
            ],
            "order": self.order,
            "no_adjacent_artist": self.no_adjacent_artist,
            "min_playlists": self.min_playlists,
            "max_playlists": self.max_playlists,
        }


def find_policy_file(folder: Path) -> Path:
    """`policies.json`, `policies.yaml` or `policies.yml` in `folder`; exactly one of them must exist."""
    present = [folder / name for name in POLICY_FILE_NAMES if (folder / name).exists()]
    if not present:
        raise PolicyError([f"{folder}: no policies file (expected one of {', '.join(POLICY_FILE_NAMES)})"])
    if len(present) > 1:
        raise PolicyError([f"{folder}: several policies files ({', '.join(p.name for p in present)}); keep one"])
    return present[0]


def read_document(path: Path) -> Any:
    """The parsed JSON or YAML document (by suffix), or a PolicyError naming the file and the parse problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError([f"{path}: cannot be read: {exc.strerror or exc}"]) from exc
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            raise PolicyError([f"{path}: cannot be read as YAML{where}: {getattr(exc, 'problem', exc)}"]) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyError(
            [f"{path}: cannot be read as JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"]
        ) from exc


def load_policies(path: Path) -> list[PlaylistPolicy]:
    """Every playlist policy in a JSON or YAML file (or in the one policies file of a folder)."""
    if path.is_dir():
        path = find_policy_file(path)
    return parse_policies(read_document(path), str(path))


def parse_policies(document: Any, source: str) -> list[PlaylistPolicy]:
    """Validate a parsed policies document; `source` names it in errors."""
    if not isinstance(document, Mapping) or not isinstance(document.get("playlists"), list):
        raise PolicyError([f"{source}: top level must be an object with a 'playlists' list"])
    unknown = sorted(set(document) - {"playlists", "defaults"})
    problems: list[str] = [f"{source}: unknown top-level field {name!r}" for name in unknown]
    defaults = document.get("defaults") or {}
    if not isinstance(defaults, Mapping):
        problems.append(f"{source}: field 'defaults' must be an object")
        defaults = {}
    policies: list[PlaylistPolicy] = []
    seen: dict[str, int] = {}
    themes: dict[str, str] = {}
    for i, item in enumerate(document["playlists"]):
        if not isinstance(item, Mapping):
            problems.append(f"{source}: playlists[{i}]: must be an object")
            continue
        reader = _Reader(source, i, item, defaults)
        policy = reader.policy()
        problems.extend(reader.problems)
        name, theme = reader.name, reader.item.get("theme", reader.name)
        if name is not None and name in seen:
            problems.append(f"{reader.where}: policy_id {name!r} already used by playlists[{seen[name]}]")
            continue
        if isinstance(theme, str) and theme.strip().casefold() in themes:
            problems.append(
                f"{reader.where}: field 'theme': {theme.strip()!r} is already the theme of "
                f"{themes[theme.strip().casefold()]!r} (playlist names must stay unique)"
            )
        if name is not None:
            seen[name] = i
            if isinstance(theme, str):
                themes.setdefault(theme.strip().casefold(), name)
        if policy is not None:
            policies.append(policy)
    if not problems and not policies:
        problems.append(f"{source}: 'playlists' is empty")
    if problems:
        raise PolicyError(problems)
    return policies


class _Reader:
    """Reads one policy, collecting problems instead of stopping at the first."""

    def __init__(self, source: str, index: int, item: Mapping[str, Any], defaults: Mapping[str, Any]) -> None:
        self.item = {**{k: v for k, v in defaults.items() if k not in ("policy_id", "playlist_id")}, **item}
        raw_id = item.get("policy_id", item.get("playlist_id"))
        self.name = raw_id if isinstance(raw_id, str) else None
        self.where = (
            f"{source}: playlist {self.name!r} at playlists[{index}]" if self.name else f"{source}: playlists[{index}]"
        )
        self.problems: list[str] = []

    def fail(self, name: str, message: str) -> None:
        self.problems.append(f"{self.where}: field {name!r} {message}")

    def policy(self) -> PlaylistPolicy | None:
        item = self.item
        for name in sorted(set(item) - _POLICY_FIELDS):
            self.fail(name, f"is not a policy field (known: {', '.join(sorted(_POLICY_FIELDS - {'playlist_id'}))})")
        if "policy_id" in item and "playlist_id" in item:
            self.fail("playlist_id", "duplicates 'policy_id'; give one")
        policy_id = item.get("policy_id", item.get("playlist_id"))
        if not isinstance(policy_id, str) or not _ID.match(policy_id):
            self.fail("policy_id", f"is required: 1-64 letters, digits, '-' or '_', got {policy_id!r}")
            policy_id = None
        theme = item.get("theme", policy_id)
        if not isinstance(theme, str) or not theme.strip() or len(theme) > 40 or "•" in theme:
            self.fail("theme", f"must be a non-empty text of at most 40 characters without '•', got {theme!r}")
            theme = None
        description = item.get("description", "")
        if not isinstance(description, str) or len(description) > 300:
            self.fail("description", "must be a text of at most 300 characters")
            description = ""
        size = self.whole("size", item, 50, low=1, high=100)
        gap = self.whole("repeat_gap_days", item, 7, low=1, high=365)
        per_artist = self.whole("max_per_artist", item, 2, low=1)
        per_album = self.whole("max_per_album", item, 2, low=1)
        floor = self.whole("min_playlists", item, 1, low=0, high=10_000)
        ceiling = item.get("max_playlists")
        if ceiling is not None:
            ceiling = self.whole("max_playlists", item, None, low=1, high=10_000)
            if isinstance(ceiling, int) and isinstance(floor, int) and ceiling < floor:
                self.fail("max_playlists", f"is {ceiling}, below min_playlists {floor}")
        filters = self.filters(item.get("filters") or {})
        order, no_adjacent = self.order(item.get("order", "shuffle"))
        if self.problems or policy_id is None or theme is None:
            return None
        return PlaylistPolicy(
            policy_id=policy_id,
            theme=theme.strip(),
            size=size,
            repeat_gap_days=gap,
            max_per_artist=per_artist,
            max_per_album=per_album,
            order=order,
            no_adjacent_artist=no_adjacent,
            min_playlists=floor,
            max_playlists=ceiling,
            description=description.strip(),
            **filters,
        )

    def whole(
        self,
        name: str,
        item: Mapping[str, Any],
        default: int | None,
        low: int = 0,
        high: int | None = None,
        prefix: str = "",
    ) -> Any:
        value = item.get(name, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
            bound = f"{low}..{high}" if high is not None else f"≥ {low}"
            self.fail(prefix + name, f"must be a whole number {bound}, got {value!r}")
            return default
        return value

    def filters(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, Mapping):
            self.fail("filters", "must be an object")
            return {}
        for name in sorted(set(raw) - _FILTER_FIELDS):
            self.fail(f"filters.{name}", f"is not a filter (known: {', '.join(sorted(_FILTER_FIELDS))})")
        out: dict[str, Any] = {}
        for name, target in (("genres", "genres"), ("exclude_genres", "exclude_genres")):
            value = raw.get(name, [])
            if not isinstance(value, list) or not all(isinstance(g, str) and g.strip() for g in value):
                self.fail(f"filters.{name}", f"must be a list of genre names, got {value!r}")
            else:
                out[target] = tuple(g.strip() for g in value)
        explicit = raw.get("explicit", True)
        if not isinstance(explicit, bool):
            self.fail("filters.explicit", f"must be true or false, got {explicit!r}")
        else:
            out["allow_explicit"] = explicit
        popularity = self.bounds("popularity", raw.get("popularity"), 0, 100, whole=True)
        if "min_popularity" in raw:
            if "popularity" in raw:
                self.fail("filters.min_popularity", "duplicates 'filters.popularity.min'; give one")
            floor = self.whole("min_popularity", raw, 0, low=0, high=100, prefix="filters.")
            popularity = (floor, None)
        if popularity is not None:
            out["min_popularity"] = int(popularity[0]) if popularity[0] is not None else 0
            out["max_popularity"] = int(popularity[1]) if popularity[1] is not None else 100
        tempo = self.bounds("tempo_bpm", raw.get("tempo_bpm"), 1, 400)
        if tempo is not None:
            out["tempo_bpm"] = tempo
        energy = self.bounds("energy", raw.get("energy"), 0, 1)
        if energy is not None:
            out["energy"] = energy
        released = raw.get("release_date")
        if released is not None:
            out.update(self.dates(released))
        return out

    def bounds(
        self, name: str, raw: Any, low: float, high: float, whole: bool = False
    ) -> tuple[float | None, float | None] | None:
        if raw is None:
            return None
        path = f"filters.{name}"
        if not isinstance(raw, Mapping) or not raw or set(raw) - {"min", "max"}:
            self.fail(path, f"must be an object with 'min' and/or 'max', got {raw!r}")
            return None
        values: list[float | None] = []
        for key in ("min", "max"):
            value = raw.get(key)
            kinds = (int,) if whole else (int, float)
            if value is not None and (
                not isinstance(value, kinds) or isinstance(value, bool) or not low <= value <= high
            ):
                self.fail(f"{path}.{key}", f"must be a {'whole ' if whole else ''}number {low}..{high}, got {value!r}")
                return None
            values.append(value)
        if values[0] is not None and values[1] is not None and values[0] > values[1]:
            self.fail(f"{path}.min", f"is {values[0]}, above max {values[1]}")
            return None
        return values[0], values[1]

    def dates(self, raw: Any) -> dict[str, date | None]:
        if not isinstance(raw, Mapping) or not raw or set(raw) - {"from", "to"}:
            self.fail("filters.release_date", f"must be an object with 'from' and/or 'to', got {raw!r}")
            return {}
        out: dict[str, date | None] = {}
        for key, target in (("from", "released_from"), ("to", "released_to")):
            value = raw.get(key)
            if value is None:
                continue
            if isinstance(value, date):
                out[target] = value
                continue
            try:
                out[target] = date.fromisoformat(str(value))
            except ValueError:
                self.fail(f"filters.release_date.{key}", f"is not a date (YYYY-MM-DD), got {value!r}")
        start, end = out.get("released_from"), out.get("released_to")
        if start and end and start > end:
            self.fail("filters.release_date.from", f"is {start}, after 'to' {end}")
        return out

    def order(self, raw: Any) -> tuple[str, bool]:
        if isinstance(raw, str):
            raw = {"by": raw}
        if not isinstance(raw, Mapping):
            self.fail("order", f"must be one of {', '.join(ORDERINGS)} or an object, got {raw!r}")
            return "shuffle", True
        for name in sorted(set(raw) - _ORDER_FIELDS):
            self.fail(f"order.{name}", "is not an ordering field (known: by, no_adjacent_artist)")
        by = raw.get("by", "shuffle")
        if by not in ORDERINGS:
            self.fail("order.by", f"must be one of {', '.join(ORDERINGS)}, got {by!r}")
            by = "shuffle"
        no_adjacent = raw.get("no_adjacent_artist", True)
        if not isinstance(no_adjacent, bool):
            self.fail("order.no_adjacent_artist", f"must be true or false, got {no_adjacent!r}")
            no_adjacent = True
        return by, no_adjacent
