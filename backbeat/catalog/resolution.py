"""Entity resolution: one golden recording per real recording, across every source that lists it.

Input: one row per source record with columns ``source``, ``source_id``, ``isrc`` (nullable), ``title``,
``artist``, ``album``, ``duration_ms`` and any other fields (release_date, explicit, popularity, genre,
tempo_bpm, key …), which are carried into the golden records. ``resolve(frame)`` returns a ``Resolution``:

- ``clusters``: one row per source record → its ``golden_id``;
- ``golden``: one row per golden recording, every field with a ``<field>_source`` naming the record it came from;
- ``review``: uncertain pairs, not merged, for a person to decide;
- ``duplicates``: golden recordings listed more than once by the same source.

How records are matched, in order:

1. **ISRC**: records with the same (normalised, valid) ISRC are the same recording. Always merged.
2. **Blocking**: three passes, each sorted by duration inside its block and comparing each record with the
   next ``window`` records of the same block within ``review_duration_ms``: (a) first token of the normalised
   artist + first non-article token of the normalised title; (b) the whole normalised title (catches artist
   spelling differences); (c) the whole normalised artist (catches a typo in a title's first word). Cost is
   linear in the number of records.
3. **Scoring** (rapidfuzz, on normalised text): title = ``token_sort_ratio``, artist = ``token_set_ratio`` (so
   "A" matches "A, B" and "A feat. B"), score = 0.6 title + 0.4 artist.
4. **Decision** for a candidate pair:
   - version tags differ (live vs studio, remix vs original …): never merged, never reviewed;
   - merged when score ≥ ``merge_score``, title ≥ ``min_title_score``, artist ≥ ``min_artist_score``, both
     durations known and within ``duration_tolerance_ms`` (±3 s), the numbers in title and artist agree
     ("Part 2" vs "Part 3", "Artist 46" vs "Artist 30"), and the records do not carry different ISRCs;
   - otherwise reviewed when durations are within ``review_duration_ms`` (or one is unknown) and either the
     names match (but the numbers differ, or the duration gap is 3-10 s, or a duration is unknown, or the
     records carry different ISRCs: re-issues get new ISRCs, but so do remasters and re-recordings) or the
     names nearly match: score ≥ ``review_score`` with title and artist each ≥ ``review_min_field_score``
     (a shared title alone is not enough: "Home" by two different artists is not a question).
5. **Clusters**: union-find over ISRC groups and merged pairs, best score first; a merge that would put two
   different ISRCs into one cluster is refused and reviewed instead. Reviewed pairs that end up in one cluster
   anyway (through other records) are dropped from the queue, and each pair of clusters is asked about once
   (its best-scoring record pair).

Normalisation (``normalise_title`` / ``normalise_artist``): accents removed (NFKD), case folded, "&" → "and",
apostrophes dropped, other punctuation → space; featured artists ("feat.", "ft.", "featuring", bracketed
"with") removed from titles and artists; a leading "The" removed from artists.
Qualifiers in brackets or after " - " are sorted into three kinds:

- **noise**, removed: "Remastered", "2011 Remaster", "Digital Remaster", "Remastered Version", a lone year,
  "Original Mix" (Beatport's name for the original), "Album/Original/LP Version", "Explicit", "Stereo",
  "Bonus Track", "Deluxe Edition", "From <film>", "Prod. by …";
- **version**, kept as a tag that must match: live / session / unplugged; remix / mix / rework / dub / VIP /
  bootleg, with the remixer's name (two remixers' remixes differ); acoustic / stripped; instrumental /
  karaoke; a cappella; demo; edit ("Radio Edit" is a different edit of the recording with its own ISRC and
  duration, so it is *not* noise); extended / 12"; cover / tribute; sped up / slowed; reprise; mono; and any
  other "… Version" ("Spanish Version", "Taylor's Version" are different recordings), which keeps its words;
- **unknown** text, kept as part of the title ("(I Can't Get No) Satisfaction").

Golden fields: for each field, the first non-null value among the cluster's records ranked by the field's own
source list in ``FIELD_SOURCE_PRIORITY`` (popularity from Spotify), then ``SOURCE_PRIORITY`` (the label's own
catalog first), then other sources alphabetically, then record key. ``golden_id`` is ``g-<ISRC>`` when the
cluster has an ISRC (stable when more records join) and ``g-<16 hex>`` (BLAKE2b of the smallest record key)
otherwise.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from rapidfuzz import fuzz, process

from backbeat.identifiers import parse_isrc_or_none

REQUIRED_COLUMNS = ("source", "source_id", "isrc", "title", "artist", "album", "duration_ms")
# Output columns (and any "_"-prefixed name, used internally) cannot be input fields.
RESERVED_COLUMNS = ("record_key", "golden_id", "cluster_size", "matched_by", "member_count", "sources")

_SCORE_SLICE = 200_000
# (a) artist's first token + title's first non-article token, (b) whole title, (c) whole artist.
BLOCKING_PASSES = ("_block_a", "_block_b", "_block_c")
SOURCE_PRIORITY: tuple[str, ...] = ("catalog", "musicbrainz", "discogs", "spotify", "apple_music", "deezer")
FIELD_SOURCE_PRIORITY: dict[str, tuple[str, ...]] = {"popularity": ("spotify",)}

CLUSTER_SCHEMA = {
    "source": pl.String,
    "source_id": pl.String,
    "record_key": pl.String,
    "golden_id": pl.String,
    "cluster_size": pl.UInt32,
    "matched_by": pl.String,
}
REVIEW_SCHEMA = {
    "record_key_a": pl.String,
    "record_key_b": pl.String,
    "golden_id_a": pl.String,
    "golden_id_b": pl.String,
    "title_a": pl.String,
    "title_b": pl.String,
    "artist_a": pl.String,
    "artist_b": pl.String,
    "title_score": pl.Float64,
    "artist_score": pl.Float64,
    "score": pl.Float64,
    "duration_diff_s": pl.Float64,
    "reason": pl.String,
}
DUPLICATE_SCHEMA = {
    "golden_id": pl.String,
    "source": pl.String,
    "records": pl.UInt32,
    "source_ids": pl.List(pl.String),
    "title": pl.String,
    "artist": pl.String,
}


@dataclass(frozen=True)
class ResolutionConfig:
    """Thresholds (rapidfuzz scores are 0-100) and blocking; see the module docstring for how they are used."""

    merge_score: float = 92.0
    review_score: float = 80.0
    min_title_score: float = 90.0
    min_artist_score: float = 90.0
    review_min_field_score: float = 75.0
    title_weight: float = 0.6
    duration_tolerance_ms: int = 3_000
    review_duration_ms: int = 10_000
    window: int = 12
    workers: int = 1
    source_priority: tuple[str, ...] = SOURCE_PRIORITY
    field_source_priority: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(FIELD_SOURCE_PRIORITY))


@dataclass
class Resolution:
    """The four outputs of ``resolve``; schemas in ``CLUSTER_SCHEMA``, ``REVIEW_SCHEMA``, ``DUPLICATE_SCHEMA``
    and, for ``golden``: golden_id, member_count, sources, then each input field and ``<field>_source``."""

    clusters: pl.DataFrame
    golden: pl.DataFrame
    review: pl.DataFrame
    duplicates: pl.DataFrame
    stats: dict[str, int]


# ---- normalisation ----------------------------------------------------------------------------------------

_BRACKET = re.compile(r"[(\[{]([^()\[\]{}]*)[)\]}]")
_DASH = re.compile(r"\s+[-–—]\s+")
_FEAT_LEAD = re.compile(r"^\s*(?:feat\.?|ft\.?|featuring|with)\s")
_FEAT_TAIL = re.compile(r"\s(?:feat\.?|ft\.?|featuring)\s.*$")
_ARTIST_FEAT = re.compile(r"\s(?:feat\.?|ft\.?|featuring|with)\s.*$")
_NOISE = re.compile(
    r"\b(?:\d{4}\s+)?(?:digital(?:ly)?\s+)?(?:stereo\s+)?re-?master(?:ed)?(?:\s+(?:version|edition))?(?:\s+\d{4})?\b"
    r"|\boriginal\s+mix\b|\b(?:album|original|lp)\s+version\b|\bexplicit(?:\s+version)?\b|\bstereo\b"
    r"|\bbonus\s+track\b|\bdeluxe(?:\s+edition)?\b|\bfrom\s.*$|\bprod(?:\.|uced)?\s+by\s.*$|^\s*\d{4}\s*$"
)
_VERSION_TAGS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (tag, re.compile(pattern))
    for tag, pattern in (
        ("live", r"\blive\b|\bin concert\b|\bunplugged\b|\bsessions?\b"),
        ("remix", r"\bre-?mix(?:ed)?\b|\brmx\b|\bmix\b|\brework\b|\bbootleg\b|\bmash-?up\b|\bvip\b|\bdub\b"),
        ("acoustic", r"\bacoustic\b|\bstripped\b"),
        ("instrumental", r"\binstrumental\b|\bkaraoke\b|\bbacking track\b"),
        ("acappella", r"\ba\s?cap+el+a\b|\bvocals? only\b"),
        ("demo", r"\bdemo\b"),
        ("edit", r"\bedit\b|\bsingle version\b|\bradio version\b|\bshort version\b"),
        ("extended", r"\bextended\b|\b12\s?(?:inch|\")"),
        ("cover", r"\bcover\b|\btribute\b|\boriginally performed\b|\bin the style of\b|\bmade famous\b"),
        ("altered", r"\bsped up\b|\bslowed\b|\bnightcore\b"),
        ("reprise", r"\breprise\b"),
        ("mono", r"\bmono\b"),
    )
)
_REMIX_WORDS = re.compile(r"\bre-?mix(?:ed)?\b|\brmx\b|\bmix\b")
_VERSION_WORD = re.compile(r"\bversion\b")
_ARTICLES = frozenset({"the", "a", "an", "la", "le", "les", "el", "los", "las", "die", "der", "das", "il", "lo"})


# Combining marks left by NFKD decomposition (diacritics, and their extended and supplementary blocks).
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def _fold(text: str) -> str:
    if not text.isascii():
        text = _COMBINING.sub("", unicodedata.normalize("NFKD", text)).replace("’", "'")
    return text.casefold().replace("`", "'")


def _words(text: str) -> str:
    text = text.replace("&", " and ").replace("'", "")
    return " ".join(re.sub(r"[^\w]+|_", " ", text).split())


def _qualifier(text: str) -> tuple[str, frozenset[str]] | None:
    """Classify one bracketed or dash-separated qualifier: ("drop", tags) for feat./noise/version, None if unknown."""
    if _FEAT_LEAD.match(text):
        return "drop", frozenset()
    rest = _words(_NOISE.sub(" ", text))
    tags = {tag for tag, pattern in _VERSION_TAGS if pattern.search(rest)}
    if "remix" in tags:  # different remixers' remixes are different recordings: keep who remixed it
        remixer = " ".join(_REMIX_WORDS.sub(" ", rest).split())
        if remixer:
            tags = (tags - {"remix"}) | {f"remix:{remixer}"}
    if not tags and _VERSION_WORD.search(rest):
        words = _VERSION_WORD.sub(" ", rest).split()
        tags.add("version:" + " ".join(words))
    if tags:
        return "drop", frozenset(tags)
    if not rest:
        return "drop", frozenset()
    return None


def normalise_title(title: str | None) -> tuple[str, str]:
    """(core title, version tags joined by "|", sorted) — e.g. "Help! (Remastered 2009)" → ("help", "")."""
    if not title:
        return "", ""
    text = _fold(title)
    tags: set[str] = set()

    def bracket(match: re.Match[str]) -> str:
        verdict = _qualifier(match.group(1))
        if verdict is None:
            return f" {match.group(1)} "
        tags.update(verdict[1])
        return " "

    # Brackets first, so "Song - Remastered (feat. X)" leaves a clean " - Remastered" qualifier.
    parts = _DASH.split(_BRACKET.sub(bracket, text))
    kept = [parts[0]]
    for part in parts[1:]:
        verdict = _qualifier(part)
        if verdict is None:
            kept.append(part)
        else:
            tags |= verdict[1]
    core = _FEAT_TAIL.sub("", " ".join(kept))
    words = _words(core) or _words(text)
    return words, "|".join(sorted(tags))


def normalise_artist(artist: str | None) -> str:
    """Main artist(s) without featured guests, accents, punctuation or a leading "The"."""
    if not artist:
        return ""
    text = _BRACKET.sub(lambda m: " " if _FEAT_LEAD.match(m.group(1)) else f" {m.group(1)} ", _fold(artist))
    text = _ARTIST_FEAT.sub("", text)
    text = re.sub(r"\s+(?:x|vs\.?|and)\s+|[&+,;/]", " ", text)
    words = _words(text).split()
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    return " ".join(words)


def _first_title_token(core: str) -> str:
    words = core.split()
    for word in words:
        if word not in _ARTICLES:
            return word
    return words[0] if words else ""


# ---- matching ---------------------------------------------------------------------------------------------


def _prepare(frame: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"resolution input lacks columns: {missing}")
    reserved = [c for c in frame.columns if c.startswith("_") or c in RESERVED_COLUMNS]
    if reserved:
        raise ValueError(f"resolution input uses reserved column names: {reserved}")
    df = frame.with_columns(
        pl.col("source").cast(pl.String),
        pl.col("source_id").cast(pl.String),
        pl.col("duration_ms").cast(pl.Int64),
    )
    if df.select(pl.col("source").is_null().any() | pl.col("source_id").is_null().any()).item():
        raise ValueError("source and source_id must not be null")
    df = df.with_columns(record_key=pl.concat_str("source", pl.lit(":"), "source_id")).sort("record_key")
    if df["record_key"].n_unique() != df.height:
        raise ValueError("(source, source_id) must be unique")
    df = df.with_columns(_idx=pl.int_range(pl.len(), dtype=pl.Int64))
    # Normalise each distinct string once (feeds repeat titles and artists a lot), then join back.
    titles = df.select(pl.col("title").cast(pl.String).fill_null("").unique().alias("_raw_title"))
    norm_titles = [normalise_title(t) for t in titles["_raw_title"].to_list()]
    titles = titles.with_columns(
        pl.Series("_title", [t[0] for t in norm_titles], dtype=pl.String),
        pl.Series("_tags", [t[1] for t in norm_titles], dtype=pl.String),
        pl.Series("_title_token", [_first_title_token(t[0]) for t in norm_titles], dtype=pl.String),
    )
    artists = df.select(pl.col("artist").cast(pl.String).fill_null("").unique().alias("_raw_artist"))
    artists = artists.with_columns(
        pl.Series("_artist", [normalise_artist(a) for a in artists["_raw_artist"].to_list()], dtype=pl.String)
    )
    isrcs = df.select(pl.col("isrc").cast(pl.String).drop_nulls().unique().alias("_raw_isrc"))
    isrcs = isrcs.with_columns(
        pl.Series("_isrc", [parse_isrc_or_none(i) for i in isrcs["_raw_isrc"].to_list()], dtype=pl.String)
    )
    df = (
        df.with_columns(
            _raw_title=pl.col("title").cast(pl.String).fill_null(""),
            _raw_artist=pl.col("artist").cast(pl.String).fill_null(""),
            _raw_isrc=pl.col("isrc").cast(pl.String),
        )
        .join(titles, on="_raw_title", how="left")
        .join(artists, on="_raw_artist", how="left")
        .join(isrcs, on="_raw_isrc", how="left")
        .sort("_idx")
        .drop("_raw_title", "_raw_artist", "_raw_isrc")
    )
    return df.with_columns(
        _block_a=pl.when((pl.col("_artist") != "") & (pl.col("_title") != "")).then(
            pl.concat_str(pl.col("_artist").str.split(" ").list.first(), pl.lit("|"), pl.col("_title_token"))
        ),
        _block_b=pl.when(pl.col("_title") != "").then(pl.col("_title")),
        _block_c=pl.when(pl.col("_artist") != "").then(pl.col("_artist")),
        # "Part 2" is not "Part 3", and "Artist 46" is not "Artist 30": numbers must agree for a merge.
        _numbers=pl.concat_str(
            pl.col("_title").str.extract_all(r"\d+").list.sort().list.join(" "),
            pl.lit("|"),
            pl.col("_artist").str.extract_all(r"\d+").list.sort().list.join(" "),
        ),
    )


def _window_pairs(df: pl.DataFrame, block: str, window: int, max_gap_ms: int) -> pl.DataFrame:
    """Pairs of records in the same block whose durations are within ``max_gap_ms`` (or unknown), each record
    against at most its next ``window`` neighbours in duration order."""
    ordered = df.select("_idx", block, "duration_ms").filter(pl.col(block).is_not_null()).sort(block, "duration_ms")
    found = []
    for k in range(1, window + 1):
        pairs = ordered.select(
            a=pl.col("_idx"),
            b=pl.col("_idx").shift(-k),
            same=pl.col(block) == pl.col(block).shift(-k),
            gap=pl.col("duration_ms").shift(-k) - pl.col("duration_ms"),
        ).filter(pl.col("same") & (pl.col("gap").is_null() | (pl.col("gap") <= max_gap_ms)))
        if pairs.height == 0:  # sorted by block then duration: no pair at offset k means none further out
            break
        found.append(pairs.select("a", "b"))
    if not found:
        return pl.DataFrame(schema={"a": pl.Int64, "b": pl.Int64})
    return pl.concat(found)


def _codes(series: pl.Series) -> np.ndarray:
    """Dense integer codes of a column's values, 0 for null: cheap equality tests on a million pairs."""
    return series.rank("dense").fill_null(0).cast(pl.Int64).to_numpy()


def _candidates(df: pl.DataFrame, config: ResolutionConfig) -> pl.DataFrame:
    """Candidate pairs (a < b, record indices) from the blocking passes, minus pairs that need no scoring."""
    pairs = pl.concat([_window_pairs(df, block, config.window, config.review_duration_ms) for block in BLOCKING_PASSES])
    # One int64 key per unordered pair: np.unique dedupes and sorts in a fraction of a polars multi-column unique's
    # memory.
    lo = np.minimum(pairs["a"].to_numpy(), pairs["b"].to_numpy())
    hi = np.maximum(pairs["a"].to_numpy(), pairs["b"].to_numpy())
    keys = np.unique(lo * df.height + hi)
    a, b = keys // df.height, keys % df.height
    pairs = pl.DataFrame({"a": a, "b": b})
    isrc, tags = _codes(df["_isrc"]), _codes(df["_tags"])
    # Same ISRC is already one recording; a version mismatch is never the same recording.
    same_isrc = (isrc[a] == isrc[b]) & (isrc[a] != 0)
    return pairs.filter(pl.Series(~same_isrc & (tags[a] == tags[b])))


def _pairwise(values: pl.Series, a: np.ndarray, b: np.ndarray, scorer: object, workers: int) -> np.ndarray:
    """rapidfuzz scores of ``values[a[i]]`` vs ``values[b[i]]``, in slices so that the Python strings of a
    million pairs never all exist at once."""
    out = np.zeros(a.size, dtype=np.float64)
    for start in range(0, a.size, _SCORE_SLICE):
        stop = start + _SCORE_SLICE
        left = values.gather(a[start:stop]).to_list()
        right = values.gather(b[start:stop]).to_list()
        out[start : start + len(left)] = process.cpdist(left, right, scorer=scorer, workers=workers)
    return out


def _score(df: pl.DataFrame, pairs: pl.DataFrame, config: ResolutionConfig) -> pl.DataFrame:
    a, b = pairs["a"].to_numpy(), pairs["b"].to_numpy()
    title = _pairwise(df["_title"], a, b, fuzz.token_sort_ratio, config.workers)
    artist = _pairwise(df["_artist"], a, b, fuzz.token_set_ratio, config.workers)
    isrc, numbers = _codes(df["_isrc"]), _codes(df["_numbers"])
    duration = df["duration_ms"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    pairs = pairs.with_columns(
        title_score=pl.Series(title),
        artist_score=pl.Series(artist),
        gap_ms=pl.Series(np.abs(duration[a] - duration[b])).fill_nan(None),
        # Pairs sharing an ISRC were dropped as candidates, so two ISRCs here are two different ones.
        isrc_conflict=pl.Series((isrc[a] != 0) & (isrc[b] != 0)),
        numbers_match=pl.Series(numbers[a] == numbers[b]),
    )
    w = config.title_weight
    scored = pairs.with_columns(score=(w * pl.col("title_score") + (1 - w) * pl.col("artist_score")).round(2))
    names_match = (
        (pl.col("score") >= config.merge_score)
        & (pl.col("title_score") >= config.min_title_score)
        & (pl.col("artist_score") >= config.min_artist_score)
    )
    duration_ok = pl.col("gap_ms").is_not_null() & (pl.col("gap_ms") <= config.duration_tolerance_ms)
    numbers_match = pl.col("numbers_match")
    gap_s = (pl.col("gap_ms") / 1000).round(1).cast(pl.String)
    return scored.with_columns(
        merge=names_match & duration_ok & numbers_match & ~pl.col("isrc_conflict"),
        reason=pl.when(names_match & ~numbers_match)
        .then(pl.lit("names match but the numbers in them differ"))
        .when(names_match & duration_ok & pl.col("isrc_conflict"))
        .then(pl.lit("names and duration match but the ISRCs differ"))
        .when(names_match & pl.col("gap_ms").is_null())
        .then(pl.lit("names match but a duration is unknown"))
        .when(names_match & ~duration_ok)
        .then(pl.concat_str(pl.lit("names match but durations differ by "), gap_s, pl.lit(" s")))
        .when(
            (pl.col("score") >= config.review_score)
            & (pl.col("title_score") >= config.review_min_field_score)
            & (pl.col("artist_score") >= config.review_min_field_score)
        )
        .then(pl.concat_str(pl.lit("names similar (score "), pl.col("score").round(1).cast(pl.String), pl.lit(")"))),
    )


class _UnionFind:
    """Union-find over record indices that refuses to join two clusters holding different ISRCs."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.isrc: dict[int, str] = {}

    def find(self, i: int) -> int:
        parent = self.parent
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        ia, ib = self.isrc.get(ra), self.isrc.get(rb)
        if ia is not None and ib is not None and ia != ib:
            return False
        if rb < ra:
            ra, rb = rb, ra
        self.parent[rb] = ra
        if ia is None and ib is not None:
            self.isrc[ra] = ib
        self.isrc.pop(rb, None)
        return True


def _golden_id(isrc: str | None, smallest_key: str) -> str:
    if isrc:
        return f"g-{isrc}"
    return "g-" + hashlib.blake2b(smallest_key.encode("utf-8"), digest_size=8).hexdigest()


def _field_rank(field_name: str, config: ResolutionConfig, sources: Sequence[str]) -> dict[str, int]:
    order = [*config.field_source_priority.get(field_name, ()), *config.source_priority]
    ranked = list(dict.fromkeys(order))
    others = sorted(s for s in sources if s not in ranked)
    return {s: i for i, s in enumerate([*ranked, *others])}


def _golden_records(df: pl.DataFrame, fields: Sequence[str], config: ResolutionConfig) -> pl.DataFrame:
    sources = df["source"].unique().to_list()
    ranks = []
    for name in fields:
        rank = _field_rank(name, config, sources)
        ranks.append(
            pl.when(pl.col(name).is_not_null())
            .then(pl.col("source").replace_strict(rank, return_dtype=pl.Int32))
            .alias(f"_rank_{name}")
        )
    ranked = df.with_columns(ranks)
    aggs: list[pl.Expr] = [
        pl.len().cast(pl.UInt32).alias("member_count"),
        pl.col("source").unique().sort().alias("sources"),
    ]
    for name in fields:
        order = [f"_rank_{name}", "record_key"]
        aggs.append(pl.col(name).sort_by(order, nulls_last=True).first().alias(name))
        aggs.append(pl.col("record_key").sort_by(order, nulls_last=True).first().alias(f"{name}_source"))
    golden = ranked.group_by("golden_id").agg(aggs)
    golden = golden.with_columns(
        [pl.when(pl.col(name).is_not_null()).then(pl.col(f"{name}_source")).alias(f"{name}_source") for name in fields]
    )
    return golden.sort("golden_id")


def resolve(frame: pl.DataFrame, config: ResolutionConfig | None = None) -> Resolution:
    """Cluster source records into golden recordings; see the module docstring for the rules."""
    config = config or ResolutionConfig()
    df = _prepare(frame)
    n = df.height
    uf = _UnionFind(n)

    # 1. ISRC groups.
    isrc_groups = (
        df.filter(pl.col("_isrc").is_not_null())
        .group_by("_isrc")
        .agg(pl.col("_idx").min().alias("root"), pl.col("_idx"), pl.len().alias("size"))
    )
    for isrc, root in zip(isrc_groups["_isrc"].to_list(), isrc_groups["root"].to_list(), strict=True):
        uf.isrc[root] = isrc
    grouped = isrc_groups.explode("_idx")
    for idx, root in zip(grouped["_idx"].to_list(), grouped["root"].to_list(), strict=True):
        uf.parent[idx] = root
    isrc_linked = set(grouped.filter(pl.col("size") > 1)["_idx"].to_list())

    # 2-4. Candidate pairs, scores, decisions.
    scored = _score(df, _candidates(df, config), config)
    merges = scored.filter(pl.col("merge")).sort(["score", "a", "b"], descending=[True, False, False])
    refused = [(a, b) for a, b in merges.select("a", "b").iter_rows() if not uf.union(a, b)]

    # 5. Clusters and golden ids.
    roots = np.fromiter((uf.find(i) for i in range(n)), dtype=np.int64, count=n)
    keys = df["record_key"].to_list()
    # Records are sorted by record_key and a root is its cluster's smallest index, so keys[root] is the
    # cluster's smallest key.
    golden_of_root = {int(r): _golden_id(uf.isrc.get(int(r)), keys[int(r)]) for r in np.unique(roots)}
    df = df.with_columns(golden_id=pl.Series([golden_of_root[int(r)] for r in roots], dtype=pl.String))
    df = df.with_columns(cluster_size=pl.len().over("golden_id").cast(pl.UInt32))
    linked_by_isrc = pl.Series([i in isrc_linked for i in range(n)], dtype=pl.Boolean)
    df = df.with_columns(
        matched_by=pl.when(pl.col("cluster_size") == 1)
        .then(pl.lit("single"))
        .when(linked_by_isrc)
        .then(pl.lit("isrc"))
        .otherwise(pl.lit("fuzzy"))
    )
    clusters = df.select(list(CLUSTER_SCHEMA)).cast(CLUSTER_SCHEMA)  # type: ignore[arg-type]

    fields = [c for c in frame.columns if c not in ("source", "source_id")]
    fields = [
        *[c for c in ("title", "artist", "album", "isrc", "duration_ms") if c in fields],
        *[c for c in fields if c not in ("title", "artist", "album", "isrc", "duration_ms")],
    ]
    # The golden ISRC is the normalised one (the cluster holds at most one).
    golden_input = df.with_columns(isrc=pl.col("_isrc"))
    golden = _golden_records(golden_input, fields, config)
    golden = golden.select("golden_id", "member_count", "sources", *[c for f in fields for c in (f, f"{f}_source")])

    review = _review_queue(df, scored, refused, roots)
    duplicates = (
        df.filter(pl.col("cluster_size") > 1)
        .group_by("golden_id", "source")
        .agg(pl.len().cast(pl.UInt32).alias("records"), pl.col("source_id").sort().alias("source_ids"))
        .filter(pl.col("records") > 1)
        .join(golden.select("golden_id", "title", "artist"), on="golden_id", how="left")
        .select(list(DUPLICATE_SCHEMA))
        .cast(DUPLICATE_SCHEMA)  # type: ignore[arg-type]
        .sort("golden_id", "source")
    )
    stats = {
        "records": n,
        "golden_records": golden.height,
        "candidate_pairs": scored.height,
        "fuzzy_merges": merges.height - len(refused),
        "refused_isrc_conflicts": len(refused),
        "review_pairs": review.height,
        "duplicate_groups": duplicates.height,
    }
    return Resolution(clusters=clusters, golden=golden, review=review, duplicates=duplicates, stats=stats)


def _review_queue(
    df: pl.DataFrame, scored: pl.DataFrame, refused: list[tuple[int, int]], roots: np.ndarray
) -> pl.DataFrame:
    refused_frame = pl.DataFrame(
        {"a": [a for a, _ in refused], "b": [b for _, b in refused]}, schema={"a": pl.Int64, "b": pl.Int64}
    ).with_columns(refused_reason=pl.lit("would join two clusters with different ISRCs"))
    pending = (
        scored.join(refused_frame, on=["a", "b"], how="left")
        .with_columns(reason=pl.coalesce("refused_reason", pl.when(~pl.col("merge")).then(pl.col("reason"))))
        .filter(pl.col("reason").is_not_null())
    )
    if pending.height:
        same = roots[pending["a"].to_numpy()] == roots[pending["b"].to_numpy()]
        pending = pending.filter(pl.Series(~same))
    side = df.select("_idx", "record_key", "golden_id", "title", "artist")
    return (
        pending.join(side.rename(lambda c: c if c == "_idx" else f"{c}_a"), left_on="a", right_on="_idx")
        .join(side.rename(lambda c: c if c == "_idx" else f"{c}_b"), left_on="b", right_on="_idx")
        .with_columns(duration_diff_s=(pl.col("gap_ms") / 1000).round(1))
        # One question per pair of clusters: the best-scoring record pair stands for the others.
        .sort("score", "a", "b", descending=[True, False, False])
        .unique(
            [pl.min_horizontal("golden_id_a", "golden_id_b"), pl.max_horizontal("golden_id_a", "golden_id_b")],
            keep="first",
            maintain_order=True,
        )
        .select(list(REVIEW_SCHEMA))
        .cast(REVIEW_SCHEMA)  # type: ignore[arg-type]
        .sort("score", "record_key_a", "record_key_b", descending=[True, False, False])
    )
