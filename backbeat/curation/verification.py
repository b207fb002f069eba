"""Whether curated playlists kept their rules: repeat gaps (a used track rests), policy gaps and caps per artist
and album. Plain polars over snapshot rows; the asset checks call it for one day, the tests and the benchmark for
a whole history at once."""

from datetime import date

import polars as pl


def gap_violations(today: pl.DataFrame, earlier: pl.DataFrame, day: date) -> list[str]:
    """Tracks of `day` that were still resting: used fewer days before than the repeat gap of the playlist that
    used them, or repeated by a policy within its own gap, or in two playlists on the day.

    `today` and `earlier` are snapshot rows joined with their playlist's `repeat_gap_days` and `policy_id`."""
    violations = []
    twice = today.group_by("track_id").len().filter(pl.col("len") > 1)
    violations += [f"track {t} is in {n} playlists on {day}" for t, n in twice.iter_rows()]
    if earlier.height:
        pairs = (
            today.select(
                "playlist_id", "track_id", pl.col("policy_id").alias("policy"), pl.col("repeat_gap_days").alias("gap")
            )
            .join(
                earlier.select("track_id", "snapshot_date", "playlist_id", "policy_id", "repeat_gap_days"),
                on="track_id",
                how="inner",
                suffix="_before",
            )
            .with_columns((pl.lit(day) - pl.col("snapshot_date")).dt.total_days().alias("days_since"))
        )
        resting = pairs.filter(pl.col("days_since") < pl.col("repeat_gap_days"))
        violations += [
            f"{p}: track {t} was used by {q} {d} day(s) before and rests {r} day(s)"
            for p, t, q, d, r in resting.select(
                "playlist_id", "track_id", "playlist_id_before", "days_since", "repeat_gap_days"
            ).iter_rows()
        ]
        own = pairs.filter((pl.col("policy") == pl.col("policy_id")) & (pl.col("days_since") < pl.col("gap")))
        violations += [
            f"{p}: track {t} repeated by its policy after {d} day(s) (gap {r})"
            for p, t, d, r in own.select("playlist_id", "track_id", "days_since", "gap").iter_rows()
        ]
    return violations


def cap_violations(today: pl.DataFrame, rules: pl.DataFrame, tracks: pl.DataFrame) -> list[str]:
    """Playlists with a track twice, or more tracks of one artist or album than their caps."""
    chosen = today.join(
        tracks.select("track_id", "artist_id", pl.col("album").str.strip_chars().replace("", None)),
        on="track_id",
        how="left",
    ).join(rules.select("playlist_id", "max_per_artist", "max_per_album"), on="playlist_id", how="left")
    violations = []
    for (playlist,), rows in chosen.group_by("playlist_id", maintain_order=True):
        if rows["track_id"].n_unique() != rows.height:
            violations.append(f"{playlist}: a track appears twice")
        for column, cap_column in (("artist_id", "max_per_artist"), ("album", "max_per_album")):
            cap = rows[cap_column][0]
            over = rows.drop_nulls(column).group_by(column).len().filter(pl.col("len") > cap)
            violations += [f"{playlist}: {n} tracks of {column} {value!r} (cap {cap})" for value, n in over.iter_rows()]
    return violations


def verify_history(history: pl.DataFrame, rules: pl.DataFrame, tracks: pl.DataFrame) -> dict[str, int]:
    """Every repeat-gap and cap violation over a whole history at once (tests and the benchmark use it).

    `history`: snapshot rows (`snapshot_date`, `playlist_id`, `track_id`); `rules`: per playlist (or per playlist
    and day) `repeat_gap_days`, `max_per_artist`, `max_per_album` and optionally `policy_id` (else the playlist id
    less its `-NNN`). Each use is compared with the track's previous use (it must have rested that use's gap) and
    with the previous use by the same policy (at least the policy's gap before): if the nearest earlier use is far
    enough, so are all earlier ones — and any violation makes at least one such neighbouring pair fail.
    """
    keys = ["snapshot_date", "playlist_id"] if "snapshot_date" in rules.columns else ["playlist_id"]
    if "policy_id" not in rules.columns:
        rules = rules.with_columns(pl.col("playlist_id").str.replace(r"-\d{3}$", "").alias("policy_id"))
    rows = history.select("snapshot_date", "playlist_id", "track_id").join(
        rules.select(*keys, "policy_id", "repeat_gap_days", "max_per_artist", "max_per_album"), on=keys, how="left"
    )
    days_between = (pl.col("snapshot_date") - pl.col("previous")).dt.total_days()
    resting = (
        rows.sort("track_id", "snapshot_date")
        .with_columns(
            pl.col("snapshot_date").shift(1).over("track_id").alias("previous"),
            pl.col("repeat_gap_days").shift(1).over("track_id").alias("previous_gap"),
        )
        .drop_nulls("previous")
        .filter(days_between < pl.col("previous_gap"))
    )
    own = (
        rows.sort("track_id", "policy_id", "snapshot_date")
        .with_columns(pl.col("snapshot_date").shift(1).over("track_id", "policy_id").alias("previous"))
        .drop_nulls("previous")
        .filter(days_between < pl.col("repeat_gap_days"))
    )
    meta = tracks.select("track_id", "artist_id", pl.col("album").str.strip_chars().replace("", None))
    joined = rows.join(meta, on="track_id", how="left")
    counts = {}
    for column, cap in (("artist_id", "max_per_artist"), ("album", "max_per_album")):
        over = (
            joined.drop_nulls(column)
            .group_by("snapshot_date", "playlist_id", column)
            .agg(pl.len(), pl.col(cap).first())
            .filter(pl.col("len") > pl.col(cap))
        )
        counts[column] = over.height
    twice = history.group_by("snapshot_date", "playlist_id", "track_id").len().filter(pl.col("len") > 1).height
    return {
        "repeat_gap": resting.height,
        "policy_gap": own.height,
        "artist_cap": counts["artist_id"],
        "album_cap": counts["album"],
        "duplicate_in_playlist": twice,
        "rows_checked": history.height,
    }
