"""Rights data: split sheets (who owns which share of each work) and the stations' per-second tariffs.

The sheets are clean except for three planted problems the royalty pipeline must catch: two played works
have no sheet at all (their money goes to suspense) and one work's shares add up to 90.00 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from backbeat.demo import identifiers, names
from backbeat.demo.catalog import Catalog, Work
from backbeat.demo.seeding import rng_for

PUBLISHERS = ("Northern Publishing", "Polder Songs", "Harbour Music Rights", "Southside Editions")
SPLIT_SHEET_HEADER = (
    "work_id", "iswc", "work_title", "party_id", "party_name", "ipi", "role", "share_percent",
)
TARIFF_HEADER = ("station_id", "currency", "rate_per_second", "effective_from")
INVALID_TOTAL_CENTS = 9_000


@dataclass(frozen=True)
class Party:
    party_id: str
    name: str
    ipi: str
    is_publisher: bool


@dataclass(frozen=True)
class SplitSheets:
    """Sheet file name → rows, plus the planted exceptions."""

    sheets: dict[str, list[tuple[str, ...]]]
    works_without_sheet: tuple[str, ...]
    invalid_work: str


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
    """One sheet per publisher (3 or 4); each work has 2-4 parties whose shares sum to exactly 100.00."""
    n_sheets = 4 if len(catalog.works) >= 20 else 3
    parties = _parties(seed, n_sheets, n_writers=max(8, len(catalog.works) // 3))
    publishers, writers = parties[:n_sheets], parties[n_sheets:]
    missing, invalid = _exceptions(seed, catalog)
    writer_weights = 1.0 / np.arange(1, len(writers) + 1)  # a few prolific writers, a long tail
    sheets: dict[str, list[tuple[str, ...]]] = {_sheet_name(i, p.name): [] for i, p in enumerate(publishers)}
    for work in catalog.works:
        if work.work_id in missing:
            continue
        rng = rng_for(seed, "split", work.work_id)
        sheet = work.number % n_sheets  # round robin, so no publisher's sheet is empty
        chosen = rng.choice(len(writers), size=int(rng.integers(1, 4)), replace=False,
                            p=writer_weights / writer_weights.sum())
        members = [writers[int(i)] for i in chosen] + [publishers[sheet]]
        total = INVALID_TOTAL_CENTS if work.work_id == invalid else 10_000
        shares = _shares(rng, len(members), total)
        iswc = iswc_for(seed, work)
        for party, cents in zip(members, shares, strict=True):
            role = "publisher" if party.is_publisher else ("writer" if rng.random() < 0.6 else "composer")
            sheets[_sheet_name(sheet, publishers[sheet].name)].append(
                (work.work_id, iswc, work.title, party.party_id, party.name, party.ipi, role, _percent(cents))
            )
    return SplitSheets(sheets, missing, invalid)


def iswc_for(seed: int, work: Work) -> str:
    """The ISWC the split sheets give `work` (unique: 104729 is prime to 10**9)."""
    iswc_base = int(rng_for(seed, "iswc").integers(0, 10**9))
    return identifiers.iswc((iswc_base + work.number * 104_729) % 10**9)


def _parties(seed: int, n_publishers: int, n_writers: int) -> list[Party]:
    rng = rng_for(seed, "parties")
    ipi_base = int(rng.integers(10**7, 10**8)) * 1000
    taken: set[str] = set()
    parties = []
    for i in range(n_publishers + n_writers):
        is_publisher = i < n_publishers
        name = PUBLISHERS[i] if is_publisher else names.unique(lambda: names.person(rng), taken)
        ipi = identifiers.ipi_name_number(ipi_base + i + 1)
        parties.append(Party(f"PTY{i + 1:03d}", name, ipi, is_publisher))
    return parties


def _exceptions(seed: int, catalog: Catalog) -> tuple[tuple[str, ...], str]:
    """Pick the two works without a sheet and the invalid one, preferring works the radio can play.

    Remixed works come last: their two recordings are more useful downstream with a clean sheet.
    """
    rng = rng_for(seed, "split-exceptions")
    remixed = set(catalog.remixed_work_ids)
    audio_works = sorted({t.work_id for t in catalog.tracks_with_audio} - remixed)
    other_works = sorted({w.work_id for w in catalog.works} - set(audio_works) - remixed)
    candidates = [*rng.permutation(audio_works), *rng.permutation(other_works), *sorted(remixed)]
    missing = tuple(sorted(str(w) for w in candidates[:2]))
    return missing, str(candidates[2])


def _shares(rng: np.random.Generator, n: int, total_cents: int) -> list[int]:
    """Split `total_cents` among `n` parties: equal (33.34/33.33/33.33), publisher-half, or negotiated."""
    style = rng.random()
    if style < 0.4:
        weights = np.ones(n)
    elif style < 0.7:
        weights = np.append(np.full(n - 1, 1.0 / (n - 1)), 1.0)  # the publisher (last) takes half
    else:
        weights = rng.dirichlet(np.full(n, 3.0)) + 0.05  # nobody ends up with 0.00
    cents = np.floor(weights / weights.sum() * total_cents).astype(int)
    cents[: total_cents - int(cents.sum())] += 1  # hand the rounding cents to the first parties
    return [int(c) for c in cents]


def _percent(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _sheet_name(index: int, publisher: str) -> str:
    return f"sheet_{index + 1:02d}_{names.ascii_slug(publisher, '_')}.csv"
