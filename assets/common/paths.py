"""Where files live under the data directory, handed to assets as a Dagster resource.

With a `storage_url` (`BACKBEAT_STORAGE_URL`) the landing chunks, the fingerprint index and the published
exports are also kept in shared storage, so a worker on another machine materializes them in its own data
directory before reading (`pull_*`) and sends what it wrote (`push_*`). Without one every method here leaves
the files where they are.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from dagster import ConfigurableResource

from backbeat.airplay.landing import stations_named, stations_on
from integrations.storage import Storage, SyncReport, open_storage

LANDING_KEY = "landing"
INDEX_KEY = "index/fingerprints"
EXPORTS_KEY = "exports"


class DataDirResource(ConfigurableResource):
    """The data directory: inbox files dropped by people and systems, landing chunks, index, exports."""

    data_dir: str
    storage_url: str = ""  # empty: nothing shared beyond this machine's data directory
    s3_endpoint_url: str = ""

    @property
    def root(self) -> Path:
        return Path(self.data_dir)

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def landing(self) -> Path:
        """Radio stream chunks, `{station}_{YYYYmmddTHHMMSSZ}.{ext}`, written by capture."""
        return self.root / "landing"

    @property
    def fingerprint_index(self) -> Path:
        return self.root / "index" / "fingerprints"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    # ---- Shared storage ----------------------------------------------------------------------------------

    def shared_storage(self) -> Storage | None:
        """The storage shared between machines, or None when no `storage_url` is configured."""
        if not self.storage_url:
            return None
        return open_storage(self.storage_url, self.root, endpoint_url=self.s3_endpoint_url or None)

    def pull_landing(self, station_id: str, day: date) -> SyncReport | None:
        """Bring a station-day's chunks (and the station's gap log) into the local landing folder."""
        if (storage := self.shared_storage()) is None:
            return None
        report = storage.sync_down(f"{LANDING_KEY}/{station_id}_{day:%Y%m%d}T", self.landing)
        gaps = storage.sync_down(f"{LANDING_KEY}/_gaps/{station_id}.csv", self.landing / "_gaps")
        report.transferred += gaps.transferred
        report.unchanged += gaps.unchanged
        return report

    def landing_stations(self, day: date) -> set[str]:
        """The stations with chunks of `day` in the local landing folder and, when configured, in shared storage
        (chunks captured on another machine that this one has not pulled yet)."""
        return stations_on(self.landing, day) | stations_named(day, self.shared_landing_names())

    def shared_landing_names(self) -> list[str]:
        """The keys of the landing chunks in shared storage (none without it): one listing of the prefix."""
        if (storage := self.shared_storage()) is None:
            return []
        return storage.list(f"{LANDING_KEY}/")

    def landing_file(self, recorded: str) -> Path:
        """A chunk path as recorded in `airplay.stream_chunks`; with shared storage the machine that recorded
        it may have had another data directory, so the chunk is read from this one's landing (`pull_landing`)."""
        return self.landing / Path(recorded).name if self.storage_url else Path(recorded)

    def push_index(self) -> SyncReport | None:
        """Mirror the local fingerprint index to shared storage (only changed files move)."""
        if (storage := self.shared_storage()) is None:
            return None
        return storage.sync_up(self.fingerprint_index, INDEX_KEY, delete=True)

    def pull_index(self) -> SyncReport | None:
        """Mirror the shared fingerprint index into the local one (only changed files move)."""
        if (storage := self.shared_storage()) is None or not storage.list(INDEX_KEY + "/"):
            return None  # nothing shared yet: the local index (if any) is all there is
        return storage.sync_down(INDEX_KEY + "/", self.fingerprint_index, delete=True)

    def push_export(self, folder: Path) -> SyncReport | None:
        """Mirror a published export folder (under `exports`) to shared storage."""
        if (storage := self.shared_storage()) is None:
            return None
        relative = Path(folder).resolve().relative_to(self.exports.resolve()).as_posix()
        return storage.sync_up(Path(folder), f"{EXPORTS_KEY}/{relative}", delete=True)
