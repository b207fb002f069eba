"""Versioned email templates rendered with Jinja2 in a sandbox, and the checks every message must pass.

A template version (`TemplateVersion`) holds a subject and a plain-text body in Jinja2 syntax, its length limits,
the claims it forbids and where its unsubscribe footer comes from. Rendering runs in an
`ImmutableSandboxedEnvironment` (no attribute access to internals, no mutation of the values passed in) with a
strict undefined: a variable the context lacks (or holds as None) raises `MissingVariable` naming the template,
version, part and variable, never renders a blank. `{{ company | default("your station") }}` is how a template
says a value is optional. Autoescape is off: the output is text/plain.

The checks (`check_message`) hold for every message, whether a template or a text generator wrote it:
subject and body within their length limits and not empty, a subject on one line, the unsubscribe footer
present (the rendered body carries the prospect's one-click URL), nothing unresolved left (`{{`, `{%`, `{#`, or
a legacy `$name`), and none of the template's forbidden claims (`DEFAULT_FORBIDDEN_PHRASES` always apply).
`check_template` checks a version when it is written: syntax, footer placeholder, variables the engine knows.

Rows written for the old `string.Template` renderer (`$name`) are read as Jinja through `from_string_template`.
`engine_context` builds the send engine's context (blank values become missing); `preview` renders a stored
version for a person, listing failed checks instead of raising. Beyond Jinja's sandbox, `*` and `**` are bounded
(`MAX_REPEAT_CHARS`) so a template cannot blow up a worker.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from string import Template
from typing import Any, NoReturn, Protocol

from jinja2 import StrictUndefined, TemplateSyntaxError, meta
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from integrations.warehouse import Warehouse

DEFAULT_MAX_SUBJECT_CHARS = 120
DEFAULT_MAX_BODY_CHARS = 4000
DEFAULT_FORBIDDEN_PHRASES = (
    "guaranteed airplay",
    "guaranteed play",
    "guaranteed plays",
    "guaranteed rotation",
    "guaranteed placement",
    "guaranteed chart placement",
    "chart placement guaranteed",
    "guaranteed chart position",
    "guaranteed streams",
    "pay for play",
)
"""Claims no promo email may make, whatever the template says; a template adds its own."""

UNSUBSCRIBE_VARIABLE = "unsubscribe_url"
ENGINE_FOOTER = "\n\n--\nNot for you? Unsubscribe with one click: {{ unsubscribe_url }}\n"
"""The footer the engine appends to a body whose template leaves it to the engine (`footer="engine"`)."""
FOOTER_MODES = ("template", "engine")
SYNTAXES = ("jinja", "string")
ENGINE_VARIABLES = ("name", "first_name", "company", "track", "campaign", "sender_name", UNSUBSCRIBE_VARIABLE)
"""What the send engine puts in every message's context."""
PREVIEW_UNSUBSCRIBE_URL = "https://unsubscribe.invalid/u/preview-token"

UNSUBSCRIBE_PLACEHOLDER = re.compile(r"\{\{-?\s*unsubscribe_url\s*-?\}\}")
_JINJA_MARKS = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")
_LEGACY_MARK = re.compile(r"\$\{?(" + "|".join(ENGINE_VARIABLES) + r")\b\}?")
_UNDEFINED_NAME = re.compile(r"^'([^']+)' is undefined|has no (?:attribute|element) '?([^']+?)'?$")
_WORDS = re.compile(r"[\W_]+", re.UNICODE)


class ComposeError(ValueError):
    """A template version that cannot produce a message; names the template and version."""

    def __init__(self, template_id: str, version: int, message: str) -> None:
        super().__init__(f"template {template_id} v{version}: {message}")
        self.template_id = template_id
        self.version = version


class TemplateSyntaxProblem(ComposeError):
    """The subject or body is not valid Jinja2."""


class MissingVariable(ComposeError):
    """The context lacks a variable the template uses (None counts as missing)."""

    def __init__(self, template_id: str, version: int, part: str, variable: str) -> None:
        super().__init__(template_id, version, f"{part} uses variable {variable!r}, which the context lacks")
        self.part = part
        self.variable = variable


class UnsafeTemplate(ComposeError):
    """The sandbox refused what the template tried (an internal attribute, a method that mutates)."""


@dataclass(frozen=True)
class CheckFailure:
    """One check a message failed: `check` is a short name, `part` subject or body, `detail` for a person."""

    check: str
    part: str
    detail: str

    def __str__(self) -> str:
        return f"{self.part}: {self.check}: {self.detail}"


class CheckFailed(ComposeError):
    """A rendered message failed its checks: it must not be sent."""

    def __init__(self, template_id: str, version: int, failures: Iterable[CheckFailure]) -> None:
        self.failures = tuple(failures)
        super().__init__(template_id, version, "; ".join(str(f) for f in self.failures))


@dataclass(frozen=True)
class TemplateVersion:
    """One version of a template: Jinja2 subject and body, limits, forbidden claims and footer mode.

    `footer="template"`: the body must carry `{{ unsubscribe_url }}` itself; `"engine"`: `ENGINE_FOOTER` is
    appended at render time. Versions are never edited: a change is a new version.
    """

    template_id: str
    version: int
    subject: str
    body: str
    forbidden_phrases: tuple[str, ...] = ()
    max_subject_chars: int = DEFAULT_MAX_SUBJECT_CHARS
    max_body_chars: int = DEFAULT_MAX_BODY_CHARS
    footer: str = "template"

    def __post_init__(self) -> None:
        if self.footer not in FOOTER_MODES:
            raise ValueError(f"template {self.template_id} v{self.version}: footer must be one of {FOOTER_MODES}")
        if self.version < 1:
            raise ValueError(f"template {self.template_id}: version must be >= 1, got {self.version}")

    @property
    def all_forbidden_phrases(self) -> tuple[str, ...]:
        """The defaults and this template's own phrases, lower-cased, without repeats."""
        seen: dict[str, None] = {}
        for phrase in (*DEFAULT_FORBIDDEN_PHRASES, *self.forbidden_phrases):
            if phrase.strip():
                seen.setdefault(phrase.strip().lower(), None)
        return tuple(seen)

    @property
    def body_source(self) -> str:
        """The body as rendered: with the engine's footer when the template leaves the footer to the engine."""
        return self.body + ENGINE_FOOTER if self.footer == "engine" else self.body


@dataclass(frozen=True)
class RenderedMessage:
    """A rendered subject and plain-text body, and the template version they came from."""

    template_id: str
    version: int
    subject: str
    body: str


@dataclass(frozen=True)
class RenderedPreview:
    """What the preview command shows: the rendered message, the variables it uses and every failed check."""

    template_id: str
    version: int
    subject: str
    body: str
    variables: tuple[str, ...]
    failures: tuple[CheckFailure, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.failures

    def text(self) -> str:
        """A plain-text rendering for a terminal."""
        lines = [
            f"template {self.template_id} v{self.version}",
            f"variables: {', '.join(self.variables) or '-'}",
            f"Subject: {self.subject}",
            "",
            self.body.rstrip("\n"),
            "",
            "checks: passed" if self.ok else "checks: FAILED",
        ]
        lines += [f"  - {failure}" for failure in self.failures]
        return "\n".join(lines) + "\n"


class _Missing(UndefinedError):
    """A strict undefined was used: carries the variable's name (the attribute's, for `obj.attr`)."""

    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.name = name


class _StrictUndefined(StrictUndefined):
    """StrictUndefined whose error carries the name, so `MissingVariable` can name it without parsing text."""

    __slots__ = ()

    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> NoReturn:
        if self._undefined_exception is not UndefinedError:  # the sandbox's SecurityError: keep it
            super()._fail_with_undefined_error(*args, **kwargs)
        name = self._undefined_name or "?"
        raise _Missing(self._undefined_message, name)

    # StrictUndefined binds these to its own method: rebind them to the override above.
    __str__ = __iter__ = __len__ = __bool__ = _fail_with_undefined_error  # type: ignore[assignment]
    __eq__ = __ne__ = __hash__ = __contains__ = _fail_with_undefined_error  # type: ignore[assignment]


def engine_context(
    *,
    name: str | None,
    company: str | None,
    track: str | None,
    campaign: str | None,
    sender_name: str | None,
    unsubscribe_url: str | None,
    **extra: Any,
) -> dict[str, Any]:
    """The context the send engine gives every template (`ENGINE_VARIABLES`), plus `extra`.

    Empty strings become None, so a template using a value the contact lacks fails (`MissingVariable`) rather
    than rendering a blank; `first_name` is the first word of `name`."""

    def value(v: Any) -> Any:
        return None if v is None or (isinstance(v, str) and not v.strip()) else v

    clean_name = value(name)
    return {
        "name": clean_name,
        "first_name": clean_name.split()[0] if clean_name else None,
        "company": value(company),
        "track": value(track),
        "campaign": value(campaign),
        "sender_name": value(sender_name),
        UNSUBSCRIBE_VARIABLE: value(unsubscribe_url),
        **{k: value(v) for k, v in extra.items()},
    }


def environment() -> ImmutableSandboxedEnvironment:
    """The one sandboxed environment every template renders in (text/plain, strict undefined)."""
    return _ENV


MAX_REPEAT_CHARS = 100_000
"""Most items a `*` on a string or list may produce, and `**` exponents above 64 are refused: a template
cannot make a message (or the worker's memory) explode."""


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, plus limits on `*` and `**` (Jinja's sandbox bounds `range` only)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > 64:
            raise SecurityError(f"exponent {right} is larger than 64")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                sized = isinstance(seq, (str, list, tuple)) and isinstance(times, int)
                if sized and len(seq) * times > MAX_REPEAT_CHARS:
                    raise SecurityError(f"repetition of {len(seq) * times} items is over {MAX_REPEAT_CHARS}")
        return super().call_binop(context, operator, left, right)


_ENV = _Sandbox(
    undefined=_StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


@lru_cache(maxsize=512)
def _compile(source: str) -> Any:
    return _ENV.from_string(source)


def _compiled(template: TemplateVersion, part: str, source: str) -> Any:
    try:
        return _compile(source)
    except TemplateSyntaxError as exc:
        raise TemplateSyntaxProblem(
            template.template_id, template.version, f"{part} line {exc.lineno}: {exc.message}"
        ) from exc


def _render_part(template: TemplateVersion, part: str, source: str, context: Mapping[str, Any]) -> str:
    compiled = _compiled(template, part, source)
    try:
        return str(compiled.render(context))
    except _Missing as exc:
        raise MissingVariable(template.template_id, template.version, part, exc.name) from exc
    except SecurityError as exc:
        raise UnsafeTemplate(template.template_id, template.version, f"{part}: {exc}") from exc
    except UndefinedError as exc:  # raised by an operator StrictUndefined binds to its base (`missing()`, `+`)
        named = _UNDEFINED_NAME.search(str(exc))
        variable = (named.group(1) or named.group(2)) if named else str(exc)
        raise MissingVariable(template.template_id, template.version, part, variable) from exc


def render(template: TemplateVersion, context: Mapping[str, Any]) -> RenderedMessage:
    """Render subject and body; a None value counts as missing. Raises `MissingVariable`, `UnsafeTemplate`,
    `TemplateSyntaxProblem`. The subject loses surrounding whitespace; nothing else is changed."""
    values = {k: v for k, v in context.items() if v is not None}
    subject = _render_part(template, "subject", template.subject, values).strip()
    body = _render_part(template, "body", template.body_source, values)
    return RenderedMessage(template.template_id, template.version, subject, body)


def _normalised(text: str) -> str:
    return " " + _WORDS.sub(" ", text.lower()).strip() + " "


def forbidden_claims(text: str, phrases: Iterable[str]) -> list[str]:
    """The phrases `text` contains, ignoring case, punctuation and spacing ("Guaranteed-AIRPLAY!" matches)."""
    haystack = _normalised(text)
    return [p for p in phrases if _normalised(p).strip() and _normalised(p) in haystack]


def check_message(
    subject: str,
    body: str,
    *,
    unsubscribe_url: str | None,
    max_subject_chars: int = DEFAULT_MAX_SUBJECT_CHARS,
    max_body_chars: int = DEFAULT_MAX_BODY_CHARS,
    forbidden_phrases: Iterable[str] = DEFAULT_FORBIDDEN_PHRASES,
) -> tuple[CheckFailure, ...]:
    """Every check a rendered message must pass; empty when it may be sent.

    `unsubscribe_url` is the URL the body must carry; None means the body is still a template, which must
    carry the `{{ unsubscribe_url }}` placeholder instead (and then `{{ unsubscribe_url }}` is not unresolved).
    """
    failures: list[CheckFailure] = []
    for part, text, limit in (("subject", subject, max_subject_chars), ("body", body, max_body_chars)):
        if not text.strip():
            failures.append(CheckFailure("empty", part, f"the {part} is empty"))
        if len(text) > limit:
            failures.append(CheckFailure("too_long", part, f"{len(text)} characters, the limit is {limit}"))
        leftover = text if unsubscribe_url is not None else UNSUBSCRIBE_PLACEHOLDER.sub("", text)
        marks = sorted({m.group(0) for m in (*_JINJA_MARKS.finditer(leftover), *_LEGACY_MARK.finditer(leftover))})
        if marks:
            failures.append(CheckFailure("unresolved", part, f"unresolved template marks left: {', '.join(marks)}"))
        for phrase in forbidden_claims(text, forbidden_phrases):
            failures.append(CheckFailure("forbidden_claim", part, f"makes a claim the template forbids: {phrase!r}"))
    if "\n" in subject or "\r" in subject:
        failures.append(CheckFailure("multiline", "subject", "the subject spans more than one line"))
    if unsubscribe_url is None:
        if not UNSUBSCRIBE_PLACEHOLDER.search(body):
            failures.append(CheckFailure("footer_missing", "body", "no {{ unsubscribe_url }} footer"))
    elif not unsubscribe_url or unsubscribe_url not in body:
        failures.append(CheckFailure("footer_missing", "body", "the unsubscribe link is not in the body"))
    return tuple(failures)


def check_rendered(
    template: TemplateVersion, message: RenderedMessage, unsubscribe_url: str
) -> tuple[CheckFailure, ...]:
    """`check_message` with the template's own limits and forbidden claims."""
    return check_message(
        message.subject,
        message.body,
        unsubscribe_url=unsubscribe_url,
        max_subject_chars=template.max_subject_chars,
        max_body_chars=template.max_body_chars,
        forbidden_phrases=template.all_forbidden_phrases,
    )


def variables(template: TemplateVersion) -> tuple[str, ...]:
    """The top-level variables subject and body use, sorted (raises `TemplateSyntaxProblem`)."""
    found: set[str] = set()
    for part, source in (("subject", template.subject), ("body", template.body_source)):
        try:
            found |= meta.find_undeclared_variables(_ENV.parse(source))
        except TemplateSyntaxError as exc:
            raise TemplateSyntaxProblem(
                template.template_id, template.version, f"{part} line {exc.lineno}: {exc.message}"
            ) from exc
    return tuple(sorted(found))


def check_template(
    template: TemplateVersion, known_variables: Iterable[str] = ENGINE_VARIABLES
) -> tuple[CheckFailure, ...]:
    """Checks for a version as written (before any context): syntax, footer, known variables, forbidden claims,
    and the subject's length limit on its literal text. Empty when the version may be saved."""
    failures: list[CheckFailure] = []
    try:
        used = variables(template)
    except TemplateSyntaxProblem as exc:
        return (CheckFailure("syntax", "template", str(exc)),)
    unknown = sorted(set(used) - set(known_variables))
    if unknown:
        failures.append(
            CheckFailure("unknown_variable", "template", f"variables the engine does not provide: {unknown}")
        )
    if not UNSUBSCRIBE_PLACEHOLDER.search(template.body_source):
        failures.append(CheckFailure("footer_missing", "body", "no {{ unsubscribe_url }} footer"))
    for part, source in (("subject", template.subject), ("body", template.body)):
        for phrase in forbidden_claims(source, template.all_forbidden_phrases):
            failures.append(CheckFailure("forbidden_claim", part, f"makes a claim the template forbids: {phrase!r}"))
        if not source.strip():
            failures.append(CheckFailure("empty", part, f"the {part} is empty"))
    return tuple(failures)


def compose(template: TemplateVersion, context: Mapping[str, Any]) -> RenderedMessage:
    """Render for sending: the context must hold `unsubscribe_url`; raises `CheckFailed` if any check fails."""
    url = context.get(UNSUBSCRIBE_VARIABLE)
    if not url:
        raise MissingVariable(template.template_id, template.version, "body", UNSUBSCRIBE_VARIABLE)
    message = render(template, context)
    failures = check_rendered(template, message, str(url))
    if failures:
        raise CheckFailed(template.template_id, template.version, failures)
    return message


class TemplateSource(Protocol):
    """Where template versions are read from."""

    def get(self, template_id: str, version: int) -> TemplateVersion:
        """The version, or KeyError naming it."""
        ...


class MemoryTemplates:
    """Template versions held in memory (tests, the demo, a file loaded by the CLI)."""

    def __init__(self, templates: Iterable[TemplateVersion] = ()) -> None:
        self._templates = {(t.template_id, t.version): t for t in templates}

    def add(self, template: TemplateVersion) -> None:
        key = (template.template_id, template.version)
        if key in self._templates:
            raise ValueError(f"template {template.template_id} v{template.version} exists: versions are not edited")
        self._templates[key] = template

    def get(self, template_id: str, version: int) -> TemplateVersion:
        try:
            return self._templates[(template_id, version)]
        except KeyError:
            raise KeyError(f"no template {template_id} v{version}") from None


class WarehouseTemplates:
    """Template versions read from `outreach.templates` (see `template_from_row` for the optional columns)."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse

    def get(self, template_id: str, version: int) -> TemplateVersion:
        rows = self.warehouse.query(
            "SELECT * FROM outreach.templates WHERE template_id = ? AND version = ?", [template_id, version]
        )
        if not rows.height:
            raise KeyError(f"no template {template_id} v{version}")
        return template_from_row(rows.row(0, named=True))


def from_string_template(source: str) -> str:
    """A `string.Template` source (`$name`, `${name}`, `$$`) as the equivalent Jinja2 source.

    Literal text that happens to contain Jinja marks is wrapped in `{% raw %}` so it stays literal."""
    out: list[str] = []
    pos = 0

    def literal(text: str) -> str:
        return f"{{% raw %}}{text}{{% endraw %}}" if _JINJA_MARKS.search(text) else text

    for match in Template.pattern.finditer(source):
        out.append(literal(source[pos : match.start()]))
        if match.group("escaped") is not None:
            out.append("$")
        elif match.group("named") or match.group("braced"):
            out.append("{{ " + (match.group("named") or match.group("braced")) + " }}")
        else:
            out.append(literal(match.group(0)))
        pos = match.end()
    out.append(literal(source[pos:]))
    return "".join(out)


def template_from_row(row: Mapping[str, Any]) -> TemplateVersion:
    """A `TemplateVersion` from an `outreach.templates` row.

    Beyond the columns the table has today (template_id, version, subject, body), these are read when present:
    `syntax` ('jinja' or 'string'; absent or null: 'string', the rows written for `string.Template`),
    `forbidden_phrases` (a JSON list), `max_subject_chars`, `max_body_chars`, `footer` ('template'/'engine';
    absent: 'engine' for 'string' rows, which never carried the link, 'template' for Jinja rows).
    """
    syntax = row.get("syntax") or "string"
    if syntax not in SYNTAXES:
        raise ValueError(f"template {row['template_id']} v{row['version']}: unknown syntax {syntax!r}")
    subject, body = row.get("subject") or "", row.get("body") or ""
    if syntax == "string":
        subject, body = from_string_template(subject), from_string_template(body)
    phrases = row.get("forbidden_phrases")
    if isinstance(phrases, str):
        phrases = json.loads(phrases) if phrases.strip() else []
    footer = row.get("footer") or (
        "engine" if syntax == "string" and not UNSUBSCRIBE_PLACEHOLDER.search(body) else "template"
    )
    return TemplateVersion(
        template_id=str(row["template_id"]),
        version=int(row["version"]),
        subject=subject,
        body=body,
        forbidden_phrases=tuple(str(p) for p in (phrases or ())),
        max_subject_chars=int(row.get("max_subject_chars") or DEFAULT_MAX_SUBJECT_CHARS),
        max_body_chars=int(row.get("max_body_chars") or DEFAULT_MAX_BODY_CHARS),
        footer=footer,
    )


def preview(template_id: str, version: int, context: Mapping[str, Any], *, source: TemplateSource) -> RenderedPreview:
    """Render one version with `context` for a person to read, with every failed check listed (not raised).

    A context without `unsubscribe_url` gets `PREVIEW_UNSUBSCRIBE_URL`. A missing variable, unsafe template
    or syntax error still raises (`MissingVariable` names template, version, part and variable)."""
    template = source.get(template_id, version)
    values = dict(context)
    values.setdefault(UNSUBSCRIBE_VARIABLE, PREVIEW_UNSUBSCRIBE_URL)
    message = render(template, values)
    failures = check_template(template, known_variables={*ENGINE_VARIABLES, *values})
    failures += check_rendered(template, message, str(values[UNSUBSCRIBE_VARIABLE]))
    unique = tuple(dict.fromkeys(failures))
    return RenderedPreview(template_id, version, message.subject, message.body, variables(template), unique)
