"""Placing Icecast audio in time from when its PCM arrives: connect bursts and station clock drift.

The chunker is fed synthetic PCM (a sample counter, 8 kHz mono, so every sample can be checked) with
arrival times computed from a simulated station, so the true air time of every sample is known; one test
goes end to end against the local Icecast server with a connect burst.
"""

from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import soundfile as sf
from support_modules import load_support_module

from integrations.radio import CaptureConfig
from integrations.radio.chunker import Chunker
from integrations.radio.clock import ArrivalClock, ClockSettings, correction
from integrations.retry import Backoff

RATE = 8000
CHUNK = 2.0
READ = 0.1  # seconds of PCM per decoder read
LATENCY = 0.02  # the smallest network + decoder delay
CONNECT = 1_700_000_000.37  # wall time of the connection (not on a boundary)
SETTINGS = ClockSettings(settle_seconds=3.0, settle_quiet_seconds=0.3, tolerance=0.5, window_seconds=5.0)


@dataclass
class Station:
    """A station whose first sample aired `burst` seconds before we connected, sending `speed` x real time."""

    burst: float = 0.0
    connect: float = CONNECT
    speed: float = 1.0  # its sample clock against ours: 1.01 sends 1 % more samples per second
    jitter: random.Random | None = None  # random extra delays on live reads, and now and then a stall

    def air(self, frame: float) -> float:
        return self.connect - self.burst + frame / (RATE * self.speed)


def run(chunker: Chunker, station: Station, seconds: float) -> int:
    """Feed `seconds` of the station's audio as one run of timed reads; returns the frames fed."""
    chunker.begin_from_arrivals(SETTINGS, first_bytes_at=station.connect + LATENCY)
    per_read, total, arrived = round(READ * RATE), round(seconds * RATE), -math.inf
    for first in range(0, total, per_read):
        last = min(first + per_read, total) - 1
        # Available at the server when aired, or at the connection for the burst; then network and decoding.
        due = max(station.air(last), station.connect) + LATENCY
        if station.jitter is not None and station.air(last) > station.connect:  # (a burst comes at line speed)
            due += station.jitter.expovariate(1 / 0.08)
            if station.jitter.random() < 0.005:
                due += 2.0  # a stall: this read and the ones queued behind it come late, then all at once
        arrived = max(due, arrived + 0.002)  # reads come in order, each takes the decoder a little
        pcm = (np.arange(first, last + 1) % 30_000).astype("<i2").tobytes()
        chunker.feed(pcm, arrived_at=arrived)
    chunker.end()
    return total


def chunks(chunker: Chunker) -> list[tuple[float, int, np.ndarray]]:
    """(exact start label, frames, samples) of every chunk written, in order."""
    out = []
    for path, start in zip(chunker.written, chunker.starts, strict=True):
        data, rate = sf.read(path, dtype="int16")
        assert rate == RATE
        out.append((start, len(data), data))
    return out


def check_run(chunker: Chunker, station: Station, fed: int, bound: float) -> list[float]:
    """Every sample once and in order; names ascending; chunks aligned and within `bound` of the truth.

    Returns each chunk's label error (label minus the air time of its first sample)."""
    written = chunks(chunker)
    samples = np.concatenate([c[2] for c in written])
    assert len(samples) == fed, "samples dropped or duplicated"
    assert np.array_equal(samples, (np.arange(fed) % 30_000).astype(np.int16))
    names = [p.name for p in chunker.written]
    assert names == sorted(names) and len(set(names)) == len(names), "chunk names went backwards or repeated"
    moved = {round(at, 6): amount for at, amount in chunker.corrections}
    errors, frame = [], 0
    for n, (label, frames, _) in enumerate(written):
        errors.append(label - station.air(frame))
        assert abs(errors[-1]) <= bound, f"chunk {n}: label {errors[-1]:+.3f} s off the truth"
        assert frames / RATE <= CHUNK + SETTINGS.tolerance + 1 / RATE
        if n:
            # On a boundary, to the nearest sample.
            assert min(label % CHUNK, -label % CHUNK) <= 0.6 / RATE, f"chunk {n} starts off a boundary"
            previous_end = written[n - 1][0] + written[n - 1][1] / RATE
            step = label - previous_end  # a hole (> 0) or an overlap (< 0) in the time line
            # The time line only jumps where a correction was made, by exactly that correction.
            assert step == pytest.approx(moved.pop(round(label, 6), 0.0), abs=1.5 / RATE), f"chunk {n}"
            assert step >= -SETTINGS.tolerance - 1 / RATE
        frame += frames
    assert moved == {}, "every correction falls on the start of a chunk"
    return errors


# ---- The estimator -----------------------------------------------------------------------------------------


def test_the_estimate_is_the_windowed_minimum_and_settles_after_a_burst() -> None:
    clock = ArrivalClock(RATE, ClockSettings(settle_seconds=3.0, settle_quiet_seconds=0.3, window_seconds=10.0))
    clock.observe(100.0, 800)  # 0.1 s by t=100: the first sample aired at 99.9001 at the latest
    assert clock.estimate() == pytest.approx(100.0 - 799 / RATE) and not clock.settled()
    for k in range(2, 41):  # a 4 s burst, read by read within 0.1 s...
        pause = 0.2 if k >= 20 else 0.0  # ...but for a network round trip's pause in the middle
        clock.observe(100.0 + k * 0.0025 + pause, 800 * k)
        assert not clock.settled(), "the last 0.3 s of audio came faster than real time"
    for k in range(41, 44):  # then real time: no new minimum, and 0.3 s of audio at that pace settle it
        assert not clock.settled()
        clock.observe(100.3 + (k - 40) * 0.1, 800 * k)
    assert clock.estimate() == pytest.approx(100.3 - (32_000 - 1) / RATE)
    assert clock.settled()
    clock.observe(111.0, 800 * 44)  # the burst is out of the 10 s window now
    assert clock.estimate() == pytest.approx(111.0 - (800 * 44 - 1) / RATE)


def test_without_a_burst_the_hold_ends_once_the_decoder_has_drained() -> None:
    # The decoder's probe: 0.5 s of audio comes out at once, 0.5 s after the first bytes; then real time.
    clock = ArrivalClock(RATE, ClockSettings(settle_quiet_seconds=0.3), first_bytes_at=100.0)
    for k in range(1, 6):
        clock.observe(100.5 + k * 0.001, 800 * k)
        assert not clock.settled(), "the decoder may still be handing out its first output"
    clock.observe(100.61, 800 * 6)
    assert clock.settled(), "no more audio than seconds since the first bytes: there was no burst"
    assert clock.estimate() == pytest.approx(100.501 + 0.004 - (4000 - 1) / RATE)
    # The same with a 1 s burst: more audio than seconds since the first bytes, so the hold goes on.
    burst = ArrivalClock(RATE, ClockSettings(settle_quiet_seconds=0.3), first_bytes_at=100.0)
    for k in range(1, 16):
        burst.observe(100.5 + k * 0.001, 800 * k)
    burst.observe(100.61, 800 * 16)
    assert not burst.settled()


def test_the_settle_hold_ends_at_its_limit_while_the_estimate_keeps_falling() -> None:
    clock = ArrivalClock(RATE, ClockSettings(settle_seconds=1.0, settle_quiet_seconds=0.3))
    for k in range(1, 12):  # twice real time, for 1.1 s
        clock.observe(k * 0.1, 1600 * k)
        assert clock.settled() == (k * 0.1 - 0.1 >= 1.0 - 1e-9)


def test_corrections_are_capped_at_the_tolerance_both_ways() -> None:
    assert correction(100.0, 99.7, 0.5) == 0.0
    assert correction(100.0, 100.4, 0.5) == 0.0
    assert correction(100.0, 98.0, 0.5) == -0.5  # labels late: earlier by the tolerance at most
    assert correction(100.0, 101.25, 0.5) == 0.5  # labels early (slow clock or a congested link): likewise


# ---- The chunker with synthetic stations -------------------------------------------------------------------


def test_a_connect_burst_is_placed_where_it_aired(tmp_path: Path) -> None:
    chunker = Chunker("burst-fm", tmp_path, CHUNK, RATE, 1)
    station = Station(burst=4.0)
    fed = run(chunker, station, seconds=30)
    errors = check_run(chunker, station, fed, bound=0.1)
    assert chunker.corrections == []
    assert chunker.run_anchor == pytest.approx(CONNECT - 4.0, abs=0.1)
    # Named from the first bytes' arrival instead, every chunk would read about 4 s late.
    assert max(abs(e) for e in errors) < 0.1 and len(errors) >= 15


@pytest.mark.parametrize("speed", [1.01, 0.99], ids=["station-fast", "station-slow"])
def test_station_clock_drift_is_corrected_at_chunk_boundaries(
    tmp_path: Path, speed: float, caplog: pytest.LogCaptureFixture
) -> None:
    chunker = Chunker("drift-fm", tmp_path, CHUNK, RATE, 1)
    station = Station(speed=speed)
    with caplog.at_level(logging.INFO, logger="integrations.radio.chunker"):
        fed = run(chunker, station, seconds=180)  # 1.8 s of drift uncorrected
    errors = check_run(chunker, station, fed, bound=SETTINGS.tolerance + READ)
    amounts = [amount for _, amount in chunker.corrections]
    assert len(amounts) >= 3
    # More samples than seconds: the labels run late and move earlier; fewer: later. A step each time.
    assert all(a == pytest.approx(-SETTINGS.tolerance if speed > 1 else SETTINGS.tolerance) for a in amounts)
    assert abs(sum(amounts) + (speed - 1) / speed * 180) < SETTINGS.tolerance + READ
    assert abs(errors[-1]) < SETTINGS.tolerance + READ
    logged = [r.getMessage() for r in caplog.records if "clock correction" in r.getMessage()]
    assert len(logged) == len(amounts) and all("drift-fm" in m for m in logged)
    # The drift logged is the station's: +/-1 % is +/-10,000 ppm (roughly: the first estimate includes latency).
    ppm = float(logged[-1].split("station clock ")[1].split(" ppm")[0])
    assert ppm == pytest.approx((speed - 1) / speed * 1e6, rel=0.25)


def test_network_jitter_and_stalls_cause_no_correction(tmp_path: Path) -> None:
    chunker = Chunker("jitter-fm", tmp_path, CHUNK, RATE, 1)
    station = Station(burst=2.0, jitter=random.Random(7))
    fed = run(chunker, station, seconds=180)
    errors = check_run(chunker, station, fed, bound=SETTINGS.tolerance)
    assert chunker.corrections == []
    assert max(abs(e) for e in errors[len(errors) // 2 :]) < 0.1


def test_a_reconnect_burst_never_overlaps_the_audio_already_written(tmp_path: Path) -> None:
    chunker = Chunker("again-fm", tmp_path, CHUNK, RATE, 1)
    first = Station()
    run(chunker, first, seconds=10.03)
    assert chunker.audio_end_utc is not None
    previous_end, already = chunker.audio_end_utc, len(chunker.written)
    # Reconnected 0.5 s after the drop to a 3 s burst: 2.5 s of it aired before the end of what we have.
    fed = run(chunker, Station(burst=3.0, connect=previous_end + 0.5), seconds=20)
    assert chunker.run_anchor == pytest.approx(previous_end), "clamped to the end of the audio written"
    new = list(zip(chunker.written[already:], chunker.starts[already:], strict=True))
    assert sum(sf.info(str(p)).frames for p, _ in new) == fed
    assert all(start >= previous_end - 1e-6 for _, start in new)
    # The labels then work their way back to where the audio aired, a tolerance per chunk boundary.
    # 2.5 s late less 20 ms of latency: four steps leave 0.48 s, within the tolerance.
    assert [a for _, a in chunker.corrections] == pytest.approx([-0.5] * 4)


def test_a_run_that_ends_while_held_is_still_written_and_timed(tmp_path: Path) -> None:
    chunker = Chunker("short-fm", tmp_path, CHUNK, RATE, 1)
    chunker.begin_from_arrivals(SETTINGS)
    chunker.feed(np.zeros(4000, "<i2").tobytes(), arrived_at=CONNECT)
    assert chunker.written == [] and chunker.run_anchor is None
    chunker.end()
    assert chunker.run_anchor == pytest.approx(CONNECT - 3999 / RATE)
    assert sum(sf.info(str(p)).frames for p in chunker.written) == 4000


def test_a_source_given_anchor_is_kept_whatever_the_arrivals(tmp_path: Path) -> None:
    chunker = Chunker("hls-fm", tmp_path, CHUNK, RATE, 1)
    assert chunker.begin(CONNECT) == CONNECT
    for k in range(20):  # 1 s segments arriving in bursts, 3 s late
        chunker.feed(np.zeros(RATE, "<i2").tobytes(), arrived_at=CONNECT + 3 + k)
    chunker.end()
    assert chunker.starts[0] == CONNECT and chunker.corrections == []


# ---- End to end --------------------------------------------------------------------------------------------


def _load_servers() -> ModuleType:
    return load_support_module(Path(__file__).parent / "radio_support" / "servers.py", "radio_support_servers")


def test_an_icecast_connect_burst_is_labelled_when_it_aired(tmp_path: Path) -> None:
    servers = _load_servers()
    mp3 = servers.make_mp3(tmp_path, seconds=8).read_bytes()
    landing = tmp_path / "landing"
    config = CaptureConfig(chunk_seconds=CHUNK, backoff=Backoff(base=0.2, factor=2.0, maximum=1.0))
    with servers.RadioServer() as server:
        # The burst, 3 s of live audio, then the end of the stream: stopped once the capture reconnects (so
        # it has read everything), however long a busy machine takes to get there.
        plan = servers.StreamPlan(mp3, burst_seconds=4.0, end_after=3.0)
        server.mounts["/burst.mp3"] = plan
        result = servers.capture_until(
            lambda: len(plan.requests) >= 2, "burst-fm", f"{server.url}/burst.mp3", landing, config=config
        )

    assert result.error is None and result.chunks
    first = result.chunks[0]
    duration = sf.info(str(first)).duration
    named = datetime.strptime(first.stem.split("_")[1], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    # The first chunk ends on a boundary, so its exact start is that boundary minus its duration.
    start = math.ceil((named + duration - 1e-3) / CHUNK) * CHUNK - duration
    connected = plan.requests[0]
    # Within a few tenths of a second on a quiet machine; labelled from the arrival of the first bytes instead,
    # it would be 4 s off. The bound is generous: a busy machine can end the settling hold early, and the
    # labels then reach the truth only over the next chunk boundaries (the synthetic tests above are exact).
    assert abs(start - (connected - 4.0)) < 2.0, f"first sample labelled {start - connected:+.2f} s from connect"
    # All the audio sent, burst included, is in the chunks written before the reconnect.
    sent_seconds = plan.stream_bytes[0] / servers.MP3_BYTES_PER_SECOND
    received = [p for p in result.chunks if p.stat().st_mtime < plan.requests[1]]
    assert abs(sum(sf.info(str(p)).duration for p in received) - sent_seconds) < 0.2
