"""OAuth tokens encrypted at rest, and a log filter that keeps credentials out of log lines.

`TokenStore` keeps one Fernet-encrypted file per token name under a directory (mode 0600, written atomically).
The key is a Fernet key (32 url-safe base64 bytes, `TokenStore.generate_key()`) that the caller passes in,
typically from the `BACKBEAT_SECRET_KEY` environment variable through a resource's `EnvVar`; this module never
reads the environment. Neither the key nor any token appears in a repr, an exception message or a log line.
"""

import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

SECRET_KEY_ENV = "BACKBEAT_SECRET_KEY"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class SecretStoreError(Exception):
    """A token file that cannot be read with the given key, or a key that is not a Fernet key."""


class TokenStore:
    """Encrypted token files: `save(name, token)`, `load(name)`, `delete(name)`."""

    def __init__(self, directory: str | Path, key: str | bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError):
            raise SecretStoreError(
                f"the secret key (e.g. ${SECRET_KEY_ENV}) is not a Fernet key: "
                "generate one with TokenStore.generate_key()"
            ) from None
        self.directory = Path(directory)

    def __repr__(self) -> str:
        return f"TokenStore(directory={str(self.directory)!r})"

    @staticmethod
    def generate_key() -> str:
        """A fresh Fernet key to put in the secret-key environment variable."""
        return Fernet.generate_key().decode("ascii")

    def path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise ValueError(f"token name {name!r} must be letters, digits, '.', '_' or '-'")
        return self.directory / f"{name}.token"

    def save(self, name: str, token: Mapping[str, Any]) -> Path:
        """Encrypt and write `token` (a JSON-able mapping) atomically; returns the file's path."""
        path = self.path(name)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        blob = self._fernet.encrypt(json.dumps(dict(token), sort_keys=True).encode("utf-8"))
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{name}.", suffix=".tmp")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(blob)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def load(self, name: str) -> dict[str, Any] | None:
        """The decrypted token, or None when none is stored."""
        path = self.path(name)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            data: dict[str, Any] = json.loads(self._fernet.decrypt(blob))
            return data
        except InvalidToken:
            raise SecretStoreError(
                f"{path} cannot be decrypted with this key (wrong ${SECRET_KEY_ENV}, or the file was altered)"
            ) from None

    def delete(self, name: str) -> None:
        self.path(name).unlink(missing_ok=True)


_CREDENTIAL = re.compile(
    r"((?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]+|(access_token['\"]?\s*[:=]\s*['\"]?)[^'\",\s}]+", re.IGNORECASE
)


def redact(text: str) -> str:
    """`text` with bearer/basic credentials and access_token values replaced by ***."""
    return _CREDENTIAL.sub(lambda m: (m.group(1) or m.group(2)) + "***", text)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message so credentials in it (spotipy logs request headers at DEBUG) never leave."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_installed: set[str] = set()


def install_log_redaction(logger_names: Iterable[str]) -> None:
    """Attach one `RedactingFilter` to each named logger (idempotent)."""
    for name in logger_names:
        if name not in _installed:
            logging.getLogger(name).addFilter(RedactingFilter())
            _installed.add(name)
