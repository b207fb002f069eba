"""Shared files behind one interface: the local data directory or S3-compatible object storage (fsspec)."""

from integrations.storage.store import (
    LocalStorage,
    S3Storage,
    Storage,
    StorageError,
    StorageFileNotFoundError,
    SyncReport,
    open_storage,
)
from integrations.storage.uploader import BackgroundUploader

__all__ = [
    "BackgroundUploader",
    "LocalStorage",
    "S3Storage",
    "Storage",
    "StorageError",
    "StorageFileNotFoundError",
    "SyncReport",
    "open_storage",
]
