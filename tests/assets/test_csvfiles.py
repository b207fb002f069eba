"""The generic CSV reader never crashes on a bad file: it names the file, the row or byte, and the field."""

from pathlib import Path

from backbeat.common import csvfiles as f
from backbeat.common.quarantine import Reject, summarise_rejects

FIELDS = {"station_id": f.text, "rate": f.decimal}


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_latin1_file_is_one_whole_file_reject_naming_byte_offset_and_line(tmp_path):
    body = "station_id,rate\nradio-north,0.5\nradio-s\xf6d,0.25\n".encode("latin-1")
    parsed = f.read_csv(write(tmp_path / "tariffs.csv", body), FIELDS)

    assert parsed.rows == []
    assert parsed.unreadable_files == [str(tmp_path / "tariffs.csv")]
    assert not parsed.complete
    [reject] = parsed.rejects
    assert reject.row_number is None
    assert reject.reason == "is not UTF-8: byte 0xf6 at offset 39 (line 3); re-save the file as UTF-8"


def test_utf8_with_byte_order_mark_reads_its_first_column(tmp_path):
    parsed = f.read_csv(write(tmp_path / "t.csv", "\ufeffstation_id,rate\nradio-süd,1.5\n".encode()), FIELDS)
    assert parsed.complete
    assert [row["station_id"] for row in parsed.rows] == ["radio-süd"]


def test_field_over_the_bound_rejects_its_row_and_keeps_the_others(tmp_path):
    huge = "x" * 200_000  # over csv's default 131,072 limit, which used to crash the asset
    body = f"station_id,rate\nradio-north,1\n{huge},2\nradio-south,3\n".encode()
    parsed = f.read_csv(write(tmp_path / "t.csv", body), FIELDS)

    assert parsed.complete
    assert [row["station_id"] for row in parsed.rows] == ["radio-north", "radio-south"]
    [reject] = parsed.rejects
    assert (reject.row_number, reject.field) == (3, "station_id")
    assert "200,000 characters long" in reject.reason
    assert len(reject.value) < 100


def test_missing_column_marks_the_file_unreadable(tmp_path):
    parsed = f.read_csv(write(tmp_path / "t.csv", b"station_id\nradio-north\n"), FIELDS)
    assert parsed.unreadable_files and parsed.rows == []
    assert parsed.rejects[0].field == "rate"


def test_oversized_file_and_missing_file_are_rejected_not_raised(tmp_path, monkeypatch):
    monkeypatch.setattr(f, "MAX_FILE_BYTES", 20)
    parsed = f.read_csv(write(tmp_path / "big.csv", b"station_id,rate\n" + b"a,1\n" * 10), FIELDS)
    assert "at most 20 are read" in parsed.rejects[0].reason
    gone = f.read_csv(tmp_path / "nope.csv", FIELDS)
    assert gone.unreadable_files == [str(tmp_path / "nope.csv")]


def test_broken_quoting_is_a_whole_file_reject(tmp_path):
    parsed = f.read_csv(write(tmp_path / "t.csv", b'station_id,rate\n"radio\x00,1\n"a"b,2\n'), FIELDS, label="t.csv")
    # Either a clean parse of odd values or one whole-file reject: never an exception.
    assert parsed.rows or parsed.unreadable_files == ["t.csv"]


def test_many_rejects_log_a_summary_with_examples():
    rejects = [Reject("junk.csv", n, "album_id", "?", "album_id is required") for n in range(2, 10_002)]
    lines = summarise_rejects("catalog/album_queue", rejects)
    assert len(lines) == 6
    assert lines[0].startswith("catalog/album_queue rejected 10,000 rows or fields in 1 file(s)")
    assert "10,000 x album_id is required" in lines[0]
    assert "example 5 of 10,000" in lines[-1]
    few = summarise_rejects("a", rejects[:2])
    assert few == [f"a rejected: {rejects[0]}", f"a rejected: {rejects[1]}"]
