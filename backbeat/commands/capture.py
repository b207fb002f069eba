"""`backbeat capture` and `backbeat capture-all`: record live radio streams into the landing folder.

- `backbeat capture STATION_ID URL` (the `record` subcommand): one station, in the foreground.
- `backbeat capture-all --stations CSV`: every active station as a long-lived service
  (`backbeat/airplay/capture_service.py`): a session per station in `airplay.capture_sessions`, safe to
  restart, and with `--health-port` a `GET /health` endpoint (200 when every station is running, else 503).
- `backbeat capture status`: each station's latest session from the warehouse.

Captures stop cleanly on SIGINT/SIGTERM (the chunk being written is finished as a short chunk) or after
`--duration` seconds, and exit 1 when a station captured no audio at all, so cron and systemd notice.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from backbeat.airplay.capture_health import HealthServer
from backbeat.airplay.capture_service import CaptureService, ServiceOptions, StationRun, now_utc
from backbeat.airplay.capture_sessions import SessionStore, effective_state, status_lines
from backbeat.progress import json_option
from backbeat.settings import Settings
from integrations.radio import CaptureConfig, CaptureResult, capture_station, read_stations
from integrations.radio.stations import STATION_ID
from integrations.warehouse import Warehouse

_LANDING_HELP = "Landing folder; defaults to $BACKBEAT_DATA_DIR/landing."
_DURATION_HELP = "Stop after this many seconds (default: until SIGINT/SIGTERM)."
_WAREHOUSE_HELP = "Warehouse URL for airplay.capture_sessions; defaults to BACKBEAT_WAREHOUSE_URL or the data dir's."


def _landing(landing: Path | None) -> Path:
    return landing or Settings.from_env().data_dir / "landing"


def _check_station_id(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    if not STATION_ID.fullmatch(value):
        raise click.BadParameter("use lowercase letters, digits and hyphens")
    return value


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGINT or SIGTERM while capturing; the previous handlers come back afterwards."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():  # signals can only be caught there
        yield stop
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda signum, _frame: stop.set())
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")


def _summary(result: CaptureResult) -> str:
    missing = sum(g.seconds for g in result.gaps)
    line = f"{result.station_id}: {len(result.chunks)} chunks, {len(result.gaps)} gaps ({missing:.1f} s missing)"
    if result.gaps:
        line += f"; last gap: {result.gaps[-1].reason}"
    if result.error:
        line += f"; failed: {result.error}"
    return line


def _run_summary(run: StationRun) -> str:
    gaps = [g for r in run.results for g in r.gaps]
    missing = sum(g.seconds for g in gaps)
    line = f"{run.station.station_id}: {len(run.chunks)} chunks, {len(gaps)} gaps ({missing:.1f} s missing)"
    if gaps:
        line += f"; last gap: {gaps[-1].reason}"
    if run.session.restarts:
        line += f"; restarted {run.session.restarts} times after: {run.session.last_error}"
    if run.session.state == "refused":
        line += f"; refused: {run.session.detail}"
    return line


class _CaptureGroup(click.Group):
    """`capture STATION_ID URL` stays the one-station command: arguments that name no subcommand go to `record`
    (a station literally called `status` is recorded with `backbeat capture record status URL`)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["record", *args]
        return super().parse_args(ctx, args)


@click.group("capture", cls=_CaptureGroup)
def capture() -> None:
    """Record a station's stream (`capture STATION_ID URL`), or show the capture service's sessions (`status`)."""


@capture.command("record")
@click.argument("station_id", callback=_check_station_id)
@click.argument("url")
@click.option("--landing", type=click.Path(path_type=Path, file_okay=False), help=_LANDING_HELP)
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), help=_DURATION_HELP)
@click.option("--chunk-seconds", type=click.FloatRange(min=0, min_open=True), default=30.0, show_default=True)
def record(station_id: str, url: str, landing: Path | None, duration: float | None, chunk_seconds: float) -> None:
    """Record one station's stream URL (Icecast/SHOUTcast MP3 or AAC, or HLS .m3u8) into chunk files."""
    _configure_logging()
    with _stop_on_signals() as stop:
        result = capture_station(
            station_id,
            url,
            _landing(landing),
            config=CaptureConfig(chunk_seconds=chunk_seconds),
            stop=stop,
            duration=duration,
        )
    click.echo(_summary(result))
    if not result.chunks:
        raise SystemExit(1)


@capture.command("status")
@click.option("--warehouse-url", help=_WAREHOUSE_HELP)
@json_option
def status(warehouse_url: str | None, as_json: bool) -> None:
    """Each station's latest capture session: state (`stale` when its service stopped writing), last chunk,
    counts, host and pid, and why it is not running."""
    store = SessionStore(Warehouse(warehouse_url or Settings.from_env().warehouse_url))
    latest, now = store.latest(), now_utc()
    if as_json:
        rows = [row | {"state": effective_state(row, now)} for row in latest.iter_rows(named=True)]
        click.echo(json.dumps({"stations": rows}, default=str, sort_keys=True))
        return
    for line in status_lines(latest, now):
        click.echo(line)


@click.command("capture-all")
@click.option(
    "--stations",
    "stations_csv",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    required=True,
    help="CSV with station_id,name,stream_url,active,timezone.",
)
@click.option("--max-concurrent", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--landing", type=click.Path(path_type=Path, file_okay=False), help=_LANDING_HELP)
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), help=_DURATION_HELP + " Per station.")
@click.option("--chunk-seconds", type=click.FloatRange(min=0, min_open=True), default=30.0, show_default=True)
@click.option("--warehouse-url", help=_WAREHOUSE_HELP)
@click.option(
    "--heartbeat-seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="How often each station's session row is written.",
)
@click.option("--health-port", type=click.IntRange(min=0, max=65535), help="Serve GET /health here (0: any free port).")
@click.option("--health-host", default="127.0.0.1", show_default=True, help="Address the health endpoint listens on.")
def capture_all(
    stations_csv: Path,
    max_concurrent: int,
    landing: Path | None,
    duration: float | None,
    chunk_seconds: float,
    warehouse_url: str | None,
    heartbeat_seconds: float,
    health_port: int | None,
    health_host: str,
) -> None:
    """Record every station marked active in the stations CSV as a service: one session per station, at most
    --max-concurrent at a time, resuming where the last capture stopped."""
    _configure_logging()
    try:
        stations, problems = read_stations(stations_csv)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    for problem in problems:
        click.echo(f"skipped {stations_csv.name} {problem}", err=True)
    active = [s for s in stations if s.active]
    if not active:
        raise click.ClickException(f"{stations_csv}: no active stations")
    if len(active) > max_concurrent:
        click.echo(
            f"{len(active)} stations, at most {max_concurrent} at a time: the others wait for a free slot"
            + ("" if duration else " (and without --duration a slot never frees)"),
            err=True,
        )
    service = CaptureService(
        active,
        _landing(landing),
        SessionStore(Warehouse(warehouse_url or Settings.from_env().warehouse_url)),
        config=CaptureConfig(chunk_seconds=chunk_seconds),
        options=ServiceOptions(max_concurrent=max_concurrent, duration=duration, heartbeat_seconds=heartbeat_seconds),
        storage=Settings.from_env().shared_storage(),  # BACKBEAT_STORAGE_URL: finished chunks go to shared storage
    )
    with _stop_on_signals() as stop, _health(service, health_host, health_port):
        runs = service.run(stop)
    for run in runs:
        click.echo(_run_summary(run))
    silent = [r.station.station_id for r in runs if not r.chunks]
    if silent:
        click.echo(f"no audio captured from: {', '.join(silent)}", err=True)
        raise SystemExit(1)


@contextmanager
def _health(service: CaptureService, host: str, port: int | None) -> Iterator[None]:
    if port is None:
        yield
        return
    with HealthServer(service.health, host, port) as server:
        click.echo(f"health: {server.url}", err=True)
        yield
