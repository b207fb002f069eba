"""Paths read from data files never leave their data folder: not by '..', not absolute, not through a link."""

import os

import polars as pl
import pytest
from dagster import materialize

from assets.catalog.assets import catalog_artists, catalog_tracks
from assets.common.paths import DataDirResource
from backbeat.common.quarantine import QUARANTINE
from backbeat.common.safe_paths import PathOutsideRoot, confined_path, relative_path_problem
from integrations.warehouse import Warehouse, WarehouseResource


@pytest.mark.parametrize(
    "value",
    ["../../../../etc/passwd", "/root/.backbeat/tokens.json", "a/../../b.wav", "C:\\tokens.json", "..\\..\\secret"],
)
def test_escaping_paths_are_refused(tmp_path, value):
    assert relative_path_problem(value)
    with pytest.raises(PathOutsideRoot):
        confined_path(tmp_path, value)


def test_a_link_out_of_the_folder_is_refused_and_a_plain_file_is_kept(tmp_path):
    (tmp_path / "outside.txt").write_text("secret")
    root = tmp_path / "catalog"
    (root / "audio").mkdir(parents=True)
    os.symlink(tmp_path / "outside.txt", root / "audio" / "leak.wav")
    with pytest.raises(PathOutsideRoot, match="through a link"):
        confined_path(root, "audio/leak.wav")
    (root / "audio" / "ok.wav").write_bytes(b"RIFF")
    assert confined_path(root, "audio/ok.wav") == (root / "audio" / "ok.wav").resolve()


def test_catalog_tracks_reject_hostile_audio_paths_naming_row_and_field(tmp_path):
    catalog = tmp_path / "inbox" / "catalog"
    (catalog / "audio").mkdir(parents=True)
    (catalog / "audio" / "t1.wav").write_bytes(b"RIFF")
    (catalog / "artists.csv").write_text("artist_id,name,country\nA1,Artist,NL\n")
    header = (
        "track_id,isrc,title,artist_id,album,release_date,duration_ms,genre,explicit,popularity,work_id,audio_path\n"
    )
    rows = [
        f"T{n},NLBB1260000{n},Song {n},A1,,2026-01-01,180000,pop,no,50,,{path}"
        for n, path in enumerate(["audio/t1.wav", "../../../../etc/passwd", "/etc/passwd"], start=1)
    ]
    (catalog / "tracks.csv").write_text(header + "\n".join(rows) + "\n")
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    result = materialize(
        [catalog_artists, catalog_tracks],
        resources={"data_dir": DataDirResource(data_dir=str(tmp_path)), "warehouse": WarehouseResource(url=url)},
    )
    assert result.success
    db = Warehouse(url)
    assert db.query("SELECT track_id FROM catalog.tracks")["track_id"].to_list() == ["T1"]
    rejected = db.read(QUARANTINE, "asset = 'catalog/tracks'").sort("row_number")
    assert rejected.select("row_number", "field").rows() == [(3, "audio_path"), (4, "audio_path")]
    assert rejected["reason"].str.contains("climb out|absolute").all()
    assert pl.Series(rejected["value"]).to_list() == ["../../../../etc/passwd", "/etc/passwd"]
