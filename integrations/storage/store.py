"""Files shared between machines: one `Storage` on fsspec, a local folder or an S3-compatible bucket.

Keys are relative, `/`-separated (`landing/alpha_20260101T000000Z.wav`, `index/fingerprints/postings/times.npy`).
A `put` is atomic (a local file is written aside and renamed; an S3 PUT makes the whole object visible at
once); a `get` lands in a local path the same way. `sync_down`/`sync_up` transfer only what changed, so a
worker materializes what it needs in its own data directory and the Path-based code reads it there.

What counts as changed: size first; then, for an S3 object with a plain (single-part) ETag, the MD5 of the
local file; otherwise the modification time (a download or local put stamps the remote time on the copy).
Downloads remember each file's MD5 in `.backbeat-sync.json` beside them, so an unchanged file is not read
again (a lost or stale entry only costs a re-read).

Credentials come from the standard AWS variables (or profile, or instance role) through botocore; they are
never logged, and errors are re-raised as `StorageError` with any credential value removed from the text.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from fsspec import AbstractFileSystem
from fsspec.implementations.local import LocalFileSystem

CREDENTIAL_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ACCESS_KEY_ID")
SKIPPED_SUFFIXES = (".part", ".tmp")  # files still being written: never shared
SYNC_STATE_FILE = ".backbeat-sync.json"  # hidden: never listed as a chunk, never uploaded


class StorageError(Exception):
    """A storage operation failed; the message never holds credentials."""


@dataclass
class SyncReport:
    """What one sync moved: keys transferred, keys already the same, keys deleted on the receiving side."""

    transferred: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RemoteFile:
    """One stored object: its key, size, modification time (epoch seconds) and MD5 when the store knows it."""

    key: str
    size: int
    mtime: float
    md5: str | None = None


class Storage:
    """A folder of shared files under `root` on an fsspec filesystem; see the module docstring."""

    def __init__(self, fs: AbstractFileSystem, root: str, label: str, secrets: Iterable[str] = ()) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        self.label = label
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.label})"

    # ---- Single files ------------------------------------------------------------------------------------

    def put(self, local: Path, key: str) -> None:
        """Upload `local` to `key`; readers see the old object or the new one, never part of it."""
        with self._errors(f"put {key}"):
            self._put(Path(local), self._path(key))

    def get(self, key: str, local: Path) -> Path:
        """Download `key` to `local` (written aside and renamed), stamped with the stored time; returns `local`."""
        local = Path(local)
        with self._errors(f"get {key}"):
            remote = self._stat(key)
            local.parent.mkdir(parents=True, exist_ok=True)
            tmp = local.with_name(f".{local.name}.{uuid.uuid4().hex}.tmp")
            try:
                self.fs.get_file(self._path(key), str(tmp))
                os.utime(tmp, (remote.mtime, remote.mtime))
                os.replace(tmp, local)
            finally:
                tmp.unlink(missing_ok=True)
        return local

    def exists(self, key: str) -> bool:
        """Whether a file is stored at `key`."""
        with self._errors(f"exists {key}"):
            try:  # not fs.isfile: it answers False for an unreachable store too
                return bool(self.fs.info(self._path(key)).get("type") == "file")
            except FileNotFoundError:
                return False

    def delete(self, key: str) -> None:
        """Remove `key`; a missing key is not an error."""
        with self._errors(f"delete {key}"), contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self._path(key))

    def list(self, prefix: str = "") -> list[str]:
        """Keys starting with `prefix` (a folder `landing/` or a name start `landing/alpha_20260101`), sorted."""
        return sorted(self._list(prefix))

    # ---- Folders -----------------------------------------------------------------------------------------

    def sync_down(self, prefix: str, local_dir: Path, *, delete: bool = False) -> SyncReport:
        """Make `local_dir` hold every file whose key starts with `prefix`, downloading only what changed.

        Files land relative to the prefix's folder (the part up to its last `/`): `landing/alpha_2026` puts
        `landing/alpha_20260101T000000Z.wav` at `local_dir/alpha_20260101T000000Z.wav`. With `delete`, local
        files under that folder matching the prefix but no longer stored are removed (a mirror).
        """
        local_dir = Path(local_dir)
        folder, _, start = _clean(prefix, allow_empty=True).rpartition("/")
        report = SyncReport()
        remote = self._list(prefix)
        digests = _Digests(local_dir)
        for key, info in sorted(remote.items()):
            rel = _relative(key, folder)
            target = local_dir / rel
            same = target.is_file() and _same_down(target, info)
            if same and (info.md5 is None or digests.md5(rel, target) == info.md5):
                report.unchanged.append(key)
                continue
            self.get(key, target)
            digests.record(rel, target, info.md5)
            report.transferred.append(key)
        digests.save()
        if delete:
            for path in _local_files(local_dir):
                rel = path.relative_to(local_dir).as_posix()
                key = f"{folder}/{rel}" if folder else rel
                if rel.startswith(start) and key not in remote:
                    path.unlink()
                    report.deleted.append(key)
        return report

    def sync_up(self, local_dir: Path, prefix: str, *, delete: bool = False) -> SyncReport:
        """Upload every file under `local_dir` to the folder `prefix`, only what changed; hidden files,
        `.part` and `.tmp` files are skipped. With `delete`, stored files under `prefix` that are no longer
        local are removed (a mirror)."""
        local_dir = Path(local_dir)
        folder = _clean(prefix)
        remote = self._list(folder + "/")
        report = SyncReport()
        seen = set()
        for path in _local_files(local_dir):
            key = f"{folder}/{path.relative_to(local_dir).as_posix()}"
            seen.add(key)
            info = remote.get(key)
            if info is not None and _same_up(path, info):
                report.unchanged.append(key)
                continue
            self.put(path, key)
            report.transferred.append(key)
        if delete:
            for key in sorted(set(remote) - seen):
                self.delete(key)
                report.deleted.append(key)
        return report

    # ---- Implementation ----------------------------------------------------------------------------------

    def _path(self, key: str) -> str:
        return f"{self.root}/{_clean(key)}"

    def _put(self, local: Path, path: str) -> None:
        self.fs.put_file(str(local), path)

    def _stat(self, key: str) -> RemoteFile:
        return self._remote(key, self.fs.info(self._path(key)))

    def _list(self, prefix: str) -> dict[str, RemoteFile]:
        """Stored files whose key starts with `prefix`, by key."""
        with self._errors(f"list {prefix}"):
            folder, _, start = _clean(prefix, allow_empty=True).rpartition("/")
            base = f"{self.root}/{folder}" if folder else self.root
            found = self._find(base, start)
            files = {}
            for path, info in found.items():
                key = path.removeprefix(self._strip(self.root)).lstrip("/")
                if info.get("type") == "file" and key.startswith(_clean(prefix, allow_empty=True)):
                    files[key] = self._remote(key, info)
            return files

    def _find(self, base: str, start: str) -> dict[str, Any]:
        return dict(self.fs.find(base, detail=True))

    def _strip(self, path: str) -> str:
        return str(self.fs._strip_protocol(path))

    def _remote(self, key: str, info: Mapping[str, Any]) -> RemoteFile:
        raise NotImplementedError

    def _errors(self, action: str) -> _Errors:
        return _Errors(self, action)

    def redact(self, text: str) -> str:
        """`text` with every credential value this storage knows of replaced by ***."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


class LocalStorage(Storage):
    """Shared files in a local (or network-mounted) folder."""

    def __init__(self, root: Path) -> None:
        root = Path(root).resolve()
        super().__init__(LocalFileSystem(), root.as_posix(), f"file://{root.as_posix()}")

    def _find(self, base: str, start: str) -> dict[str, Any]:
        return dict(self.fs.find(base, detail=True)) if Path(base).is_dir() else {}

    def _put(self, local: Path, path: str) -> None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        try:
            shutil.copy2(local, tmp)  # keeps the modification time: an unchanged file stays unchanged
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def _remote(self, key: str, info: Mapping[str, Any]) -> RemoteFile:
        return RemoteFile(key, int(info["size"]), float(info["mtime"]))


class S3Storage(Storage):
    """Shared files under `s3://bucket/prefix` on AWS S3 or any S3-compatible server (`endpoint_url`)."""

    def __init__(self, url: str, endpoint_url: str | None = None, environ: Mapping[str, str] | None = None) -> None:
        import s3fs  # only needed when the storage is S3

        env = os.environ if environ is None else environ
        root = url.removeprefix("s3://").strip("/")
        if not root:
            raise StorageError(f"{url}: expected s3://bucket or s3://bucket/prefix")
        fs = s3fs.S3FileSystem(
            endpoint_url=endpoint_url or None, use_listings_cache=False, skip_instance_cache=True
        )  # credentials: botocore's chain (AWS_* variables, profile, instance role)
        where = f" at {endpoint_url}" if endpoint_url else ""
        super().__init__(fs, root, f"s3://{root}{where}", [env.get(name, "") for name in CREDENTIAL_ENV])

    def _find(self, base: str, start: str) -> dict[str, Any]:
        return dict(self.fs.find(base, detail=True, prefix=start))  # the server filters by name

    def _remote(self, key: str, info: Mapping[str, Any]) -> RemoteFile:
        modified = info.get("LastModified")
        mtime = modified.timestamp() if isinstance(modified, datetime) else float(info.get("mtime", 0.0))
        etag = str(info.get("ETag", "")).strip('"')
        md5 = etag if len(etag) == 32 and "-" not in etag else None  # multipart ETags are not an MD5
        return RemoteFile(key, int(info["size"]), mtime, md5)


def open_storage(
    url: str | None, data_dir: Path, *, endpoint_url: str | None = None, environ: Mapping[str, str] | None = None
) -> Storage:
    """The storage `url` names: unset → the local data directory itself, `s3://bucket/prefix` → S3 (with
    `endpoint_url` for a non-AWS server), `file:///path` or a plain path → that local folder."""
    if not url:
        return LocalStorage(data_dir)
    if url.startswith("s3://"):
        return S3Storage(url, endpoint_url, environ)
    if "://" in url and not url.startswith("file://"):
        raise StorageError(f"{url.split('://')[0]}:// storage is not supported: use s3://bucket/prefix or a path")
    return LocalStorage(Path(url.removeprefix("file://")))


class _Errors:
    """Re-raises a failure as StorageError (FileNotFoundError for a missing key) with credentials removed."""

    def __init__(self, storage: Storage, action: str) -> None:
        self.storage, self.action = storage, action

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _tb: Any) -> Literal[False]:
        if exc is None or isinstance(exc, StorageError):
            return False
        if not isinstance(exc, Exception):
            return False
        message = self.storage.redact(f"{self.storage.label}: {self.action} failed: {type(exc).__name__}: {exc}")
        if isinstance(exc, FileNotFoundError):
            raise StorageFileNotFoundError(message) from None
        raise StorageError(message) from None  # the original may carry request details: not chained


class StorageFileNotFoundError(StorageError, FileNotFoundError):
    """The key (or local file) does not exist."""


def _clean(key: str, *, allow_empty: bool = False) -> str:
    """A relative `/`-separated key; refuses `..`, absolute keys and (unless allowed) an empty one."""
    parts = [p for p in key.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts or (not parts and not allow_empty):
        raise StorageError(f"{key!r}: not a relative storage key")
    cleaned = "/".join(parts)
    return cleaned + "/" if key.endswith("/") and cleaned else cleaned


def _relative(key: str, folder: str) -> str:
    return key[len(folder) + 1 :] if folder else key


def _local_files(local_dir: Path) -> list[Path]:
    if not local_dir.is_dir():
        return []
    return sorted(
        p
        for p in local_dir.rglob("*")
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(local_dir).parts)
        and not p.name.endswith(SKIPPED_SUFFIXES)
    )


def _same_down(local: Path, remote: RemoteFile) -> bool:
    stat = local.stat()
    return stat.st_size == remote.size and abs(stat.st_mtime - remote.mtime) < 1e-3


def _same_up(local: Path, remote: RemoteFile) -> bool:
    stat = local.stat()
    if stat.st_size != remote.size:
        return False
    if remote.md5 is not None:
        return _md5(local) == remote.md5
    return remote.mtime >= stat.st_mtime


class _Digests:
    """The MD5 of each downloaded file, by relative path, valid while the file's size and mtime stay the same."""

    def __init__(self, local_dir: Path) -> None:
        self.path = local_dir / SYNC_STATE_FILE
        self.changed = False
        try:
            self.entries: dict[str, list[Any]] = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.entries = {}

    def md5(self, rel: str, local: Path) -> str:
        stat = local.stat()
        entry = self.entries.get(rel)
        if entry and entry[:2] == [stat.st_size, stat.st_mtime_ns]:
            return str(entry[2])
        digest = _md5(local)
        self.record(rel, local, digest)
        return digest

    def record(self, rel: str, local: Path, md5: str | None) -> None:
        if md5 is not None:
            stat = local.stat()
            self.entries[rel] = [stat.st_size, stat.st_mtime_ns, md5]
            self.changed = True

    def save(self) -> None:
        if not self.changed:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{self.path.name}.{uuid.uuid4().hex}.tmp")
        tmp.write_text(json.dumps(self.entries), encoding="utf-8")
        os.replace(tmp, self.path)  # concurrent syncs of one folder: the last wins, the other's entries re-read


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
