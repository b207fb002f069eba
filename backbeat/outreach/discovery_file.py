"""A discovery run described in a small YAML (or JSON) file, read and checked before any provider is called.

```yaml
org: demo-label                                  # the organisation the candidates are for
keywords: [indie radio submit music, college radio music director]   # SERP queries (optional)
location: 2840                                   # SERP location code, or a name "United Kingdom"
language: en                                     # SERP language code (default en)
depth: 20                                        # results per query (default 10)
csv: leads.csv                                   # a candidates CSV, relative to this file (optional)
stations: true                                   # Backbeat's monitored stations as candidates (optional)
budget: 200                                      # the organisation's monthly email-finder credits (optional)
moods: [dreamy, late night]                      # what the org's campaigns are scored against (optional)
refresh_days: 30                                 # search again only after this many days (default 30)
```

At least one source (`keywords`, `csv`, `stations`) is required. Every problem is reported at once as
`DiscoveryFileError` (file: field: what). `run_discovery_spec` runs the sources in the order search, CSV,
stations through `backbeat.outreach.discovery`; a search needs a `SearchSource` (None: the search is skipped and
said so, e.g. when the SERP provider is not configured). A search is paid for: the same keywords, location,
language and depth searched successfully for the organisation within `refresh_days` are not asked again (the
run says when they were and when they will be); the CSV and the stations cost nothing and always run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

from backbeat.outreach.clock import utcnow
from backbeat.outreach.discovery import (
    DiscoveryFailed,
    DiscoveryResult,
    SearchSource,
    discover_from_csv,
    discover_from_search,
    discover_from_stations,
)
from backbeat.outreach.prospecting_tables import DISCOVERY_RUNS
from integrations.warehouse import Warehouse

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
DEFAULT_REFRESH_DAYS = 30
"""A search asked again within this many days is not paid for again (`refresh_days` in the file)."""
_KEYS = {"org", "keywords", "location", "language", "depth", "csv", "stations", "budget", "moods", "refresh_days"}


class DiscoveryFileError(ValueError):
    """A discovery file that cannot be used; `problems` holds one line per problem (file: field: what)."""

    def __init__(self, path: str | Path, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        super().__init__(f"{self.path}: {len(problems)} problem(s)\n" + "\n".join(f"  {p}" for p in problems))


@dataclass(frozen=True)
class DiscoverySpec:
    """What a discovery file asks for (see the module docstring); `csv` is resolved against the file's folder."""

    path: Path
    org_id: str
    keywords: tuple[str, ...] = ()
    location_code: int | None = None
    location_name: str | None = None
    language_code: str = "en"
    depth: int = 10
    csv: Path | None = None
    stations: bool = False
    budget: float | None = None
    moods: tuple[str, ...] = ()
    refresh_days: int = DEFAULT_REFRESH_DAYS


@dataclass
class DiscoveryOutcome:
    """What running one spec did: a result per source run, and the sources skipped or failed, with why."""

    spec: DiscoverySpec
    results: list[DiscoveryResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def load_discovery_file(path: str | Path) -> DiscoverySpec:
    """Read and check a discovery file (YAML, or JSON by its `.json` suffix); `DiscoveryFileError` lists every
    problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except FileNotFoundError:
        raise DiscoveryFileError(path, [f"{path}: no such file"]) from None
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        raise DiscoveryFileError(path, [f"{path}: cannot be read ({exc})"]) from None
    if not isinstance(data, dict):
        raise DiscoveryFileError(path, [f"{path}: must be a mapping of fields (org, keywords, ...)"])
    problems: list[str] = []

    def bad(name: str, what: str) -> None:
        problems.append(f"{path.name}: {name}: {what}")

    for key in sorted(set(data) - _KEYS, key=str):
        bad(str(key), f"unknown field (allowed: {', '.join(sorted(_KEYS))})")
    org = data.get("org")
    if not isinstance(org, str) or not _ID.match(org):
        bad("org", f"must be an organisation id (letters, digits, '.', '_', '-'), got {org!r}")
    keywords = data.get("keywords") or []
    if isinstance(keywords, str):
        keywords = [keywords]
    if not isinstance(keywords, list) or not all(isinstance(k, str) and k.strip() for k in keywords):
        bad("keywords", "must be a list of non-empty search phrases")
        keywords = []
    location = data.get("location", 2840 if keywords else None)
    code, name = (location, None) if isinstance(location, int) and not isinstance(location, bool) else (None, location)
    if name is not None and not (isinstance(name, str) and name.strip()):
        bad("location", f"must be a location code (e.g. 2840) or name, got {location!r}")
        name = None
    language = data.get("language", "en")
    if not isinstance(language, str) or not re.fullmatch(r"[a-z]{2}(-[a-z]{2})?", language):
        bad("language", f"must be a language code such as en, got {language!r}")
    depth = data.get("depth", 10)
    if not isinstance(depth, int) or isinstance(depth, bool) or not 1 <= depth <= 700:
        bad("depth", f"must be a whole number from 1 to 700, got {depth!r}")
    csv = data.get("csv")
    csv_path = None
    if csv is not None:
        if not isinstance(csv, str) or not csv.strip():
            bad("csv", f"must be the path of a candidates CSV, got {csv!r}")
        else:
            csv_path = (path.parent / csv).resolve()
            if not csv_path.is_file():
                bad("csv", f"no such file {csv_path}")
    stations = data.get("stations", False)
    if not isinstance(stations, bool):
        bad("stations", f"must be true or false, got {stations!r}")
    budget = data.get("budget")
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int | float) or budget < 0):
        bad("budget", f"must be a number of credits >= 0, got {budget!r}")
    moods = data.get("moods") or []
    if not isinstance(moods, list) or not all(isinstance(m, str) for m in moods):
        bad("moods", "must be a list of words")
        moods = []
    refresh_days = data.get("refresh_days", DEFAULT_REFRESH_DAYS)
    if not isinstance(refresh_days, int) or isinstance(refresh_days, bool) or refresh_days < 0:
        bad("refresh_days", f"must be a whole number of days >= 0, got {refresh_days!r}")
    if not (keywords or csv is not None or stations is True):
        bad("keywords", "no source: give keywords, csv or stations: true")
    if problems:
        raise DiscoveryFileError(path, problems)
    return DiscoverySpec(
        path=path,
        org_id=str(org),
        keywords=tuple(k.strip() for k in keywords),
        location_code=code,
        location_name=name.strip() if isinstance(name, str) else None,
        language_code=str(language),
        depth=int(depth),
        csv=csv_path,
        stations=bool(stations),
        budget=None if budget is None else float(budget),
        moods=tuple(m.strip() for m in moods if m.strip()),
        refresh_days=int(refresh_days),
    )


def run_discovery_spec(
    warehouse: Warehouse,
    spec: DiscoverySpec,
    *,
    search: SearchSource | None,
    not_configured: str = "the search provider is not configured",
    clock: Callable[[], datetime] | None = None,
    refresh: bool = False,
) -> DiscoveryOutcome:
    """Run the spec's sources (search, then CSV, then stations). A failed source is recorded (its run row says
    why) and the others still run; a search without a `search` source is skipped with `not_configured`, and
    one that succeeded within the spec's `refresh_days` is skipped unless `refresh`."""
    outcome = DiscoveryOutcome(spec)
    timing: dict[str, Any] = {"clock": clock} if clock else {}
    searched = _searched_within(warehouse, spec, (clock or utcnow)()) if spec.keywords and not refresh else None
    if searched is not None:
        again = searched + timedelta(days=spec.refresh_days)
        outcome.skipped.append(
            f"{spec.path.name}: search skipped: the same query was searched on {searched:%Y-%m-%d %H:%M} UTC; "
            f"searched again from {again:%Y-%m-%d} (refresh_days: {spec.refresh_days})"
        )
    elif spec.keywords:
        if search is None:
            outcome.skipped.append(f"{spec.path.name}: search skipped: {not_configured}")
        else:
            try:
                outcome.results.append(
                    discover_from_search(
                        warehouse,
                        spec.org_id,
                        search,
                        spec.keywords,
                        location_code=spec.location_code,
                        location_name=spec.location_name,
                        language_code=spec.language_code,
                        depth=spec.depth,
                        **timing,
                    )
                )
            except DiscoveryFailed as exc:
                outcome.results.append(exc.result)
                outcome.failed.append(f"{spec.path.name}: search: {exc.result.error}")
    if spec.csv is not None:
        result = discover_from_csv(warehouse, spec.org_id, spec.csv, **timing)
        outcome.results.append(result)
        if result.status == "failed":
            outcome.failed.append(f"{spec.path.name}: csv: {result.error}")
    if spec.stations:
        outcome.results.append(discover_from_stations(warehouse, spec.org_id, **timing))
    return outcome


def _searched_within(warehouse: Warehouse, spec: DiscoverySpec, now: datetime) -> datetime | None:
    """When the spec's exact search last succeeded for its organisation, if within `refresh_days` of `now`."""
    if spec.refresh_days <= 0:
        return None
    warehouse.ensure(DISCOVERY_RUNS)
    wanted = {
        "keywords": list(spec.keywords),
        "location_code": spec.location_code,
        "location_name": spec.location_name,
        "language_code": spec.language_code,
        "depth": spec.depth,
    }
    rows = warehouse.query(
        f"SELECT parameters, started_at FROM {DISCOVERY_RUNS.qualified_name} "
        "WHERE org_id = ? AND source NOT IN ('csv', 'stations') AND status = 'succeeded' AND started_at > ? "
        "ORDER BY started_at DESC",
        [spec.org_id, now - timedelta(days=spec.refresh_days)],
    )
    for parameters, started_at in rows.iter_rows():
        if json.loads(parameters or "{}") == wanted:
            return started_at
    return None


def discovery_files(folder: Path) -> list[Path]:
    """The discovery files in `folder` (YAML or JSON), sorted; none when it does not exist."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".yaml", ".yml", ".json"))
