"""Choose a day's tracks for a playlist: filters, repeat gap, caps per artist and album, stable order."""

from __future__ import annotations

import hashlib
from datetime import date

import polars as pl

from assets.curation.policy import PlaylistPolicy


def select_tracks(policy: PlaylistPolicy, tracks: pl.DataFrame, recently_used: set[str], day: date) -> list[str]:
    """Up to `policy.size` track ids, the same for the same day and inputs.

    Candidates pass the policy's filters and were not used by any playlist within the repeat gap; they are
    ranked by a hash of (day, playlist, track), so each day reshuffles but a re-run does not.
    """
    candidates = tracks.filter(pl.col("popularity") >= policy.min_popularity)
    if policy.genres:
        candidates = candidates.filter(pl.col("genre").is_in(list(policy.genres)))
    if not policy.allow_explicit:
        candidates = candidates.filter(~pl.col("explicit"))
    candidates = candidates.filter(~pl.col("track_id").is_in(sorted(recently_used)))
    ranked = sorted(
        candidates.select("track_id", "artist_id", "album").iter_rows(),
        key=lambda row: hashlib.sha1(f"{day}|{policy.playlist_id}|{row[0]}".encode()).hexdigest(),
    )
    chosen: list[str] = []
    per_artist: dict[str, int] = {}
    per_album: dict[str, int] = {}
    for track_id, artist_id, album in ranked:
        if per_artist.get(artist_id, 0) >= policy.max_per_artist:
            continue
        if album and per_album.get(album, 0) >= policy.max_per_album:
            continue
        chosen.append(track_id)
        per_artist[artist_id] = per_artist.get(artist_id, 0) + 1
        if album:
            per_album[album] = per_album.get(album, 0) + 1
        if len(chosen) == policy.size:
            break
    return chosen
