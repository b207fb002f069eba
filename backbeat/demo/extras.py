"""Curation policies and Spotify accounts, and the outreach contact list.

The contact list has exactly four bad rows for the outreach checks to reject, one problem each: an email
without `@`, an empty name, a case-insensitive duplicate of an earlier email, and a consent value that is
neither `yes` nor `no`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backbeat.demo import names
from backbeat.demo.seeding import rng_for

CONTACTS_HEADER = ("email", "name", "company", "country", "consent")
N_CONTACTS = 40
COMPANIES = (
    "Polderbeat Records",
    "Radio Kanaal",
    "Harbour Sessions",
    "Dune Booking",
    "Velvet Venue",
    "Lantern Blog",
    "Signal Media",
    "Orbit Festival",
    "Canal Sound",
    "Meadow Management",
)


def policies() -> dict[str, Any]:
    """Playlist policies (`inbox/curation/policies.json`, format in `backbeat/curation/policy.py`).

    Sizes are small for the demo catalog; `"explicit": false` admits clean tracks only. Each policy runs one
    playlist (floor 1) unless the catalog sustains more (P* = ceil(T / (K · R))), up to its ceiling. The first
    keeps the first version's spelling (`playlist_id`, `min_popularity`), which the format still accepts.
    """
    return {
        "defaults": {"min_playlists": 1},
        "playlists": [
            {
                "playlist_id": "focus-flow",
                "theme": "Focus",
                "size": 12,
                "repeat_gap_days": 2,
                "max_per_artist": 2,
                "max_per_album": 2,
                "filters": {"genres": ["ambient", "jazz"], "explicit": False, "min_popularity": 0},
            },
            {
                "policy_id": "night-run",
                "theme": "Workout",
                "size": 12,
                "repeat_gap_days": 1,
                "description": "House, hip-hop and rock that keeps getting faster.",
                "max_per_artist": 3,
                "max_per_album": 2,
                "filters": {"genres": ["house", "hip-hop", "rock"], "explicit": True, "popularity": {"min": 40}},
                "order": "tempo_ascending",
                "max_playlists": 1,
            },
            {
                "policy_id": "sunday-pop",
                "theme": "Feel-good pop",
                "size": 6,
                "repeat_gap_days": 3,
                "description": "Sunny pop and house, one song per artist.",
                "max_per_artist": 1,
                "max_per_album": 1,
                "filters": {"genres": ["pop", "house"], "explicit": False, "popularity": {"min": 30}},
                "order": "popularity_descending",
                "max_playlists": 2,
            },
        ],
    }


def accounts() -> dict[str, Any]:
    """Spotify accounts playlists are published to (`inbox/curation/accounts.json`; no tokens in it).

    `label-dev` belongs to an app still in development mode: Spotify refuses its playlist writes, so its
    playlists land in `data/exports/curation/{day}/` as M3U and CSV files for a person to publish.
    """
    return {
        "accounts": [
            {
                "account_id": "label-main",
                "spotify_user_id": "backbeat-label",
                "display_name": "Backbeat Label",
                "max_playlists": 1,
                "active": True,
            },
            {
                "account_id": "label-editorial",
                "spotify_user_id": "backbeat-editorial",
                "display_name": "Backbeat Editorial",
                "max_playlists": 1,
                "active": True,
            },
            {
                "account_id": "label-dev",
                "spotify_user_id": "backbeat-dev",
                "display_name": "Backbeat (development-mode app)",
                "max_playlists": 2,
                "active": True,
                "development_mode": True,
            },
        ]
    }


def contacts(seed: int) -> list[tuple[str, str, str, str, str]]:
    """Forty contacts in a stable order; rows 9, 17, 26 and 34 (1-based) are the four invalid ones."""
    rng = rng_for(seed, "contacts")
    taken: set[str] = set()
    rows: list[tuple[str, str, str, str, str]] = []
    for i in range(N_CONTACTS):
        name = names.person(rng)
        company = names.pick(rng, COMPANIES)
        email = names.unique(lambda n=name, c=company: _email(n, c, rng), taken)
        country = names.pick(rng, names.COUNTRIES)
        consent = "yes" if rng.random() < 0.7 else "no"
        if i == 8:
            email = email.replace("@", ".at.")  # malformed: no @ left
        elif i == 16:
            name = ""
        elif i == 25:
            original = rows[int(rng.integers(0, 8))]  # an early, valid row
            email, name, company, country = original[0].title(), original[1], original[2], original[3]
        elif i == 33:
            consent = "maybe"
        rows.append((email, name, company, country, consent))
    return rows


def _email(name: str, company: str, rng: np.random.Generator) -> str:
    suffix = "" if rng.random() < 0.8 else str(int(rng.integers(1, 99)))
    return f"{names.ascii_slug(name)}{suffix}@{names.ascii_slug(company, '-')}.example"


PROGRAMS_HEADER = ("station_id", "program_id", "name", "days", "start_local", "end_local")
PROGRAM_OVERRIDES_HEADER = ("station_id", "start_utc", "end_utc", "program_id", "changed_by", "changed_at", "note")


def programs(north: str, south: str) -> list[tuple[str, str, str, str, str, str]]:
    """Weekly programme windows in each station's local time; one crosses midnight, one splits the demo block."""
    return [
        (north, "morning-drive", "Morning Drive", "mon-fri", "06:00", "08:00"),
        (north, "north-daytime", "Daytime North", "mon-fri", "08:00", "15:00"),
        (north, "weekend-breakfast", "Weekend Breakfast", "sat,sun", "07:00", "11:00"),
        (north, "night-owls", "Night Owls", "mon-sun", "22:00", "06:00"),
        (south, "afternoon-mix", "Afternoon Mix", "mon-fri", "15:00", "16:30"),
        (south, "drive-time", "Drive Time", "mon-fri", "16:30", "19:00"),
        (south, "south-weekend", "South Weekend", "sat,sun", "12:00", "18:00"),
    ]


def program_overrides(south: str, day_iso: str) -> list[tuple[str, str, str, str, str, str, str]]:
    """A manual correction: a live session replaced part of the scheduled programme, with who and when."""
    return [
        (
            south,
            f"{day_iso}T15:40:00Z",
            f"{day_iso}T16:00:00Z",
            "live-session",
            "editor@radio-south.example",
            f"{day_iso}T18:05:00Z",
            "Live session replaced the start of Drive Time",
        )
    ]
