"""Publishing snapshots through real spotipy to a local server speaking Spotify's playlist endpoints: creation,
replacement without duplicates, 429 and 5xx, tokens expiring mid-sync, refused and unconnected accounts."""

import csv
import random
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests

from backbeat.curation.planner import Account
from backbeat.curation.sync import (
    ExportTrack,
    SyncJob,
    export_unsynced,
    playlist_description,
    playlist_name,
    refresh_account_tokens,
    sync_all,
)
from backbeat.demo.standins import FakeSpotify, ManualClock
from integrations.resilience import RetryPolicy, TokenBucket, TokenStore
from integrations.retry import Backoff
from integrations.spotify.accounts import SpotifyAccountsResource
from integrations.spotify.playlists import store_refresh_token, token_name

DAY = date(2026, 11, 2)
MAIN = Account("main", "user-main", 10)
SECOND = Account("second", "user-second", 10)
DEV = Account("dev", "user-dev", 10)  # not declared: Spotify's 403 is what tells
ACCOUNTS = {a.account_id: a for a in (MAIN, SECOND, DEV)}
RNG = random.Random(4)
IDS = ["".join(RNG.choices("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", k=22)) for _ in range(400)]


class Rig:
    """Clients for the fake's accounts with a recording sleep (nothing really waits)."""

    def __init__(self, server: FakeSpotify, store: TokenStore) -> None:
        self.server, self.store, self.sleeps, self.clock = server, store, [], ManualClock()
        self.resource = SpotifyAccountsResource(
            client_id=server.client_id,
            client_secret=server.client_secret,
            api_url=server.api_url,
            token_url=server.token_url,
            token_dir=str(store.directory),
            secret_key="x",
            requests_per_second=500,
            burst=50,
            breaker_threshold=3,
        )
        for account_id, refresh in (("main", "refresh-main"), ("second", "refresh-second"), ("dev", "refresh-dev")):
            store_refresh_token(store, account_id, refresh)

    def client(self, account: Account, max_attempts: int = 4, max_retry_after: float = 60.0):
        policy = RetryPolicy(
            max_attempts=max_attempts,
            max_retry_after=max_retry_after,
            backoff=Backoff(base=0.5, factor=2.0, maximum=8.0),
            sleep=self.sleeps.append,
            rng=random.Random(1),
        )
        bucket = TokenBucket(500, 50, clock=self.clock.now, sleep=self.clock.sleep)  # per account, manual time
        return self.resource.client(
            account.account_id, account.spotify_user_id, policy=policy, store=self.store, bucket=bucket
        )

    def sync(self, jobs: list[SyncJob], **kwargs: object):
        return sync_all(jobs, ACCOUNTS, lambda a: self.client(a, **kwargs))


@pytest.fixture
def rig(spotify: FakeSpotify, token_store: TokenStore) -> Rig:
    return Rig(spotify, token_store)


def jobs_for(
    day: date, layout: dict[str, list[int]], previous: dict | None = None, size: int = 50, missing_every: int = 0
) -> list[SyncJob]:
    """Playlist #n of each account in `layout`, each with `size` tracks (every `missing_every`-th without an id)."""
    jobs = []
    for account_id, indices in layout.items():
        for n in indices:
            tracks = []
            for position in range(1, size + 1):
                uri = f"spotify:track:{IDS[(n * 37 + position + day.toordinal()) % len(IDS)]}"
                missing = missing_every and position % missing_every == 0
                tracks.append(
                    ExportTrack(
                        position,
                        f"T{n}-{position}",
                        f"QZABC2600{position:03d}",
                        f"Song {position}",
                        "Artist",
                        "Album",
                        180_000,
                        None if missing else uri,
                        "no Spotify track with this ISRC" if missing else None,
                    )
                )
            playlist_id = f"focus-{n:03d}"
            jobs.append(
                SyncJob(
                    day,
                    account_id,
                    playlist_id,
                    n,
                    "Focus",
                    playlist_name("Focus", n, day),
                    playlist_description("Focus", "Calm music.", day, size),
                    tracks,
                    (previous or {}).get((account_id, playlist_id)),
                )
            )
    return jobs


def recorded(outcomes) -> dict:
    return {(o.job.account_id, o.job.playlist_id): o.spotify_playlist_id for o in outcomes if o.spotify_playlist_id}


def test_create_then_replace_without_duplicates(rig: Rig) -> None:
    layout = {"main": [1, 2], "second": [3]}
    first = rig.sync(jobs_for(DAY, layout, missing_every=10))
    assert [(o.job.account_id, o.status, o.action, o.tracks_sent) for o in first] == [
        ("main", "synced", "created", 45),
        ("main", "synced", "created", 45),
        ("second", "synced", "created", 45),
    ]
    mine = rig.server.user_playlists("user-main")
    assert [p.name for p in mine] == ["Vibe • Focus • #001 • 2026-11-02", "Vibe • Focus • #002 • 2026-11-02"]
    assert all(p.public and "Calm music." in p.description and len(p.uris) == 45 for p in mine)
    assert first[0].spotify_url == f"https://open.spotify.com/playlist/{first[0].spotify_playlist_id}"

    again = rig.sync(jobs_for(DAY, layout, recorded(first), missing_every=10))  # a re-run of the same day
    assert [o.action for o in again] == ["updated"] * 3 and recorded(again) == recorded(first)
    lost = rig.sync(jobs_for(DAY, layout, None, missing_every=10))  # ids lost: found again by name
    assert [o.action for o in lost] == ["updated"] * 3 and recorded(lost) == recorded(first)

    next_day = DAY + timedelta(days=1)
    second = rig.sync(jobs_for(next_day, layout, recorded(first)))
    assert [o.action for o in second] == ["updated"] * 3
    assert len(rig.server.user_playlists("user-main")) == 2 and len(rig.server.user_playlists("user-second")) == 1
    renamed = rig.server.playlists[first[0].spotify_playlist_id]
    assert renamed.name == "Vibe • Focus • #001 • 2026-11-03"
    assert renamed.uris == jobs_for(next_day, {"main": [1]})[0].uris
    assert rig.server.count("create_playlist") == 3


def test_rate_limits_and_server_errors_are_waited_out(rig: Rig) -> None:
    rig.server.plan.fail_next("replace_items", 2, 429, retry_after=3)
    rig.server.plan.fail_next("playlist_details", 2, 503)
    first = rig.sync(jobs_for(DAY, {"main": [1]}))
    second = rig.sync(jobs_for(DAY, {"main": [1]}, recorded(first)))
    assert [o.status for o in first + second] == ["synced", "synced"]
    assert rig.sleeps[:2] == [3.0, 3.0]  # exactly Retry-After, twice ...
    assert sum(rig.clock.sleeps) >= 6.0  # ... and the account's bucket was held as long
    assert len(rig.sleeps) == 4 and all(0.25 <= s <= 2.0 for s in rig.sleeps[2:])  # backoff with jitter
    assert rig.server.statuses()[429] == 2 and rig.server.statuses()[503] == 2
    assert second[0].requests == 5  # list, details ×3, replace


def test_an_access_token_expiring_mid_sync_is_refreshed_and_kept_encrypted(rig: Rig) -> None:
    rig.server.plan.token_uses = 3  # every access token dies after three requests
    rig.server.rotate_refresh_tokens = True
    outcomes = rig.sync(jobs_for(DAY, {"main": [1, 2, 3, 4]}))
    assert [o.status for o in outcomes] == ["synced"] * 4
    assert rig.server.statuses()[401] >= 2 and rig.server.refreshes["user-main"] >= 3
    blob = rig.store.path(token_name("main")).read_bytes()
    token = rig.store.load(token_name("main"))
    assert token["refresh_token"] != "refresh-main"  # the rotated one was kept ...
    assert token["refresh_token"].encode() not in blob and token["access_token"].encode() not in blob  # encrypted
    rig.server.plan.token_uses = None
    later = rig.sync(jobs_for(DAY, {"main": [1]}, recorded(outcomes)))  # ... and works for the next run
    assert later[0].status == "synced" and later[0].action == "updated"


def test_a_refusing_account_is_exported_while_the_others_sync(rig: Rig, tmp_path: Path) -> None:
    outcomes = rig.sync(jobs_for(DAY, {"dev": [1, 2, 3], "main": [4], "second": [5]}, missing_every=25))
    by = {(o.job.account_id, o.job.global_index): o for o in outcomes}
    assert [by["main", 4].status, by["second", 5].status] == ["synced", "synced"]
    assert by["dev", 1].status == "refused" and "HTTP 403" in by["dev", 1].error
    assert "development mode" in by["dev", 1].error
    assert [by["dev", n].error.startswith("not attempted: account dev stopped after") for n in (2, 3)] == [True] * 2
    assert rig.server.user_playlists("user-dev") == []
    assert sum(1 for r in rig.server.records if r.status == 403) == 1  # one refusal stops the account

    exported = export_unsynced(tmp_path / "exports" / "2026-11-02", outcomes)
    files = sorted(p.name for p in (tmp_path / "exports" / "2026-11-02").iterdir())
    assert files == [
        "001-focus-001.csv",
        "001-focus-001.m3u",
        "002-focus-002.csv",
        "002-focus-002.m3u",
        "003-focus-003.csv",
        "003-focus-003.m3u",
    ]
    m3u = Path(next(o.export_m3u for o in exported if o.job.global_index == 1)).read_text().splitlines()
    job = by["dev", 1].job
    assert m3u[:2] == ["#EXTM3U", "#PLAYLIST:Vibe • Focus • #001 • 2026-11-02"]
    assert [line for line in m3u if line.startswith("spotify:track:")] == job.uris and len(job.uris) == 48
    assert sum(1 for line in m3u if line.startswith("# not on Spotify: ISRC QZABC2600025")) == 1
    with open(next(o.export_csv for o in exported if o.job.global_index == 1), newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 50 and rows[24]["spotify_uri"] == "" and rows[24]["isrc"] == "QZABC2600025"
    assert rows[0]["spotify_uri"] == job.tracks[0].spotify_uri
    assert all(o.export_m3u is None for o in exported if o.status == "synced")


def test_a_quota_refusal_stops_only_that_account(rig: Rig) -> None:
    rig.server.plan.fail_next("create_playlist", 1, 429, retry_after=86_400)  # a day: not worth waiting for
    outcomes = rig.sync(jobs_for(DAY, {"main": [1, 2]}))
    assert [o.status for o in outcomes] == ["refused", "refused"] and "HTTP 429" in outcomes[0].error
    assert rig.sleeps == []


def test_unconnected_and_revoked_accounts_are_recorded_not_raised(rig: Rig) -> None:
    rig.store.delete(token_name("second"))
    rig.server.revoke_refresh_token("refresh-main")
    outcomes = rig.sync(jobs_for(DAY, {"main": [1, 2], "second": [3]}))
    by = {o.job.global_index: o for o in outcomes}
    assert by[1].status == "not_connected" and "invalid_grant" in by[1].error
    assert by[2].error.startswith("not attempted")
    assert by[3].status == "not_connected" and "account connect second" in by[3].error
    assert rig.server.count("create_playlist") == 0


def test_tokens_stored_under_another_key_are_named_as_such_not_as_missing(rig: Rig) -> None:
    other_key = TokenStore(rig.store.directory, TokenStore.generate_key())
    outcomes = sync_all(
        jobs_for(DAY, {"second": [1]}),
        ACCOUNTS,
        lambda a: rig.resource.client(a.account_id, a.spotify_user_id, store=other_key),
    )
    [outcome] = outcomes
    assert outcome.status == "not_connected"
    assert "tokens exist but cannot be decrypted with this key" in outcome.error
    assert "no stored refresh token" not in outcome.error
    rows = refresh_account_tokens(
        [SECOND], lambda a: rig.resource.client(a.account_id, a.spotify_user_id, store=other_key), {}
    )
    assert rows[0]["status"] == "not_connected" and "cannot be decrypted" in rows[0]["error"]


def test_the_breaker_stops_an_account_that_keeps_failing(rig: Rig) -> None:
    rig.server.plan.fail_next("create_playlist", 100, 502)
    outcomes = rig.sync(jobs_for(DAY, {"main": [1, 2, 3]}), max_attempts=5)
    assert [o.status for o in outcomes] == ["failed"] * 3
    assert "circuit open" in outcomes[1].error or "circuit open" in outcomes[0].error
    assert rig.server.count("create_playlist") == 3  # the breaker opened after 3 failures: no more calls


def test_the_token_refresh_job_refreshes_what_expires_soon(rig: Rig) -> None:
    rows = refresh_account_tokens(
        [MAIN, SECOND, DEV, Account("idle", "user-x", 1, active=False)], lambda a: rig.client(a), {}
    )
    assert [(r["account_id"], r["status"]) for r in rows] == [("main", "ok"), ("second", "ok"), ("dev", "ok")]
    assert all(r["refreshed_at"] is not None and r["expires_at"] > r["checked_at"] for r in rows)
    again = refresh_account_tokens(
        [MAIN], lambda a: rig.client(a), {r["account_id"]: r for r in rows}, refresh_within_s=60
    )
    assert again[0]["refreshed_at"] == rows[0]["refreshed_at"]  # an hour left: not refreshed again
    assert rig.server.refreshes["user-main"] == 1
    rig.server.revoke_refresh_token("refresh-second")
    failed = refresh_account_tokens([SECOND], lambda a: rig.client(a), {}, refresh_within_s=10_000)
    assert failed[0]["status"] == "refresh_failed" and "invalid_grant" in failed[0]["error"]


def test_no_token_reaches_a_log_line(rig: Rig, caplog) -> None:
    caplog.set_level("DEBUG")
    rig.server.plan.token_uses = 2
    outcomes = rig.sync(jobs_for(DAY, {"main": [1, 2]}))
    assert [o.status for o in outcomes] == ["synced", "synced"]
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "refresh_token" in text and "Bearer" in text  # spotipy did log its requests at DEBUG ...
    token = rig.store.load(token_name("main"))
    for secret in ("refresh-main", token["access_token"], *rig.server.issued_tokens):
        assert secret not in text  # ... with every credential redacted


# -- the published description (OpenAPI 2026.5.31): non-deprecated operations, items, reorder, remove ---------


def _user_token(server: FakeSpotify, refresh: str) -> dict[str, str]:
    answer = requests.post(
        server.token_url,
        data={"grant_type": "refresh_token", "refresh_token": refresh},
        auth=(server.client_id, server.client_secret),
        timeout=5,
    )
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_playlists_are_created_with_post_me_playlists_even_without_extended_access(rig: Rig) -> None:
    rig.server.extended_access = False  # the deprecated POST /users/{id}/playlists answers 403 now
    outcomes = rig.sync(jobs_for(DAY, {"main": [1], "second": [2]}))
    assert [o.status for o in outcomes] == ["synced", "synced"]
    creates = [r for r in rig.server.records if r.endpoint == "create_playlist"]
    assert [(r.method, r.path, r.status) for r in creates] == [("POST", "/v1/me/playlists", 201)] * 2
    deprecated = requests.post(
        f"{rig.server.api_url}users/user-main/playlists",
        json={"name": "x"},
        headers=_user_token(rig.server, "refresh-main"),
        timeout=5,
    )
    assert deprecated.status_code == 403 and deprecated.json()["error"]["status"] == 403


def test_items_are_read_from_item_page_by_page(rig: Rig) -> None:
    [outcome] = rig.sync(jobs_for(DAY, {"main": [1]}, size=120))
    playlist_id = outcome.spotify_playlist_id
    client = rig.client(MAIN)
    before = rig.server.count("playlist_items")
    assert client.items(playlist_id) == outcome.job.uris and len(outcome.job.uris) == 120
    pages = [r for r in rig.server.records if r.endpoint == "playlist_items"][before:]
    assert len(pages) == 3  # limit 50: 50 + 50 + 20, following `next`

    headers = _user_token(rig.server, "refresh-main")
    url = f"{rig.server.api_url}playlists/{playlist_id}/items"
    page = requests.get(url, params={"limit": 2, "offset": 118}, headers=headers, timeout=5).json()
    assert (page["limit"], page["offset"], page["total"], page["next"]) == (2, 118, 120, None)
    assert "offset=116" in page["previous"] and [i["item"]["uri"] for i in page["items"]] == outcome.job.uris[118:]
    entry = page["items"][0]
    assert entry["track"] == entry["item"] and entry["added_by"]["id"] == "user-main" and "added_at" in entry
    narrow = requests.get(
        url, params={"limit": 1, "fields": "items(item(uri)),total"}, headers=headers, timeout=5
    ).json()
    assert narrow == {"items": [{"item": {"uri": outcome.job.uris[0]}}], "total": 120}
    bad = requests.get(url, params={"limit": 51}, headers=headers, timeout=5)
    assert bad.status_code == 400 and bad.json()["error"]["status"] == 400
    assert requests.get(url, params={"market": "nl"}, headers=headers, timeout=5).status_code == 400
    assert requests.get(url, params={"market": "NL"}, headers=headers, timeout=5).status_code == 200


def test_items_are_reordered_and_removed_as_the_description_allows(rig: Rig) -> None:
    [outcome] = rig.sync(jobs_for(DAY, {"main": [1]}, size=6))
    playlist_id, uris = outcome.spotify_playlist_id, outcome.job.uris
    client = rig.client(MAIN)
    snapshot = client.reorder(playlist_id, range_start=4, insert_before=1, range_length=2)
    assert rig.server.playlists[playlist_id].uris == [uris[0], uris[4], uris[5], uris[1], uris[2], uris[3]]
    assert snapshot == rig.server.playlists[playlist_id].snapshot_id
    client.remove(playlist_id, [uris[4], uris[0]], snapshot_id=snapshot)
    assert rig.server.playlists[playlist_id].uris == [uris[5], uris[1], uris[2], uris[3]]

    headers = _user_token(rig.server, "refresh-main")
    url = f"{rig.server.api_url}playlists/{playlist_id}/items"
    older = requests.delete(url, json={"tracks": [{"uri": uris[5]}]}, headers=headers, timeout=5)
    assert older.status_code == 200 and "snapshot_id" in older.json()  # the older body key still works
    assert rig.server.playlists[playlist_id].uris == uris[1:4]
    out_of_range = requests.put(url, json={"range_start": 7, "insert_before": 0}, headers=headers, timeout=5)
    assert out_of_range.status_code == 400 and out_of_range.headers["Content-Type"].startswith("application/json")
    patched = requests.patch(url, json={}, headers=headers, timeout=5)
    assert patched.status_code == 405 and patched.json()["error"]["status"] == 405


def test_me_returns_private_fields_only_with_their_scopes(rig: Rig) -> None:
    rig.server.add_user(
        "user-private", "refresh-private", scopes="playlist-read-private user-read-private user-read-email"
    )
    plain = requests.get(f"{rig.server.api_url}me", headers=_user_token(rig.server, "refresh-main"), timeout=5)
    assert plain.json()["id"] == "user-main"
    assert not {"country", "product", "email"} & set(plain.json())
    private = requests.get(
        f"{rig.server.api_url}me", headers=_user_token(rig.server, "refresh-private"), timeout=5
    ).json()
    assert (private["country"], private["product"], private["email"]) == ("NL", "premium", "user-private@example.com")
    assert rig.client(MAIN).me() == "user-main"  # Backbeat needs only the id
