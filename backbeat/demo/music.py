"""Music synthesis: a composition (key, chords, melody) rendered by a production (tempo, timbre, drums).

The split mirrors the rights model: a work is a composition, a recording is one production of it, so the
two recordings of a remixed work share their notes but not their tempo or sound. Rendering is vectorised
numpy: each distinct note (pitch, length, voice) is synthesised once as a template and then added at
every onset, which keeps a three-minute track well under 100 ms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MUSIC_SR = 22050
GENRES = ("ambient", "house", "pop", "jazz", "rock", "hip-hop")
TARGET_RMS = 10 ** (-14 / 20)
PEAK_CEILING = 10 ** (-1 / 20)
STEPS_PER_BAR = 16  # sixteenth notes
PHRASE_BARS = 4
_TABLE_SIZE = 4096  # samples per wavetable cycle; a power of two, so wrapping is a bit mask

_SCALES = (
    (0, 2, 4, 5, 7, 9, 11),  # major
    (0, 2, 3, 5, 7, 8, 10),  # natural minor
    (0, 2, 3, 5, 7, 9, 10),  # dorian
    (0, 2, 4, 5, 7, 9, 10),  # mixolydian
)
# Scale degrees of the chord roots, one per bar of a four-bar phrase.
_PROGRESSIONS = (
    (0, 4, 5, 3),
    (0, 5, 3, 4),
    (0, 3, 4, 4),
    (5, 3, 0, 4),
    (1, 4, 0, 0),
    (0, 3, 0, 4),
    (0, 2, 3, 4),
    (5, 4, 3, 4),
    (0, 0, 3, 5),
)
_TEMPO_RANGES = {
    "ambient": (70, 92),
    "house": (118, 128),
    "pop": (92, 126),
    "jazz": (80, 150),
    "rock": (104, 160),
    "hip-hop": (78, 100),
}
# Drum patterns on the 16-step grid: (kick, snare, hat) steps per bar.
_DRUM_PATTERNS = {
    "ambient": ((0,), (12,), (0, 8)),
    "house": ((0, 4, 8, 12), (4, 12), (2, 6, 10, 14)),
    "pop": ((0, 8, 10), (4, 12), (0, 2, 4, 6, 8, 10, 12, 14)),
    "jazz": ((0, 10), (7, 15), (0, 4, 6, 8, 12, 14)),
    "rock": ((0, 6, 8), (4, 12), (0, 2, 4, 6, 8, 10, 12, 14)),
    "hip-hop": ((0, 7, 10), (4, 12), (0, 2, 4, 6, 8, 10, 12, 14)),
}
# Mix levels (melody, pad, bass, drums) per genre.
_LEVELS = {
    "ambient": (0.55, 0.35, 0.30, 0.12),
    "house": (0.45, 0.18, 0.45, 0.55),
    "pop": (0.55, 0.20, 0.40, 0.45),
    "jazz": (0.55, 0.22, 0.40, 0.25),
    "rock": (0.50, 0.25, 0.45, 0.55),
    "hip-hop": (0.50, 0.15, 0.50, 0.55),
}


@dataclass(frozen=True)
class Note:
    """One melody note of a phrase: onset step, length in steps, scale degree (7 = one octave up)."""

    step: int
    length: int
    degree: int


@dataclass(frozen=True)
class Composition:
    """What a work is: key, scale, chord progressions and melodies for a verse and a chorus."""

    root_midi: int
    scale: tuple[int, ...]
    verse_chords: tuple[int, ...]
    chorus_chords: tuple[int, ...]
    verse_melody: tuple[Note, ...]
    chorus_melody: tuple[Note, ...]


@dataclass(frozen=True)
class Production:
    """How a recording sounds: tempo, swing, melody timbre, bass rhythm and drum pattern."""

    genre: str
    tempo: float
    swing: float
    harmonics: tuple[float, ...]
    attack_s: float
    decay_s: float
    bass_steps: tuple[int, ...]
    kick_steps: tuple[int, ...]
    snare_steps: tuple[int, ...]
    hat_steps: tuple[int, ...]


def compose(rng: np.random.Generator) -> Composition:
    """Draw a composition: a key between C3 and B3, a scale, two progressions and two melodies."""
    scale = _SCALES[int(rng.integers(len(_SCALES)))]
    verse, chorus = (_PROGRESSIONS[int(i)] for i in rng.choice(len(_PROGRESSIONS), size=2, replace=False))
    return Composition(
        root_midi=int(rng.integers(48, 60)),
        scale=scale,
        verse_chords=verse,
        chorus_chords=chorus,
        verse_melody=_melody(rng, verse),
        chorus_melody=_melody(rng, chorus),
    )


def _melody(rng: np.random.Generator, chords: tuple[int, ...]) -> tuple[Note, ...]:
    """A four-bar melody on the eighth-note grid: a random walk over the scale, landing on chord tones."""
    onset_probability = {0: 0.95, 4: 0.7, 8: 0.8, 12: 0.7}
    onsets = [
        step
        for step in range(0, PHRASE_BARS * STEPS_PER_BAR, 2)
        if rng.random() < onset_probability.get(step % STEPS_PER_BAR, 0.45)
    ]
    notes = []
    degree = int(rng.integers(7, 12))
    for i, step in enumerate(onsets):
        gap = (onsets[i + 1] if i + 1 < len(onsets) else PHRASE_BARS * STEPS_PER_BAR) - step
        degree = int(np.clip(degree + rng.choice([-2, -1, -1, 0, 1, 1, 2, 3, -3]), 4, 15))
        if step % STEPS_PER_BAR == 0:
            chord_root = chords[step // STEPS_PER_BAR]
            tones = [chord_root + k + 7 * octave for octave in (0, 1, 2) for k in (0, 2, 4)]
            degree = min(tones, key=lambda tone: abs(tone - degree))
        notes.append(Note(step=step, length=int(min(gap, 8)), degree=degree))
    return tuple(notes)


def produce(rng: np.random.Generator, genre: str) -> Production:
    """Draw a production for `genre`: tempo in the genre's range, timbre and a varied drum pattern."""
    low, high = _TEMPO_RANGES[genre]
    n_harmonics = int(rng.integers(3, 7))
    rolloff = rng.uniform(0.6, 1.4)
    harmonics = tuple(float(k**-rolloff * rng.uniform(0.6, 1.0)) for k in range(1, n_harmonics + 1))
    kick, snare, hat = (set(steps) for steps in _DRUM_PATTERNS[genre])
    # Each recording gets a few extra hits so two songs of one genre do not share a groove.
    kick |= {int(s) for s in rng.choice(np.arange(2, 16, 2), size=int(rng.integers(0, 2)), replace=False)}
    hat |= {int(s) for s in rng.choice(np.arange(1, 16, 2), size=int(rng.integers(0, 4)), replace=False)}
    bass_extra = rng.choice(np.arange(2, 16, 2), size=int(rng.integers(1, 4)))
    bass_steps = sorted({0, 8} | {int(s) for s in bass_extra})
    return Production(
        genre=genre,
        tempo=float(round(rng.uniform(low, high), 1)),
        swing=float(rng.uniform(0.12, 0.3)) if genre in ("jazz", "hip-hop") else 0.0,
        harmonics=harmonics,
        attack_s=float(rng.uniform(0.005, 0.035)),
        decay_s=float(rng.uniform(0.18, 0.6)),
        bass_steps=tuple(bass_steps),
        kick_steps=tuple(sorted(kick)),
        snare_steps=tuple(sorted(snare)),
        hat_steps=tuple(sorted(hat)),
    )


def render(
    composition: Composition, production: Production, n_samples: int, sr: int, rng: np.random.Generator
) -> np.ndarray:
    """Render `n_samples` of mono float32 audio at `sr`, normalised to -14 dBFS RMS with peaks below -1 dBFS.

    `rng` supplies the drum noise and the small per-section melody variations.
    """
    step_samples = 60.0 / production.tempo / 4 * sr
    bar_samples = int(round(step_samples * STEPS_PER_BAR))
    n_bars = int(np.ceil(n_samples / bar_samples)) + 1
    melody_level, pad_level, bass_level, drum_level = _LEVELS[production.genre]
    voices = _Voices(production, sr, rng)
    out = np.zeros(n_samples + 2 * bar_samples, dtype=np.float32)

    def onset(bar: int, step: int) -> int:
        swing = production.swing * 2 * step_samples if step % 4 == 2 else 0.0
        return int(round(bar * bar_samples + step * step_samples + swing))

    for bar in range(n_bars):
        section = _section(bar // PHRASE_BARS)
        chords = composition.verse_chords if section != "chorus" else composition.chorus_chords
        chord = chords[bar % PHRASE_BARS]
        for k in (0, 2, 4):
            _add(out, onset(bar, 0), voices.pad(_midi(composition, chord + k), bar_samples), pad_level)
        for i, step in enumerate(production.bass_steps):
            end = production.bass_steps[i + 1] if i + 1 < len(production.bass_steps) else STEPS_PER_BAR
            degree = chord - 7 if step != 8 or rng.random() < 0.7 else chord - 3  # sometimes the fifth
            length = int(round((end - step) * step_samples))
            _add(out, onset(bar, step), voices.bass(_midi(composition, degree), length), bass_level)
        if section != "intro":
            melody = composition.verse_melody if section == "verse" else composition.chorus_melody
            first = (bar % PHRASE_BARS) * STEPS_PER_BAR
            for note in melody:
                if first <= note.step < first + STEPS_PER_BAR:
                    degree = note.degree + (int(rng.choice([-1, 1])) if rng.random() < 0.06 else 0)
                    length = int(round(note.length * step_samples))
                    velocity = melody_level * (1.0 if note.step % 4 == 0 else 0.8)
                    _add(out, onset(bar, note.step - first), voices.lead(_midi(composition, degree), length), velocity)
        for steps, template, level in (
            (production.kick_steps, voices.kick, 1.0),
            (production.snare_steps, voices.snare, 0.6),
            (production.hat_steps, voices.hat, 0.25),
        ):
            for step in steps:
                _add(out, onset(bar, step), template, drum_level * level * (0.85 + 0.15 * (step % 4 == 0)))
    return _master(out[:n_samples], sr)


def _section(phrase: int) -> str:
    if phrase == 0:
        return "intro"
    return "verse" if phrase % 3 == 1 else "chorus"


def _midi(composition: Composition, degree: int) -> int:
    octave, index = divmod(degree, len(composition.scale))
    return composition.root_midi + 12 * octave + composition.scale[index]


def _add(out: np.ndarray, start: int, template: np.ndarray, gain: float) -> None:
    end = min(start + template.size, out.size)
    if end > start:
        out[start:end] += gain * template[: end - start]


def _master(audio: np.ndarray, sr: int) -> np.ndarray:
    """Fade the edges and set the level: about -14 dBFS RMS with every peak below -1 dBFS.

    Drum hits sit far above the RMS, so a soft knee at -3 dBFS rounds them off first; without it, a
    peak-safe gain would leave drum-heavy genres several dB quieter than ambient ones.
    """
    fade_in, fade_out = min(int(0.3 * sr), audio.size // 4), min(int(1.5 * sr), audio.size // 4)
    audio[:fade_in] *= np.linspace(0.0, 1.0, fade_in, dtype=np.float32)
    audio[audio.size - fade_out :] *= np.linspace(1.0, 0.0, fade_out, dtype=np.float32)
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    if rms == 0.0:
        return audio
    audio = audio * np.float32(TARGET_RMS / rms)
    knee, headroom = 0.7, 0.25
    loud = np.abs(audio) > knee
    audio[loud] = np.sign(audio[loud]) * (knee + headroom * np.tanh((np.abs(audio[loud]) - knee) / headroom))
    peak = float(np.max(np.abs(audio)))
    return (audio * min(1.0, PEAK_CEILING / peak)).astype(np.float32)


class _Voices:
    """Note and drum templates of one recording, synthesised once and reused at every onset."""

    def __init__(self, production: Production, sr: int, rng: np.random.Generator):
        self._production = production
        self._sr = sr
        self._cache: dict[tuple[str, int, int], np.ndarray] = {}
        self.kick = _kick(sr, rng)
        self.snare = _snare(sr, rng)
        self.hat = _hat(sr, rng)

    def lead(self, midi: int, length: int) -> np.ndarray:
        p = self._production
        return self._tone("lead", midi, length, p.harmonics, p.attack_s, p.decay_s, 0.25, 0.04)

    def pad(self, midi: int, length: int) -> np.ndarray:
        return self._tone("pad", midi, length, (1.0, 0.35, 0.15), 0.25, 1.2, 0.6, 0.3)

    def bass(self, midi: int, length: int) -> np.ndarray:
        return self._tone("bass", midi, length, (1.0, 0.5, 0.25, 0.1), 0.006, 0.25, 0.35, 0.03)

    def _tone(
        self,
        voice: str,
        midi: int,
        length: int,
        harmonics: tuple[float, ...],
        attack_s: float,
        decay_s: float,
        sustain: float,
        release_s: float,
    ) -> np.ndarray:
        key = (voice, midi, length)
        if key not in self._cache:
            envelope_key = (voice, -1, length)
            if envelope_key not in self._cache:
                self._cache[envelope_key] = _envelope(length, self._sr, attack_s, decay_s, sustain, release_s)
            envelope = self._cache[envelope_key]
            freq = 440.0 * 2 ** ((midi - 69) / 12)
            self._cache[key] = _wave(freq, envelope.size, self._sr, harmonics) * envelope
        return self._cache[key]


def _wave(freq: float, n: int, sr: int, harmonics: tuple[float, ...]) -> np.ndarray:
    """`n` samples of a harmonic tone, read from a one-cycle wavetable (a few times faster than `sin`)."""
    ks = np.arange(1, len(harmonics) + 1)
    amps = np.where(ks * freq < 0.45 * sr, np.asarray(harmonics), 0.0)  # nothing above Nyquist
    cycle = np.sin(2 * np.pi * np.outer(np.arange(_TABLE_SIZE) / _TABLE_SIZE, ks)) @ (amps / amps.sum())
    index = (np.arange(n) * (freq * _TABLE_SIZE / sr)).astype(np.int64) & (_TABLE_SIZE - 1)
    return cycle.astype(np.float32)[index]


def _envelope(length: int, sr: int, attack_s: float, decay_s: float, sustain: float, release_s: float) -> np.ndarray:
    """Attack, decay to the sustain level, then a linear release after `length` samples."""
    release = int(release_s * sr)
    t = np.arange(length + release, dtype=np.float32) / np.float32(sr)
    decay = sustain + (1 - sustain) * np.exp(-t / np.float32(decay_s))
    env = np.minimum(t / np.float32(attack_s), 1.0) * decay
    env[length:] *= np.linspace(1.0, 0.0, release, dtype=np.float32)
    return env.astype(np.float32)


def _kick(sr: int, rng: np.random.Generator) -> np.ndarray:
    """A sine dropping from about 140 Hz to 50 Hz; tuned per recording, as producers pick their own kick."""
    t = np.arange(int(0.35 * sr)) / sr
    freq = rng.uniform(40, 60) + rng.uniform(70, 120) * np.exp(-t / rng.uniform(0.025, 0.045))
    decay = np.exp(-t / rng.uniform(0.12, 0.22))
    return (np.sin(2 * np.pi * np.cumsum(freq) / sr) * decay).astype(np.float32)


def _snare(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.25 * sr)) / sr
    noise = np.diff(rng.standard_normal(t.size + 1))
    body = np.sin(2 * np.pi * rng.uniform(160, 230) * t) * np.exp(-t / 0.045)
    return ((0.35 * noise * np.exp(-t / 0.08)) + 0.6 * body).astype(np.float32)


def _hat(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.08 * sr)) / sr
    noise = np.diff(rng.standard_normal(t.size + 2), n=2) / 2
    return (noise * np.exp(-t / 0.02)).astype(np.float32)
