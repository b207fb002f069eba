"""`generate_demo`: write a complete, deterministic demo data set into a data directory.

Same arguments, same bytes: every CSV and JSON file is identical between runs (audio containers may differ
in encoder metadata, e.g. OGG stream serial numbers). Re-running overwrites in place and first removes what
an earlier, larger run may have left: the demo stations' landing chunks and gap logs, catalog audio and split
sheets. The landing folder also gets the recorder's gap log (`landing/_gaps/`, see `backbeat.demo.gaps`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from backbeat.demo import catalog as catalog_mod
from backbeat.demo import extras, files, gaps, music, rights, schedule, streams
from backbeat.demo.seeding import rng_for

ARTISTS_HEADER = ("artist_id", "name", "country")
TRACKS_HEADER = (
    "track_id",
    "isrc",
    "title",
    "artist_id",
    "album",
    "release_date",
    "duration_ms",
    "genre",
    "explicit",
    "popularity",
    "work_id",
    "audio_path",
)
STATIONS_HEADER = ("station_id", "name", "stream_url", "active", "timezone")
GROUND_TRUTH_HEADER = ("station_id", "track_id", "start_utc", "end_utc")
STATION_TIMEZONE = "Europe/Amsterdam"
_TRACK_AUDIO = re.compile(r"^TRK\d{4}\.(ogg|flac|wav)$")
_SPLIT_SHEET = re.compile(r"^(sheet_\d{2}_[a-z0-9_]+\.csv|recordings_[a-z0-9_]+\.xlsx|WRK\d{4}_scan\.png)$")


@dataclass(frozen=True)
class DemoManifest:
    """What a run wrote: counts for a summary line, and where each file or folder is."""

    data_dir: Path
    day: date
    stations: tuple[str, ...]
    tracks: int
    tracks_with_audio: int
    chunks: int
    ground_truth_plays: int
    audio_seconds: float  # of radio stream, all stations together
    paths: dict[str, Path] = field(hash=False)


def demo_paths(data_dir: Path) -> dict[str, Path]:
    """The demo data layout under `data_dir`."""
    inbox = data_dir / "inbox"
    return {
        "artists": inbox / "catalog" / "artists.csv",
        "tracks": inbox / "catalog" / "tracks.csv",
        "audio_dir": inbox / "catalog" / "audio",
        "stations": inbox / "airplay" / "stations.csv",
        "programs": inbox / "airplay" / "programs.csv",
        "program_overrides": inbox / "airplay" / "program_overrides.csv",
        "tariffs": inbox / "royalties" / "tariffs.csv",
        "split_sheets_dir": inbox / "rights" / "split_sheets",
        "parties": inbox / "rights" / "parties.csv",
        "contracts": inbox / "rights" / "contracts.csv",
        "policies": inbox / "curation" / "policies.json",
        "accounts": inbox / "curation" / "accounts.json",
        "contacts": inbox / "outreach" / "contacts.csv",
        "landing_dir": data_dir / "landing",
        "capture_gaps": gaps.gaps_path(data_dir / "landing", gaps.GAP_STATION.station_id),
        "ground_truth": data_dir / "demo" / "ground_truth_plays.csv",
    }


def generate_demo(
    data_dir: Path,
    *,
    seed: int = 7,
    day: date = date(2026, 11, 2),
    minutes_per_station: int = 120,
    n_artists: int = 30,
    n_tracks: int = 60,
    tracks_with_audio: int = 24,
) -> DemoManifest:
    """Write the demo catalog, rights, policies, contacts, radio chunks and their ground truth."""
    _validate(seed, minutes_per_station, n_artists, n_tracks, tracks_with_audio)
    data_dir = Path(data_dir)
    paths = demo_paths(data_dir)
    for key in ("audio_dir", "split_sheets_dir", "landing_dir"):
        paths[key].mkdir(parents=True, exist_ok=True)

    catalog = catalog_mod.build_catalog(
        seed, n_artists=n_artists, n_tracks=n_tracks, tracks_with_audio=tracks_with_audio, before=day
    )
    stream_audio = _write_track_audio(seed, catalog, paths["audio_dir"])
    _write_catalog(catalog, paths)
    _write_reference_data(seed, day, catalog, paths)

    files.remove_matching(paths["landing_dir"], streams.CHUNK_NAME)
    plays: list[tuple[str, str, str, str]] = []
    n_chunks = 0
    for station in streams.STATIONS:
        station_plays, station_chunks = _write_station(
            seed, station, day, minutes_per_station * 60_000, catalog, stream_audio, paths["landing_dir"]
        )
        plays.extend(station_plays)
        n_chunks += station_chunks
    gaps.write_gap_log(paths["landing_dir"], day, minutes_per_station * 60_000)
    files.write_csv(paths["ground_truth"], GROUND_TRUTH_HEADER, plays)

    return DemoManifest(
        data_dir=data_dir,
        day=day,
        stations=tuple(s.station_id for s in streams.STATIONS),
        tracks=len(catalog.tracks),
        tracks_with_audio=len(catalog.tracks_with_audio),
        chunks=n_chunks,
        ground_truth_plays=len(plays),
        audio_seconds=float(n_chunks * streams.CHUNK_S),
        paths=paths,
    )


def _validate(seed: int, minutes_per_station: int, n_artists: int, n_tracks: int, tracks_with_audio: int) -> None:
    if seed < 0:
        raise ValueError("seed must be a non-negative integer")
    if minutes_per_station < 1:
        raise ValueError("minutes_per_station must be at least 1")
    if n_artists < 1:
        raise ValueError("n_artists must be at least 1")
    if n_tracks < 6:
        raise ValueError("n_tracks must be at least 6 (two remixes and four planted rights problems)")
    if not 1 <= tracks_with_audio <= n_tracks:
        raise ValueError("tracks_with_audio must be between 1 and n_tracks")


def _write_track_audio(seed: int, catalog: catalog_mod.Catalog, audio_dir: Path) -> dict[str, np.ndarray]:
    """Render and write each track with audio; return the same audio resampled for the radio streams."""
    files.remove_matching(audio_dir, _TRACK_AUDIO)
    stream_audio = {}
    for track in catalog.tracks_with_audio:
        audio = catalog_mod.render_track(seed, track)
        files.write_audio(audio_dir / Path(track.audio_path).name, audio, music.MUSIC_SR)
        stream_audio[track.track_id] = streams.resample_to_stream(audio, music.MUSIC_SR, track.duration_ms)
    return stream_audio


def _write_station(
    seed: int,
    station: streams.Station,
    day: date,
    block_ms: int,
    catalog: catalog_mod.Catalog,
    stream_audio: dict[str, np.ndarray],
    landing_dir: Path,
) -> tuple[list[tuple[str, str, str, str]], int]:
    """Plan, render and write one station's block; return its ground-truth rows and its chunk count."""
    durations = [(t.track_id, t.duration_ms) for t in catalog.tracks_with_audio]
    segments = schedule.plan_block(rng_for(seed, "schedule", station.station_id), block_ms, durations)
    start = station.block_start_on(day)
    n_chunks = 0
    for index, chunk in streams.render_chunks(seed, station.station_id, segments, block_ms, stream_audio):
        chunk_start = start + timedelta(seconds=streams.CHUNK_S * index)
        name = streams.chunk_name(station.station_id, chunk_start, streams.chunk_format(index))
        files.write_audio(landing_dir / name, chunk, streams.STREAM_SR)
        n_chunks += 1
    plays = [
        (
            station.station_id,
            str(s.track_id),
            streams.utc_ms(start + timedelta(milliseconds=s.start_ms)),
            streams.utc_ms(start + timedelta(milliseconds=s.end_ms)),
        )
        for s in segments
        if s.kind == "play"
    ]
    return plays, n_chunks


def _write_catalog(catalog: catalog_mod.Catalog, paths: dict[str, Path]) -> None:
    artists = ((a.artist_id, a.name, a.country) for a in catalog.artists)
    files.write_csv(paths["artists"], ARTISTS_HEADER, artists)
    tracks = (
        (
            t.track_id,
            t.isrc,
            t.title,
            t.artist_id,
            t.album,
            t.release_date.isoformat(),
            t.duration_ms,
            t.genre,
            t.explicit,
            t.popularity,
            t.work_id,
            t.audio_path,
        )
        for t in catalog.tracks
    )
    files.write_csv(paths["tracks"], TRACKS_HEADER, tracks)


def _write_reference_data(seed: int, day: date, catalog: catalog_mod.Catalog, paths: dict[str, Path]) -> None:
    """Stations, programme schedules and overrides, tariffs, split sheets, playlist policies and contacts."""
    files.write_csv(
        paths["stations"],
        STATIONS_HEADER,
        ((s.station_id, s.name, s.stream_url, True, STATION_TIMEZONE) for s in streams.STATIONS),
    )
    north, south = (s.station_id for s in streams.STATIONS)
    files.write_csv(
        paths["tariffs"],
        rights.TARIFF_HEADER,
        (
            (t.station_id, t.currency, t.rate_per_second, t.effective_from.isoformat())
            for t in rights.tariffs(north, south)
        ),
    )
    sheets = rights.build_split_sheets(seed, catalog)
    files.remove_matching(paths["split_sheets_dir"], _SPLIT_SHEET)
    for name, rows in sheets.sheets.items():
        files.write_csv(paths["split_sheets_dir"] / name, rights.SPLIT_SHEET_HEADER, rows)
    for name, rows in sheets.workbooks.items():
        rights.write_xlsx(paths["split_sheets_dir"] / name, rights.RECORDING_SHEET_HEADER, rows)
    for scan in sheets.scans:
        rights.write_scan(paths["split_sheets_dir"] / scan.file_name, scan)
    files.write_csv(paths["parties"], rights.PARTY_HEADER, sheets.parties)
    files.write_csv(paths["contracts"], rights.CONTRACT_HEADER, sheets.contracts)
    files.write_csv(paths["programs"], extras.PROGRAMS_HEADER, extras.programs(north, south))
    files.write_csv(
        paths["program_overrides"], extras.PROGRAM_OVERRIDES_HEADER, extras.program_overrides(south, day.isoformat())
    )
    files.write_json(paths["policies"], extras.policies())
    files.write_json(paths["accounts"], extras.accounts())
    files.write_csv(paths["contacts"], extras.CONTACTS_HEADER, extras.contacts(seed))
