import json
from datetime import date

import polars as pl
import pytest

from backbeat.curation.policy import PlaylistPolicy, PolicyError, load_policies
from backbeat.curation.selection import select_tracks

TRACKS = pl.DataFrame(
    {
        "track_id": [f"T{i:02d}" for i in range(20)],
        "artist_id": [f"A{i % 4}" for i in range(20)],
        "album": [f"L{i % 10}" for i in range(20)],
        "genre": ["pop" if i % 2 else "jazz" for i in range(20)],
        "explicit": [i == 3 for i in range(20)],
        "popularity": [i * 5 for i in range(20)],
    }
)


def test_selection_obeys_filters_caps_and_repeat_gap_and_is_deterministic():
    policy = PlaylistPolicy("p", "Pop", size=6, max_per_artist=1, genres=("pop",), allow_explicit=False)
    chosen = select_tracks(policy, TRACKS, recently_used={"T01"}, day=date(2026, 11, 2))
    picked = TRACKS.filter(pl.col("track_id").is_in(chosen))
    assert "T01" not in chosen and "T03" not in chosen
    assert set(picked["genre"]) == {"pop"}
    assert picked["artist_id"].n_unique() == len(chosen) == 2  # only artists A1 and A3 have pop tracks
    assert chosen == select_tracks(policy, TRACKS, {"T01"}, date(2026, 11, 2))
    assert chosen != select_tracks(policy, TRACKS, {"T01"}, date(2026, 11, 3)) or len(chosen) < 3


def test_policy_errors_name_the_playlist_and_field(tmp_path):
    path = tmp_path / "policies.json"
    path.write_text(json.dumps({"playlists": [{"playlist_id": "a", "size": 0}]}))
    with pytest.raises(PolicyError, match=r"playlists\[0\]: field 'size'"):
        load_policies(path)
    path.write_text("{not json")
    with pytest.raises(PolicyError, match="cannot be read as JSON"):
        load_policies(path)
