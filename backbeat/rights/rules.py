"""The split-sheet rules engine: the rules are data (`rules.yaml`: code, severity, message), the checks code.

`evaluate` runs every rule over the split sets read by `intake.py` and returns findings (rows for
`rights.validation_issues`); `set_statuses` turns them into what happens to each set:

- any **error** → `blocked`: the sheet must be corrected (a reviewer cannot approve it);
- **warnings** only → `open`: a review task waits for a reviewer's approve/reject;
- nothing, or **info** only → `approved` by the rules.

Each check yields `Hit`s with the placeholders its rule's message uses (beyond `subject_type`, `subject_id`,
`window`, `value`, which every message may use). Plain Python, no Dagster.
"""

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from backbeat.identifiers import ipi_problem, isrc_problem, iswc_problem, parse_isrc_or_none, parse_iswc_or_none
from backbeat.rights.intake import PartyRegister, folded_name, normalise_name
from backbeat.rights.roles import FULL_SHARE_BP, ROLE_GROUP, SUBJECT_GROUPS

RULES_FILE = Path(__file__).with_name("rules.yaml")
SEVERITIES = ("error", "warning", "info")
OCR_REVIEW_THRESHOLD = 80.0  # as integrations.ocr.REVIEW_THRESHOLD, which flags the fields
SCANNED_NAME_SCORE = 85.0  # rapidfuzz ratio at which a scanned name still "is" the registered one
NAMED_POOLS = frozenset({"writer", "publisher"})  # pools whose parties carry IPI name numbers
UNREAD_FIELD = "unread_text"  # provenance rows of scanned text read into no field (intake.read_scanned_sheet)
TITLE_SCORE = 90.0  # rapidfuzz ratio at which a scanned title still "is" the catalog's
# Checks whose findings must stay errors whatever rules.yaml says: a reviewer approving such a set would put
# shares that do not add up, or lines without a party or pool, into rights.splits.
HARD_CHECKS = frozenset(
    {
        "shares_sum_to_full",
        "share_format",
        "known_role",
        "role_allowed_for_subject",
        "party_identified",
        "party_once_per_pool",
        "no_overlapping_sets",
        "window_valid",
    }
)


@dataclass(frozen=True)
class Rule:
    """One row of `rules.yaml` / `rights.validation_rules`."""

    code: str
    check: str
    severity: str
    message: str
    description: str


@dataclass(frozen=True)
class Finding:
    """A rule that fired on a split set: one `rights.validation_issues` row."""

    split_set_id: str
    rule_code: str
    severity: str
    message: str
    source_file: str | None
    row_number: int | None
    field: str
    value: str | None
    subject_type: str
    subject_id: str
    party_id: str | None


@dataclass(frozen=True)
class Catalog:
    """What the catalog knows: recordings (track id → ISRC) and the works they embody."""

    recordings: dict[str, str | None] = field(default_factory=dict)
    works: frozenset[str] = frozenset()
    work_titles: dict[str, frozenset[str]] = field(default_factory=dict)
    """Titles the catalog knows a work by (its recordings' titles); empty: titles are not compared."""


def work_titles(work_ids: Iterable[str | None], titles: Iterable[str | None]) -> dict[str, frozenset[str]]:
    """Each work's titles from its recordings (catalog.tracks work_id, title): what RS022 compares with."""
    known: dict[str, set[str]] = defaultdict(set)
    for work_id, title in zip(work_ids, titles, strict=True):
        if work_id and title:
            known[work_id].add(title)
    return {work_id: frozenset(names) for work_id, names in known.items()}


@dataclass
class SplitSet:
    """The lines of one subject and validity window (from one or, if identical, several files)."""

    split_set_id: str
    subject_type: str
    subject_id: str
    valid_from: date | None
    valid_to: date | None
    lines: list[dict[str, Any]]

    @property
    def source_files(self) -> list[str]:
        return sorted({line["source_file"] for line in self.lines})

    @property
    def groups(self) -> set[str]:
        """Role groups (pools) the set has shares in; unknown roles are in none."""
        return {ROLE_GROUP[line["role"]] for line in self.lines if line["role"] in ROLE_GROUP}

    @property
    def window(self) -> str:
        if self.valid_from is None and self.valid_to is None:
            return "no validity dates"
        return f"{self.valid_from or 'the start'} to {self.valid_to or 'open end'}"


@dataclass
class Context:
    """What the checks look at."""

    sets: dict[str, SplitSet]
    provenance: list[dict[str, Any]]
    register: PartyRegister
    catalog: Catalog
    rejected_rows: dict[str, int]


@dataclass(frozen=True)
class Hit:
    """A check's finding before its rule's severity and message are applied."""

    split_set_id: str
    params: dict[str, Any] = field(default_factory=dict)
    line: dict[str, Any] | None = None
    field: str = ""
    value: Any = None
    party_id: str | None = None
    source_file: str | None = None


Check = Callable[[Context], Iterable[Hit]]
CHECKS: dict[str, Check] = {}


def check(name: str) -> Callable[[Check], Check]:
    def register(function: Check) -> Check:
        CHECKS[name] = function
        return function

    return register


# ---- Loading the rules ---------------------------------------------------------------------------------------


def load_rules(path: Path = RULES_FILE) -> list[Rule]:
    """The rules in `path`, validated: unique codes, known severities, a check in this module for each, and
    errors where a set must never be approved (HARD_CHECKS)."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    rules, seen = [], set()
    for entry in entries:
        missing = {"code", "check", "severity", "message", "description"} - set(entry)
        if missing:
            raise ValueError(f"{path.name}: rule {entry.get('code', '?')} lacks {', '.join(sorted(missing))}")
        rule = Rule(
            str(entry["code"]),
            str(entry["check"]),
            str(entry["severity"]),
            str(entry["message"]),
            " ".join(str(entry["description"]).split()),
        )
        if rule.code in seen:
            raise ValueError(f"{path.name}: rule code {rule.code} is used twice")
        if rule.severity not in SEVERITIES:
            raise ValueError(f"{path.name}: rule {rule.code} has severity {rule.severity!r}, not one of {SEVERITIES}")
        if rule.check not in CHECKS:
            raise ValueError(f"{path.name}: rule {rule.code} names no known check {rule.check!r}")
        if rule.check in HARD_CHECKS and rule.severity != "error":
            raise ValueError(
                f"{path.name}: rule {rule.code} ({rule.check}) must be an error: approving such a split "
                "set would break the approved splits"
            )
        seen.add(rule.code)
        rules.append(rule)
    return rules


def rule_rows(rules: list[Rule]) -> list[dict[str, Any]]:
    """`rights.validation_rules` rows."""
    return [{"code": r.code, "severity": r.severity, "message": r.message, "description": r.description} for r in rules]


# ---- Evaluating ----------------------------------------------------------------------------------------------


def split_sets(lines: list[dict[str, Any]]) -> dict[str, SplitSet]:
    """Lines grouped by their split set, each set's lines in file and row order."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in sorted(lines, key=lambda x: (x["source_file"], x["row_number"])):
        grouped[line["split_set_id"]].append(line)
    return {
        set_id: SplitSet(
            set_id,
            members[0]["subject_type"],
            members[0]["subject_id"],
            members[0]["valid_from"],
            members[0]["valid_to"],
            members,
        )
        for set_id, members in sorted(grouped.items())
    }


def evaluate(
    lines: list[dict[str, Any]],
    provenance: list[dict[str, Any]],
    register: PartyRegister,
    catalog: Catalog,
    rejected_rows: dict[str, int] | None = None,
    rules: list[Rule] | None = None,
) -> list[Finding]:
    """Every finding of every rule on the split sets the lines form, in a stable order."""
    context = Context(split_sets(lines), provenance, register, catalog, rejected_rows or {})
    findings = []
    for rule in rules if rules is not None else load_rules():
        for hit in CHECKS[rule.check](context):
            findings.append(_finding(rule, hit, context.sets[hit.split_set_id]))
    return sorted(
        findings,
        key=lambda f: (f.split_set_id, f.rule_code, f.source_file or "", f.row_number or 0, f.field, f.message),
    )


def _finding(rule: Rule, hit: Hit, split_set: SplitSet) -> Finding:
    line = hit.line or {}
    params = {
        "subject_type": split_set.subject_type,
        "subject_id": split_set.subject_id,
        "window": split_set.window,
        "value": hit.value,
        **hit.params,
    }
    return Finding(
        split_set_id=hit.split_set_id,
        rule_code=rule.code,
        severity=rule.severity,
        message=rule.message.format(**params),
        source_file=hit.source_file or line.get("source_file") or split_set.source_files[0],
        row_number=line.get("row_number"),
        field=hit.field,
        value=None if hit.value is None else str(hit.value),
        subject_type=split_set.subject_type,
        subject_id=split_set.subject_id,
        party_id=hit.party_id or line.get("party_id"),
    )


def set_statuses(set_ids: Iterable[str], findings: list[Finding]) -> dict[str, tuple[str, list[str]]]:
    """Each set's status (blocked, open, approved) and the codes of the rules that fired on it."""
    by_set: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_set[finding.split_set_id].append(finding)
    statuses = {}
    for set_id in sorted(set_ids):
        severities = {f.severity for f in by_set[set_id]}
        status = "blocked" if "error" in severities else "open" if "warning" in severities else "approved"
        statuses[set_id] = (status, sorted({f.rule_code for f in by_set[set_id]}))
    return statuses


def finding_rows(findings: list[Finding]) -> list[dict[str, Any]]:
    """`rights.validation_issues` rows."""
    return [vars(f) for f in findings]


# ---- The checks ----------------------------------------------------------------------------------------------


def _lines(context: Context) -> Iterator[tuple[SplitSet, dict[str, Any]]]:
    for split_set in context.sets.values():
        for line in split_set.lines:
            yield split_set, line


def _pct(bp: int) -> str:
    return f"{bp // 100}.{bp % 100:02d}"


@check("shares_sum_to_full")
def _shares_sum_to_full(context: Context) -> Iterator[Hit]:
    for split_set in context.sets.values():
        for group in sorted(split_set.groups):
            members = [line for line in split_set.lines if ROLE_GROUP.get(line["role"]) == group]
            if any(line["share_bp"] is None for line in members):
                continue  # a share that is not a number is its own finding; a sum would mislead
            total = sum(line["share_bp"] for line in members)
            if total != FULL_SHARE_BP:
                yield Hit(
                    split_set.split_set_id,
                    {"role_group": group, "total": _pct(total)},
                    field="share_percent",
                    value=_pct(total),
                )


@check("share_format")
def _share_format(context: Context) -> Iterator[Hit]:
    for split_set, line in _lines(context):
        if line["share_bp"] is None:
            yield Hit(split_set.split_set_id, line=line, field="share_percent", value=line["share_text"])


@check("known_role")
def _known_role(context: Context) -> Iterator[Hit]:
    known = ", ".join(sorted(ROLE_GROUP))
    for split_set, line in _lines(context):
        if line["role"] not in ROLE_GROUP:
            yield Hit(split_set.split_set_id, {"known": known}, line=line, field="role", value=line["role"])


@check("role_allowed_for_subject")
def _role_allowed_for_subject(context: Context) -> Iterator[Hit]:
    for split_set, line in _lines(context):
        group = ROLE_GROUP.get(line["role"])
        allowed = SUBJECT_GROUPS.get(split_set.subject_type, frozenset())
        if group is not None and group not in allowed:
            yield Hit(
                split_set.split_set_id,
                {"role": line["role"], "role_group": group, "allowed": " and ".join(sorted(allowed))},
                line=line,
                field="role",
                value=line["role"],
            )


def _identifier_hits(
    context: Context, column: str, problem_of: Callable[[str], str | None], once_per_set: bool
) -> Iterator[Hit]:
    for split_set in context.sets.values():
        seen = set()
        for line in split_set.lines:
            value = line[column]
            if not value or (once_per_set and value in seen):
                continue
            seen.add(value)
            if problem := problem_of(value):
                yield Hit(split_set.split_set_id, {"problem": problem}, line=line, field=column, value=value)


@check("iswc_valid")
def _iswc_valid(context: Context) -> Iterator[Hit]:
    # A typed sheet repeats the work's ISWC on every line: one finding per set and value is enough.
    yield from _identifier_hits(context, "iswc", iswc_problem, once_per_set=True)


@check("isrc_valid")
def _isrc_valid(context: Context) -> Iterator[Hit]:
    yield from _identifier_hits(context, "isrc", isrc_problem, once_per_set=True)


@check("ipi_valid")
def _ipi_valid(context: Context) -> Iterator[Hit]:
    yield from _identifier_hits(context, "ipi", ipi_problem, once_per_set=False)


@check("party_registered")
def _party_registered(context: Context) -> Iterator[Hit]:
    for split_set, line in _lines(context):
        if line["party_id"] and line["party_id"] not in context.register:
            yield Hit(
                split_set.split_set_id,
                {"party_id": line["party_id"], "name": line["party_name"] or "no name"},
                line=line,
                field="party_id",
                value=line["party_id"],
            )


@check("party_identified")
def _party_identified(context: Context) -> Iterator[Hit]:
    for split_set, line in _lines(context):
        if not line["party_id"]:
            yield Hit(
                split_set.split_set_id,
                {"name": line["party_name"] or ""},
                line=line,
                field="party_name",
                value=line["party_name"],
            )


@check("party_once_per_pool")
def _party_once_per_pool(context: Context) -> Iterator[Hit]:
    for split_set in context.sets.values():
        seen: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for line in split_set.lines:
            if line["party_id"] and line["role"] in ROLE_GROUP:
                seen[(ROLE_GROUP[line["role"]], line["party_id"])].append(line)
        for (group, party_id), members in sorted(seen.items()):
            if len(members) > 1:
                several_files = len({m["source_file"] for m in members}) > 1
                rows = ", ".join(
                    f"{m['source_file']}:{m['row_number']}" if several_files else str(m["row_number"]) for m in members
                )
                yield Hit(
                    split_set.split_set_id,
                    {"party_id": party_id, "count": len(members), "role_group": group, "rows": rows},
                    line=members[1],
                    field="party_id",
                    value=party_id,
                )


@check("ipi_unique_to_party")
def _ipi_unique_to_party(context: Context) -> Iterator[Hit]:
    """A line's IPI (as written, else the register's) that the register or another line of the same set gives
    to a different party. Sets that use an IPI correctly are left alone even if another sheet misuses it."""
    registered: dict[str, set[str]] = defaultdict(set)
    for party in context.register.parties.values():
        if party.ipi:
            registered[party.ipi].add(party.party_id)
    for split_set in context.sets.values():
        in_set: dict[str, set[str]] = defaultdict(set)
        ipi_of_line = {}
        for i, line in enumerate(split_set.lines):
            party = context.register.get(line["party_id"])
            ipi = line["ipi"] or (party.ipi if party else None)
            if ipi and line["party_id"]:
                in_set[ipi].add(line["party_id"])
                ipi_of_line[i] = ipi
        reported = set()
        for i, line in enumerate(split_set.lines):
            ipi = ipi_of_line.get(i)
            if ipi is None or ipi in reported:
                continue
            owners = registered[ipi] | in_set[ipi]
            if len(owners) > 1:
                reported.add(ipi)
                yield Hit(
                    split_set.split_set_id,
                    {"ipi": ipi, "parties": ", ".join(sorted(owners))},
                    line=line,
                    field="ipi",
                    value=ipi,
                )


def _same_name(written: str, registered: str, scanned: bool) -> bool:
    if not scanned:
        return normalise_name(written) == normalise_name(registered)
    from rapidfuzz import fuzz

    return fuzz.ratio(folded_name(written), folded_name(registered)) >= SCANNED_NAME_SCORE


@check("party_matches_register")
def _party_matches_register(context: Context) -> Iterator[Hit]:
    for split_set, line in _lines(context):
        party = context.register.get(line["party_id"])
        if party is None:
            continue
        scanned = line["min_confidence"] is not None
        if line["party_name"] and not _same_name(line["party_name"], party.name, scanned):
            yield Hit(
                split_set.split_set_id,
                {"party_id": party.party_id, "field": "name", "expected": party.name},
                line=line,
                field="party_name",
                value=line["party_name"],
            )
        if line["ipi"] and party.ipi and line["ipi"] != party.ipi:
            yield Hit(
                split_set.split_set_id,
                {"party_id": party.party_id, "field": "IPI", "expected": party.ipi},
                line=line,
                field="ipi",
                value=line["ipi"],
            )


def _overlap(a: SplitSet, b: SplitSet) -> tuple[date | None, date | None] | None:
    """The days two windows share (None ends are open), or None when they share none."""
    start = max((d for d in (a.valid_from, b.valid_from) if d is not None), default=None)
    end = min((d for d in (a.valid_to, b.valid_to) if d is not None), default=None)
    if start is not None and end is not None and end < start:
        return None
    for window in (a, b):  # a window that ends before it starts covers no day (its own finding, RS014)
        if window.valid_from and window.valid_to and window.valid_to < window.valid_from:
            return None
    return start, end


@check("no_overlapping_sets")
def _no_overlapping_sets(context: Context) -> Iterator[Hit]:
    by_subject: dict[tuple[str, str], list[SplitSet]] = defaultdict(list)
    for split_set in context.sets.values():
        by_subject[(split_set.subject_type, split_set.subject_id)].append(split_set)
    for sets in by_subject.values():
        for a in sets:
            for b in sets:
                if a is b or (shared := _overlap(a, b)) is None:
                    continue
                for group in sorted(a.groups & b.groups):
                    yield Hit(
                        a.split_set_id,
                        {
                            "other": b.split_set_id,
                            "other_file": ", ".join(b.source_files),
                            "role_group": group,
                            "start": shared[0] or "the start",
                            "end": shared[1] or "open end",
                        },
                        field="valid_from",
                        value=a.valid_from,
                        source_file=a.source_files[0],
                    )


@check("window_valid")
def _window_valid(context: Context) -> Iterator[Hit]:
    for split_set in context.sets.values():
        if split_set.valid_from and split_set.valid_to and split_set.valid_to < split_set.valid_from:
            yield Hit(
                split_set.split_set_id,
                {"valid_from": split_set.valid_from, "valid_to": split_set.valid_to},
                field="valid_to",
                value=split_set.valid_to,
            )


@check("ocr_confident")
def _ocr_confident(context: Context) -> Iterator[Hit]:
    sets_of_row: dict[tuple[str, int], set[str]] = defaultdict(set)
    sets_of_file: dict[str, set[str]] = defaultdict(set)
    line_of_row: dict[tuple[str, int], dict[str, Any]] = {}
    for split_set, line in _lines(context):
        sets_of_row[(line["source_file"], line["row_number"])].add(split_set.split_set_id)
        sets_of_file[line["source_file"]].add(split_set.split_set_id)
        line_of_row[(line["source_file"], line["row_number"])] = line
    for prov in context.provenance:
        if not prov["needs_review"] or prov["field"] == UNREAD_FIELD:  # unread text is RS021's finding
            continue
        key = (prov["source_file"], prov["row_number"])
        targets = sets_of_file[prov["source_file"]] if prov["row_number"] == 0 else sets_of_row.get(key, set())
        confidence = prov["confidence"]
        params = {
            "field": prov["field"],
            "page": prov["page"],
            "confidence": "none" if confidence is None else f"{confidence:.0f}",
            "threshold": f"{OCR_REVIEW_THRESHOLD:.0f}",
            "bbox": prov["bbox"] or "no box (not found)",
        }
        for set_id in sorted(targets):
            yield Hit(
                set_id,
                params,
                line=line_of_row.get(key),
                field=prov["field"],
                value=prov["value"],
                source_file=prov["source_file"],
            )


@check("iswc_consistent")
def _iswc_consistent(context: Context) -> Iterator[Hit]:
    where: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))  # work → ISWC → files
    for split_set, line in _lines(context):
        # Malformed ISWCs are RS005's findings; only valid ones can conflict.
        if split_set.subject_type == "work" and (iswc := parse_iswc_or_none(line["iswc"])):
            where[split_set.subject_id][iswc].append(line["source_file"])
    for split_set in context.sets.values():
        known = where.get(split_set.subject_id, {})
        if split_set.subject_type != "work" or len(known) < 2:
            continue
        reported = set()
        for line in split_set.lines:
            value = parse_iswc_or_none(line["iswc"])
            if value is None or value in reported:
                continue
            reported.add(value)
            other = min(iswc for iswc in known if iswc != value)
            yield Hit(
                split_set.split_set_id,
                {"other": other, "other_file": ", ".join(sorted(set(known[other])))},
                line=line,
                field="iswc",
                value=value,
            )


@check("isrc_matches_catalog")
def _isrc_matches_catalog(context: Context) -> Iterator[Hit]:
    for split_set in context.sets.values():
        expected = context.catalog.recordings.get(split_set.subject_id)
        if split_set.subject_type != "recording" or not expected:
            continue
        reported = set()
        for line in split_set.lines:
            # A malformed ISRC is RS006's finding; well-formed ones are compared with the catalog as normalised
            # (the printed NL-BB1-26-00001 is the catalog's NLBB12600001).
            isrc = parse_isrc_or_none(line["isrc"])
            if isrc is not None and isrc != parse_isrc_or_none(expected) and isrc not in reported:
                reported.add(isrc)
                yield Hit(split_set.split_set_id, {"expected": expected}, line=line, field="isrc", value=line["isrc"])


@check("subject_in_catalog")
def _subject_in_catalog(context: Context) -> Iterator[Hit]:
    for split_set in context.sets.values():
        known = context.catalog.works if split_set.subject_type == "work" else context.catalog.recordings
        if split_set.subject_id not in known:
            field_name = "work_id" if split_set.subject_type == "work" else "recording_id"
            yield Hit(split_set.split_set_id, field=field_name, value=split_set.subject_id)


@check("file_fully_read")
def _file_fully_read(context: Context) -> Iterator[Hit]:
    for split_set in context.sets.values():
        for source_file in split_set.source_files:
            if count := context.rejected_rows.get(source_file, 0):
                yield Hit(split_set.split_set_id, {"count": count, "source_file": source_file}, source_file=source_file)


@check("party_has_ipi")
def _party_has_ipi(context: Context) -> Iterator[Hit]:
    for split_set, line in _lines(context):
        party = context.register.get(line["party_id"])
        if (
            line["party_id"]
            and ROLE_GROUP.get(line["role"]) in NAMED_POOLS
            and not line["ipi"]
            and not (party and party.ipi)
        ):
            yield Hit(
                split_set.split_set_id,
                {"party_id": line["party_id"], "name": line["party_name"] or (party.name if party else "no name")},
                line=line,
                field="ipi",
            )


@check("page_fully_read")
def _page_fully_read(context: Context) -> Iterator[Hit]:
    """Every set of a scanned file with text that was read into no field: it may hold parties, shares or a
    second work, so none of the file's sets is approved by the rules alone."""
    sets_of_file: dict[str, set[str]] = defaultdict(set)
    for split_set, line in _lines(context):
        sets_of_file[line["source_file"]].add(split_set.split_set_id)
    for prov in context.provenance:
        if prov["field"] != UNREAD_FIELD:
            continue
        params = {"page": prov["page"], "bbox": prov["bbox"] or "no box"}
        for set_id in sorted(sets_of_file.get(prov["source_file"], ())):
            yield Hit(set_id, params, field=UNREAD_FIELD, value=prov["value"], source_file=prov["source_file"])


@check("title_matches_catalog")
def _title_matches_catalog(context: Context) -> Iterator[Hit]:
    for split_set in context.sets.values():
        known = context.catalog.work_titles.get(split_set.subject_id) if split_set.subject_type == "work" else None
        if not known:
            continue
        # Typed sheets carry their work id; a scan's work is named by its file name, which the title checks.
        if not any(line["min_confidence"] is not None for line in split_set.lines):
            continue
        for title in sorted({line["title"] for line in split_set.lines if line["title"]}):
            if not any(_same_title(title, expected) for expected in known):
                yield Hit(split_set.split_set_id, {"expected": " / ".join(sorted(known))}, field="title", value=title)


def _same_title(read: str, expected: str) -> bool:
    """Loosely equal (OCR misreads a letter now and then); a recording's "(Radio Edit)" or "[Remix]" is not
    part of the work's title."""
    from rapidfuzz import fuzz

    expected = re.sub(r"\s*[(\[].*$", "", expected)
    return fuzz.ratio(folded_name(read), folded_name(expected)) >= TITLE_SCORE


@check("scanned_pools_read")
def _scanned_pools_read(context: Context) -> Iterator[Hit]:
    """A scanned set with no line in one of its subject's pools (a publishers table not read): the pool's share
    stays in suspense (posting), and a person checks the sheet for the missing parties."""
    for split_set in context.sets.values():
        if not any(line["min_confidence"] is not None for line in split_set.lines):
            continue
        for group in sorted(SUBJECT_GROUPS.get(split_set.subject_type, frozenset()) - split_set.groups):
            yield Hit(split_set.split_set_id, {"role_group": group}, field="role")


def placeholders(template: str) -> set[str]:
    """Names a message template uses, e.g. {'value', 'problem'} for "ISWC {value!r} {problem}"."""
    return {m.group(1) for m in re.finditer(r"\{(\w+)(?:![rsa])?(?::[^}]*)?\}", template)}
