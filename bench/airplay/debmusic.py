"""The benchmark's music: Debian game-music packages unpacked under ``bench/.work/music/`` (never committed).

``singularity-music`` and ``hyperrogue-music`` are the catalog; ``drascula-music`` is real music that is
*not* in the catalog (what a station plays that we do not track). Only the packages' music folders count:
hyperrogue's ``sounds/`` are one-second game effects, not songs, and drascula ships the same 28 tracks six
times (one folder per language), so files are de-duplicated by content.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WORK = REPO / "bench" / ".work"
MUSIC = WORK / "music"
AIRPLAY = WORK / "airplay"

# (track id prefix, package, music folder inside the unpacked package)
CATALOG_SOURCES = (
    ("singularity", "singularity-music", "usr/share/games/singularity/music"),
    ("hyperrogue", "hyperrogue-music", "usr/share/hyperrogue/music"),
)
OUTSIDE_SOURCES = (("drascula", "drascula-music", "usr/share/scummvm/drascula"),)


@dataclass(frozen=True)
class Track:
    track_id: str
    path: Path
    package: str


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _tracks(sources: tuple[tuple[str, str, str], ...], music: Path) -> list[Track]:
    tracks, seen = [], set()
    for prefix, package, folder in sources:
        root = music / package / folder
        files = sorted(root.rglob("*.ogg"))
        if not files:
            raise FileNotFoundError(f"no .ogg under {root}: unpack {package} first (see bench/airplay/README.md)")
        for path in files:
            digest = hashlib.sha1(path.read_bytes()).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            name = "/".join(_slug(part) for part in path.relative_to(root).with_suffix("").parts)
            tracks.append(Track(f"{prefix}/{name}", path, package))
    return tracks


def catalog_tracks(music: Path = MUSIC) -> list[Track]:
    """The reference catalog: what the engines index and what the ground truth names."""
    return _tracks(CATALOG_SOURCES, music)


def outside_tracks(music: Path = MUSIC) -> list[Track]:
    """Music stations play that is not in the catalog: every detection of it is a false play."""
    return _tracks(OUTSIDE_SOURCES, music)
