"""BPM folding into genre ranges and key conversion between standard, Camelot and Open Key notation."""

from __future__ import annotations

import pytest

from backbeat.catalog.dj import (
    ALL_KEYS,
    DEFAULT_BPM_RANGE,
    Key,
    KeyParseError,
    genre_bpm_range,
    normalise_bpm,
    to_camelot,
    to_open_key,
    to_standard,
)

# The Camelot wheel as Mixed In Key prints it, and Traktor's Open Key for the same keys.
WHEEL = [
    ("Abm", "1A", "6m"),
    ("Ebm", "2A", "7m"),
    ("Bbm", "3A", "8m"),
    ("Fm", "4A", "9m"),
    ("Cm", "5A", "10m"),
    ("Gm", "6A", "11m"),
    ("Dm", "7A", "12m"),
    ("Am", "8A", "1m"),
    ("Em", "9A", "2m"),
    ("Bm", "10A", "3m"),
    ("F#m", "11A", "4m"),
    ("Dbm", "12A", "5m"),
    ("B", "1B", "6d"),
    ("F#", "2B", "7d"),
    ("Db", "3B", "8d"),
    ("Ab", "4B", "9d"),
    ("Eb", "5B", "10d"),
    ("Bb", "6B", "11d"),
    ("F", "7B", "12d"),
    ("C", "8B", "1d"),
    ("G", "9B", "2d"),
    ("D", "10B", "3d"),
    ("A", "11B", "4d"),
    ("E", "12B", "5d"),
]


@pytest.mark.parametrize(("standard", "camelot", "open_key"), WHEEL)
def test_known_pairs_agree_in_every_direction(standard: str, camelot: str, open_key: str) -> None:
    assert to_camelot(standard) == camelot
    assert to_open_key(standard) == open_key
    assert to_open_key(camelot) == open_key
    assert to_camelot(open_key) == camelot
    assert Key.parse(camelot) == Key.parse(open_key) == Key.parse(standard)


def test_a_minor_and_c_major_anchor_the_wheels() -> None:
    assert to_camelot("A minor") == "8A" and to_open_key("A minor") == "1m"
    assert to_camelot("C major") == "8B" and to_open_key("C major") == "1d"
    assert to_standard("8A") == "A minor" and to_standard("1d") == "C major"


def test_all_24_keys_round_trip_through_all_notations() -> None:
    assert len(set(ALL_KEYS)) == 24
    for key in ALL_KEYS:
        for text in (key.standard, key.short, key.camelot, key.open_key, key.camelot.lower(), f"0{key.camelot}"):
            assert Key.parse(text) == key, text
    assert len({k.camelot for k in ALL_KEYS}) == 24
    assert len({k.open_key for k in ALL_KEYS}) == 24


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("F#", "Gb major"),
        ("C#m", "Db minor"),
        ("A#m", "Bbm"),
        ("G# minor", "Abm"),
        ("E#", "F"),
        ("Cb", "B"),
        ("D♯m", "Ebm"),
        ("B♭", "Bb major"),
        ("A-flat major", "Ab"),
        ("Amin", "A minor"),
        ("Cmaj", "C"),
    ],
)
def test_enharmonic_spellings_are_the_same_key(a: str, b: str) -> None:
    assert Key.parse(a) == Key.parse(b)


def test_standard_spelling_and_relative_keys() -> None:
    assert Key.parse("Gb").standard == "F# major"
    assert Key.parse("Db minor").short == "C#m"
    assert Key.parse("Am").relative == Key.parse("C")
    assert Key.parse("8B").relative.camelot == "8A"


@pytest.mark.parametrize("text", ["", "H", "13A", "0B", "8C", "7x", "A dorian", "C##"])
def test_unknown_key_text_is_rejected(text: str) -> None:
    with pytest.raises(KeyParseError):
        Key.parse(text)


@pytest.mark.parametrize(
    ("bpm", "genre", "expected"),
    [
        (87.0, "Drum & Bass", 174.0),  # half-time detection of a DnB track
        (174.0, "dnb", 174.0),
        (64.0, "House", 128.0),
        (256.0, "house", 128.0),
        (180.0, "Hip-Hop", 90.0),  # double-time detection of a hip hop beat
        (45.0, "hip hop", 90.0),
        (120.0, "pop", 120.0),
        (70.0, "Dubstep", 140.0),
        (200.0, None, 100.0),
        (120.0, "Polka-Gabber Fusion", 120.0),  # unknown genre: default range
        (100.0, "house", 100.0),  # no octave fits a narrow range: nearest octave, not forced
        (62.5, "Melodic Deep House", 125.0),
    ],
)
def test_normalise_bpm_folds_into_the_genre_range(bpm: float, genre: str | None, expected: float) -> None:
    assert normalise_bpm(bpm, genre) == pytest.approx(expected)


def test_an_in_range_tempo_is_left_alone_even_when_its_octave_also_fits() -> None:
    assert normalise_bpm(80.0, None) == 80.0 and normalise_bpm(160.0, None) == 160.0


def test_genre_lookup_uses_aliases_and_the_longest_contained_genre() -> None:
    assert genre_bpm_range("Drum n Bass") == (160.0, 180.0)
    assert genre_bpm_range("Tech House") == (120.0, 130.0)
    assert genre_bpm_range("Future House") == (118.0, 132.0)
    assert genre_bpm_range(None) == DEFAULT_BPM_RANGE


@pytest.mark.parametrize("bpm", [0.0, -120.0, float("nan"), float("inf")])
def test_normalise_bpm_rejects_nonsense(bpm: float) -> None:
    with pytest.raises(ValueError):
        normalise_bpm(bpm, "house")
