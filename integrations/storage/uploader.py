"""Uploads on a thread of their own, so a slow or unreachable store never holds up the caller (a capture)."""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path

from integrations.storage.store import Storage, StorageError, StorageFileNotFoundError

log = logging.getLogger(__name__)
RETRY_DELAYS = (1.0, 5.0, 15.0)  # then the file is reported as failed; the next sync_up of its folder sends it


class BackgroundUploader:
    """`submit(path, key)` returns at once; one worker thread puts the files in order, retrying a few times."""

    def __init__(self, storage: Storage, retry_delays: tuple[float, ...] = RETRY_DELAYS) -> None:
        self.storage = storage
        self.retry_delays = retry_delays
        self.uploaded: list[str] = []
        self.failed: dict[str, str] = {}  # key → the (credential-free) error of its last attempt
        self._queue: queue.Queue[tuple[Path, str] | None] = queue.Queue()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._work, name="storage-upload", daemon=True)
        self._thread.start()

    def submit(self, path: Path, key: str) -> None:
        """Queue `path` for upload to `key`."""
        self._queue.put((path, key))

    def close(self, timeout: float = 60.0) -> None:
        """Send what is queued (no more retry waits once closing), then stop the thread."""
        self._closing.set()
        self._queue.put(None)
        self._thread.join(timeout)

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            path, key = item
            for attempt in range(len(self.retry_delays) + 1):
                try:
                    self.storage.put(path, key)
                except StorageFileNotFoundError as exc:  # nothing to send: retrying would only hold the queue
                    self.failed[key] = str(exc)
                    log.error("upload of %s to %s failed: %s", key, self.storage.label, exc)
                    break
                except (StorageError, OSError) as exc:
                    self.failed[key] = str(exc)
                    last = attempt == len(self.retry_delays)
                    if last or self._closing.wait(self.retry_delays[attempt]):
                        log.error("upload of %s to %s failed: %s", key, self.storage.label, exc)
                        break
                    continue
                self.failed.pop(key, None)
                self.uploaded.append(key)
                break
