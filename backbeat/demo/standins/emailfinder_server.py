"""A local server speaking Hunter's v2 API for the three calls enrichment makes, with credits and errors.

- `GET /v2/domain-search?domain=` — `{"data": {domain, organization, pattern, accept_all, disposable, webmail,
  emails: [{value, type, confidence, first_name, last_name, position, department, verification: {date,
  status}, sources}]}, "meta": {results, limit, offset, params}}`;
- `GET /v2/email-finder?domain=&first_name=&last_name=` — `{"data": {first_name, last_name, email, score,
  domain, accept_all, position, verification}, "meta": {params}}` (`email` null when not found);
- `GET /v2/email-verifier?email=` — `{"data": {status, result, score, email, regexp, gibberish, disposable,
  webmail, mx_records, smtp_server, smtp_check, accept_all, block, sources}, "meta": {params}}`.

People are deterministic per domain (a hash of it): 0-6 staff with music-business positions, plus a generic
`info@` address on most domains; some domains accept all mail, a few of their addresses are invalid.
`gmail.com`-style domains answer as webmail and `mailinator.com`-style ones as disposable, with no addresses.

Credits are consumed as Hunter counts them (`integrations.emailfinder.models`): a search 1 per started 10
addresses returned, a found address 1, a verification 0.5; failed lookups are free. A call whose cost would pass
the remaining `credits` answers 429 "usage limit" (no Retry-After). Errors are `{"errors": [{id, code,
details}]}`: 400 `wrong_params`, 401 `authentication_failed` (key in `X-API-KEY` or `api_key`), 403 when more
than `rate_per_second` requests arrive in a second (`clock`-timed; off by default), 451 `claimed_email` for
addresses in `claimed`. A `FaultPlan` burst on an endpoint (`domain-search`, `email-finder`, `email-verifier`)
answers its status with the matching Hunter error body (and Retry-After when given).

For benchmarks, `FakeEmailFinder(mix=StaffMix(seed=7))` answers from a seeded mix closer to the real thing:
domains where nobody is known, accept-all servers, addresses that bounce, role accounts (`info@`, `noreply@`,
`admin@`, ...) next to useful generic ones (`music@`), freelancers whose webmail address several sites list,
addresses on disposable-mail domains, IDN domains answered in Unicode and addresses in mixed case.
"""

from __future__ import annotations

import hashlib
import math
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import idna

from backbeat.demo.standins._http import FakeServer, FaultPlan, Response, json_response

WEBMAIL = frozenset({"gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com"})
DISPOSABLE = frozenset({"mailinator.com", "yopmail.com", "guerrillamail.com"})
FIRST = ("anna", "ben", "carla", "david", "elena", "felix", "grace", "hugo", "ines", "jonas", "kira", "leo")
LAST = ("adler", "brandt", "costa", "dubois", "evans", "fischer", "garcia", "hoffmann", "ito", "jensen", "klein")
POSITIONS = (
    ("Music Director", "management"),
    ("Program Director", "management"),
    ("Head of Music", "management"),
    ("Presenter", "communication"),
    ("Editor", "communication"),
    ("Booker", "sales"),
)
PATTERNS = ("{first}.{last}", "{f}{last}", "{first}")
_ERRORS = {
    400: ("wrong_params", "A parameter is missing or invalid."),
    401: ("authentication_failed", "No user found for the API key supplied."),
    402: ("payment_required", "Your plan has unpaid invoices."),
    403: ("rate_limit_reached", "You have reached the rate limit."),
    429: ("too_many_requests", "You have reached your usage limit. Upgrade your plan if necessary."),
    451: ("claimed_email", "The person behind this email address asked us to stop processing their data."),
}
_ENDPOINTS = {"domain-search", "email-finder", "email-verifier"}
_SEARCH_DATE = "2026-11-02"


def _hash(*parts: str) -> int:
    return int(hashlib.sha256("|".join(parts).encode()).hexdigest()[:12], 16)


def hunter_error(status: int, details: str | None = None, headers: dict[str, str] | None = None) -> Response:
    """An error answer in Hunter's shape."""
    error_id, default = _ERRORS.get(status, ("server_error" if status >= 500 else "error", "Something went wrong."))
    body = {"errors": [{"id": error_id, "code": status, "details": details or default}]}
    return json_response(status, body, headers)


ROLE_LOCALS = ("info", "noreply", "admin", "webmaster", "office", "no-reply")
USEFUL_GENERIC = ("music", "submissions", "press", "demos")
MIX_DISPOSABLE = ("mailinator.com", "yopmail.com", "guerrillamail.com", "10minutemail.com", "trashmail.com")


def _ascii(domain: str) -> str:
    try:
        return idna.encode(domain.strip().rstrip("."), uts46=True).decode("ascii")
    except idna.IDNAError:
        return domain.strip().lower()


@dataclass(frozen=True)
class StaffMix:
    """A seeded mix of what Hunter knows about a domain (see the module docstring); shares are per domain."""

    seed: int = 0
    nobody: float = 0.15
    accept_all_share: float = 0.2
    bounce: float = 0.08
    role: float = 0.75
    useful_generic: float = 0.3
    freelancer: float = 0.08
    freelancers: int = 300
    disposable: float = 0.03
    mixed_case: float = 0.05

    def _rng(self, *parts: object) -> random.Random:
        return random.Random(_hash(str(self.seed), *map(str, parts)))

    @staticmethod
    def webmail_domain(domain: str) -> bool:
        return _ascii(domain) in WEBMAIL

    @staticmethod
    def disposable_domain(domain: str) -> bool:
        return _ascii(domain) in MIX_DISPOSABLE or _ascii(domain) in DISPOSABLE

    def accept_all(self, domain: str) -> bool:
        site = _ascii(domain)
        if self.webmail_domain(site) or self.disposable_domain(site):
            return False
        return self._rng("accept_all", site).random() < self.accept_all_share

    def staff(self, domain: str) -> list[tuple[str, str, str, str, str, int]]:
        """(address, first, last, position, department, confidence) known at `domain`; no first name: generic."""
        site = _ascii(domain)
        if self.webmail_domain(site) or self.disposable_domain(site):
            return []
        rng = self._rng("staff", site)
        if rng.random() < self.nobody:
            return []
        shown = _unicode(site)  # IDN domains answered in Unicode, as many sites list them
        pattern = rng.choice(PATTERNS)
        out: list[tuple[str, str, str, str, str, int]] = []
        seen: set[str] = set()
        for _ in range(rng.randrange(0, 6)):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            local = pattern.format(first=first, last=last, f=first[0])
            if local in seen:
                continue
            seen.add(local)
            position, department = rng.choice(POSITIONS)
            out.append((f"{local}@{shown}", first.title(), last.title(), position, department, rng.randint(30, 99)))
        if rng.random() < self.freelancer:  # a freelancer several sites list, on webmail
            n = rng.randrange(self.freelancers)
            first, last = FIRST[n % len(FIRST)], LAST[(n // len(FIRST)) % len(LAST)]
            out.append((f"{first}.{last}{n}@gmail.com", first.title(), last.title(), "Presenter", "communication", 75))
        if rng.random() < self.disposable:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            box = f"{first}{rng.randrange(100)}@{rng.choice(MIX_DISPOSABLE)}"
            out.append((box, first.title(), last.title(), "Editor", "communication", rng.randint(40, 80)))
        if rng.random() < self.role:
            out.append((f"{rng.choice(ROLE_LOCALS)}@{shown}", "", "", "", "", rng.randint(70, 95)))
        if rng.random() < self.useful_generic:
            out.append((f"{rng.choice(USEFUL_GENERIC)}@{shown}", "", "", "", "", rng.randint(60, 95)))
        for n, (address, first, last, position, department, confidence) in enumerate(out):
            if rng.random() < self.mixed_case:  # as a web page spells it: Anna.Adler@Signalfm12.Com
                local, _, host = address.partition("@")
                out[n] = (f"{local.title()}@{host.title()}", first, last, position, department, confidence)
        return out

    def status(self, email: str) -> str:
        """Hunter's verification status of `email`: webmail, disposable, accept_all, valid or invalid."""
        local, _, domain = email.strip().lower().rpartition("@")
        site = _ascii(domain)
        if self.disposable_domain(site):
            return "disposable"
        if self.webmail_domain(site):
            return "webmail"
        if self.accept_all(site):
            return "accept_all"
        known = {_key(a) for a, *_ in self.staff(site)}
        if f"{local}@{site}" not in known:
            return "invalid"
        return "invalid" if self._rng("bounce", local, site).random() < self.bounce else "valid"


def _unicode(domain: str) -> str:
    if "xn--" not in domain:
        return domain
    try:
        return idna.decode(domain)
    except idna.IDNAError:
        return domain


def _key(address: str) -> str:
    local, _, domain = address.lower().rpartition("@")
    return f"{local}@{_ascii(domain)}"


class FakeEmailFinder(FakeServer):
    """Hunter v2 for the keys in `api_keys`, with `credits` for the month (None: unlimited)."""

    def __init__(
        self,
        *,
        api_keys: Iterable[str] = ("test-key",),
        credits: float | None = 100.0,
        plan: FaultPlan | None = None,
        claimed: Iterable[str] = (),
        rate_per_second: int | None = None,
        latency: tuple[float, float] = (0.0, 0.0),
        seed: int = 0,
        clock: Callable[[], float] = time.monotonic,
        mix: StaffMix | None = None,
    ) -> None:
        super().__init__(latency=latency, seed=seed, clock=clock)
        self.mix = mix
        self.api_keys = set(api_keys)
        self.credits = credits
        self.credits_used = 0.0
        self.plan = plan or FaultPlan()
        self.claimed = {e.lower() for e in claimed}
        self.rate_per_second = rate_per_second
        self._lock = threading.Lock()
        self._window: tuple[int, int] = (0, 0)  # (second, requests in it)

    @property
    def api_url(self) -> str:
        return f"{self.url}/v2/"

    # -- the deterministic world -------------------------------------------------------------------------

    @staticmethod
    def _staff(domain: str) -> list[tuple[str, str, str, str, str, int]]:
        """(address, first, last, position, department, confidence) of the people at `domain`; a generic
        info@ address has empty names."""
        if domain in WEBMAIL or domain in DISPOSABLE:
            return []
        h = _hash(domain)
        pattern = PATTERNS[(h // 7) % len(PATTERNS)]
        out: list[tuple[str, str, str, str, str, int]] = []
        seen: set[str] = set()
        for i in range(h % 7):
            hi = _hash(domain, str(i))
            first, last = FIRST[hi % len(FIRST)], LAST[(hi // 13) % len(LAST)]
            local = pattern.format(first=first, last=last, f=first[0])
            if local in seen:
                continue
            seen.add(local)
            position, department = POSITIONS[(hi // 7) % len(POSITIONS)]
            out.append((f"{local}@{domain}", first.title(), last.title(), position, department, 40 + hi % 60))
        if h % 5 != 0:
            out.append((f"info@{domain}", "", "", "", "", 90))
        return out

    def people(self, domain: str) -> list[dict[str, Any]]:
        """The staff Hunter 'knows' at `domain`, as domain-search email objects (claimed addresses included)."""
        domain = domain.lower().strip().rstrip(".")
        out = []
        for address, first, last, position, department, confidence in self._known(domain):
            page = "team" if first else "contact"
            out.append(
                {
                    "value": address,
                    "type": "personal" if first else "generic",
                    "confidence": confidence,
                    "first_name": first or None,
                    "last_name": last or None,
                    "position": position or None,
                    "seniority": "senior" if first else None,
                    "department": department or None,
                    "linkedin": None,
                    "twitter": None,
                    "phone_number": None,
                    "verification": {"date": _SEARCH_DATE, "status": self._status(address)},
                    "sources": [{"domain": domain, "uri": f"https://{domain}/{page}", "extracted_on": _SEARCH_DATE}],
                }
            )
        return out

    @staticmethod
    def accept_all(domain: str) -> bool:
        domain = domain.lower()
        return domain not in WEBMAIL and domain not in DISPOSABLE and _hash(domain, "accept_all") % 4 == 0

    def _known(self, domain: str) -> list[tuple[str, str, str, str, str, int]]:
        return self.mix.staff(domain) if self.mix is not None else self._staff(domain)

    def _accepts_all(self, domain: str) -> bool:
        return self.mix.accept_all(domain) if self.mix is not None else self.accept_all(domain)

    def _flags(self, domain: str) -> tuple[bool, bool]:
        """(disposable, webmail) of an address's domain."""
        if self.mix is not None:
            return self.mix.disposable_domain(domain), self.mix.webmail_domain(domain)
        return domain in DISPOSABLE, domain in WEBMAIL

    def _status(self, email: str) -> str:
        if self.mix is not None:
            return self.mix.status(email)
        domain = email.lower().partition("@")[2]
        if domain in WEBMAIL:
            return "webmail"
        if domain in DISPOSABLE:
            return "disposable"
        if self.accept_all(domain):
            return "accept_all"
        if email.lower() not in {staff[0] for staff in self._staff(domain)}:
            return "invalid"
        return "invalid" if _hash(email.lower(), "bounce") % 8 == 0 else "valid"

    # -- serving -----------------------------------------------------------------------------------------

    def _charge(self, cost: float) -> bool:
        """Take `cost` credits if the plan has them."""
        with self._lock:
            if self.credits is not None and self.credits_used + cost > self.credits + 1e-9:
                return False
            self.credits_used += cost
            return True

    def _admit(self) -> bool:
        if not self.rate_per_second:
            return True
        second = math.floor(self.clock())
        with self._lock:
            window, count = self._window
            count = count + 1 if window == second else 1
            self._window = (second, count)
            return count <= self.rate_per_second

    def route(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> tuple[str, Response]:
        endpoint = path.strip("/").removeprefix("v2/")
        if method != "GET" or endpoint not in _ENDPOINTS:
            return "unknown", hunter_error(404, "This route does not exist.")
        key = headers.get("x-api-key") or (query.get("api_key") or [""])[0]
        if key not in self.api_keys:
            return endpoint, hunter_error(401)
        if not self._admit():
            return endpoint, hunter_error(403)
        burst = self.plan.take_failure(endpoint)
        if burst is not None:
            if burst.body is not None:
                return endpoint, Response(burst.status, burst.body.encode(), {"Content-Type": "application/json"})
            extra = {"Retry-After": f"{burst.retry_after:g}"} if burst.retry_after is not None else {}
            if burst.status == 202:
                return endpoint, json_response(202, {"data": None, "meta": {}}, extra)
            return endpoint, hunter_error(burst.status, headers=extra)
        args = {k: v[0] for k, v in query.items() if v and k != "api_key"}
        handler = {"domain-search": self._search, "email-finder": self._find, "email-verifier": self._verify}
        return endpoint, handler[endpoint](args)

    def _search(self, args: dict[str, str]) -> Response:
        domain = args.get("domain", "").strip().lower()
        if not domain or "." not in domain:
            return hunter_error(400, "You are missing the domain parameter." if not domain else "Invalid domain.")
        try:
            limit = int(args.get("limit", "10"))
            offset = int(args.get("offset", "0"))
        except ValueError:
            return hunter_error(400, "limit and offset must be integers.")
        if not 1 <= limit <= 100 or offset < 0:
            return hunter_error(400, "limit must be between 1 and 100.")
        everyone = [p for p in self.people(domain) if p["value"] not in self.claimed]
        if args.get("type") in ("personal", "generic"):
            everyone = [p for p in everyone if p["type"] == args["type"]]
        page = everyone[offset : offset + limit]
        if not self._charge(float(math.ceil(len(page) / 10))):
            return hunter_error(429)
        h = _hash(domain)
        data = {
            "domain": domain,
            "disposable": self._flags(domain)[0],
            "webmail": self._flags(domain)[1],
            "accept_all": self._accepts_all(domain),
            "pattern": PATTERNS[(h // 7) % len(PATTERNS)] if page else None,
            "organization": domain.split(".")[0].replace("-", " ").title(),
            "country": None,
            "emails": page,
            "linked_domains": [],
        }
        meta = {
            "results": len(everyone),
            "limit": limit,
            "offset": offset,
            "params": {"domain": domain, "company": None, "type": args.get("type"), "seniority": None},
        }
        return json_response(200, {"data": data, "meta": meta})

    def _find(self, args: dict[str, str]) -> Response:
        domain = args.get("domain", "").strip().lower()
        first, last = args.get("first_name", "").strip(), args.get("last_name", "").strip()
        if not domain or not first or not last:
            return hunter_error(400, "You must give a domain, a first_name and a last_name.")
        match = next(
            (
                p
                for p in self.people(domain)
                if (p["first_name"] or "").lower() == first.lower() and (p["last_name"] or "").lower() == last.lower()
            ),
            None,
        )
        if match is not None and match["value"] in self.claimed:
            return hunter_error(451)
        if match is not None and not self._charge(1.0):
            return hunter_error(429)
        data = {
            "first_name": first,
            "last_name": last,
            "email": match["value"] if match else None,
            "score": match["confidence"] if match else None,
            "domain": domain,
            "accept_all": self._accepts_all(domain),
            "position": match["position"] if match else None,
            "twitter": None,
            "linkedin_url": None,
            "phone_number": None,
            "company": domain.split(".")[0].title(),
            "sources": match["sources"] if match else [],
            "verification": match["verification"] if match else {"date": None, "status": None},
        }
        params = {"first_name": first, "last_name": last, "full_name": None, "domain": domain, "company": None}
        return json_response(200, {"data": data, "meta": {"params": params}})

    def _verify(self, args: dict[str, str]) -> Response:
        email = args.get("email", "").strip().lower()
        if "@" not in email or email.startswith("@") or email.endswith("@"):
            return hunter_error(400, "The email parameter is missing or invalid.")
        if email in self.claimed:
            return hunter_error(451)
        if not self._charge(0.5):
            return hunter_error(429)
        status = self._status(email)
        result = {"valid": "deliverable", "invalid": "undeliverable"}.get(status, "risky")
        score = {"valid": 96, "invalid": 5, "accept_all": 70, "webmail": 80, "disposable": 30}[status]
        domain = email.partition("@")[2]
        data = {
            "status": status,
            "result": result,
            "_deprecation_notice": "Using result is deprecated, use status instead",
            "score": score,
            "email": email,
            "regexp": True,
            "gibberish": False,
            "disposable": self._flags(domain)[0],
            "webmail": self._flags(domain)[1],
            "mx_records": True,
            "smtp_server": True,
            "smtp_check": status == "valid",
            "accept_all": status == "accept_all",
            "block": False,
            "sources": [],
        }
        return json_response(200, {"data": data, "meta": {"params": {"email": email}}})
