"""Stations hashed stably into a fixed number of shards: the grain of the airplay and ledger partitions.

A partition is a UTC day × a shard (`s00`…`s31`), not a day × a station: at 1,000 stations a year of station-days
is 365,000 partitions per asset and a run each, past what Dagster's UI and daemons absorb (deploy/SCALE.md); a
year of shard-days is 11,680. A station's shard is the first 8 bytes of the SHA-256 of its id modulo the shard
count: the same on every machine and in every process (never Python's salted `hash()`), so no station ever moves.
Changing `SHARD_COUNT` re-shards every station: it is a migration (deploy/SCALE.md), never an edit of the constant.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

SHARD_COUNT = 32
SHARD_KEYS = tuple(f"s{index:02d}" for index in range(SHARD_COUNT))
"""The shard partition keys, `s00` to `s31`."""


def shard_of(station_id: str) -> str:
    """The shard key of a station: stable across processes, machines and releases."""
    digest = hashlib.sha256(station_id.encode("utf-8")).digest()
    return SHARD_KEYS[int.from_bytes(digest[:8], "big") % SHARD_COUNT]


def in_shard(station_ids: Iterable[str], shard: str) -> list[str]:
    """The stations of `station_ids` that hash to `shard`, sorted and without repeats."""
    if shard not in SHARD_KEYS:
        raise ValueError(f"unknown shard {shard!r}: expected one of s00…s{SHARD_COUNT - 1:02d}")
    return sorted({station for station in station_ids if shard_of(station) == shard})


def by_shard(station_ids: Iterable[str]) -> dict[str, list[str]]:
    """The stations grouped by shard (only the shards that have some), each list sorted."""
    grouped: dict[str, set[str]] = {}
    for station in station_ids:
        grouped.setdefault(shard_of(station), set()).add(station)
    return {shard: sorted(stations) for shard, stations in sorted(grouped.items())}
