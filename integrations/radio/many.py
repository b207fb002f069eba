"""Capturing many stations at once: one thread per station, at most `max_concurrent` at a time.

Threads suffice: each capture mostly waits on sockets, and the decoding runs in its own ffmpeg process.
Each station's capture catches its own failures, so one station never stops the others.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from integrations.radio.capture import CaptureConfig, CaptureResult, capture_station
from integrations.radio.stations import Station

log = logging.getLogger(__name__)


def capture_stations(
    stations: Sequence[Station],
    landing: Path,
    *,
    max_concurrent: int,
    config: CaptureConfig | None = None,
    stop: threading.Event | None = None,
    duration: float | None = None,
) -> list[CaptureResult]:
    """Capture every given station (active or not: the caller chooses); `duration` applies to each station."""
    if max_concurrent < 1:
        raise ValueError("max_concurrent must be at least 1")
    stop = stop or threading.Event()
    if len(stations) > max_concurrent:
        log.warning(
            "%d stations, at most %d at a time: the others wait for a free slot%s",
            len(stations),
            max_concurrent,
            "" if duration else " (and without --duration a slot never frees)",
        )
    config = config or CaptureConfig()
    with ThreadPoolExecutor(max_workers=max_concurrent, thread_name_prefix="capture") as pool:
        futures = [
            pool.submit(
                capture_station, s.station_id, s.stream_url, landing, config=config, stop=stop, duration=duration
            )
            for s in stations
        ]
        return [future.result() for future in futures]
