"""Prospect scores: feature values and contributions, ranking, airplay and outcome features from real DuckDB rows."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from backbeat.airplay.tables import PLAYLOGS
from backbeat.catalog.tables import TRACKS
from backbeat.outreach.prospecting_tables import CANDIDATE_EMAILS, CANDIDATES, PROSPECT_SCORES
from backbeat.outreach.scoring import (
    AIRPLAY_SATURATION,
    SCORE_VERSION,
    WEIGHTS,
    AirplayEvidence,
    OutcomeHistory,
    ProspectSignals,
    TrackProfile,
    load_prospect_signals,
    load_track_profile,
    outcome_history,
    rank_scores,
    read_ranking,
    score_campaign,
    score_prospect,
    station_airplay,
    store_scores,
)
from backbeat.outreach.tables import CAMPAIGNS, OUTCOMES
from integrations.warehouse import Table, Warehouse

AS_OF = datetime(2026, 12, 5, 8, 0)
TRACK = TrackProfile("t-promo", "Indie Pop", "a-1", ("dreamy", "upbeat"))


def frame(table: Table, rows: list[dict[str, Any]]) -> pl.DataFrame:
    return table.from_rows([dict.fromkeys(table.column_names) | row for row in rows])


def features(score: Any) -> dict[str, Any]:
    return {f.name: f for f in score.features}


def test_weights_add_up_to_one() -> None:
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)


def test_every_feature_has_its_value_and_contribution_and_they_add_up() -> None:
    signals = ProspectSignals(
        "c-1",
        "blog.example",
        email="anna@blog.example",
        rank_absolute=10,
        serp_results=7,
        tags=("indie-pop",),
        text="The best DREAMY bedroom pop, weekly",
        verification="deliverable",
        confidence=90,
    )
    history = OutcomeHistory()
    history.add("anna@blog.example", "replied")
    score = score_prospect(signals, TRACK, history=history)
    got = features(score)
    assert got["relevance"].value == pytest.approx(0.75)  # genre (2) + dreamy (1) of 4
    assert got["relevance"].inputs["matched"] == ["dreamy", "indie pop"]
    assert got["airplay"].value == 0.0 and got["airplay"].why == "not a station Backbeat monitors"
    assert got["verification"].value == pytest.approx(0.9)
    assert got["authority"].value == pytest.approx(0.7 * 0.5 + 0.3 * 1.0)
    assert got["outcomes"].value == pytest.approx(round(0.5 + 0.5 * math.tanh(0.5), 4))
    for f in score.features:
        assert f.weight == WEIGHTS[f.name]
        assert f.contribution == pytest.approx(round(100 * f.weight * f.value, 2))
    assert score.score == pytest.approx(sum(f.contribution for f in score.features))
    assert score.explanation()[0].startswith("relevance +22.5 (0.75 × 30): matches dreamy, indie pop")


def test_verification_accept_all_and_missing_address() -> None:
    base = ProspectSignals("c", "x.example", email="a@x.example", verification="deliverable", confidence=100)
    assert features(score_prospect(base, TRACK))["verification"].value == 1.0
    capped = ProspectSignals("c", "x.example", email="a@x.example", verification="deliverable", accept_all=True)
    assert features(score_prospect(capped, TRACK))["verification"].value == 0.5
    risky = ProspectSignals("c", "x.example", email="a@x.example", verification="risky")
    assert features(score_prospect(risky, TRACK))["verification"].value == pytest.approx(0.35)
    nobody = ProspectSignals("c", "x.example", verification="deliverable", confidence=100)
    assert features(score_prospect(nobody, TRACK))["verification"].value == 0.0


def test_ranking_is_best_first_with_stable_ties() -> None:
    strong = ProspectSignals(
        "c-b", "b.example", "x@b.example", 1, 3, ("indie pop", "dreamy", "upbeat"), "", "deliverable", 95
    )
    weak = ProspectSignals("c-a", "a.example", "x@a.example", 80, 1, (), "techno", "risky", 40)
    twin_1 = ProspectSignals("c-d", "d.example", "x@d.example", 5, 1, ("dreamy",))
    twin_2 = ProspectSignals("c-c", "c.example", "x@c.example", 5, 1, ("dreamy",))
    ranked = rank_scores(score_prospect(s, TRACK) for s in (weak, twin_1, strong, twin_2))
    assert [(s.candidate_id, s.rank) for s in ranked] == [("c-b", 1), ("c-c", 2), ("c-d", 3), ("c-a", 4)]
    assert ranked[1].score == ranked[2].score > ranked[3].score


@pytest.fixture()
def warehouse(tmp_path: Path) -> Warehouse:
    wh = Warehouse(f"duckdb:///{tmp_path}/w.duckdb")
    tracks = [
        {"track_id": "t-promo", "artist_id": "a-1", "genre": "Indie Pop", "title": "Promo"},
        {"track_id": "t-indie-1", "artist_id": "a-2", "genre": "indie pop"},
        {"track_id": "t-indie-2", "artist_id": "a-3", "genre": "Indie Pop"},
        {"track_id": "t-same-artist", "artist_id": "a-1", "genre": "Folk"},
        {"track_id": "t-techno", "artist_id": "a-9", "genre": "Techno"},
    ]
    plays = [
        ("radio-one", "t-indie-1", 1),
        ("radio-one", "t-indie-1", 2),
        ("radio-one", "t-indie-2", 3),
        ("radio-one", "t-same-artist", 4),
        ("radio-one", "t-promo", 5),  # the promoted track itself: not "similar"
        ("radio-one", "t-indie-2", 200),  # outside the 90-day window
        ("radio-one", "t-indie-1", -1),  # after as_of
        ("techno-fm", "t-techno", 1),
        ("techno-fm", "t-techno", 2),
        ("indie-fm", "t-indie-2", 10),
    ]
    play_rows = []
    for n, (station, track, days_ago) in enumerate(plays):
        start = AS_OF - timedelta(days=days_ago, hours=1)
        play_rows.append(
            {
                "play_id": f"pl-{n}",
                "station_id": station,
                "track_id": track,
                "play_date": start.date(),
                "start_utc": start,
                "end_utc": start + timedelta(minutes=3),
                "duration_s": 180,
            }
        )
    outcomes = [
        ("o-1", "dj@radio-one.example", "accepted"),
        ("o-2", "music@radio-one.example", "replied"),
        ("o-3", "ed@techno-fm.example", "complained"),
        ("o-4", "ed@techno-fm.example", "unsubscribed"),
    ]
    with wh.connect() as conn:
        for t in (TRACKS, PLAYLOGS, CAMPAIGNS, OUTCOMES):
            conn.ensure(t)
        conn.insert(TRACKS, frame(TRACKS, tracks))
        conn.insert(PLAYLOGS, frame(PLAYLOGS, play_rows))
        conn.insert(
            CAMPAIGNS,
            frame(CAMPAIGNS, [{"campaign_id": "cmp-1", "org_id": "org-1", "track_id": "t-promo", "status": "active"}]),
        )
        conn.insert(
            OUTCOMES,
            frame(
                OUTCOMES,
                [
                    {
                        "outcome_id": oid,
                        "org_id": "org-1",
                        "email": email,
                        "kind": kind,
                        "recorded_at": AS_OF - timedelta(days=1),
                    }
                    for oid, email, kind in outcomes
                ]
                + [
                    {
                        "outcome_id": "o-x",
                        "org_id": "org-2",
                        "email": "dj@radio-one.example",
                        "kind": "complained",
                        "recorded_at": AS_OF,
                    }
                ],
            ),
        )
    return wh


def test_station_airplay_counts_similar_plays_from_real_rows(warehouse: Warehouse) -> None:
    track = load_track_profile(warehouse, "cmp-1", moods=["dreamy"])
    assert track == TrackProfile("t-promo", "Indie Pop", "a-1", ("dreamy",))
    evidence = station_airplay(warehouse, track, as_of=AS_OF)
    assert evidence == {
        "radio-one": AirplayEvidence(genre_plays=3, artist_plays=1),
        "indie-fm": AirplayEvidence(genre_plays=1, artist_plays=0),
    }
    assert station_airplay(warehouse, track, as_of=AS_OF, window_days=2) == {
        "radio-one": AirplayEvidence(genre_plays=1, artist_plays=0)
    }
    with pytest.raises(ValueError, match="unknown"):
        load_track_profile(warehouse, "cmp-missing")


def test_campaign_is_scored_ranked_and_stored_with_its_features(warehouse: Warehouse) -> None:
    prospects = [
        ProspectSignals(
            "c-one",
            "radio-one.example",
            "dj@radio-one.example",
            station_id="radio-one",
            tags=("indie pop",),
            verification="deliverable",
            confidence=90,
        ),
        ProspectSignals(
            "c-techno",
            "techno-fm.example",
            "ed@techno-fm.example",
            station_id="techno-fm",
            tags=("techno",),
            verification="deliverable",
            confidence=90,
        ),
        ProspectSignals(
            "c-indie",
            "indie-fm.example",
            "amy@indie-fm.example",
            station_id="indie-fm",
            tags=("indie pop",),
            verification="deliverable",
            confidence=90,
        ),
    ]
    ranked = score_campaign(warehouse, "org-1", "cmp-1", prospects, as_of=AS_OF)
    assert [s.candidate_id for s in ranked] == ["c-one", "c-indie", "c-techno"]
    one = features(ranked[0])
    assert one["airplay"].inputs == {"station_id": "radio-one", "genre_plays": 3, "artist_plays": 1}
    assert one["airplay"].value == pytest.approx(round(math.log1p(5) / math.log1p(AIRPLAY_SATURATION), 4))
    assert one["outcomes"].inputs == {"contact": ["accepted"], "domain": ["replied"], "net": 2.5}
    techno = features(ranked[2])
    assert techno["airplay"].value == 0.0 and techno["airplay"].why == "techno-fm played no similar track"
    assert techno["outcomes"].value < 0.5
    assert features(ranked[1])["outcomes"].why == "no history (neutral)"

    assert store_scores(warehouse, "org-1", "cmp-1", ranked, scored_at=AS_OF) == 3
    assert store_scores(warehouse, "org-1", "cmp-1", ranked[:2], scored_at=AS_OF) == 2  # re-score replaces
    stored = read_ranking(warehouse, "cmp-1")
    assert [(r["candidate_id"], r["rank"]) for r in stored] == [("c-one", 1), ("c-indie", 2)]
    shown = stored[0]["features"]
    assert shown["version"] == SCORE_VERSION
    assert shown["features"]["airplay"]["contribution"] == one["airplay"].contribution
    assert sum(f["contribution"] for f in shown["features"].values()) == pytest.approx(stored[0]["score"])
    assert warehouse.read(PROSPECT_SCORES).height == 2


def test_outcome_history_is_per_organisation_and_before_the_scoring_time(warehouse: Warehouse) -> None:
    history = outcome_history(warehouse, "org-1", as_of=AS_OF)
    assert sorted(history.by_email) == ["dj@radio-one.example", "ed@techno-fm.example", "music@radio-one.example"]
    assert outcome_history(warehouse, "org-1", as_of=AS_OF - timedelta(days=2)).by_email == {}
    assert outcome_history(warehouse, "org-2").by_email == {"dj@radio-one.example": ["complained"]}


def test_signals_are_read_from_discovery_and_enrichment_tables(warehouse: Warehouse) -> None:
    def candidate(cid: str, domain: str, page: str, **extra: Any) -> dict[str, Any]:
        return {
            "org_id": "org-1",
            "candidate_id": cid,
            "domain": domain,
            "page_url": page,
            "discovered_at": AS_OF,
        } | extra

    candidates = [
        candidate(
            "c-1",
            "blog.example",
            "https://blog.example/a",
            provenance="serp",
            rank_absolute=12,
            title="Dreamy sounds",
            description="indie pop reviews",
            query="indie pop blog",
        ),
        candidate("c-2", "blog.example", "https://blog.example/b", provenance="serp", rank_absolute=3),
        candidate("c-3", "radio-one.example", "", provenance="stations", station_id="radio-one", title="Radio One"),
        candidate("c-4", "radio-one.example", "https://radio-one.example/contact", provenance="csv"),
    ]
    emails = [
        {
            "org_id": "org-1",
            "candidate_id": "c-1",
            "email": "ed@blog.example",
            "confidence": 80,
            "verification": "deliverable",
            "accept_all": False,
        },
        {
            "org_id": "org-1",
            "candidate_id": "c-4",
            "email": "dj@radio-one.example",
            "confidence": 95,
            "verification": "deliverable",
            "accept_all": True,
        },
        {"org_id": "org-1", "candidate_id": "c-4", "email": "info@radio-one.example", "confidence": 99},
    ]
    with warehouse.connect() as conn:
        conn.ensure(CANDIDATES)
        conn.ensure(CANDIDATE_EMAILS)
        conn.insert(CANDIDATES, frame(CANDIDATES, candidates))
        conn.insert(CANDIDATE_EMAILS, frame(CANDIDATE_EMAILS, emails))
    signals = load_prospect_signals(warehouse, "org-1", emails={"ed@blog.example", "dj@radio-one.example"})
    assert signals == [
        ProspectSignals(
            "c-1",
            "blog.example",
            "ed@blog.example",
            3,
            2,
            (),
            "Dreamy sounds indie pop reviews indie pop blog",
            "deliverable",
            80,
            False,
            None,
        ),
        ProspectSignals(
            "c-4", "radio-one.example", "dj@radio-one.example", None, 0, (), "", "deliverable", 95, True, "radio-one"
        ),
    ]
    ranked = score_campaign(warehouse, "org-1", "cmp-1", signals, moods=["dreamy"], as_of=AS_OF)
    # the blog matches genre and mood; the station has airplay and a good history but no matching words
    assert [(s.email, s.score) for s in ranked] == [("ed@blog.example", 61.37), ("dj@radio-one.example", 39.7)]
    assert features(ranked[0])["relevance"].value == 1.0
    assert features(ranked[1])["authority"].why == "a station Backbeat monitors, found in 0 result(s)"
    assert features(ranked[1])["verification"].why == "deliverable, confidence 95, accept-all server (capped)"
