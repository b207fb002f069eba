"""Benchmark entity resolution on a synthetic multi-source catalog with known ground truth.

Generates ``--records`` source records (default 200,000) of recordings spread over four sources, with
duplicates injected the way real feeds disagree, runs ``backbeat.catalog.resolution.resolve`` and prints time,
records/s, peak memory, pairwise precision and recall against the ground truth, and the review-queue size.

Injected duplicates (one real recording listed 2-4 times, across sources and sometimes within one):
same ISRC in two sources; no ISRC on one side and the title or artist varied by "feat. X", "(Remastered 2011)",
" - 2011 Remaster", "(Original Mix)", upper/lower case, punctuation and accents dropped, a leading "The" dropped
or added, one-letter typos; durations ±0-2 s.
Hard negatives (different recordings that must stay apart): live, remix, acoustic and radio-edit versions of a
recording by the same artist (some within 3 s of the original's duration), the same title by a different
artist within 2 s, and covers of a song by another artist.

    .venv/bin/python bench/catalog/resolve.py --records 200000 --seed 7
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from backbeat.catalog.resolution import ResolutionConfig, resolve  # noqa: E402

SOURCES = ("catalog", "spotify", "deezer", "musicbrainz")
# Share of each source's records that carry an ISRC.
ISRC_SHARE = {"catalog": 0.95, "spotify": 0.9, "deezer": 0.6, "musicbrainz": 0.45}

FIRST = (
    "Anna",
    "Ben",
    "Carla",
    "David",
    "Elena",
    "Felix",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kasper",
    "Lena",
    "Marco",
    "Nina",
    "Oscar",
    "Paula",
    "Rafael",
    "Sofia",
    "Tomas",
    "Ula",
    "Victor",
    "Wanda",
    "Xavier",
    "Yara",
    "Zoe",
    "Amelie",
    "Bjorn",
    "Chloe",
    "Dario",
    "Emil",
    "Freya",
    "Goran",
    "Hana",
    "Ivan",
    "Julia",
    "Kai",
    "Lucia",
    "Mateo",
    "Noemi",
    "Otto",
    "Pia",
    "Quentin",
    "Rosa",
    "Stefan",
    "Tara",
    "Uma",
    "Vera",
    "William",
    "Ximena",
    "Yusuf",
    "Zara",
    "Andres",
    "Beatriz",
    "Celine",
    "Dmitri",
    "Esther",
    "Fatima",
    "Gael",
    "Helena",
    "Ibrahim",
    "Jana",
    "Kenji",
    "Laila",
    "Mika",
    "Nadia",
    "Olivia",
    "Pablo",
    "Renee",
    "Sven",
    "Thea",
    "Valentina",
)
LAST = (
    "Lund",
    "Berg",
    "Moreau",
    "Rossi",
    "Novak",
    "Silva",
    "Jensen",
    "Costa",
    "Weber",
    "Fischer",
    "Laine",
    "Kowalski",
    "Horvat",
    "Ibarra",
    "Janssen",
    "Kaur",
    "Larsen",
    "Mendes",
    "Nilsen",
    "Okafor",
    "Petrov",
    "Quinn",
    "Ramos",
    "Santos",
    "Tanaka",
    "Urban",
    "Varga",
    "Wagner",
    "Young",
    "Zimmer",
    "Abbott",
    "Brennan",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fontaine",
    "Garcia",
    "Hoffmann",
    "Ivanova",
    "Jovanovic",
    "Keller",
    "Lopez",
    "Meyer",
    "Nakamura",
    "Olsen",
    "Pereira",
    "Richter",
    "Schmidt",
    "Torres",
    "Vidal",
    "Walsh",
    "Yilmaz",
    "Zhang",
    "Bauer",
    "Carter",
    "Dalton",
    "Evans",
    "Ford",
    "Grant",
    "Hughes",
)
ACCENTED = {
    "Bjorn": "Björn",
    "Amelie": "Amélie",
    "Renee": "Renée",
    "Celine": "Céline",
    "Ines": "Inés",
    "Zoe": "Zoë",
    "Mateo": "Matéo",
    "Goran": "Goran",
    "Yilmaz": "Yılmaz",
    "Horvat": "Horvát",
    "Jovanovic": "Jovanović",
    "Dubois": "Dubois",
    "Eriksen": "Eriksén",
}
ADJ = (
    "Black",
    "Silver",
    "Golden",
    "Broken",
    "Electric",
    "Velvet",
    "Neon",
    "Crystal",
    "Hollow",
    "Wild",
    "Quiet",
    "Burning",
    "Frozen",
    "Midnight",
    "Crimson",
    "Paper",
    "Lonely",
    "Distant",
    "Violet",
    "Savage",
    "Secret",
    "Endless",
    "Hidden",
    "Northern",
    "Southern",
    "Little",
    "Bright",
    "Cold",
    "Heavy",
    "Sweet",
)
NOUN = (
    "Keys",
    "Wolves",
    "Rivers",
    "Lights",
    "Echoes",
    "Horses",
    "Saints",
    "Tigers",
    "Ghosts",
    "Engines",
    "Mirrors",
    "Sparrows",
    "Giants",
    "Shadows",
    "Dreamers",
    "Pilots",
    "Strangers",
    "Lovers",
    "Kings",
    "Owls",
    "Arrows",
    "Stones",
    "Waves",
    "Foxes",
    "Machines",
    "Bells",
    "Sirens",
    "Heroes",
)
TITLE_WORDS = (
    "love",
    "night",
    "heart",
    "fire",
    "time",
    "home",
    "light",
    "dream",
    "dance",
    "rain",
    "summer",
    "forever",
    "stay",
    "gone",
    "falling",
    "higher",
    "golden",
    "run",
    "city",
    "lost",
    "wild",
    "young",
    "blue",
    "shadow",
    "star",
    "ocean",
    "river",
    "moon",
    "sun",
    "sky",
    "storm",
    "heaven",
    "angel",
    "ghost",
    "money",
    "radio",
    "highway",
    "tonight",
    "morning",
    "silence",
    "memory",
    "echo",
    "paradise",
    "island",
    "diamond",
    "thunder",
    "wonder",
    "stranger",
    "promise",
    "secret",
    "mirror",
    "window",
    "garden",
    "winter",
    "fever",
    "alive",
    "hold",
    "break",
    "burn",
    "shine",
    "crazy",
    "better",
    "lonely",
    "sweet",
    "bitter",
    "broken",
    "hollow",
    "electric",
    "neon",
    "velvet",
    "crystal",
    "paper",
    "silver",
    "midnight",
    "sunrise",
    "sunset",
    "north",
    "south",
    "east",
    "west",
    "road",
    "train",
    "station",
    "letter",
    "story",
    "song",
    "melody",
    "rhythm",
    "drum",
    "guitar",
    "piano",
    "voice",
    "whisper",
    "scream",
    "kiss",
    "touch",
    "hand",
    "eyes",
    "smile",
    "tears",
    "blood",
    "bones",
    "soul",
    "mind",
    "body",
    "world",
    "universe",
    "galaxy",
    "planet",
    "don't",
    "can't",
    "won't",
    "let",
    "me",
    "go",
    "back",
    "down",
    "up",
    "out",
    "over",
    "again",
    "never",
    "always",
    "tomorrow",
    "yesterday",
    "together",
)
COMMON_TITLES = (
    "Home",
    "Stay",
    "Intro",
    "Forever",
    "Alive",
    "Runaway",
    "Hold On",
    "Without You",
    "Closer",
    "Outro",
    "Tonight",
    "Hallelujah",
    "Interlude",
    "Wonderwall",
    "Dreams",
    "Angel",
    "Paradise",
)
VENUES = ("Wembley", "Red Rocks", "the BBC", "Glastonbury", "Paradiso", "Montreux", "the Roundhouse")


@dataclass
class Truth:
    """One real recording: what it is and, for hard negatives, which recording it is a variant of."""

    real_id: int
    artist: str
    title: str
    duration_ms: int
    isrc: str
    kind: str  # original | version | same_title | cover
    base: int  # real_id of the song it derives from (itself for originals)


def _artist_names(rng: np.random.Generator, n: int) -> list[str]:
    names: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        roll = rng.random()
        if roll < 0.6:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            if rng.random() < 0.3:
                first = ACCENTED.get(first, first)
                last = ACCENTED.get(last, last)
            name = f"{first} {last}"
        elif roll < 0.8:
            name = f"The {rng.choice(ADJ)} {rng.choice(NOUN)}"
        elif roll < 0.9:
            name = f"{rng.choice(ADJ)} {rng.choice(NOUN)}"
        else:
            name = f"{rng.choice(FIRST)} & The {rng.choice(NOUN)}"
        if rng.random() < 0.15:  # stage-name disambiguators make many near-identical artists, as in real data
            name = f"{name} {int(rng.integers(2, 99))}" if rng.random() < 0.5 else f"DJ {name}"
        if name not in names:
            names.add(name)
            out.append(name)
    return out


# Zipf-like word popularity: common words ("love", "night") recur across unrelated songs.
_WORD_WEIGHTS = 1.0 / np.arange(1, len(TITLE_WORDS) + 1) ** 0.8
_WORD_WEIGHTS /= _WORD_WEIGHTS.sum()


def _title(rng: np.random.Generator) -> str:
    if rng.random() < 0.08:
        return str(rng.choice(COMMON_TITLES))
    n = int(rng.choice([1, 2, 2, 3, 3, 4]))
    words = rng.choice(TITLE_WORDS, size=n, p=_WORD_WEIGHTS)
    return " ".join(str(w).capitalize() for w in words)


def _typo(rng: np.random.Generator, text: str) -> str:
    """One dropped, doubled or swapped letter in a word of five letters or more, as a hand-typed feed has."""
    words = text.split(" ")
    long_words = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not long_words:
        return text
    i = long_words[int(rng.integers(len(long_words)))]
    word, pos = words[i], int(rng.integers(1, len(words[i]) - 1))
    edit = rng.random()
    if edit < 0.4:
        word = word[:pos] + word[pos + 1 :]
    elif edit < 0.7:
        word = word[:pos] + word[pos] + word[pos:]
    else:
        word = word[: pos - 1] + word[pos] + word[pos - 1] + word[pos + 1 :]
    words[i] = word
    return " ".join(words)


def _isrc(i: int) -> str:
    return f"XB{'ABCDEFGHJK'[i % 10]}{i % 97:02d}{(i // 100_000) % 100:02d}{i % 100_000:05d}"


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _vary(rng: np.random.Generator, title: str, artist: str, guests: list[str]) -> tuple[str, str]:
    """How another feed spells the same recording."""
    for _ in range(int(rng.choice([1, 1, 2, 2, 3]))):
        roll = rng.random()
        if roll < 0.15:
            title = f"{title} (feat. {rng.choice(guests)})"
        elif roll < 0.23:
            artist = f"{artist} feat. {rng.choice(guests)}"
        elif roll < 0.35:
            year = int(rng.integers(1995, 2024))
            title = str(
                rng.choice(
                    [
                        f"{title} (Remastered {year})",
                        f"{title} - {year} Remaster",
                        f"{title} - Remastered",
                        f"{title} [Remastered]",
                    ]
                )
            )
        elif roll < 0.40:
            title = f"{title} (Original Mix)"
        elif roll < 0.52:
            title = title.upper() if rng.random() < 0.5 else title.lower()
        elif roll < 0.62:
            title = title.replace("'", "").replace("&", "and")
            artist = artist.replace("&", "and")
            if rng.random() < 0.5:
                title = title + "!"
        elif roll < 0.72:
            artist, title = _strip_accents(artist), _strip_accents(title)
        elif roll < 0.78:
            artist = artist.upper() if rng.random() < 0.5 else artist.lower()
        elif roll < 0.83:
            artist = artist.removeprefix("The ") if artist.startswith("The ") else f"The {artist}"
        elif roll < 0.91:
            title = _typo(rng, title)
        elif roll < 0.95:
            artist = _typo(rng, artist)
        else:
            title = title.replace(" ", "  ") + " "
    return title, artist


def generate(records: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(source records with a hidden real_id, the real recordings)."""
    rng = np.random.default_rng(seed)
    artists = _artist_names(rng, max(records // 8, 50))
    guests = _artist_names(np.random.default_rng(seed + 1), 500)
    truths: list[Truth] = []
    rows: list[dict[str, object]] = []
    per_source_seq = dict.fromkeys(SOURCES, 0)

    def new_truth(artist: str, title: str, duration: int, kind: str, base: int | None) -> Truth:
        real_id = len(truths)
        truth = Truth(
            real_id, artist, title, duration, _isrc(real_id + seed * 7919), kind, real_id if base is None else base
        )
        truths.append(truth)
        return truth

    def emit(truth: Truth) -> None:
        n_rows = int(rng.choice([1, 2, 3, 4], p=[0.55, 0.28, 0.13, 0.04]))
        chosen = list(rng.choice(SOURCES, size=n_rows, replace=False))
        if rng.random() < 0.02:  # a feed that lists the same recording twice
            chosen.append(chosen[0])
        for k, source in enumerate(chosen):
            title, artist, duration = truth.title, truth.artist, truth.duration_ms
            if k > 0:
                title, artist = _vary(rng, title, artist, guests)
                duration += int(rng.integers(-2000, 2001))
            per_source_seq[source] += 1
            rows.append(
                {
                    "source": source,
                    "source_id": f"{source[:2]}{per_source_seq[source]:08d}",
                    "isrc": truth.isrc if rng.random() < ISRC_SHARE[source] else None,
                    "title": title,
                    "artist": artist,
                    "album": None if rng.random() < 0.3 else f"{truth.title.split(' ')[0]} {rng.choice(NOUN)}",
                    "duration_ms": duration,
                    "popularity": int(rng.integers(0, 101)) if source == "spotify" else None,
                    "real_id": truth.real_id,
                    "kind": truth.kind,
                }
            )

    by_artist_titles: dict[str, set[str]] = {}
    while len(rows) < records:
        artist = artists[int(rng.integers(len(artists)))]
        title = _title(rng)
        taken = by_artist_titles.setdefault(artist, set())
        if title.lower() in taken:
            continue
        taken.add(title.lower())
        duration = int(rng.integers(120_000, 420_000))
        original = new_truth(artist, title, duration, "original", None)
        emit(original)
        roll = rng.random()
        # Hard negatives: ~14 % of songs get a sibling that must not be merged with them.
        close = int(rng.integers(-2500, 2501)) if rng.random() < 0.5 else int(rng.integers(8_000, 60_000))
        if roll < 0.03:
            variant = str(
                rng.choice(
                    [
                        f"{title} (Live)",
                        f"{title} - Live at {rng.choice(VENUES)}",
                        f"{title} (Live at {rng.choice(VENUES)})",
                    ]
                )
            )
            emit(new_truth(artist, variant, duration + close, "version", original.real_id))
        elif roll < 0.06:
            remixer = artists[int(rng.integers(len(artists)))]
            variant = str(
                rng.choice(
                    [
                        f"{title} ({remixer} Remix)",
                        f"{title} - {remixer} Remix",
                        f"{title} (Extended Mix)",
                        f"{title} (Club Mix)",
                    ]
                )
            )
            emit(new_truth(artist, variant, duration + close, "version", original.real_id))
        elif roll < 0.08:
            variant = str(
                rng.choice(
                    [
                        f"{title} (Acoustic)",
                        f"{title} - Acoustic Version",
                        f"{title} (Radio Edit)",
                        f"{title} (Instrumental)",
                    ]
                )
            )
            emit(new_truth(artist, variant, duration + close, "version", original.real_id))
        elif roll < 0.11:
            other = artists[int(rng.integers(len(artists)))]
            if other != artist and title.lower() not in by_artist_titles.setdefault(other, set()):
                by_artist_titles[other].add(title.lower())
                emit(new_truth(other, title, duration + int(rng.integers(-2000, 2001)), "same_title", original.real_id))
        elif roll < 0.14:
            other = artists[int(rng.integers(len(artists)))]
            if other != artist and title.lower() not in by_artist_titles.setdefault(other, set()):
                by_artist_titles[other].add(title.lower())
                emit(new_truth(other, title, duration + int(rng.integers(-30_000, 30_001)), "cover", original.real_id))
    frame = pl.DataFrame(rows[:records], infer_schema_length=None)
    truth_frame = pl.DataFrame([t.__dict__ for t in truths])
    return frame, truth_frame


def _pairs(n: pl.Expr) -> pl.Expr:
    return (n * (n - 1) / 2).cast(pl.Float64)


def score(clusters: pl.DataFrame, records: pl.DataFrame, truths: pl.DataFrame) -> dict[str, float]:
    """Pairwise precision and recall of the clustering against ``real_id``; recall split by whether a true
    pair shares an ISRC; false merges split by the kind of hard negative."""
    joined = records.select(
        pl.concat_str("source", pl.lit(":"), "source_id").alias("record_key"),
        "real_id",
        pl.col("isrc").is_not_null().alias("has_isrc"),
    ).join(clusters.select("record_key", "golden_id"), on="record_key")

    def count(by: list[str]) -> pl.DataFrame:
        return joined.group_by(by).agg(pl.len().alias("n"), pl.col("has_isrc").sum().alias("ni"))

    cells = count(["real_id", "golden_id"])
    reals = count(["real_id"])
    golds = count(["golden_id"])
    tp = cells.select(_pairs(pl.col("n")).sum()).item()
    tp_isrc = cells.select(_pairs(pl.col("ni")).sum()).item()
    true_pairs = reals.select(_pairs(pl.col("n")).sum()).item()
    true_isrc = reals.select(_pairs(pl.col("ni")).sum()).item()
    predicted = golds.select(_pairs(pl.col("n")).sum()).item()

    # False merges: pairs of different real recordings in one cluster, by the kind of the non-original one.
    mixed = cells.join(
        cells.group_by("golden_id").agg(pl.len().alias("reals")).filter(pl.col("reals") > 1), on="golden_id"
    )
    kind_of = dict(zip(truths["real_id"].to_list(), truths["kind"].to_list(), strict=True))
    base_of = dict(zip(truths["real_id"].to_list(), truths["base"].to_list(), strict=True))
    false_by_kind: dict[str, float] = {}
    for _, group in mixed.group_by("golden_id"):
        items = list(zip(group["real_id"].to_list(), group["n"].to_list(), strict=True))
        for i, (r1, n1) in enumerate(items):
            for r2, n2 in items[i + 1 :]:
                related = base_of[r1] == base_of[r2]
                kind = (kind_of[r2] if kind_of[r2] != "original" else kind_of[r1]) if related else "unrelated"
                false_by_kind[kind] = false_by_kind.get(kind, 0.0) + n1 * n2
    return {
        "true_pairs": true_pairs,
        "predicted_pairs": predicted,
        "true_positive_pairs": tp,
        "precision": tp / predicted if predicted else 1.0,
        "recall": tp / true_pairs if true_pairs else 1.0,
        "recall_shared_isrc": tp_isrc / true_isrc if true_isrc else 1.0,
        "recall_without_shared_isrc": (tp - tp_isrc) / (true_pairs - true_isrc) if true_pairs > true_isrc else 1.0,
        "true_pairs_without_shared_isrc": true_pairs - true_isrc,
        **{f"false_pairs_{k}": v for k, v in sorted(false_by_kind.items())},
    }


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def resolve_only(input_path: Path, out_dir: Path, workers: int) -> None:
    """Child process: read the records, resolve, write the outputs and the figures (its own peak RSS)."""
    records = pl.read_parquet(input_path)
    cpu0, t0 = time.process_time(), time.perf_counter()
    result = resolve(records, ResolutionConfig(workers=workers))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    result.clusters.write_parquet(out_dir / "clusters.parquet")
    result.review.write_parquet(out_dir / "review.parquet")
    figures = {
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_mib": _peak_mib(),
        "duplicates": result.duplicates.height,
        "stats": result.stats,
    }
    (out_dir / "figures.json").write_text(json.dumps(figures))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=1, help="rapidfuzz threads (the bench machine has 2 cores)")
    parser.add_argument("--resolve-only", nargs=2, metavar=("RECORDS_PARQUET", "OUT_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.resolve_only:
        resolve_only(Path(args.resolve_only[0]), Path(args.resolve_only[1]), args.workers)
        return

    t0 = time.perf_counter()
    records, truths = generate(args.records, args.seed)
    kinds = truths.group_by("kind").len().sort("kind")
    print(
        f"generated {records.height:,} records of {truths.height:,} recordings in {time.perf_counter() - t0:.1f} s "
        f"({', '.join(f'{k}: {n:,}' for k, n in kinds.iter_rows())})"
    )

    # Resolve in a fresh process, so its peak RSS is resolution's own (reading the records included), not the
    # generator's.
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        records.drop("real_id", "kind").write_parquet(work / "records.parquet")
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--workers",
                str(args.workers),
                "--resolve-only",
                str(work / "records.parquet"),
                str(work),
            ],
            check=True,
        )
        run = json.loads((work / "figures.json").read_text())
        clusters = pl.read_parquet(work / "clusters.parquet")
        review = pl.read_parquet(work / "review.parquet")
    figures = score(clusters, records, truths)

    print(
        f"resolve: {run['wall_s']:.1f} s wall, {run['cpu_s']:.1f} s CPU, {records.height / run['wall_s']:,.0f} "
        f"records/s wall ({records.height / run['cpu_s']:,.0f} per CPU-s), peak RSS {run['peak_mib']:.0f} MiB"
    )
    for name, value in run["stats"].items():
        print(f"  {name}: {value:,}")
    print(
        f"pairwise precision {figures['precision']:.5f}, recall {figures['recall']:.4f} "
        f"({figures['true_positive_pairs']:,.0f} of {figures['true_pairs']:,.0f} true pairs; "
        f"{figures['predicted_pairs']:,.0f} predicted)"
    )
    print(
        f"  recall on pairs sharing an ISRC: {figures['recall_shared_isrc']:.4f}; on pairs without "
        f"({figures['true_pairs_without_shared_isrc']:,.0f}): {figures['recall_without_shared_isrc']:.4f}"
    )
    false_kinds = {k: v for k, v in figures.items() if k.startswith("false_pairs_")}
    print("  false merged pairs: " + (", ".join(f"{k[12:]} {v:,.0f}" for k, v in false_kinds.items()) or "none"))
    real_of = records.select(pl.concat_str("source", pl.lit(":"), "source_id").alias("key"), "real_id")
    reviewed_true = (
        review.join(real_of.rename({"key": "record_key_a", "real_id": "ra"}), on="record_key_a")
        .join(real_of.rename({"key": "record_key_b", "real_id": "rb"}), on="record_key_b")
        .filter(pl.col("ra") == pl.col("rb"))
        .height
    )
    keyed = records.with_columns(record_key=pl.concat_str("source", pl.lit(":"), "source_id")).join(
        clusters.select("record_key", "golden_id"), on="record_key"
    )
    injected = keyed.group_by("real_id", "source").agg(pl.len().alias("n"), pl.col("golden_id").n_unique().alias("g"))
    injected = injected.filter(pl.col("n") > 1)
    found = injected.filter(pl.col("g") == 1).height
    print(
        f"review queue: {review.height:,} pairs ({reviewed_true:,} of them true duplicates); "
        f"duplicates report: {run['duplicates']:,} groups, {found:,} of {injected.height:,} injected "
        f"same-source duplicates found whole"
    )
    if review.height:
        reasons = (
            review.with_columns(pl.col("reason").str.replace(r"\d.*$", "…"))
            .group_by("reason")
            .len()
            .sort("len", descending=True)
        )
        for reason, n in reasons.iter_rows():
            print(f"  {n:>7,}  {reason}")


if __name__ == "__main__":
    main()
