"""Close a year month by month, contracts applied, a PDF statement per party: `python bench/royalties/close_year.py`.

Reuses the year benchmark's generator (`run.py`: tariffs, recordings, splits, long-tailed rotations, a few
disputes) at `--stations` × `--months`, with party, station and track names so statements read like the real
ones. Then, for each month in order, as a finance controller's month goes:

1. post the month's airplay day by day (all stations of a day per `post_station_days` call; timed apart, it is
   not the close);
2. from February on: a late split approval for one recording in suspense re-posts its station-days of closed
   months (a restatement: adjustments naming the corrected month land in the open month), and payouts are paid
   on the 15th to a fifth of the parties owed at least 100 EUR at the previous close;
3. after January's posting, a third of the parties get contract terms: an advance of 2–16 months of their
   January earnings paid at signing, a reserve (10–20 % held for 2–3 months) for a third of them, a 100 EUR
   minimum payout for a quarter, and a few shares of another party's receipts;
4. the close: `apply_contract_terms` then `close_period` (timed together: what `backbeat royalties period close`
   does);
5. a PDF statement per party (`render_pdf`, one file each) and the month's CSV (`to_csv`, every party).

Reconciliation, checked after every close and at the end; any failure is listed and the run exits 1:

- for every party and month the frozen statement's opening, earnings, adjustments, payouts and closing equal
  the figures summed straight from the ledger's party_payable lines (SQL written here, not the statements
  module's), closing = opening + earnings + adjustments + payouts, and opening = the previous month's closing;
- a statement's tracks and stations sum to its earnings, its adjustments and payouts to their totals;
- contract sections: remaining advance = advance − recouped to date ≥ 0, balance = closing + contract effects;
- every royalty ledger batch and every contract ledger batch sums to zero per currency;
- at the end every closed month's frozen documents are byte-for-byte what its close froze (the restatements
  and payouts of later months changed none), their sha256 is the period's, no line was booked into a closed
  month after its close, and one PDF per month reads back (pypdf) with its closing balance printed in it.

Prints time per close (median, max), PDF statements per second (wall and CPU), total PDFs and bytes; writes
the figures as JSON next to the warehouse under the gitignored bench/.work/royalties-close/.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import shutil
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from types import ModuleType

import duckdb
import numpy as np
import polars as pl
from pypdf import PdfReader
from reportlab.platypus.doctemplate import LayoutError

from backbeat.airplay.tables import PLAYLOGS, STATIONS
from backbeat.rights.tables import PARTIES, RECORDINGS, SPLITS
from backbeat.royalties.contract_terms import ContractTerm, terms_frame
from backbeat.royalties.ledger import PostingSummary, post_station_days
from backbeat.royalties.payouts import PayoutDecision, PayoutRequest, batch_id_of, post_payouts
from backbeat.royalties.periods import (
    close_period,
    frozen_documents,
    late_lines,
    period_states,
    statement_documents,
    statements_sha256,
)
from backbeat.royalties.recoupment import apply_contract_terms, unbalanced_batches
from backbeat.royalties.statement_pdf import render_pdf
from backbeat.royalties.statement_people import StatementDocument, format_amount, to_csv
from backbeat.royalties.statements import next_period
from backbeat.royalties.tables import CONTRACT_TERMS, DISPUTES, LEDGER, RESTATEMENT_QUEUE, TARIFFS
from integrations.warehouse import Warehouse

HERE = Path(__file__).resolve().parent
WORK = HERE.parents[0] / ".work" / "royalties-close"
YEAR_START = date(2026, 1, 1)
FIRST = ("Ada", "Bo", "Cleo", "Dev", "Elif", "Femi", "Gia", "Hal", "Ines", "Jun", "Kai", "Lena", "Milo", "Noor")
LAST = ("Adeyemi", "Berg", "Costa", "Dubois", "Eriksen", "Fujita", "García", "Horvat", "Ivanova", "Jansen")


def _year_bench() -> ModuleType:
    """bench/royalties/run.py (the year benchmark) as a module, for its generator."""
    spec = importlib.util.spec_from_file_location("royalties_year_bench", HERE / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


YEAR = _year_bench()


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def month_days(period: str) -> list[date]:
    first = date.fromisoformat(f"{period}-01")
    after = date.fromisoformat(f"{next_period(period)}-01")
    return [first + timedelta(days=i) for i in range((after - first).days)]


def periods_of(months: int) -> list[str]:
    periods = [f"{YEAR_START:%Y-%m}"]
    while len(periods) < months:
        periods.append(next_period(periods[-1]))
    return periods


# ---- generation ------------------------------------------------------------------------------------------


def fold_parties(splits: pl.DataFrame, parties: int) -> pl.DataFrame:
    """The generator's 3,000 parties folded onto `parties` ids; a party drawn twice for a set and role gets the
    sum of its shares, so every set still sums to 100 %."""
    folded = splits.with_columns(
        party_id=pl.format("P{}", (pl.col("party_id").str.slice(1).cast(pl.Int64) % parties).cast(pl.Utf8).str.zfill(5))
    )
    others = [c for c in SPLITS.column_names if c not in ("split_set_id", "party_id", "role", "share_bp")]
    return SPLITS.conform(
        folded.group_by("split_set_id", "party_id", "role", maintain_order=True)
        .agg(pl.col("share_bp").sum(), *[pl.col(c).first() for c in others])
        .select(SPLITS.column_names)
    )


def generate(db: Warehouse, path: Path, args: argparse.Namespace) -> int:
    """Reference data with names, and every month's plays and disputes; returns the number of plays."""
    ref = YEAR.reference_data(args.stations, args.recordings, args.seed)
    splits = fold_parties(ref["splits"], args.parties)
    recordings = ref["recordings"].with_columns(
        title=pl.format("Song {} ", pl.col("recording_id").str.slice(1).cast(pl.Int64)) + pl.col("recording_id")
    )
    party_ids = sorted(set(splits["party_id"].to_list()) | {"P-late"})
    parties = PARTIES.from_rows(
        [
            {
                "party_id": p,
                "name": "Late Split Music Ltd"
                if p == "P-late"
                else f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]} ({p})",
                "ipi": None,
                "party_type": "person",
                "source_file": "bench",
            }
            for i, p in enumerate(party_ids)
        ]
    )
    stations = STATIONS.from_rows(
        [
            {"station_id": f"st{i:03d}", "name": f"Radio {i:03d} FM", "stream_url": None, "active": True}
            | {"timezone": "UTC"}
            for i in range(args.stations)
        ]
    )
    db.ensure(PLAYLOGS, TARIFFS, RECORDINGS, SPLITS, DISPUTES, RESTATEMENT_QUEUE, PARTIES, STATIONS)
    for table, frame in (
        (TARIFFS, ref["tariffs"]),
        (RECORDINGS, recordings),
        (SPLITS, splits),
        (PARTIES, parties),
        (STATIONS, stations),
    ):
        db.replace(table, frame)
    plays = 0
    for period in periods_of(args.months):
        days = month_days(period)
        frame = YEAR.plays_for_days(args.stations, args.recordings, days[0], len(days), args.plays_per_day, args.seed)
        YEAR.load_duckdb(path, PLAYLOGS, frame)
        YEAR.load_duckdb(path, DISPUTES, YEAR.disputes_for(frame, args.seed + days[0].toordinal()))
        plays += frame.height
    return plays


# ---- the year's events -----------------------------------------------------------------------------------


def post_month(db: Warehouse, period: str, stations: list[str]) -> tuple[PostingSummary, float, float]:
    """Post every day of `period`, all stations per call, each booked at 02:00 the next day."""
    summary, started, cpu = PostingSummary(), time.perf_counter(), time.process_time()
    for day in month_days(period):
        booked = datetime.combine(day, datetime.min.time()) + timedelta(days=1, hours=2)
        summary.add(post_station_days(db, [(s, day) for s in stations], booked, "bench"))
    return summary, time.perf_counter() - started, time.process_time() - cpu


def contract_terms_for(db: Warehouse, args: argparse.Namespace) -> list[ContractTerm]:
    """Terms for a third of the parties, sized by their January earnings (call after January is posted)."""
    january = {
        p: int(a)
        for p, a in db.query(
            "SELECT party_id, CAST(-sum(amount_minor) AS BIGINT) FROM royalties.royalty_ledger WHERE account = "
            "'party_payable' AND party_id IS NOT NULL AND accounting_period = ? GROUP BY party_id",
            [f"{YEAR_START:%Y-%m}"],
        ).iter_rows()
    }
    rng = np.random.default_rng(args.seed + 7)
    parties = sorted(db.query("SELECT DISTINCT party_id FROM rights.splits")["party_id"].to_list())
    chosen = sorted(rng.choice(parties, len(parties) // 3, replace=False).tolist())
    terms = []
    for party in chosen:
        months_of_earnings = float(rng.uniform(2, 16))
        advance = max(20_000, int(max(january.get(party, 0), 0) * months_of_earnings) // 100 * 100)
        reserve = rng.random() < 1 / 3
        terms.append(
            ContractTerm(
                term_id=f"T-{party}",
                contract_id=f"C-{party}",
                party_id=party,
                currency="EUR",
                valid_from=YEAR_START,
                advance_minor=advance,
                minimum_payout_minor=10_000 if rng.random() < 1 / 4 else 0,
                reserve_bp=int(rng.choice([1000, 1500, 2000])) if reserve else 0,
                reserve_periods=int(rng.integers(2, 4)) if reserve else 0,
                note=f"advance of {months_of_earnings:.1f} months of January earnings",
            )
        )
        if rng.random() < 0.05:
            source = str(rng.choice([p for p in parties if p != party]))
            terms.append(
                ContractTerm(
                    term_id=f"T-{party}-share",
                    contract_id=f"C-{party}",
                    party_id=party,
                    currency="EUR",
                    valid_from=YEAR_START,
                    source_party_id=source,
                    share_bp=2000,
                    note=f"20 % of {source}'s receipts",
                )
            )
    with db.connect() as conn:
        conn.ensure(CONTRACT_TERMS)
        conn.insert(CONTRACT_TERMS, terms_frame(terms))
    return terms


def late_split(db: Warehouse, period: str, index: int, limit: int) -> PostingSummary:
    """Approve a split for the `index`-th recording still in suspense and re-post its station-days of the months
    before `period` (at most `limit`), booked on the 10th of `period`: adjustments land in `period`."""
    suspense = db.query(
        "SELECT recording_id FROM rights.recordings r WHERE NOT EXISTS (SELECT 1 FROM rights.splits s WHERE "
        "(s.subject_type = 'recording' AND s.subject_id = r.recording_id) OR (s.subject_type = 'work' AND "
        "s.subject_id = r.work_id)) AND EXISTS (SELECT 1 FROM royalties.royalty_ledger l WHERE l.recording_id = "
        "r.recording_id AND l.account = 'suspense' AND l.accounting_period < ?) ORDER BY recording_id",
        [period],
    )["recording_id"].to_list()
    if not suspense:
        return PostingSummary()
    recording = suspense[index % len(suspense)]
    rows = [
        {
            "split_set_id": f"late-{recording}",
            "subject_type": "recording",
            "subject_id": recording,
            "party_id": "P-late",
            "role": role,
            "role_group": group,
            "share_bp": 10000,
            "valid_from": None,
            "valid_to": None,
            "source_file": "bench",
            "source_row": i,
            "approved_by": "reviewer",
        }
        for i, (role, group) in enumerate((("artist", "performer"), ("label", "label")), 1)
    ]
    with db.connect() as conn:
        conn.insert(SPLITS, SPLITS.from_rows(rows))
    station_days = db.query(
        "SELECT DISTINCT station_id, play_date FROM airplay.playlogs WHERE track_id = ? AND play_date < ? "
        "ORDER BY play_date, station_id LIMIT ?",
        [recording, date.fromisoformat(f"{period}-01"), limit],
    )
    by_day: dict[date, list[str]] = defaultdict(list)
    for station, day in station_days.iter_rows():
        by_day[day].append(station)
    booked = datetime.combine(date.fromisoformat(f"{period}-10"), datetime.min.time())
    summary = PostingSummary()
    for day in sorted(by_day):
        summary.add(post_station_days(db, [(s, day) for s in by_day[day]], booked, f"split approved for {recording}"))
    return summary


def pay_out(db: Warehouse, period: str, previous: list[StatementDocument], seed: int) -> int:
    """Pay half the closing balance, on the 15th of `period`, to a fifth of the parties owed ≥ 100 EUR."""
    rng = np.random.default_rng([seed, int(period.replace("-", ""))])
    paid_on = date.fromisoformat(f"{period}-15")
    decisions = []
    for d in previous:
        if d.closing_minor >= 10_000 and rng.random() < 0.2:
            payout_id = f"PO-{period}-{d.party_id}"
            request = PayoutRequest(
                payout_id, d.party_id, d.currency, d.closing_minor // 200 * 100, paid_on, "approved", "finance", paid_on
            )
            decisions.append(PayoutDecision(request, "paid", "finance", None, batch_id_of(payout_id), None, True))
    at = datetime.combine(paid_on, datetime.min.time()) + timedelta(hours=12)
    return len(post_payouts(db, decisions, at))


# ---- reconciliation --------------------------------------------------------------------------------------


@dataclass
class Problems:
    """Reconciliation failures, and how many figures were compared."""

    found: list[str] = field(default_factory=list)
    compared: int = 0

    def check(self, ok: bool, message: str) -> None:
        self.compared += 1
        if not ok:
            self.found.append(message)


LEDGER_FIGURES = """
SELECT party_id, currency,
  CAST(-sum(CASE WHEN accounting_period < ? THEN amount_minor ELSE 0 END) AS BIGINT) AS opening,
  CAST(-sum(CASE WHEN accounting_period = ? AND entry_kind = 'posting' AND batch_id LIKE '%|r1'
      AND strftime(posted_for, '%Y-%m') = ? THEN amount_minor ELSE 0 END) AS BIGINT) AS earnings,
  CAST(-sum(CASE WHEN accounting_period = ? AND entry_kind = 'payout' THEN amount_minor ELSE 0 END) AS BIGINT)
      AS payouts,
  CAST(-sum(CASE WHEN accounting_period = ? THEN amount_minor ELSE 0 END) AS BIGINT) AS movement,
  CAST(-sum(amount_minor) AS BIGINT) AS closing
FROM royalties.royalty_ledger
WHERE account = 'party_payable' AND party_id IS NOT NULL AND accounting_period <= ?
GROUP BY party_id, currency
"""
"""A month's figures per party straight from the ledger: adjustments = movement − earnings − payouts."""


def reconcile_month(
    db: Warehouse,
    period: str,
    documents: list[StatementDocument],
    previous: dict[tuple[str, str], int],
    problems: Problems,
) -> None:
    """Every frozen statement of `period` against the ledger, its own detail and the previous month's closing."""
    ledger = {(r["party_id"], r["currency"]): r for r in db.query(LEDGER_FIGURES, [period] * 6).iter_rows(named=True)}
    docs = {(d.party_id, d.currency): d for d in documents}
    missing, extra = ledger.keys() - docs.keys(), docs.keys() - ledger.keys()
    problems.check(
        not missing and not extra,
        f"{period}: parties without statement {sorted(missing)[:5]}, "
        f"statements without ledger lines {sorted(extra)[:5]}",
    )
    for key, d in docs.items():
        r = ledger.get(key)
        if r is None:
            continue
        where = f"{period} {d.party_id} {d.currency}"
        adjustments = r["movement"] - r["earnings"] - r["payouts"]
        for name, want in (
            ("opening", r["opening"]),
            ("earnings", r["earnings"]),
            ("adjustments", adjustments),
            ("payouts", r["payouts"]),
            ("closing", r["closing"]),
        ):
            got = getattr(d, f"{name}_minor")
            problems.check(got == want, f"{where}: statement {name} {got} != ledger {want}")
        problems.check(
            d.closing_minor == d.opening_minor + d.earnings_minor + d.adjustments_minor + d.payouts_minor,
            f"{where}: closing != opening + earnings + adjustments + payouts",
        )
        problems.check(
            d.opening_minor == previous.get(key, 0), f"{where}: opening {d.opening_minor} != previous closing"
        )
        problems.check(sum(t.amount_minor for t in d.tracks) == d.earnings_minor, f"{where}: tracks != earnings")
        problems.check(sum(s.amount_minor for s in d.stations) == d.earnings_minor, f"{where}: stations != earnings")
        problems.check(
            sum(a.amount_minor for a in d.adjustments) == d.adjustments_minor, f"{where}: adjustment lines != total"
        )
        problems.check(sum(p.amount_minor for p in d.payouts) == d.payouts_minor, f"{where}: payout lines != total")
        if d.contract is not None:
            c = d.contract
            problems.check(
                c.balance_minor == d.closing_minor + c.deductions_to_date_minor, f"{where}: contract balance"
            )
            problems.check(c.payable_minor + c.carried_forward_minor == c.balance_minor, f"{where}: payable split")
            for pool in c.contracts:
                problems.check(
                    pool.remaining_minor == pool.advance_minor - pool.recouped_to_date_minor >= 0,
                    f"{where} {pool.contract_id}: remaining {pool.remaining_minor} != advance - recouped",
                )
                problems.check(pool.reserve_balance_minor >= 0, f"{where} {pool.contract_id}: negative reserve")


def reconcile_year(
    db: Warehouse,
    periods: list[str],
    frozen: dict[str, tuple[str, list[str]]],
    pdfs: dict[str, Path],
    problems: Problems,
) -> dict[str, int]:
    """Batches balance, closed months kept what their close froze, and one PDF a month reads back."""
    with db.connect() as conn:
        unbalanced = conn.query(
            "SELECT batch_id, currency FROM royalties.royalty_ledger GROUP BY batch_id, currency "
            "HAVING sum(amount_minor) <> 0"
        )
        problems.check(unbalanced.is_empty(), f"royalty ledger batches not summing to zero: {unbalanced.head(5)}")
        contract = unbalanced_batches(conn)
        problems.check(not contract, f"contract ledger batches not summing to zero: {contract[:5]}")
        counts = {
            "ledger_batches": int(conn.scalar("SELECT count(DISTINCT batch_id) FROM royalties.royalty_ledger")),
            "ledger_lines": int(conn.scalar(f"SELECT count(*) FROM {LEDGER.qualified_name}")),
            "contract_batches": int(conn.scalar("SELECT count(DISTINCT batch_id) FROM royalties.contract_ledger")),
        }
        states = period_states(conn)
        for period in periods:
            sha, documents = frozen[period]
            now = frozen_documents(conn, period)
            problems.check([d.to_json() for d in now] == documents, f"{period}: frozen documents changed")
            problems.check(statements_sha256(now) == sha == states[period].statements_sha256, f"{period}: sha256")
            problems.check(late_lines(conn, period) == 0, f"{period}: lines booked into it after its close")
    for period in periods:
        read_back = statement_documents(db, period)
        problems.check([d.to_json() for d in read_back] == frozen[period][1], f"{period}: statement_documents")
        document = StatementDocument.from_json(frozen[period][1][0]) if frozen[period][1] else None
        if document is not None and pdfs[period].exists():
            text = " ".join(page.extract_text() for page in PdfReader(pdfs[period]).pages)
            closing = format_amount(document.closing_minor, document.currency)
            problems.check(closing in text, f"{period}: {document.party_id}'s PDF does not show closing {closing}")
    return counts


# ---- the run ---------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, object]:
    """Generate, then post, correct, pay, close, render and reconcile month by month."""
    if args.work.exists():
        shutil.rmtree(args.work)
    (args.work / "statements").mkdir(parents=True)
    path = args.work / "warehouse.duckdb"
    db = Warehouse(f"duckdb:///{path}")
    started = time.perf_counter()
    plays = generate(db, path, args)
    print(
        f"generated {args.stations} stations × {args.months} months: {plays:,} plays in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )
    stations = [f"st{i:03d}" for i in range(args.stations)]
    periods = periods_of(args.months)
    problems = Problems()
    months: list[dict[str, object]] = []
    frozen: dict[str, tuple[str, list[str]]] = {}
    first_pdf: dict[str, Path] = {}
    previous_docs: list[StatementDocument] = []
    terms: list[ContractTerm] = []
    for index, period in enumerate(periods):
        posted, post_s, post_cpu = post_month(db, period, stations)
        corrected = late_split(db, period, index, args.restate_limit) if index else PostingSummary()
        payouts = pay_out(db, period, previous_docs, args.seed) if index else 0
        if not index:
            terms = contract_terms_for(db, args)
        at = datetime.combine(date.fromisoformat(f"{next_period(period)}-01"), datetime.min.time())
        started, cpu = time.perf_counter(), time.process_time()
        contracts = apply_contract_terms(db, period, at + timedelta(hours=5))
        contracts_s = time.perf_counter() - started
        closed = close_period(db, period, "bench controller", at + timedelta(hours=6))
        close_s, close_cpu = time.perf_counter() - started, time.process_time() - cpu
        documents = closed.documents
        folder = args.work / "statements" / period
        started, cpu, pdf_bytes = time.perf_counter(), time.process_time(), 0
        rendered = 0
        for d in documents:
            target = folder / f"{d.party_id}-{d.currency}.pdf"
            try:
                pdf_bytes += len(render_pdf([d], target))
                rendered += 1
            except LayoutError as exc:  # a statement ReportLab cannot lay out: a failure, listed, the run goes on
                problems.check(False, f"{period} {d.party_id}: no PDF, {str(exc).splitlines()[0][:160]}")
        pdf_s, pdf_cpu = time.perf_counter() - started, time.process_time() - cpu
        first_pdf[period] = folder / f"{documents[0].party_id}-{documents[0].currency}.pdf"
        started = time.perf_counter()
        csv_text = to_csv(documents)
        (folder / f"statements-{period}.csv").write_text(csv_text, encoding="utf-8")
        csv_s = time.perf_counter() - started
        previous = {(d.party_id, d.currency): d.closing_minor for d in previous_docs}
        reconcile_month(db, period, documents, previous, problems)
        frozen[period] = (closed.state.statements_sha256 or "", [d.to_json() for d in documents])
        previous_docs = documents
        month = {
            "period": period,
            "post_s": post_s,
            "post_cpu_s": post_cpu,
            "plays_posted": posted.plays_posted,
            "restated_station_days": corrected.batches_reversed,
            "payouts": payouts,
            "contract_batches": len(contracts.batches_posted),
            "contracts_s": contracts_s,
            "close_s": close_s,
            "close_cpu_s": close_cpu,
            "statements": len(documents),
            "pdfs": rendered,
            "with_contract": sum(d.contract is not None for d in documents),
            "with_adjustments": sum(bool(d.adjustments) for d in documents),
            "pdf_s": pdf_s,
            "pdf_cpu_s": pdf_cpu,
            "pdf_bytes": pdf_bytes,
            "csv_s": csv_s,
            "csv_bytes": len(csv_text.encode()),
            "rss_mib": rss_mib(),
        }
        months.append(month)
        print(
            f"{period}: posted {posted.plays_posted:,} plays in {post_s:.0f} s; restated {corrected.batches_reversed} "
            f"station-days, {payouts} payouts, {len(contracts.batches_posted)} contract batches; close "
            f"{close_s:.1f} s ({close_cpu:.1f} CPU-s; contracts {contracts_s:.1f} s); {len(documents):,} statements → "
            f"{rendered:,} PDFs in "
            f"{pdf_s:.1f} s ({pdf_cpu:.1f} CPU-s, {pdf_bytes / 2**20:.1f} MiB), CSV {csv_s:.1f} s; "
            f"problems so far {len(problems.found)}",
            flush=True,
        )
    started = time.perf_counter()
    counts = reconcile_year(db, periods, frozen, first_pdf, problems)
    return {
        "stations": args.stations,
        "months": args.months,
        "parties_with_terms": len({t.party_id for t in terms}),
        "terms": len(terms),
        "plays": plays,
        "per_month": months,
        "final_check_s": time.perf_counter() - started,
        "problems": problems.found,
        "figures_compared": problems.compared,
        "peak_rss_mib": rss_mib(),
        "duckdb_file_mib": path.stat().st_size / 2**20,
        **counts,
    }


def print_result(r: dict[str, object]) -> None:
    months: list[dict[str, float]] = r["per_month"]  # type: ignore[assignment]
    closes = [m["close_s"] for m in months]
    pdfs = sum(m["pdfs"] for m in months)
    pdf_s, pdf_cpu = sum(m["pdf_s"] for m in months), sum(m["pdf_cpu_s"] for m in months)
    pdf_bytes = sum(m["pdf_bytes"] for m in months)
    print(f"\n== closing {r['months']} months of {r['stations']} stations ==")
    print(
        f"plays {r['plays']:,}; ledger {r['ledger_lines']:,} lines in {r['ledger_batches']:,} batches; contract "
        f"ledger {r['contract_batches']:,} batches; {r['terms']} contract terms for {r['parties_with_terms']} "
        f"parties; DuckDB file {r['duckdb_file_mib']:,.0f} MiB; peak RSS {r['peak_rss_mib']:,.0f} MiB"
    )
    print(
        f"posting (not part of the close): {sum(m['post_s'] for m in months):.0f} s wall "
        f"({sum(m['post_cpu_s'] for m in months):.0f} CPU-s)"
    )
    print(
        f"close (apply_contract_terms + close_period) per month: median {statistics.median(closes):.1f} s, "
        f"max {max(closes):.1f} s (CPU median {statistics.median(m['close_cpu_s'] for m in months):.1f} s, "
        f"max {max(m['close_cpu_s'] for m in months):.1f} s); "
        f"contracts alone median {statistics.median(m['contracts_s'] for m in months):.2f} s"
    )
    print(
        f"PDF statements: {pdfs:,} ({pdf_bytes / 2**20:,.1f} MiB, {pdf_bytes / max(pdfs, 1) / 1024:.1f} KiB each) "
        f"in {pdf_s:.0f} s wall ({pdf_cpu:.0f} CPU-s): {pdfs / pdf_s:.1f} per second, "
        f"{pdfs / pdf_cpu:.1f} per CPU-second"
    )
    print(
        f"CSV: {sum(m['csv_bytes'] for m in months) / 2**20:,.1f} MiB in {sum(m['csv_s'] for m in months):.1f} s; "
        f"statements with contract sections {sum(m['with_contract'] for m in months):,}, with adjustments "
        f"{sum(m['with_adjustments'] for m in months):,}; payouts {sum(m['payouts'] for m in months):,}"
    )
    found: list[str] = r["problems"]  # type: ignore[assignment]
    print(
        f"reconciliation: {r['figures_compared']:,} checks ({r['final_check_s']:.0f} s for the year-end part), "
        f"{len(found)} failed" + ("".join(f"\n  {p}" for p in found[:20]))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stations", type=int, default=200)
    parser.add_argument("--months", type=int, default=12, help="from January 2026")
    parser.add_argument("--parties", type=int, default=3000, help="rights holders the splits are drawn from")
    parser.add_argument("--plays-per-day", type=int, default=137, help="per station-day, ±10")
    parser.add_argument("--recordings", type=int, default=2000)
    parser.add_argument("--restate-limit", type=int, default=40, help="station-days re-posted per late split")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--quick", action="store_true", help="20 stations × 3 months, 300 parties (a smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.stations, args.months, args.parties = 20, 3, 300
    args.work = args.work.resolve()  # the warehouse URL needs an absolute path
    result = run(args)
    print_result(result)
    (args.work / "results.json").write_text(json.dumps(result, indent=2, default=str))
    print(f"\nPython {sys.version.split()[0]}, DuckDB {duckdb.__version__}, polars {pl.__version__}")
    if result["problems"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
