"""`backbeat fingerprint index|match` and `backbeat playlogs`: the airplay matcher from the command line.

These are module-level click objects; `backbeat.cli` attaches them to the `backbeat` group.
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

import click
import polars as pl

from backbeat.progress import emit, json_option, track

AUDIO_SUFFIXES = {".mp3", ".ogg", ".opus", ".flac", ".wav", ".m4a", ".aac", ".aiff", ".aif"}
PLAYLOG_COLUMNS = ("station", "track_id", "start_utc", "end_utc", "confidence")


def _audio_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)


def _catalog_tracks(catalog: Path, ref_dir: Path) -> list[tuple[str, Path]]:
    """(track_id, path) rows of a `track_id,path` CSV; relative paths are under REF_DIR."""
    with open(catalog, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"track_id", "path"} <= set(reader.fieldnames):
            raise click.BadParameter("the catalog CSV needs a header with track_id,path", param_hint="--catalog")
        return [(row["track_id"], ref_dir / row["path"]) for row in reader]


@click.group()
def fingerprint() -> None:
    """Fingerprint reference audio and match radio chunks against it."""


@fingerprint.command("index")
@click.argument("ref_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--index",
    "index_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Index directory (created or updated incrementally).",
)
@click.option(
    "--catalog",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV with header track_id,path naming the tracks; default: every audio file, id = file name.",
)
@json_option
def index_command(ref_dir: Path, index_dir: Path, catalog: Path | None, as_json: bool) -> None:
    """Fingerprint every audio file under REF_DIR (recursively) into the index."""
    from audio.index import build_index

    if catalog is not None:
        tracks = _catalog_tracks(catalog, ref_dir)
    else:
        tracks = [(path.stem, path) for path in _audio_files(ref_dir)]
        ids = [track_id for track_id, _ in tracks]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise click.UsageError(f"several files share the track id(s) {dupes[:10]}; name them with --catalog")
    started = time.perf_counter()
    with track("fingerprinting", len(tracks), unit="tracks") as progress:
        try:
            report = build_index(tracks, index_dir, progress=progress.update)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
        progress.summary.update(
            command="fingerprint index",
            index=str(index_dir),
            tracks=report.tracks_total,
            fingerprinted=report.tracks_fingerprinted,
            reused=report.tracks_reused,
            removed=report.tracks_removed,
            failed=len(report.failures),
            hashes=report.n_hashes,
            index_bytes=report.index_bytes,
            reference_seconds=round(report.reference_seconds, 3),
        )
    for track_id, path, reason in report.failures:
        click.echo(f"failed: {track_id} ({path}): {reason}", err=True)
    hours = report.reference_seconds / 3600
    per_hour = report.index_bytes / hours / 2**20 if hours else 0.0
    emit(
        progress.summary,
        (
            f"{report.tracks_total} tracks: {report.tracks_fingerprinted} fingerprinted, "
            f"{report.tracks_reused} reused, "
            f"{report.tracks_removed} removed, {len(report.failures)} failed; {report.n_hashes} hashes, "
            f"{report.index_bytes / 2**20:.1f} MiB for {hours:.2f} h of reference ({per_hour:.1f} MiB per hour) "
            f"[{time.perf_counter() - started:.1f} s]"
        ),
        as_json,
    )


@fingerprint.command("match")
@click.argument("chunks_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--index", "index_dir", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Detections Parquet file.")
@click.option(
    "--batch-size",
    default=32,
    show_default=True,
    type=click.IntRange(min=1),
    help="Chunks decoded and matched at once; memory follows it.",
)
@json_option
def match_command(chunks_dir: Path, index_dir: Path, out: Path, batch_size: int, as_json: bool) -> None:
    """Match the radio chunks in CHUNKS_DIR (named {station}_{YYYYmmddTHHMMSSZ}.{ext}) against the index."""
    from audio.index import FingerprintIndex, IndexNotFoundError, IndexVersionError
    from audio.matcher import ChunkRef, match_chunks
    from backbeat.airplay.landing import ChunkNameError, parse_chunk_name

    try:
        index = FingerprintIndex.open(index_dir)
    except (IndexNotFoundError, IndexVersionError) as exc:
        raise click.UsageError(str(exc)) from exc
    refs: list[ChunkRef] = []
    skipped = 0
    for path in sorted(p for p in chunks_dir.iterdir() if p.is_file() and not p.name.startswith(".")):
        try:
            chunk = parse_chunk_name(path)
        except ChunkNameError as exc:
            click.echo(f"skipped {path}: {exc}", err=True)
            skipped += 1
            continue
        refs.append(ChunkRef(chunk.chunk_id, chunk.station_id, chunk.start_utc, path))
    started = time.perf_counter()
    with track("matching", len(refs), unit="chunks") as progress:
        result = match_chunks(refs, index, batch_size=batch_size, progress=progress.update)
        matched = len(refs) - len(result.failures)
        progress.summary.update(
            command="fingerprint match",
            out=str(out),
            chunks=len(refs) + skipped,
            matched=matched,
            skipped=skipped + len(result.failures),
            detections=result.detections.height,
            tracks=result.detections["track_id"].n_unique(),
        )
    for failure in result.failures:
        click.echo(f"skipped {failure.path}: {failure.reason}", err=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    result.detections.write_parquet(out)
    result.candidates.write_parquet(out.with_name(out.stem + ".candidates.parquet"))
    emit(
        progress.summary,
        (
            f"{matched} chunks matched, {skipped + len(result.failures)} skipped; "
            f"{result.detections.height} detections "
            f"of {result.detections['track_id'].n_unique()} tracks -> {out} [{time.perf_counter() - started:.1f} s]"
        ),
        as_json,
    )
    if matched == 0:
        click.echo("no chunk could be read", err=True)
        sys.exit(1)


@click.command("playlogs")
@click.argument("detections_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Plays CSV file.")
@click.option(
    "--min-play-s",
    default=30.0,
    show_default=True,
    type=click.FloatRange(min=0.0),
    help="Drop plays shorter than this.",
)
def playlogs(detections_file: Path, out: Path, min_play_s: float) -> None:
    """Merge detections into plays and write them as CSV: station,track_id,start_utc,end_utc,confidence."""
    from audio.plays import merge_detections

    plays = merge_detections(pl.read_parquet(detections_file), min_play_s=min_play_s)
    iso = "%Y-%m-%dT%H:%M:%SZ"
    table = plays.select(
        station=pl.col("station_id"),
        track_id=pl.col("track_id"),
        start_utc=pl.col("start_utc").dt.strftime(iso),
        end_utc=pl.col("end_utc").dt.strftime(iso),
        confidence=pl.col("confidence").round(4),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    table.write_csv(out)
    click.echo(f"{table.height} plays -> {out}")
