"""Policies as data: JSON and YAML, every problem reported with file, playlist and field."""

import json
from datetime import date
from pathlib import Path

import pytest

from backbeat.curation.policy import PlaylistPolicy, PolicyError, find_policy_file, load_policies

GOOD = {
    "defaults": {"size": 30, "max_per_artist": 1},
    "playlists": [
        {
            "policy_id": "focus",
            "theme": "Focus",
            "repeat_gap_days": 5,
            "filters": {
                "genres": ["ambient"],
                "explicit": False,
                "tempo_bpm": {"min": 60, "max": 110},
                "energy": {"max": 0.5},
                "release_date": {"from": "2000-01-01"},
                "popularity": {"min": 10},
            },
            "order": {"by": "energy_arc", "no_adjacent_artist": True},
            "min_playlists": 2,
            "max_playlists": 9,
        },
        {
            "playlist_id": "legacy",
            "theme": "Old style",
            "size": 12,
            "filters": {"genres": ["pop"], "explicit": True, "min_popularity": 30},
        },
    ],
}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_json_and_yaml_give_the_same_policies(tmp_path: Path) -> None:
    from_json = load_policies(write(tmp_path, "policies.json", json.dumps(GOOD)))
    yaml_text = """
defaults: {size: 30, max_per_artist: 1}
playlists:
  - policy_id: focus
    theme: Focus
    repeat_gap_days: 5
    filters:
      genres: [ambient]
      explicit: false
      tempo_bpm: {min: 60, max: 110}
      energy: {max: 0.5}
      release_date: {from: 2000-01-01}   # YAML reads this as a date
      popularity: {min: 10}
    order: {by: energy_arc, no_adjacent_artist: true}
    min_playlists: 2
    max_playlists: 9
  - playlist_id: legacy
    theme: Old style
    size: 12
    filters: {genres: [pop], explicit: true, min_popularity: 30}
"""
    yaml_dir = tmp_path / "yaml"
    yaml_dir.mkdir()
    write(yaml_dir, "policies.yaml", yaml_text)
    assert load_policies(yaml_dir) == from_json  # a folder: its one policies file
    focus, legacy = from_json
    assert (focus.size, focus.repeat_gap_days, focus.max_per_artist, focus.max_per_album) == (30, 5, 1, 2)
    assert focus.tempo_bpm == (60, 110) and focus.energy == (None, 0.5) and focus.released_from == date(2000, 1, 1)
    assert (focus.order, focus.min_playlists, focus.max_playlists, focus.needs_features) == ("energy_arc", 2, 9, True)
    assert (legacy.policy_id, legacy.playlist_id, legacy.size, legacy.min_popularity) == ("legacy", "legacy", 12, 30)
    assert legacy.allow_explicit and not legacy.needs_features and legacy.order == "shuffle"


def test_every_problem_names_file_playlist_and_field(tmp_path: Path) -> None:
    bad = {
        "playlists": [
            {"policy_id": "a", "theme": "A", "size": 0, "filtres": {}},
            {
                "policy_id": "b",
                "theme": "B",
                "filters": {
                    "tempo_bpm": {"min": 140, "max": 100},
                    "energy": {"max": 2},
                    "release_date": {"from": "yesterday"},
                    "genres": "pop",
                },
                "order": "loudest_first",
            },
            {"policy_id": "a", "theme": "Again"},
            {"theme": "No id"},
            {"policy_id": "c", "theme": "A", "min_playlists": 3, "max_playlists": 2},
        ]
    }
    path = write(tmp_path, "policies.json", json.dumps(bad))
    with pytest.raises(PolicyError) as caught:
        load_policies(path)
    problems = caught.value.problems
    text = "\n".join(problems)
    assert all(p.startswith(str(path)) for p in problems)
    assert "playlist 'a' at playlists[0]: field 'size' must be a whole number 1..100, got 0" in text
    assert "playlist 'a' at playlists[0]: field 'filtres' is not a policy field" in text
    assert "playlist 'b' at playlists[1]: field 'filters.tempo_bpm.min' is 140, above max 100" in text
    assert "playlist 'b' at playlists[1]: field 'filters.energy.max' must be a number 0..1, got 2" in text
    assert "field 'filters.release_date.from' is not a date (YYYY-MM-DD), got 'yesterday'" in text
    assert "field 'filters.genres' must be a list of genre names" in text
    assert "field 'order.by' must be one of shuffle, tempo_ascending" in text
    assert "playlist 'a' at playlists[2]: policy_id 'a' already used by playlists[0]" in text
    assert "playlists[3]: field 'policy_id' is required" in text
    assert "field 'max_playlists' is 2, below min_playlists 3" in text
    assert "field 'theme': 'A' is already the theme of 'a'" in text
    assert len(problems) == 11


def test_unreadable_files_say_where(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"policies\.json: cannot be read as JSON \(line 1, column 2\)"):
        load_policies(write(tmp_path, "policies.json", "{not json"))
    with pytest.raises(PolicyError, match=r"policies\.yml: cannot be read as YAML \(line 3, column 1\)"):
        load_policies(write(tmp_path, "policies.yml", "playlists:\n  - [unclosed\n"))
    with pytest.raises(PolicyError, match="top level must be an object with a 'playlists' list"):
        load_policies(write(tmp_path, "p.json", "[]"))
    with pytest.raises(PolicyError, match="several policies files"):
        find_policy_file(tmp_path)
    with pytest.raises(PolicyError, match="no policies file"):
        find_policy_file(tmp_path / "nowhere")


def test_policy_defaults_match_the_issue() -> None:
    policy = PlaylistPolicy("p", "Theme")
    assert (policy.size, policy.repeat_gap_days, policy.order, policy.no_adjacent_artist) == (50, 7, "shuffle", True)
