"""Entity resolution: ISRC and fuzzy matching, version qualifiers, review queue, provenance, stable ids."""

from __future__ import annotations

import hashlib

import polars as pl
import pytest

from backbeat.catalog.resolution import (
    CLUSTER_SCHEMA,
    DUPLICATE_SCHEMA,
    REVIEW_SCHEMA,
    ResolutionConfig,
    normalise_artist,
    normalise_title,
    resolve,
)

COLUMNS = ["source", "source_id", "isrc", "title", "artist", "album", "duration_ms", "popularity", "explicit"]


def records(*rows: tuple) -> pl.DataFrame:
    """Rows of (source, source_id, isrc, title, artist, duration_ms[, album, popularity, explicit])."""
    full = []
    for row in rows:
        source, source_id, isrc, title, artist, duration_ms, *rest = row
        album, popularity, explicit = (*rest, None, None, None)[:3]
        full.append((source, source_id, isrc, title, artist, album, duration_ms, popularity, explicit))
    return pl.DataFrame(
        full,
        schema={
            "source": pl.String,
            "source_id": pl.String,
            "isrc": pl.String,
            "title": pl.String,
            "artist": pl.String,
            "album": pl.String,
            "duration_ms": pl.Int64,
            "popularity": pl.Int64,
            "explicit": pl.Boolean,
        },
        orient="row",
    )


def golden_of(result, key: str) -> str:
    return result.clusters.filter(pl.col("record_key") == key)["golden_id"].item()


def same_cluster(result, *keys: str) -> bool:
    return len({golden_of(result, k) for k in keys}) == 1


def review_pairs(result) -> set[frozenset[str]]:
    return {frozenset(p) for p in result.review.select("record_key_a", "record_key_b").iter_rows()}


@pytest.mark.parametrize(
    ("title", "core", "tags"),
    [
        ("Help! (Remastered 2009)", "help", ""),
        ("Yesterday - Remastered 2009", "yesterday", ""),
        ("Yesterday - 2009 Remaster", "yesterday", ""),
        ("Night Drive (feat. Mira)", "night drive", ""),
        ("Night Drive feat. Mira", "night drive", ""),
        ("Night Drive [with Mira]", "night drive", ""),
        ("NIGHT DRIVE (Original Mix)", "night drive", ""),
        ("Night Drive - Remastered (feat. Mira) [Explicit]", "night drive", ""),
        ("Café Del Mar", "cafe del mar", ""),
        ("Don’t Stop Me Now", "dont stop me now", ""),
        ("Rock & Roll", "rock and roll", ""),
        ("Night Drive (Live at Wembley)", "night drive", "live"),
        ("Night Drive - Live", "night drive", "live"),
        ("Night Drive (Kasper Lund Remix)", "night drive", "remix:kasper lund"),
        ("Night Drive (Acoustic Version)", "night drive", "acoustic"),
        ("Night Drive [Radio Edit]", "night drive", "edit"),
        ("Shake It Off (Taylor's Version)", "shake it off", "version:taylors"),
        ("(I Can't Get No) Satisfaction", "i cant get no satisfaction", ""),
        ("Live and Let Die", "live and let die", ""),
    ],
)
def test_title_normalisation_separates_noise_from_versions(title: str, core: str, tags: str) -> None:
    assert normalise_title(title) == (core, tags)


def test_artist_normalisation() -> None:
    assert normalise_artist("Beyoncé feat. JAY-Z") == "beyonce"
    assert normalise_artist("The Beatles") == "beatles"
    assert normalise_artist("Simon & Garfunkel") == normalise_artist("Simon and Garfunkel") == "simon garfunkel"


def test_same_isrc_is_one_recording_whatever_the_titles_say() -> None:
    result = resolve(
        records(
            ("catalog", "c1", "NLBB12600001", "Night Drive", "Kasper Lund", 372_000),
            ("spotify", "s1", "nl-bb1-26-00001", "Nachtfahrt", "K. Lund", 380_000),
            ("musicbrainz", "m1", "NL-BB1-26-00001", "Night Drive (Live)", "Lund", 200_000),  # the printed form
            ("deezer", "d1", "NLBB12600002", "Night Drive", "Someone Else", 100_000),
            ("discogs", "x1", "not an isrc", "Morning Walk", "Ana Ruiz", 250_000),
        )
    )
    assert same_cluster(result, "catalog:c1", "spotify:s1") and same_cluster(result, "catalog:c1", "musicbrainz:m1")
    assert golden_of(result, "discogs:x1").startswith("g-") and not golden_of(result, "discogs:x1").startswith("g-N")
    assert golden_of(result, "catalog:c1") == "g-NLBB12600001"
    assert golden_of(result, "deezer:d1") == "g-NLBB12600002"
    assert result.clusters.filter(pl.col("record_key") == "spotify:s1")["matched_by"].item() == "isrc"


def test_feat_remastered_case_and_punctuation_variants_merge_without_isrc() -> None:
    result = resolve(
        records(
            ("catalog", "c1", "NLBB12600001", "Don't Stop the Night", "Kasper Lund", 372_000),
            ("spotify", "s1", None, "Don't Stop The Night (feat. Mira) - Remastered 2011", "Kasper Lund", 373_000),
            ("deezer", "d1", None, "DONT STOP THE NIGHT!", "Kasper Lund feat. Mira", 371_000),
            ("musicbrainz", "m1", None, "Dont Stop the Night [Remastered]", "The Kasper Lund", 372_400),
        )
    )
    assert same_cluster(result, "catalog:c1", "spotify:s1", "deezer:d1", "musicbrainz:m1")
    assert set(result.clusters["matched_by"]) == {"fuzzy"}
    assert result.review.height == 0


def test_live_remix_acoustic_and_edits_stay_apart_from_the_studio_recording() -> None:
    result = resolve(
        records(
            ("catalog", "c1", None, "Night Drive", "Kasper Lund", 240_000),
            ("spotify", "s1", None, "Night Drive (Live)", "Kasper Lund", 240_500),
            ("spotify", "s2", None, "Night Drive - Mira Remix", "Kasper Lund", 241_000),
            ("spotify", "s3", None, "Night Drive (Acoustic)", "Kasper Lund", 239_500),
            ("spotify", "s4", None, "Night Drive (Radio Edit)", "Kasper Lund", 239_000),
            ("deezer", "d1", None, "Night Drive (Otto Remix)", "Kasper Lund", 241_000),
            ("deezer", "d2", None, "Night Drive - Live", "Kasper Lund", 240_200),
        )
    )
    goldens = result.clusters.select("record_key", "golden_id").rows_by_key("golden_id")
    assert len(goldens) == 6
    assert same_cluster(result, "spotify:s1", "deezer:d2")  # two feeds' live versions are one recording
    assert not same_cluster(result, "spotify:s2", "deezer:d1")  # two remixers' remixes are not
    assert result.review.height == 0  # a version difference is certain, not a question


def test_same_title_by_a_different_artist_is_neither_merged_nor_reviewed() -> None:
    result = resolve(
        records(
            ("catalog", "c1", None, "Hallelujah", "Leonard Cohen", 280_000),
            ("spotify", "s1", None, "Hallelujah", "Jeff Buckley", 280_500),
        )
    )
    assert not same_cluster(result, "catalog:c1", "spotify:s1")
    assert result.review.height == 0


def test_duration_tolerance_merges_within_3s_and_reviews_up_to_10s() -> None:
    result = resolve(
        records(
            ("catalog", "c1", None, "Night Drive", "Kasper Lund", 240_000),
            ("spotify", "s1", None, "Night Drive", "Kasper Lund", 242_900),
            ("deezer", "d1", None, "Night Drive", "Kasper Lund", 248_000),
            ("musicbrainz", "m1", None, "Night Drive", "Kasper Lund", 300_000),
        )
    )
    assert same_cluster(result, "catalog:c1", "spotify:s1")
    assert not same_cluster(result, "catalog:c1", "deezer:d1")
    assert not same_cluster(result, "catalog:c1", "musicbrainz:m1")
    assert result.review.height == 1
    row = result.review.row(0, named=True)
    assert {row["record_key_a"], row["record_key_b"]} & {"catalog:c1", "spotify:s1"}
    assert "deezer:d1" in (row["record_key_a"], row["record_key_b"])
    assert row["reason"].startswith("names match but durations differ by")
    assert 5.0 <= row["duration_diff_s"] <= 8.0


def test_an_uncertain_pair_goes_to_review_and_is_not_merged() -> None:
    result = resolve(
        records(
            ("catalog", "c1", None, "Night Drive", "Kasper Lund", 240_000),
            ("spotify", "s1", None, "Nite Drive", "Kasper Lund", 240_000),
        )
    )
    assert not same_cluster(result, "catalog:c1", "spotify:s1")
    assert review_pairs(result) == {frozenset({"catalog:c1", "spotify:s1"})}
    row = result.review.row(0, named=True)
    config = ResolutionConfig()
    assert config.review_score <= row["score"] < config.merge_score or row["title_score"] < config.min_title_score
    assert row["reason"].startswith("names similar")
    assert (row["title_a"], row["title_b"]) == ("Night Drive", "Nite Drive")


def test_different_isrcs_are_reviewed_not_merged_even_through_a_third_record() -> None:
    result = resolve(
        records(
            ("catalog", "c1", "NLBB12600001", "Night Drive", "Kasper Lund", 240_000),
            ("catalog", "c2", "NLBB12600009", "Night Drive", "Kasper Lund", 240_500),
            ("deezer", "d1", None, "Night Drive", "Kasper Lund", 240_200),
        )
    )
    assert not same_cluster(result, "catalog:c1", "catalog:c2")
    assert same_cluster(result, "deezer:d1", "catalog:c1") or same_cluster(result, "deezer:d1", "catalog:c2")
    reasons = set(result.review["reason"])
    assert reasons <= {"names and duration match but the ISRCs differ", "would join two clusters with different ISRCs"}
    assert result.review.height >= 1


def test_numbers_must_agree() -> None:
    result = resolve(
        records(
            ("catalog", "c1", None, "Symphony Part 2", "Kasper Lund", 240_000),
            ("spotify", "s1", None, "Symphony Part 3", "Kasper Lund", 240_000),
        )
    )
    assert not same_cluster(result, "catalog:c1", "spotify:s1")
    assert set(result.review["reason"]) == {"names match but the numbers in them differ"}


def test_a_typo_in_the_first_title_word_is_still_compared() -> None:
    # Blocking by artist finds the pair although the title's first word differs.
    result = resolve(
        records(
            ("catalog", "c1", None, "Beautiful Stranger In The Night", "Kasper Lund", 240_000),
            ("spotify", "s1", None, "Beautifull Stranger In The Night", "Kasper Lund", 240_000),
            ("deezer", "d1", None, "Beutiful Stranger In The Night", "Kasper Lund", 240_000),
        )
    )
    assert same_cluster(result, "catalog:c1", "spotify:s1", "deezer:d1")


def test_golden_fields_keep_their_source_by_priority() -> None:
    frame = records(
        ("spotify", "s1", "NLBB12600001", "Night Drive - Remastered", "Kasper Lund", 372_500, None, 64, True),
        ("catalog", "c1", "NLBB12600001", "Night Drive", "Kasper Lund", 372_000, None, 10, None),
        ("deezer", "d1", None, "Night Drive", "Kasper Lund", 371_900, "Afterhours", None, False),
    ).with_columns(tempo_bpm=pl.Series([None, 124.0, 123.8]), genre=pl.Series([None, None, "House"]))
    result = resolve(frame)
    assert result.golden.height == 1
    golden = result.golden.row(0, named=True)
    assert golden["member_count"] == 3 and golden["sources"] == ["catalog", "deezer", "spotify"]
    assert (golden["title"], golden["title_source"]) == ("Night Drive", "catalog:c1")  # the label's catalog first
    assert (golden["album"], golden["album_source"]) == ("Afterhours", "deezer:d1")  # first non-null by priority
    assert (golden["popularity"], golden["popularity_source"]) == (64, "spotify:s1")  # popularity: Spotify first
    assert (golden["explicit"], golden["explicit_source"]) == (True, "spotify:s1")
    assert (golden["tempo_bpm"], golden["tempo_bpm_source"]) == (124.0, "catalog:c1")
    assert (golden["genre"], golden["genre_source"]) == ("House", "deezer:d1")
    assert (golden["isrc"], golden["isrc_source"]) == ("NLBB12600001", "catalog:c1")
    assert golden["duration_ms"] == 372_000


def test_a_field_no_record_has_is_null_with_a_null_source() -> None:
    result = resolve(records(("catalog", "c1", None, "Night Drive", "Kasper Lund", 1000)))
    golden = result.golden.row(0, named=True)
    assert golden["album"] is None and golden["album_source"] is None


def test_golden_ids_are_deterministic_whatever_the_input_order() -> None:
    frame = records(
        ("catalog", "c1", "NLBB12600001", "Night Drive", "Kasper Lund", 372_000),
        ("spotify", "s9", None, "Night Drive (feat. Mira)", "Kasper Lund", 372_500),
        ("spotify", "s2", None, "Slow Burn", "Mira", 200_000),
        ("deezer", "d7", None, "slow burn", "MIRA", 201_000),
        ("deezer", "d8", None, "Lonely Song", "Otto", 100_000),
    )
    first = resolve(frame)
    second = resolve(frame.sample(fraction=1.0, shuffle=True, seed=3))
    assert first.clusters.equals(second.clusters)
    assert first.golden.equals(second.golden)
    expected = "g-" + hashlib.blake2b(b"deezer:d7", digest_size=8).hexdigest()  # smallest key of the cluster
    assert golden_of(first, "spotify:s2") == golden_of(first, "deezer:d7") == expected
    assert golden_of(first, "spotify:s9") == "g-NLBB12600001"


def test_duplicates_within_one_source_are_reported() -> None:
    result = resolve(
        records(
            ("catalog", "c1", "NLBB12600001", "Night Drive", "Kasper Lund", 372_000),
            ("catalog", "c2", None, "Night Drive (Remastered)", "Kasper Lund", 372_000),
            ("spotify", "s1", "NLBB12600001", "Night Drive", "Kasper Lund", 372_000),
            ("spotify", "s2", None, "Slow Burn", "Mira", 200_000),
        )
    )
    assert result.duplicates.rows(named=True) == [
        {
            "golden_id": "g-NLBB12600001",
            "source": "catalog",
            "records": 2,
            "source_ids": ["c1", "c2"],
            "title": "Night Drive",
            "artist": "Kasper Lund",
        }
    ]


def test_output_schemas() -> None:
    result = resolve(
        records(
            ("catalog", "c1", None, "Night Drive", "Kasper Lund", 240_000),
            ("spotify", "s1", None, "Nite Drive", "Kasper Lund", 240_000),
        )
    )
    assert dict(result.clusters.schema) == CLUSTER_SCHEMA
    assert dict(result.review.schema) == REVIEW_SCHEMA
    assert dict(result.duplicates.schema) == DUPLICATE_SCHEMA
    assert result.golden.columns[:3] == ["golden_id", "member_count", "sources"]
    assert result.golden.columns[3:7] == ["title", "title_source", "artist", "artist_source"]
    assert set(result.golden.columns) >= {f"{c}{s}" for c in COLUMNS[2:] for s in ("", "_source")}


def test_bad_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="lacks columns"):
        resolve(pl.DataFrame({"source": ["a"], "source_id": ["1"]}))
    with pytest.raises(ValueError, match="reserved"):
        resolve(records(("catalog", "c1", None, "A", "B", 1)).with_columns(golden_id=pl.lit("x")))
    with pytest.raises(ValueError, match="unique"):
        resolve(records(("catalog", "c1", None, "A", "B", 1), ("catalog", "c1", None, "C", "D", 2)))


def test_empty_input_gives_empty_outputs() -> None:
    result = resolve(records())
    assert (result.clusters.height, result.golden.height, result.review.height, result.duplicates.height) == (0,) * 4
    assert dict(result.clusters.schema) == CLUSTER_SCHEMA
