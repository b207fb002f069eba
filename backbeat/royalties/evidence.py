"""Evidence attached to disputes, stored by content: `evidence/<sha256[:2]>/<sha256>` under the data directory.

A file is read once, in chunks, into a hidden temporary file beside its final place while its sha256 is computed;
the temporary file is then hard-linked to the name its hash gives, which fails if that name exists, so a stored
file is never overwritten and the same content attached twice is stored once. Stored files are made read-only.
A file over `MAX_BYTES`, or whose content is not one of `ALLOWED_TYPES` (judged by its first bytes, not its
name), is refused before anything is written.

`verify` re-hashes a stored file: a file whose bytes no longer hash to its name has been tampered with.
No Dagster here: the `backbeat royalties dispute` commands use it.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MAX_BYTES = 20 * 1024 * 1024
CHUNK = 1024 * 1024
SHA256 = re.compile(r"[0-9a-f]{64}")


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a multi-byte character cut at the end of the sample is fine
        return exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
    return True


# Media type -> test of the file's first bytes (order matters: text is the fallback).
ALLOWED_TYPES: dict[str, Callable[[bytes], bool]] = {
    "application/pdf": lambda h: h.startswith(b"%PDF-"),
    "image/png": lambda h: h.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/jpeg": lambda h: h.startswith(b"\xff\xd8\xff"),
    "audio/wav": lambda h: h[:4] == b"RIFF" and h[8:12] == b"WAVE",
    "audio/mpeg": lambda h: h.startswith(b"ID3") or h[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"),
    "text/plain": _is_text,
}
"""What may be attached: documents (PDF, text, CSV logs, e-mails saved as text), screenshots and audio."""


class EvidenceError(ValueError):
    """An attachment refused (too large, a type not allowed, unreadable) or a store that does not hold up."""


@dataclass(frozen=True)
class Evidence:
    """One attachment: its content hash, the name it was attached under, its media type and size."""

    sha256: str
    name: str
    media_type: str
    size: int


def media_type(head: bytes) -> str | None:
    """The allowed media type the first bytes of a file show, or None."""
    return next((kind for kind, test in ALLOWED_TYPES.items() if test(head)), None)


def _chunks(handle: BinaryIO, limit: int, name: str) -> Iterator[bytes]:
    size = 0
    while chunk := handle.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise EvidenceError(f"{name} is larger than {limit:,} bytes, the most an attachment may have")
        yield chunk


def describe(path: Path, limit: int = MAX_BYTES) -> Evidence:
    """Hash, type and size of the file at `path` without storing it; EvidenceError if it may not be attached."""
    digest, size, head = hashlib.sha256(), 0, b""
    try:
        with open(path, "rb") as handle:
            for chunk in _chunks(handle, limit, path.name):
                head = head or chunk[:4096]
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise EvidenceError(f"{path} cannot be read: {exc.strerror or exc}") from None
    return Evidence(digest.hexdigest(), path.name, _allowed_type(head, path.name), size)


def _allowed_type(head: bytes, name: str) -> str:
    if not head:
        raise EvidenceError(f"{name} is empty")
    kind = media_type(head)
    if kind is None:
        raise EvidenceError(f"{name} is not an allowed type (PDF, PNG, JPEG, WAV, MP3 or UTF-8 text)")
    return kind


class EvidenceStore:
    """Content-addressed files under `root` (e.g. `data/evidence`)."""

    def __init__(self, root: Path, limit: int = MAX_BYTES) -> None:
        self.root = root
        self.limit = limit

    def path(self, sha256: str) -> Path:
        """Where the file with this hash is (or would be) stored."""
        if not SHA256.fullmatch(sha256):
            raise EvidenceError(f"{sha256!r} is not a sha256 (64 lowercase hex digits)")
        return self.root / sha256[:2] / sha256

    def put(self, source: Path) -> tuple[Evidence, bool]:
        """Store the file at `source`; returns its Evidence and whether it was new (False: already stored)."""
        self.root.mkdir(parents=True, exist_ok=True)
        temporary = self.root / f".incoming-{secrets.token_hex(8)}.part"
        digest, size, head = hashlib.sha256(), 0, b""
        try:
            try:
                with open(source, "rb") as handle, open(temporary, "xb") as out:
                    for chunk in _chunks(handle, self.limit, source.name):
                        head = head or chunk[:4096]
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                    out.flush()
                    os.fsync(out.fileno())
            except OSError as exc:
                raise EvidenceError(f"{source} cannot be stored: {exc.strerror or exc}") from None
            evidence = Evidence(digest.hexdigest(), source.name, _allowed_type(head, source.name), size)
            final = self.path(evidence.sha256)
            final.parent.mkdir(exist_ok=True)
            os.chmod(temporary, 0o444)
            try:
                os.link(temporary, final)  # fails if the name exists: never overwrites
            except FileExistsError:
                problem = self.verify(evidence.sha256)
                if problem:
                    raise EvidenceError(f"cannot store {source.name}: the stored copy {problem}") from None
                return evidence, False
            _fsync_dir(final.parent)
            return evidence, True
        finally:
            temporary.unlink(missing_ok=True)

    def verify(self, sha256: str) -> str | None:
        """None if the stored file's bytes hash to `sha256`; else what is wrong (missing, tampered)."""
        path = self.path(sha256)
        digest = hashlib.sha256()
        try:
            with open(path, "rb") as handle:
                while chunk := handle.read(CHUNK):
                    digest.update(chunk)
        except FileNotFoundError:
            return f"is missing ({path})"
        except OSError as exc:
            return f"cannot be read ({path}: {exc.strerror or exc})"
        if digest.hexdigest() != sha256:
            return f"was tampered with: {path} now hashes to {digest.hexdigest()}"
        return None


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
