"""A day's snapshot for every logical playlist: filters, repeat gap across all playlists, caps, ordering rules.

Plain Python + numpy/polars (no Dagster), fast enough for 300 playlists over 150,000 tracks in well under a
second per day: the usable catalog is indexed once (`CatalogIndex`), each policy's filtered pool is computed once,
and the recent use of every track across all playlists is one integer array (`Usage`: the first day each track
may be used again).

Rules, in the order they apply for a playlist with policy (K, R, caps) on day D:

1. **Filters** — the policy's pool (genre, explicit, popularity, tempo, energy, release date).
2. **Repeat gap** — a track used on day d by a playlist with gap R rests until day d + R for *every* playlist.
   So no playlist ever repeats a track within its own gap (nor any playlist of its policy), a track is never in
   two playlists on one day, and a long-gap policy is not starved by short-gap policies sharing its tracks (as it
   would be if it demanded its own R since *any* use).
3. **Rank** — a 64-bit hash of (day, playlist, track): every day reshuffles, a re-run gives the same order.
4. **Caps** — walking the ranking, a track is taken unless its artist or album already has its cap.
5. **Order** — the K chosen tracks are ordered by the policy's rule (energy arc, tempo ascending, ...), then
   no artist plays twice in a row where the list allows it.

The playlists of a day take turns in an order that is itself re-hashed daily, so no playlist is always last to
choose. Fewer than K tracks never pass silently: the snapshot carries a warning saying which rule ran short.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from backbeat.curation.policy import PlaylistPolicy

NEVER = -(10**9)  # "free from" of a track never used
USABLE_SCHEMA: dict[str, pl.DataType] = {
    "track_id": pl.Utf8(),
    "isrc": pl.Utf8(),
    "title": pl.Utf8(),
    "artist_id": pl.Utf8(),
    "album": pl.Utf8(),
    "genre": pl.Utf8(),
    "explicit": pl.Boolean(),
    "popularity": pl.Int64(),
    "release_date": pl.Date(),
    "duration_ms": pl.Int64(),
    "tempo_bpm": pl.Float64(),
    "energy": pl.Float64(),
}
_MASK64 = (1 << 64) - 1


def stable_hash(text: str) -> int:
    """A 64-bit hash of `text` that is the same on every machine, Python and library version."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def _mix(values: np.ndarray, seed: int) -> np.ndarray:
    """splitmix64 of `values ^ seed`: a fast, well-spread, platform-independent permutation key."""
    with np.errstate(over="ignore"):
        z = values ^ np.uint64(seed & _MASK64)
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def usable_catalog(tracks: pl.DataFrame, features: pl.DataFrame | None = None) -> pl.DataFrame:
    """Catalog tracks left-joined with their audio features (tempo, energy), in `USABLE_SCHEMA`.

    Columns missing from `tracks` are null; a track without features keeps null tempo and energy, so it can
    still serve policies that do not filter or order on them.
    """
    frame = tracks
    if features is not None and features.height:
        frame = frame.drop([c for c in ("tempo_bpm", "energy") if c in frame.columns]).join(
            features.select("track_id", "tempo_bpm", "energy").unique("track_id", keep="first"),
            on="track_id",
            how="left",
        )
    columns = [
        pl.col(name).cast(kind) if name in frame.columns else pl.lit(None, dtype=kind).alias(name)
        for name, kind in USABLE_SCHEMA.items()
    ]
    return frame.select(columns).filter(pl.col("track_id").is_not_null()).unique("track_id", keep="first")


class CatalogIndex:
    """The usable catalog as arrays, in track-id order (so input row order never changes a result)."""

    def __init__(self, frame: pl.DataFrame) -> None:
        frame = usable_catalog(frame).sort("track_id")
        self.frame = frame.with_row_index("_i")
        self.ids: list[str] = frame["track_id"].to_list()
        self.position = {track_id: i for i, track_id in enumerate(self.ids)}
        self.artist = _codes(frame["artist_id"])
        self.album = _codes(frame["album"])
        self.tempo = frame["tempo_bpm"].fill_null(np.nan).to_numpy().astype(np.float64)
        self.energy = frame["energy"].fill_null(np.nan).to_numpy().astype(np.float64)
        self.popularity = frame["popularity"].fill_null(-1).to_numpy().astype(np.int64)
        self.released = frame["release_date"].cast(pl.Int32).fill_null(-(10**6)).to_numpy().astype(np.int64)
        self.hash = np.fromiter((stable_hash(t) for t in self.ids), dtype=np.uint64, count=len(self.ids))
        self._pools: dict[PlaylistPolicy, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def pool(self, policy: PlaylistPolicy) -> np.ndarray:
        """Indices of the tracks that pass `policy`'s filters (cached per policy)."""
        cached = self._pools.get(policy)
        if cached is None:
            matching = self.frame.filter(filter_expression(policy))["_i"].to_numpy().astype(np.int64)
            cached = self._pools[policy] = np.sort(matching)
        return cached

    def indices(self, track_ids: Iterable[str]) -> np.ndarray:
        """Indices of the given tracks that are in the catalog (others are ignored)."""
        found = [self.position[t] for t in track_ids if t in self.position]
        return np.asarray(found, dtype=np.int64)


def _codes(column: pl.Series) -> np.ndarray:
    """Integer codes of a text column, -1 for null or empty (never capped)."""
    cleaned = column.str.strip_chars().replace("", None)
    codes = cleaned.rank("dense").cast(pl.Int64).fill_null(-1)
    return codes.to_numpy().astype(np.int64)


def filter_expression(policy: PlaylistPolicy) -> pl.Expr:
    """The policy's filters as one polars expression over `USABLE_SCHEMA` (null never passes a bound)."""
    expr = pl.lit(True)
    genre = pl.col("genre").str.to_lowercase().str.strip_chars()
    if policy.genres:
        expr &= genre.is_in([g.casefold() for g in policy.genres]).fill_null(False)
    if policy.exclude_genres:
        expr &= ~genre.is_in([g.casefold() for g in policy.exclude_genres]).fill_null(False)
    if not policy.allow_explicit:
        expr &= (pl.col("explicit") == False).fill_null(False)  # noqa: E712 - polars expression
    if policy.min_popularity > 0 or policy.max_popularity < 100:
        expr &= pl.col("popularity").is_between(policy.min_popularity, policy.max_popularity).fill_null(False)
    for column, bounds in (("tempo_bpm", policy.tempo_bpm), ("energy", policy.energy)):
        if bounds is not None:
            low, high = bounds
            expr &= pl.col(column).is_not_null() & pl.col(column).is_not_nan()
            if low is not None:
                expr &= pl.col(column) >= low
            if high is not None:
                expr &= pl.col(column) <= high
    if policy.released_from is not None:
        expr &= (pl.col("release_date") >= policy.released_from).fill_null(False)
    if policy.released_to is not None:
        expr &= (pl.col("release_date") <= policy.released_to).fill_null(False)
    return expr


class Usage:
    """For every catalog track, the first day (ordinal) any playlist may use it again."""

    def __init__(self, size: int) -> None:
        self.free_from = np.full(size, NEVER, dtype=np.int64)

    @classmethod
    def from_history(cls, catalog: CatalogIndex, history: pl.DataFrame, before: date) -> Usage:
        """From snapshot rows (`track_id`, `snapshot_date`, `repeat_gap_days` of the playlist that used it) of days
        before `before`; later days are ignored, so re-running a day never looks at what was built on top of it."""
        usage = cls(len(catalog))
        if history.height:
            free = (
                history.filter(pl.col("snapshot_date") < before)
                .drop_nulls("track_id")
                .with_columns((pl.col("snapshot_date").cast(pl.Int64) + pl.col("repeat_gap_days")).alias("free"))
                .group_by("track_id")
                .agg(pl.col("free").max())
            )
            offset = date(1970, 1, 1).toordinal()  # polars counts days from 1970-01-01, Python from 0001-01-01
            for track_id, free_from in free.iter_rows():
                i = catalog.position.get(track_id)
                if i is not None:
                    usage.free_from[i] = max(usage.free_from[i], int(free_from) + offset)
        return usage

    def record(self, indices: np.ndarray, day: date, gap_days: int) -> None:
        """`indices` were used on `day` by a playlist whose repeat gap is `gap_days` (≥ 1)."""
        if len(indices):
            self.free_from[indices] = np.maximum(self.free_from[indices], day.toordinal() + max(1, gap_days))


@dataclass(frozen=True)
class Slot:
    """A logical playlist to fill: its id (e.g. `focus-flow-003`) and its policy."""

    playlist_id: str
    policy: PlaylistPolicy


@dataclass
class Snapshot:
    """One playlist's tracks for a day, in play order, and why it is short if it is."""

    playlist_id: str
    policy: PlaylistPolicy
    track_ids: list[str]
    pool: int  # tracks passing the filters
    available: int  # of those, not resting after a recent use (at the playlist's turn)
    warning: str | None = None
    adjacent_same_artist: int = 0

    @property
    def short(self) -> bool:
        return len(self.track_ids) < self.policy.size


def build_day(catalog: CatalogIndex, slots: Sequence[Slot], usage: Usage, day: date) -> list[Snapshot]:
    """Every slot's snapshot for `day` (returned in `slots` order); `usage` is updated with the day's picks."""
    turns = sorted(
        range(len(slots)), key=lambda i: (stable_hash(f"turn|{day}|{slots[i].playlist_id}"), slots[i].playlist_id)
    )
    built: dict[int, Snapshot] = {}
    for i in turns:
        snapshot, chosen = _build_one(catalog, slots[i], usage, day)
        usage.record(chosen, day, slots[i].policy.repeat_gap_days)
        built[i] = snapshot
    return [built[i] for i in range(len(slots))]


def _build_one(catalog: CatalogIndex, slot: Slot, usage: Usage, day: date) -> tuple[Snapshot, np.ndarray]:
    policy = slot.policy
    pool = catalog.pool(policy)
    free = pool[usage.free_from[pool] <= day.toordinal()]
    keys = _mix(catalog.hash[free], stable_hash(f"rank|{day}|{slot.playlist_id}"))
    want = policy.size
    head = min(len(free), max(8 * want, 400))
    if head < len(free):
        top = np.argpartition(keys, head - 1)[:head]
        ranked = free[top[np.argsort(keys[top], kind="stable")]]
        chosen, capped = _take(catalog, ranked, policy)
        if len(chosen) < want:  # caps ruled out too many of the head: walk the whole ranking
            ranked = free[np.argsort(keys, kind="stable")]
            chosen, capped = _take(catalog, ranked, policy)
    else:
        ranked = free[np.argsort(keys, kind="stable")]
        chosen, capped = _take(catalog, ranked, policy)
    ordered = order_tracks(catalog, chosen, policy)
    adjacent = 0
    if policy.no_adjacent_artist:
        ordered, adjacent = separate_artists(ordered, catalog.artist)
    warning = None
    if len(ordered) < want:
        warning = (
            f"{slot.playlist_id} on {day}: only {len(ordered)} of {want} tracks — {len(pool)} pass the "
            f"filters, {len(pool) - len(free)} of them are still resting after a recent use (a used track "
            f"rests for the repeat gap of the playlist that used it), and the caps (≤ "
            f"{policy.max_per_artist} per artist, ≤ {policy.max_per_album} per album) ruled out {capped} more"
        )
    snapshot = Snapshot(
        slot.playlist_id, policy, [catalog.ids[i] for i in ordered], len(pool), len(free), warning, adjacent
    )
    return snapshot, np.asarray(chosen, dtype=np.int64)


def _take(catalog: CatalogIndex, ranked: np.ndarray, policy: PlaylistPolicy) -> tuple[list[int], int]:
    """Walk the ranking taking tracks until `size`, skipping those whose artist or album reached its cap."""
    chosen: list[int] = []
    per_artist: dict[int, int] = {}
    per_album: dict[int, int] = {}
    capped = 0
    artists, albums = catalog.artist[ranked].tolist(), catalog.album[ranked].tolist()
    for index, artist, album in zip(ranked.tolist(), artists, albums, strict=True):
        if artist >= 0 and per_artist.get(artist, 0) >= policy.max_per_artist:
            capped += 1
            continue
        if album >= 0 and per_album.get(album, 0) >= policy.max_per_album:
            capped += 1
            continue
        chosen.append(index)
        if artist >= 0:
            per_artist[artist] = per_artist.get(artist, 0) + 1
        if album >= 0:
            per_album[album] = per_album.get(album, 0) + 1
        if len(chosen) == policy.size:
            break
    return chosen, capped


def order_tracks(catalog: CatalogIndex, chosen: list[int], policy: PlaylistPolicy) -> list[int]:
    """`chosen` (in rank order) arranged by the policy's ordering rule; ties and missing values keep rank order,
    tracks without the feature go last."""
    rank = {index: n for n, index in enumerate(chosen)}

    def by(values: np.ndarray, descending: bool = False, missing: float = np.nan) -> list[int]:
        def key(i: int) -> tuple[bool, float, int]:
            value = float(values[i])
            absent = np.isnan(value) or value == missing
            return absent, (-value if descending else value) if not absent else 0.0, rank[i]

        return sorted(chosen, key=key)

    rule = policy.order
    if rule == "tempo_ascending":
        return by(catalog.tempo)
    if rule == "tempo_descending":
        return by(catalog.tempo, descending=True)
    if rule == "energy_ascending":
        return by(catalog.energy)
    if rule == "energy_descending":
        return by(catalog.energy, descending=True)
    if rule == "popularity_descending":
        return by(catalog.popularity.astype(np.float64), descending=True, missing=-1)
    if rule == "release_date_descending":
        return by(catalog.released.astype(np.float64), descending=True, missing=-(10**6))
    if rule == "energy_arc":
        rising = by(catalog.energy)
        known = [i for i in rising if not np.isnan(catalog.energy[i])]
        unknown = rising[len(known) :]
        # low → peak → low: every other track on the way up, the rest on the way down
        return known[0::2] + known[1::2][::-1] + unknown
    return list(chosen)


def separate_artists(order: list[int], artists: np.ndarray) -> tuple[list[int], int]:
    """`order` with no artist twice in a row where possible: a repeat pulls the nearest later track by someone
    else forward (the rest keeps its order). Returns the list and how many repeats could not be avoided."""
    seq = list(order)
    for i in range(1, len(seq)):
        previous = artists[seq[i - 1]]
        if previous < 0 or artists[seq[i]] != previous:
            continue
        for j in range(i + 1, len(seq)):
            if artists[seq[j]] != previous:
                seq.insert(i, seq.pop(j))
                break
    left = sum(1 for a, b in zip(seq, seq[1:], strict=False) if artists[a] >= 0 and artists[a] == artists[b])
    return seq, left


def select_tracks(policy: PlaylistPolicy, tracks: pl.DataFrame, recently_used: set[str], day: date) -> list[str]:
    """Up to `policy.size` track ids for one playlist named after its policy, the same for the same day and
    inputs; `recently_used` tracks are excluded. Single-playlist convenience
    over `build_day`."""
    catalog = CatalogIndex(tracks)
    usage = Usage(len(catalog))
    usage.record(catalog.indices(recently_used), day, 1)  # counted as used today: excluded today
    (snapshot,) = build_day(catalog, [Slot(policy.policy_id, policy)], usage, day)
    return snapshot.track_ids
