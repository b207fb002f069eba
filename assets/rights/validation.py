"""Split-sheet validation: identifier check digits and shares that sum to exactly 100 %."""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal
from typing import Any

from assets.common.quarantine import Reject

ISWC_PATTERN = re.compile(r"T-?([0-9]{3})\.?([0-9]{3})\.?([0-9]{3})-?([0-9])")
ROLES = frozenset({"writer", "composer", "lyricist", "arranger", "publisher", "sub-publisher"})
FULL_SHARE_BP = 10_000


def iswc_problem(value: str) -> str | None:
    """None when `value` is a well-formed ISWC with a valid check digit, else what is wrong."""
    match = ISWC_PATTERN.fullmatch(value)
    if not match:
        return "is not an ISWC (T-ddd.ddd.ddd-c)"
    digits = [int(d) for d in "".join(match.groups()[:3])]
    check = (10 - (1 + sum(i * d for i, d in enumerate(digits, start=1))) % 10) % 10
    return None if check == int(match.group(4)) else f"has check digit {match.group(4)}, expected {check}"


def share_bp(percent: Decimal) -> int | None:
    """Basis points of a percentage with at most two decimals; None when finer than that or out of range."""
    bp = percent * 100
    if bp != bp.to_integral_value() or not 0 < bp <= FULL_SHARE_BP:
        return None
    return int(bp)


def validate_split_rows(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Reject]]:
    """Rows of works whose every row is valid and whose shares sum to 100 %; rejects for the others.

    A work with any bad row is rejected whole: a partial split would pay the wrong people.
    """
    rejects: list[Reject] = []
    by_work: dict[str, list[dict[str, Any]]] = defaultdict(list)
    bad_works: set[str] = set()
    seen: dict[tuple[str, str, str], int] = {}
    for row in rows:
        by_work[row["work_id"]].append(row)
        problems = []
        if problem := iswc_problem(row["iswc"]):
            problems.append(("iswc", row["iswc"], f"iswc {problem}"))
        if row["role"] not in ROLES:
            problems.append(("role", row["role"], f"role must be one of {', '.join(sorted(ROLES))}"))
        row["share_bp"] = share_bp(row["share_percent"])
        if row["share_bp"] is None:
            problems.append(("share_percent", str(row["share_percent"]), "share must be >0, ≤100, 2 decimals at most"))
        key = (row["work_id"], row["party_id"], row["role"])
        if key in seen:
            problems.append(("party_id", row["party_id"], f"same party and role already on row {seen[key]}"))
        seen.setdefault(key, row["_row"])
        for field, value, reason in problems:
            rejects.append(Reject(row["_source_file"], row["_row"], field, value, reason))
        if problems:
            bad_works.add(row["work_id"])
    approved = []
    for work_id, work_rows in sorted(by_work.items()):
        if work_id in bad_works:
            continue
        total = sum(r["share_bp"] for r in work_rows)
        iswcs = {r["iswc"] for r in work_rows}
        first = work_rows[0]
        if total != FULL_SHARE_BP:
            rejects.append(Reject(first["_source_file"], first["_row"], "share_percent", f"{Decimal(total) / 100:.2f}",
                                  f"shares of work {work_id} sum to {Decimal(total) / 100:.2f} %, not 100.00 %"))
        elif len(iswcs) > 1:
            rejects.append(Reject(first["_source_file"], first["_row"], "iswc", ", ".join(sorted(iswcs)),
                                  f"work {work_id} has conflicting ISWCs"))
        else:
            approved.extend(work_rows)
    return approved, rejects
