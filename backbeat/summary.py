"""What a run produced, in a few lines a person reads at the end of `make demo`."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from assets.royalties.money import MINOR_UNIT_EXPONENT
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
        "CAST(sum(CASE WHEN amount_minor > 0 THEN amount_minor ELSE 0 END) AS BIGINT) AS debits, "
        "CAST(sum(amount_minor) AS BIGINT) AS balance, "
        "CAST(sum(CASE WHEN account = 'suspense' THEN -amount_minor ELSE 0 END) AS BIGINT) AS suspense "
        "FROM royalties.royalty_ledger GROUP BY currency ORDER BY currency"
    )
    for row in ledger.iter_rows(named=True):
        lines.append(
            f"ledger {row['currency']}: {row['lines']} lines in {row['batches']} batches, "
            f"debits {_major(row['debits'], row['currency'])}, balance {row['balance']} (must be 0), "
            f"in suspense {_major(row['suspense'], row['currency'])}"
        )
    rejected = warehouse.query(
        "SELECT asset, count(*) AS n FROM quarantine.rejected_rows GROUP BY asset ORDER BY asset"
    )
    if rejected.height:
        lines.append("quarantined: " + ", ".join(f"{a} {n}" for a, n in rejected.iter_rows()))
    export_dir = data_dir / "exports" / "finance"
    lines.append(f"finance export: {export_dir / 'parquet'} and {export_dir / 'finance.duckdb'}")
    return lines
