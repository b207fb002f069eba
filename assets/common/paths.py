"""Where files live under the data directory, handed to assets as a Dagster resource."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource


class DataDirResource(ConfigurableResource):
    """The data directory: inbox files dropped by people and systems, landing chunks, index, exports."""

    data_dir: str

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
