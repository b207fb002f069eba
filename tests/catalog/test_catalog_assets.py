"""The catalog's ingestion assets through Dagster, against local fakes of Spotify and MusicBrainz (real spotipy
and requests clients), on DuckDB and PostgreSQL: album queue → ingested/failed with reasons, quarantine, 429 and
5xx bursts survived, idempotent re-runs that fetch nothing twice, golden records with provenance, a review pair
and a duplicate, incremental audio features, and a Rekordbox export that keeps a DJ's cue point."""

import json
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import soundfile as sf
from click.testing import CliRunner
from dagster import (
    AssetKey,
    DagsterInstance,
    Definitions,
    RunConfig,
    SensorResult,
    build_sensor_context,
    materialize,
)

import assets.catalog as catalog_package
from assets.catalog.assets import (
    AudioFeaturesConfig,
    SpotifyIngestConfig,
    album_queue,
    spotify_recordings,
)
from assets.catalog.checks import CATALOG_CHECKS
from assets.catalog.jobs import catalog_ingest_job
from assets.catalog.sensors import album_queue_sensor
from assets.common.keys import (
    CATALOG_ALBUM_QUEUE,
    CATALOG_AUDIO_FEATURES,
    CATALOG_REKORDBOX_EXPORT,
    CATALOG_SPOTIFY_RECORDINGS,
)
from assets.common.paths import DataDirResource
from backbeat.catalog.dj import Key, genre_bpm_range
from backbeat.catalog.queue import AlbumRefError, parse_album_ref, read_request_file
from backbeat.catalog.tables import ALBUM_QUEUE
from backbeat.commands.catalog import catalog as catalog_cli
from backbeat.demo.standins import FakeCatalog, FakeMusicBrainz, FakeSpotify, FakeTrack, FaultPlan
from backbeat.settings import Settings
from integrations.musicbrainz import MusicBrainzResource
from integrations.spotify import SpotifyResource
from integrations.warehouse import Warehouse, WarehouseResource
from orchestration.resources import build_resources

ALBUM_ID = "4aawyAB9vmqN3uQ7FjRGTy"
UNKNOWN_ALBUM = "0000000000000000000000"
SR = 22050


# ---- references and request files (no Dagster) ----------------------------------------------------------


@pytest.mark.parametrize(
    "ref",
    [
        f"spotify:album:{ALBUM_ID}",
        f"https://open.spotify.com/album/{ALBUM_ID}?si=1a2b3c",
        f"https://open.spotify.com/intl-de/album/{ALBUM_ID}",
        f"open.spotify.com/album/{ALBUM_ID}/",
        ALBUM_ID,
        f"  <spotify:album:{ALBUM_ID}>  ",
    ],
)
def test_album_references_in_every_accepted_form(ref: str) -> None:
    assert parse_album_ref(ref) == ALBUM_ID


@pytest.mark.parametrize(
    ("ref", "why"),
    [
        (f"spotify:track:{ALBUM_ID}", "a Spotify track, not an album"),
        (f"https://open.spotify.com/playlist/{ALBUM_ID}", "not an album"),
        (f"https://example.com/album/{ALBUM_ID}", "not an open.spotify.com link"),
        ("4aawyAB9vmqN3uQ7FjRGT", "not a Spotify id"),
        ("4aawyAB9vmqN3uQ7FjRG-y", "not a Spotify id"),
    ],
)
def test_bad_references_say_why(ref: str, why: str) -> None:
    with pytest.raises(AlbumRefError, match=why):
        parse_album_ref(ref)


def test_request_files_name_file_and_line_of_bad_lines(tmp_path: Path) -> None:
    txt = tmp_path / "a.txt"
    txt.write_text(f"# comment\n\nspotify:album:{ALBUM_ID}  # why\nnot an album\n")
    requests, rejects = read_request_file(txt, "a.txt")
    assert [(r.album_id, r.line) for r in requests] == [(ALBUM_ID, 3)]
    assert [(r.source_file, r.row_number, r.value) for r in rejects] == [("a.txt", 4, "not an album")]
    headerless = tmp_path / "b.csv"
    headerless.write_text(f"{ALBUM_ID}\n")
    assert [r.line for r in read_request_file(headerless, "b.csv")[0]] == [1]
    no_column = tmp_path / "c.csv"
    no_column.write_text(f"name,id\nx,{ALBUM_ID}\n")
    requests, rejects = read_request_file(no_column, "c.csv")
    assert not requests and rejects[0].row_number is None and "no album column" in rejects[0].reason


def test_cli_add_appends_atomically_and_refuses_bad_references(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(catalog_cli, ["--data-dir", str(tmp_path), "add", ALBUM_ID, "spotify:track:x"])
    assert bad.exit_code != 0 and "nothing queued" in bad.output
    path = tmp_path / "inbox" / "catalog" / "album_requests" / "cli.txt"
    assert not path.exists()
    refs = tmp_path / "refs.txt"
    refs.write_text(f"# from the label\nhttps://open.spotify.com/album/{UNKNOWN_ALBUM}?si=x\n")
    ok = runner.invoke(catalog_cli, ["--data-dir", str(tmp_path), "add", ALBUM_ID, "--file", str(refs)])
    assert ok.exit_code == 0, ok.output
    again = runner.invoke(catalog_cli, ["--data-dir", str(tmp_path), "add", f"spotify:album:{ALBUM_ID}"])
    assert "0 albums requested" in again.output and "1 were already requested" in again.output
    requests, rejects = read_request_file(path, "cli.txt")
    assert [r.album_id for r in requests] == [ALBUM_ID, UNKNOWN_ALBUM] and not rejects
    assert sorted(p.name for p in path.parent.iterdir()) == [".lock", "cli.txt"]  # no temporary file left


# ---- the scenario: a fake Spotify/MusicBrainz catalog and a file catalog that overlaps it ------------------


@dataclass(frozen=True)
class Story:
    """The fakes' catalog and the roles its albums and tracks play in the tests."""

    catalog: FakeCatalog
    albums: list[str]  # [0] malformed, [1]-[4] fine, [5] requested later through the CLI
    isrc_track: FakeTrack  # shares its ISRC with file track TRK0001
    review_track: FakeTrack  # no ISRC at Spotify; file track TRK0002 has its name but a 6 s longer duration
    duplicate_isrc: str  # on two Spotify tracks (an album and a compilation)


@pytest.fixture(scope="module")
def story() -> Story:
    catalog = FakeCatalog.generate(6, seed=21, tracks_per_album=(3, 4), musicbrainz_share=1.0, iswc_share=1.0)
    albums = catalog.album_ids
    first = catalog.tracks[catalog.albums[albums[1]].track_ids[0]]
    repeat = catalog.tracks[catalog.albums[albums[2]].track_ids[-1]]
    catalog.by_isrc.pop(repeat.isrc, None)
    repeat.isrc = first.isrc
    return Story(
        catalog,
        albums,
        isrc_track=catalog.tracks[catalog.albums[albums[1]].track_ids[1]],
        review_track=catalog.tracks[catalog.albums[albums[3]].track_ids[0]],
        duplicate_isrc=first.isrc,
    )


def _write_audio(path: Path, bpm: float, seconds: float = 6.0, tonic_hz: float = 220.0) -> None:
    """Clicks at `bpm` over a minor triad: a clear tempo and key in a few seconds."""
    t = np.arange(int(seconds * SR)) / SR
    chord = sum(np.sin(2 * np.pi * tonic_hz * r * t) for r in (1.0, 1.189, 1.498)) / 6
    clicks = (np.mod(t, 60.0 / bpm) < 0.03) * np.sin(2 * np.pi * 1000 * t) * 0.6
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, (chord + clicks).astype(np.float32), SR)


def _csv(path: Path, header: str, rows: list[tuple]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "\n" + "".join(",".join(str(v) for v in row) + "\n" for row in rows))


def write_inbox(data_dir: Path, story: Story) -> None:
    cat = story.catalog
    catalog_dir = data_dir / "inbox" / "catalog"
    a1 = cat.artists[story.isrc_track.artist_ids[0]].name
    a2 = cat.artists[story.review_track.artist_ids[0]].name
    _csv(
        catalog_dir / "artists.csv",
        "artist_id,name,country",
        [("ART001", a1, "NL"), ("ART002", a2, "GB"), ("ART003", "Lantern Local", "DE")],
    )
    header = "track_id,isrc,title,artist_id,album,release_date,duration_ms,genre,explicit,popularity,work_id,audio_path"
    _csv(
        catalog_dir / "tracks.csv",
        header,
        [
            (
                "TRK0001",
                story.isrc_track.isrc,
                f"{story.isrc_track.name} (Remastered 2011)",
                "ART001",
                "Label Album",
                "2011-05-01",
                story.isrc_track.duration_ms,
                "house",
                "false",
                40,
                "WRK0001",
                "audio/TRK0001.wav",
            ),
            (
                "TRK0002",
                "NLBB12600002",
                story.review_track.name,
                "ART002",
                "Other Album",
                "2020-01-01",
                story.review_track.duration_ms + 6000,
                "pop",
                "false",
                30,
                "WRK0002",
                "audio/TRK0002.wav",
            ),
            (
                "TRK0003",
                "NLBB12600003",
                "Kitchen Demo",
                "ART003",
                "",
                "2021-02-02",
                150000,
                "folk",
                "false",
                10,
                "",
                "",
            ),
        ],
    )
    _write_audio(catalog_dir / "audio" / "TRK0001.wav", 124.0)
    _write_audio(catalog_dir / "audio" / "TRK0002.wav", 100.0, tonic_hz=196.0)
    requests = catalog_dir / "album_requests"
    requests.mkdir(parents=True, exist_ok=True)
    a = story.albums
    (requests / "batch1.txt").write_text(
        f"# first batch\nspotify:album:{a[0]}\nhttps://open.spotify.com/album/{a[1]}?si=abc123\n{a[2]}  # bare\n"
        f"spotify:album:{UNKNOWN_ALBUM}\nthis is not an album\n"
    )
    (requests / "batch2.csv").write_text(
        f"album_url,requested_by\nhttps://open.spotify.com/intl-de/album/{a[3]},ops\n{a[4]},ops\n"
        f"https://open.spotify.com/album/{a[1]},ops\nspotify:playlist:37i9dQZF1DXcBWIGoYBM5M,ops\n"
    )


@dataclass
class Rig:
    data_dir: Path
    url: str
    spotify: FakeSpotify
    musicbrainz: FakeMusicBrainz
    plan: FaultPlan
    resources: dict[str, object]
    instance: DagsterInstance

    @property
    def db(self) -> Warehouse:
        return Warehouse(self.url)

    def materialize(self, selection: list[AssetKey] | None = None, run_config: RunConfig | None = None):
        defs = catalog_package.defs
        result = materialize(
            [*defs.assets, *CATALOG_CHECKS],
            resources=self.resources,
            instance=self.instance,
            selection=selection,
            run_config=run_config,
        )
        assert result.success
        return result


def metadata(result, key: AssetKey) -> dict[str, object]:
    events = [e for e in result.get_asset_materialization_events() if e.asset_key == key]
    assert len(events) == 1, key
    return {k: v.value for k, v in events[0].materialization.metadata.items()}


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    return request.getfixturevalue("postgres_server").create_database("catalog_assets")


def spotify_resource(server: FakeSpotify, max_attempts: int = 4) -> SpotifyResource:
    return SpotifyResource(
        client_id=server.client_id,
        client_secret=server.client_secret,
        api_url=server.api_url,
        token_url=server.token_url,
        requests_per_second=500.0,
        max_attempts=max_attempts,
    )


def _rig(
    story: Story,
    tmp_path: Path,
    url: str,
    plan: FaultPlan,
    spotify: FakeSpotify,
    musicbrainz: FakeMusicBrainz,
    instance: DagsterInstance,
) -> Rig:
    data_dir = tmp_path / "data"
    write_inbox(data_dir, story)
    resources = {
        "warehouse": WarehouseResource(url=url),
        "data_dir": DataDirResource(data_dir=str(data_dir)),
        "spotify": spotify_resource(spotify),
        "musicbrainz": MusicBrainzResource(
            contact="tests@backbeat.example", base_url=musicbrainz.api_url, requests_per_second=500.0
        ),
    }
    return Rig(data_dir, url, spotify, musicbrainz, plan, resources, instance)


@pytest.fixture
def rig(story: Story, tmp_path: Path, warehouse_url: str) -> Iterator[Rig]:
    plan = FaultPlan()
    client_id = f"catalog-test-{uuid.uuid4().hex[:8]}"  # a fresh credential: its own process-wide rate bucket
    with (
        FakeSpotify(story.catalog, plan, client_id=client_id) as spotify,
        FakeMusicBrainz(story.catalog, min_interval=0) as musicbrainz,
        DagsterInstance.ephemeral() as instance,
    ):
        yield _rig(story, tmp_path, warehouse_url, plan, spotify, musicbrainz, instance)


def queue_of(db: Warehouse) -> dict[str, dict]:
    return {r["album_id"]: r for r in db.read(ALBUM_QUEUE).iter_rows(named=True)}


def test_albums_flow_from_requests_to_golden_records_and_rekordbox(rig: Rig, story: Story) -> None:
    cat, a = story.catalog, story.albums
    rig.plan.corrupt(a[0], "total_tracks", "many")
    rig.plan.corrupt(story.review_track.id, "external_ids.isrc")  # Spotify gives this recording no ISRC
    rig.plan.fail_next("albums", 1, 429, retry_after=0)
    rig.plan.fail_next("tracks", 2, 503)

    first = rig.materialize()
    db = rig.db

    # -- the queue: ingested, or failed with a reason; bad request lines quarantined with file and line
    queue = queue_of(db)
    assert set(queue) == {*a[:5], UNKNOWN_ALBUM}
    assert {i for i, r in queue.items() if r["status"] == "ingested"} == set(a[1:5])
    assert queue[a[0]]["status"] == "failed" and "malformed payload" in queue[a[0]]["reason"]
    assert "total_tracks" in queue[a[0]]["reason"]
    assert queue[UNKNOWN_ALBUM]["status"] == "failed" and queue[UNKNOWN_ALBUM]["reason"] == "not found at Spotify"
    assert all(r["attempts"] == 1 for r in queue.values())
    assert queue[a[1]]["requested_in"] == "catalog/album_requests/batch1.txt:3"
    rejected = db.query(
        "SELECT asset, source_file, row_number, field, value, reason FROM quarantine.rejected_rows "
        "ORDER BY asset, source_file"
    )
    lines = rejected.filter(pl.col("asset") == "catalog/album_queue")
    assert lines.select("source_file", "row_number").rows() == [
        ("catalog/album_requests/batch1.txt", 6),
        ("catalog/album_requests/batch2.csv", 5),
    ]
    payloads = rejected.filter(pl.col("asset") == "catalog/spotify_recordings")
    assert payloads.select("source_file", "field").rows() == [(f"spotify:album:{a[0]}", "total_tracks")]
    assert "'many'" in payloads["value"].item() and a[0] in payloads["reason"].item()

    # -- bursts survived: one 429 and two 503s, each retried by the client
    assert rig.spotify.count("albums", 429) == 1 and rig.spotify.count("tracks", 503) == 2
    spotify_meta = metadata(first, CATALOG_SPOTIFY_RECORDINGS)
    assert spotify_meta["ingested"] == 4 and spotify_meta["failed"] == 2 and spotify_meta["quarantined"] == 1

    # -- Spotify rows carry what the service said
    rows = db.query("SELECT * FROM catalog.source_recordings WHERE source = 'spotify'")
    expected_tracks = [t for i in a[1:5] for t in cat.albums[i].track_ids]
    assert sorted(rows["source_id"].to_list()) == sorted(expected_tracks)
    row = rows.filter(pl.col("source_id") == story.isrc_track.id).row(0, named=True)
    truth = story.isrc_track
    artist = cat.artists[truth.artist_ids[0]]
    assert (row["isrc"], row["duration_ms"], row["explicit"], row["popularity"], row["album_id"]) == (
        truth.isrc,
        truth.duration_ms,
        truth.explicit,
        truth.popularity,
        a[1],
    )
    assert row["genre"] == (artist.genres[0] if artist.genres else None)
    assert row["withheld"] is None and spotify_meta["batch_reads_refused"] == []  # extended access: all given
    assert rows.filter(pl.col("source_id") == story.review_track.id)["isrc"].item() is None

    # -- MusicBrainz: recordings with ISWCs; misses remembered
    mb = db.query("SELECT source_id, isrc, iswc FROM catalog.source_recordings WHERE source = 'musicbrainz'")
    assert mb.filter(pl.col("isrc") == truth.isrc).row(0) == (truth.recording_mbid, truth.isrc, truth.iswc)
    lookups = dict(db.query("SELECT isrc, status FROM catalog.musicbrainz_lookups").rows())
    assert lookups["NLBB12600002"] == "not_found" and lookups[truth.isrc] == "found"

    # -- golden records: ISRC merge with per-field provenance, a review pair, a duplicate
    golden = db.query("SELECT * FROM catalog.golden_recordings WHERE isrc = ?", [truth.isrc]).row(0, named=True)
    assert golden["members"] == 3 and golden["title"] == f"{truth.name} (Remastered 2011)"
    assert golden["title_source"] == "file:TRK0001" and golden["isrc_source"] == "file:TRK0001"
    assert golden["iswc"] == truth.iswc and golden["iswc_source"] == f"musicbrainz:{truth.recording_mbid}"
    links = db.query("SELECT source, source_id, golden_id, match_rule FROM catalog.recording_links")
    assert set(links.filter(pl.col("golden_id") == golden["golden_id"])["match_rule"]) == {"isrc"}
    review = db.query("SELECT left_key, right_key, reason FROM catalog.resolution_review").rows()
    pair = {"file:TRK0002", f"spotify:{story.review_track.id}"}
    assert any({left, right} == pair and "durations differ" in reason for left, right, reason in review)
    duplicates = db.query("SELECT golden_id, source, records FROM catalog.recording_duplicates").rows()
    assert (f"g-{story.duplicate_isrc}", "spotify", 2) in duplicates

    # -- audio features with provenance and DJ fields
    features = {r["track_id"]: r for r in db.query("SELECT * FROM catalog.audio_features").iter_rows(named=True)}
    assert set(features) == {"TRK0001", "TRK0002"}
    trk1 = features["TRK0001"]
    low, high = genre_bpm_range("house")
    assert trk1["tempo_bpm"] and low <= trk1["dj_bpm"] <= high
    assert trk1["provenance"].startswith("librosa-") and "middle" in trk1["provenance"]
    assert trk1["camelot_key"] == Key.parse(trk1["musical_key"]).camelot
    assert metadata(first, CATALOG_AUDIO_FEATURES)["computed"] == 2

    # -- checks
    checks = {e.check_name: e.passed for e in first.get_asset_check_evaluations()}
    assert checks and all(checks.values()), checks

    # -- a DJ sets a cue point in Rekordbox; an admin requests one more album through the CLI
    xml_path = rig.data_dir / "exports" / "rekordbox" / "backbeat.xml"
    tree = ET.parse(xml_path)
    track = next(t for t in tree.getroot().iter("TRACK") if t.get("Location", "").endswith("TRK0001.wav"))
    assert track.get("Name") == golden["title"]
    ET.SubElement(track, "POSITION_MARK", Name="drop", Type="0", Start="3.000", Num="0")
    tree.write(xml_path, encoding="UTF-8", xml_declaration=True)
    cli = CliRunner().invoke(catalog_cli, ["--data-dir", str(rig.data_dir), "add", f"spotify:album:{a[5]}", a[1]])
    assert cli.exit_code == 0, cli.output

    rig.plan.clear()
    before_spotify, before_mb = rig.spotify.counts(), rig.musicbrainz.count("isrc")
    recordings_before = db.scalar("SELECT count(*) FROM catalog.source_recordings")
    quarantine_before = db.scalar("SELECT count(*) FROM quarantine.rejected_rows")
    second = rig.materialize()

    # -- re-run: only the new album is fetched; nothing is stored twice; ingested albums keep their state
    after = rig.spotify.counts()
    assert after["albums"] - before_spotify["albums"] == 1
    assert after["tracks"] - before_spotify["tracks"] == 1
    queue2 = queue_of(db)
    assert queue2[a[5]]["status"] == "ingested" and queue2[a[5]]["requested_in"].startswith(
        "catalog/album_requests/cli.txt:"
    )
    assert queue2[a[1]] == queue[a[1]] and queue2[a[0]] == queue[a[0]]
    new_tracks = cat.albums[a[5]].track_ids
    assert rig.musicbrainz.count("isrc") - before_mb == len({cat.tracks[t].isrc for t in new_tracks})
    counts = db.query(
        "SELECT count(*) AS n, count(DISTINCT source || ':' || source_id) AS keys FROM catalog.source_recordings"
    ).row(0)
    assert counts[0] == counts[1] == recordings_before + 2 * len(new_tracks)
    assert db.scalar("SELECT count(*) FROM quarantine.rejected_rows") == quarantine_before
    reanalysed = metadata(second, CATALOG_AUDIO_FEATURES)
    assert (reanalysed["computed"], reanalysed["reused"]) == (0, 2)
    rekordbox = metadata(second, CATALOG_REKORDBOX_EXPORT)
    assert rekordbox["kept_cues"] == 1 and rekordbox["kept_tracks"] == 2
    kept = next(t for t in ET.parse(xml_path).getroot().iter("TRACK") if t.get("Location", "").endswith("TRK0001.wav"))
    assert [(m.get("Name"), m.get("Start")) for m in kept.iter("POSITION_MARK")] == [("drop", "3.000")]

    # -- changed audio is analysed again, unchanged audio is not
    _write_audio(rig.data_dir / "inbox" / "catalog" / "audio" / "TRK0002.wav", 90.0, tonic_hz=196.0)
    third = rig.materialize(selection=[CATALOG_AUDIO_FEATURES])
    assert (metadata(third, CATALOG_AUDIO_FEATURES)["computed"], metadata(third, CATALOG_AUDIO_FEATURES)["reused"]) == (
        1,
        1,
    )


def test_transient_failures_keep_albums_queued_then_fail_them(story: Story, tmp_path: Path) -> None:
    plan = FaultPlan()
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    client_id = f"catalog-test-{uuid.uuid4().hex[:8]}"
    with (
        FakeSpotify(story.catalog, plan, client_id=client_id) as spotify,
        FakeMusicBrainz(story.catalog, min_interval=0) as musicbrainz,
        DagsterInstance.ephemeral() as instance,
    ):
        rig = _rig(story, tmp_path, url, plan, spotify, musicbrainz, instance)
        config = RunConfig(ops={"catalog__spotify_recordings": SpotifyIngestConfig(max_attempts=2, batch_size=2)})
        unconfigured = {**rig.resources, "spotify": SpotifyResource(client_id="", client_secret="")}
        skipped = materialize(
            [album_queue, spotify_recordings], resources=unconfigured, instance=instance, run_config=config
        )
        assert metadata(skipped, CATALOG_SPOTIFY_RECORDINGS)["skipped"] == "Spotify credentials are not configured"
        assert {r["attempts"] for r in queue_of(rig.db).values()} == {0} and spotify.count() == 0

        rig.resources["spotify"] = spotify_resource(spotify, max_attempts=2)
        plan.fail_next("albums", 4, 500)
        assert materialize(
            [album_queue, spotify_recordings], resources=rig.resources, instance=instance, run_config=config
        ).success
        tried = [r for r in queue_of(rig.db).values() if r["attempts"] == 1]
        assert len(tried) == 2 and {r["status"] for r in tried} == {"queued"}
        assert all(r["reason"].startswith("attempt 1 failed: Transient") for r in tried)
        assert materialize(
            [album_queue, spotify_recordings], resources=rig.resources, instance=instance, run_config=config
        ).success
        assert spotify.count("albums", 500) == 4
        oldest = [r for r in queue_of(rig.db).values() if r["attempts"] == 2]
        assert sorted(r["album_id"] for r in oldest) == sorted(r["album_id"] for r in tried)  # the same, first
        assert {r["status"] for r in oldest} == {"failed"}
        assert all("Transient" in r["reason"] and "gave up after 2 attempts" in r["reason"] for r in oldest)
        waiting = [r for r in queue_of(rig.db).values() if r["attempts"] == 0]
        assert waiting and {r["status"] for r in waiting} == {"queued"}


def test_without_extended_access_albums_are_read_one_by_one_and_nulls_say_why(story: Story, tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    client_id = f"catalog-test-{uuid.uuid4().hex[:8]}"
    with (
        FakeSpotify(story.catalog, FaultPlan(), client_id=client_id, extended_access=False) as spotify,
        FakeMusicBrainz(story.catalog, min_interval=0) as musicbrainz,
        DagsterInstance.ephemeral() as instance,
    ):
        rig = _rig(story, tmp_path, url, FaultPlan(), spotify, musicbrainz, instance)
        result = materialize([album_queue, spotify_recordings], resources=rig.resources, instance=instance)
        assert result.success
        meta = metadata(result, CATALOG_SPOTIFY_RECORDINGS)
        assert meta["batch_reads_refused"] == ["albums", "artists", "tracks"]
        assert spotify.count("albums", 403) >= 1 and spotify.count("album", 200) == 5  # a[0]..a[4], a[0] is fine
        queue = queue_of(rig.db)
        assert {i for i, r in queue.items() if r["status"] == "ingested"} == set(story.albums[:5])
        assert queue[UNKNOWN_ALBUM]["reason"] == "not found at Spotify"  # a 404 on the single read

        rows = rig.db.query("SELECT * FROM catalog.source_recordings WHERE source = 'spotify'")
        truth = story.isrc_track
        row = rows.filter(pl.col("source_id") == truth.id).row(0, named=True)
        assert (row["isrc"], row["duration_ms"], row["popularity"], row["genre"]) == (
            truth.isrc,
            truth.duration_ms,
            None,
            None,
        )
        assert row["withheld"] == "popularity, genre: not provided by Spotify (extended access required)"
        assert rows["popularity"].null_count() == rows.height == meta["rows_with_withheld_fields"]
        albums = rig.db.query("SELECT label, withheld FROM catalog.source_albums")
        assert albums.height == 5 and albums["label"].null_count() == 5
        assert set(albums["withheld"]) == {"label: not provided by Spotify (extended access required)"}
        artists = rig.db.query("SELECT genres, popularity, withheld FROM catalog.source_artists")
        assert (
            artists.height > 0
            and artists["genres"].null_count() == artists["popularity"].null_count() == artists.height
        )
        assert set(artists["withheld"]) == {"genres, popularity: not provided by Spotify (extended access required)"}


# ---- automation and wiring ------------------------------------------------------------------------------


def test_sensor_runs_the_ingest_job_while_albums_are_queued(tmp_path: Path, story: Story) -> None:
    data_dir = tmp_path / "data"
    write_inbox(data_dir, story)
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    resources = {"warehouse": WarehouseResource(url=url), "data_dir": DataDirResource(data_dir=str(data_dir))}
    with DagsterInstance.ephemeral() as instance:

        def tick(cursor: str | None) -> SensorResult:
            with build_sensor_context(instance=instance, resources=resources, cursor=cursor) as context:
                return album_queue_sensor(context)

        first = tick(None)  # new request files, nothing queued yet: one run to read them
        assert len(first.run_requests) == 1 and first.cursor
        assert tick(first.cursor).skip_reason is not None  # same files, empty queue, no ISRCs: nothing to do
        db = Warehouse(url)
        db.replace(
            ALBUM_QUEUE,
            ALBUM_QUEUE.from_rows(
                [
                    {
                        "album_id": ALBUM_ID,
                        "source": "spotify",
                        "status": "queued",
                        "reason": None,
                        "attempts": 0,
                        "requested_in": "cli",
                        "requested_at": None,
                        "updated_at": None,
                    }
                ]
            ),
        )
        queued = tick(first.cursor)
        assert queued.run_requests[0].tags["backbeat/queued_albums"] == "1"
        assert tick(first.cursor).run_requests[0].run_key == queued.run_requests[0].run_key  # same state, same key
        assert json.loads(queued.cursor) == json.loads(first.cursor)


def test_definitions_load_without_service_credentials(tmp_path: Path) -> None:
    settings = Settings.from_env({"BACKBEAT_DATA_DIR": str(tmp_path)})
    resources = build_resources(settings, environ={})
    assert resources["spotify"].client_id == "" and resources["musicbrainz"].contact == ""
    defs = Definitions.merge(
        catalog_package.defs, Definitions(jobs=[catalog_ingest_job], sensors=[album_queue_sensor], resources=resources)
    )
    job = defs.resolve_job_def("catalog_ingest_job")
    assert {CATALOG_ALBUM_QUEUE, CATALOG_SPOTIFY_RECORDINGS} <= set(job.asset_layer.executable_asset_keys)
    configured = build_resources(
        settings,
        environ={"SPOTIFY_CLIENT_ID": "x", "SPOTIFY_CLIENT_SECRET": "y", "MUSICBRAINZ_CONTACT": "ops@example.com"},
    )
    assert "SPOTIFY_CLIENT_ID" in repr(configured["spotify"])  # an EnvVar: resolved when a run starts
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.group_name == "catalog" and node.description and len(node.description) > 20, key
    assert AudioFeaturesConfig().excerpt_s > 0
