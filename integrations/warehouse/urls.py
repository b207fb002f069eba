"""What a warehouse URL names: its engine and, for DuckDB, its file; and how a PostgreSQL URL is made safe.

The client and the settings both read it. A PostgreSQL URL is checked before any driver sees it: libpq's own
errors quote the malformed part, which for an unencoded password is the password. Errors here never show any
part of the URL. The password may also come separately (`BACKBEAT_WAREHOUSE_PASSWORD`) and is then inserted
percent-encoded. Sessions are put in UTC (`options=-c timezone=UTC`) whatever the server's time zone.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlparse

PASSWORD_ENV = "BACKBEAT_WAREHOUSE_PASSWORD"
UTC_OPTION = "-c timezone=UTC"

ENCODING_HINT = (
    "percent-encode reserved characters in the user name and password (@ %40, : %3A, / %2F, % %25, ? %3F, "
    "# %23, space %20; `python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=\"\"))' "
    f"PASSWORD`), or leave the password out of the URL and set {PASSWORD_ENV}"
)

_USERINFO = r"(?P<user>[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::(?P<password>[A-Za-z0-9\-._~!$&'()*+,;=:%]*))?"
_HOST = r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%]*)(?::[0-9]*)?"
_POSTGRES_URL = re.compile(
    rf"^(?P<scheme>postgres(?:ql)?(?:\+[a-z0-9]+)?)://(?:{_USERINFO}@)?(?P<hosts>{_HOST}(?:,{_HOST})*)"
    r"(?P<path>/[^/?#@]*)?(?P<query>\?[^#]*)?$"
)
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


class WarehouseUrlError(ValueError):
    """A warehouse URL that cannot be used; the message never contains the URL."""


def warehouse_kind(url: str) -> str:
    """'duckdb' or 'postgres', from a warehouse URL; anything else (or a malformed PostgreSQL URL) is an error."""
    scheme = urlparse(url).scheme.split("+")[0] if "://" in url else ""
    if scheme == "duckdb":
        return "duckdb"
    if scheme in ("postgresql", "postgres"):
        check_postgres_url(url)
        return "postgres"
    raise WarehouseUrlError(
        f"BACKBEAT_WAREHOUSE_URL must start with duckdb:/// or postgresql://, got scheme {scheme!r}"
    )


def check_postgres_url(url: str) -> None:
    """Raise `WarehouseUrlError` (naming the malformed part, never showing it) unless libpq can parse `url`."""
    found = _POSTGRES_URL.match(url)
    if found is None:
        raise WarehouseUrlError(
            "BACKBEAT_WAREHOUSE_URL is not a valid postgresql://user:password@host:port/database URL (not shown: "
            f"it may hold a password); {ENCODING_HINT}."
        )
    for part in ("user", "password", "hosts", "path"):
        if _BAD_PERCENT.search(found.group(part) or ""):
            raise WarehouseUrlError(
                f"BACKBEAT_WAREHOUSE_URL has a '%' not followed by two hex digits in its {part} (not shown); "
                f"{ENCODING_HINT}."
            )


def with_password(url: str, password: str) -> str:
    """`url` with `password` (any characters) as its password, percent-encoded; a password in `url` is replaced."""
    check_postgres_url(url)
    found = _POSTGRES_URL.match(url)
    assert found is not None  # checked above
    user, hosts_onwards = found.group("user") or "", url[found.start("hosts") :]
    return f"{found.group('scheme')}://{user}:{quote(password, safe='')}@{hosts_onwards}"


def with_utc_session(url: str) -> str:
    """A PostgreSQL `url` whose sessions use UTC (libpq's `options` gains `-c timezone=UTC` unless it sets one);
    other URLs unchanged. `now()`, `current_date` and casts to and from `timestamptz` then agree with the naive
    UTC timestamps Backbeat stores, whatever the server's or the database's default time zone."""
    if warehouse_kind(url) != "postgres":
        return url
    base, _, query = url.partition("?")
    params = parse_qsl(query, keep_blank_values=True)
    options = dict(params).get("options", "")
    if "timezone" in options.lower():
        return url
    merged = f"{options} {UTC_OPTION}".strip()
    kept = [(k, v) for k, v in params if k != "options"]
    return f"{base}?{urlencode([*kept, ('options', merged)], quote_via=quote)}"


def connection_url(url: str, password: str | None = None) -> str:
    """The URL clients connect with: the separate password inserted (when given), sessions in UTC."""
    if password and warehouse_kind(url) == "postgres":
        url = with_password(url, password)
    return with_utc_session(url)


def duckdb_path(url: str) -> Path:
    """The file behind a `duckdb:///path` URL."""
    return Path(unquote(urlparse(url).path)).resolve() if url.startswith("duckdb:///") else Path(url)
