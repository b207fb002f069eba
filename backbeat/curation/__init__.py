"""Curation core: playlist policy rules, track selection, the daily planner and Spotify sync (plain Python)."""
