"""Which approved splits stay in force: a split set that cannot be read or is no longer approved by the rules
keeps its last approved shares until a person or a valid sheet settles it.

Plain Python over polars frames. A subject's (work's or recording's) approved shares are withdrawn only when
- a reviewer rejected its split set, or
- its sheet is gone from the inbox, or was read whole and no longer names the subject,
and re-routed only when a new version of its set was approved. Withdrawals and re-routings of more than a fifth
of the subjects in force (and at least two) are held for a person (`backbeat reference approve`).
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from backbeat.common.reference import HoldPolicy, Reconciled, reconcile

SUBJECT = ["subject_type", "subject_id"]
SHARE_COLUMNS = ["party_id", "role", "share_bp", "valid_from", "valid_to"]
SPLITS_POLICY = HoldPolicy(max_share=0.2, min_rows=2)


def _by_subject(splits: pl.DataFrame) -> pl.DataFrame:
    """One row per subject with its shares as one comparable string."""
    if splits.is_empty():
        return pl.DataFrame(schema={"subject_type": pl.Utf8, "subject_id": pl.Utf8, "shares": pl.Utf8})
    rows: dict[tuple[str, str], list[str]] = {}
    for row in splits.select(*SUBJECT, *SHARE_COLUMNS).iter_rows():
        rows.setdefault((row[0], row[1]), []).append(repr(row[2:]))
    return pl.DataFrame(
        [(t, s, "|".join(sorted(v))) for (t, s), v in rows.items()],
        schema={"subject_type": pl.Utf8, "subject_id": pl.Utf8, "shares": pl.Utf8},
        orient="row",
    )


def splits_in_force(
    previous: pl.DataFrame,
    approved: pl.DataFrame,
    unsettled: Iterable[tuple[str, str]],
    unreadable_files: Iterable[str],
    approvals: set[str],
) -> tuple[pl.DataFrame, Reconciled]:
    """The splits to write: this run's approved splits, plus the previous splits of subjects that are unsettled
    (their set is blocked or waits for a reviewer) or whose sheet could not be read, and of subjects whose
    withdrawal or re-routing is held for review."""
    unreadable = set(unreadable_files)
    keep = set(unsettled) | {
        (t, s) for t, s, f in previous.select(*SUBJECT, "source_file").iter_rows() if f in unreadable
    }
    result = reconcile(
        "rights/splits",
        _by_subject(previous),
        _by_subject(approved),
        SUBJECT,
        complete=True,
        rejected_keys=keep,
        routing=["shares"],
        approved=approvals,
        policy=SPLITS_POLICY,
    )
    new_shares = dict(((t, s), v) for t, s, v in _by_subject(approved).iter_rows())
    chosen = {(t, s): v for t, s, v in result.frame.iter_rows()}
    from_new = {k for k, v in chosen.items() if new_shares.get(k) == v}
    from_previous = set(chosen) - from_new

    def subjects(frame: pl.DataFrame, wanted: set[tuple[str, str]]) -> pl.DataFrame:
        mask = [(t, s) in wanted for t, s in frame.select(*SUBJECT).iter_rows()]
        return frame.filter(pl.Series(mask, dtype=pl.Boolean)) if frame.height else frame

    kept = subjects(previous, from_previous)
    return pl.concat([subjects(approved, from_new), kept.select(approved.columns)]), result
