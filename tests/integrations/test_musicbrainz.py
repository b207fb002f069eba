"""The MusicBrainz client against a local server speaking WS/2 JSON: ≤ 1 request/s measured at the server,
User-Agent, lookups by ISRC with works and credits, 503 bursts, 404, malformed payloads."""

import random
from collections.abc import Iterator

import pytest
import requests
from dagster import asset, materialize

from backbeat.demo.standins import FakeCatalog, FakeMusicBrainz, FaultPlan, ManualClock
from backbeat.demo.standins.musicbrainz_server import RATE_LIMIT_MESSAGE
from integrations.musicbrainz import MusicBrainzClient, MusicBrainzResource
from integrations.musicbrainz.client import BACKOFF
from integrations.resilience import MalformedPayload, PermanentError, RetryPolicy, TokenBucket, Transient

CONTACT = "ops@backbeat.example"


@pytest.fixture(scope="module")
def catalog() -> FakeCatalog:
    return FakeCatalog.generate(8, seed=9)


@pytest.fixture
def plan() -> FaultPlan:
    return FaultPlan()


@pytest.fixture
def fast_server(catalog: FakeCatalog, plan: FaultPlan) -> Iterator[FakeMusicBrainz]:
    """The rate rule off, so functional tests need not wait a second per request."""
    with FakeMusicBrainz(catalog, plan, min_interval=0) as server:
        yield server


def fast_client(server: FakeMusicBrainz, sleeps: list[float], max_attempts: int = 5) -> MusicBrainzClient:
    clock = ManualClock()
    return MusicBrainzClient(
        "Backbeat",
        "0.1.0",
        CONTACT,
        base_url=server.api_url,
        policy=RetryPolicy(max_attempts=max_attempts, backoff=BACKOFF, sleep=sleeps.append, rng=random.Random(2)),
        bucket=TokenBucket(1000, 10, clock=clock.now, sleep=clock.sleep),
    )


def test_at_most_one_request_per_second_measured_at_the_server(catalog: FakeCatalog) -> None:
    # The client's bucket and the fake's rate rule share a manual clock: exact times, no waiting, no noise.
    tracks = list(catalog.by_isrc.values())[:3]
    clock = ManualClock()
    with FakeMusicBrainz(catalog, clock=clock.now) as server:  # enforces the rule: 503 when called faster
        client = MusicBrainzClient(
            "Backbeat",
            "0.1.0",
            CONTACT,
            base_url=server.api_url,
            bucket=TokenBucket(1.0, clock=clock.now, sleep=clock.sleep),
        )
        found = [client.recordings_by_isrc(t.isrc) for t in tracks]
        times = server.accepted_times()
    assert [[r.id for r in recs] for recs in found] == [[t.recording_mbid] for t in tracks]
    assert server.count(status=503) == 0 and clock.sleeps == [1.0, 1.0]
    assert [later - earlier for earlier, later in zip(times, times[1:], strict=False)] == [1.0, 1.0]


def test_clients_of_one_host_share_a_one_per_second_bucket() -> None:
    url = "http://127.0.0.1:9/ws/2/"  # nothing is requested
    first, second = (MusicBrainzClient("Backbeat", "0.1.0", CONTACT, base_url=url) for _ in range(2))
    assert first.bucket is second.bucket and first.bucket.rate == 1.0  # the limit is per IP, not per client
    assert MusicBrainzClient("Other", "1", CONTACT, base_url="http://127.0.0.1:10/ws/2/").bucket is not first.bucket


def test_the_default_client_keeps_the_rate_in_real_time(catalog: FakeCatalog) -> None:
    """End to end on the real clock, so with generous bounds: a client without its bucket sends these three
    within milliseconds, a bucketed one a second apart; the fake refuses anything under half a second."""
    tracks = list(catalog.by_isrc.values())[:3]
    with FakeMusicBrainz(catalog, slack=0.5) as server:
        client = MusicBrainzClient("Backbeat", "0.1.0", CONTACT, base_url=server.api_url)
        found = [client.recordings_by_isrc(t.isrc) for t in tracks]
        times = server.accepted_times()
    assert [[r.id for r in recs] for recs in found] == [[t.recording_mbid] for t in tracks]
    assert server.count(status=503) == 0 and len(times) == 3
    assert min(later - earlier for earlier, later in zip(times, times[1:], strict=False)) >= 0.5


def test_the_fake_refuses_a_faster_client_like_the_real_service(catalog: FakeCatalog) -> None:
    isrc = next(iter(catalog.by_isrc))
    agent = {"User-Agent": f"Probe/1 ( {CONTACT} )"}
    clock = ManualClock()

    def get(**headers: str) -> requests.Response:
        return requests.get(f"{server.api_url}isrc/{isrc}", params={"fmt": "json"}, headers=headers, timeout=30)

    with FakeMusicBrainz(catalog, clock=clock.now) as server:
        first, second = get(**agent), get(**agent)
        clock.advance(0.9)
        early = get(**agent)  # refused requests do not count: still 0.9 s after the accepted one
        clock.advance(0.1)
        third = get(**agent)
        anonymous = get()
    assert first.status_code == 200 and second.status_code == 503 and second.json()["error"] == RATE_LIMIT_MESSAGE
    assert early.status_code == 503 and third.status_code == 200
    assert anonymous.status_code == 403
    assert server.accepted_times() == [1000.0, 1001.0, 1001.0]  # the 403 is not a rate-limit refusal


def test_isrc_lookup_gives_recording_credits_and_works(fast_server: FakeMusicBrainz, catalog: FakeCatalog) -> None:
    track = next(t for t in catalog.by_isrc.values() if len(t.artist_ids) == 2 and t.iswc)
    client = fast_client(fast_server, [])
    (recording,) = client.recordings_by_isrc(track.isrc)
    assert recording.id == track.recording_mbid and recording.length_ms == track.duration_ms
    names = [catalog.artists[a].name for a in track.artist_ids]
    assert recording.artist_credit == f"{names[0]} feat. {names[1]}"
    assert [c.artist_id for c in recording.artist_credits] == [catalog.artists[a].mbid for a in track.artist_ids]
    (work,) = recording.works
    assert (work.id, work.iswcs) == (track.work_mbid, (track.iswc,))

    full = client.work(track.work_mbid)
    assert full is not None and full.iswcs == (track.iswc,)
    assert {(w.role, w.name) for w in full.writers} == {("composer", names[0]), ("lyricist", names[0])}
    assert client.recording(track.recording_mbid) == recording

    (record,) = [r for r in fast_server.records if r.endpoint == "isrc"]
    assert fast_server.user_agents == {f"Backbeat/0.1.0 ( {CONTACT} )"}
    assert record.status == 200  # fmt=json and inc=artist-credits+work-rels were accepted


def test_unknown_isrc_is_empty_and_not_retried(fast_server: FakeMusicBrainz, catalog: FakeCatalog) -> None:
    unknown = next(t.isrc for t in catalog.tracks.values() if not t.in_musicbrainz)
    sleeps: list[float] = []
    assert fast_client(fast_server, sleeps).recordings_by_isrc(unknown) == []
    assert fast_server.count("isrc", 404) == 1 and fast_server.count() == 1 and sleeps == []


def test_503_burst_backs_off_then_succeeds(fast_server: FakeMusicBrainz, plan: FaultPlan, catalog: FakeCatalog) -> None:
    track = next(iter(catalog.by_isrc.values()))
    plan.fail_next("isrc", 2, 503)
    sleeps: list[float] = []
    assert fast_client(fast_server, sleeps).recordings_by_isrc(track.isrc)[0].id == track.recording_mbid
    assert fast_server.count("isrc", 503) == 2 and len(sleeps) == 2
    assert 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 2.0  # MusicBrainz backs off from one second

    plan.fail_next("isrc", 10, 502)
    with pytest.raises(Transient) as caught:
        fast_client(fast_server, sleeps, max_attempts=3).recordings_by_isrc(track.isrc)
    assert caught.value.attempts == 3


def test_malformed_payload_names_isrc_and_field(
    fast_server: FakeMusicBrainz, plan: FaultPlan, catalog: FakeCatalog
) -> None:
    first, second = list(catalog.by_isrc.values())[:2]
    plan.corrupt(first.recording_mbid, "id", "not-an-mbid")
    plan.corrupt(
        second.recording_mbid,
        "relations",
        [
            {
                "type": "performance",
                "target-type": "work",
                "work": {"id": second.work_mbid, "title": "x", "iswcs": ["T-12"]},
            }
        ],
    )
    client = fast_client(fast_server, [])
    with pytest.raises(MalformedPayload) as caught:
        client.recordings_by_isrc(first.isrc)
    assert caught.value.reason == (
        f"musicbrainz: isrc {first.isrc}: field 'recordings[0].id' is 'not-an-mbid', not an MBID"
    )
    with pytest.raises(
        MalformedPayload,
        match=rf"isrc {second.isrc}: field 'recordings\[0\]\.relations\[0\]"
        r"\.work\.iswcs\[0\]' is 'T-12', not an ISWC",
    ):
        client.recordings_by_isrc(second.isrc)
    assert fast_server.count("isrc") == 2  # never retried


def test_client_insists_on_the_published_rules() -> None:
    with pytest.raises(ValueError, match="one request per second"):
        MusicBrainzClient("Backbeat", "0.1.0", CONTACT, requests_per_second=2.0)
    with pytest.raises(ValueError, match="contact"):
        MusicBrainzClient("Backbeat", "0.1.0", " ")


def test_isrc_is_sent_as_given_and_a_printed_one_is_refused_by_the_service(
    fast_server: FakeMusicBrainz, catalog: FakeCatalog
) -> None:
    # The client does not normalise (the core does, before calling): the printed form reaches MusicBrainz as
    # typed, which answers 400, a permanent error that is not retried.
    track = next(iter(catalog.by_isrc.values()))
    printed = f"{track.isrc[:2]}-{track.isrc[2:5]}-{track.isrc[5:7]}-{track.isrc[7:]}".lower()
    with pytest.raises(PermanentError, match="400"):
        fast_client(fast_server, []).recordings_by_isrc(printed)
    assert fast_server.count("isrc", 400) == 1 and fast_server.count() == 1


def test_bad_request_is_permanent(fast_server: FakeMusicBrainz) -> None:
    client = fast_client(fast_server, [])
    with pytest.raises(PermanentError, match="400"):
        client._get("isrc", "isrc/USRC17607839", "bogus-inc", lambda doc: doc)
    assert fast_server.count() == 1


def test_resource_reads_its_settings_from_env_vars(
    fast_server: FakeMusicBrainz, catalog: FakeCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MUSICBRAINZ_CONTACT", CONTACT)
    monkeypatch.setenv("MUSICBRAINZ_URL", fast_server.api_url)
    track = next(iter(catalog.by_isrc.values()))
    found: list[str] = []

    @asset
    def recording_ids(musicbrainz: MusicBrainzResource) -> None:
        found.extend(r.id for r in musicbrainz.client().recordings_by_isrc(track.isrc))

    assert materialize([recording_ids], resources={"musicbrainz": MusicBrainzResource.from_env()}).success
    assert found == [track.recording_mbid]
