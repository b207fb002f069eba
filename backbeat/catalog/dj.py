"""DJ metadata: BPM folded into a genre's tempo range, and musical keys in standard, Camelot and Open Key notation.

Plain functions, no Dagster: the catalog assets and the Rekordbox export call them.

Key notations (all 24 keys round-trip through each of them):

- standard: "A minor" / "Am" / "Amin", "C# major" / "Db" / "C#", unicode ♯ and ♭ accepted; enharmonic spellings
  parse to the same key. Written with one spelling per key: majors C Db D Eb E F F# G Ab A Bb B, minors
  C C# D Eb E F F# G G# A Bb B.
- Camelot (Mixed In Key): 1-12 and A (minor) / B (major); 8A = A minor, 8B = C major; +1 is a fifth up.
- Open Key (Traktor): 1-12 and m (minor) / d (major); 1m = A minor, 1d = C major; +1 is a fifth up.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

Mode = Literal["major", "minor"]

# Tempo ranges (BPM, inclusive) that DJ software and charts use for each genre. A detected tempo is moved by
# octaves (×2, ÷2) into its genre's range: a drum-and-bass track detected at 87 BPM is really 174.
GENRE_BPM_RANGES: dict[str, tuple[float, float]] = {
    "drum and bass": (160.0, 180.0),
    "jungle": (155.0, 180.0),
    "dubstep": (135.0, 150.0),
    "trap": (130.0, 160.0),
    "hardstyle": (145.0, 160.0),
    "hardcore": (160.0, 200.0),
    "trance": (125.0, 145.0),
    "techno": (120.0, 150.0),
    "house": (118.0, 132.0),
    "deep house": (115.0, 126.0),
    "tech house": (120.0, 130.0),
    "disco": (110.0, 135.0),
    "garage": (125.0, 140.0),
    "uk garage": (128.0, 140.0),
    "electro": (120.0, 135.0),
    "hip hop": (80.0, 115.0),
    "r&b": (60.0, 110.0),
    "reggaeton": (85.0, 105.0),
    "dancehall": (85.0, 110.0),
    "reggae": (60.0, 100.0),
    "downtempo": (70.0, 110.0),
    "ambient": (60.0, 120.0),
    "pop": (90.0, 130.0),
    "rock": (90.0, 160.0),
    "metal": (90.0, 200.0),
    "funk": (90.0, 125.0),
    "soul": (60.0, 120.0),
    "jazz": (60.0, 200.0),
    "latin": (85.0, 130.0),
}
DEFAULT_BPM_RANGE: tuple[float, float] = (80.0, 160.0)

# Other spellings of the table's genres (after lower-casing and "&"/"-"/"_" handling in `genre_bpm_range`).
GENRE_ALIASES: dict[str, str] = {
    "dnb": "drum and bass",
    "d and b": "drum and bass",
    "drum n bass": "drum and bass",
    "drumandbass": "drum and bass",
    "liquid funk": "drum and bass",
    "neurofunk": "drum and bass",
    "hiphop": "hip hop",
    "rap": "hip hop",
    "rnb": "r&b",
    "r and b": "r&b",
    "rhythm and blues": "r&b",
    "ukg": "uk garage",
    "2 step": "uk garage",
    "electronica": "downtempo",
    "trip hop": "downtempo",
    "chillout": "downtempo",
    "lofi": "downtempo",
    "lo fi": "downtempo",
}


def _genre_text(genre: str) -> str:
    text = genre.strip().lower().replace("&", " and ").replace("'", "")
    text = re.sub(r"[-_/]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def genre_bpm_range(genre: str | None) -> tuple[float, float]:
    """The tempo range for a genre label, or ``DEFAULT_BPM_RANGE`` for an unknown or missing genre.

    Exact names and aliases first ("Drum & Bass", "DnB", "Hip-Hop"); otherwise the longest known genre that
    appears as whole words in the label ("Melodic Deep House" → deep house, "Future House" → house).
    """
    if not genre:
        return DEFAULT_BPM_RANGE
    text = _genre_text(genre)
    table = {_genre_text(name): rng for name, rng in GENRE_BPM_RANGES.items()}
    name = GENRE_ALIASES.get(text, text)
    if _genre_text(name) in table:
        return table[_genre_text(name)]
    padded = f" {text} "
    candidates = [known for known in (*table, *GENRE_ALIASES) if f" {known} " in padded]
    if not candidates:
        return DEFAULT_BPM_RANGE
    best = max(candidates, key=len)
    return table[_genre_text(GENRE_ALIASES.get(best, best))]


def normalise_bpm(bpm: float, genre: str | None = None) -> float:
    """Fold a detected tempo by octaves (half/double time) into the genre's range.

    Among bpm × 2^k (k = -2..2) the value inside the range is chosen; when two are inside (ranges an octave
    wide or more), the detected value wins if it is one of them, else the one nearer the range's centre.
    When none fits (ranges narrower than an octave), the octave nearest the range on a log scale is returned:
    a 100 BPM house track stays at 100 rather than being forced to 200 or 50.
    Raises ``ValueError`` for a tempo that is not a positive finite number.
    """
    if not isinstance(bpm, int | float) or not math.isfinite(bpm) or bpm <= 0:
        raise ValueError(f"BPM must be a positive number, got {bpm!r}")
    low, high = genre_bpm_range(genre)
    candidates = [bpm * 2.0**k for k in (0, -1, 1, -2, 2)]
    inside = [c for c in candidates if low <= c <= high]
    if inside:
        if candidates[0] in inside:
            return float(bpm)
        centre = math.sqrt(low * high)
        return float(min(inside, key=lambda c: abs(math.log2(c / centre))))

    def distance(c: float) -> float:
        return math.log2(low / c) if c < low else math.log2(c / high)

    return float(min(candidates, key=distance))


# ---- musical keys --------------------------------------------------------------------------------------

_MAJOR_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_MINOR_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACCIDENTAL = {"": 0, "#": 1, "♯": 1, "sharp": 1, "b": -1, "♭": -1, "flat": -1}

_STANDARD = re.compile(
    r"^\s*(?P<letter>[A-Ga-g])\s*(?P<acc>#|♯|b|♭|-?sharp|-?flat)?\s*(?P<mode>major|maj|minor|min|m|M)?\s*$",
    re.IGNORECASE,
)
_CAMELOT = re.compile(r"^\s*0?(?P<num>[1-9]|1[0-2])\s*(?P<letter>[AB])\s*$", re.IGNORECASE)
_OPEN_KEY = re.compile(r"^\s*0?(?P<num>[1-9]|1[0-2])\s*(?P<letter>[md])\s*$", re.IGNORECASE)


class KeyParseError(ValueError):
    """A key text in none of the three notations."""


@dataclass(frozen=True, order=True)
class Key:
    """A musical key: tonic pitch class (0 = C … 11 = B) and mode. Parse with ``Key.parse``."""

    tonic: int
    mode: Mode

    def __post_init__(self) -> None:
        if not 0 <= self.tonic <= 11 or self.mode not in ("major", "minor"):
            raise ValueError(f"not a key: tonic={self.tonic!r} mode={self.mode!r}")

    @classmethod
    def parse(cls, text: str) -> Key:
        """Parse standard ("A minor", "Am", "Gb major", "C#m"), Camelot ("8A") or Open Key ("1m") notation."""
        if not isinstance(text, str):
            raise KeyParseError(f"key must be text, got {text!r}")
        if match := _CAMELOT.match(text):
            return cls.from_camelot(int(match["num"]), match["letter"].upper())
        if match := _OPEN_KEY.match(text):
            number = int(match["num"])
            camelot = (number + 6) % 12 + 1
            return cls.from_camelot(camelot, "A" if match["letter"].lower() == "m" else "B")
        if match := _STANDARD.match(text):
            accidental = (match["acc"] or "").lower().lstrip("-")
            tonic = (_LETTER_PC[match["letter"].upper()] + _ACCIDENTAL[accidental]) % 12
            raw_mode = match["mode"] or ""
            # A lone capital "M" is the (rare) major shorthand; "m", "min" and "minor" are minor.
            mode: Mode = "minor" if raw_mode != "M" and raw_mode.lower() in ("m", "min", "minor") else "major"
            return cls(tonic, mode)
        raise KeyParseError(f"not a key in standard, Camelot or Open Key notation: {text!r}")

    @classmethod
    def from_camelot(cls, number: int, letter: str) -> Key:
        """The key at Camelot ``number`` (1-12) and ``letter`` ("A" minor, "B" major)."""
        if not 1 <= number <= 12 or letter not in ("A", "B"):
            raise KeyParseError(f"not a Camelot key: {number}{letter}")
        major_tonic = (7 * (number - 8)) % 12  # each step round the wheel is a fifth (7 semitones)
        if letter == "B":
            return cls(major_tonic, "major")
        return cls((major_tonic - 3) % 12, "minor")  # the relative minor shares the number

    @property
    def camelot(self) -> str:
        """Camelot code, e.g. "8A" for A minor."""
        major_tonic = self.tonic if self.mode == "major" else (self.tonic + 3) % 12
        number = (7 * major_tonic) % 12
        number = (number + 7) % 12 + 1
        return f"{number}{'B' if self.mode == 'major' else 'A'}"

    @property
    def open_key(self) -> str:
        """Open Key code, e.g. "1m" for A minor."""
        camelot = int(self.camelot[:-1])
        return f"{(camelot - 8) % 12 + 1}{'d' if self.mode == 'major' else 'm'}"

    @property
    def tonic_name(self) -> str:
        return (_MAJOR_NAMES if self.mode == "major" else _MINOR_NAMES)[self.tonic]

    @property
    def standard(self) -> str:
        """Long standard name, e.g. "A minor", "Db major"."""
        return f"{self.tonic_name} {self.mode}"

    @property
    def short(self) -> str:
        """Short standard name as DJ software shows it, e.g. "Am", "Db"."""
        return self.tonic_name + ("m" if self.mode == "minor" else "")

    @property
    def relative(self) -> Key:
        """The relative major/minor (same Camelot number)."""
        if self.mode == "major":
            return Key((self.tonic - 3) % 12, "minor")
        return Key((self.tonic + 3) % 12, "major")

    def __str__(self) -> str:
        return self.standard


def to_standard(text: str) -> str:
    """Any notation → "A minor"."""
    return Key.parse(text).standard


def to_camelot(text: str) -> str:
    """Any notation → "8A"."""
    return Key.parse(text).camelot


def to_open_key(text: str) -> str:
    """Any notation → "1m"."""
    return Key.parse(text).open_key


ALL_KEYS: tuple[Key, ...] = tuple(Key(pc, mode) for mode in ("major", "minor") for pc in range(12))
