"""Synthetic music for the catalog-scale benchmark: SYNTHETIC, generated from a seed, never real recordings.

There is not 10,000 tracks' worth of freely licensed music in Debian, so ``scale.py`` tops the real catalog up
with these. Each track is a small arrangement: a key and mode, a tempo (68–172 bpm), sections (verse, chorus,
bridge) with their own chord progression, a bass line, block chords, a lead melody built from a motif that is
varied bar to bar, and a drum kit (kick, snare, hi-hat) with per-section patterns. Every instrument has its own
timbre (a random harmonic spectrum in a wavetable, attack and decay), and timbres change between sections.
2–5 minutes long, rendered directly at the fingerprinting rate (11,025 Hz) so no decode or resample is needed.

Different seeds share the scale degrees and drum sounds of music in general, not whole passages: the point is
realistic *unrelated* catalog entries against which the real tracks must still be told apart.
"""

from __future__ import annotations

import numpy as np

from audio.decode import SAMPLE_RATE

SYNTH_VERSION = 1
_TABLE = 2048
_MODES = (
    (0, 2, 4, 5, 7, 9, 11),  # major
    (0, 2, 3, 5, 7, 8, 10),  # natural minor
    (0, 2, 3, 5, 7, 9, 10),  # dorian
    (0, 2, 4, 5, 7, 9, 10),  # mixolydian
    (0, 2, 3, 5, 7, 8, 11),  # harmonic minor
)
_PROGRESSIONS = ((0, 4, 5, 3), (0, 5, 3, 4), (5, 3, 0, 4), (0, 3, 4, 4), (1, 4, 0, 0), (0, 6, 5, 4), (3, 4, 2, 5))


def _midi_hz(note: np.ndarray | float) -> np.ndarray:
    return np.asarray(440.0 * 2.0 ** ((np.asarray(note, dtype=np.float64) - 69.0) / 12.0))


class _Instrument:
    """A wavetable voice: random harmonic spectrum (up to the Nyquist limit of its range), envelope shape."""

    def __init__(self, rng: np.random.Generator, top_hz: float, rate: int) -> None:
        n_harmonics = max(1, min(int(rng.integers(2, 10)), int(rate / 2.2 / top_hz)))
        k = np.arange(1, n_harmonics + 1)
        amps = rng.uniform(0.2, 1.0, n_harmonics) * k ** -rng.uniform(0.6, 2.0)
        phase = 2 * np.pi * np.arange(_TABLE) / _TABLE
        table = (amps[:, None] * np.sin(k[:, None] * phase + rng.uniform(0, 2 * np.pi, (n_harmonics, 1)))).sum(0)
        self.table = (table / np.abs(table).max()).astype(np.float32)
        self.attack_s = float(rng.uniform(0.003, 0.06))
        self.decay_per_s = float(rng.uniform(0.5, 6.0))
        self.vibrato_hz = float(rng.uniform(4.0, 6.5)) if rng.random() < 0.4 else 0.0
        self.rate = rate
        self._envelopes: dict[int, np.ndarray] = {}

    def _envelope(self, n: int) -> np.ndarray:
        # Notes repeat their lengths (beats, bars): one envelope per length, computed once.
        if n not in self._envelopes:
            t = _ramp(n, self.rate)
            envelope = np.minimum(t / np.float32(self.attack_s), 1.0) * np.exp(-self.decay_per_s * t)
            release = min(n, int(0.03 * self.rate))
            envelope[n - release :] *= np.linspace(1.0, 0.0, release, dtype=np.float32)
            self._envelopes[n] = envelope
        return self._envelopes[n]

    def note(self, hz: float, seconds: float) -> np.ndarray:
        n = max(int(seconds * self.rate), 1)
        t = _ramp(n, self.rate)
        phase = hz * t
        if self.vibrato_hz:
            phase += np.float32(0.003 * hz / self.vibrato_hz) * np.sin(np.float32(2 * np.pi * self.vibrato_hz) * t)
        return self.table[(phase * _TABLE).astype(np.int64) & (_TABLE - 1)] * self._envelope(n)


_RAMPS: dict[int, np.ndarray] = {}


def _ramp(n: int, rate: int) -> np.ndarray:
    """Seconds of samples 0..n-1 as float32 (a slice of one shared array per rate)."""
    if rate not in _RAMPS or _RAMPS[rate].size < n:
        _RAMPS[rate] = np.arange(max(n, 16 * rate), dtype=np.float32) / np.float32(rate)
    return _RAMPS[rate][:n]


def _drums(rng: np.random.Generator, rate: int) -> dict[str, np.ndarray]:
    """One kit per track: a pitch-swept kick, a snare (tone plus noise), a closed hi-hat (differenced noise)."""
    t = np.arange(int(0.35 * rate)) / rate
    top, bottom = rng.uniform(90, 160), rng.uniform(40, 60)
    sweep = 2 * np.pi * (bottom * t + (top - bottom) / 30.0 * (1 - np.exp(-30.0 * t)))
    kick = np.sin(sweep) * np.exp(-t * rng.uniform(8, 18))
    ts = t[: int(0.2 * rate)]
    snare = 0.5 * np.sin(2 * np.pi * rng.uniform(160, 240) * ts) * np.exp(-ts * 30) + rng.standard_normal(
        ts.size
    ) * np.exp(-ts * rng.uniform(15, 30))
    th = t[: int(0.06 * rate)]
    hat = np.diff(rng.standard_normal(th.size + 1)) * np.exp(-th * rng.uniform(50, 110))
    return {
        "kick": kick.astype(np.float32),
        "snare": 0.6 * snare.astype(np.float32),
        "hat": 0.25 * hat.astype(np.float32),
    }


def _add(out: np.ndarray, at: int, sound: np.ndarray, gain: float) -> None:
    end = min(out.size, at + sound.size)
    if at < end:
        out[at:end] += np.float32(gain) * sound[: end - at]


def synth_track(seed: int, rate: int = SAMPLE_RATE) -> np.ndarray:
    """SYNTHETIC track number ``seed``: float32 mono at ``rate``, 2–5 minutes, peak 0.9."""
    rng = np.random.default_rng([SYNTH_VERSION, seed])
    duration = float(rng.uniform(120.0, 300.0))
    beat = 60.0 / float(rng.uniform(68.0, 172.0))
    bar = 4 * beat
    root = int(rng.integers(45, 57))
    mode = np.array(_MODES[int(rng.integers(len(_MODES)))])
    degrees = np.concatenate([mode + 12 * octave for octave in range(-2, 4)])  # scale degree d -> degrees[14 + d]
    kit = _drums(rng, rate)
    sections = []
    for _ in range(int(rng.integers(2, 4))):  # verse, chorus(, bridge): own chords, rhythm, timbres
        sections.append(
            {
                "chords": _PROGRESSIONS[int(rng.integers(len(_PROGRESSIONS)))],
                "motif": rng.integers(-3, 8, size=int(rng.choice([4, 6, 8]))),
                "rhythm": rng.choice([0.5, 1.0, 1.0, 1.5, 2.0], size=8),
                "kick": rng.random(8) < 0.35,
                "snare": rng.random(8) < 0.15,
                "lead": _Instrument(rng, _midi_hz(root + 31)[()], rate),
                "pad": _Instrument(rng, _midi_hz(root + 19)[()], rate),
                "bass": _Instrument(rng, _midi_hz(root)[()], rate),
                "lead_gain": float(rng.uniform(0.5, 1.0)),
            }
        )
    form = rng.integers(len(sections), size=int(duration / (8 * bar)) + 2)

    out = np.zeros(int((duration + 2.0) * rate), dtype=np.float32)
    time = 0.0
    for section_no in form:
        section = sections[int(section_no)]
        for bar_no in range(8):
            if time >= duration:
                break
            chord = section["chords"][bar_no % 4]
            start = int(time * rate)
            # Bass: root of the chord on each beat or half-beat, octave jumps now and then.
            step = beat if rng.random() < 0.6 else beat / 2
            for k in range(int(round(bar / step))):
                note = root - 12 + degrees[14 + chord] + (12 if rng.random() < 0.15 else 0)
                _add(out, start + int(k * step * rate), section["bass"].note(_midi_hz(note)[()], step * 0.9), 0.55)
            # Block chord (triad, sometimes a seventh) held over the bar.
            for third in (0, 2, 4, 6)[: 3 + int(rng.random() < 0.3)]:
                note = root + degrees[14 + chord + third]
                _add(out, start, section["pad"].note(_midi_hz(note)[()], bar), 0.22)
            # Lead: the section's motif, transposed to the chord and varied.
            offset = 0.0
            for j, degree in enumerate(section["motif"]):
                length = beat * float(section["rhythm"][j % 8])
                if offset >= bar:
                    break
                if rng.random() < 0.85:
                    d = int(degree) + chord + int(rng.integers(-1, 2) if rng.random() < 0.3 else 0)
                    note = root + 12 + degrees[14 + int(np.clip(d, -14, 27))]
                    velocity = section["lead_gain"] * float(rng.uniform(0.7, 1.0))
                    _add(out, start + int(offset * rate), section["lead"].note(_midi_hz(note)[()], length), velocity)
                offset += length
            # Drums on an eighth-note grid.
            for k in range(8):
                at = start + int(k * beat / 2 * rate)
                if k % 4 == 0 or section["kick"][k]:
                    _add(out, at, kit["kick"], 0.9)
                if k % 4 == 2 or section["snare"][k]:
                    _add(out, at, kit["snare"], 0.7)
                _add(out, at, kit["hat"], float(rng.uniform(0.5, 1.0)))
            time += bar
    out = out[: int(duration * rate)]
    return (0.9 / max(float(np.abs(out).max()), 1e-9)) * out
