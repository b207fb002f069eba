"""Rights data: split sheets (who owns which share of each work or recording), the party register, contracts and
the stations' per-second tariffs.

Shares are written per role group: a work's writers (writer, composer) share 100.00 % and its publisher
100.00 %; a recording's artist and label each 100.00 %. One publisher's works come as a scanned PNG (one
work, read by OCR), the label's recording splits as an XLSX workbook, everything else as CSV.

Planted for the rights rules and the royalty pipeline to catch:
- two played works have no sheet at all (their money goes to suspense);
- one work's writer shares add up to 90.00 % (blocked by rule RS001: shares must sum to 100 %);
- one work names a co-writer missing from the party register (rule RS008, a warning: the set waits for a
  reviewer's approval in `rights.review_tasks`).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np

from backbeat.demo import identifiers, names
from backbeat.demo.catalog import Catalog, Track, Work
from backbeat.demo.seeding import rng_for

PUBLISHERS = ("Northern Publishing", "Polder Songs", "Harbour Music Rights", "Southside Editions")
LABEL = "Backbeat Records"
SPLIT_SHEET_HEADER = (
    "work_id",
    "iswc",
    "work_title",
    "party_id",
    "party_name",
    "ipi",
    "role",
    "share_percent",
)
RECORDING_SHEET_HEADER = (
    "subject_type",
    "recording_id",
    "isrc",
    "work_title",
    "party_id",
    "party_name",
    "ipi",
    "role",
    "share_percent",
    "valid_from",
    "valid_to",
)
PARTY_HEADER = ("party_id", "name", "ipi", "party_type")
CONTRACT_HEADER = ("contract_id", "title", "document", "start_date", "end_date", "terms", "party_ids")
TARIFF_HEADER = ("station_id", "currency", "rate_per_second", "effective_from")
INVALID_TOTAL_CENTS = 9_000
RECORDING_SPLITS_FROM = date(2025, 1, 1)
CONTRACTS_FROM = date(2025, 1, 1)
# Fixed times inside the XLSX (document properties, zip entries), so the workbook is byte-stable.
XLSX_TIME = datetime(2026, 1, 1)
SCAN_DPI = 300  # a flatbed scan; at 150 DPI Tesseract doubts the 1s of an ISWC


@dataclass(frozen=True)
class Party:
    party_id: str
    name: str
    ipi: str  # "" when the party has none (artists, the label)
    kind: str  # publisher, writer, artist or label

    @property
    def is_publisher(self) -> bool:
        return self.kind == "publisher"

    @property
    def party_type(self) -> str:
        return {"publisher": "company", "label": "company", "writer": "person"}.get(self.kind, "")


@dataclass(frozen=True)
class ScannedSheet:
    """A work's split sheet as printed and scanned: rows of (party name, role, IPI, share)."""

    work_id: str
    title: str
    iswc: str
    rows: tuple[tuple[str, str, str, str], ...]

    @property
    def file_name(self) -> str:
        return f"{self.work_id}_scan.png"


@dataclass(frozen=True)
class SplitSheets:
    """Sheet file name → rows, the scans, the register and contracts, plus the planted exceptions."""

    sheets: dict[str, list[tuple[str, ...]]]
    workbooks: dict[str, list[tuple[str, ...]]]  # XLSX recording sheets, RECORDING_SHEET_HEADER rows
    scans: tuple[ScannedSheet, ...]
    parties: list[tuple[str, ...]]  # the party register, PARTY_HEADER rows
    contracts: list[tuple[str, ...]]
    works_without_sheet: tuple[str, ...]
    invalid_work: str
    review_work: str | None
    unregistered_party: str | None


@dataclass(frozen=True)
class TariffRow:
    station_id: str
    currency: str
    rate_per_second: str  # a decimal string: money never passes through a float
    effective_from: date


def tariffs(north: str, south: str) -> list[TariffRow]:
    """A flat rate for the north station, and a rate change on 1 November for the south one."""
    return [
        TariffRow(north, "EUR", "0.0125", date(2026, 1, 1)),
        TariffRow(south, "EUR", "0.0080", date(2026, 1, 1)),
        TariffRow(south, "EUR", "0.0100", date(2026, 11, 1)),
    ]


def build_split_sheets(seed: int, catalog: Catalog) -> SplitSheets:
    """One sheet per publisher (3 or 4): each work has 1-3 writers whose shares sum to exactly 100.00 and its
    publisher at 100.00; one work comes scanned, and the label's recording splits come as a workbook."""
    n_sheets = 4 if len(catalog.works) >= 20 else 3
    parties = _parties(seed, n_sheets, n_writers=max(8, len(catalog.works) // 3))
    publishers = [p for p in parties if p.kind == "publisher"]
    writers = [p for p in parties if p.kind == "writer"]
    missing, invalid, review, others = _exceptions(seed, catalog)
    guest = _guest_writer(seed, len(parties) + 1, {p.name for p in parties}) if review else None
    writer_weights = 1.0 / np.arange(1, len(writers) + 1)  # a few prolific writers, a long tail
    sheets: dict[str, list[tuple[str, ...]]] = {_sheet_name(i, p.name): [] for i, p in enumerate(publishers)}
    writers_of_publisher: dict[str, set[str]] = {p.party_id: set() for p in publishers}
    rows_of: dict[str, tuple[Party, list[tuple[Party, str, int]]]] = {}
    for work in catalog.works:
        if work.work_id in missing:
            continue
        rng = rng_for(seed, "split", work.work_id)
        publisher = publishers[work.number % n_sheets]  # round robin, so no publisher's sheet is empty
        chosen = rng.choice(
            len(writers), size=int(rng.integers(1, 4)), replace=False, p=writer_weights / writer_weights.sum()
        )
        members = [writers[int(i)] for i in sorted(chosen)]
        if work.work_id == review and guest is not None:
            members = [*members[:2], guest]
        total = INVALID_TOTAL_CENTS if work.work_id == invalid else 10_000
        rows = [
            (party, "writer" if rng.random() < 0.6 else "composer", cents)
            for party, cents in zip(members, _shares(rng, len(members), total), strict=True)
        ]
        rows_of[work.work_id] = (publisher, [*rows, (publisher, "publisher", 10_000)])
        writers_of_publisher[publisher.party_id].update(p.party_id for p in members if p is not guest)
    # The scanned work: the first clean one whose names are plain ASCII. The bundled English OCR model reads
    # "Ibáñez" as "Ibkxez", which is a review case (tested), not the clean scan the demo shows paying out.
    scanned = next((w for w in others if all(p.name.isascii() for p, _, _ in rows_of[w][1])), None)
    scans = []
    for work in catalog.works:
        if work.work_id not in rows_of:
            continue
        publisher, rows = rows_of[work.work_id]
        iswc = iswc_for(seed, work)
        if work.work_id == scanned:
            scans.append(
                ScannedSheet(
                    work.work_id,
                    work.title,
                    iswc,
                    tuple((party.name, role, party.ipi, _percent(cents)) for party, role, cents in rows),
                )
            )
            continue
        for party, role, cents in rows:
            sheets[_sheet_name(publishers.index(publisher), publisher.name)].append(
                (work.work_id, iswc, work.title, party.party_id, party.name, party.ipi, role, _percent(cents))
            )
    planted = {*missing, invalid, review}
    label, artist_parties, workbook = _recording_splits(catalog, parties, planted)
    register = sorted((p.party_id, p.name, p.ipi, p.party_type) for p in [*parties, *artist_parties, label])
    contracts = [
        (
            f"CTR{i + 1:03d}",
            "Exclusive songwriting and publishing agreement",
            f"contracts/CTR{i + 1:03d}.pdf",
            CONTRACTS_FROM.isoformat(),
            "",
            "World; the publisher administers 100 % of the publisher share; 3 years, renewable",
            ";".join([f"{p.party_id}:publisher", *(f"{w}:writer" for w in sorted(writers_of_publisher[p.party_id]))]),
        )
        for i, p in enumerate(publishers)
    ]
    if artist_parties:
        contracts.append(
            (
                f"CTR{len(publishers) + 1:03d}",
                "Exclusive recording agreement",
                f"contracts/CTR{len(publishers) + 1:03d}.pdf",
                CONTRACTS_FROM.isoformat(),
                "",
                "World; master recordings owned by the label; artist royalty on the performer share",
                ";".join([f"{label.party_id}:label", *(f"{a.party_id}:artist" for a in artist_parties)]),
            )
        )
    return SplitSheets(
        sheets=sheets,
        workbooks={"recordings_backbeat_records.xlsx": workbook} if workbook else {},
        scans=tuple(scans),
        parties=register,
        contracts=contracts,
        works_without_sheet=missing,
        invalid_work=invalid,
        review_work=review,
        unregistered_party=guest.party_id if guest else None,
    )


def iswc_for(seed: int, work: Work) -> str:
    """The ISWC the split sheets give `work` (unique: 104729 is prime to 10**9)."""
    iswc_base = int(rng_for(seed, "iswc").integers(0, 10**9))
    return identifiers.iswc((iswc_base + work.number * 104_729) % 10**9)


def ipi_name_number(base: int) -> str:
    """An IPI name number with its modulus-101 check digits, as `backbeat/identifiers.py` verifies them."""
    return identifiers.ipi_name_number(base)


def _parties(seed: int, n_publishers: int, n_writers: int) -> list[Party]:
    rng = rng_for(seed, "parties")
    ipi_base = int(rng.integers(10**5, 10**6)) * 1000
    taken: set[str] = set()
    parties = []
    for i in range(n_publishers + n_writers):
        is_publisher = i < n_publishers
        name = PUBLISHERS[i] if is_publisher else names.unique(lambda: names.person(rng), taken)
        parties.append(
            Party(f"PTY{i + 1:03d}", name, ipi_name_number(ipi_base + i + 1), "publisher" if is_publisher else "writer")
        )
    return parties


def _guest_writer(seed: int, number: int, taken: set[str]) -> Party:
    """A co-writer who signed the sheet but is not in the party register yet."""
    rng = rng_for(seed, "guest-writer")
    name = names.unique(lambda: names.person(rng), set(taken))
    return Party(f"PTY{number:03d}", name, ipi_name_number(int(rng.integers(10**8, 10**9))), "writer")


def _recording_splits(
    catalog: Catalog, parties: list[Party], planted: set[str | None]
) -> tuple[Party, list[Party], list[tuple[str, ...]]]:
    """The label and artists as parties, and recording splits (artist 100 %, label 100 %) for two recordings
    with audio whose works are clean."""
    number = len(parties) + 2  # the guest writer takes len(parties) + 1
    label = Party(f"PTY{number:03d}", LABEL, "", "label")
    chosen: list[Track] = [t for t in catalog.tracks_with_audio if t.work_id not in planted][:2]
    artist_names = {a.artist_id: a.name for a in catalog.artists}
    artists: dict[str, Party] = {}
    for track in chosen:
        if track.artist_id not in artists:
            number += 1
            artists[track.artist_id] = Party(f"PTY{number:03d}", artist_names[track.artist_id], "", "artist")
    rows = []
    for track in chosen:
        artist = artists[track.artist_id]
        for party, role in ((artist, "artist"), (label, "label")):
            rows.append(
                (
                    "recording",
                    track.track_id,
                    track.isrc,
                    track.title,
                    party.party_id,
                    party.name,
                    party.ipi,
                    role,
                    "100.00",
                    RECORDING_SPLITS_FROM.isoformat(),
                    "",
                )
            )
    return label, list(artists.values()), rows


def _exceptions(seed: int, catalog: Catalog) -> tuple[tuple[str, ...], str, str | None, list[str]]:
    """Pick the two works without a sheet, the invalid one and the one needing review, preferring works the
    radio can play; the other works follow in the same order (the scanned one is picked from them).

    Remixed works come last: their two recordings are more useful downstream with a clean sheet.
    """
    rng = rng_for(seed, "split-exceptions")
    remixed = set(catalog.remixed_work_ids)
    audio_works = sorted({t.work_id for t in catalog.tracks_with_audio} - remixed)
    other_works = sorted({w.work_id for w in catalog.works} - set(audio_works) - remixed)
    candidates = [str(w) for w in (*rng.permutation(audio_works), *rng.permutation(other_works), *sorted(remixed))]
    missing = tuple(sorted(candidates[:2]))
    review = candidates[3] if len(candidates) > 3 else None
    return missing, candidates[2], review, candidates[4:]


def _shares(rng: np.random.Generator, n: int, total_cents: int) -> list[int]:
    """Split `total_cents` among `n` parties: equal (33.34/33.33/33.33) or negotiated."""
    # Negotiated shares get a floor so nobody ends up with 0.00.
    weights = np.ones(n) if rng.random() < 0.5 else rng.dirichlet(np.full(n, 3.0)) + 0.05
    cents = np.floor(weights / weights.sum() * total_cents).astype(int)
    cents[: total_cents - int(cents.sum())] += 1  # hand the rounding cents to the first parties
    return [int(c) for c in cents]


def _percent(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _sheet_name(index: int, publisher: str) -> str:
    return f"sheet_{index + 1:02d}_{names.ascii_slug(publisher, '_')}.csv"


# ---- Writing the files that are not CSV -----------------------------------------------------------------------


def write_xlsx(path: Path, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """A one-sheet workbook, byte-stable: fixed document times and zip entry times."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Split sheet"
    sheet.append(list(header))
    for row in rows:
        sheet.append([_xlsx_cell(value) for value in row])
    workbook.properties.creator = "Backbeat demo"
    workbook.properties.created = workbook.properties.modified = XLSX_TIME
    buffer = io.BytesIO()
    workbook.save(buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time here
                data = _fixed_core_times(data)
            fixed = zipfile.ZipInfo(info.filename, date_time=XLSX_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(fixed, data)


def _xlsx_cell(value: str) -> object:
    """Shares as numbers and dates as dates, the way a person types them into Excel; identifiers stay text."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    if value.count(".") == 1 and value.replace(".", "").isdigit():
        return float(Decimal(value))
    return value


def _fixed_core_times(xml: bytes) -> bytes:
    import re

    stamp = XLSX_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    return re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)", rb"\g<1>" + stamp + rb"\g<2>", xml)


def render_scan(sheet: ScannedSheet):
    """The sheet printed on A4 and scanned at SCAN_DPI, as a flatbed scanner gives it (PIL image, grey)."""
    from PIL import Image, ImageDraw, ImageFont

    def px(value: float) -> int:  # layout drawn in 150 DPI units
        return round(value * SCAN_DPI / 150)

    def font(points: float) -> ImageFont.FreeTypeFont:
        return ImageFont.load_default(size=round(points * SCAN_DPI / 72))

    page = Image.new("L", (round(8.27 * SCAN_DPI), round(11.69 * SCAN_DPI)), 255)
    draw = ImageDraw.Draw(page)
    body = font(12)
    columns = {"name": 110, "role": 560, "ipi": 790, "share": 1040}
    draw.text((px(110), px(120)), "SPLIT SHEET", font=font(20), fill=0)
    draw.text((px(110), px(230)), f"Work title: {sheet.title}", font=body, fill=0)
    draw.text((px(110), px(280)), f"ISWC: {sheet.iswc}", font=body, fill=0)
    y = 440
    for key, label in (("name", "Party name"), ("role", "Role"), ("ipi", "IPI"), ("share", "Share %")):
        draw.text((px(columns[key]), px(y)), label, font=body, fill=0)
    draw.line((px(100), px(y + 40), px(1160), px(y + 40)), fill=0, width=px(2))
    for name, role, ipi, share in sheet.rows:
        y += 60
        for key, text in (("name", name), ("role", role.capitalize()), ("ipi", ipi), ("share", share)):
            if text:
                draw.text((px(columns[key]), px(y)), text, font=body, fill=0)
    y += 80
    draw.line((px(100), px(y - 15), px(1160), px(y - 15)), fill=0, width=px(1))
    draw.text((px(110), px(y)), "Signatures of all parties are kept on file.", font=font(10), fill=0)
    return page


def write_scan(path: Path, sheet: ScannedSheet) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    render_scan(sheet).save(path, format="PNG", dpi=(SCAN_DPI, SCAN_DPI))
