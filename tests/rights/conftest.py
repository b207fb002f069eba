"""Fixtures for the rights tests: a party register, a small catalog, and sheet writers."""

import csv
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
from support_modules import load_support_module

from backbeat.identifiers import ipi_name_number

HEADER = ("work_id", "iswc", "work_title", "party_id", "party_name", "ipi", "role", "share_percent")
FULL_HEADER = (*HEADER, "subject_type", "recording_id", "isrc", "valid_from", "valid_to")
IPI = {name: ipi_name_number(n) for n, name in enumerate(("P1", "P2", "P3", "P7"), start=101)}
REGISTER = [
    ("P1", "Alice Writer", IPI["P1"], "person"),
    ("P2", "Bob Composer", IPI["P2"], "person"),
    ("P3", "Harbour Songs", IPI["P3"], "company"),
    ("P4", "Dana Lyric", "", "person"),
    ("P5", "Backbeat Records", "", "company"),
    ("P6", "The Canals", "", ""),
    ("P7", "Eve Arranger", IPI["P7"], "person"),
]
ISWC = {"W1": "T-034.524.680-1", "W2": "T-000.000.001-0", "W3": "T-345.246.800-3"}
TRACKS = {"T1": ("NLBB12600001", "W1"), "T2": ("NLBB12600002", "W2")}


def write_csv(path: Path, header: tuple[str, ...], rows: list[dict[str, str] | tuple]) -> Path:
    """A CSV sheet; rows are dicts (missing columns empty) or tuples in header order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(c, "") for c in header] if isinstance(row, dict) else row)
    return path


@pytest.fixture
def rights_inbox(tmp_path: Path) -> Path:
    """`inbox/rights/` with the party register and an empty split-sheet folder."""
    inbox = tmp_path / "inbox" / "rights"
    (inbox / "split_sheets").mkdir(parents=True)
    write_csv(inbox / "parties.csv", ("party_id", "name", "ipi", "party_type"), REGISTER)
    return inbox


@pytest.fixture(scope="session")
def render() -> ModuleType:
    """tests/integrations/ocr_support/render.py (renders split sheets and phone photos), loaded by path."""
    return load_support_module(
        Path(__file__).parents[1] / "integrations" / "ocr_support" / "render.py", "ocr_support_render"
    )


@pytest.fixture(scope="session")
def rs() -> SimpleNamespace:
    """The constants and helpers above, for test modules (which cannot import conftest by name)."""
    return SimpleNamespace(
        HEADER=HEADER,
        FULL_HEADER=FULL_HEADER,
        IPI=IPI,
        REGISTER=REGISTER,
        ISWC=ISWC,
        TRACKS=TRACKS,
        write_csv=write_csv,
    )
