"""Rights assets: the rules as a table, split sheets read with provenance, rules and reviews applied, and the
approved splits, works, recordings, parties and contracts they give.

Flow: `rights/validation_rules` (rules.yaml) and `rights/split_sheet_lines` + `rights/field_provenance`
(every sheet in `inbox/rights/split_sheets/`, scans through OCR) feed the split-set review, which writes
`rights/validation_issues`, `rights/review_tasks` and, for approved split sets only, `rights/splits`, plus the
`rights/works`, `rights/recordings`, `rights/parties` and `rights/party_identifiers` registers;
`rights/contracts` + `rights/contract_parties` come from `inbox/rights/contracts.csv`.
"""

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import polars as pl
from dagster import AssetExecutionContext, AssetSpec, MaterializeResult, asset, multi_asset

from assets.common.keys import (
    CATALOG_TRACKS,
    RIGHTS_CONTRACT_PARTIES,
    RIGHTS_CONTRACTS,
    RIGHTS_FIELD_PROVENANCE,
    RIGHTS_PARTIES,
    RIGHTS_PARTY_IDENTIFIERS,
    RIGHTS_RECORDINGS,
    RIGHTS_REVIEW_TASKS,
    RIGHTS_SPLIT_SHEET_LINES,
    RIGHTS_SPLITS,
    RIGHTS_VALIDATION_ISSUES,
    RIGHTS_VALIDATION_RULES,
    RIGHTS_WORKS,
)
from assets.common.metadata import table_metadata
from assets.common.paths import DataDirResource
from backbeat.catalog.tables import TRACKS
from backbeat.common.quarantine import QUARANTINE, Reject, record_rejects
from backbeat.common.reference import keep_last_good, read_approvals, record_reference_event
from backbeat.identifiers import parse_ipi_or_none, parse_isrc_or_none, parse_iswc_or_none
from backbeat.rights import intake, review, rules
from backbeat.rights.in_force import splits_in_force
from backbeat.rights.tables import (
    CONTRACT_PARTIES,
    CONTRACTS,
    FIELD_PROVENANCE,
    PARTIES,
    PARTY_IDENTIFIERS,
    RECORDINGS,
    REVIEW_TASKS,
    SPLIT_SHEET_LINES,
    SPLITS,
    VALIDATION_ISSUES,
    VALIDATION_RULES,
    WORKS,
)
from backbeat.royalties.restatements import queue_restatements, station_days_of_recordings
from integrations.warehouse import Warehouse, WarehouseResource

GROUP = "rights"
INTAKE_ASSET = "rights/split_sheet_lines"  # quarantine name of rows the intake could not read
SPLITS_ASSET = "rights/splits"  # quarantine name of blocked split sets and of decisions that cannot apply
PARTIES_ASSET = "rights/parties"
CONTRACTS_ASSET = "rights/contracts"


# ---- The rules -----------------------------------------------------------------------------------------------


@asset(key=RIGHTS_VALIDATION_RULES, group_name=GROUP, kinds={"yaml", "sql"})
def validation_rules(warehouse: WarehouseResource) -> MaterializeResult:
    """One row per split-sheet validation rule: code, severity (error blocks, warning sends to review, info
    records), message template and description. Source: `backbeat/rights/rules.yaml` (rules as data)."""
    frame = VALIDATION_RULES.from_rows(rules.rule_rows(rules.load_rules()))
    warehouse.client().replace(VALIDATION_RULES, frame)
    counts = frame.group_by("severity").len().sort("severity")
    return MaterializeResult(
        metadata=table_metadata(frame, **{f"{severity}_rules": n for severity, n in counts.iter_rows()})
    )


# ---- Intake --------------------------------------------------------------------------------------------------


@multi_asset(
    name="split_sheet_intake",
    specs=[
        AssetSpec(
            RIGHTS_SPLIT_SHEET_LINES,
            group_name=GROUP,
            kinds={"csv", "xlsx", "ocr", "sql"},
            description="One row per line read from a split sheet (CSV, XLSX, scanned image or PDF) with "
            "its provenance (file, page, row) and split set. Source: inbox/rights/split_sheets/.",
        ),
        AssetSpec(
            RIGHTS_FIELD_PROVENANCE,
            group_name=GROUP,
            kinds={"ocr", "sql"},
            description="One row per field OCR read from a scanned split sheet: page, bounding box, "
            "confidence and whether it needs review. Source: scans in inbox/rights/split_sheets/.",
        ),
    ],
)
def split_sheet_intake(context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource):
    """Every split sheet in `inbox/rights/split_sheets/` read into lines grouped in split sets; scans (PNG,
    JPEG, TIFF, PDF) through OCR, with every field's page, box and confidence. Rows that cannot be placed in a
    split set (no subject, a date that is not a date) and unreadable files go to quarantine."""
    rights_inbox = data_dir.inbox / GROUP
    register, _ = intake.read_party_register(rights_inbox / "parties.csv")
    read = intake.read_split_sheets(rights_inbox / "split_sheets", rights_inbox, register)
    lines = SPLIT_SHEET_LINES.from_rows(read.lines).sort("source_file", "row_number")
    provenance = FIELD_PROVENANCE.from_rows(read.provenance).sort("source_file", "page", "row_number", "field")
    db = warehouse.client()
    db.replace(SPLIT_SHEET_LINES, lines)
    db.replace(FIELD_PROVENANCE, provenance)
    record_rejects(db, INTAKE_ASSET, "", read.rejects, context.log.warning)
    yield MaterializeResult(
        asset_key=RIGHTS_SPLIT_SHEET_LINES,
        metadata=table_metadata(
            lines, files=len(read.files), split_sets=lines["split_set_id"].n_unique(), rejected=len(read.rejects)
        ),
    )
    yield MaterializeResult(
        asset_key=RIGHTS_FIELD_PROVENANCE,
        metadata=table_metadata(provenance, fields_needing_review=int(provenance["needs_review"].sum() or 0)),
    )


# ---- Rules, reviews and what they approve --------------------------------------------------------------------

_REVIEW_DEPS = [
    RIGHTS_SPLIT_SHEET_LINES,
    RIGHTS_FIELD_PROVENANCE,
    RIGHTS_VALIDATION_RULES,
    CATALOG_TRACKS,
]


@multi_asset(
    name="split_set_review",
    specs=[
        AssetSpec(
            RIGHTS_VALIDATION_ISSUES,
            group_name=GROUP,
            kinds={"sql"},
            deps=_REVIEW_DEPS,
            description="One row per rule finding on a split set: rule code, severity, message, file, row and field.",
        ),
        AssetSpec(
            RIGHTS_REVIEW_TASKS,
            group_name=GROUP,
            kinds={"csv", "sql"},
            deps=_REVIEW_DEPS,
            description="One row per split set that needs a person: open (warnings), approved or rejected "
            "by a reviewer (inbox/rights/review_decisions/), or blocked (errors: fix the sheet).",
        ),
        AssetSpec(
            RIGHTS_SPLITS,
            group_name=GROUP,
            kinds={"sql"},
            deps=_REVIEW_DEPS,
            description="One row per approved share (split set × party × role); per subject, role group "
            "and window the shares sum to 10000 bp. Only these move money.",
        ),
        AssetSpec(
            RIGHTS_WORKS,
            group_name=GROUP,
            kinds={"sql"},
            deps=_REVIEW_DEPS,
            description="One row per musical work (composition): from the split sheets and the catalog.",
        ),
        AssetSpec(
            RIGHTS_RECORDINGS,
            group_name=GROUP,
            kinds={"sql"},
            deps=_REVIEW_DEPS,
            description="One row per recording (catalog.tracks and recording split sheets), linked to its work.",
        ),
        AssetSpec(
            RIGHTS_PARTIES,
            group_name=GROUP,
            kinds={"csv", "sql"},
            deps=_REVIEW_DEPS,
            description="One row per rights holder: the party register (inbox/rights/parties.csv) and "
            "parties first seen on an approved split.",
        ),
        AssetSpec(
            RIGHTS_PARTY_IDENTIFIERS,
            group_name=GROUP,
            kinds={"sql"},
            deps=_REVIEW_DEPS,
            description="One row per identifier (IPI) of a party.",
        ),
    ],
)
def split_set_review(context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource):
    """The rules applied to every split set and reviewers' decisions to the sets waiting for them: findings,
    review tasks, the approved splits, and the works, recordings and parties registers. Sources: the split-sheet
    lines, `inbox/rights/parties.csv`, `inbox/rights/review_decisions/*.csv` and `catalog.tracks`.

    A set with an error is blocked, one with warnings waits for a reviewer, a clean one is approved by the
    rules. When a subject's approved splits change, the station-days of its recordings' plays are queued for
    restatement."""
    rights_inbox = data_dir.inbox / GROUP
    db = warehouse.client()
    register, register_rejects = intake.read_party_register(rights_inbox / "parties.csv")
    lines = db.read(SPLIT_SHEET_LINES).to_dicts()
    provenance = db.read(FIELD_PROVENANCE).to_dicts()
    tracks = db.read(TRACKS)
    catalog = rules.Catalog(
        recordings=dict(zip(tracks["track_id"].to_list(), tracks["isrc"].to_list(), strict=True)),
        works=frozenset(w for w in tracks["work_id"].to_list() if w),
        work_titles=rules.work_titles(tracks["work_id"].to_list(), tracks["title"].to_list()),
    )
    unread = db.read(QUARANTINE, "asset = ? AND row_number IS NOT NULL", [INTAKE_ASSET])
    rejected_rows = dict(unread.group_by("source_file").len().iter_rows())

    findings = rules.evaluate(lines, provenance, register, catalog, rejected_rows)
    sets = rules.split_sets(lines)
    statuses = rules.set_statuses(sets, findings)
    decisions, decision_rejects = review.read_decisions(rights_inbox / "review_decisions", rights_inbox)
    approved_by_rules = [s for s, (status, _) in statuses.items() if status == "approved"]
    tasks, applied_rejects = review.apply_decisions(review.review_tasks(sets, statuses), decisions, approved_by_rules)

    issues = VALIDATION_ISSUES.from_rows(rules.finding_rows(findings))
    task_frame = REVIEW_TASKS.from_rows(tasks)
    previous_splits = db.read(SPLITS)
    unsettled = {(t["subject_type"], t["subject_id"]) for t in tasks if t["status"] in ("blocked", "open")}
    unreadable = db.read(QUARANTINE, "asset = ? AND row_number IS NULL", [INTAKE_ASSET])["source_file"].to_list()
    splits, in_force = splits_in_force(
        previous_splits,
        SPLITS.from_rows(review.approved_splits(sets, statuses, tasks)),
        unsettled,
        unreadable,
        read_approvals(data_dir.inbox),
    )
    previous_recordings = db.read(RECORDINGS)
    recordings = _with_earlier(
        RECORDINGS.from_rows(_recordings(sets, tracks)),
        previous_recordings,
        "recording_id",
        _subjects(splits, "recording"),
    )
    works = _with_earlier(
        WORKS.from_rows(_works(sets, splits, tracks)), db.read(WORKS), "work_id", _subjects(splits, "work")
    )
    parties = PARTIES.from_rows(_parties(register, sets, splits, db.read(PARTIES)))
    identifiers = PARTY_IDENTIFIERS.from_rows(
        [
            {"party_id": p, "scheme": "IPI", "value": ipi}
            for p, ipi in parties.select("party_id", "ipi").iter_rows()
            if ipi
        ]
    )

    # Queue before writing: if the write fails the next run queues again; the reverse could lose a restatement.
    changed = changed_subjects(previous_splits, splits)
    queued = _queue_restatements(db, changed, pl.concat([recordings, previous_recordings]))

    db.replace(VALIDATION_ISSUES, issues)
    db.replace(REVIEW_TASKS, task_frame)
    db.replace(SPLITS, splits)
    record_reference_event(db, SPLITS_ASSET, in_force)
    for note in in_force.reasons:
        context.log.warning(f"{SPLITS_ASSET}: {note}")
    db.replace(WORKS, works)
    db.replace(RECORDINGS, recordings)
    db.replace(PARTIES, parties)
    db.replace(PARTY_IDENTIFIERS, identifiers)
    blocked = [
        Reject(f.source_file or "", f.row_number, f.field, f.value or "", f"{f.rule_code}: {f.message}")
        for f in findings
        if f.severity == "error"
    ]
    record_rejects(db, SPLITS_ASSET, "", blocked + decision_rejects + applied_rejects, context.log.warning)
    record_rejects(db, PARTIES_ASSET, "", register_rejects, context.log.warning)

    status_counts = {status: 0 for status in ("approved", "open", "blocked", "rejected")}
    for status, _ in statuses.values():
        status_counts[status] += 1
    for task in tasks:  # reviewers' decisions move sets from open to approved or rejected
        if task["status"] in ("approved", "rejected"):
            status_counts["open"] -= 1
            status_counts[task["status"]] += 1
    yield MaterializeResult(
        asset_key=RIGHTS_VALIDATION_ISSUES,
        metadata=table_metadata(
            issues, **{f"{s}_findings": issues.filter(pl.col("severity") == s).height for s in rules.SEVERITIES}
        ),
    )
    yield MaterializeResult(
        asset_key=RIGHTS_REVIEW_TASKS,
        metadata=table_metadata(
            task_frame, decisions_read=len(decisions), decisions_rejected=len(decision_rejects) + len(applied_rejects)
        ),
    )
    yield MaterializeResult(
        asset_key=RIGHTS_SPLITS,
        metadata=table_metadata(
            splits,
            **{f"split_sets_{s}": n for s, n in status_counts.items()},
            subjects_changed=len(changed),
            restatements_queued=queued,
            **in_force.metadata(),
        ),
    )
    yield MaterializeResult(asset_key=RIGHTS_WORKS, metadata=table_metadata(works))
    yield MaterializeResult(asset_key=RIGHTS_RECORDINGS, metadata=table_metadata(recordings))
    yield MaterializeResult(
        asset_key=RIGHTS_PARTIES, metadata=table_metadata(parties, rejected_register_rows=len(register_rejects))
    )
    yield MaterializeResult(asset_key=RIGHTS_PARTY_IDENTIFIERS, metadata=table_metadata(identifiers))


def _first(values: Iterable[Any]) -> Any:
    return next((v for v in values if v), None)


def _subjects(splits: pl.DataFrame, kind: str) -> set[str]:
    return set(splits.filter(pl.col("subject_type") == kind)["subject_id"].to_list())


def _with_earlier(frame: pl.DataFrame, earlier: pl.DataFrame, key: str, wanted: set[str]) -> pl.DataFrame:
    """`frame` plus the earlier rows of the `wanted` keys it lacks: the works and recordings of splits kept in
    force from an earlier run stay registered."""
    missing = wanted - set(frame[key].to_list())
    if not missing:
        return frame
    return pl.concat([frame, earlier.filter(pl.col(key).is_in(sorted(missing)))]).sort(key)


def _works(sets: dict[str, rules.SplitSet], splits: pl.DataFrame, tracks: pl.DataFrame) -> list[dict[str, Any]]:
    """Works named on a sheet (ISWC and title from approved sets first) and works only the catalog knows."""
    approved = set(splits["split_set_id"].to_list())
    lines_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for split_set in sorted(sets.values(), key=lambda s: (s.split_set_id not in approved, s.split_set_id)):
        if split_set.subject_type == "work":
            lines_of[split_set.subject_id].extend(split_set.lines)
    rows = {}
    for work_id, lines in sorted(lines_of.items()):
        iswcs = (parse_iswc_or_none(line["iswc"]) for line in lines)
        rows[work_id] = {
            "work_id": work_id,
            "iswc": _first(iswcs),
            "title": _first(line["title"] for line in lines),
            "source_file": min(line["source_file"] for line in lines),
        }
    for work_id, title in tracks.sort("track_id").select("work_id", "title").iter_rows():
        if work_id and work_id not in rows:
            rows[work_id] = {"work_id": work_id, "iswc": None, "title": title, "source_file": None}
    return sorted(rows.values(), key=lambda r: r["work_id"])


def _recordings(sets: dict[str, rules.SplitSet], tracks: pl.DataFrame) -> list[dict[str, Any]]:
    """Catalog recordings with their work, plus recordings only a recording split sheet names."""
    rows = {
        r["track_id"]: {"recording_id": r["track_id"], "isrc": r["isrc"], "work_id": r["work_id"], "title": r["title"]}
        for r in tracks.to_dicts()
    }
    for split_set in sets.values():
        if split_set.subject_type == "recording" and split_set.subject_id not in rows:
            lines = split_set.lines
            rows[split_set.subject_id] = {
                "recording_id": split_set.subject_id,
                "work_id": None,
                "title": _first(x["title"] for x in lines),
                "isrc": _first(parse_isrc_or_none(x["isrc"]) for x in lines),
            }
    return sorted(rows.values(), key=lambda r: r["recording_id"])


def _parties(
    register: intake.PartyRegister, sets: dict[str, rules.SplitSet], splits: pl.DataFrame, previous: pl.DataFrame
) -> list[dict[str, Any]]:
    """The register's parties, plus parties a reviewer approved on a split before they were registered (from
    `previous` when that split is kept in force from an earlier run)."""
    rows = {
        p.party_id: {
            "party_id": p.party_id,
            "name": p.name,
            "ipi": p.ipi,
            "party_type": p.party_type,
            "source_file": register.source_file,
        }
        for p in register.parties.values()
    }
    earlier = {row["party_id"]: row for row in previous.to_dicts()}
    for set_id, party_id in splits.select("split_set_id", "party_id").iter_rows():
        if party_id in rows:
            continue
        if set_id not in sets:
            if party_id in earlier:
                rows[party_id] = earlier[party_id]
            continue
        lines = [line for line in sets[set_id].lines if line["party_id"] == party_id]
        rows[party_id] = {
            "party_id": party_id,
            "name": _first(x["party_name"] for x in lines),
            "party_type": None,
            "ipi": _first(parse_ipi_or_none(x["ipi"]) for x in lines),
            "source_file": lines[0]["source_file"],
        }
    return sorted(rows.values(), key=lambda r: r["party_id"])


def changed_subjects(before: pl.DataFrame, after: pl.DataFrame) -> list[tuple[str, str]]:
    """(subject_type, subject_id) whose approved shares differ: new, corrected or withdrawn."""
    columns = ["party_id", "role", "share_bp", "valid_from", "valid_to"]

    def shares(frame: pl.DataFrame) -> dict[tuple[str, str], set[tuple]]:
        grouped: dict[tuple[str, str], set[tuple]] = defaultdict(set)
        for row in frame.select("subject_type", "subject_id", *columns).iter_rows():
            grouped[(row[0], row[1])].add(row[2:])
        return grouped

    old, new = shares(before), shares(after)
    return sorted(s for s in old.keys() | new.keys() if old.get(s) != new.get(s))


def _queue_restatements(db: Warehouse, subjects: list[tuple[str, str]], recordings: pl.DataFrame) -> int:
    """Queue the station-days of the plays of the recordings whose (or whose work's) splits changed."""
    if not subjects or not _table_exists(db, "airplay", "playlogs"):
        return 0
    works = {sid for kind, sid in subjects if kind == "work"}
    recording_ids = {sid for kind, sid in subjects if kind == "recording"}
    recording_ids |= {rid for rid, wid in recordings.select("recording_id", "work_id").iter_rows() if wid in works}
    names = [f"{kind} {sid}" for kind, sid in subjects]
    reason = (
        "approved splits changed: " + ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    )
    return queue_restatements(db, station_days_of_recordings(db, recording_ids), reason)


def _table_exists(db: Warehouse, schema: str, name: str) -> bool:
    found = db.scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, name]
    )
    return bool(found)


# ---- Contracts -----------------------------------------------------------------------------------------------


@multi_asset(
    name="rights_contracts",
    specs=[
        AssetSpec(
            RIGHTS_CONTRACTS,
            group_name=GROUP,
            kinds={"csv", "sql"},
            deps=[RIGHTS_PARTIES],
            description="One row per contract between parties (document, dates, terms). Source: "
            "inbox/rights/contracts.csv.",
        ),
        AssetSpec(
            RIGHTS_CONTRACT_PARTIES,
            group_name=GROUP,
            kinds={"csv", "sql"},
            deps=[RIGHTS_PARTIES],
            description="One row per party to a contract, with its role. Source: inbox/rights/contracts.csv.",
        ),
    ],
)
def rights_contracts(context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource):
    """Contracts from `inbox/rights/contracts.csv` (contract_id, title, document, start_date, end_date, terms,
    party_ids as `PTY001:publisher;PTY007`), their parties checked against `rights.parties`; bad rows and
    unknown parties go to quarantine."""
    db = warehouse.client()
    known = set(db.read(PARTIES)["party_id"].to_list())
    contracts, parties, rejects = intake.read_contracts(
        data_dir.inbox / GROUP / "contracts.csv", "contracts.csv", known
    )
    # Contracts are few and each is read whole: an unreadable file or any rejected row removes none of them.
    complete = not any(r.row_number is None for r in rejects)
    contract_frame = keep_last_good(
        db,
        CONTRACTS,
        CONTRACTS_ASSET,
        CONTRACTS.from_rows(contracts),
        complete=complete,
        inbox=data_dir.inbox,
        unknown_rejects=bool(rejects),
        log=context.log.warning,
    ).frame.sort("contract_id")
    party_frame = keep_last_good(
        db,
        CONTRACT_PARTIES,
        "rights/contract_parties",
        CONTRACT_PARTIES.from_rows(parties),
        complete=complete,
        inbox=data_dir.inbox,
        unknown_rejects=bool(rejects),
        log=context.log.warning,
    ).frame.sort("contract_id", "party_id")
    record_rejects(db, CONTRACTS_ASSET, "", rejects, context.log.warning)
    yield MaterializeResult(asset_key=RIGHTS_CONTRACTS, metadata=table_metadata(contract_frame, rejected=len(rejects)))
    yield MaterializeResult(asset_key=RIGHTS_CONTRACT_PARTIES, metadata=table_metadata(party_frame))
