"""Radio simulator over real music: stations airing catalog and non-catalog songs, DJ talk, crossfades,
broadcast-chain degradation, cut into 30 s MP3 (or, off air, AAC) chunks named like the landing folder, plus
the ground truth.

    .venv/bin/python bench/airplay/simulate.py --hours 1 --stations-per-profile 2 --seed 7

Writes under ``bench/.work/airplay/`` (gitignored):

- ``chunks/{station}_{YYYYmmddTHHMMSSZ}.mp3`` (``.m4a`` for an AAC capture) — every station's air, 30 s per
  file;
- ``truth.csv`` — one row per catalog play: station_id, track_id, start_utc, end_utc, profile, speed, tempo
  (speed: resampled, pitch and tempo together; tempo: time-stretched with the pitch kept; 1 = unchanged);
- ``schedule.csv`` — everything aired (catalog, outside music, talk), for inspecting a miss;
- ``stations.csv`` and ``catalog.csv`` — station profiles, codecs and the parameters drawn for each station's
  chain; the catalog the engines index.

Deterministic for a seed: every random choice comes from one generator per station.
"""

from __future__ import annotations

import argparse
import csv
import functools
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import imageio_ffmpeg
import librosa
import numpy as np
import soundfile as sf
import soxr
from scipy import signal

sys.path.insert(0, str(Path(__file__).resolve().parent))
from debmusic import AIRPLAY, Track, catalog_tracks, outside_tracks  # noqa: E402

SR = 44100
CHUNK_S = 30
START_UTC = datetime(2026, 11, 2, 6, 0, 0)


@dataclass(frozen=True)
class Profile:
    """One degradation chain; each profile gets its own stations."""

    name: str
    snr_db: float | None
    band_hz: tuple[float, float] | None
    compress: bool
    bitrates_kbps: tuple[int, ...]
    speed_share: float  # share of plays aired at 1 ± 1-4 % speed
    talk_over_share: float  # share of songs with the DJ talking over the intro
    # A time compressor (tempo changed, pitch kept): every song the station airs is stretched by one of
    # TEMPO_ALGORITHMS at a ratio drawn from this range, both drawn per play. (One ratio per station left
    # three stations at 1.006, 1.013, ...: a sliver of the range, and a setting one could tune for.)
    tempo_range: tuple[float, float] | None = None
    # Captured off air (receiver or microphone in a room): see ``OffAir`` for what is drawn per station.
    off_air: bool = False


PROFILES = {
    "clean": Profile("clean", None, None, False, (128,), 0.0, 0.0),
    "fm": Profile("fm", 20.0, (50.0, 15000.0), True, (96, 112, 128), 0.0, 0.35),
    "hard": Profile("hard", 10.0, (50.0, 15000.0), True, (48,), 0.5, 0.5),
    # Issue 19. New profiles go after the old ones: a station's generator is seeded by its profile's position,
    # so the old profiles' air is unchanged.
    "tempo": Profile("tempo", 20.0, (50.0, 15000.0), True, (96, 112, 128), 0.0, 0.35, tempo_range=(0.96, 1.06)),
    "offair": Profile("offair", None, None, True, (24, 32, 40, 48), 0.0, 0.35, off_air=True),
}
# WSOLA (ffmpeg's atempo), Rubber Band's phase vocoder (ffmpeg's rubberband filter) and librosa's plain
# phase vocoder: three ways a station's time compressor may smear the peaks a fingerprint keys on.
TEMPO_ALGORITHMS = ("atempo", "rubberband", "librosa")


@dataclass(frozen=True)
class OffAir:
    """One off-air capture chain, drawn per station (see ``draw_off_air``)."""

    rt60_s: float  # room reverberation time
    direct_to_reverb_db: float
    band_hz: tuple[float, float]  # receiver / microphone band, telephone-like (300-3400 Hz) up to 8 kHz
    noise: str  # pink | brown
    snr_db: float  # in the captured band, against the programme's mean power
    codec: str  # mp3 | aac
    sample_rate: int  # what a low-bitrate encoder stores

    def describe(self) -> str:
        low, high = self.band_hz
        return (
            f"RT60 {self.rt60_s:.2f} s, DRR {self.direct_to_reverb_db:+.1f} dB, band {low:.0f}-{high:.0f} Hz, "
            f"{self.noise} noise {self.snr_db:.1f} dB SNR, {self.codec} at {self.sample_rate} Hz"
        )


def draw_off_air(rng: np.random.Generator, bitrate: int) -> OffAir:
    """A station's off-air chain, each parameter drawn from the issue's ranges."""
    high = float(rng.uniform(3400.0, 8000.0))
    codec = str(rng.choice(("mp3", "aac")))
    # LAME and ffmpeg's AAC encoder store 24-32 kbps mono at 16 kHz, 40-48 kbps at 22.05 kHz.
    return OffAir(
        rt60_s=float(rng.uniform(0.3, 0.8)),
        direct_to_reverb_db=float(rng.uniform(-3.0, 3.0)),
        band_hz=(float(rng.uniform(100.0, 300.0)), high),
        noise=str(rng.choice(("pink", "brown"))),
        snr_db=float(rng.uniform(0.0, 10.0)),
        codec=codec,
        sample_rate=16000 if bitrate <= 32 else 22050,
    )


# DJ patter for espeak-ng; rendered once into bench/.work/airplay/talk/.
TALK_LINES = (
    "You are listening to Backbeat radio, the best mix in town. Stay with us.",
    "That was a beautiful one. Coming up next, something for the late shift.",
    "Traffic update: the ring road is slow near the harbour, so take the bridge instead.",
    "Good morning everybody, it is a quarter past seven and the sun is finally out.",
    "Here is a track our listeners keep asking for. Turn it up!",
    "Weather now: clouds in the afternoon, twelve degrees, light wind from the west.",
    "Call us on the request line, we are taking your dedications all morning.",
    "This next one goes out to Maria, who is driving to work right now.",
    "News at the top of the hour. Before that, one more song.",
    "Win two tickets for the festival this weekend. Stay tuned to find out how.",
    "And that brings us to the end of our classic hour. Thanks for listening.",
    "Here is a brand new track from an artist we love. Let us know what you think.",
)
VOICES = ("en-us", "en-gb", "en-us+f3", "en+m3", "en-gb-x-rp", "en+f2")


@dataclass
class Item:
    """One thing placed on a station's timeline (positions in samples at SR)."""

    kind: str  # catalog | outside | talk
    name: str
    start: int
    length: int
    speed: float = 1.0
    track_offset_s: float = 0.0
    tempo: float = 1.0
    stretch: str = ""  # the time-stretch algorithm, when tempo != 1


@functools.cache
def load(path: Path) -> np.ndarray:
    """A file as float32 mono at SR, peak-normalised (stations level their music)."""
    samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
    mono = samples.mean(axis=1, dtype=np.float32)
    if rate != SR:
        mono = soxr.resample(mono, rate, SR, quality="HQ").astype(np.float32)
    peak = float(np.max(np.abs(mono))) or 1.0
    return mono * np.float32(0.9 / peak)


def render_talk(folder: Path) -> list[Path]:
    """Every talk line with espeak-ng, in a few voices and speeds (cached)."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise SystemExit("espeak-ng not found: apt-get install espeak-ng (benchmark only)")
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, line in enumerate(TALK_LINES):
        for j, voice in enumerate(VOICES[:2]):
            path = folder / f"talk{i:02d}_{j}.wav"
            if not path.exists():
                speed = str(150 + 12 * ((i + j) % 4))
                voice_name = VOICES[(i + 2 * j) % len(VOICES)] if j else voice
                subprocess.run([espeak, "-v", voice_name, "-s", speed, "-w", str(path), line], check=True)
            paths.append(path)
    return paths


def _fade(audio: np.ndarray, fade_in: int, fade_out: int) -> np.ndarray:
    audio = audio.copy()
    if fade_in:
        audio[:fade_in] *= np.linspace(0.0, 1.0, fade_in, dtype=np.float32)
    if fade_out:
        audio[-fade_out:] *= np.linspace(1.0, 0.0, fade_out, dtype=np.float32)
    return audio


def _speed_change(audio: np.ndarray, speed: float) -> np.ndarray:
    # Playing a record faster = resampling: pitch and tempo scale together.
    return soxr.resample(audio, SR, SR / speed, quality="HQ").astype(np.float32)


def _ffmpeg_filter(audio: np.ndarray, chain: str) -> np.ndarray:
    """``audio`` (float32 mono at SR) through an ffmpeg audio filter chain."""
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-f", "f32le", "-ar", str(SR)]
    cmd += ["-ac", "1", "-i", "pipe:0", "-af", chain, "-f", "f32le", "-ac", "1", "pipe:1"]
    out = subprocess.run(cmd, input=audio.tobytes(), capture_output=True, check=True).stdout
    return np.frombuffer(out, dtype=np.float32).copy()


def time_stretch(audio: np.ndarray, tempo: float, algorithm: str) -> np.ndarray:
    """The audio played ``tempo`` times as fast with its pitch kept (a station's time compressor)."""
    if algorithm == "atempo":
        return _ffmpeg_filter(audio, f"atempo={tempo:.6f}")
    if algorithm == "rubberband":
        return _ffmpeg_filter(audio, f"rubberband=tempo={tempo:.6f}")
    if algorithm == "librosa":
        return librosa.effects.time_stretch(audio, rate=tempo).astype(np.float32)
    raise ValueError(f"unknown time-stretch algorithm {algorithm!r}")


def program(
    rng: np.random.Generator,
    profile: Profile,
    total: int,
    catalog: list[Track],
    outside: list[Track],
    talk: list[Path],
) -> tuple[np.ndarray, list[Item]]:
    """One station's undegraded air: a song after another with crossfades, DJ breaks and talk-overs; with a
    time compressor (``profile.tempo_range``) every song is time-stretched."""
    air = np.zeros(total, dtype=np.float32)
    items: list[Item] = []
    pos = 0
    while pos < total:
        if items and rng.random() < 0.18:  # a DJ break between songs
            clip = load(talk[rng.integers(len(talk))]) * np.float32(0.8)
            n = min(clip.size, total - pos)
            air[pos : pos + n] += clip[:n]
            items.append(Item("talk", "dj", pos, n))
            pos += n + int(rng.uniform(0.2, 1.0) * SR)
            continue
        # The last minute or so goes to non-catalog music, so no catalog play is cut short by the end of the
        # simulated window (a 20 s stub of a play would be a miss no engine could avoid).
        is_catalog = rng.random() < 0.75 and total - pos > 90 * SR
        track = (catalog if is_catalog else outside)[rng.integers(len(catalog if is_catalog else outside))]
        song = load(track.path)
        offset = 0
        if rng.random() < 0.35 and song.size > 75 * SR:  # an excerpt: 35-120 s from somewhere in the song
            length = int(rng.uniform(35, 120) * SR)
            offset = int(rng.uniform(0, max(1, song.size - length)))
            song = song[offset : offset + length]
        speed = 1.0
        if rng.random() < profile.speed_share:
            speed = float(1 + rng.choice((-1, 1)) * rng.uniform(0.01, 0.04))
            song = _speed_change(song, speed)
        tempo, stretch = 1.0, ""
        if profile.tempo_range is not None:
            tempo = float(rng.uniform(*profile.tempo_range))
            stretch = str(rng.choice(TEMPO_ALGORITHMS))
            song = time_stretch(song, tempo, stretch)
        crossfade = int(rng.uniform(2, 6) * SR)
        song = _fade(song, int(0.5 * SR) if offset else 0, min(crossfade, song.size // 4))
        if rng.random() < profile.talk_over_share:  # the DJ talks over the intro, music ducked under the voice
            clip = load(talk[rng.integers(len(talk))])
            at = int(rng.uniform(0.0, 2.0) * SR)
            n = min(clip.size, song.size - at)
            duck = np.ones(song.size, dtype=np.float32)
            duck[at : at + n] = 0.35
            song = song * duck
            song[at : at + n] += clip[:n] * np.float32(0.8)
            items.append(Item("talk", "dj-over-intro", pos + at, n))
        n = min(song.size, total - pos)
        air[pos : pos + n] += song[:n]
        kind = "catalog" if is_catalog else "outside"
        items.append(Item(kind, track.track_id, pos, n, speed, offset / SR, tempo, stretch))
        pos += max(n - crossfade, SR)
    return air, items


def _compress(air: np.ndarray, threshold_db: float = -20.0, ratio: float = 4.0) -> np.ndarray:
    """Broadcast-style compression: a 50 ms RMS detector, 4:1 above the threshold, make-up gain, soft clip."""
    alpha = 1.0 - np.exp(-1.0 / (0.05 * SR))
    power = signal.lfilter([alpha], [1.0, alpha - 1.0], air.astype(np.float64) ** 2)
    level_db = 10.0 * np.log10(np.maximum(power, 1e-10))
    gain_db = np.where(level_db > threshold_db, (threshold_db - level_db) * (1.0 - 1.0 / ratio), 0.0)
    out = air * (10.0 ** ((gain_db + 8.0) / 20.0)).astype(np.float32)
    return np.tanh(out).astype(np.float32)


def degrade(rng: np.random.Generator, profile: Profile, air: np.ndarray) -> np.ndarray:
    """The broadcast chain: band-limit, compression, additive noise at the profile's SNR."""
    if profile.band_hz:
        sos = signal.butter(4, profile.band_hz, btype="bandpass", fs=SR, output="sos")
        air = signal.sosfilt(sos, air).astype(np.float32)
    if profile.compress:
        air = _compress(air)
    if profile.snr_db is not None:
        # SNR against the programme's mean power: quiet passages end up well below it, like real reception.
        power = float(np.mean(air.astype(np.float64) ** 2))
        noise = rng.standard_normal(air.size, dtype=np.float32)
        air = air + noise * np.float32(np.sqrt(power / 10 ** (profile.snr_db / 10)))
    peak = float(np.quantile(np.abs(air[::97]), 0.9999)) or 1.0
    return np.clip(air * np.float32(0.95 / peak), -1.0, 1.0)


def _room_response(rng: np.random.Generator, chain: OffAir) -> np.ndarray:
    """A synthetic room impulse response: the direct path, then exponentially decaying noise (−60 dB at
    RT60) after a few ms, its energy set by the direct-to-reverberant ratio."""
    n = int(1.2 * chain.rt60_s * SR)
    t = np.arange(n) / SR
    tail = rng.standard_normal(n) * np.exp(-3.0 * np.log(10.0) * t / chain.rt60_s)
    tail[: int(rng.uniform(0.003, 0.015) * SR)] = 0.0
    tail *= np.sqrt(10 ** (-chain.direct_to_reverb_db / 10) / np.sum(tail**2))
    tail[0] = 1.0
    return tail.astype(np.float32)


def _coloured_noise(rng: np.random.Generator, n: int, colour: str) -> np.ndarray:
    """Pink (−3 dB/octave, Kellet's filter) or brown (−6 dB/octave, leaky integrator) noise."""
    white = rng.standard_normal(n, dtype=np.float32)
    if colour == "pink":
        b, a = [0.049922035, -0.095993537, 0.050612699, -0.004408786], [1.0, -2.494956002, 2.017265875, -0.5221894]
    else:
        b, a = [1.0], [1.0, -0.998]
    return signal.lfilter(b, a, white).astype(np.float32)


def off_air(rng: np.random.Generator, chain: OffAir, air: np.ndarray) -> np.ndarray:
    """A receiver or microphone in a room: reverberation, a narrow band, coloured noise at the station's SNR
    (measured in the band, after the room), peak-normalised for the encoder."""
    air = signal.oaconvolve(air, _room_response(rng, chain))[: air.size].astype(np.float32)
    sos = signal.butter(4, chain.band_hz, btype="bandpass", fs=SR, output="sos")
    air = signal.sosfilt(sos, air).astype(np.float32)
    noise = signal.sosfilt(sos, _coloured_noise(rng, air.size, chain.noise)).astype(np.float32)
    power, noise_power = (float(np.mean(x.astype(np.float64) ** 2)) for x in (air, noise))
    air += noise * np.float32(np.sqrt(power / noise_power / 10 ** (chain.snr_db / 10)))
    peak = float(np.quantile(np.abs(air[::97]), 0.9999)) or 1.0
    return np.clip(air * np.float32(0.95 / peak), -1.0, 1.0)


def encode_chunks(
    air: np.ndarray,
    station: str,
    bitrate: int,
    folder: Path,
    jobs: int,
    codec: str = "mp3",
    sample_rate: int | None = None,
) -> int:
    """Cut the air into 30 s chunks and encode each on its own, as a stream recorder would: MP3 (libmp3lame)
    or AAC in .m4a (ffmpeg's native encoder), at ``sample_rate`` when given (low-bitrate captures)."""
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    step = CHUNK_S * SR
    encoder, suffix = {"mp3": ("libmp3lame", "mp3"), "aac": ("aac", "m4a")}[codec]
    rate = ["-ar", str(sample_rate)] if sample_rate else []

    def one(i: int) -> None:
        start = START_UTC + timedelta(seconds=i * CHUNK_S)
        out = folder / f"{station}_{start:%Y%m%dT%H%M%SZ}.{suffix}"
        cmd = [
            ffmpeg,
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "f32le",
            "-ar",
            str(SR),
            "-ac",
            "1",
            "-i",
            "pipe:0",
            "-c:a",
            encoder,
            "-b:a",
            f"{bitrate}k",
            *rate,
            str(out),
        ]
        subprocess.run(cmd, input=air[i * step : (i + 1) * step].tobytes(), check=True)

    n = air.size // step
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(one, range(n)))
    return n


def _iso(sample: int) -> str:
    moment = START_UTC + timedelta(seconds=sample / SR)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=1.0, help="hours of air per station")
    parser.add_argument("--stations-per-profile", type=int, default=2)
    parser.add_argument("--profiles", default=",".join(PROFILES))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--jobs", type=int, default=2, help="parallel MP3 encoders")
    parser.add_argument("--out", type=Path, default=AIRPLAY)
    args = parser.parse_args()

    out: Path = args.out
    chunks = out / "chunks"
    if chunks.exists():
        shutil.rmtree(chunks)
    chunks.mkdir(parents=True)
    catalog, outside = catalog_tracks(), outside_tracks()
    talk = render_talk(out / "talk")
    with open(out / "catalog.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["track_id", "path", "package"])
        writer.writerows((t.track_id, str(t.path), t.package) for t in catalog)

    total = int(args.hours * 3600 / CHUNK_S) * CHUNK_S * SR
    truth_rows, schedule_rows, station_rows = [], [], []
    for name in args.profiles.split(","):
        profile = PROFILES[name]
        for s in range(args.stations_per_profile):
            began = time.perf_counter()
            station = f"{name}-{s + 1}"
            # Seeded by the profile's fixed position, so a station's air does not depend on --profiles order.
            rng = np.random.default_rng([args.seed, list(PROFILES).index(name), s])
            # The issue-19 chains' own draws come from a second generator, so the old profiles' are untouched.
            chain_rng = np.random.default_rng([args.seed, list(PROFILES).index(name), s, 19])
            air, items = program(rng, profile, total, catalog, outside, talk)
            air = degrade(rng, profile, air)
            bitrate = int(rng.choice(profile.bitrates_kbps))
            codec, rate, described = "mp3", None, ""
            if profile.tempo_range is not None:
                low, high = profile.tempo_range
                described = f"tempo {low:g}-{high:g} per play ({', '.join(TEMPO_ALGORITHMS)})"
            if profile.off_air:
                chain = draw_off_air(chain_rng, bitrate)
                air = off_air(chain_rng, chain, air)
                codec, rate, described = chain.codec, chain.sample_rate, chain.describe()
            n_chunks = encode_chunks(air, station, bitrate, chunks, args.jobs, codec, rate)
            station_rows.append((station, name, bitrate, n_chunks, args.hours, codec, described))
            for item in items:
                row = (
                    station,
                    item.kind,
                    item.name,
                    _iso(item.start),
                    _iso(item.start + item.length),
                    f"{item.speed:.4f}",
                    f"{item.track_offset_s:.3f}",
                    f"{item.tempo:.4f}",
                    item.stretch,
                )
                schedule_rows.append(row)
                if item.kind == "catalog":
                    truth_rows.append((station, item.name, row[3], row[4], name, row[5], row[7]))
            plays = sum(1 for i in items if i.kind == "catalog")
            print(
                f"{station}: {n_chunks} {codec} chunks at {bitrate} kbps, {plays} catalog plays, "
                f"{len(items) - plays} other items{'; ' + described if described else ''} "
                f"({time.perf_counter() - began:.1f} s)",
                flush=True,
            )

    for filename, header, rows in (
        ("truth.csv", ["station_id", "track_id", "start_utc", "end_utc", "profile", "speed", "tempo"], truth_rows),
        (
            "schedule.csv",
            ["station_id", "kind", "name", "start_utc", "end_utc", "speed", "track_offset_s", "tempo", "stretch"],
            schedule_rows,
        ),
        (
            "stations.csv",
            ["station_id", "profile", "bitrate_kbps", "chunks", "hours", "codec", "chain"],
            station_rows,
        ),
    ):
        with open(out / filename, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
    print(f"{len(catalog)} catalog tracks, {len(outside)} outside tracks, {len(truth_rows)} catalog plays -> {out}")


if __name__ == "__main__":
    main()
