"""A campaign described in a small YAML (or JSON) file, read and checked before anything is written.

```yaml
campaign_id: spring-single-radio        # letters, digits, '.', '_', '-'
org: demo-label                          # the organisation (its mailboxes must be connected first)
name: Spring single to radio             # optional, defaults to the id
track: {isrc: NLA1A2600001}              # or {track_id: trk0001} / {recording_id: <golden id>}
mailboxes: [promo@label.example, plugger@label.example]
window: {start: "09:00", end: "17:30", days: "12345", tz: Europe/Amsterdam}   # default for every step
templates:                               # optional: template versions this file adds
  - {id: intro, version: 1, subject: "New single: $track", body: "Hi $first_name, ..."}
steps:
  - {template: intro, version: 1, delay_hours: 0}
  - {template: follow-up, version: 1, delay_hours: 72, window: {start: "10:00", end: "12:00"}}
contacts: [someone@station.example]      # optional: only these contacts (default: every consenting one)
```

Every problem is reported at once as `CampaignFileError`, each line naming the file, the line (YAML) and the
field path, e.g. `campaign.yaml:12: steps[2].delay_hours: must be a whole number of hours ≥ 0, got 'soon'`.
Placeholders in templates are `$name`, `$first_name`, `$company`, `$track`, `$campaign` and `$sender_name`
(what the send engine fills in); any other is refused here rather than rendered empty in a sent email.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml  # type: ignore[import-untyped]

from backbeat.identifiers import isrc_problem, normalise_isrc
from backbeat.outreach.pacing import SendWindow

PLACEHOLDERS = frozenset({"name", "first_name", "company", "track", "campaign", "sender_name"})
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s|]+@[^@\s|]+\.[A-Za-z0-9-]{2,}$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_TOP_LEVEL = {"campaign_id", "org", "name", "track", "mailboxes", "window", "templates", "steps", "contacts"}
_WINDOW_KEYS = {"start", "end", "days", "tz"}
_STEP_KEYS = {"template", "version", "delay_hours", "window"}
_TEMPLATE_KEYS = {"id", "version", "subject", "body"}
MAX_DELAY_HOURS = 24 * 365


class CampaignFileError(ValueError):
    """A campaign file that cannot be used; `problems` holds one line per problem (file:line: field: what)."""

    def __init__(self, path: str | Path, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        super().__init__(f"{self.path}: {len(problems)} problem(s)\n" + "\n".join(f"  {p}" for p in problems))


@dataclass(frozen=True)
class TemplateSpec:
    """A template version the file adds (versions are never edited: a change needs a new version)."""

    template_id: str
    version: int
    subject: str
    body: str


@dataclass(frozen=True)
class StepSpec:
    """One step of the sequence: template version, delay after the previous step (or enrolment), window."""

    template_id: str
    template_version: int
    delay_hours: int
    window: SendWindow


@dataclass(frozen=True)
class TrackRef:
    """How the file names the promoted track: `isrc`, `track_id` or `recording_id` (a golden recording)."""

    kind: str
    value: str


@dataclass(frozen=True)
class CampaignSpec:
    """A checked campaign file."""

    path: str
    campaign_id: str
    org_id: str
    name: str
    track: TrackRef
    mailboxes: tuple[str, ...]
    steps: tuple[StepSpec, ...]
    templates: tuple[TemplateSpec, ...] = ()
    contacts: tuple[str, ...] | None = None
    lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def where(self, path: str) -> str:
        """`file:line: path` for a field of this file (the line when known), for errors found later."""
        line = self.lines.get(path)
        return f"{self.path}:{line}: {path}" if line else f"{self.path}: {path}"


def _line_index(node: yaml.Node | None, path: str = "", index: dict[str, int] | None = None) -> dict[str, int]:
    """Field path (`steps[2].delay_hours`) → 1-based line, from the composed YAML node tree."""
    index = {} if index is None else index
    if node is None:
        return index
    if path:
        index.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = f"{path}.{key.value}" if path else str(key.value)
            index.setdefault(name, key.start_mark.line + 1)
            _line_index(value, name, index)
    elif isinstance(node, yaml.SequenceNode):
        for n, item in enumerate(node.value, start=1):
            _line_index(item, f"{path}[{n}]", index)
    return index


class _Checker:
    """Collects problems with their place instead of stopping at the first."""

    def __init__(self, path: Path, lines: dict[str, int]) -> None:
        self.path = path
        self.lines = lines
        self.problems: list[str] = []

    def bad(self, where: str, message: str) -> None:
        line = self.lines.get(where)
        if line is None and "." in where:
            line = self.lines.get(where.rsplit(".", 1)[0])
        self.problems.append(f"{self.path}:{line}: {where}: {message}" if line else f"{self.path}: {where}: {message}")

    def text(
        self,
        data: dict[str, Any],
        key: str,
        where: str,
        *,
        required: bool = True,
        pattern: re.Pattern[str] | None = None,
    ) -> str | None:
        value = data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.bad(where, "is required")
            return None
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            self.bad(where, f"must be text, got {type(value).__name__}")
            return None
        text = str(value).strip()
        if pattern is not None and not pattern.match(text):
            self.bad(where, f"{text!r} is not valid here")
            return None
        return text

    def whole(
        self, data: dict[str, Any], key: str, where: str, *, default: int | None = None, low: int = 0, high: int
    ) -> int | None:
        value = data.get(key, default)
        if value is None:
            self.bad(where, "is required")
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.bad(where, f"must be a whole number from {low} to {high}, got {value!r}")
            return None
        return int(value)

    def unknown_keys(self, data: dict[str, Any], allowed: set[str], where: str) -> None:
        for key in sorted(set(map(str, data)) - allowed):
            self.bad(
                f"{where}.{key}" if where else key, f"unknown field (expected one of: {', '.join(sorted(allowed))})"
            )

    def window(self, data: Any, where: str, base: SendWindow) -> SendWindow:
        if data is None:
            return base
        if not isinstance(data, dict):
            self.bad(where, "must be a mapping with start, end, days, tz")
            return base
        self.unknown_keys(data, _WINDOW_KEYS, where)
        minutes = {}
        for key, fallback in (("start", base.start_minute), ("end", base.end_minute)):
            raw = data.get(key)
            if raw is None:
                minutes[key] = fallback
                continue
            match = _CLOCK.match(str(raw).strip())
            value = int(match.group(1)) * 60 + int(match.group(2)) if match and int(match.group(2)) < 60 else None
            if value is None or value > 1440:
                self.bad(f"{where}.{key}", f"must be a time HH:MM (00:00-24:00), got {raw!r}")
                minutes[key] = fallback
            else:
                minutes[key] = value
        if minutes["start"] >= minutes["end"]:
            self.bad(where, f"start must be before end (a window does not cross midnight), got {minutes}")
        days = str(data.get("days", base.days)).strip()
        if not days or any(d not in "1234567" for d in days) or len(set(days)) != len(days):
            self.bad(f"{where}.days", f"must be ISO weekday digits 1-7 (1 = Monday), e.g. 12345, got {days!r}")
            days = base.days
        tz = str(data.get("tz", base.tz)).strip()
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            self.bad(f"{where}.tz", f"unknown time zone {tz!r} (use an IANA name such as Europe/London)")
            tz = base.tz
        return SendWindow(minutes["start"], minutes["end"], "".join(sorted(days)), tz)

    def template_text(self, text: str | None, where: str) -> None:
        if text is None:
            return
        template = Template(text)
        if not template.is_valid():
            self.bad(where, "has a malformed placeholder (write $$ for a dollar sign)")
            return
        unknown = sorted(set(template.get_identifiers()) - PLACEHOLDERS)
        if unknown:
            self.bad(
                where,
                f"unknown placeholder(s) {', '.join('$' + u for u in unknown)} "
                f"(known: {', '.join('$' + p for p in sorted(PLACEHOLDERS))})",
            )


def _parse(path: Path, text: str) -> tuple[Any, dict[str, int]]:
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text), {}
        except json.JSONDecodeError as exc:
            raise CampaignFileError(path, [f"{path}:{exc.lineno}: not valid JSON: {exc.msg}"]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        return yaml.safe_load(text), _line_index(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise CampaignFileError(path, [f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}"]) from None


def load_campaign_file(path: str | Path) -> CampaignSpec:
    """Read and check a campaign file (YAML, or JSON by its `.json` suffix); CampaignFileError lists every
    problem. Nothing is looked up in the warehouse here (mailboxes, track, templates are checked on create)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CampaignFileError(path, [f"{path}: no such file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CampaignFileError(path, [f"{path}: cannot be read ({exc})"]) from None
    data, lines = _parse(path, text)
    if not isinstance(data, dict):
        raise CampaignFileError(path, [f"{path}: must be a mapping of fields (campaign_id, org, ...)"])
    c = _Checker(path, lines)
    c.unknown_keys(data, _TOP_LEVEL, "")
    campaign_id = c.text(data, "campaign_id", "campaign_id", pattern=_ID)
    org_id = c.text(data, "org", "org", pattern=_ID)
    name = c.text(data, "name", "name", required=False) or campaign_id or ""

    track = TrackRef("", "")
    raw_track = data.get("track")
    if not isinstance(raw_track, dict) or len(raw_track) != 1:
        c.bad(
            "track", "must name the track by exactly one of isrc, track_id or recording_id, e.g. {isrc: NLA1A2600001}"
        )
    else:
        kind, value = next(iter(raw_track.items()))
        if kind not in ("isrc", "track_id", "recording_id"):
            c.bad(f"track.{kind}", "unknown; use isrc, track_id or recording_id")
        elif not isinstance(value, (str, int)) or not str(value).strip():
            c.bad(f"track.{kind}", "is empty")
        else:
            text_value = str(value).strip()
            if kind == "isrc":
                problem = isrc_problem(text_value)
                if problem is None:
                    text_value = normalise_isrc(text_value)
                else:
                    c.bad("track.isrc", f"{value!r} {problem}")
            track = TrackRef(kind, text_value)

    mailboxes: list[str] = []
    raw_mailboxes = data.get("mailboxes")
    if not isinstance(raw_mailboxes, list) or not raw_mailboxes:
        c.bad("mailboxes", "must list at least one sending mailbox address")
    else:
        for n, item in enumerate(raw_mailboxes, start=1):
            address = str(item).strip().lower() if isinstance(item, str) else ""
            if not _EMAIL.match(address):
                c.bad(f"mailboxes[{n}]", f"{item!r} is not an email address")
            elif address in mailboxes:
                c.bad(f"mailboxes[{n}]", f"{address} is listed twice")
            else:
                mailboxes.append(address)

    default_window = c.window(data.get("window"), "window", SendWindow())

    templates: list[TemplateSpec] = []
    raw_templates = data.get("templates") or []
    if not isinstance(raw_templates, list):
        c.bad("templates", "must be a list of {id, version, subject, body}")
        raw_templates = []
    for n, item in enumerate(raw_templates, start=1):
        where = f"templates[{n}]"
        if not isinstance(item, dict):
            c.bad(where, "must be a mapping with id, version, subject, body")
            continue
        c.unknown_keys(item, _TEMPLATE_KEYS, where)
        template_id = c.text(item, "id", f"{where}.id", pattern=_ID)
        version = c.whole(item, "version", f"{where}.version", default=1, low=1, high=10_000)
        subject = c.text(item, "subject", f"{where}.subject")
        body = c.text(item, "body", f"{where}.body")
        if subject is not None and ("\n" in subject or "\r" in subject):
            c.bad(f"{where}.subject", "must be one line")
        c.template_text(subject, f"{where}.subject")
        c.template_text(body, f"{where}.body")
        if None not in (template_id, version, subject, body):
            if any(t.template_id == template_id and t.version == version for t in templates):
                c.bad(where, f"template {template_id} version {version} is defined twice")
            templates.append(TemplateSpec(str(template_id), int(version or 1), str(subject), str(item["body"])))

    steps: list[StepSpec] = []
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        c.bad("steps", "must list at least one step ({template, version, delay_hours})")
        raw_steps = []
    for n, item in enumerate(raw_steps, start=1):
        where = f"steps[{n}]"
        if not isinstance(item, dict):
            c.bad(where, "must be a mapping with template, version, delay_hours")
            continue
        c.unknown_keys(item, _STEP_KEYS, where)
        template_id = c.text(item, "template", f"{where}.template", pattern=_ID)
        version = c.whole(item, "version", f"{where}.version", default=1, low=1, high=10_000)
        delay = c.whole(item, "delay_hours", f"{where}.delay_hours", default=0, low=0, high=MAX_DELAY_HOURS)
        window = c.window(item.get("window"), f"{where}.window", default_window)
        if template_id is not None and version is not None and delay is not None:
            steps.append(StepSpec(template_id, version, delay, window))

    contacts: list[str] | None = None
    raw_contacts = data.get("contacts")
    if raw_contacts is not None:
        contacts = []
        if not isinstance(raw_contacts, list) or not raw_contacts:
            c.bad("contacts", "must list contact email addresses (leave it out to enrol every consenting contact)")
        else:
            for n, item in enumerate(raw_contacts, start=1):
                address = str(item).strip().lower() if isinstance(item, str) else ""
                if not _EMAIL.match(address):
                    c.bad(f"contacts[{n}]", f"{item!r} is not an email address")
                else:
                    contacts.append(address)

    if c.problems:
        raise CampaignFileError(path, c.problems)
    assert campaign_id is not None and org_id is not None
    return CampaignSpec(
        path=str(path),
        campaign_id=campaign_id,
        org_id=org_id,
        name=name,
        track=track,
        mailboxes=tuple(mailboxes),
        steps=tuple(steps),
        templates=tuple(templates),
        contacts=tuple(dict.fromkeys(contacts)) if contacts is not None else None,
        lines=lines,
    )
