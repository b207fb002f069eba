"""Capturing one station until told to stop: connect, decode, chunk; on failure reconnect with backoff and
log the gap, so the landing folder shows exactly which air time is missing and why.

Per connection, three threads: a feeder moves stream bytes into ffmpeg, this thread turns ffmpeg's PCM into
chunks, and a watcher unblocks the feeder when a stop comes while the network is silent.

A capture that continues an earlier one (`Resume`: a restarted service) starts with the air time since the
earlier audio ended as an open outage, so it is logged as a gap once audio flows, and never places audio
before that end. `CaptureEvents` tells a supervisor what happens as it happens.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from integrations.radio.chunker import Chunker
from integrations.radio.clock import ClockSettings
from integrations.radio.decoder import Decoder, DecoderError
from integrations.radio.gaps import Gap, record_gap, utc
from integrations.radio.stream import Connection, StreamError, StreamSource
from integrations.retry import Backoff

log = logging.getLogger(__name__)
MIN_GAP_SECONDS = 0.05  # a resumed HLS stream can continue exactly; that is no gap


@dataclass(frozen=True)
class CaptureConfig:
    chunk_seconds: float = 30.0
    sample_rate: int = 44100
    channels: int = 2
    backoff: Backoff = Backoff(base=1.0, factor=2.0, maximum=60.0)
    stable_seconds: float = 30.0  # a connection that lasted this long reconnects at once and resets the backoff
    connect_timeout: float = 10.0
    read_timeout: float = 15.0  # no bytes for this long counts as a dropped stream
    # Icecast/SHOUTcast (no source-given time): placing the audio from when the PCM arrives (`clock.py`).
    settle_seconds: float = 3.0  # hold a connection's first PCM at most this long, until a connect burst is over
    settle_quiet_seconds: float = 0.3  # ...or until this much audio has arrived at real-time pace
    clock_tolerance: float = 0.5  # labels more than this off the arrival estimate move at the next boundary
    clock_window_seconds: float = 60.0  # wall time the arrival estimate is the minimum over

    @property
    def clock(self) -> ClockSettings:
        return ClockSettings(
            self.settle_seconds, self.settle_quiet_seconds, self.clock_tolerance, self.clock_window_seconds
        )


@dataclass(frozen=True)
class Resume:
    """An earlier capture of the station wrote audio up to `after` (epoch seconds); `reason` names the gap."""

    after: float
    reason: str = "capture restarted"


@dataclass(frozen=True)
class CaptureEvents:
    """Callbacks from a running capture (called from its thread; they must be quick and must not raise).

    `on_state(state, detail)`: "connecting", "running" (audio is being recorded) or "reconnecting" (with the
    reason the stream was lost or the connection failed). `on_chunk(path, start, end)`: a chunk is in place.
    `on_gap(gap)`: a gap was logged.
    """

    on_state: Callable[[str, str | None], None] | None = None
    on_chunk: Callable[[Path, float, float], None] | None = None
    on_gap: Callable[[Gap], None] | None = None

    def state(self, state: str, detail: str | None = None) -> None:
        if self.on_state is not None:
            self.on_state(state, detail)


@dataclass
class CaptureResult:
    """What one station's capture produced."""

    station_id: str
    chunks: list[Path] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    connections: int = 0
    started: float = 0.0  # time.monotonic() at start and finish, to see how captures overlapped
    finished: float = 0.0
    error: str | None = None  # an unexpected failure that ended this station's capture early
    audio_end_utc: float | None = None  # end of the last audio written (epoch seconds), this capture's or before


@dataclass
class _Outage:
    """No audio since `start`: what ended it (None at capture start) and each failed reconnect."""

    start: float
    cause: str | None = None
    failures: list[str] = field(default_factory=list)

    @property
    def reason(self) -> str:
        parts = [self.cause] if self.cause else []
        parts += [f"{reason} (x{count})" if count > 1 else reason for reason, count in Counter(self.failures).items()]
        return "; then ".join(parts) if parts else "unknown"


def capture_station(
    station_id: str,
    url: str,
    landing: Path,
    *,
    config: CaptureConfig = CaptureConfig(),
    stop: threading.Event | None = None,
    duration: float | None = None,
    rng: random.Random | None = None,
    resume: Resume | None = None,
    events: CaptureEvents = CaptureEvents(),
) -> CaptureResult:
    """Record `url` into `landing` until `stop` is set or `duration` seconds pass; never raises.

    With `resume`, the air time from `resume.after` to this capture's first audio is logged as a gap.
    """
    result = CaptureResult(station_id, started=time.monotonic(), audio_end_utc=resume.after if resume else None)
    if stop is not None and stop.is_set():  # a queued station whose turn came after the stop
        result.finished = result.started
        return result
    finished = threading.Event()
    halt = _halt_when(stop or threading.Event(), duration, finished)
    chunker: Chunker | None = None
    # A resumed capture starts inside an outage: the air time since the earlier capture's last audio.
    outage = _Outage(start=resume.after, cause=resume.reason) if resume else _Outage(start=time.time())
    try:
        chunker = Chunker(
            station_id,
            landing,
            config.chunk_seconds,
            config.sample_rate,
            config.channels,
            resume_after=resume.after if resume else None,
            on_written=events.on_chunk,
        )
        source = StreamSource(url, halt=halt, connect_timeout=config.connect_timeout, read_timeout=config.read_timeout)
        attempt = 0
        while not halt.is_set():
            events.state("connecting")
            try:
                connection = source.connect(chunker.audio_end_utc)
            except StreamError as exc:
                outage.failures.append(exc.reason)
                delay = config.backoff.delay(attempt, rng)
                attempt += 1
                log.warning("%s: cannot connect (%s); retrying in %.1f s", station_id, exc.reason, delay)
                events.state("reconnecting", exc.reason)
                halt.wait(delay)
                continue
            result.connections += 1
            opened = time.monotonic()

            def audio_began(anchor: float, outage: _Outage = outage) -> None:
                if outage.cause or outage.failures:
                    _close_outage(landing, station_id, outage, anchor, result, events)
                events.state("running")

            produced_before = len(chunker.written)
            reason = _record_connection(station_id, connection, chunker, config, halt, audio_began)
            if halt.is_set():
                break
            got_audio = len(chunker.written) > produced_before
            log.warning("%s: stream lost (%s)", station_id, reason)
            events.state("reconnecting", reason)
            if got_audio:
                outage = _Outage(start=chunker.audio_end_utc or time.time(), cause=reason)
            else:
                outage.failures.append(reason)
            if got_audio and time.monotonic() - opened >= config.stable_seconds:
                attempt = 0
                continue  # a long-lived stream dropped: reconnect at once, the gap is shortest that way
            halt.wait(config.backoff.delay(attempt, rng))
            attempt += 1
    except Exception as exc:  # one station's bug or full disk must not stop the others
        log.exception("%s: capture failed", station_id)
        result.error = f"{type(exc).__name__}: {exc}"
        outage.failures.append(result.error)
    finally:
        finished.set()
        if chunker is not None:
            try:
                chunker.end()
            except Exception:  # the chunk being written is lost; the ones before it are safe
                log.exception("%s: could not finish the last chunk", station_id)
                chunker.discard()
            result.chunks = list(chunker.written)
            result.audio_end_utc = chunker.audio_end_utc
        if outage.cause or outage.failures:
            outage.failures.append("capture stopped before audio resumed")
            if result.audio_end_utc is not None:  # a failure while audio flowed: the gap begins where it ends
                outage.start = max(outage.start, result.audio_end_utc)
            _close_outage(landing, station_id, outage, time.time(), result, events)
        result.finished = time.monotonic()
    return result


def _close_outage(
    landing: Path, station_id: str, outage: _Outage, end: float, result: CaptureResult, events: CaptureEvents
) -> None:
    attempts = sum(1 for f in outage.failures if f != "capture stopped before audio resumed")
    if end - outage.start < MIN_GAP_SECONDS:
        log.info("%s: resumed without losing audio after %s", station_id, outage.reason)
    else:
        gap = Gap(station_id, utc(outage.start), utc(end), outage.reason, attempts)
        record_gap(landing, gap)
        result.gaps.append(gap)
        if events.on_gap is not None:
            events.on_gap(gap)
        log.warning("%s: gap of %.1f s recorded (%s)", station_id, gap.seconds, gap.reason)
    outage.cause, outage.failures = None, []


def _halt_when(stop: threading.Event, duration: float | None, finished: threading.Event) -> threading.Event:
    """An event set on `stop` or after `duration` seconds; its watcher thread ends with the capture."""
    halt = threading.Event()
    deadline = None if duration is None else time.monotonic() + duration

    def watch() -> None:
        while not finished.is_set():
            remaining = 0.1 if deadline is None else min(0.1, deadline - time.monotonic())
            if remaining <= 0 or stop.wait(remaining):
                halt.set()
                return

    threading.Thread(target=watch, daemon=True, name="capture-halt").start()
    return halt


def _record_connection(
    station_id: str,
    connection: Connection,
    chunker: Chunker,
    config: CaptureConfig,
    halt: threading.Event,
    audio_began: Callable[[float], None],
    clock: Callable[[], float] = time.time,
) -> str:
    """Decode one connection into chunks until it ends; return why it ended (meaningless after a halt).

    Without a source-given start time (Icecast), the PCM is timed as it comes out of the decoder (`clock`)
    and the chunker places it from those arrivals: the anchor is fixed once a connect burst is over, and it
    follows the station's clock as the connection goes on (`clock.py`).
    """
    decoder = Decoder(config.sample_rate, config.channels)
    first_bytes_at: list[float] = []
    failures: list[tuple[str, str]] = []
    done = threading.Event()

    def feed() -> None:
        try:
            for block in connection.blocks:
                if not first_bytes_at:
                    first_bytes_at.append(clock())
                decoder.write(block)
                if halt.is_set():
                    break
        except StreamError as exc:
            failures.append(("stream", exc.reason))
        except DecoderError as exc:
            failures.append(("decoder", str(exc)))
        except Exception as exc:  # surfaced as the connection's end reason rather than lost in a thread
            log.exception("%s: reading the stream failed", station_id)
            failures.append(("stream", f"{type(exc).__name__}: {exc}"))
        finally:
            close = getattr(connection.blocks, "close", None)
            if close is not None:
                close()
            decoder.close_input()

    def watch() -> None:
        # A stop while the server sends nothing would otherwise wait for the read timeout.
        while not done.wait(0.1):
            if halt.is_set():
                if not done.wait(1.0):
                    connection.abort()
                return

    feeder = threading.Thread(target=feed, daemon=True, name=f"capture-feed-{station_id}")
    feeder.start()
    threading.Thread(target=watch, daemon=True, name=f"capture-watch-{station_id}").start()
    started = announced = False
    first_pcm_at = 0.0

    def announce() -> None:
        nonlocal announced
        anchor = chunker.run_anchor
        if announced or not started or anchor is None:  # not started: run_anchor is a previous connection's
            return
        announced = True
        first_bytes = first_bytes_at[0] if first_bytes_at else first_pcm_at
        log.info(
            "%s: %s audio from %s (first bytes %.2f s before the first PCM; anchor %.2f s before them)",
            station_id,
            connection.kind,
            utc(anchor).isoformat(timespec="milliseconds"),
            first_pcm_at - first_bytes,
            first_bytes - anchor,
        )
        audio_began(anchor)

    try:
        while pcm := decoder.read():
            arrived = clock()
            if not started:
                first_pcm_at, started = arrived, True
                if connection.start_utc is not None:  # HLS: the source knows; its segments arrive in bursts
                    chunker.begin(connection.start_utc)
                else:
                    chunker.begin_from_arrivals(config.clock, first_bytes_at[0] if first_bytes_at else None)
            chunker.feed(pcm, arrived_at=arrived)
            announce()
    except BaseException:
        decoder.kill()  # the feeder then fails its next write and exits
        raise
    finally:
        done.set()
        feeder.join(2.0)
        if feeder.is_alive():
            connection.abort()
            feeder.join(config.read_timeout + 1)
        code = decoder.finish()
    chunker.end()
    announce()  # a connection that ended while its first PCM was held
    for kind, reason in failures:
        if kind == "stream":
            return reason
    if failures or code != 0:
        return f"decoder: {decoder.error() or f'ffmpeg exited with code {code}'}"
    return "stream ended"
