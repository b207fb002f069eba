"""Hygiene at intake: every address found or imported is normalised and checked before it can become a prospect.

Normalisation (`normalise_address`), with `email-validator` offline (no DNS):

- surrounding spaces, `<...>` and a `mailto:` prefix are removed; a single trailing dot after the domain (the
  fully qualified form, `user@example.com.`) is dropped: it names the same domain;
- the domain is lower-cased and put in its IDNA ASCII form (`Bücher.de` → `xn--bcher-kva.de`), so that an
  address typed in Unicode and the same one typed in punycode match, and match `outreach.suppressions`;
- needless quotes are removed (`"jo"@x.com` → `jo@x.com`); a local part that really needs quotes
  (`"jo doe"@x.com`) is refused: it is valid RFC 5321 but most mail systems and tools mishandle it;
- the local part is kept as typed in `display`; the matching key `email` lower-cases it. RFC 5321 lets a
  server treat `Jo` and `jo` as two mailboxes, but no mail provider we write to does, and the outreach engine
  already keys contacts on the lower-cased address (`ids.contact_id`, `org_contacts.email = lower(email)`), so
  lower-casing is safe *for matching and storage*; nothing else in the local part (dots, `+tags`) is changed.
  Internationalised (SMTPUTF8) local parts are accepted and lower-cased the same way for the key.

Rules, in the order applied; a row is refused by the first that fails, so the per-rule counts add up to the
rows refused (the rule names are `prospecting_tables.HYGIENE_RULES`):

1. `syntax` — empty, unparsable, quoted local part, special-use domain (`.test`, `.invalid`, `localhost`...).
2. `suppressed` — the address, its domain or a parent domain is in `outreach.suppressions` (clear or purged
   hash), as `suppression.matching_suppressions` sees it (loaded once per batch by `SuppressionIndex`).
3. `undeliverable` — enrichment's verifier said so for this address.
4. `disposable` — the domain or a parent domain is on `disposable_email_domains.blocklist` (a maintained
   list from a package) and not on its allowlist.
5. `role_account` — the local part (without `+tag`, ignoring `.`, `-`, `_`) is a mailbox of a function, not a
   person (`ROLE_ACCOUNTS`).
6. `duplicate` — the same normalised address was accepted earlier in the batch or is already on file.

Plus-addressing (`jo+promo@x.com` vs `jo@x.com`) and, at Gmail, dots in the local part are only a duplicate
*hint* on the later row: they usually reach the same person, but not always, so both rows are kept.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import disposable_email_domains
from email_validator import EmailNotValidError, validate_email

from backbeat.common.quarantine import Reject, record_rejects
from backbeat.outreach.prospecting_tables import CANDIDATE_EMAILS, HYGIENE_REJECTS
from backbeat.outreach.suppression import Queryable, address_hash, effective_suppressions
from integrations.warehouse import Warehouse

RULES = ("syntax", "suppressed", "undeliverable", "disposable", "role_account", "duplicate")
"""Hygiene rules in the order they are applied (each a value of `prospecting_tables.HYGIENE_RULES`)."""

ROLE_ACCOUNTS = frozenset(
    {
        # mail and network operations (RFC 2142 and friends)
        "abuse",
        "hostmaster",
        "mailerdaemon",
        "noc",
        "postmaster",
        "root",
        "security",
        "sysadmin",
        "webmaster",
        "www",
        # no one reads these
        "bounce",
        "bounces",
        "donotreply",
        "noreply",
        "unsubscribe",
        "listrequest",
        # a department or a function, not a person
        "accounting",
        "accounts",
        "admin",
        "administrator",
        "billing",
        "careers",
        "compliance",
        "help",
        "helpdesk",
        "hr",
        "info",
        "jobs",
        "legal",
        "marketing",
        "office",
        "orders",
        "privacy",
        "sales",
        "support",
    }
)
"""Local parts (lower-cased, `+tag` removed, `.`/`-`/`_` dropped: `no-reply` == `noreply` == `no_reply`) that
name a function rather than a person. Deliberately absent: `music`, `submissions`, `demos`, `programming`,
`promo`, `press`, `contact`, `hello` — at radio stations and blogs these are often the right inbox for a track."""

GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
"""Domains that ignore dots in the local part (a duplicate hint only)."""


class InvalidAddress(ValueError):
    """An address that cannot be taken in: `reason` says why, in words a person can act on."""

    def __init__(self, value: str, reason: str) -> None:
        super().__init__(f"{value!r}: {reason}")
        self.value = value
        self.reason = reason


@dataclass(frozen=True)
class Address:
    """A normalised address.

    `email` is the matching and storage key (lower-case local part, IDNA ASCII domain); `display` keeps the local
    part as typed with the domain lower-cased in Unicode; `changes` lists what normalisation did to the input.
    """

    email: str
    display: str
    local_part: str
    domain: str
    changes: tuple[str, ...] = ()

    @property
    def mailbox_hint_key(self) -> str:
        """The address without `+tag` (and without dots at Gmail): equal keys probably reach the same inbox."""
        local = self.email.rpartition("@")[0].split("+", 1)[0]
        if self.domain in GMAIL_DOMAINS:
            local = local.replace(".", "")
        return f"{local}@{self.domain}"


def normalise_address(text: str, *, allow_test_domains: bool = False) -> Address:
    """`text` normalised as the module docstring says; InvalidAddress when it cannot be.

    `allow_test_domains` accepts the special-use `.test` domain (local demos); other special-use names
    (`.invalid`, `.local`, `localhost`, ...) are always refused.
    """
    if text is None or not str(text).strip():
        raise InvalidAddress(str(text or ""), "no address given")
    changes: list[str] = []
    value = str(text)
    candidate = value.strip()
    if candidate != value:
        changes.append("surrounding spaces removed")
    if candidate.startswith("<") and candidate.endswith(">"):
        candidate = candidate[1:-1].strip()
        changes.append("angle brackets removed")
    if candidate[:7].lower() == "mailto:":
        candidate = candidate[7:]
        changes.append("mailto: removed")
    if candidate.endswith(".") and not candidate.endswith("..") and "@" in candidate:
        candidate = candidate[:-1]
        changes.append("trailing dot of the domain removed")
    try:
        checked = validate_email(
            candidate,
            check_deliverability=False,
            allow_quoted_local=True,
            allow_domain_literal=False,
            test_environment=allow_test_domains,
        )
    except EmailNotValidError as error:
        raise InvalidAddress(value, f"not a valid email address: {error}") from None
    local = checked.local_part
    if local.startswith('"'):
        raise InvalidAddress(
            value,
            "the part before the @ needs quotes: valid in theory, mishandled by most mail systems; ask for "
            "another address",
        )
    if candidate.split("@")[0].startswith('"'):
        changes.append("needless quotes removed")
    domain = checked.ascii_domain.lower()
    if domain != candidate.rpartition("@")[2]:
        typed = candidate.rpartition("@")[2]
        changes.append("IDN domain put in ASCII form" if domain != typed.lower() else "domain lower-cased")
    if local != local.lower():
        changes.append("local part lower-cased for matching")
    return Address(
        email=f"{local.lower()}@{domain}",
        display=f"{local}@{checked.domain.lower()}",
        local_part=local,
        domain=domain,
        changes=tuple(changes),
    )


def _parents(domain: str) -> list[str]:
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def role_account(local_part: str, roles: frozenset[str] = ROLE_ACCOUNTS) -> str | None:
    """The role `local_part` names (`No-Reply+x` → `noreply`), or None when it looks like a person."""
    squashed = local_part.lower().split("+", 1)[0]
    for ch in ".-_":
        squashed = squashed.replace(ch, "")
    return squashed if squashed in roles else None


def disposable_domain(domain: str, blocklist: frozenset[str] | set[str] | None = None) -> str | None:
    """The blocklisted domain `domain` is (or is under), or None; the package's allowlist wins."""
    listed = disposable_email_domains.blocklist if blocklist is None else blocklist
    allowed = disposable_email_domains.allowlist
    for parent in _parents(domain.lower()):
        if parent in allowed:
            return None
        if parent in listed:
            return parent
    return None


class SuppressionIndex:
    """An organisation's suppressions loaded once, matched like `suppression.matching_suppressions`.

    A target matches in clear or as its purge hash (`address_hash`); an address matches itself, its domain and
    every parent domain. One query per batch instead of one per address.
    """

    def __init__(self, org_id: str, targets: Iterable[tuple[str, str]]) -> None:
        self.org_id = org_id
        self._targets = frozenset(targets)

    @classmethod
    def load(cls, db: Queryable, org_id: str) -> SuppressionIndex:
        """The suppressions of `org_id` in `db` (a Warehouse or an open connection; the table must exist)."""
        rows = effective_suppressions(db, org_id)
        return cls(org_id, rows.select("kind", "value").iter_rows())

    def matches(self, email: str) -> frozenset[tuple[str, str]]:
        """`(kind, value)` of every suppression matching the normalised `email`, hashed ones given in clear."""
        found = set()
        for kind, value in [("email", email)] + [("domain", d) for d in _parents(email.rpartition("@")[2])]:
            if (kind, value) in self._targets or (kind, address_hash(self.org_id, value)) in self._targets:
                found.add((kind, value))
        return frozenset(found)


@dataclass(frozen=True)
class IntakeRow:
    """One address offered at intake and where it came from.

    `source_file`/`row_number`/`field` locate it (a CSV and its line, header = 1; or a table name such as
    `outreach.candidate_emails` and no row); `verification` is enrichment's verifier result, when known.
    """

    email: str | None
    source_file: str
    row_number: int | None = None
    field: str = "email"
    candidate_id: str | None = None
    verification: str | None = None


@dataclass(frozen=True)
class Accepted:
    """An address that passed every rule, with a duplicate hint when it may share an inbox with another row."""

    row: IntakeRow
    address: Address
    duplicate_hint: str | None = None


@dataclass(frozen=True)
class Refused:
    """An address refused by `rule`; `address` is None when it did not parse."""

    row: IntakeRow
    rule: str
    reason: str
    address: Address | None = None

    def reject(self) -> Reject:
        """The quarantine record: file, row, field, value and reason (prefixed by the rule)."""
        return Reject(
            self.row.source_file,
            self.row.row_number,
            self.row.field,
            self.row.email or "",
            f"{self.rule}: {self.reason}",
        )


@dataclass
class HygieneResult:
    """What intake kept and refused, and the count per rule (the benchmark's shares)."""

    accepted: list[Accepted] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    hints: int = 0

    @property
    def checked(self) -> int:
        """Rows screened."""
        return len(self.accepted) + len(self.refused)

    @property
    def counts(self) -> dict[str, int]:
        """Rows refused by each rule (every rule present, zeros included)."""
        counted = Counter(r.rule for r in self.refused)
        return {rule: counted.get(rule, 0) for rule in RULES}

    def shares(self) -> dict[str, float]:
        """Share of the screened rows refused by each rule (0 when nothing was screened)."""
        total = self.checked
        return {rule: (n / total if total else 0.0) for rule, n in self.counts.items()}

    @property
    def rejects(self) -> list[Reject]:
        """Quarantine records of the refused rows, in input order."""
        return [r.reject() for r in self.refused]


def screen(
    rows: Iterable[IntakeRow],
    *,
    suppressions: SuppressionIndex | None = None,
    known_emails: Iterable[str] = (),
    roles: frozenset[str] = ROLE_ACCOUNTS,
    disposable: frozenset[str] | set[str] | None = None,
    allow_test_domains: bool = False,
) -> HygieneResult:
    """Apply the rules (module docstring) to `rows` in order; pure apart from reading the given index.

    `known_emails` are normalised addresses already on file (e.g. `org_contacts`): offering one again is a
    duplicate. `disposable` replaces the package's blocklist (tests, benches).
    """
    result = HygieneResult()
    seen: dict[str, IntakeRow | None] = {}
    for email in known_emails:
        try:
            seen[normalise_address(email, allow_test_domains=True).email] = None
        except InvalidAddress:
            continue
    hint_keys: dict[str, tuple[IntakeRow, str]] = {}
    for row in rows:
        try:
            address = normalise_address(row.email or "", allow_test_domains=allow_test_domains)
        except InvalidAddress as error:
            result.refused.append(Refused(row, "syntax", error.reason))
            continue
        refusal = _first_refusal(row, address, suppressions, roles, disposable, seen)
        if refusal:
            result.refused.append(Refused(row, refusal[0], refusal[1], address))
            continue
        seen[address.email] = row
        hint = None
        earlier = hint_keys.get(address.mailbox_hint_key)
        if earlier and earlier[1] != address.email:
            hint = f"may reach the same inbox as {earlier[1]} ({_where(earlier[0])}); kept, not merged"
            result.hints += 1
        hint_keys.setdefault(address.mailbox_hint_key, (row, address.email))
        result.accepted.append(Accepted(row, address, hint))
    return result


def _where(row: IntakeRow | None) -> str:
    if row is None:
        return "already on file"
    return row.source_file + (f" row {row.row_number}" if row.row_number is not None else "")


def _first_refusal(
    row: IntakeRow,
    address: Address,
    suppressions: SuppressionIndex | None,
    roles: frozenset[str],
    disposable: frozenset[str] | set[str] | None,
    seen: dict[str, IntakeRow | None],
) -> tuple[str, str] | None:
    if suppressions is not None:
        matched = suppressions.matches(address.email)
        if matched:
            kind, value = sorted(matched)[0]
            return "suppressed", f"the {kind} {value} is suppressed: never email it again"
    if (row.verification or "").lower() == "undeliverable":
        return "undeliverable", "the email verifier says mail to it bounces"
    listed = disposable_domain(address.domain, disposable)
    if listed:
        return "disposable", f"{listed} is a disposable-mail domain"
    role = role_account(address.local_part, roles)
    if role:
        return "role_account", f"{role}@ is a role account, not a person"
    if address.email in seen:
        return "duplicate", f"same address as {_where(seen[address.email])}"
    return None


def reject_id(org_id: str, refused: Refused) -> str:
    """Deterministic id of a `hygiene_rejects` row: organisation, address, rule and source."""
    parts = [org_id, refused.row.email or "", refused.rule, refused.row.source_file, str(refused.row.row_number)]
    return "h-" + hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:24]


def hygiene_reject_rows(org_id: str, result: HygieneResult, at: datetime | None = None) -> list[dict[str, Any]]:
    """`outreach.hygiene_rejects` rows for the refused addresses of `result`."""
    when = at or datetime.now(UTC).replace(tzinfo=None)
    return [
        {
            "reject_id": reject_id(org_id, r),
            "org_id": org_id,
            "email": r.row.email,
            "normalised_email": r.address.email if r.address else None,
            "candidate_id": r.row.candidate_id,
            "rule": r.rule,
            "reason": r.reason,
            "source_file": r.row.source_file,
            "row_number": r.row.row_number,
            "field": r.row.field,
            "rejected_at": when,
        }
        for r in result.refused
    ]


def record_hygiene(
    warehouse: Warehouse,
    org_id: str,
    result: HygieneResult,
    *,
    asset: str = "outreach/hygiene",
    partition_key: str = "",
    log: Any = None,
) -> dict[str, int]:
    """Quarantine the refused rows (`quarantine.rejected_rows`, replacing this asset partition's) and append them
    to `outreach.hygiene_rejects` (a re-run adds nothing); returns the per-rule counts plus checked/accepted."""
    rows = {row["reject_id"]: row for row in hygiene_reject_rows(org_id, result)}
    with warehouse.connect() as conn:
        conn.ensure(HYGIENE_REJECTS)
        query = f"SELECT reject_id FROM {HYGIENE_REJECTS.qualified_name} WHERE org_id = ?"
        known = set(conn.query(query, [org_id])["reject_id"].to_list())
        fresh = [row for key, row in rows.items() if key not in known]
        conn.insert(HYGIENE_REJECTS, HYGIENE_REJECTS.from_rows(fresh))
    record_rejects(warehouse, asset, partition_key, result.rejects, log)
    return {"checked": result.checked, "accepted": len(result.accepted), **result.counts}


def screen_emails(emails: Sequence[str], source_file: str = "<input>", **options: Any) -> HygieneResult:
    """`screen` over plain addresses numbered from row 2 (as in a CSV with a header)."""
    return screen([IntakeRow(e, source_file, n) for n, e in enumerate(emails, start=2)], **options)


def accepted_candidate_emails(db: Queryable, org_id: str) -> set[tuple[str, str]]:
    """(candidate_id, address as enrichment stored it) of every candidate address that passes hygiene now: what
    scoring ranks. Pairs, not addresses: an address refused as a duplicate on a second candidate stays out there,
    and an IDN address matches whatever form enrichment stored it in."""
    result = screen(candidate_email_rows(db, org_id), suppressions=SuppressionIndex.load(db, org_id))
    return {(str(a.row.candidate_id), str(a.row.email)) for a in result.accepted}


def candidate_email_rows(db: Queryable, org_id: str) -> list[IntakeRow]:
    """Every address enrichment found for `org_id` (`outreach.candidate_emails`) as intake rows, with its
    verifier result; the table must exist."""
    rows = db.query(
        f"SELECT email, candidate_id, verification FROM {CANDIDATE_EMAILS.qualified_name} "
        "WHERE org_id = ? ORDER BY candidate_id, email",
        [org_id],
    )
    return [
        IntakeRow(email, CANDIDATE_EMAILS.qualified_name, None, "email", candidate, verification)
        for email, candidate, verification in rows.iter_rows()
    ]
