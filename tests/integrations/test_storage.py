"""Shared storage: the same tests against a local folder and a real local S3 server (moto's server mode).

Two data directories stand for two machines: what one writes and uploads, the other syncs down and reads with
the ordinary Path-based code.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import boto3
import duckdb
import pytest
import soundfile as sf
from dagster import instance_for_test, materialize
from moto.server import ThreadedMotoServer
from support_modules import load_support_module

from assets.airplay.assets import stream_chunks
from assets.common.partitions import station_day_key
from assets.common.paths import DataDirResource
from assets.exports.assets import FINANCE_MARTS, finance_lineage
from backbeat.airplay.capture_service import CaptureService, ServiceOptions
from backbeat.airplay.tables import STREAM_CHUNKS
from backbeat.settings import Settings
from integrations.radio import CaptureConfig, Station
from integrations.retry import Backoff
from integrations.storage import BackgroundUploader, Storage, StorageError, StorageFileNotFoundError, open_storage
from integrations.warehouse import Warehouse, WarehouseResource

servers = load_support_module(Path(__file__).parent / "radio_support" / "servers.py", "radio_support_servers")
ACCESS_KEY = "AKIDBACKBEATSTORAGE1"
SECRET_KEY = "backbeat-storage-secret-Zq9xW2"  # must never show in a log line or an error


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_url(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket on the local S3 server, with credentials in the standard AWS variables."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    bucket = f"backbeat-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    return f"s3://{bucket}/shared"


@pytest.fixture(params=["local", "s3"])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A storage URL for each implementation: a plain folder, then the local S3 bucket."""
    if request.param == "local":
        return str(tmp_path / "shared")
    return request.getfixturevalue("s3_url")


@pytest.fixture
def storage(storage_url: str, s3_endpoint: str, tmp_path: Path) -> Storage:
    return open_storage(storage_url, tmp_path / "unused", endpoint_url=s3_endpoint)


def machine(tmp_path: Path, name: str, storage_url: str, endpoint: str) -> DataDirResource:
    """One machine's data directory, sharing `storage_url`."""
    return DataDirResource(data_dir=str(tmp_path / name), storage_url=storage_url, s3_endpoint_url=endpoint)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_put_get_list_exists_delete(storage: Storage, tmp_path: Path) -> None:
    source = write(tmp_path / "a.txt", "first")
    storage.put(source, "landing/alpha_20260101T000000Z.flac")
    storage.put(write(tmp_path / "b.txt", "second"), "landing/beta_20260101T000000Z.flac")
    storage.put(source, "index/fingerprints/hashes.parquet")
    assert storage.exists("landing/alpha_20260101T000000Z.flac")
    assert not storage.exists("landing/alpha_20260102T000000Z.flac")
    assert storage.list("landing/") == ["landing/alpha_20260101T000000Z.flac", "landing/beta_20260101T000000Z.flac"]
    assert storage.list("landing/alpha_") == ["landing/alpha_20260101T000000Z.flac"]
    assert len(storage.list()) == 3
    copy = storage.get("landing/beta_20260101T000000Z.flac", tmp_path / "got" / "b.flac")
    assert copy.read_text(encoding="utf-8") == "second"
    assert [p.name for p in copy.parent.iterdir()] == ["b.flac"]  # no temporary file left beside it
    storage.delete("landing/beta_20260101T000000Z.flac")
    storage.delete("landing/beta_20260101T000000Z.flac")  # a missing key is not an error
    assert storage.list("landing/") == ["landing/alpha_20260101T000000Z.flac"]
    with pytest.raises(StorageFileNotFoundError):
        storage.get("landing/beta_20260101T000000Z.flac", tmp_path / "missing.flac")
    with pytest.raises(StorageError, match="not a relative storage key"):
        storage.put(source, "../outside.txt")


def test_sync_transfers_only_what_changed(storage: Storage, tmp_path: Path) -> None:
    up = tmp_path / "up"
    for name in ("hashes.parquet", "manifest.parquet", "tracks/t1.parquet"):
        write(up / name, f"content of {name}")
    write(up / ".hashes.parquet.part", "being written")  # never shared
    first = storage.sync_up(up, "index/fingerprints")
    assert sorted(first.transferred) == [
        "index/fingerprints/hashes.parquet",
        "index/fingerprints/manifest.parquet",
        "index/fingerprints/tracks/t1.parquet",
    ]
    again = storage.sync_up(up, "index/fingerprints")
    assert again.transferred == [] and len(again.unchanged) == 3

    down = tmp_path / "down"
    assert len(storage.sync_down("index/fingerprints/", down).transferred) == 3
    assert (down / "tracks" / "t1.parquet").read_text(encoding="utf-8") == "content of tracks/t1.parquet"
    assert storage.sync_down("index/fingerprints/", down).transferred == []

    # Same size, new bytes: still seen as changed (MD5 on S3, modification time on a folder).
    changed = up / "hashes.parquet"
    write(changed, "CONTENT OF hashes.parquet")
    os.utime(changed, (changed.stat().st_mtime + 5, changed.stat().st_mtime + 5))
    assert storage.sync_up(up, "index/fingerprints").transferred == ["index/fingerprints/hashes.parquet"]
    assert storage.sync_down("index/fingerprints/", down).transferred == ["index/fingerprints/hashes.parquet"]
    assert (down / "hashes.parquet").read_text(encoding="utf-8") == "CONTENT OF hashes.parquet"

    # A mirror removes what the other side no longer has, and only under the prefix.
    (up / "tracks" / "t1.parquet").unlink()
    assert storage.sync_up(up, "index/fingerprints", delete=True).deleted == ["index/fingerprints/tracks/t1.parquet"]
    write(down / "stale.parquet", "left from an old build")
    mirrored = storage.sync_down("index/fingerprints/", down, delete=True)
    assert sorted(mirrored.deleted) == ["index/fingerprints/stale.parquet", "index/fingerprints/tracks/t1.parquet"]
    left = sorted(p.name for p in down.rglob("*") if p.is_file() and not p.name.startswith("."))
    assert left == ["hashes.parquet", "manifest.parquet"]


def test_an_export_and_the_index_published_on_one_machine_reach_another(
    storage_url: str, s3_endpoint: str, tmp_path: Path
) -> None:
    a, b = (machine(tmp_path, name, storage_url, s3_endpoint) for name in ("a", "b"))
    folder = a.exports / "finance-monthly" / "2026-11"
    write(folder / "ledger_lines.parquet", "lines")
    write(folder / "README.md", "columns")
    assert sorted(a.push_export(folder).transferred) == [
        "exports/finance-monthly/2026-11/README.md",
        "exports/finance-monthly/2026-11/ledger_lines.parquet",
    ]
    (folder / "README.md").unlink()  # the next publication has no README: the shared copy follows it
    report = a.push_export(folder)
    assert report.deleted == ["exports/finance-monthly/2026-11/README.md"] and report.transferred == []
    shared = a.shared_storage()
    assert shared is not None and shared.list("exports/") == ["exports/finance-monthly/2026-11/ledger_lines.parquet"]

    assert b.pull_index() is None  # nothing shared yet: b keeps whatever it has
    write(a.fingerprint_index / "hashes.parquet", "hashes")
    a.push_index()
    b.pull_index()
    assert (b.fingerprint_index / "hashes.parquet").read_text(encoding="utf-8") == "hashes"


@pytest.mark.slow
def test_the_published_finance_export_is_uploaded(s3_url: str, s3_endpoint: str, tmp_path: Path) -> None:
    """The real daily export chain (the finance export tests' small marts) with shared storage configured."""
    exports_tests = load_support_module(
        Path(__file__).parents[1] / "exports" / "test_finance_checks.py", "finance_checks_for_storage"
    )
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute(exports_tests.MARTS_SQL)
    for name in sorted(set(finance_lineage()) - set(FINANCE_MARTS)):
        con.execute(f"CREATE OR REPLACE VIEW analytics.{name} AS SELECT 1 AS stand_in")
    con.close()
    data_dir = machine(tmp_path, "data", s3_url, s3_endpoint)
    warehouse = WarehouseResource(url=f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    assert materialize(exports_tests.DAILY, resources={"warehouse": warehouse, "data_dir": data_dir}).success
    published = data_dir.exports / "finance"
    local = sorted(
        f"exports/finance/{p.relative_to(published).as_posix()}" for p in published.rglob("*") if p.is_file()
    )
    shared = data_dir.shared_storage()
    assert shared is not None and local and shared.list("exports/") == local
    copy = shared.get("exports/finance/parquet/fct_ledger_batches.parquet", tmp_path / "finance" / "batches.parquet")
    assert copy.read_bytes() == (published / "parquet" / "fct_ledger_batches.parquet").read_bytes()


def test_without_a_storage_url_nothing_moves(tmp_path: Path) -> None:
    local = DataDirResource(data_dir=str(tmp_path))
    write(local.fingerprint_index / "hashes.parquet", "hashes")
    assert local.shared_storage() is None and local.push_index() is None and local.pull_index() is None
    assert local.pull_landing("alpha-fm", datetime(2026, 1, 1).date()) is None
    assert local.landing_file("/elsewhere/landing/x.flac") == Path("/elsewhere/landing/x.flac")
    assert Settings.from_env({"BACKBEAT_DATA_DIR": str(tmp_path)}).shared_storage() is None
    settings = Settings.from_env({"BACKBEAT_DATA_DIR": str(tmp_path), "BACKBEAT_STORAGE_URL": "s3://b/p"})
    assert settings.storage_url == "s3://b/p" and settings.s3_endpoint_url == ""


@pytest.mark.slow
def test_a_chunk_captured_on_one_machine_is_scanned_on_another(s3_url: str, s3_endpoint: str, tmp_path: Path) -> None:
    a, b, c = (machine(tmp_path, name, s3_url, s3_endpoint) for name in ("a", "b", "c"))
    (tmp_path / "mp3").mkdir()
    mp3 = servers.make_mp3(tmp_path / "mp3", seconds=8).read_bytes()
    config = CaptureConfig(chunk_seconds=1.0, backoff=Backoff(base=0.2, factor=2.0, maximum=0.5))
    with servers.RadioServer() as server:
        server.mounts["/alpha.mp3"] = servers.StreamPlan(mp3)
        alpha = Station("alpha-fm", "Alpha", f"{server.url}/alpha.mp3", True)
        service = CaptureService(
            [alpha], a.landing, None, config=config, options=ServiceOptions(duration=2.5), storage=a.shared_storage()
        )
        [run] = service.run(threading.Event())
    captured = sorted(p.name for p in run.chunks)
    assert captured and service.uploader is not None and service.uploader.failed == {}
    assert sorted(k.removeprefix("landing/") for k in service.uploader.uploaded) == captured

    # Partitions end before today: the first captured chunk, renamed into a past day, is uploaded the same way.
    day = date(2026, 11, 2)
    names = [f"alpha-fm_20261102T00000{n}Z.flac" for n in range(2)]
    uploader = BackgroundUploader(a.shared_storage())
    for name in names:
        shutil.copyfile(a.landing / captured[0], a.landing / name)
        uploader.submit(a.landing / name, f"landing/{name}")
    uploader.close()
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    with instance_for_test() as instance:
        result = materialize(
            [stream_chunks],
            partition_key=station_day_key("alpha-fm", day.isoformat()),
            instance=instance,
            resources={"data_dir": b, "warehouse": WarehouseResource(url=url)},
        )
    assert result.success
    rows = Warehouse(url).read(STREAM_CHUNKS).sort("chunk_id")
    assert [f"{c}.flac" for c in rows["chunk_id"]] == names
    assert all(Path(p).parent == b.landing for p in rows["path"])  # scanned from b's own landing folder
    seconds = sf.info(str(a.landing / captured[0])).duration
    assert seconds > 0 and all(abs(d - seconds) < 0.05 for d in rows["duration_s"])  # the audio itself was read
    # A third machine (detections) finds the chunks b recorded, in its own landing folder once pulled.
    c.pull_landing("alpha-fm", day)
    assert c.landing_file(rows["path"][0]) == c.landing / names[0]
    assert (c.landing / names[0]).read_bytes() == (a.landing / captured[0]).read_bytes()


def test_credentials_never_appear_in_logs_or_errors(
    s3_url: str, s3_endpoint: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # botocore and s3fs log requests at DEBUG
    storage = open_storage(s3_url, tmp_path, endpoint_url=s3_endpoint)
    source = write(tmp_path / "a.txt", "a")
    storage.put(source, "exports/a.txt")
    errors = []
    for action in (
        lambda: storage.get("exports/missing.txt", tmp_path / "m.txt"),
        lambda: open_storage("s3://no-such-bucket-here/x", tmp_path, endpoint_url=s3_endpoint).put(source, "a.txt"),
    ):
        with pytest.raises(StorageError) as caught:
            action()
        errors.append(caught.value)
    uploader = BackgroundUploader(open_storage("s3://no-such-bucket-here", tmp_path, endpoint_url=s3_endpoint), ())
    uploader.submit(source, "a.txt")
    uploader.close()
    assert "a.txt" in uploader.failed
    texts = [caplog.text, repr(storage), *map(str, errors), *uploader.failed.values()]
    assert all(e.__cause__ is None and e.__context__ is None or e.__suppress_context__ for e in errors)
    assert not [t for t in texts if SECRET_KEY in t]
    assert not [t for t in [repr(storage), *map(str, errors), *uploader.failed.values()] if ACCESS_KEY in t]
    # The redaction itself: a message quoting a credential loses it.
    assert storage.redact(f"signed with {SECRET_KEY} by {ACCESS_KEY}") == "signed with *** by ***"
