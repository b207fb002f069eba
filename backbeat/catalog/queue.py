"""Album requests: references an admin submits, parsed into Spotify album ids, and merged into the album queue.

A request file lives in `inbox/catalog/album_requests/` (written by hand, by another system, or by
`backbeat catalog add`):

- `*.txt`: one reference per line; blank lines and `#` comments (whole-line or after a space) are ignored;
- `*.csv`: a header naming the column (`album`, `album_id`, `album_url`, `url`, `uri`, `ref` or `reference`),
  or a single column without a header.

A reference is a Spotify URI (`spotify:album:ID`), an open.spotify.com link (`https://open.spotify.com/album/ID`,
with or without `?si=…` or an `intl-xx/` segment) or a bare 22-character base-62 id. A line that is none of
these becomes a `Reject` naming file, line and why; the other lines still count. Files whose names start with
a dot are ignored (work in progress, locks).

Plain Python, no Dagster: the `catalog/album_queue` asset and the CLI both use it.
"""

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import polars as pl

from backbeat.common.quarantine import Reject

REQUEST_SUFFIXES = (".txt", ".csv")
CSV_COLUMNS = ("album", "album_id", "album_url", "url", "uri", "ref", "reference")
STATUSES = ("queued", "ingested", "failed")
SOURCE = "spotify"

_BASE62_ID = re.compile(r"^[0-9A-Za-z]{22}$")
_URI = re.compile(r"^spotify:(?P<kind>[a-z]+):(?P<id>[^:\s]*)$", re.IGNORECASE)
_SPOTIFY_HOSTS = frozenset({"open.spotify.com", "play.spotify.com"})


class AlbumRefError(ValueError):
    """A text that is not a reference to a Spotify album; the message says why, in words an admin can act on."""


@dataclass(frozen=True)
class AlbumRequest:
    """One album asked for: its id, and the file (relative to the inbox) and line that asked."""

    album_id: str
    source_file: str
    line: int

    @property
    def requested_in(self) -> str:
        return f"{self.source_file}:{self.line}"


@dataclass
class ParsedRequests:
    """Every album requested (first request of each id kept, in file then line order) and the bad lines."""

    requests: list[AlbumRequest] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    files: int = 0
    duplicates: int = 0


def _check_id(album_id: str, text: str) -> str:
    if not _BASE62_ID.match(album_id):
        raise AlbumRefError(f"{album_id!r} is not a Spotify id (22 letters and digits) in {text!r}")
    return album_id


def parse_album_ref(text: str) -> str:
    """The Spotify album id of a URI, an open.spotify.com link or a bare id; `AlbumRefError` otherwise."""
    ref = text.strip().strip("<>\"'")
    if not ref:
        raise AlbumRefError("is empty")
    if match := _URI.match(ref):
        kind = match["kind"].lower()
        if kind != "album":
            raise AlbumRefError(f"is a Spotify {kind}, not an album: {ref!r}")
        return _check_id(match["id"], ref)
    if "://" in ref or ref.lower().startswith(("open.spotify.com/", "play.spotify.com/")):
        parts = urlsplit(ref if "://" in ref else f"https://{ref}")
        if parts.scheme.lower() not in ("http", "https") or (parts.hostname or "").lower() not in _SPOTIFY_HOSTS:
            raise AlbumRefError(f"is not an open.spotify.com link: {ref!r}")
        segments = [s for s in parts.path.split("/") if s]
        if segments and segments[0].lower().startswith("intl-"):
            segments = segments[1:]
        if len(segments) != 2:
            raise AlbumRefError(f"is not a link to one album (…/album/ID): {ref!r}")
        kind, album_id = segments[0].lower(), segments[1]
        if kind != "album":
            raise AlbumRefError(f"is a link to a Spotify {kind}, not an album: {ref!r}")
        return _check_id(album_id, ref)
    return _check_id(ref, ref)


def _strip_comment(line: str) -> str:
    if line.lstrip().startswith("#"):
        return ""
    return re.split(r"\s#", line, maxsplit=1)[0].strip()


def _txt_refs(text: str) -> Iterable[tuple[int, str, str]]:
    for number, raw in enumerate(text.splitlines(), start=1):
        ref = _strip_comment(raw)
        if ref:
            yield number, ref, "album"


def _csv_refs(text: str, name: str) -> Iterable[tuple[int, str, str]]:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return
    header = [h.strip().lower() for h in rows[0]]
    column = next((header.index(c) for c in CSV_COLUMNS if c in header), None)
    start = 2
    if column is None:
        first = rows[0][0] if rows[0] else ""
        try:
            parse_album_ref(first)
        except AlbumRefError:
            raise AlbumRefError(
                f"{name} has no album column: name one of {', '.join(CSV_COLUMNS)} in the "
                "header, or list one reference per line without a header"
            ) from None
        column, start = 0, 1
        if len(rows[0]) > 1:
            raise AlbumRefError(f"{name} has several columns but no header naming the album column")
    field_name = header[column] if start == 2 else "album"
    for number, row in enumerate(rows[start - 1 :], start=start):
        value = row[column].strip() if column < len(row) else ""
        if not any(cell.strip() for cell in row) or value.startswith("#"):
            continue
        yield number, value, field_name


def read_request_file(path: Path, name: str) -> tuple[list[AlbumRequest], list[Reject]]:
    """Requests and bad lines of one request file; `name` is how rejects and requests name the file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [Reject(name, None, "", "", f"cannot read the request file: {exc}")]
    try:
        lines = list(_csv_refs(text, name) if path.suffix.lower() == ".csv" else _txt_refs(text))
    except (AlbumRefError, csv.Error) as exc:
        return [], [Reject(name, None, "", "", str(exc))]
    requests, rejects = [], []
    for number, value, field_name in lines:
        try:
            requests.append(AlbumRequest(parse_album_ref(value), name, number))
        except AlbumRefError as exc:
            rejects.append(Reject(name, number, field_name, value, f"not a Spotify album reference: {exc}"))
    return requests, rejects


def request_files(folder: Path) -> list[Path]:
    """Request files under `folder` (recursively), sorted by path; dotfiles and other suffixes are skipped."""
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.suffix.lower() in REQUEST_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def read_requests(folder: Path, relative_to: Path | None = None) -> ParsedRequests:
    """Every request file in `folder`: the first request of each album (file, then line order) and the rejects.

    Files are named relative to `relative_to` (default: `folder`'s parent's parent, i.e. the inbox).
    """
    base = relative_to or folder.parent.parent
    parsed = ParsedRequests()
    seen: set[str] = set()
    for path in request_files(folder):
        parsed.files += 1
        name = str(path.relative_to(base)) if path.is_relative_to(base) else str(path)
        requests, rejects = read_request_file(path, name)
        parsed.rejects.extend(rejects)
        for request in requests:
            if request.album_id in seen:
                parsed.duplicates += 1
                continue
            seen.add(request.album_id)
            parsed.requests.append(request)
    return parsed


def new_queue_rows(existing_ids: Iterable[str], requests: Iterable[AlbumRequest], now: datetime) -> list[dict]:
    """Queue rows for the requested albums not yet in the queue: `queued`, no attempts.

    Albums already in the queue are left exactly as they are, whatever their status: re-reading the same
    request files is a no-op, and an ingested album is never reset.
    """
    known = set(existing_ids)
    rows = []
    for request in requests:
        if request.album_id in known:
            continue
        known.add(request.album_id)
        rows.append(
            {
                "album_id": request.album_id,
                "source": SOURCE,
                "status": "queued",
                "reason": None,
                "attempts": 0,
                "requested_in": request.requested_in,
                "requested_at": now,
                "updated_at": now,
            }
        )
    return rows


def status_counts(queue: pl.DataFrame) -> dict[str, int]:
    """Albums per status (every status present, zero when none)."""
    counts = dict.fromkeys(STATUSES, 0)
    for status, n in queue.group_by("status").len().iter_rows():
        counts[status] = n
    return counts
