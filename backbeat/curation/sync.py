"""Publish a day's snapshots to their Spotify accounts, or as files a person can publish by hand.

Per account (in parallel, each with its own client, throttle and circuit breaker, so one failing account never
blocks the others) and per playlist assigned to it:

1. the Spotify playlist is looked up — by the id recorded at the last sync, else by its name prefix
   `Vibe • {ThemeTag} • #{GlobalIndex:000} • ` among the user's playlists — and only created when absent, so a
   re-run never makes a duplicate (created with `POST /me/playlists`, not the deprecated
   `POST /users/{id}/playlists`);
2. its details are set (name with the day, public description) and its items replaced by the snapshot's
   Spotify URIs (catalog tracks are matched to `spotify:track:{id}` by ISRC; tracks without one are skipped and
   recorded, the file export still lists them);
3. what happened is recorded: `synced`, or `refused` (403, e.g. a development-mode app, or a quota's long
   Retry-After: the account is stopped for the day), `not_connected` (no or refused refresh token), `failed`
   (retries exhausted, breaker open, bad request), `not_configured` or `unassigned`.

Every playlist that did not reach Spotify is written as `data/exports/curation/{day}/{NNN}-{playlist_id}.m3u`
and `.csv` (Spotify URIs, ISRC, title, artist). Plain Python, no Dagster.
"""

from __future__ import annotations

import csv
import re
import shutil
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from backbeat.common.human_exports import single_line, spreadsheet_row
from backbeat.curation.planner import UNASSIGNED, Account
from integrations.resilience import (
    CircuitOpen,
    IntegrationError,
    MalformedPayload,
    PermanentError,
    RateLimited,
)
from integrations.spotify.playlists import NotConnected, RemotePlaylist, SpotifyPlaylistClient, TokenRefused

SPOTIFY_ID = re.compile(r"^[0-9A-Za-z]{22}$")
DESCRIPTION_LIMIT = 300  # Spotify's limit for a playlist description
SYNCED, REFUSED, FAILED, NOT_CONNECTED, NOT_CONFIGURED = (
    "synced",
    "refused",
    "failed",
    "not_connected",
    "not_configured",
)


def utcnow() -> datetime:
    """Now as naive UTC (the warehouse stores naive UTC)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def playlist_name(theme: str, global_index: int, day: date) -> str:
    """`Vibe • {ThemeTag} • #{GlobalIndex:000} • {YYYY-MM-DD}`."""
    return f"{name_prefix(theme, global_index)}{day.isoformat()}"


def name_prefix(theme: str, global_index: int) -> str:
    """The part of a playlist's name that stays the same every day (how a lost playlist id is found again)."""
    return f"Vibe • {theme} • #{global_index:03d} • "


def playlist_description(theme: str, policy_description: str, day: date, tracks: int) -> str:
    """The public description: the policy's own words, then what the snapshot is (≤ 300 characters)."""
    tail = f"{tracks} tracks, refreshed daily — snapshot of {day.isoformat()}. Curated by Backbeat."
    head = policy_description.strip() or f"{theme}."
    room = DESCRIPTION_LIMIT - len(tail) - 1
    if len(head) > room:
        head = head[: room - 1].rstrip() + "…"
    return f"{head} {tail}"


@dataclass(frozen=True)
class ExportTrack:
    """A snapshot track as published: its Spotify URI, or why it has none."""

    position: int
    track_id: str
    isrc: str | None
    title: str | None
    artist: str | None
    album: str | None
    duration_ms: int | None
    spotify_uri: str | None
    skip_reason: str | None = None


def spotify_uris_by_isrc(source_recordings: pl.DataFrame) -> dict[str, str]:
    """ISRC → `spotify:track:{id}` from `catalog.source_recordings` rows of source `spotify` (the smallest valid
    id when Spotify lists an ISRC more than once, so the choice is stable)."""
    if not source_recordings.height:
        return {}
    rows = (
        source_recordings.filter(pl.col("source") == "spotify")
        .select(pl.col("isrc").str.replace_all("-", "").str.to_uppercase().str.strip_chars(), "source_id")
        .drop_nulls()
        .filter(pl.col("source_id").str.contains(SPOTIFY_ID.pattern))
        .group_by("isrc")
        .agg(pl.col("source_id").min())
    )
    return {isrc: f"spotify:track:{source_id}" for isrc, source_id in rows.iter_rows()}


def resolve_tracks(
    snapshot: pl.DataFrame, tracks: pl.DataFrame, artists: pl.DataFrame, uris: Mapping[str, str]
) -> list[ExportTrack]:
    """The snapshot's rows (`position`, `track_id`) with catalog metadata and Spotify URIs, in position order."""
    names = dict(artists.select("artist_id", "name").iter_rows()) if artists.height else {}
    meta = {
        row["track_id"]: row
        for row in tracks.select("track_id", "isrc", "title", "artist_id", "album", "duration_ms").iter_rows(named=True)
    }
    out = []
    for position, track_id in snapshot.sort("position").select("position", "track_id").iter_rows():
        row = meta.get(track_id, {})
        isrc = (row.get("isrc") or "").replace("-", "").strip().upper() or None
        uri = uris.get(isrc) if isrc else None
        reason = None
        if uri is None:
            reason = (
                "track has no ISRC to match on Spotify"
                if not isrc
                else f"no Spotify track with ISRC {isrc} in catalog.source_recordings"
            )
        out.append(
            ExportTrack(
                position,
                track_id,
                isrc,
                row.get("title"),
                names.get(row.get("artist_id"), row.get("artist_id")),
                row.get("album"),
                row.get("duration_ms"),
                uri,
                reason,
            )
        )
    return out


@dataclass
class SyncJob:
    """One playlist of one account on one day."""

    day: date
    account_id: str
    playlist_id: str
    global_index: int
    theme: str
    name: str
    description: str
    tracks: list[ExportTrack]
    previous_playlist_id: str | None = None

    @property
    def uris(self) -> list[str]:
        return [t.spotify_uri for t in self.tracks if t.spotify_uri]

    @property
    def skipped(self) -> list[ExportTrack]:
        return [t for t in self.tracks if not t.spotify_uri]


@dataclass
class SyncOutcome:
    job: SyncJob
    status: str
    action: str
    spotify_playlist_id: str | None = None
    spotify_url: str | None = None
    error: str | None = None
    tracks_sent: int = 0
    requests: int = 0
    duplicates: list[str] = field(default_factory=list)
    export_m3u: str | None = None
    export_csv: str | None = None
    synced_at: datetime | None = None


def export_stem(job: SyncJob) -> str:
    return f"{job.global_index:03d}-{job.playlist_id}"


def write_export(folder: Path, job: SyncJob) -> tuple[Path, Path]:
    """The snapshot as an extended M3U of Spotify URIs and a CSV a person can publish from."""
    folder.mkdir(parents=True, exist_ok=True)
    m3u, table = folder / f"{export_stem(job)}.m3u", folder / f"{export_stem(job)}.csv"
    lines = ["#EXTM3U", f"#PLAYLIST:{single_line(job.name)}", f"#EXTALB:{single_line(job.description)}"]
    for t in job.tracks:
        label = single_line(f"{t.artist or 'Unknown artist'} - {t.title or t.track_id}")
        seconds = round(t.duration_ms / 1000) if t.duration_ms else -1
        if t.spotify_uri:
            lines += [f"#EXTINF:{seconds},{label}", single_line(t.spotify_uri)]
        else:  # players ignore comment lines; a person still sees what to add by hand
            lines.append(single_line(f"# not on Spotify: ISRC {t.isrc or 'unknown'} — {label} ({t.skip_reason})"))
    m3u.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["position", "spotify_uri", "isrc", "title", "artist", "album", "duration_ms", "track_id", "note"]
        )
        for t in job.tracks:
            writer.writerow(
                spreadsheet_row(
                    [
                        t.position,
                        t.spotify_uri or "",
                        t.isrc or "",
                        t.title or "",
                        t.artist or "",
                        t.album or "",
                        t.duration_ms or "",
                        t.track_id,
                        t.skip_reason or "",
                    ]
                )
            )
    return m3u, table


def clear_exports(folder: Path) -> None:
    """Remove a day's export folder before it is written again (a re-run leaves exactly its own files)."""
    if folder.exists():
        shutil.rmtree(folder)


def _failure(error: IntegrationError) -> tuple[str, bool]:
    """(status, whether the rest of the account's playlists should be skipped) for a failed playlist."""
    if isinstance(error, (NotConnected, TokenRefused)):
        return NOT_CONNECTED, True
    if isinstance(error, RateLimited):
        return REFUSED, True  # a quota: Retry-After beyond what a run waits, or 429 after 429
    if isinstance(error, CircuitOpen):
        return FAILED, True
    if isinstance(error, PermanentError) and error.status == 403:
        return REFUSED, True  # development-mode app, user not allowlisted, or scope missing
    if isinstance(error, MalformedPayload):
        return FAILED, False
    return FAILED, False


def _describe(error: IntegrationError) -> str:
    return str(error)[:500]


def sync_account(
    account: Account | None,
    jobs: Sequence[SyncJob],
    make_client: Callable[[Account], SpotifyPlaylistClient] | None,
    now: Callable[[], datetime] = utcnow,
) -> list[SyncOutcome]:
    """Publish one account's playlists; never raises for what Spotify answers (it is recorded instead)."""
    if not jobs:
        return []
    if account is None:
        return [
            SyncOutcome(j, FAILED, "exported", error=f"account {j.account_id} is not in accounts.json") for j in jobs
        ]
    if account.development_mode:
        reason = (
            "refused: the account's Spotify app is in development mode (declared in accounts.json); "
            "Spotify refuses its playlist writes since 2024-11-27"
        )
        return [SyncOutcome(j, REFUSED, "exported", error=reason) for j in jobs]
    if make_client is None:
        return [SyncOutcome(j, NOT_CONFIGURED, "exported", error="Spotify is not configured") for j in jobs]
    client = make_client(account)
    if not client.connected:
        reason = client.not_connected_reason(account.account_id)
        return [SyncOutcome(j, NOT_CONNECTED, "exported", error=reason) for j in jobs]
    outcomes: list[SyncOutcome] = []
    stopped: tuple[str, str] | None = None
    owned: list[RemotePlaylist] | None = None
    for job in jobs:
        if stopped is not None:
            outcomes.append(SyncOutcome(job, stopped[0], "exported", error=f"not attempted: {stopped[1]}"))
            continue
        attempts_before = sum(client.stats.attempts.values())
        try:
            if owned is None:
                owned = client.playlists()
            found, duplicates = client.find(
                playlist_id=job.previous_playlist_id, name_prefix=name_prefix(job.theme, job.global_index), owned=owned
            )
            if found is not None:
                client.change_details(found.id, job.name, job.description)
                target, action = found, "updated"
            else:
                target = client.create(job.name, job.description)
                owned.append(target)
                action = "recreated" if job.previous_playlist_id else "created"
            client.replace_items(target.id, job.uris)
            outcomes.append(
                SyncOutcome(
                    job,
                    SYNCED,
                    action,
                    target.id,
                    target.url,
                    tracks_sent=len(job.uris),
                    duplicates=[d.id for d in duplicates],
                    synced_at=now(),
                )
            )
        except IntegrationError as error:
            status, stop = _failure(error)
            outcomes.append(SyncOutcome(job, status, "exported", error=_describe(error)))
            if stop:
                stopped = (status, f"account {account.account_id} stopped after: {_describe(error)}")
        outcomes[-1].requests = sum(client.stats.attempts.values()) - attempts_before
    return outcomes


def sync_all(
    jobs: Iterable[SyncJob],
    accounts: Mapping[str, Account],
    make_client: Callable[[Account], SpotifyPlaylistClient] | None,
    *,
    max_workers: int = 4,
) -> list[SyncOutcome]:
    """Every job, accounts in parallel; outcomes in (account, global index) order."""
    by_account: dict[str, list[SyncJob]] = {}
    for job in sorted(jobs, key=lambda j: (j.account_id, j.global_index, j.playlist_id)):
        by_account.setdefault(job.account_id, []).append(job)
    outcomes: list[SyncOutcome] = []
    unassigned = by_account.pop(UNASSIGNED, [])
    outcomes += [
        SyncOutcome(j, UNASSIGNED, "exported", error="no active account had room for the playlist") for j in unassigned
    ]
    if by_account:
        with ThreadPoolExecutor(
            max_workers=max(1, min(max_workers, len(by_account))), thread_name_prefix="spotify-sync"
        ) as pool:
            futures = [pool.submit(sync_account, accounts.get(a), js, make_client) for a, js in by_account.items()]
            for future in futures:
                outcomes += future.result()
    return sorted(outcomes, key=lambda o: (o.job.account_id, o.job.global_index, o.job.playlist_id))


def export_unsynced(folder: Path, outcomes: Iterable[SyncOutcome]) -> list[SyncOutcome]:
    """Write the file export of every outcome that did not reach Spotify; returns the outcomes with paths."""
    done = []
    for outcome in outcomes:
        if outcome.status != SYNCED:
            m3u, table = write_export(folder, outcome.job)
            outcome = replace(outcome, export_m3u=str(m3u), export_csv=str(table))
        done.append(outcome)
    return done


def outcome_rows(outcomes: Iterable[SyncOutcome], synced_at: datetime) -> list[dict[str, Any]]:
    """Rows of `curation.playlist_sync`."""
    return [
        {
            "sync_date": o.job.day,
            "account_id": o.job.account_id,
            "playlist_id": o.job.playlist_id,
            "global_index": o.job.global_index,
            "playlist_name": o.job.name,
            "spotify_playlist_id": o.spotify_playlist_id,
            "spotify_url": o.spotify_url,
            "status": o.status,
            "action": o.action,
            "error": o.error,
            "tracks_sent": o.tracks_sent,
            "tracks_skipped": len(o.job.skipped),
            "previous_playlist_id": o.job.previous_playlist_id,
            "export_m3u": o.export_m3u,
            "export_csv": o.export_csv,
            "requests": o.requests,
            "synced_at": o.synced_at or synced_at,
        }
        for o in outcomes
    ]


def skip_rows(jobs: Iterable[SyncJob]) -> list[dict[str, Any]]:
    """Rows of `curation.sync_skipped_tracks`: snapshot tracks that could not be sent to Spotify."""
    return [
        {
            "sync_date": j.day,
            "playlist_id": j.playlist_id,
            "position": t.position,
            "track_id": t.track_id,
            "isrc": t.isrc,
            "title": t.title,
            "reason": t.skip_reason,
        }
        for j in jobs
        for t in j.skipped
    ]


# -- tokens -------------------------------------------------------------------------------------------------

REFRESH_WITHIN_S = 40 * 60  # the refresh job runs every 30 min; Spotify's access tokens live 60 min


def refresh_account_tokens(
    accounts: Sequence[Account],
    make_client: Callable[[Account], SpotifyPlaylistClient],
    previous: Mapping[str, Mapping[str, Any]],
    *,
    now: float | None = None,
    refresh_within_s: float = REFRESH_WITHIN_S,
) -> list[dict[str, Any]]:
    """Refresh the access token of every active, connected account that expires within `refresh_within_s`;
    rows of `curation.account_tokens` (status, expiry, error — never a token)."""
    clock = time.time() if now is None else now
    checked = datetime.fromtimestamp(int(clock), UTC).replace(tzinfo=None)
    rows = []
    for account in accounts:
        if not account.active:
            continue
        before = previous.get(account.account_id, {})
        row: dict[str, Any] = {
            "account_id": account.account_id,
            "status": "ok",
            "expires_at": None,
            "refreshed_at": before.get("refreshed_at"),
            "checked_at": checked,
            "error": None,
        }
        client = make_client(account)
        try:
            if not client.connected:
                row.update(status=NOT_CONNECTED, error=client.not_connected_reason(account.account_id))
            else:
                expires = client.token_cache.expires_at
                if not expires or expires - clock <= refresh_within_s:
                    expires = client.refresh_token()
                    row["refreshed_at"] = checked
                row["expires_at"] = datetime.fromtimestamp(int(expires), UTC).replace(tzinfo=None)
        except TokenRefused as error:
            row.update(status="refresh_failed", error=_describe(error))
        except IntegrationError as error:
            row.update(status="error", error=_describe(error))
        rows.append(row)
    return rows
