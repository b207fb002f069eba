"""Explainable prospect scores: five features in [0, 1], each weighted, each contribution kept for the UI.

`score = 100 × Σ weight × feature` (the weights add up to 1, so a score is 0–100 and the contributions add up to
it). Version `SCORE_VERSION`; change it whenever a weight or a feature's formula changes, so old and new
rankings never mix in `outreach.prospect_scores`.

- `relevance` (0.30): the site's tags and title/description (discovery) against the track's genre and the
  campaign's moods: matched / total, the genre counting twice a mood.
- `airplay` (0.25): `airplay.playlogs` joined to `catalog.tracks`: the station's plays, in the `window_days`
  before scoring, of *other* tracks with the track's genre or artist:
  `min(1, ln(1 + genre plays + 2 × artist plays) / ln(1 + AIRPLAY_SATURATION))`; 0 when the prospect is not a
  station Backbeat monitors (Backbeat's own evidence is worth most where it exists).
- `verification` (0.20): enrichment's verifier result (deliverable 1, risky 0.5, unknown 0.3, undeliverable 0)
  × finder confidence / 100 (0.7 when none given), at most 0.5 on an accept-all server; 0 without an address.
- `authority` (0.15): discovery's signals: `0.7 × rank part + 0.3 × presence`; rank part
  `1 − log10(rank_absolute) / 2` (1st → 1, 10th → 0.5, 100th → 0), 0.8 for a monitored station found without a
  search, 0.3 otherwise; presence `min(1, log2(1 + results naming the domain) / 3)`.
- `outcomes` (0.10): `outreach.outcomes` of the organisation before scoring, with this address (full weight)
  and others at its domain (half): `0.5 + 0.5 × tanh(net / 2)`, net = Σ `OUTCOME_VALUES`; 0.5 (neutral) with
  no history.

Ranked per campaign: highest score first, ties broken by candidate id then address (stable across runs).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from backbeat.airplay.tables import PLAYLOGS
from backbeat.catalog.tables import TRACKS
from backbeat.outreach.prospecting_tables import CANDIDATE_EMAILS, CANDIDATES, PROSPECT_SCORES
from backbeat.outreach.suppression import Queryable, normalise_email
from backbeat.outreach.tables import CAMPAIGNS, OUTCOMES
from integrations.warehouse import Table, Warehouse

SCORE_VERSION = "score-v1"
WEIGHTS: dict[str, float] = {
    "relevance": 0.30,
    "airplay": 0.25,
    "verification": 0.20,
    "authority": 0.15,
    "outcomes": 0.10,
}
"""Feature weights (they add up to 1); the table in the module docstring says why each feature is what it is."""

AIRPLAY_WINDOW_DAYS = 90
AIRPLAY_SATURATION = 40
"""Similar plays (genre plays + 2 × artist plays) at which the airplay feature reaches 1."""
VERIFICATION_BASE = {"deliverable": 1.0, "risky": 0.5, "unknown": 0.3, "undeliverable": 0.0}
OUTCOME_VALUES = {
    "accepted": 2.0,
    "replied": 1.0,
    "auto_reply": 0.0,
    "bounced_soft": -0.5,
    "rejected": -0.5,
    "bounced_hard": -2.0,
    "unsubscribed": -2.0,
    "complained": -3.0,
}
"""What one past outcome says about writing again: a play-list acceptance most, a complaint least."""
DOMAIN_OUTCOME_FACTOR = 0.5


def normalise_tag(tag: str) -> str:
    """`Hip-Hop`, `hip_hop`, ` hip  hop ` → `hip hop`."""
    return " ".join(re.sub(r"[-_/]+", " ", tag.lower()).split())


@dataclass(frozen=True)
class TrackProfile:
    """What a prospect is scored against: the promoted track, its genre and artist, and the campaign's moods."""

    track_id: str
    genre: str | None = None
    artist_id: str | None = None
    moods: tuple[str, ...] = ()

    def weighted_tags(self) -> dict[str, float]:
        """Normalised tag → weight: the genre 2, each mood 1."""
        tags = {normalise_tag(m): 1.0 for m in self.moods if m.strip()}
        if self.genre and self.genre.strip():
            tags[normalise_tag(self.genre)] = 2.0
        return tags


@dataclass(frozen=True)
class ProspectSignals:
    """One candidate address of a campaign, with the signals discovery and enrichment found for it.

    `email` is None when the candidate has no address yet (a contact page); `tags` are the site's genres or
    moods (CSV tags, station format); `text` its title and description (searched for the track's tags too).
    """

    candidate_id: str
    domain: str
    email: str | None = None
    rank_absolute: int | None = None
    serp_results: int = 0
    tags: tuple[str, ...] = ()
    text: str = ""
    verification: str | None = None
    confidence: int | None = None
    accept_all: bool = False
    station_id: str | None = None


@dataclass(frozen=True)
class AirplayEvidence:
    """A station's plays, in the window, of other tracks sharing the promoted track's genre or artist."""

    genre_plays: int = 0
    artist_plays: int = 0


@dataclass
class OutcomeHistory:
    """Net outcome values (`OUTCOME_VALUES`) and counts per address and per domain of one organisation."""

    by_email: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    by_domain: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, email: str, kind: str) -> None:
        """Count one outcome `kind` about `email`."""
        try:
            address = normalise_email(email)
        except ValueError:
            address = email.strip().lower()
        self.by_email[address].append(kind)
        self.by_domain[address.rpartition("@")[2]].append(kind)


@dataclass(frozen=True)
class Feature:
    """One feature of a score: its value in [0, 1], weight, contribution (points of the 0–100 score), the inputs
    it was computed from and a sentence saying why."""

    name: str
    value: float
    weight: float
    contribution: float
    why: str
    inputs: dict[str, Any]


@dataclass(frozen=True)
class ProspectScore:
    """A scored prospect: the score, its features (their contributions add up to it) and, once ranked, its rank."""

    candidate_id: str
    email: str | None
    score: float
    features: tuple[Feature, ...]
    rank: int | None = None
    version: str = SCORE_VERSION

    def features_json(self) -> str:
        """The `features` column: version, weights and every feature with its contribution."""
        return json.dumps(
            {
                "version": self.version,
                "score": self.score,
                "features": {
                    f.name: {
                        "value": f.value,
                        "weight": f.weight,
                        "contribution": f.contribution,
                        "why": f.why,
                        "inputs": f.inputs,
                    }
                    for f in self.features
                },
            },
            sort_keys=True,
            default=str,
        )

    def explanation(self) -> list[str]:
        """One line per feature, largest contribution first, e.g. `relevance +30.0 (1.00 × 30): matches ...`."""
        ordered = sorted(self.features, key=lambda f: (-f.contribution, f.name))
        return [f"{f.name} +{f.contribution:.1f} ({f.value:.2f} × {f.weight * 100:.0f}): {f.why}" for f in ordered]


def relevance(signals: ProspectSignals, track: TrackProfile) -> tuple[float, str, dict[str, Any]]:
    """Share of the track's weighted tags the site carries (in its tags or as words of its text)."""
    wanted = track.weighted_tags()
    if not wanted:
        return 0.0, "the track has no genre or mood to match", {"track_tags": []}
    site_tags = {normalise_tag(t) for t in signals.tags}
    text = " " + normalise_tag(re.sub(r"[^\w\s-]", " ", signals.text)) + " "
    matched = sorted(t for t in wanted if t in site_tags or f" {t} " in text)
    value = sum(wanted[t] for t in matched) / sum(wanted.values())
    why = f"matches {', '.join(matched)}" if matched else "none of the track's genre or moods"
    return value, why, {"track_tags": sorted(wanted), "matched": matched}


def airplay_feature(signals: ProspectSignals, evidence: AirplayEvidence | None) -> tuple[float, str, dict[str, Any]]:
    """The station's airplay of similar tracks, saturating at `AIRPLAY_SATURATION`."""
    if signals.station_id is None:
        return 0.0, "not a station Backbeat monitors", {"station_id": None}
    found = evidence or AirplayEvidence()
    similar = found.genre_plays + 2 * found.artist_plays
    value = min(1.0, math.log1p(similar) / math.log1p(AIRPLAY_SATURATION))
    inputs = {"station_id": signals.station_id, "genre_plays": found.genre_plays, "artist_plays": found.artist_plays}
    why = (
        f"{signals.station_id} played {found.genre_plays} same-genre and {found.artist_plays} same-artist tracks"
        if similar
        else f"{signals.station_id} played no similar track"
    )
    return value, why, inputs


def verification_feature(signals: ProspectSignals) -> tuple[float, str, dict[str, Any]]:
    """How sure enrichment is that mail to the address arrives."""
    inputs = {"verification": signals.verification, "confidence": signals.confidence, "accept_all": signals.accept_all}
    if not signals.email:
        return 0.0, "no address yet", inputs
    status = (signals.verification or "unknown").lower()
    base = VERIFICATION_BASE.get(status, VERIFICATION_BASE["unknown"])
    confidence = 0.7 if signals.confidence is None else max(0, min(100, signals.confidence)) / 100
    value = base * confidence
    why = f"{status}, confidence {signals.confidence if signals.confidence is not None else 'not given'}"
    if signals.accept_all and value > 0.5:
        value, why = 0.5, why + ", accept-all server (capped)"
    return value, why, inputs


def authority_feature(signals: ProspectSignals) -> tuple[float, str, dict[str, Any]]:
    """Site authority estimated from its search position and how often discovery met the domain."""
    if signals.rank_absolute is not None and signals.rank_absolute >= 1:
        rank_part = max(0.0, 1 - math.log10(signals.rank_absolute) / 2)
        why = f"search position {signals.rank_absolute}"
    elif signals.station_id is not None:
        rank_part, why = 0.8, "a station Backbeat monitors"
    else:
        rank_part, why = 0.3, "no search position"
    presence = min(1.0, math.log2(1 + max(0, signals.serp_results)) / 3)
    value = 0.7 * rank_part + 0.3 * presence
    inputs = {"rank_absolute": signals.rank_absolute, "serp_results": signals.serp_results}
    return value, f"{why}, found in {signals.serp_results} result(s)", inputs


def outcomes_feature(signals: ProspectSignals, history: OutcomeHistory | None) -> tuple[float, str, dict[str, Any]]:
    """Past outcomes with this address (full weight) and others at its domain (half weight)."""
    history = history or OutcomeHistory()
    email = (signals.email or "").lower()
    own = list(history.by_email.get(email, [])) if email else []
    domain_all = list(history.by_domain.get(signals.domain.lower(), []))
    others = list(domain_all)
    for kind in own:  # the domain's list includes this address's own outcomes
        if kind in others:
            others.remove(kind)
    net = sum(OUTCOME_VALUES.get(k, 0.0) for k in own) + DOMAIN_OUTCOME_FACTOR * sum(
        OUTCOME_VALUES.get(k, 0.0) for k in others
    )
    value = 0.5 + 0.5 * math.tanh(net / 2)
    inputs = {"contact": sorted(own), "domain": sorted(others), "net": net}
    if not own and not others:
        return value, "no history (neutral)", inputs
    return value, f"{len(own)} outcome(s) with the address, {len(others)} with its domain, net {net:+g}", inputs


def score_prospect(
    signals: ProspectSignals,
    track: TrackProfile,
    *,
    airplay: AirplayEvidence | None = None,
    history: OutcomeHistory | None = None,
    weights: dict[str, float] = WEIGHTS,
    version: str = SCORE_VERSION,
) -> ProspectScore:
    """The score of one prospect for `track` (unranked)."""
    computed = {
        "relevance": relevance(signals, track),
        "airplay": airplay_feature(signals, airplay),
        "verification": verification_feature(signals),
        "authority": authority_feature(signals),
        "outcomes": outcomes_feature(signals, history),
    }
    features = []
    for name, (value, why, inputs) in computed.items():
        value = round(value, 4)
        weight = weights.get(name, 0.0)
        features.append(Feature(name, value, weight, round(100 * weight * value, 2), why, inputs))
    score = round(sum(f.contribution for f in features), 2)
    return ProspectScore(signals.candidate_id, signals.email, score, tuple(features), version=version)


def rank_scores(scores: Iterable[ProspectScore]) -> list[ProspectScore]:
    """`scores` best first with `rank` 1..n (ties by candidate id, then address)."""
    ordered = sorted(scores, key=lambda s: (-s.score, s.candidate_id, s.email or ""))
    return [
        ProspectScore(s.candidate_id, s.email, s.score, s.features, rank=n, version=s.version)
        for n, s in enumerate(ordered, start=1)
    ]


def _exists(db: Queryable, table: Table) -> bool:
    found = db.query(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [table.schema, table.name],
    )
    return bool(found["n"][0])


def load_track_profile(db: Queryable, campaign_id: str, moods: Sequence[str] = ()) -> TrackProfile:
    """The promoted track of `campaign_id` (outreach.campaigns → catalog.tracks) with the given moods.

    ValueError when the campaign is unknown or promotes no track.
    """
    campaign = db.query(f"SELECT track_id FROM {CAMPAIGNS.qualified_name} WHERE campaign_id = ?", [campaign_id])
    if not campaign.height or campaign["track_id"][0] is None:
        raise ValueError(f"campaign {campaign_id!r} is unknown or promotes no track")
    track_id = campaign["track_id"][0]
    track = db.query(f"SELECT genre, artist_id FROM {TRACKS.qualified_name} WHERE track_id = ?", [track_id])
    genre, artist = track.row(0) if track.height else (None, None)
    return TrackProfile(track_id, genre, artist, tuple(moods))


def station_airplay(
    db: Queryable,
    track: TrackProfile,
    *,
    as_of: datetime,
    window_days: int = AIRPLAY_WINDOW_DAYS,
) -> dict[str, AirplayEvidence]:
    """Per station: plays in `[as_of - window_days, as_of)` of other catalog tracks with the track's genre
    (case-insensitive) or artist; stations with neither are absent. Empty when airplay has no playlogs yet."""
    if not (track.genre or track.artist_id) or not _exists(db, PLAYLOGS):
        return {}
    rows = db.query(
        "SELECT p.station_id, "
        "sum(CASE WHEN lower(t.genre) = lower(?) THEN 1 ELSE 0 END) AS genre_plays, "
        "sum(CASE WHEN t.artist_id = ? THEN 1 ELSE 0 END) AS artist_plays "
        f"FROM {PLAYLOGS.qualified_name} p JOIN {TRACKS.qualified_name} t ON t.track_id = p.track_id "
        "WHERE p.start_utc >= ? AND p.start_utc < ? AND p.track_id <> ? "
        "AND (lower(t.genre) = lower(?) OR t.artist_id = ?) GROUP BY p.station_id",
        [
            track.genre or "",
            track.artist_id or "",
            as_of - timedelta(days=window_days),
            as_of,
            track.track_id,
            track.genre or "",
            track.artist_id or "",
        ],
    )
    return {
        station: AirplayEvidence(int(genre_plays or 0), int(artist_plays or 0))
        for station, genre_plays, artist_plays in rows.iter_rows()
    }


def outcome_history(db: Queryable, org_id: str, *, as_of: datetime | None = None) -> OutcomeHistory:
    """The organisation's outcomes with an address (before `as_of` when given); empty without the table."""
    history = OutcomeHistory()
    if not _exists(db, OUTCOMES):
        return history
    sql = f"SELECT email, kind FROM {OUTCOMES.qualified_name} WHERE org_id = ? AND email IS NOT NULL"
    params: list[Any] = [org_id]
    if as_of is not None:
        sql += " AND coalesce(occurred_at, recorded_at) < ?"
        params.append(as_of)
    for email, kind in db.query(sql, params).iter_rows():
        history.add(email, kind)
    return history


def load_prospect_signals(
    db: Queryable,
    org_id: str,
    *,
    emails: Collection[str] | None = None,
    accepted: Collection[tuple[str, str]] | None = None,
) -> list[ProspectSignals]:
    """One `ProspectSignals` per address enrichment found (`outreach.candidate_emails` × `outreach.candidates`),
    only those in `emails` (addresses) or `accepted` ((candidate_id, address) pairs hygiene accepted:
    `hygiene.accepted_candidate_emails`) when given; the tables must exist.

    Authority signals are the domain's: its best SERP rank and how many SERP results named it; the text matched
    for relevance is the page title, description and the search query that found it; a candidate that is not a
    station itself takes its domain's station, if any.
    """
    domains = db.query(
        "SELECT domain, min(rank_absolute) AS best_rank, "
        "sum(CASE WHEN provenance = 'serp' THEN 1 ELSE 0 END) AS serp_results, max(station_id) AS station_id "
        f"FROM {CANDIDATES.qualified_name} WHERE org_id = ? GROUP BY domain",
        [org_id],
    )
    by_domain = {row["domain"]: row for row in domains.iter_rows(named=True)}
    rows = db.query(
        "SELECT e.candidate_id, e.email, c.domain, c.title, c.description, c.query, c.station_id, "
        "e.confidence, e.verification, e.accept_all "
        f"FROM {CANDIDATE_EMAILS.qualified_name} e JOIN {CANDIDATES.qualified_name} c "
        "ON c.org_id = e.org_id AND c.candidate_id = e.candidate_id WHERE e.org_id = ? "
        "ORDER BY e.candidate_id, e.email",
        [org_id],
    )
    wanted = None if emails is None else set(emails)
    pairs = None if accepted is None else set(accepted)
    signals = []
    for row in rows.iter_rows(named=True):
        if wanted is not None and row["email"] not in wanted:
            continue
        if pairs is not None and (row["candidate_id"], row["email"]) not in pairs:
            continue
        domain = by_domain.get(row["domain"], {})
        best_rank = domain.get("best_rank")
        signals.append(
            ProspectSignals(
                candidate_id=row["candidate_id"],
                domain=row["domain"],
                email=row["email"],
                rank_absolute=int(best_rank) if best_rank is not None else None,
                serp_results=int(domain.get("serp_results") or 0),
                text=" ".join(t for t in (row["title"], row["description"], row["query"]) if t),
                verification=row["verification"],
                confidence=row["confidence"],
                accept_all=bool(row["accept_all"]),
                station_id=row["station_id"] or domain.get("station_id"),
            )
        )
    return signals


def score_campaign(
    db: Queryable,
    org_id: str,
    campaign_id: str,
    prospects: Sequence[ProspectSignals],
    *,
    moods: Sequence[str] = (),
    as_of: datetime | None = None,
    window_days: int = AIRPLAY_WINDOW_DAYS,
    weights: dict[str, float] = WEIGHTS,
) -> list[ProspectScore]:
    """Score and rank `prospects` for the campaign's track: three queries in all (track, airplay, outcomes)."""
    when = as_of or datetime.now(UTC).replace(tzinfo=None)
    track = load_track_profile(db, campaign_id, moods)
    airplay = station_airplay(db, track, as_of=when, window_days=window_days)
    history = outcome_history(db, org_id, as_of=when)
    scores = [
        score_prospect(p, track, airplay=airplay.get(p.station_id or ""), history=history, weights=weights)
        for p in prospects
    ]
    return rank_scores(scores)


def score_id(campaign_id: str, candidate_id: str, email: str | None, version: str) -> str:
    """Deterministic id of a `prospect_scores` row."""
    parts = (campaign_id, candidate_id, email or "", version)
    return "ps-" + hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:24]


def score_rows(
    org_id: str, campaign_id: str, ranked: Sequence[ProspectScore], *, scored_at: datetime
) -> list[dict[str, Any]]:
    """`outreach.prospect_scores` rows of ranked scores."""
    return [
        {
            "score_id": score_id(campaign_id, s.candidate_id, s.email, s.version),
            "org_id": org_id,
            "campaign_id": campaign_id,
            "candidate_id": s.candidate_id,
            "email": s.email,
            "score": s.score,
            "rank": s.rank,
            "features": s.features_json(),
            "score_version": s.version,
            "scored_at": scored_at,
        }
        for s in ranked
    ]


def store_scores(
    warehouse: Warehouse,
    org_id: str,
    campaign_id: str,
    ranked: Sequence[ProspectScore],
    *,
    version: str = SCORE_VERSION,
    scored_at: datetime | None = None,
) -> int:
    """Replace the campaign's ranking for `version` with `ranked` (re-scoring never piles rows up)."""
    when = scored_at or datetime.now(UTC).replace(tzinfo=None)
    frame = PROSPECT_SCORES.from_rows(score_rows(org_id, campaign_id, ranked, scored_at=when))
    return warehouse.replace(PROSPECT_SCORES, frame, "campaign_id = ? AND score_version = ?", [campaign_id, version])


def read_ranking(db: Queryable, campaign_id: str, version: str = SCORE_VERSION) -> list[dict[str, Any]]:
    """The stored ranking of a campaign, best first, with each row's features parsed (what the UI shows)."""
    rows = db.query(
        f"SELECT candidate_id, email, score, rank, features FROM {PROSPECT_SCORES.qualified_name} "
        "WHERE campaign_id = ? AND score_version = ? ORDER BY rank",
        [campaign_id, version],
    )
    return [{**row, "features": json.loads(row["features"])} for row in rows.iter_rows(named=True)]
