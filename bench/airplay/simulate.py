"""Radio simulator over real music: stations airing catalog and non-catalog songs, DJ talk, crossfades,
broadcast-chain degradation, cut into 30 s MP3 chunks named like the landing folder, plus the ground truth.

    .venv/bin/python bench/airplay/simulate.py --hours 1 --stations-per-profile 2 --seed 7

Writes under ``bench/.work/airplay/`` (gitignored):

- ``chunks/{station}_{YYYYmmddTHHMMSSZ}.mp3`` — every station's air, 30 s per file;
- ``truth.csv`` — one row per catalog play: station_id, track_id, start_utc, end_utc, profile, speed;
- ``schedule.csv`` — everything aired (catalog, outside music, talk), for inspecting a miss;
- ``stations.csv`` and ``catalog.csv`` — station profiles and bitrates; the catalog the engines index.

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


PROFILES = {
    "clean": Profile("clean", None, None, False, (128,), 0.0, 0.0),
    "fm": Profile("fm", 20.0, (50.0, 15000.0), True, (96, 112, 128), 0.0, 0.35),
    "hard": Profile("hard", 10.0, (50.0, 15000.0), True, (48,), 0.5, 0.5),
}

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


def program(
    rng: np.random.Generator,
    profile: Profile,
    total: int,
    catalog: list[Track],
    outside: list[Track],
    talk: list[Path],
) -> tuple[np.ndarray, list[Item]]:
    """One station's undegraded air: a song after another with crossfades, DJ breaks and talk-overs."""
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
        items.append(Item("catalog" if is_catalog else "outside", track.track_id, pos, n, speed, offset / SR))
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


def encode_chunks(air: np.ndarray, station: str, bitrate: int, folder: Path, jobs: int) -> int:
    """Cut the air into 30 s chunks and encode each as its own MP3, as a stream recorder would."""
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    step = CHUNK_S * SR

    def one(i: int) -> None:
        start = START_UTC + timedelta(seconds=i * CHUNK_S)
        out = folder / f"{station}_{start:%Y%m%dT%H%M%SZ}.mp3"
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
            "libmp3lame",
            "-b:a",
            f"{bitrate}k",
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
            air, items = program(rng, profile, total, catalog, outside, talk)
            air = degrade(rng, profile, air)
            bitrate = int(rng.choice(profile.bitrates_kbps))
            n_chunks = encode_chunks(air, station, bitrate, chunks, args.jobs)
            station_rows.append((station, name, bitrate, n_chunks, args.hours))
            for item in items:
                row = (
                    station,
                    item.kind,
                    item.name,
                    _iso(item.start),
                    _iso(item.start + item.length),
                    f"{item.speed:.4f}",
                    f"{item.track_offset_s:.3f}",
                )
                schedule_rows.append(row)
                if item.kind == "catalog":
                    truth_rows.append((station, item.name, row[3], row[4], name, f"{item.speed:.4f}"))
            plays = sum(1 for i in items if i.kind == "catalog")
            print(
                f"{station}: {n_chunks} chunks at {bitrate} kbps, {plays} catalog plays, "
                f"{len(items) - plays} other items ({time.perf_counter() - began:.1f} s)",
                flush=True,
            )

    for filename, header, rows in (
        ("truth.csv", ["station_id", "track_id", "start_utc", "end_utc", "profile", "speed"], truth_rows),
        (
            "schedule.csv",
            ["station_id", "kind", "name", "start_utc", "end_utc", "speed", "track_offset_s"],
            schedule_rows,
        ),
        ("stations.csv", ["station_id", "profile", "bitrate_kbps", "chunks", "hours"], station_rows),
    ):
        with open(out / filename, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
    print(f"{len(catalog)} catalog tracks, {len(outside)} outside tracks, {len(truth_rows)} catalog plays -> {out}")


if __name__ == "__main__":
    main()
