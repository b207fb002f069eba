from datetime import date, datetime
from pathlib import Path

import pytest

from backbeat.airplay.landing import ChunkNameError, chunks_for, parse_chunk_name


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
