"""Writers for the demo files.

CSV and JSON are byte-stable: UTF-8, `\\n` line ends, fixed column and key order, nothing time-dependent.
Audio goes through libsndfile in blocks, because libvorbis allocates its analysis buffer on the stack and
crashes when handed a long signal in one call (libsndfile/libsndfile#1095, python-soundfile#233).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

AUDIO_SUBTYPES = {"ogg": "VORBIS", "flac": "PCM_16", "wav": "PCM_16"}
_AUDIO_BLOCK = 16_384


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """Write a CSV with a header row; return the number of data rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([_cell(value) for value in row])
            count += 1
    return count


def write_json(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_audio(path: Path, audio: np.ndarray, sr: int) -> None:
    """Write mono float audio; the extension picks the container and codec (OGG Vorbis, 16-bit FLAC/WAV)."""
    extension = path.suffix.lstrip(".").lower()
    with sf.SoundFile(path, "w", sr, 1, subtype=AUDIO_SUBTYPES[extension], format=extension.upper()) as out:
        for start in range(0, audio.size, _AUDIO_BLOCK):
            out.write(audio[start : start + _AUDIO_BLOCK])


def remove_matching(folder: Path, pattern: re.Pattern[str]) -> int:
    """Delete the files directly in `folder` whose names match `pattern`; return how many went."""
    if not folder.is_dir():
        return 0
    removed = 0
    for path in folder.iterdir():
        if path.is_file() and pattern.match(path.name):
            path.unlink()
            removed += 1
    return removed


def _cell(value: object) -> object:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
