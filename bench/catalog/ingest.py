"""Catalog ingest benchmark: 10,000 albums from a local fake Spotify with realistic latency, a rolling-window
rate limit and random 5xx, through the real client (spotipy + the shared resilience policy); then MusicBrainz
enrichment under its one-request-per-second rule, measured on a sample and extrapolated.

    .venv/bin/python bench/catalog/ingest.py                       # defaults below, ~2 min on 2 cores
    .venv/bin/python bench/catalog/ingest.py --bucket-rate 200     # client bucket above the server's limit

Work unit: 20 album ids → Get Several Albums (+ further track pages) → Get Several Tracks (50 ids per request);
then the distinct artists, 50 per request. A small thread pool runs the units; every request of every worker
takes a token from the one bucket of the credential, so the pool cannot outrun it.
"""

import argparse
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from backbeat.demo.standins import FakeCatalog, FakeMusicBrainz, FakeSpotify, FaultPlan
from integrations.musicbrainz import MusicBrainzClient
from integrations.resilience import CircuitBreaker, CircuitOpen, IntegrationError, RetryPolicy, TokenBucket
from integrations.spotify import SpotifyCatalogClient


@dataclass
class Tally:
    """What the workers collected, under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    albums: int = 0
    tracks: int = 0
    isrcs_ok: int = 0
    artists: set[str] = field(default_factory=set)
    artists_found: int = 0
    not_found: int = 0
    malformed: list[str] = field(default_factory=list)
    unit_retries: Counter[str] = field(default_factory=Counter)


def with_unit_retries(tally: Tally, label: str, work, attempts: int = 5):  # type: ignore[no-untyped-def]
    """Run a unit; if the policy gave up (breaker open, retries exhausted), wait and run it again."""
    for attempt in range(attempts):
        try:
            return work()
        except CircuitOpen as exc:
            with tally.lock:
                tally.unit_retries[f"{label}: circuit open"] += 1
            time.sleep(exc.retry_in + 0.1)
        except IntegrationError as exc:
            if attempt == attempts - 1:
                raise
            with tally.lock:
                tally.unit_retries[f"{label}: {type(exc).__name__}"] += 1
            time.sleep(2.0)
    raise RuntimeError("unreachable")


def ingest_albums(client: SpotifyCatalogClient, catalog: FakeCatalog, album_ids: list[str], tally: Tally) -> None:
    albums = client.albums(album_ids)
    track_ids = [t for a in albums.found for t in a.track_ids]
    tracks = client.tracks(track_ids)
    ok = sum(1 for t in tracks.found if t.isrc == catalog.tracks[t.id].isrc)
    with tally.lock:
        tally.albums += len(albums.found)
        tally.tracks += len(tracks.found)
        tally.isrcs_ok += ok
        tally.not_found += len(albums.not_found) + len(tracks.not_found)
        tally.malformed += [m.reason for m in albums.malformed + tracks.malformed]
        tally.artists.update(ref.id for t in tracks.found for ref in t.artists)


def ingest_artists(client: SpotifyCatalogClient, artist_ids: list[str], tally: Tally) -> None:
    artists = client.artists(artist_ids)
    with tally.lock:
        tally.artists_found += len(artists.found)
        tally.malformed += [m.reason for m in artists.malformed]


def run_spotify(args: argparse.Namespace, catalog: FakeCatalog) -> None:
    plan = FaultPlan(error_rate=args.error_rate, error_status=503, token_uses=args.token_uses, seed=args.seed)
    server = FakeSpotify(
        catalog,
        plan,
        rate_limit=(args.window_limit, 30.0),
        latency=(args.latency_min, args.latency_max),
        seed=args.seed,
    )
    with server:
        client = SpotifyCatalogClient(
            server.client_id,
            server.client_secret,
            api_url=server.api_url,
            token_url=server.token_url,
            policy=RetryPolicy(max_attempts=6),
            breaker=CircuitBreaker("spotify-bench", failure_threshold=5, cooldown=5.0),
            bucket=TokenBucket(args.bucket_rate, args.burst),
        )
        tally = Tally()
        ids = catalog.album_ids[: args.albums]
        units = [ids[i : i + 20] for i in range(0, len(ids), 20)]
        start = time.monotonic()
        with ThreadPoolExecutor(args.workers) as pool:
            for future in [
                pool.submit(with_unit_retries, tally, "albums", lambda u=u: ingest_albums(client, catalog, u, tally))
                for u in units
            ]:
                future.result()
            albums_done = time.monotonic()
            artist_ids = sorted(tally.artists)
            batches = [artist_ids[i : i + 50] for i in range(0, len(artist_ids), 50)]
            for future in [
                pool.submit(with_unit_retries, tally, "artists", lambda b=b: ingest_artists(client, b, tally))
                for b in batches
            ]:
                future.result()
        elapsed = time.monotonic() - start
        counts, statuses = server.counts(), server.statuses()
    expected_tracks = sum(len(catalog.albums[i].track_ids) for i in ids)
    stats = client.stats.snapshot()
    api = {k: v for k, v in sorted(counts.items()) if k != "token"}
    per_album = ", ".join(f"{k} {v / len(ids):.3f}" for k, v in api.items())
    server_errors = sum(v for status, v in statuses.items() if status >= 500)
    lines = [
        f"== Spotify: {len(ids):,} albums, {expected_tracks:,} tracks, {len(artist_ids):,} artists ==",
        f"fake: latency {args.latency_min * 1000:.0f}-{args.latency_max * 1000:.0f} ms, limit {args.window_limit} "
        f"requests / 30 s, {args.error_rate:.1%} random 503, a token lasts {args.token_uses} requests",
        f"client: {args.workers} workers, bucket {args.bucket_rate:g}/s with bursts of {args.burst}",
        f"total {elapsed:.1f} s (albums + tracks {albums_done - start:.1f} s, artists "
        f"{start + elapsed - albums_done:.1f} s) → {len(ids) / elapsed:.1f} albums/s, "
        f"{expected_tracks / elapsed:.0f} tracks/s",
        f"HTTP requests {sum(counts.values()):,} ({', '.join(f'{k} {v:,}' for k, v in sorted(counts.items()))})",
        f"API requests per album {sum(api.values()) / len(ids):.3f} ({per_album})",
        f"statuses {dict(sorted(statuses.items()))}: 429 {statuses.get(429, 0)}, 5xx {server_errors}, "
        f"401 {statuses.get(401, 0)}",
        f"client: {client.stats.retries} retries, {stats['refreshes']} token refreshes, slept {stats['slept_s']} s "
        f"in back-off and Retry-After, bucket waits {client.bucket.waited:.1f} s (summed over workers), "
        f"breaker opened {client.breaker.times_opened}x, unit re-runs {dict(tally.unit_retries) or 0}",
        f"outcomes {stats['outcomes']}",
        f"complete: albums {tally.albums:,}/{len(ids):,}, tracks {tally.tracks:,}/{expected_tracks:,} "
        f"(ISRC as in the catalog {tally.isrcs_ok:,}), artists {tally.artists_found:,}/{len(artist_ids):,}, "
        f"not found {tally.not_found}, malformed {len(tally.malformed)}",
    ]
    print("\n" + "\n".join(lines))


def run_musicbrainz(args: argparse.Namespace, catalog: FakeCatalog) -> None:
    tracks = [catalog.tracks[t] for a in catalog.album_ids[: args.albums] for t in catalog.albums[a].track_ids]
    sample = tracks[: args.mb_sample]
    with FakeMusicBrainz(catalog, latency=(args.latency_min, args.latency_max), seed=args.seed) as server:
        client = MusicBrainzClient("Backbeat-bench", "0.1.0", "bench@backbeat.example", base_url=server.api_url)
        start = time.monotonic()
        found = [client.recordings_by_isrc(t.isrc) for t in sample]
        elapsed = time.monotonic() - start
        statuses = server.statuses()
        times = server.accepted_times()
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    with_works = sum(1 for recs in found if any(r.works and r.works[0].iswcs for r in recs))
    per_isrc = (times[-1] - times[0]) / (len(times) - 1)  # steady state: the first request does not wait
    lines = [
        f"== MusicBrainz: a sample of {len(sample)} ISRCs at ≤ 1 request/s (one /isrc lookup each, with works) ==",
        f"{elapsed:.1f} s, {per_isrc:.3f} s per ISRC in steady state ({1 / per_isrc:.2f} ISRCs/s); statuses "
        f"{dict(statuses)}; smallest gap between requests at the server {min(gaps):.3f} s",
        f"found {sum(1 for f in found if f)}/{len(sample)}, with an ISWC {with_works}",
        f"extrapolated to the {len(tracks):,} ISRCs of {args.albums:,} albums: {len(tracks) * per_isrc / 3600:.1f} h "
        f"(the floor at exactly 1 request/s: {len(tracks) / 3600:.1f} h)",
    ]
    print("\n" + "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--albums", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--latency-min", type=float, default=0.030)
    parser.add_argument("--latency-max", type=float, default=0.080)
    parser.add_argument("--window-limit", type=int, default=900, help="fake's limit: requests per rolling 30 s")
    parser.add_argument("--bucket-rate", type=float, default=27.0, help="client token bucket, requests/s")
    parser.add_argument("--burst", type=int, default=10)
    parser.add_argument("--error-rate", type=float, default=0.01, help="share of API requests answering 503")
    parser.add_argument("--token-uses", type=int, default=1000, help="API requests per access token")
    parser.add_argument("--mb-sample", type=int, default=15, help="ISRCs looked up in MusicBrainz (0: skip)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    start = time.monotonic()
    catalog = FakeCatalog.generate(args.albums, seed=args.seed)
    print(
        f"catalog generated in {time.monotonic() - start:.1f} s: {len(catalog.albums):,} albums, "
        f"{len(catalog.tracks):,} tracks, {len(catalog.artists):,} artists"
    )
    run_spotify(args, catalog)
    if args.mb_sample:
        run_musicbrainz(args, catalog)


if __name__ == "__main__":
    main()
