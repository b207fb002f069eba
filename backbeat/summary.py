"""What a run produced, in a few lines a person reads at the end of `make demo`."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from backbeat.common.built_tables import query_if_built
from backbeat.royalties.money import MINOR_UNIT_EXPONENT
from backbeat.scoring import read_ground_truth, score_plays
from integrations.warehouse import Warehouse


def _major(minor: int, currency: str) -> Decimal:
    """Integer minor units shown in major units, exactly (no float on the way)."""
    return Decimal(int(minor)).scaleb(-MINOR_UNIT_EXPONENT.get(currency, 2))


def demo_summary(warehouse: Warehouse, data_dir: Path) -> list[str]:
    plays = warehouse.query("SELECT station_id, track_id, start_utc, end_utc FROM airplay.playlogs")
    lines = []
    truth_path = data_dir / "demo" / "ground_truth_plays.csv"
    if truth_path.exists():
        score = score_plays(plays, read_ground_truth(truth_path))
        lines.append(
            f"plays found: {score.predicted_plays} detected vs {score.truth_plays} in ground truth — "
            f"recall {score.recall:.1%}, precision {score.precision:.1%}, "
            f"median start error {score.median_start_error_s if score.median_start_error_s is not None else '-'} s"
        )
    ledger = warehouse.query(
        "SELECT currency, count(*) AS lines, count(DISTINCT batch_id) AS batches, "
        "count(DISTINCT CASE WHEN entry_kind = 'reversal' THEN batch_id END) AS reversals, "
        "CAST(sum(CASE WHEN account = 'station_receivable' THEN amount_minor ELSE 0 END) AS BIGINT) AS owed, "
        "CAST(sum(amount_minor) AS BIGINT) AS balance, "
        "CAST(sum(CASE WHEN account = 'suspense' THEN -amount_minor ELSE 0 END) AS BIGINT) AS suspense, "
        "CAST(sum(CASE WHEN account = 'hold' THEN -amount_minor ELSE 0 END) AS BIGINT) AS hold "
        "FROM royalties.royalty_ledger GROUP BY currency ORDER BY currency"
    )
    for row in ledger.iter_rows(named=True):
        cur = row["currency"]
        lines.append(
            f"ledger {cur}: {row['lines']} lines in {row['batches']} batches ({row['reversals']} reversed and "
            f"re-posted), stations owe {_major(row['owed'], cur)}, in suspense {_major(row['suspense'], cur)}, "
            f"on hold {_major(row['hold'], cur)}, balance {row['balance']} (must be 0)"
        )
    for sql, label in (
        ("SELECT status, count(*) FROM rights.review_tasks GROUP BY status ORDER BY status", "split-set review tasks"),
        ("SELECT status, count(*) FROM catalog.album_queue GROUP BY status ORDER BY status", "albums"),
        ("SELECT status, count(*) FROM curation.playlist_sync GROUP BY status ORDER BY status", "playlist syncs"),
    ):
        counts = query_if_built(warehouse, sql)
        if counts is not None and counts.height:
            lines.append(f"{label}: " + ", ".join(f"{n} {status}" for status, n in counts.iter_rows()))
    lines += _lifecycle_lines(warehouse)
    if query_if_built(warehouse, "SELECT count(*) FROM outreach.campaigns") is not None:
        from backbeat.outreach.figures import summary_lines
        from backbeat.outreach.funnel import conversion_lines, prospecting_lines

        lines += summary_lines(warehouse)  # the funnel per step, and that nothing was sent after a stop
        lines += prospecting_lines(warehouse) + conversion_lines(warehouse)  # discovery → … → airplay
    statements = query_if_built(warehouse, "SELECT period, count(*) FROM royalties.party_statements GROUP BY period")
    if statements is not None and statements.height:
        lines.append("party statements: " + ", ".join(f"{n} for {p}" for p, n in statements.iter_rows()))
    rejected = warehouse.query(
        "SELECT asset, count(*) AS n FROM quarantine.rejected_rows GROUP BY asset ORDER BY asset"
    )
    if rejected.height:
        lines.append("quarantined: " + ", ".join(f"{a} {n}" for a, n in rejected.iter_rows()))
    export_dir = data_dir / "exports" / "finance"
    lines.append(f"finance export: {export_dir / 'parquet'} and {export_dir / 'finance.duckdb'}")
    lines.append(
        f"monthly finance exports: {data_dir / 'exports' / 'finance-monthly'}; playlists not synced: "
        f"{data_dir / 'exports' / 'curation'}; Rekordbox: {data_dir / 'exports' / 'rekordbox'}"
    )
    return lines


DISPUTES_SQL = (
    "SELECT d.dispute_id, d.play_id, d.station_id, d.status, d.resolution, "
    "CAST(sum(CASE WHEN l.account = 'station_receivable' THEN l.amount_minor ELSE 0 END) AS BIGINT) AS charged, "
    "min(l.currency) AS currency FROM royalties.disputes d "
    "LEFT JOIN royalties.royalty_ledger l ON l.play_id = d.play_id "
    "GROUP BY d.dispute_id, d.play_id, d.station_id, d.status, d.resolution ORDER BY d.dispute_id"
)
PAYOUTS_SQL = (
    "SELECT p.payout_id, p.party_id, p.currency, p.amount_minor, p.status, p.paid_on, p.batch_id, "
    "count(l.line_no) AS lines, CAST(coalesce(sum(l.amount_minor), 0) AS BIGINT) AS balance "
    "FROM royalties.payouts p LEFT JOIN royalties.royalty_ledger l ON l.batch_id = p.batch_id "
    "GROUP BY p.payout_id, p.party_id, p.currency, p.amount_minor, p.status, p.paid_on, p.batch_id "
    "ORDER BY p.payout_id"
)
GAPS_SQL = (
    "SELECT station_id, gap_start_utc, gap_end_utc, seconds, attempts, reason FROM airplay.capture_gaps "
    "ORDER BY gap_start_utc, station_id"
)


def _lifecycle_lines(warehouse: Warehouse) -> list[str]:
    """Disputes with what the ledger charges for their play now, payouts with their batch, capture gaps, and
    Spotify account tokens: one line each kind, every item named."""
    lines = []
    disputes = query_if_built(warehouse, DISPUTES_SQL)
    if disputes is not None and disputes.height:
        items = []
        for d in disputes.iter_rows(named=True):
            state = f"{d['status']} {d['resolution']}" if d["resolution"] else d["status"]
            charged = f"{_major(d['charged'], d['currency'])} {d['currency']}" if d["currency"] else "nothing"
            items.append(f"{d['dispute_id']} {state} (play {d['play_id']} on {d['station_id']}, charged {charged})")
        lines.append("disputes: " + "; ".join(items))
    payouts = query_if_built(warehouse, PAYOUTS_SQL)
    if payouts is not None and payouts.height:
        items = []
        for p in payouts.iter_rows(named=True):
            item = (
                f"{p['payout_id']} {p['status']} {_major(p['amount_minor'], p['currency'])} {p['currency']} "
                f"to {p['party_id']}"
            )
            if p["batch_id"]:
                item += f" on {p['paid_on']} (batch {p['batch_id']}: {p['lines']} lines, balance {p['balance']})"
            items.append(item)
        lines.append("payouts: " + "; ".join(items))
    gaps = query_if_built(warehouse, GAPS_SQL)
    if gaps is not None and gaps.height:
        lines.append(
            "capture gaps: "
            + "; ".join(
                f"{g['station_id']} {g['gap_start_utc']:%Y-%m-%d %H:%M:%S}–"
                f"{format(g['gap_end_utc'], '%H:%M:%S') if g['gap_end_utc'] else '?'} "
                f"({g['seconds']:.1f} s, {g['attempts']} failed reconnects: {g['reason']})"
                for g in gaps.iter_rows(named=True)
            )
        )
    tokens = query_if_built(
        warehouse, "SELECT status, account_id FROM curation.account_tokens ORDER BY status, account_id"
    )
    if tokens is not None and tokens.height:
        by_status: dict[str, list[str]] = {}
        for status, account in tokens.iter_rows():
            by_status.setdefault(status, []).append(account)
        lines.append(
            "Spotify account tokens: "
            + ", ".join(f"{len(accounts)} {status} ({', '.join(accounts)})" for status, accounts in by_status.items())
        )
    return lines
