"""A local server speaking DataForSEO v3's Google organic SERP API in live mode, for discovery tests and the demo.

- `POST /v3/serp/google/organic/live/advanced` — HTTP Basic auth (API login and password); body: a JSON array
  of exactly one task `{keyword, location_code | location_name, language_code, depth}`; answers HTTP 200 with
  the documented envelope `{version, status_code, status_message, time, cost, tasks_count, tasks_error, tasks:
  [{id, status_code, status_message, time, cost, result_count, path, data, result: [{keyword, type, se_domain,
  location_code, language_code, check_url, datetime, item_types, se_results_count, items_count, items}]}]}`.

Results are deterministic per keyword, location and language (seeded by their hash): `depth` organic items
(capped at `MAX_ITEMS`) on domains from a small pool of music sites, some with `www.` or an upper-case host, some
pointing at a contact page, with a paid item and a "people also ask" block between them (as Google shows; a
client must keep only `type: "organic"`). `expected_organic(...)` returns the same items for assertions.

Errors, as the appendix/errors list names them:
- wrong credentials: HTTP 401 with `status_code` 40100;
- a missing or bad field: task `status_code` 40501 "Invalid Field: '<name>'." (cost 0);
- more than one task: envelope `status_code` 40000;
- `balance_usd` exhausted: task 40210 "Insufficient funds." (cost 0); `task_errors[keyword] = (code, message)`
  forces any task code (e.g. 40200 payment required, 40101 internal SE error, 40202 rate limit);
- faults from the shared `FaultPlan` on endpoint `organic_live`: e.g. `fail_next("organic_live", 1, 429,
  retry_after=2)` answers HTTP 429 with Retry-After, or a 5xx.

Each successful task costs `PRICE_PER_SERP` per 10 results asked (live mode), charged to `balance_usd`;
`spent_usd` and `tasks_served` record it.

For benchmarks, `FakeSerp(universe=DomainUniverse(10_000, seed=7))` answers from a seeded universe of that many
sites instead: `universe.keywords()` are the queries that reach every site, each page mixing new sites with sites
other pages already showed (under another URL: `www.`, upper case, a trailing dot, tracking parameters, another
page), IDN hosts written in Unicode, a few unusable hosts, and some queries with no result at all (still charged).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from backbeat.demo.standins._http import FakeServer, FaultPlan, Response, json_response

PATH = "/v3/serp/google/organic/live/advanced"
ENDPOINT = "organic_live"
VERSION = "0.1.20241101"
PRICE_PER_SERP = Decimal("0.002")
MAX_ITEMS = 100
LOCATIONS = {
    "United States": 2840,
    "United Kingdom": 2826,
    "Germany": 2276,
    "France": 2250,
    "London,England,United Kingdom": 1006886,
    "Manchester,England,United Kingdom": 1006912,
}
LANGUAGES = frozenset({"en", "de", "fr", "es", "it", "nl"})
_FIRST = ("indie", "vinyl", "static", "groove", "signal", "tape", "echo", "wave", "northern", "basement")
_SECOND = ("radio", "fm", "zine", "review", "sessions", "collective", "weekly", "blog")
_SLUG = re.compile(r"[^a-z0-9]+")
_PATH = ["v3", "serp", "google", "organic", "live", "advanced"]
AUTH_MESSAGE = (
    "You are not authorized to access this resource. See your login details here: https://app.dataforseo.com/api-access"
)


@dataclass(frozen=True)
class FakeItem:
    """One organic result the server will show for a query."""

    rank_group: int
    rank_absolute: int
    domain: str
    url: str
    title: str
    description: str


def _seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")


def expected_organic(keyword: str, location_code: int, language_code: str, depth: int) -> list[FakeItem]:
    """The organic items the server answers for this query, in rank order (deterministic)."""
    rng = random.Random(_seed(" ".join(keyword.lower().split()), location_code, language_code))
    slug = _SLUG.sub("-", keyword.lower()).strip("-") or "results"
    items: list[FakeItem] = []
    absolute = 1
    for group in range(1, min(depth, MAX_ITEMS) + 1):
        absolute += 1 if group == 1 else 0  # the paid item sits at rank_absolute 1
        absolute += 1 if group == 4 else 0  # the "people also ask" block sits before the 4th organic item
        name = f"{rng.choice(_FIRST)}{rng.choice(_SECOND)}.example"
        host = rng.choice((name, f"www.{name}", name.upper() if rng.random() < 0.2 else name))
        page = rng.choice(("contact", f"{slug}/{group}", f"features/{slug}", ""))
        url = f"https://{host}/{page}" if page else f"https://{host}/"
        title = f"{name.split('.')[0].title()} — {keyword.strip()}" + (" | Contact" if page == "contact" else "")
        items.append(FakeItem(group, absolute, host.lower(), url, title, f"About {keyword.strip()} on {name}."))
        absolute += 1
    return items


_GENRES = ("indie pop", "shoegaze", "dream pop", "post punk", "folk", "techno", "jazz", "soul", "hip hop", "ambient")
_INTENTS = (
    "radio submit music",
    "music blog submissions",
    "college radio music director",
    "playlist curator",
    "new music review",
    "community radio presenter",
    "music zine contact",
    "late night radio show",
)
_PLACES = (
    "london",
    "manchester",
    "berlin",
    "paris",
    "leeds",
    "glasgow",
    "bristol",
    "dublin",
    "hamburg",
    "lyon",
    "cardiff",
    "brighton",
)
_TLDS = ("com", "com", "com", "fm", "net", "org", "co.uk", "de", "fr", "radio")
_IDN_NAMES = ("bücher", "müsik", "klänge", "música", "écoute", "größe", "ondes", "sørlandet")
_PAGES = ("", "contact", "about/team", "submissions", "features/new-music", "shows/late-night")
_TRACKING = ("?utm_source=newsletter&utm_medium=email", "?gclid=abc123", "?fbclid=xyz")


@dataclass(frozen=True)
class DomainUniverse:
    """`size` seeded music sites spread over search queries (for benchmarks).

    Each query shows `per_page` results: `per_page × (1 − repeat_share)` sites no earlier query showed, the rest
    sites another query showed (under another URL form); `empty_share` of the queries find nothing; `idn_share`
    of the sites have an IDN host (shown in Unicode); `bad_share` of the results have an unusable host.
    """

    size: int
    seed: int = 0
    per_page: int = 100
    repeat_share: float = 0.2
    empty_share: float = 0.04
    idn_share: float = 0.02
    bad_share: float = 0.002

    def domain(self, index: int) -> str:
        """Site `index`'s host as its owner writes it (Unicode for an IDN host)."""
        rng = random.Random(_seed("domain", self.seed, index))
        tld = rng.choice(_TLDS)
        if rng.random() < self.idn_share:
            # a site under an IDN domain: blog.bücherzine12.de
            return f"{rng.choice(('blog', 'fm', 'radio'))}.{rng.choice(_IDN_NAMES)}{rng.choice(_SECOND)}{index}.{tld}"
        return f"{rng.choice(_FIRST)}{rng.choice(_SECOND)}{index}.{tld}"

    @property
    def fresh_per_page(self) -> int:
        return max(1, round(self.per_page * (1 - self.repeat_share)))

    def keywords(self) -> list[str]:
        """The queries that, asked `per_page` deep, show every site; the empty ones are among them."""
        full = math.ceil(self.size / self.fresh_per_page)
        total = math.ceil(full / (1 - self.empty_share))
        combos = [f"{g} {i} {p}" for p in _PLACES for g in _GENRES for i in _INTENTS]
        random.Random(_seed("keywords", self.seed)).shuffle(combos)
        if total > len(combos):
            combos += [f"{c} {n}" for n in range(2, total // len(combos) + 2) for c in list(combos)]
        return combos[:total]

    def _layout(self) -> dict[str, int]:
        """keyword → page number (−1: no results)."""
        words = self.keywords()
        rng = random.Random(_seed("layout", self.seed))
        empty = set(rng.sample(range(len(words)), len(words) - math.ceil(self.size / self.fresh_per_page)))
        pages, page = {}, 0
        for n, word in enumerate(words):
            pages[word] = -1 if n in empty else page
            page += 0 if n in empty else 1
        return pages

    def organic(self, keyword: str, depth: int) -> list[FakeItem]:
        """The organic items shown for `keyword` (unknown keywords and empty pages: none)."""
        page = _layout_of(self).get(" ".join(keyword.lower().split()), -1)
        if page < 0:
            return []
        rng = random.Random(_seed("page", self.seed, page))
        fresh = self.fresh_per_page
        sites = list(range(page * fresh, min(self.size, (page + 1) * fresh)))
        shown_before = page * fresh
        repeats = self.per_page - fresh
        if shown_before:
            sites += [rng.randrange(shown_before) for _ in range(repeats)]
        rng.shuffle(sites)
        items: list[FakeItem] = []
        for n, site in enumerate(sites[: min(depth, MAX_ITEMS)], start=1):
            host = self.domain(site)
            form = rng.random()
            if rng.random() < self.bad_share:
                host = rng.choice(("intranet", "localhost", "-bad-.example", "exa mple.com"))
            elif form < 0.15:
                host = "www." + host
            elif form < 0.22:
                host = host.upper()
            elif form < 0.25:
                host += "."
            path = rng.choice(_PAGES)
            url = f"https://{host}/{path}" + (rng.choice(_TRACKING) if rng.random() < 0.1 else "")
            name = host.split(".")[0].removeprefix("www").title() or host
            title = f"{name} — {keyword}" + (" | Contact" if path == "contact" else "")
            description = f"{name} covers {keyword.split(' radio')[0]} and new music; {path or 'home'}."
            items.append(
                FakeItem(
                    n, n + 1 + (n >= 4), host.lower(), url, title, description
                )  # paid item at 1, questions before 4
            )
        return items


_layouts: dict[DomainUniverse, dict[str, int]] = {}
_layouts_lock = threading.Lock()


def _layout_of(universe: DomainUniverse) -> dict[str, int]:
    with _layouts_lock:
        if universe not in _layouts:
            _layouts[universe] = universe._layout()
        return _layouts[universe]


class FakeSerp(FakeServer):
    """Serves DataForSEO's live organic SERP for one API account (`login`, `password`)."""

    def __init__(
        self,
        login: str = "api-login",
        password: str = "api-password",
        plan: FaultPlan | None = None,
        *,
        balance_usd: Decimal | None = None,
        latency: tuple[float, float] = (0.0, 0.0),
        seed: int = 0,
        clock: Callable[[], float] | None = None,
        universe: DomainUniverse | None = None,
    ) -> None:
        super().__init__(latency=latency, seed=seed, **({"clock": clock} if clock else {}))
        self.universe = universe
        self.login = login
        self.password = password
        self.plan = plan or FaultPlan()
        self.balance_usd = balance_usd
        self.task_errors: dict[str, tuple[int, str]] = {}
        self.spent_usd = Decimal(0)
        self.tasks_served = 0
        self._lock = threading.Lock()

    def route(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> tuple[str, Response]:
        if method != "POST" or path != PATH:
            return "unknown", _envelope(40400, "Not Found.", [], http_status=404)
        expected = base64.b64encode(f"{self.login}:{self.password}".encode()).decode()
        if headers.get("authorization", "") != f"Basic {expected}":
            return ENDPOINT, _envelope(40100, AUTH_MESSAGE, [], http_status=401)
        failure = self.plan.take_failure(ENDPOINT)
        if failure is not None:
            extra = {"Retry-After": f"{failure.retry_after:g}"} if failure.retry_after is not None else {}
            if failure.body is not None:
                return ENDPOINT, Response(failure.status, failure.body.encode(), {"Content-Type": "application/json"})
            return ENDPOINT, _envelope(50000, "Internal Error.", [], http_status=failure.status, headers=extra)
        try:
            tasks = json.loads(body or b"null")
        except ValueError:
            return ENDPOINT, _envelope(40503, "POST Data Is Invalid.", [])
        if not isinstance(tasks, list) or not tasks or not all(isinstance(t, dict) for t in tasks):
            return ENDPOINT, _envelope(40503, "POST Data Is Invalid.", [])
        if len(tasks) > 1:
            return ENDPOINT, _envelope(40000, "You can set only one task at a time.", [])
        return ENDPOINT, _envelope(20000, "Ok.", [self._task(tasks[0])])

    def _task(self, asked: dict[str, Any]) -> dict[str, Any]:
        task_id = str(uuid.uuid4())
        keyword = asked.get("keyword")
        if not isinstance(keyword, str) or not keyword.strip() or len(keyword) > 700:
            return _task_error(task_id, 40501, "Invalid Field: 'keyword'.", asked)
        location = asked.get("location_code")
        if location is None and isinstance(asked.get("location_name"), str):
            location = LOCATIONS.get(asked["location_name"])
            if location is None:
                return _task_error(task_id, 40501, "Invalid Field: 'location_name'.", asked)
        if location not in LOCATIONS.values():
            return _task_error(task_id, 40501, "Invalid Field: 'location_code'.", asked)
        language = asked.get("language_code")
        if language not in LANGUAGES:
            return _task_error(task_id, 40501, "Invalid Field: 'language_code'.", asked)
        depth = asked.get("depth", 100)
        if not isinstance(depth, int) or isinstance(depth, bool) or not 1 <= depth <= 700:
            return _task_error(task_id, 40501, "Invalid Field: 'depth'.", asked)
        forced = self.task_errors.get(keyword)
        if forced is not None:
            return _task_error(task_id, forced[0], forced[1], asked)
        cost = PRICE_PER_SERP * math.ceil(depth / 10)
        with self._lock:
            if self.balance_usd is not None and self.balance_usd < cost:
                return _task_error(task_id, 40210, "Insufficient funds.", asked)
            if self.balance_usd is not None:
                self.balance_usd -= cost
            self.spent_usd += cost
            self.tasks_served += 1
        if self.universe is not None:
            items = self.universe.organic(keyword, depth)
        else:
            items = expected_organic(keyword, location, language, depth)
        return {
            "id": task_id,
            "status_code": 20000,
            "status_message": "Ok.",
            "time": "0.0123 sec.",
            "cost": float(cost),
            "result_count": 1,
            "path": _PATH,
            "data": {"api": "serp", "function": "live", "se": "google", "se_type": "organic", **asked},
            "result": [
                {
                    "keyword": keyword,
                    "type": "organic",
                    "se_domain": "google.com",
                    "location_code": location,
                    "language_code": language,
                    "check_url": f"https://www.google.com/search?q={keyword.replace(' ', '+')}&hl={language}",
                    "datetime": "2026-12-05 07:00:00 +00:00",
                    "spell": None,
                    "item_types": ["paid", "organic", "people_also_ask"] if items else [],
                    "se_results_count": 1_000_000 + _seed(keyword) % 1_000_000,
                    "items_count": len(items) + (2 if len(items) >= 4 else 1 if items else 0),
                    "items": _with_features(items, keyword),
                }
            ],
        }


def _with_features(items: list[FakeItem], keyword: str) -> list[dict[str, Any]]:
    """The organic items with the paid item and the people-also-ask block Google puts between them."""
    out: list[dict[str, Any]] = []
    for item in items:
        if item.rank_group == 1:
            out.append(
                {
                    "type": "paid",
                    "rank_group": 1,
                    "rank_absolute": 1,
                    "domain": "ads.example",
                    "title": f"Buy {keyword}",
                    "url": "https://ads.example/landing",
                    "description": "Sponsored.",
                }
            )
        if item.rank_group == 4:
            out.append(
                {
                    "type": "people_also_ask",
                    "rank_group": 1,
                    "rank_absolute": item.rank_absolute - 1,
                    "items": [{"type": "people_also_ask_element", "title": f"Who plays {keyword}?"}],
                }
            )
        out.append(
            {
                "type": "organic",
                "rank_group": item.rank_group,
                "rank_absolute": item.rank_absolute,
                "position": "left",
                "xpath": f"/html[1]/body[1]/div[{item.rank_absolute}]",
                "domain": item.domain,
                "title": item.title,
                "url": item.url,
                "breadcrumb": item.url.split("://", 1)[1].replace("/", " › "),
                "website_name": item.domain.removeprefix("www.").split(".")[0].title(),
                "is_image": False,
                "is_video": False,
                "is_featured_snippet": False,
                "is_malicious": False,
                "description": item.description,
            }
        )
    return out


def _task_error(task_id: str, code: int, message: str, asked: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": task_id,
        "status_code": code,
        "status_message": message,
        "time": "0 sec.",
        "cost": 0,
        "result_count": 0,
        "path": _PATH,
        "data": {"api": "serp", "function": "live", "se": "google", "se_type": "organic", **asked},
        "result": None,
    }


def _envelope(
    code: int,
    message: str,
    tasks: list[dict[str, Any]],
    *,
    http_status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    cost = sum(Decimal(str(t.get("cost") or 0)) for t in tasks)
    return json_response(
        http_status,
        {
            "version": VERSION,
            "status_code": code,
            "status_message": message,
            "time": "0.0456 sec.",
            "cost": float(cost),
            "tasks_count": len(tasks),
            "tasks_error": sum(1 for t in tasks if t["status_code"] != 20000),
            "tasks": tasks,
        },
        headers,
    )
