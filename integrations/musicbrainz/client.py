"""MusicBrainz WS/2 over plain `requests`: recordings by ISRC, works with ISWCs, artist credits.

MusicBrainz asks for at most one request per second per source and a User-Agent naming the application,
its version and a contact; both are enforced here, not left to callers. The bucket is shared per host in the
process (the limit is per IP, so two clients in one process must not add up to two per second).

Why `/isrc/{isrc}?inc=artist-credits+work-rels` rather than a batched search (`/recording?query=isrc:A OR
isrc:B …`): the lookup answers from the database (search lags edits by its indexing delay), matches exactly
(search is fuzzy and scored, so every hit would need re-checking), and carries the performance relationships
to works with their ISWCs in the same answer. Search cannot include relationships, so a batched search would
still need one recording lookup per ISRC for the works: more requests, not fewer. One request per ISRC, plus
`/work/{id}?inc=artist-rels` only when writers are wanted.
"""

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import requests

from integrations.musicbrainz.models import (
    SERVICE,
    Recording,
    Work,
    check_mbid,
    parse_isrc_lookup,
    parse_recording_lookup,
    parse_work,
)
from integrations.resilience import (
    CallStats,
    CircuitBreaker,
    MalformedPayload,
    NotFound,
    RetryPolicy,
    TokenBucket,
    breaker_for,
    bucket_for,
    classify,
)
from integrations.retry import Backoff

DEFAULT_BASE_URL = "https://musicbrainz.org/ws/2/"
OFFICIAL_HOSTS = frozenset({"musicbrainz.org", "beta.musicbrainz.org"})
BACKOFF = Backoff(base=1.0, factor=2.0, maximum=30.0)  # its 503s mean "slow down": start from a second
T = TypeVar("T")


class MusicBrainzClient:
    """Read-only MusicBrainz client. 503s (its rate-limit answer) and 5xx back off from 1 s; a 404 means
    "not in MusicBrainz" and reads as an empty result, not an error."""

    def __init__(
        self,
        app_name: str,
        app_version: str,
        contact: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        requests_per_second: float = 1.0,
        policy: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        bucket: TokenBucket | None = None,
        timeout: float = 15.0,
    ) -> None:
        if not (app_name.strip() and app_version.strip() and contact.strip()):
            raise ValueError("MusicBrainz needs an application name, version and contact for its User-Agent")
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        host = urlsplit(self.base_url).hostname or ""
        if host in OFFICIAL_HOSTS and requests_per_second > 1.0:
            raise ValueError("musicbrainz.org allows at most one request per second")
        self.user_agent = f"{app_name}/{app_version} ( {contact} )"
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": self.user_agent, "Accept": "application/json"})
        self.policy = policy or RetryPolicy(backoff=BACKOFF)
        self.breaker = breaker or breaker_for(f"{SERVICE}@{self.base_url}")
        self.bucket = bucket or bucket_for(f"{SERVICE}:{host}:{urlsplit(self.base_url).port}", requests_per_second)
        self.stats = CallStats()

    def __repr__(self) -> str:
        return f"MusicBrainzClient(base_url={self.base_url!r}, user_agent={self.user_agent!r})"

    def _get(self, label: str, path: str, inc: str, parse: Callable[[Any], T]) -> T | None:
        """GET `path` with `inc` and fmt=json under the policy; None on 404; the parsed document otherwise."""
        url = self.base_url + path
        params = {"fmt": "json", **({"inc": inc} if inc else {})}

        def once() -> T:
            response = self.session.get(url, params=params, timeout=self.timeout)
            error = classify(response, service=SERVICE)
            if error is not None:
                raise error
            try:
                doc = response.json()
            except ValueError:
                doc = None
            return parse(doc)

        try:
            return self.policy.run(
                once, service=SERVICE, breaker=self.breaker, bucket=self.bucket, stats=self.stats, label=label
            )
        except NotFound:
            return None

    def recordings_by_isrc(self, isrc: str) -> list[Recording]:
        """Recordings carrying `isrc`, each with its artist credit and the works it performs (with ISWCs);
        [] when MusicBrainz does not know the ISRC. MalformedPayload names the ISRC and field.

        `isrc` is sent as given, so give it as stored (`USRC17607839`: the caller normalises it, with
        `backbeat.identifiers`; a client cannot import the core); MusicBrainz answers 400 to a malformed one."""
        found = self._get(
            "isrc", f"isrc/{quote(isrc)}", "artist-credits+work-rels", lambda doc: parse_isrc_lookup(doc, isrc)
        )
        return found or []

    def recording(self, mbid: str) -> Recording | None:
        """One recording by MBID with artist credits, ISRCs and works."""
        mbid = check_mbid(mbid, "recording")
        return self._get(
            "recording",
            f"recording/{mbid}",
            "artist-credits+isrcs+work-rels",
            lambda doc: parse_recording_lookup(doc, mbid),
        )

    def work(self, mbid: str) -> Work | None:
        """One work by MBID: title, ISWCs, language and writers (composer, lyricist, … relationships)."""
        mbid = check_mbid(mbid, "work")
        return self._get("work", f"work/{mbid}", "artist-rels", lambda doc: parse_work(doc, mbid))


__all__ = ["DEFAULT_BASE_URL", "MalformedPayload", "MusicBrainzClient"]
