from datetime import date, datetime
from pathlib import Path

import pytest

from backbeat.airplay.landing import (
    ChunkNameError,
    LandingListing,
    chunks_for,
    parse_chunk_name,
    stations_named,
    stations_on,
)


def test_parse_chunk_name():
    chunk = parse_chunk_name(Path("/x/radio-north_20261102T060030Z.flac"))
    assert (chunk.station_id, chunk.start_utc, chunk.fmt, chunk.chunk_id) == (
        "radio-north",
        datetime(2026, 11, 2, 6, 0, 30),
        "flac",
        "radio-north_20261102T060030Z",
    )


@pytest.mark.parametrize(
    "name",
    [
        "radio_north_20261102T060030Z.flac",
        "radio-north_20261102T250000Z.flac",
        "radio-north_2026-11-02.flac",
        "radio-north_20261102T060030Z.txt",
    ],
)
def test_malformed_names_are_named_in_the_error(name):
    with pytest.raises(ChunkNameError, match=name.replace(".", r"\.")):
        parse_chunk_name(Path(name))


def test_chunks_for_a_station_day_and_its_misnamed_files(tmp_path):
    for name in [
        "a_20261102T000000Z.wav",
        "a_20261102T235930Z.wav",
        "a_20261103T000000Z.wav",
        "b_20261102T000000Z.wav",
        "a_garbage.wav",
        ".a_20261102T000100Z.wav",
        "a_20261102T000200Z.wav.part",
    ]:
        (tmp_path / name).write_bytes(b"")
    good, bad = chunks_for(tmp_path, "a", date(2026, 11, 2))
    assert [c.chunk_id for c in good] == ["a_20261102T000000Z", "a_20261102T235930Z"]
    assert [p.name for p, _ in bad] == ["a_garbage.wav"]


def test_one_listing_answers_every_station_day_as_listing_the_folder_each_time_did(tmp_path):
    names = [
        "a_20261102T000000Z.wav",
        "a_20261102T235930Z.wav",
        "a_20261103T000000Z.wav",
        "b_20261102T000000Z.wav",
        "b-2_20261103T120000Z.flac",
        "a_garbage.wav",
        "b_20261102T999999Z.wav",
        "nounderscore.wav",
        ".a_20261102T000100Z.wav",
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    listing = LandingListing.of(tmp_path)
    days = (date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 4))
    for day in days:
        assert listing.stations_on(day) == stations_on(tmp_path, day) == stations_named(day, names[:5])
        for station in ("a", "b", "b-2", "c"):
            got, want = listing.chunks_for(station, day), _chunks_and_misnamed_by_scanning(tmp_path, station, day)
            assert ([c.chunk_id for c in got[0]], [p.name for p, _ in got[1]]) == want
    assert listing.stations_on(date(2026, 11, 2)) == {"a", "b"}
    assert [p.name for p, _ in listing.chunks_for("b", date(2026, 11, 2))[1]] == ["b_20261102T999999Z.wav"]


def _chunks_and_misnamed_by_scanning(folder, station, day):
    """What the landing folder says of one station-day, read name by name (the definition the listing must meet)."""
    good, bad = [], []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        try:
            chunk = parse_chunk_name(path)
        except ChunkNameError:
            if path.name.startswith(f"{station}_"):
                bad.append(path.name)
            continue
        if chunk.station_id == station and chunk.day == day:
            good.append(chunk)
    return [c.chunk_id for c in sorted(good, key=lambda c: c.start_utc)], bad
