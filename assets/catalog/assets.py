"""Catalog assets: artists and tracks from the catalog inbox, albums from Spotify, recordings from MusicBrainz,
audio features, golden recordings resolved across sources, and the Rekordbox export."""

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetSpec,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
    multi_asset,
)
from pydantic import Field

from assets.common.keys import (
    CATALOG_ALBUM_QUEUE,
    CATALOG_ARTISTS,
    CATALOG_AUDIO_FEATURES,
    CATALOG_GOLDEN_RECORDINGS,
    CATALOG_MUSICBRAINZ_RECORDINGS,
    CATALOG_RECORDING_DUPLICATES,
    CATALOG_RECORDING_LINKS,
    CATALOG_REKORDBOX_EXPORT,
    CATALOG_RESOLUTION_REVIEW,
    CATALOG_SPOTIFY_RECORDINGS,
    CATALOG_TRACKS,
)
from assets.common.metadata import preview, table_metadata
from assets.common.paths import DataDirResource
from audio.decode import AudioDecodeError
from backbeat.catalog.golden import resolution_input, resolve_catalog
from backbeat.catalog.ingest import fetch_albums, lookup_isrcs, malformed_reject, queue_updates, valid_isrcs
from backbeat.catalog.library import (
    analyse,
    analysis_provenance,
    content_hash,
    dj_fields,
    previous_features,
    raw_feature_row,
    rekordbox_frame,
)
from backbeat.catalog.queue import new_queue_rows, read_requests, status_counts
from backbeat.catalog.rekordbox import export_rekordbox_xml
from backbeat.catalog.store import append_rejects, upsert
from backbeat.catalog.tables import (
    ALBUM_QUEUE,
    ARTISTS,
    AUDIO_FEATURES,
    GOLDEN_RECORDINGS,
    MUSICBRAINZ_LOOKUPS,
    RECORDING_DUPLICATES,
    RECORDING_LINKS,
    RESOLUTION_REVIEW,
    SOURCE_ALBUMS,
    SOURCE_ARTISTS,
    SOURCE_RECORDINGS,
    TRACKS,
)
from backbeat.common import csvfiles as f
from backbeat.common.quarantine import Reject, record_rejects
from backbeat.common.safe_paths import PathOutsideRoot, confined_path
from backbeat.identifiers import parse_isrc_or_none
from integrations.musicbrainz import MusicBrainzResource
from integrations.spotify import SpotifyResource
from integrations.warehouse import Warehouse, WarehouseResource


def _isrc(value: str) -> str:
    """A track's ISRC as stored (NLBB12600001); the printed NL-BB1-26-00001 and lower case are the same ISRC."""
    if (isrc := parse_isrc_or_none(value)) is None:
        raise f.FieldError("is not a 12-character ISRC (e.g. NLBB12600001)")
    return isrc


ARTIST_FIELDS = {"artist_id": f.text, "name": f.text, "country": f.matching(r"[A-Z]{2}", "a 2-letter country code")}
TRACK_FIELDS = {
    "track_id": f.text,
    "isrc": _isrc,
    "title": f.text,
    "artist_id": f.text,
    "album": f.optional_text,
    "release_date": f.iso_date,
    "duration_ms": f.in_range(f.integer, 1, 3_600_000),
    "genre": f.optional_text,
    "explicit": f.boolean,
    "popularity": f.in_range(f.integer, 0, 100),
    "work_id": f.optional_text,
    "audio_path": f.optional_relative_path,
}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _audio_path_problem(catalog_dir: Path, audio_path: str) -> tuple[str, str, str] | None:
    """(field, value, reason) when `audio_path` leaves the catalog folder or names no file."""
    try:
        if not confined_path(catalog_dir, audio_path).is_file():
            return ("audio_path", audio_path, "audio file does not exist")
    except PathOutsideRoot as exc:
        return ("audio_path", audio_path, str(exc))
    return None


@asset(
    key=CATALOG_ARTISTS,
    group_name="catalog",
    kinds={"csv", "sql"},
)
def catalog_artists(
    context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource
) -> MaterializeResult:
    """One row per artist, from `inbox/catalog/artists.csv`.

    Rows with a missing id or name, a bad country code or a duplicate id go to `quarantine.rejected_rows`.
    """
    path = data_dir.inbox / "catalog" / "artists.csv"
    parsed = f.reject_duplicates(f.read_csv(path, ARTIST_FIELDS), lambda r: r["artist_id"], "artist_id")
    frame = ARTISTS.from_rows([{**r, "ingested_at": _now()} for r in parsed.rows])
    db = warehouse.client()
    db.replace(ARTISTS, frame)
    record_rejects(db, "catalog/artists", "", parsed.rejects, context.log.warning)
    return MaterializeResult(metadata=table_metadata(frame, rejected_rows=len(parsed.rejects)))


@asset(
    key=CATALOG_TRACKS,
    deps=[catalog_artists],
    group_name="catalog",
    kinds={"csv", "sql"},
)
def catalog_tracks(
    context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource
) -> MaterializeResult:
    """One row per recording, from `inbox/catalog/tracks.csv`: ISRC, title, artist, release, duration, work.

    Rows with a malformed ISRC, an unknown artist, a duplicate track id or ISRC, or a missing audio file
    go to `quarantine.rejected_rows` with file, row and field; the rest are stored.
    """
    catalog_dir = data_dir.inbox / "catalog"
    parsed = f.read_csv(catalog_dir / "tracks.csv", TRACK_FIELDS)
    parsed = f.reject_duplicates(parsed, lambda r: r["track_id"], "track_id")
    parsed = f.reject_duplicates(parsed, lambda r: r["isrc"], "isrc")
    db = warehouse.client()
    known_artists = set(db.read(ARTISTS)["artist_id"].to_list())
    rows, rejects = [], list(parsed.rejects)
    for row in parsed.rows:
        problem = None
        if row["artist_id"] not in known_artists:
            problem = ("artist_id", row["artist_id"], "artist_id is not in catalog.artists")
        elif row["audio_path"]:
            problem = _audio_path_problem(catalog_dir, row["audio_path"])
        if problem:
            rejects.append(Reject(row["_source_file"], row["_row"], *problem))
        else:
            rows.append(row)
    frame = TRACKS.from_rows([{**r, "ingested_at": _now()} for r in rows])
    db.replace(TRACKS, frame)
    record_rejects(db, "catalog/tracks", "", rejects, context.log.warning)
    with_audio = frame.filter(pl.col("audio_path").is_not_null()).height
    return MaterializeResult(
        metadata=table_metadata(frame.drop("ingested_at"), rejected_rows=len(rejects), tracks_with_audio=with_audio)
    )


# ---- album queue → Spotify → MusicBrainz ------------------------------------------------------------------

ALBUM_REQUESTS_DIR = ("catalog", "album_requests")
REKORDBOX_FILE = ("rekordbox", "backbeat.xml")
REKORDBOX_PLAYLIST = "Backbeat catalog"


class SpotifyIngestConfig(Config):
    """How much of the album queue one run drains, and how hard it tries."""

    batch_size: int = Field(default=500, ge=1, description="Queued albums fetched per run (oldest first).")
    max_attempts: int = Field(
        default=5, ge=1, description="Runs an album may fail transiently before it is marked failed."
    )
    workers: int = Field(
        default=4,
        ge=1,
        le=16,
        description="Units of 20 albums fetched in parallel (they share the credential's rate limit).",
    )


class MusicBrainzLookupConfig(Config):
    """How many ISRCs one run asks MusicBrainz about (at one request per second)."""

    batch_size: int = Field(default=300, ge=1, description="ISRCs looked up per run.")
    commit_every: int = Field(
        default=50, ge=1, description="Lookups written per transaction, so an interrupted run keeps what it learned."
    )


class AudioFeaturesConfig(Config):
    """How much of each track the features are computed from."""

    excerpt_s: float = Field(
        default=20.0,
        ge=0.0,
        description="Analyse the middle this-many seconds of each "
        "track (0: the whole track, up to audio.features.MAX_ANALYSIS_S).",
    )


def _queue_metadata(queue: pl.DataFrame) -> dict[str, object]:
    counts = status_counts(queue)
    return {f"albums_{status}": n for status, n in counts.items()}


@asset(
    key=CATALOG_ALBUM_QUEUE,
    group_name="catalog",
    kinds={"csv", "sql"},
)
def album_queue(
    context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource
) -> MaterializeResult:
    """One row per album an admin asked to ingest, and how far it got (queued, ingested or failed with a reason).

    Source: `inbox/catalog/album_requests/*.txt|csv` (Spotify album URIs, open.spotify.com links or bare ids;
    `backbeat catalog add` appends to one). New albums are queued; albums already in the queue keep their
    status, so re-running never resets an ingested album. Lines that are not album references go to
    `quarantine.rejected_rows` with file and line. `catalog/spotify_recordings` moves albums on.
    """
    folder = data_dir.inbox.joinpath(*ALBUM_REQUESTS_DIR)
    parsed = read_requests(folder, relative_to=data_dir.inbox)
    db = warehouse.client()
    with db.connect() as conn:
        conn.ensure(ALBUM_QUEUE)
        known = conn.query("SELECT album_id FROM catalog.album_queue", schema={"album_id": pl.Utf8})
        rows = new_queue_rows(known["album_id"].to_list(), parsed.requests, _now())
        conn.insert(ALBUM_QUEUE, ALBUM_QUEUE.from_rows(rows))
    record_rejects(db, "catalog/album_queue", "", parsed.rejects, context.log.warning)
    queue = db.read(ALBUM_QUEUE).sort("updated_at", "album_id", descending=[True, False])
    return MaterializeResult(
        metadata={
            **table_metadata(queue),
            **_queue_metadata(queue),
            "newly_queued": len(rows),
            "request_files": parsed.files,
            "requests": len(parsed.requests),
            "repeated_requests": parsed.duplicates,
            "rejected_lines": len(parsed.rejects),
        }
    )


def _known_artist_genres(db: Warehouse) -> dict[str, tuple[str, ...] | None]:
    """Genres of the artists already fetched; None for those whose genres Spotify withheld."""
    artists = db.read(SOURCE_ARTISTS, "source = ?", ["spotify"])
    return {
        a: None if genres is None else tuple(g for g in genres.split("; ") if g)
        for a, genres in artists.select("artist_id", "genres").iter_rows()
    }


@asset(
    key=CATALOG_SPOTIFY_RECORDINGS,
    deps=[album_queue],
    group_name="catalog",
    kinds={"spotify", "sql"},
)
def spotify_recordings(
    context: AssetExecutionContext, config: SpotifyIngestConfig, spotify: SpotifyResource, warehouse: WarehouseResource
) -> MaterializeResult:
    """One row per Spotify track of an ingested album in `catalog.source_recordings` (source `spotify`): ISRC,
    title, artists, album, release date, duration, explicit, popularity and the artist's first genre; the albums
    in `catalog.source_albums`, the artists with their genres in `catalog.source_artists`.

    Source: the Spotify Web API (client credentials, `SPOTIFY_CLIENT_ID`/`SPOTIFY_CLIENT_SECRET`). Each run
    drains up to `batch_size` queued albums (oldest first) and marks each ingested, or failed with its reason:
    not found at Spotify, or a malformed payload (quarantined with id and field). An album whose fetch failed
    after the client's retries (5xx, rate limits) stays queued with one more attempt, and fails after
    `max_attempts`. Albums already ingested are never fetched again. Without Spotify credentials the queue is
    left as it is. For an app without extended access (Spotify refuses the deprecated batch reads) the client
    reads album by album within the same rate budget, and popularity, genre and label stay null with
    `withheld` saying "not provided by Spotify (extended access required)".
    """
    db = warehouse.client()
    queue = db.read(ALBUM_QUEUE)
    queued = queue.filter(pl.col("status") == "queued").sort("requested_at", "album_id").head(config.batch_size)
    base = {"queued_before": queued.height}
    if queued.is_empty():
        return MaterializeResult(metadata={**base, **_queue_metadata(queue), "albums_tried": 0})
    if not spotify.client_id.strip():
        context.log.warning(
            f"{queued.height} albums are queued but Spotify is not configured "
            "(set SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET); the queue is left as it is"
        )
        return MaterializeResult(
            metadata={
                **base,
                **_queue_metadata(queue),
                "albums_tried": 0,
                "skipped": "Spotify credentials are not configured",
            }
        )

    client = spotify.client()
    started, now = time.perf_counter(), _now()
    ids = queued["album_id"].to_list()
    batch = fetch_albums(
        client,
        ids,
        _known_artist_genres(db),
        now=now,
        workers=config.workers,
        progress=lambda done, total: context.log.debug(f"spotify: {done}/{total} units"),
    )
    updates = queue_updates(queued.iter_rows(named=True), batch.outcomes, max_attempts=config.max_attempts, now=now)
    recordings = SOURCE_RECORDINGS.from_rows(batch.recordings)
    with db.connect() as conn:  # one transaction: an album is marked ingested exactly when its tracks are stored
        upsert(conn, SOURCE_RECORDINGS, recordings)
        upsert(conn, SOURCE_ALBUMS, SOURCE_ALBUMS.from_rows(batch.albums))
        upsert(conn, SOURCE_ARTISTS, SOURCE_ARTISTS.from_rows(batch.artists))
        upsert(conn, ALBUM_QUEUE, ALBUM_QUEUE.from_rows(updates))
    quarantined = append_rejects(
        db, "catalog/spotify_recordings", [malformed_reject(m) for m in batch.malformed], context.log.warning
    )
    for row in updates:
        if row["status"] != "ingested":
            context.log.warning(f"album {row['album_id']} {row['status']}: {row['reason']}")
    after = db.read(ALBUM_QUEUE)
    failed = [r for r in updates if r["status"] == "failed"]
    return MaterializeResult(
        metadata={
            **table_metadata(recordings.drop("ingested_at")),
            **base,
            **_queue_metadata(after),
            "albums_tried": len(updates),
            "ingested": batch.count("ingested"),
            "failed": len(failed),
            "retry_later": sum(1 for r in updates if r["status"] == "queued"),
            "albums_written": len(batch.albums),
            "new_artists": len(batch.artists),
            "quarantined": quarantined,
            "rows_with_withheld_fields": recordings.filter(pl.col("withheld").is_not_null()).height,
            "batch_reads_refused": sorted(client.batch_refused),
            "failures": preview(pl.DataFrame(failed, schema=ALBUM_QUEUE.polars_schema).select("album_id", "reason")),
            "api_calls": MetadataValue.json(client.stats.snapshot()),
            "seconds": round(time.perf_counter() - started, 2),
        }
    )


@asset(
    key=CATALOG_MUSICBRAINZ_RECORDINGS,
    deps=[spotify_recordings, catalog_tracks],
    group_name="catalog",
    kinds={"sql"},
)
def musicbrainz_recordings(
    context: AssetExecutionContext,
    config: MusicBrainzLookupConfig,
    musicbrainz: MusicBrainzResource,
    warehouse: WarehouseResource,
) -> MaterializeResult:
    """One row per MusicBrainz recording found by ISRC in `catalog.source_recordings` (source `musicbrainz`):
    title, artist credit, length and the ISWC of the work it performs.

    Source: MusicBrainz WS/2 (`MUSICBRAINZ_CONTACT` for its User-Agent), at most one request per second. Each
    run asks about up to `batch_size` ISRCs of the file catalog and of Spotify recordings that were never asked
    before; every lookup, misses included, is remembered in `catalog.musicbrainz_lookups`, so no ISRC is asked
    twice. Malformed answers are quarantined. Without a contact the lookups wait.
    """
    db = warehouse.client()
    spotify_isrcs = db.read(SOURCE_RECORDINGS, "source = ? AND isrc IS NOT NULL", ["spotify"])["isrc"].to_list()
    file_isrcs = db.read(TRACKS)["isrc"].to_list()
    asked = set(db.read(MUSICBRAINZ_LOOKUPS)["isrc"].to_list())
    pending = [i for i in valid_isrcs([*file_isrcs, *spotify_isrcs]) if i not in asked]
    todo = pending[: config.batch_size]
    base = {"isrcs_pending_before": len(pending), "isrcs_asked_before": len(asked)}
    if not todo:
        return MaterializeResult(metadata={**base, "looked_up": 0})
    if not musicbrainz.contact.strip():
        context.log.warning(
            f"{len(pending)} ISRCs wait for MusicBrainz, which is not configured (set MUSICBRAINZ_CONTACT)"
        )
        return MaterializeResult(metadata={**base, "looked_up": 0, "skipped": "MusicBrainz contact is not configured"})

    client = musicbrainz.client()
    started = time.perf_counter()
    looked_up, found, quarantined, written, interrupted = 0, 0, 0, [], ""
    for start in range(0, len(todo), config.commit_every):
        batch = lookup_isrcs(client, todo[start : start + config.commit_every], now=_now())
        recordings = SOURCE_RECORDINGS.from_rows(batch.recordings)
        with db.connect() as conn:
            upsert(conn, SOURCE_RECORDINGS, recordings)
            upsert(conn, MUSICBRAINZ_LOOKUPS, MUSICBRAINZ_LOOKUPS.from_rows(batch.lookups))
        quarantined += append_rejects(
            db, "catalog/musicbrainz_recordings", [malformed_reject(m) for m in batch.malformed], context.log.warning
        )
        looked_up += len(batch.lookups)
        found += sum(1 for lookup in batch.lookups if lookup["status"] == "found")
        written.append(recordings)
        if batch.interrupted:
            interrupted = batch.interrupted
            context.log.warning(f"MusicBrainz lookups stopped early, the rest wait for the next run: {interrupted}")
            break
    frame = SOURCE_RECORDINGS.concat(written)
    return MaterializeResult(
        metadata={
            **table_metadata(frame.select("source_id", "isrc", "title", "artist", "duration_ms", "iswc")),
            **base,
            "looked_up": looked_up,
            "isrcs_found": found,
            "isrcs_not_found": looked_up - found - quarantined,
            "quarantined": quarantined,
            "isrcs_pending_after": len(pending) - looked_up,
            "interrupted": interrupted or "no",
            "api_calls": MetadataValue.json(client.stats.snapshot()),
            "seconds": round(time.perf_counter() - started, 2),
        }
    )


# ---- audio features ---------------------------------------------------------------------------------------


@asset(
    key=CATALOG_AUDIO_FEATURES,
    deps=[catalog_tracks],
    group_name="catalog",
    kinds={"python", "sql"},
)
def audio_features(
    context: AssetExecutionContext, config: AudioFeaturesConfig, data_dir: DataDirResource, warehouse: WarehouseResource
) -> MaterializeResult:
    """One row per catalog track with audio: tempo, key and energy computed by Backbeat from the audio (librosa;
    `provenance` says library, version, method and excerpt), the DJ BPM folded into the track's genre range,
    and the key in standard, Camelot and Open Key notation.

    Source: `catalog.tracks` audio files under `inbox/catalog/`. Incremental: a track whose audio's content
    hash (and analysis settings) are unchanged keeps its stored features; only the genre-dependent DJ fields are
    derived again. Unreadable audio goes to `quarantine.rejected_rows`.
    """
    db = warehouse.client()
    root = data_dir.inbox / "catalog"
    tracks = db.read(TRACKS, "audio_path IS NOT NULL").sort("track_id")
    previous = previous_features(db.read(AUDIO_FEATURES))
    provenance = analysis_provenance(config.excerpt_s)
    rows, rejects, computed, reused = [], [], 0, 0
    started = time.perf_counter()
    for track_id, audio_path, genre in tracks.select("track_id", "audio_path", "genre").iter_rows():
        try:
            path = confined_path(root, audio_path)
            digest = content_hash(path)
            before = previous.get(track_id)
            if before is not None and before.reusable(digest, provenance):
                raw, reused = before.raw, reused + 1
            else:
                raw, computed = raw_feature_row(analyse(path, config.excerpt_s)), computed + 1
        except (OSError, AudioDecodeError, ValueError) as exc:
            rejects.append(
                Reject(
                    f"catalog/{audio_path}",
                    None,
                    "audio_path",
                    audio_path,
                    f"audio features could not be computed: {exc}",
                )
            )
            continue
        rows.append(
            {
                "track_id": track_id,
                "content_hash": digest,
                **raw,
                **dj_fields(raw["tempo_bpm"], raw["musical_key"], genre),
            }
        )
    frame = AUDIO_FEATURES.from_rows(rows)
    db.replace(AUDIO_FEATURES, frame)
    record_rejects(db, "catalog/audio_features", "", rejects, context.log.warning)
    return MaterializeResult(
        metadata={
            **table_metadata(frame.drop("content_hash", "provenance")),
            "computed": computed,
            "reused": reused,
            "rejected": len(rejects),
            "provenance": provenance,
            "seconds": round(time.perf_counter() - started, 2),
        }
    )


# ---- golden recordings ------------------------------------------------------------------------------------

_RESOLUTION_DEPS = [catalog_tracks.key, CATALOG_SPOTIFY_RECORDINGS, CATALOG_MUSICBRAINZ_RECORDINGS]


@multi_asset(
    name="golden_recordings",
    group_name="catalog",
    specs=[
        AssetSpec(
            CATALOG_GOLDEN_RECORDINGS,
            deps=_RESOLUTION_DEPS,
            kinds={"sql"},
            description="One row per real recording across the file catalog, Spotify and MusicBrainz: "
            "ISRC, title, artist, album, duration, release date, ISWC, each with the source record "
            "(`source:source_id`) it was taken from. Table catalog.golden_recordings.",
        ),
        AssetSpec(
            CATALOG_RECORDING_LINKS,
            deps=_RESOLUTION_DEPS,
            kinds={"sql"},
            description="One row per source record (file, spotify, musicbrainz): the golden recording it "
            "was resolved into and why (isrc, fuzzy with its score, or self). Table catalog.recording_links.",
        ),
        AssetSpec(
            CATALOG_RESOLUTION_REVIEW,
            deps=_RESOLUTION_DEPS,
            kinds={"sql"},
            description="One row per pair of records that may be the same recording but were not merged "
            "(names match but durations or ISRCs differ, names only similar): for a person to decide. "
            "Table catalog.resolution_review.",
        ),
        AssetSpec(
            CATALOG_RECORDING_DUPLICATES,
            deps=_RESOLUTION_DEPS,
            kinds={"sql"},
            description="One row per golden recording that one source lists more than once (e.g. the "
            "same ISRC on an album and a compilation): the duplicate report. Table "
            "catalog.recording_duplicates.",
        ),
    ],
)
def golden_recordings(context: AssetExecutionContext, warehouse: WarehouseResource) -> Iterator[MaterializeResult]:
    """Entity resolution over every source record: `catalog.source_recordings` (Spotify, MusicBrainz) and the file
    catalog (`catalog.tracks`, source `file`); ISRC first, then fuzzy title/artist/duration
    (`backbeat.catalog.resolution`). Every table is rebuilt from all records, so a re-run gives the same ids."""
    db = warehouse.client()
    records = resolution_input(db.read(SOURCE_RECORDINGS), db.read(TRACKS), db.read(ARTISTS))
    started = time.perf_counter()
    result = resolve_catalog(records)
    seconds = round(time.perf_counter() - started, 2)
    db.replace(GOLDEN_RECORDINGS, result.golden)
    db.replace(RECORDING_LINKS, result.links)
    db.replace(RESOLUTION_REVIEW, result.review)
    db.replace(RECORDING_DUPLICATES, result.duplicates)
    by_source = {f"records_{s}": n for s, n in records.group_by("source").len().sort("source").iter_rows()}
    rules = {f"links_{r}": n for r, n in result.links.group_by("match_rule").len().sort("match_rule").iter_rows()}
    if result.review.height:
        context.log.info(f"{result.review.height} pairs of records wait for review in catalog.resolution_review")
    yield MaterializeResult(
        asset_key=CATALOG_GOLDEN_RECORDINGS,
        metadata={
            **table_metadata(result.golden),
            **by_source,
            "resolution_seconds": seconds,
            "multi_source": result.golden.filter(pl.col("members") > 1).height,
        },
    )
    yield MaterializeResult(asset_key=CATALOG_RECORDING_LINKS, metadata={**table_metadata(result.links), **rules})
    yield MaterializeResult(asset_key=CATALOG_RESOLUTION_REVIEW, metadata=table_metadata(result.review))
    yield MaterializeResult(asset_key=CATALOG_RECORDING_DUPLICATES, metadata=table_metadata(result.duplicates))


# ---- Rekordbox --------------------------------------------------------------------------------------------


@asset(
    key=CATALOG_REKORDBOX_EXPORT,
    deps=[audio_features, CATALOG_GOLDEN_RECORDINGS, CATALOG_RECORDING_LINKS],
    group_name="catalog",
    kinds={"xml"},
)
def rekordbox_export(
    context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource
) -> MaterializeResult:
    """One Rekordbox XML collection, `exports/rekordbox/backbeat.xml`: one TRACK per catalog track with audio and
    features (golden title, artist and album; DJ BPM; key), in the playlist "Backbeat catalog".

    Source: `catalog.tracks`, `catalog.audio_features`, `catalog.golden_recordings`. What a DJ did to the previous
    export is kept: cue points and loops, ratings, colours, comments, and the beat grid unless the BPM changed
    (`backbeat.catalog.rekordbox`). An unreadable previous file stops the export rather than lose its cues.
    """
    db = warehouse.client()
    frame = rekordbox_frame(
        db.read(TRACKS),
        db.read(ARTISTS),
        db.read(AUDIO_FEATURES),
        db.read(GOLDEN_RECORDINGS),
        db.read(RECORDING_LINKS),
        data_dir.inbox / "catalog",
    )
    path = data_dir.exports.joinpath(*REKORDBOX_FILE)
    report = export_rekordbox_xml(frame, path, playlists={REKORDBOX_PLAYLIST: frame["track_id"].to_list()})
    if report.unparsed_keys:
        context.log.warning(f"keys not understood for tracks {report.unparsed_keys[:10]}")
    return MaterializeResult(
        metadata={
            **table_metadata(frame.drop("location")),
            "path": MetadataValue.path(str(path)),
            "new_tracks": report.new_tracks,
            "kept_tracks": report.kept_tracks,
            "removed_tracks": report.removed_tracks,
            "kept_cues": report.kept_cues,
            "bpm_changed": report.bpm_changed,
        }
    )


@asset_check(asset=CATALOG_TRACKS, description="Track ids and ISRCs are unique.")
def tracks_have_unique_ids_and_isrcs(warehouse: WarehouseResource) -> AssetCheckResult:
    counts = (
        warehouse.client()
        .query(
            "SELECT count(*) AS n, count(DISTINCT track_id) AS ids, count(DISTINCT isrc) AS isrcs FROM catalog.tracks"
        )
        .row(0, named=True)
    )
    return AssetCheckResult(
        passed=counts["n"] == counts["ids"] == counts["isrcs"],
        metadata={"rows": counts["n"], "distinct_ids": counts["ids"], "distinct_isrcs": counts["isrcs"]},
    )
