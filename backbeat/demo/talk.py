"""Speech-like DJ talk: a glottal pulse train shaped by vowel formants, in syllables, words and pauses.

It only has to sound and look like speech to an audio fingerprinter (harmonic, pitch gliding, formant
bands, a 4-5 Hz syllable rhythm, silences), so a source-filter model of five vowels is enough. Each syllable
is filtered on its own slice, which costs three biquads per sample instead of one filter bank per vowel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

TARGET_RMS = 10 ** (-17 / 20)
PEAK_CEILING = 10 ** (-1 / 20)

# (F1, F2, F3) in Hz of an adult male voice, and the bandwidths used for every vowel.
_VOWELS = ((730, 1090, 2440), (530, 1840, 2480), (270, 2290, 3010), (570, 840, 2410), (300, 870, 2240))
_BANDWIDTHS = (80.0, 110.0, 170.0)
_GLOTTAL_TABLE_SIZE = 512


@dataclass(frozen=True)
class Voice:
    """A speaker: mean pitch (90-220 Hz), formant scaling (longer or shorter vocal tract), syllable rate."""

    f0_hz: float
    formant_scale: float
    syllables_per_s: float


def random_voice(rng: np.random.Generator) -> Voice:
    """Draw a speaker; a higher pitch comes with slightly higher formants, as in real voices."""
    f0 = float(rng.uniform(95.0, 210.0))
    return Voice(
        f0_hz=f0,
        formant_scale=float(1.0 + 0.15 * (f0 - 95.0) / 115.0 + rng.uniform(-0.03, 0.03)),
        syllables_per_s=float(rng.uniform(3.8, 5.2)),
    )


def render_talk(voice: Voice, n_samples: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Render `n_samples` of speech-like talk at `sr` as float32, about -17 dBFS RMS."""
    starts, lengths, vowels, accents = _syllables(voice, n_samples, sr, rng)
    source = _glottal_source(voice, n_samples, sr, starts, lengths, accents, rng)
    out = np.zeros(n_samples, dtype=np.float32)
    filters = [_vowel_filter(formants, voice.formant_scale, sr) for formants in _VOWELS]
    ring = int(0.03 * sr)  # let the formants ring out past the syllable's end
    for start, length, vowel in zip(starts, lengths, vowels, strict=True):
        end = min(start + length + ring, n_samples)
        excitation = source[start:end] * _syllable_envelope(length, end - start)
        out[start:end] += signal.sosfilt(filters[vowel], excitation).astype(np.float32)
        if rng.random() < 0.55:  # a consonant: a short hiss before the vowel
            burst = int(rng.uniform(0.02, 0.07) * sr)
            lo = max(start - burst // 2, 0)
            noise = np.diff(rng.standard_normal(burst + 1)) * np.hanning(burst)
            out[lo : lo + burst] += (0.02 * noise[: min(burst, n_samples - lo)]).astype(np.float32)
    return _level(out)


def _syllables(
    voice: Voice, n_samples: int, sr: int, rng: np.random.Generator
) -> tuple[list[int], list[int], list[int], list[float]]:
    """Syllable onsets, lengths, vowels and accents: phrases of 1-3.5 s separated by pauses."""
    starts, lengths, vowels, accents = [], [], [], []
    t = rng.uniform(0.05, 0.3)
    duration = n_samples / sr
    while t < duration - 0.2:
        phrase_end = min(t + rng.uniform(1.0, 3.5), duration - 0.1)
        while t < phrase_end:
            length = rng.uniform(0.6, 1.4) / voice.syllables_per_s
            starts.append(int(t * sr))
            lengths.append(max(int(min(length, duration - t) * sr), 1))
            vowels.append(int(rng.integers(len(_VOWELS))))
            accents.append(float(rng.uniform(0.0, 0.12)) if rng.random() < 0.3 else 0.0)
            t += length + (rng.uniform(0.05, 0.2) if rng.random() < 0.25 else 0.0)  # word gaps
        t += rng.uniform(0.15, 0.8)
    return starts, lengths, vowels, accents


def _glottal_source(
    voice: Voice,
    n_samples: int,
    sr: int,
    starts: list[int],
    lengths: list[int],
    accents: list[float],
    rng: np.random.Generator,
) -> np.ndarray:
    """A glottal pulse train whose pitch glides per syllable, falls across phrases and carries accents."""
    middles = (start + length // 2 for start, length in zip(starts, lengths, strict=True))
    knots_t = np.array([0, *middles, n_samples], dtype=float)
    drift = 1.0 + 0.05 * np.sin(np.arange(knots_t.size) * rng.uniform(0.3, 0.9) + rng.uniform(0, 6.3))
    accent = 1.0 + np.array([0.0, *accents, 0.0])
    # Declination: pitch falls over roughly every three seconds, then resets.
    declination = 1.08 - 0.16 * ((knots_t / sr) % rng.uniform(2.5, 3.5)) / 3.5
    f0_knots = voice.f0_hz * drift * accent * declination
    f0 = np.interp(np.arange(n_samples), knots_t, f0_knots)
    phase = np.cumsum(f0 / sr) % 1.0
    return _glottal_table()[(phase * _GLOTTAL_TABLE_SIZE).astype(np.intp)]


def _glottal_table() -> np.ndarray:
    """One period of the differentiated Rosenberg pulse (opening 40 %, closing 16 % of the period)."""
    x = np.arange(_GLOTTAL_TABLE_SIZE) / _GLOTTAL_TABLE_SIZE
    opening, closing = 0.4, 0.16
    pulse = np.where(
        x < opening,
        0.5 * (1 - np.cos(np.pi * x / opening)),
        np.where(x < opening + closing, np.cos(np.pi * (x - opening) / (2 * closing)), 0.0),
    )
    return np.diff(pulse, append=pulse[0]).astype(np.float32) * 20


def _vowel_filter(formants: tuple[int, ...], scale: float, sr: int) -> np.ndarray:
    """Three cascaded two-pole resonators (Klatt style, unity gain at DC) as second-order sections."""
    sections = []
    for formant, bandwidth in zip(formants, _BANDWIDTHS, strict=True):
        c = -np.exp(-2 * np.pi * bandwidth / sr)
        b = 2 * np.exp(-np.pi * bandwidth / sr) * np.cos(2 * np.pi * formant * scale / sr)
        sections.append([1 - b - c, 0.0, 0.0, 1.0, -b, -c])
    return np.array(sections)


def _syllable_envelope(length: int, total: int) -> np.ndarray:
    """Rise over the first quarter, hold, fall over the last third; zero over the ringing tail."""
    env = np.zeros(total, dtype=np.float32)
    rise, fall = max(length // 4, 1), max(length // 3, 1)
    env[:length] = 1.0
    env[:rise] = np.linspace(0.0, 1.0, rise, dtype=np.float32)
    env[length - fall : length] = np.linspace(1.0, 0.0, fall, dtype=np.float32)
    return env


def _level(audio: np.ndarray) -> np.ndarray:
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    if rms == 0.0:
        return audio
    peak = float(np.max(np.abs(audio)))
    return (audio * min(TARGET_RMS / rms, PEAK_CEILING / peak)).astype(np.float32)
