"""Score the OCR split-sheet intake on generated sheets of every layout, the way the rights pipeline reads them.

    .venv/bin/python bench/ocr/run.py [--per-layout 4] [--json out.json]

Each sheet goes through `read_scanned_sheet` (file → lines + provenance), then the rights rules
(`evaluate`, `set_statuses`), exactly as the rights assets call them; a reviewer is never assumed. Every
ground-truth field (title, ISWC, and per party: who, role, IPI, share) is then counted as

- **right**: read as written;
- **wrong, flagged**: read wrong (or a line that is no party, e.g. a note read as a row), and its split set is
  not approved by the rules (blocked, or waiting for a reviewer);
- **wrong, silent**: read wrong and its split set approved by the rules;
- **missing**: not read at all (a dropped table, a dropped work).

A set **approved with a silent error** is one the rules approved while a field of its work is wrong or
missing, or while a work of its document was dropped (target: 0). Seconds per page is the wall time of
`read_scanned_sheet` divided by the pages. Runs against whatever `assets`/`integrations` the import path
gives (PYTHONPATH), so the same script measures the code before and after a change.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter, defaultdict
from dataclasses import fields
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sheets import Sheet, Work, generate  # noqa: E402

from backbeat.rights.intake import (  # noqa: E402
    PartyRegister,
    RegisteredParty,
    assign_split_sets,
    read_scanned_sheet,
)
from backbeat.rights.rules import Catalog, evaluate, set_statuses  # noqa: E402

WORK_DIR = Path(__file__).resolve().parents[1] / ".work" / "ocr"
KINDS = ("right", "wrong_flagged", "wrong_silent", "missing")


def register_of(sheets: list[Sheet]) -> PartyRegister:
    parties = {}
    for sheet in sheets:
        for work in sheet.works:
            for p in work.parties:
                kind = "company" if p.role == "publisher" else "person"
                parties[p.party_id] = RegisteredParty(p.party_id, p.name, p.ipi, kind)
    return PartyRegister(parties)


def catalog_of(sheets: list[Sheet]) -> Catalog:
    """The catalog knows each file's first work (the file is named after it), with its title when the rules
    can compare titles."""
    works = {sheet.works[0].work_id: sheet.works[0].title for sheet in sheets}
    names = {f.name for f in fields(Catalog)}
    if "work_titles" in names:
        return Catalog(works=frozenset(works), work_titles={k: frozenset({v}) for k, v in works.items()})
    return Catalog(works=frozenset(works))


def norm(text: str | None) -> str:
    return re.sub(r"\s+", " ", (text or "")).strip().casefold()


def score_sheet(sheet: Sheet, lines: list[dict], statuses: dict[str, tuple[str, list[str]]]) -> dict:
    """Counts of right / wrong_flagged / wrong_silent / missing, and the sets approved (with a silent error)."""
    counts: Counter[str] = Counter()
    by_work: dict[str, list[dict]] = defaultdict(list)
    for line in lines:
        by_work[line["subject_id"]].append(line)
    truth_ids = {w.work_id for w in sheet.works}
    dropped = any(w.work_id not in by_work for w in sheet.works)
    bad_sets: set[str] = set()

    def count(kind: str, set_id: str | None) -> None:
        if kind == "wrong":
            approved = set_id is not None and statuses.get(set_id, ("",))[0] == "approved"
            kind = "wrong_silent" if approved else "wrong_flagged"
        counts[kind] += 1
        if kind != "right" and set_id is not None:
            bad_sets.add(set_id)

    for work in sheet.works:
        score_work(work, by_work.get(work.work_id, []), count)
    for subject, extra in by_work.items():  # sets of works the sheet does not hold: every line is wrong
        if subject not in truth_ids:
            for line in extra:
                count("wrong", line["split_set_id"])
    approved = {s for s in {line["split_set_id"] for line in lines} if statuses[s][0] == "approved"}
    silent = {s for s in approved if s in bad_sets or dropped}
    return {
        "counts": counts,
        "sets": len({line["split_set_id"] for line in lines}),
        "approved": len(approved),
        "approved_silent": len(silent),
    }


def score_work(work: Work, lines: list[dict], count) -> None:
    set_id = lines[0]["split_set_id"] if lines else None
    titles = {line["title"] for line in lines}
    iswcs = {line["iswc"] for line in lines}
    for truth, read in ((work.title, titles), (work.iswc, iswcs)):
        values = {norm(v) for v in read if v}
        count("missing" if not values else "right" if values == {norm(truth)} else "wrong", set_id)
    unmatched = list(lines)
    for party in work.parties:
        line = next((x for x in unmatched if x["party_id"] == party.party_id), None)
        if line is None:
            line = max(unmatched, key=lambda x: _similar(x["party_name"], party.name), default=None)
            if line is not None and _similar(line["party_name"], party.name) < 0.6:
                line = None
        if line is None:
            for _ in range(3 + (party.ipi is not None)):
                count("missing", set_id)
            continue
        unmatched.remove(line)
        count("right" if line["party_id"] == party.party_id else "wrong", set_id)
        count("right" if norm(line["role"]) == party.role else "wrong", set_id)
        expected_bp = int(party.share * 100) if party.share * 100 == int(party.share * 100) else None
        count("right" if line["share_bp"] is not None and line["share_bp"] == expected_bp else "wrong", set_id)
        if party.ipi is not None:
            count("missing" if not line["ipi"] else "right" if line["ipi"] == party.ipi else "wrong", set_id)
        elif line["ipi"]:
            count("wrong", set_id)
    for _ in unmatched:  # a note, footer or heading read as a party row
        count("wrong", set_id)


def _similar(a: str | None, b: str) -> float:
    from difflib import SequenceMatcher

    return SequenceMatcher(None, norm(a), norm(b)).ratio()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-layout", type=int, default=4)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    sheets = generate(args.per_layout)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    register, catalog = register_of(sheets), catalog_of(sheets)
    per_layout: dict[str, dict] = defaultdict(
        lambda: {
            "counts": Counter(),
            "sets": 0,
            "approved": 0,
            "approved_silent": 0,
            "seconds": 0.0,
            "pages": 0,
            "quarantined": 0,
        }
    )
    for sheet in sheets:
        path = WORK_DIR / sheet.file_name
        if len(sheet.pages) == 1:
            sheet.pages[0].save(path, dpi=sheet.pages[0].info.get("dpi", (150, 150)))
        else:
            sheet.pages[0].save(path, save_all=True, append_images=sheet.pages[1:])
        started = time.perf_counter()
        lines, provenance, rejects = read_scanned_sheet(path, sheet.file_name, register)
        elapsed = time.perf_counter() - started
        lines = assign_split_sets(lines)  # as read_split_sheets does
        findings = evaluate(lines, provenance, register, catalog)
        statuses = set_statuses({line["split_set_id"] for line in lines}, findings)
        result = score_sheet(sheet, lines, statuses)
        row = per_layout[sheet.layout]
        row["counts"].update(result["counts"])
        for key in ("sets", "approved", "approved_silent"):
            row[key] += result[key]
        row["seconds"] += elapsed
        row["pages"] += len(sheet.pages)
        row["quarantined"] += bool(rejects and not lines)
    print_table(per_layout)
    if args.json:
        args.json.write_text(
            json.dumps({k: {**v, "counts": dict(v["counts"])} for k, v in per_layout.items()}, indent=2)
        )


def print_table(per_layout: dict[str, dict]) -> None:
    header = (
        "| layout | fields | right | wrong, flagged | wrong, silent | missing | files quarantined "
        "| sets approved | approved with a silent error | s/page |"
    )
    print(header)
    print("|" + "|".join("---" for _ in range(10)) + "|")
    total: Counter[str] = Counter()
    totals = Counter()
    for layout, row in per_layout.items():
        counts = row["counts"]
        total.update(counts)
        for key in ("approved", "approved_silent", "pages", "quarantined"):
            totals[key] += row[key]
        totals["seconds"] += row["seconds"]
        print(
            f"| {layout} | {sum(counts.values())} | "
            + " | ".join(str(counts[k]) for k in KINDS)
            + f" | {row['quarantined']} | {row['approved']} | {row['approved_silent']} "
            f"| {row['seconds'] / row['pages']:.1f} |"
        )
    print(
        f"| **all** | {sum(total.values())} | "
        + " | ".join(str(total[k]) for k in KINDS)
        + f" | {totals['quarantined']} | {totals['approved']} | {totals['approved_silent']} "
        f"| {totals['seconds'] / max(totals['pages'], 1):.1f} |"
    )


if __name__ == "__main__":
    main()
