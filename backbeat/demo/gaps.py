"""The demo recorder's gap log: the air time its capture missed, written where `backbeat capture` writes it.

Right after radio-south's block the station's server closed the stream; four reconnects were answered with
HTTP 503 and the recorder's scheduled stop came before audio resumed. The gap goes through
`integrations.radio.gaps.record_gap`, the function capture itself calls, with the reason and attempt count
capture would give that outage, into `landing/_gaps/radio-south.csv`; `airplay/stream_chunks` stores it in
`airplay.capture_gaps`. No chunk is missing: the stretch lies after the last chunk of the block.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from backbeat.demo import streams
from integrations.radio.gaps import Gap, gaps_path, record_gap

GAP_STATION = streams.STATIONS[1]
# Capture's backoff (1, 2, 4, 8 s) between the four refused reconnects, until the recorder stopped.
GAP_SECONDS = 15
GAP_ATTEMPTS = 4
GAP_REASON = "server closed the stream; then HTTP 503 (x4); then capture stopped before audio resumed"


def write_gap_log(landing: Path, day: date, block_ms: int) -> Gap:
    """Replace the demo stations' gap logs under `landing` with the one demo gap; returns it."""
    for station in streams.STATIONS:
        gaps_path(landing, station.station_id).unlink(missing_ok=True)
    lost = GAP_STATION.block_start_on(day) + timedelta(milliseconds=block_ms)
    gap = Gap(GAP_STATION.station_id, lost, lost + timedelta(seconds=GAP_SECONDS), GAP_REASON, GAP_ATTEMPTS)
    record_gap(landing, gap)
    return gap
