"""The demo data generator: determinism, file layout, audio/ground-truth consistency and planted problems.

Everything runs at a small size (2 x 10 minutes of radio, 12 tracks of which 6 have audio). The checks of
identifiers and of the planted problems are written independently of the generator's own helpers.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr
from scipy import signal

from backbeat.demo import DemoManifest, generate_demo
from backbeat.identifiers import iswc_problem
from integrations.radio.gaps import GAPS_FOLDER, Gap, read_gaps

SMALL = {"minutes_per_station": 10, "n_artists": 8, "n_tracks": 12, "tracks_with_audio": 6}
DAY = date(2026, 11, 2)
BLOCK_STARTS = {
    "radio-north": datetime(2026, 11, 2, 6, tzinfo=UTC),
    "radio-south": datetime(2026, 11, 2, 14, tzinfo=UTC),
}
CHUNK_RE = re.compile(r"^(radio-north|radio-south)_(\d{8}T\d{6}Z)\.(flac|ogg|wav)$")
UTC_MS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
STREAM_SR = 16_000


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoManifest:
    return generate_demo(tmp_path_factory.mktemp("demo_a"), **SMALL)


@pytest.fixture(scope="module")
def demo_again(tmp_path_factory: pytest.TempPathFactory) -> DemoManifest:
    return generate_demo(tmp_path_factory.mktemp("demo_b"), **SMALL)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def parse_utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def chunks_by_station(landing: Path) -> dict[str, list[tuple[datetime, Path]]]:
    found: dict[str, list[tuple[datetime, Path]]] = defaultdict(list)
    for path in landing.iterdir():
        if path.name == GAPS_FOLDER and path.is_dir():  # the recorder's gap log, not a chunk
            continue
        match = CHUNK_RE.match(path.name)
        assert match, f"unexpected file in landing: {path.name}"
        start = datetime.strptime(match.group(2), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        found[match.group(1)].append((start, path))
    return {station: sorted(items) for station, items in found.items()}


def test_csv_and_json_are_byte_identical_across_runs(demo: DemoManifest, demo_again: DemoManifest) -> None:
    def listing(root: Path) -> dict[str, Path]:
        return {str(p.relative_to(root)): p for p in root.rglob("*") if p.is_file()}

    first, second = listing(demo.data_dir), listing(demo_again.data_dir)
    assert first.keys() == second.keys()
    text_files = [name for name in first if name.endswith((".csv", ".json"))]
    assert len(text_files) >= 10
    for name in text_files:
        assert first[name].read_bytes() == second[name].read_bytes(), name


def test_another_seed_gives_another_catalog(demo: DemoManifest, tmp_path: Path) -> None:
    other = generate_demo(tmp_path, seed=8, **{**SMALL, "minutes_per_station": 1})
    assert other.paths["tracks"].read_bytes() != demo.paths["tracks"].read_bytes()


def test_manifest_counts_match_the_files(demo: DemoManifest) -> None:
    assert demo.stations == ("radio-north", "radio-south")
    assert (demo.day, demo.tracks, demo.tracks_with_audio) == (DAY, 12, 6)
    assert demo.chunks == 2 * 20 == len([p for p in demo.paths["landing_dir"].iterdir() if p.is_file()])
    assert demo.audio_seconds == 2 * 10 * 60
    assert demo.ground_truth_plays == len(read_csv(demo.paths["ground_truth"]))
    for key, path in demo.paths.items():
        assert path.exists(), key
    assert demo.paths["ground_truth"] == demo.data_dir / "demo" / "ground_truth_plays.csv"


def test_chunks_are_30_seconds_contiguous_and_correctly_named(demo: DemoManifest) -> None:
    chunks = chunks_by_station(demo.paths["landing_dir"])
    assert set(chunks) == {"radio-north", "radio-south"}
    for station, items in chunks.items():
        starts = [start for start, _ in items]
        assert starts == [BLOCK_STARTS[station] + timedelta(seconds=30 * i) for i in range(20)]
        for index, (_, path) in enumerate(items):
            info = sf.info(path)
            assert (info.samplerate, info.channels, info.frames) == (STREAM_SR, 1, 30 * STREAM_SR), path.name
            expected = "wav" if (index + 1) % 11 == 0 else "ogg" if (index + 1) % 7 == 0 else "flac"
            assert path.suffix == f".{expected}", path.name
        assert {path.suffix for _, path in items} == {".flac", ".ogg", ".wav"}


def test_ground_truth_plays_lie_inside_the_block_and_name_tracks_with_audio(demo: DemoManifest) -> None:
    tracks = {row["track_id"]: row for row in read_csv(demo.paths["tracks"])}
    plays = read_csv(demo.paths["ground_truth"])
    per_station: dict[str, int] = defaultdict(int)
    for play in plays:
        assert UTC_MS_RE.match(play["start_utc"]) and UTC_MS_RE.match(play["end_utc"]), play
        start, end = parse_utc(play["start_utc"]), parse_utc(play["end_utc"])
        block_start = BLOCK_STARTS[play["station_id"]]
        assert block_start + timedelta(seconds=5) <= start < end <= block_start + timedelta(minutes=10), play
        track = tracks[play["track_id"]]
        assert track["audio_path"], f"{play['track_id']} has no audio but was played"
        assert 45_000 <= (end - start) / timedelta(milliseconds=1) <= int(track["duration_ms"])
        per_station[play["station_id"]] += 1
    assert min(per_station.values()) >= 3 and set(per_station) == {"radio-north", "radio-south"}


def test_ground_truth_audio_is_really_in_the_chunks(demo: DemoManifest) -> None:
    """In the middle of every play, two seconds of the chunk match the track's own audio."""
    tracks = {row["track_id"]: row for row in read_csv(demo.paths["tracks"])}
    chunks = {
        (station, start): path
        for station, items in chunks_by_station(demo.paths["landing_dir"]).items()
        for start, path in items
    }
    references: dict[str, np.ndarray] = {}
    for play in read_csv(demo.paths["ground_truth"]):
        if play["track_id"] not in references:
            audio, sr = sf.read(demo.paths["tracks"].parent / tracks[play["track_id"]]["audio_path"], dtype="float32")
            references[play["track_id"]] = soxr.resample(audio, sr, STREAM_SR)
        reference = references[play["track_id"]]
        start, end = parse_utc(play["start_utc"]), parse_utc(play["end_utc"])
        block_start = BLOCK_STARTS[play["station_id"]]
        middle_s = ((start + (end - start) / 2) - block_start).total_seconds()
        chunk_index = min(int(middle_s // 30), 19)
        chunk, _ = sf.read(
            chunks[(play["station_id"], block_start + timedelta(seconds=30 * chunk_index))], dtype="float32"
        )
        at = int(np.clip(middle_s - 30 * chunk_index - 1, 0, 28) * STREAM_SR)
        snippet = chunk[at : at + 2 * STREAM_SR]
        assert normalised_peak_correlation(reference, snippet) > 0.9, play

    # and talk is not mistaken for a track: the first five seconds of a block never are music
    north = chunks[("radio-north", BLOCK_STARTS["radio-north"])]
    lead_in, _ = sf.read(north, dtype="float32", frames=4 * STREAM_SR)
    talk = lead_in[STREAM_SR : 3 * STREAM_SR]
    assert max(normalised_peak_correlation(reference, talk) for reference in references.values()) < 0.3


def normalised_peak_correlation(reference: np.ndarray, snippet: np.ndarray) -> float:
    """Largest Pearson-like correlation of `snippet` against any same-length window of `reference`."""
    dots = signal.correlate(reference, snippet, mode="valid", method="fft")
    energy = np.cumsum(np.concatenate([[0.0], reference.astype(np.float64) ** 2]))
    window_energy = energy[snippet.size :] - energy[: -snippet.size]
    norms = np.sqrt(np.maximum(window_energy, 1e-12)) * np.linalg.norm(snippet)
    return float(np.max(dots / norms))


def test_duration_ms_matches_the_audio_files(demo: DemoManifest) -> None:
    rows = read_csv(demo.paths["tracks"])
    with_audio = [row for row in rows if row["audio_path"]]
    assert len(with_audio) == 6
    for row in rows:
        assert 60_000 <= int(row["duration_ms"]) <= 180_000
    for row in with_audio:
        assert re.fullmatch(rf"audio/{row['track_id']}\.(ogg|flac|wav)", row["audio_path"])
        info = sf.info(demo.paths["tracks"].parent / row["audio_path"])
        assert abs(info.frames / info.samplerate * 1000 - int(row["duration_ms"])) <= 1, row["track_id"]
    assert {Path(row["audio_path"]).suffix for row in with_audio} == {".ogg", ".flac", ".wav"}
    assert sorted(p.name for p in demo.paths["audio_dir"].iterdir()) == sorted(
        Path(row["audio_path"]).name for row in with_audio
    )


def test_catalog_identifiers_and_fields(demo: DemoManifest) -> None:
    artists = read_csv(demo.paths["artists"])
    tracks = read_csv(demo.paths["tracks"])
    assert [a["artist_id"] for a in artists] == [f"ART{i:03d}" for i in range(1, 9)]
    assert [t["track_id"] for t in tracks] == [f"TRK{i:04d}" for i in range(1, 13)]
    artist_ids = {a["artist_id"] for a in artists}
    for track in tracks:
        assert track["artist_id"] in artist_ids
        assert re.fullmatch(r"WRK\d{4}", track["work_id"])
        assert date.fromisoformat(track["release_date"]) < DAY
        assert track["genre"] in {"ambient", "house", "pop", "jazz", "rock", "hip-hop"}
        assert track["explicit"] in {"true", "false"}
        assert 0 <= int(track["popularity"]) <= 100
    recordings_per_work: dict[str, int] = defaultdict(int)
    for track in tracks:
        recordings_per_work[track["work_id"]] += 1
    assert sorted(recordings_per_work.values(), reverse=True)[:3] == [2, 2, 1]


def test_isrcs_are_valid_and_unique(demo: DemoManifest) -> None:
    tracks = read_csv(demo.paths["tracks"])
    isrcs = [t["isrc"] for t in tracks]
    assert len(set(isrcs)) == len(isrcs)
    for track in tracks:
        assert re.fullmatch(r"[A-Z]{2}[A-Z0-9]{3}\d{7}", track["isrc"]), track["isrc"]
        assert track["isrc"][5:7] == track["release_date"][2:4]  # the year of reference


def iswc_is_valid(code: str) -> bool:
    match = re.fullmatch(r"T-(\d{3})\.(\d{3})\.(\d{3})-(\d)", code)
    if not match:
        return False
    digits = "".join(match.groups()[:3])
    weighted = 1 + sum(weight * int(d) for weight, d in enumerate(digits, start=1))
    return (10 - weighted % 10) % 10 == int(match.group(4))


def test_iswc_check_digits_are_valid(demo: DemoManifest) -> None:
    assert iswc_is_valid("T-034.524.680-1") and not iswc_is_valid("T-034.524.680-2")
    assert iswc_problem("T-034.524.680-1") is None and iswc_problem("T-034.524.680-2")
    iswc_by_work: dict[str, set[str]] = defaultdict(set)
    for sheet in demo.paths["split_sheets_dir"].glob("*.csv"):
        for row in read_csv(sheet):
            assert iswc_is_valid(row["iswc"]), row["iswc"]
            iswc_by_work[row["work_id"]].add(row["iswc"])
    assert all(len(codes) == 1 for codes in iswc_by_work.values())
    all_codes = [next(iter(codes)) for codes in iswc_by_work.values()]
    assert len(set(all_codes)) == len(all_codes)


def test_split_sheets_sum_to_100_per_pool_except_the_planted_problems(demo: DemoManifest) -> None:
    sheets = sorted(demo.paths["split_sheets_dir"].glob("*.csv"))
    assert 3 <= len(sheets) <= 4
    assert all(re.fullmatch(r"sheet_\d{2}_[a-z_]+\.csv", sheet.name) for sheet in sheets)
    pool = {"writer": "writer", "composer": "writer", "publisher": "publisher"}
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    parties: dict[str, list[str]] = defaultdict(list)
    works_of_party: dict[str, set[str]] = defaultdict(set)
    for sheet in sheets:
        for row in read_csv(sheet):
            assert re.fullmatch(r"\d{1,3}\.\d{2}", row["share_percent"]), row
            assert row["role"] in pool
            assert re.fullmatch(r"PTY\d{3}", row["party_id"]) and re.fullmatch(r"\d{11}", row["ipi"])
            totals[(row["work_id"], pool[row["role"]])] += Decimal(row["share_percent"])
            parties[row["work_id"]].append(row["party_id"])
            works_of_party[row["party_id"]].add(row["work_id"])
    assert all(2 <= len(members) <= 4 and len(set(members)) == len(members) for members in parties.values())
    off = {key: total for key, total in totals.items() if total != Decimal("100.00")}
    assert list(off.values()) == [Decimal("90.00")] and next(iter(off))[1] == "writer"  # the planted invalid work
    assert {work for work, group in totals if group == "publisher"} == set(parties)  # every work has a publisher
    catalog_works = {t["work_id"] for t in read_csv(demo.paths["tracks"])}
    sheet_works = {work for work, _ in totals}
    assert sheet_works <= catalog_works
    scanned = {p.name.split("_")[0] for p in demo.paths["split_sheets_dir"].glob("*.png")}
    assert len(scanned) == 1 and not scanned & sheet_works  # one work's sheet arrives as a scan only
    assert len(catalog_works - sheet_works - scanned) == 2  # the two works without any sheet
    assert max(len(works) for works in works_of_party.values()) >= 3  # a writer writes several songs


def test_contacts_have_exactly_the_four_planted_invalid_rows(demo: DemoManifest) -> None:
    rows = read_csv(demo.paths["contacts"])
    assert list(rows[0]) == ["email", "name", "company", "country", "consent"]
    assert 35 <= len(rows) <= 45
    seen: set[str] = set()
    problems: list[str] = []
    for row in rows:
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", row["email"]):
            problems.append("email")
        elif row["email"].casefold() in seen:
            problems.append("duplicate")
        elif not row["name"].strip():
            problems.append("name")
        elif row["consent"] not in {"yes", "no"}:
            problems.append("consent")
        seen.add(row["email"].casefold())
    assert sorted(problems) == ["consent", "duplicate", "email", "name"]


def test_stations_tariffs_and_policies(demo: DemoManifest) -> None:
    stations = read_csv(demo.paths["stations"])
    assert [s["station_id"] for s in stations] == ["radio-north", "radio-south"]
    for station in stations:
        assert station["stream_url"] == f"http://{station['station_id']}.example/stream/live.mp3"
        assert (station["active"], station["timezone"]) == ("true", "Europe/Amsterdam")
    assert demo.paths["tariffs"].read_text(encoding="utf-8") == (
        "station_id,currency,rate_per_second,effective_from\n"
        "radio-north,EUR,0.0125,2026-01-01\n"
        "radio-south,EUR,0.0080,2026-01-01\n"
        "radio-south,EUR,0.0100,2026-11-01\n"
    )
    playlists = json.loads(demo.paths["policies"].read_text(encoding="utf-8"))["playlists"]
    assert 2 <= len(playlists) <= 3
    assert playlists[0] == {
        "playlist_id": "focus-flow",
        "theme": "Focus",
        "size": 12,
        "repeat_gap_days": 2,
        "max_per_artist": 2,
        "max_per_album": 2,
        "filters": {"genres": ["ambient", "jazz"], "explicit": False, "min_popularity": 0},
    }


def test_the_recorder_logged_one_gap_right_after_radio_souths_last_chunk(demo: DemoManifest) -> None:
    landing = demo.paths["landing_dir"]
    assert sorted(p.name for p in (landing / GAPS_FOLDER).iterdir()) == ["radio-south.csv"]
    assert demo.paths["capture_gaps"] == landing / GAPS_FOLDER / "radio-south.csv"
    last_chunk_end = BLOCK_STARTS["radio-south"] + timedelta(seconds=30 * 20)
    assert read_gaps(landing, "radio-south") == [
        Gap(
            "radio-south",
            last_chunk_end,
            last_chunk_end + timedelta(seconds=15),
            "server closed the stream; then HTTP 503 (x4); then capture stopped before audio resumed",
            4,
        )
    ]
    assert read_gaps(landing, "radio-north") == []
    assert max(start for start, _ in chunks_by_station(landing)["radio-south"]) == last_chunk_end - timedelta(
        seconds=30
    )  # no chunk falls inside the gap


def test_rerun_with_fewer_minutes_leaves_no_stale_files(tmp_path: Path) -> None:
    small = {"n_artists": 3, "n_tracks": 6}
    generate_demo(tmp_path, minutes_per_station=3, tracks_with_audio=3, **small)
    foreign = [tmp_path / "landing" / "radio-east_20261102T060000Z.flac", tmp_path / "landing" / "notes.txt"]
    for path in foreign:
        path.write_bytes(b"not ours")
    manifest = generate_demo(tmp_path, minutes_per_station=1, tracks_with_audio=2, **small)

    ours = sorted(p.name for p in (tmp_path / "landing").iterdir() if CHUNK_RE.match(p.name))
    assert ours == [
        "radio-north_20261102T060000Z.flac",
        "radio-north_20261102T060030Z.flac",
        "radio-south_20261102T140000Z.flac",
        "radio-south_20261102T140030Z.flac",
    ]
    assert manifest.chunks == 4
    assert all(path.read_bytes() == b"not ours" for path in foreign)
    assert sorted(p.name for p in manifest.paths["audio_dir"].iterdir()) == ["TRK0001.ogg", "TRK0002.flac"]
    [gap] = read_gaps(tmp_path / "landing", "radio-south")  # rewritten, not appended to
    assert gap.start_utc == BLOCK_STARTS["radio-south"] + timedelta(minutes=1)
