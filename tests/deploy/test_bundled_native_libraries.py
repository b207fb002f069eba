"""The native code Backbeat needs comes from its wheels, never from the machine's packages.

A fresh machine has python3, make and git and no audio libraries. If the lock loses the hash of a wheel that
bundles its library, pip installs the pure wheel instead, and everything that decodes audio fails at import on
such a machine, while passing on one that happens to have the library installed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import soundfile


def test_soundfile_loads_the_libsndfile_its_wheel_bundles() -> None:
    bundled = importlib.util.find_spec("_soundfile_data")
    assert bundled is not None and bundled.origin, "soundfile was installed without its bundled libsndfile"
    loaded = Path(getattr(soundfile, "_full_path", ""))
    assert loaded.is_file() and loaded.parent == Path(bundled.origin).parent, (
        f"soundfile loaded a libsndfile from outside its wheel: {loaded}"
    )


def test_the_bundled_libsndfile_decodes_every_format_radio_arrives_in() -> None:
    formats = soundfile.available_formats()
    assert {"MP3", "FLAC", "OGG", "WAV"} <= formats.keys(), sorted(formats)
