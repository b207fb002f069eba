"""Radio capture against local stream servers: drops, 503s, HLS with a missing segment, many stations, SIGTERM.

The servers pace audio in real time, so chunk names can be checked against the wall clock; chunk lengths are
2 s to keep the file fast. A busy machine must not fail these tests, only slow them: captures run until an
event at the server (`servers.capture_until`), waits are asserted from the delays the backoff chose and as
lower bounds (a wait never ends early), times as orderings (a gap starts before the request that ends it),
and the few bounds left on wall-clock lateness are generous (5x or more what a quiet machine needs). The
exact placement of audio in time is tested without a clock in test_capture_clock.py.
"""

from __future__ import annotations

import math
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import soundfile as sf
from click.testing import CliRunner
from support_modules import load_support_module

from backbeat.airplay.landing import list_landing, parse_chunk_name
from backbeat.commands.capture import capture_all
from integrations.radio import CaptureConfig
from integrations.radio.chunker import chunk_name
from integrations.radio.gaps import read_gaps
from integrations.radio.hls import MasterPlaylist, MediaPlaylist, parse_playlist
from integrations.radio.icy import IcyStripper
from integrations.retry import Backoff, retry

servers = load_support_module(Path(__file__).parent / "radio_support" / "servers.py", "radio_support_servers")
CHUNK = 2.0
FAST = CaptureConfig(chunk_seconds=CHUNK, backoff=Backoff(base=0.2, factor=2.0, maximum=1.0), stable_seconds=60)
SAMPLE = 1 / 44100
BYTES_PER_SECOND = servers.MP3_BYTES_PER_SECOND
# Generous bound on how late an event may come on a busy machine (a quiet one needs well under 0.5 s).
LATE = 2.5


@dataclass(frozen=True)
class RecordingBackoff(Backoff):
    """A backoff that remembers every delay it chose, so the waits can be checked without a clock."""

    chosen: list[float] = field(default_factory=list, compare=False)

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        chosen = super().delay(attempt, rng)
        self.chosen.append(chosen)
        return chosen


@pytest.fixture(scope="module")
def mp3(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return servers.make_mp3(tmp_path_factory.mktemp("mp3"), seconds=8).read_bytes()


def chunks_in(landing: Path) -> list[tuple[datetime, float, Path]]:
    """(start from the name, decoded duration, path) of every chunk the sensor would see, in time order."""
    found = []
    for file in list_landing(landing):
        chunk = parse_chunk_name(file.path)
        found.append((chunk.start_utc.replace(tzinfo=UTC), sf.info(str(file.path)).duration, file.path))
    return sorted(found)


def assert_no_partials(landing: Path) -> None:
    leftovers = [p.name for p in landing.rglob("*") if p.name.endswith(".part")]
    assert leftovers == []


def assert_chunks_consistent(chunks: list[tuple[datetime, float, Path]]) -> None:
    """Full chunks start on a chunk boundary; no chunk is longer than a chunk or overlaps the next."""
    for (start, duration, path), following in zip(chunks, [*chunks[1:], None], strict=True):
        assert 0 < duration <= CHUNK + SAMPLE, path.name
        if abs(duration - CHUNK) < SAMPLE:
            assert start.timestamp() % CHUNK == 0, f"{path.name}: a full chunk must start on a boundary"
        if following is not None:
            # Names are truncated to the second, so a start can read up to 1 s early.
            assert start.timestamp() + duration <= following[0].timestamp() + 1, f"{path.name} overlaps the next"


# ---- Pure pieces -----------------------------------------------------------------------------------------


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    backoff = Backoff(base=1.0, factor=2.0, maximum=8.0)
    rng = random.Random(1)
    for attempt, step in enumerate([1.0, 2.0, 4.0, 8.0, 8.0, 8.0]):
        delays = [backoff.delay(attempt, rng) for _ in range(200)]
        assert step / 2 <= min(delays) and max(delays) <= step
        assert max(delays) - min(delays) > step / 4  # jittered, not constant
    assert backoff.delay(10_000, rng) <= 8.0


def test_retry_retries_then_gives_the_last_error() -> None:
    calls, sleeps = [], []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("down")
        return "ok"

    assert retry(flaky, retry_on=(ConnectionError,), attempts=5, sleep=sleeps.append) == "ok"
    assert len(calls) == 3 and len(sleeps) == 2 and sleeps[0] <= 1.0 < sleeps[1] * 2
    with pytest.raises(ConnectionError):
        retry(
            lambda: (_ for _ in ()).throw(ConnectionError("x")),
            retry_on=(ConnectionError,),
            attempts=2,
            sleep=sleeps.append,
        )


def test_icy_metadata_is_stripped_whatever_the_block_sizes() -> None:
    audio = (bytes(range(256)) * 40)[:10_000]  # metadata follows every full 1000 audio bytes
    meta = b"StreamTitle='A - B';"
    padded = bytes([2]) + meta.ljust(32, b"\0")
    stream = b"".join(audio[i : i + 1000] + padded for i in range(0, len(audio), 1000))
    stripper, out, rng, i = IcyStripper(1000), bytearray(), random.Random(3), 0
    while i < len(stream):
        step = rng.randint(1, 700)
        out += stripper.feed(stream[i : i + step])
        i += step
    assert bytes(out) == audio and stripper.title == "A - B"


def test_hls_playlists_parse() -> None:
    master = parse_playlist(
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=64000\nlo/a.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=128000\nhi/a.m3u8\n",
        "http://h/radio/master.m3u8",
    )
    assert isinstance(master, MasterPlaylist) and master.best().uri == "http://h/radio/hi/a.m3u8"
    media = parse_playlist(
        "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:41\n"
        + "".join(f"#EXTINF:6.0,\ns{n}.aac\n" for n in range(41, 46))
        + "#EXT-X-PROGRAM-DATE-TIME:2024-05-01T12:00:30Z\n#EXTINF:5.5,\ns46.aac\n",
        "http://h/radio/a.m3u8",
    )
    assert isinstance(media, MediaPlaylist) and not media.ended
    assert [s.sequence for s in media.segments] == list(range(41, 47))
    assert media.segments[-1].program_date_time == datetime(2024, 5, 1, 12, 0, 30, tzinfo=UTC)
    # The newest segments covering three target durations (18 s): 5.5 + 6 + 6 falls short, so four of them.
    assert media.live_start() == 2


def test_chunk_names_match_the_landing_pattern() -> None:
    name = chunk_name("radio-1", datetime(2024, 5, 1, 12, 0, 29, 999_999, tzinfo=UTC).timestamp())
    assert name == "radio-1_20240501T120030Z.flac"  # within a millisecond of the boundary: the boundary
    parsed = parse_chunk_name(Path(chunk_name("radio-1", datetime(2024, 5, 1, 12, 0, 30, 400_000).timestamp())))
    assert parsed.station_id == "radio-1" and parsed.fmt == "flac"


# ---- Icecast ---------------------------------------------------------------------------------------------


def test_dropped_stream_reconnects_records_the_gap_and_names_chunks_by_utc_start(mp3: bytes, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    with servers.RadioServer() as server:
        # The first connection is reset after 3 s; the second ends cleanly after 3 s, so all its audio is read
        # before the capture reconnects a third time, and is stopped then, however long all that took.
        plan = servers.StreamPlan(mp3, drop_after=3.0, end_after=3.0)
        server.mounts["/live.mp3"] = plan
        began = time.time()
        result = servers.capture_until(
            lambda: len(plan.requests) >= 3, "drop-fm", f"{server.url}/live.mp3", landing, config=FAST
        )
        ended = time.time()

    assert result.error is None and plan.streams_opened >= 2
    gap, closed, *_ = read_gaps(landing, "drop-fm")
    assert gap.reason == "connection reset" and gap.attempts == 0
    assert closed.reason.startswith("server closed the stream")
    first, second, third = plan.requests[:3]
    drop_time = first + 3.0
    # The gap runs from the end of the first connection's audio (about the drop) to the first sample of the
    # second (which cannot have aired before it was requested, nor much later on a quiet machine). Labels may
    # lead the wall clock by up to the clock tolerance (see below).
    assert first < gap.start_utc.timestamp() < second + FAST.clock_tolerance
    assert abs(gap.start_utc.timestamp() - drop_time) < LATE
    assert second - 0.05 <= gap.end_utc.timestamp() < second + LATE
    assert 0 < gap.seconds < 2 * LATE

    chunks = chunks_in(landing)
    assert [c[2] for c in chunks] == sorted(result.chunks)
    assert_chunks_consistent(chunks)
    # The first connection's chunks were all written before the second connection brought audio (the gap's end).
    before = [c for c in chunks if c[2].stat().st_mtime < gap.end_utc.timestamp()]
    after = chunks[len(before) :]
    assert before and after and all(c[2].stat().st_mtime >= gap.end_utc.timestamp() for c in after)
    # The audio before the drop ends at the gap's start; the audio after it is named from the gap's end (one
    # second later if the previous chunk already holds that second's name).
    assert abs(before[-1][0].timestamp() + before[-1][1] - gap.start_utc.timestamp()) < 1.0
    assert 0 <= after[0][0].timestamp() - gap.end_utc.replace(microsecond=0).timestamp() <= 1
    # No chunk is written before its last sample arrived: name + duration is at most its write time (the name
    # may read up to 1 s early by truncation; labels may lead the wall clock by up to the clock tolerance).
    # Writing lags decoding, by more on a busy machine: that side is only bounded generously.
    for start, duration, path in chunks:
        assert -1.0 - FAST.clock_tolerance < path.stat().st_mtime - (start.timestamp() + duration) < 4 * LATE, path.name
    # Labels come from the arrival estimate (clock.py), which may run ahead of the wall clock by up to the
    # tolerance until a boundary corrects it (a first read held up by a busy machine biases the anchor late). A
    # chunk whose second is already taken by the chunk before it is named one second later (see above), so the
    # last name may lead the end by that second too.
    assert began - 1 <= chunks[0][0].timestamp()
    assert chunks[-1][0].timestamp() <= ended + FAST.clock_tolerance + 1
    # All the audio the two connections sent, minus at most a frame or two cut off by the reset, is in the
    # chunks written before the third connection.
    sent_seconds = (plan.stream_bytes[0] + plan.stream_bytes[1]) / BYTES_PER_SECOND
    received = sum(c[1] for c in chunks if c[2].stat().st_mtime < third)
    assert sent_seconds - 0.4 <= received <= sent_seconds + 0.1
    assert_no_partials(landing)


def test_503s_back_off_then_capture_with_unrequested_icy_metadata(mp3: bytes, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    backoff = RecordingBackoff(base=0.2, factor=2.0, maximum=1.0)
    with servers.RadioServer() as server:
        # Three 503s, then a stream that ends cleanly after 3 s: its audio is all read before the reconnect, so
        # it can be accounted for exactly (audio still in flight when a capture is stopped is not).
        plan = servers.StreamPlan(mp3, fail_first=3, metaint=4000, end_after=3.0)
        server.mounts["/flaky.mp3"] = plan
        began = time.time()
        result = servers.capture_until(
            lambda: len(plan.requests) >= 5,
            "flaky-fm",
            f"{server.url}/flaky.mp3",
            landing,
            config=replace(FAST, backoff=backoff),
        )

    assert plan.streams_opened >= 1 and len(plan.requests) >= 5, "three 503s, then a stream, then a reconnect"
    # One delay per 503, growing with jitter (the schedule itself is tested above), and each one waited out:
    # the next request reached the server no sooner (a wait can run long on a busy machine, never short).
    waits = [b - a for a, b in zip(plan.requests, plan.requests[1:4], strict=False)]
    for attempt, (chosen, wait) in enumerate(zip(backoff.chosen[:3], waits, strict=True)):
        step = backoff.step(attempt)
        assert step / 2 <= chosen <= step, (attempt, backoff.chosen)
        assert wait >= chosen - 0.01, (attempt, waits, backoff.chosen)
    outage, closed, *_ = result.gaps
    assert outage.reason == "HTTP 503 (x3)" and outage.attempts == 3
    assert closed.reason.startswith("server closed the stream")
    # The outage starts when the capture does (before its first request) and ends with the audio of the
    # request that succeeded, which cannot have aired before it was requested.
    assert began - 1e-3 <= outage.start_utc.timestamp() <= plan.requests[0]
    assert plan.requests[3] - 0.05 <= outage.end_utc.timestamp() < plan.requests[3] + LATE
    chunks = chunks_in(landing)
    assert_chunks_consistent(chunks)
    # The metadata blocks were cut out: every byte of audio sent decodes (a corrupted stream loses frames).
    streamed = [c for c in chunks if c[2].stat().st_mtime < plan.requests[4]]  # written before the reconnect
    assert abs(sum(c[1] for c in streamed) - plan.stream_bytes[0] / BYTES_PER_SECOND) < 0.1
    assert_no_partials(landing)


# ---- HLS -------------------------------------------------------------------------------------------------


def test_hls_follows_the_live_playlist_and_skips_a_missing_segment(tmp_path: Path) -> None:
    media = tmp_path / "hls"
    media.mkdir()
    segments = servers.make_hls(media, seconds=8, segment_seconds=1)
    landing = tmp_path / "landing"
    with servers.RadioServer() as server:
        server.hls = plan = servers.HlsPlan(media, segments, initial=3, window=3, missing=frozenset({4}))
        # Stop once the ended playlist was served to a reconnect: every segment has been read by then.
        result = servers.capture_until(
            lambda: plan.ended_served >= 2, "hls-fm", f"{server.url}/hls/master.m3u8", landing, config=FAST
        )
        requested = list(plan.requests)

    assert "low.m3u8" not in requested, "the highest-bandwidth variant is followed"
    assert requested.count("live.m3u8") >= 4, "the live playlist is re-polled"
    chunks = chunks_in(landing)
    assert_chunks_consistent(chunks)
    expected = sum(d for n, (_, d) in enumerate(segments) if n != 4)
    assert abs(sum(c[1] for c in chunks) - expected) < 0.15
    missing, *after_end = read_gaps(landing, "hls-fm")
    assert missing.reason == "HTTP 404 on HLS segment 4"
    assert abs(missing.seconds - segments[4][1]) < 0.1, "the gap is exactly the skipped segment"
    # The stream then ended (#EXT-X-ENDLIST); that silence until the stop is a gap too, not hidden.
    assert [g.reason.split(";")[0] for g in after_end] == ["HLS playlist ended (#EXT-X-ENDLIST)"]
    assert result.error is None
    assert_no_partials(landing)


# ---- Many stations ---------------------------------------------------------------------------------------


def test_capture_all_isolates_a_bad_station_and_bounds_concurrency(mp3: bytes, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    with servers.RadioServer() as server:
        for mount in ("/a.mp3", "/b.mp3", "/off.mp3"):
            server.mounts[mount] = servers.StreamPlan(mp3)
        stations = tmp_path / "stations.csv"
        stations.write_text(
            "station_id,name,stream_url,active,timezone\n"
            f"bad-fm,Bad,{servers.unused_port_url()},true,Europe/Paris\n"
            f"good-a,Good A,{server.url}/a.mp3,true,Europe/Paris\n"
            f"good-b,Good B,{server.url}/b.mp3,True,Europe/Paris\n"
            f"off-fm,Off,{server.url}/off.mp3,false,Europe/Paris\n"
        )
        began = time.time()
        outcome = CliRunner().invoke(
            capture_all,
            [
                "--stations",
                str(stations),
                "--max-concurrent",
                "2",
                "--duration",
                "2.5",
                "--landing",
                str(landing),
                "--chunk-seconds",
                str(CHUNK),
                "--warehouse-url",
                f"duckdb:///{tmp_path / 'w.duckdb'}",
            ],
        )
        a, b, off = (server.mounts[m] for m in ("/a.mp3", "/b.mp3", "/off.mp3"))

    assert outcome.exit_code == 1, outcome.output  # one station captured nothing: cron must notice
    assert "no audio captured from: bad-fm" in outcome.output
    by_station = {c[2].name.split("_")[0]: c for c in chunks_in(landing)}
    assert set(by_station) == {"good-a", "good-b"}
    [bad_gap] = read_gaps(landing, "bad-fm")
    assert bad_gap.reason.startswith("connection refused (x") and bad_gap.attempts >= 2
    assert off.requests == []
    # Two slots: bad-fm and good-a start together; good-b waits until bad-fm's 2.5 s are over. No slot can
    # free before 2.5 s (each station runs that long), so these orderings say who waited, on any machine.
    assert a.requests[0] - began < 2.5, "good-a had a slot from the start"
    assert b.requests[0] - began >= 2.5 - 0.05, "good-b waited for a slot"
    assert_no_partials(landing)


# ---- Stopping --------------------------------------------------------------------------------------------


def test_sigterm_finishes_a_short_last_chunk_even_while_the_stream_stalls(mp3: bytes, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    with servers.RadioServer() as server:
        plan = servers.StreamPlan(mp3)
        server.mounts["/stall.mp3"] = plan
        command = (
            "import sys; from backbeat.commands.capture import capture; capture.main(sys.argv[1:], prog_name='capture')"
        )
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                command,
                "stall-fm",
                f"{server.url}/stall.mp3",
                "--landing",
                str(landing),
                "--chunk-seconds",
                str(CHUNK),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).parents[2],
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            # However long the child takes to start, wait until it has written a chunk: it is capturing.
            assert servers.wait_for(lambda: bool(list_landing(landing)), timeout=120), "no chunk from the child"
            # Then the stream stalls 1 s into a chunk (odd seconds are mid-chunk for 2 s chunks), soon.
            stall_at = math.floor(time.time() + 1.5)
            stall_at += 1 - stall_at % 2
            plan.stall_at = stall_at
            assert servers.wait_for(lambda: time.time() > stall_at + 1.0, timeout=15)
            stopped_at = time.time()
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
        exited_after = time.time() - stopped_at

    assert process.returncode == 0, output.decode()
    # Waiting for the stalled stream's read timeout (15 s) would fail this; stopping takes about 1 s.
    assert exited_after < 10.0, "a stop must not wait for the stalled stream's read timeout"
    chunks = chunks_in(landing)
    assert_chunks_consistent(chunks)
    last_start, last_duration, _ = chunks[-1]
    # The chunk in progress when the audio stopped is finished short (about 1 s: it started on the boundary
    # before the stall), not dropped or padded: its audio ends at the stall, and every byte sent is in a chunk.
    assert 0.2 < last_duration < CHUNK - 0.2
    assert last_start.timestamp() % CHUNK == 0
    assert abs(last_start.timestamp() + last_duration - stall_at) < 1.0
    sent_seconds = plan.audio_bytes_sent / BYTES_PER_SECOND
    assert abs(sum(c[1] for c in chunks) - sent_seconds) < 0.1
    assert read_gaps(landing, "stall-fm") == []  # a clean stop is not an outage
    assert_no_partials(landing)
