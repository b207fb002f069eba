"""Roles on split sheets, the pools (role groups) their shares are counted in, and how a play's money is
divided between the pools.

Music publishing convention: a work's writers share the writer pool (their shares sum to 100 %) and its
publishers share the publisher pool (also 100 %); the money a play earns is divided between the pools by
weight. A recording's performers and label do the same. A pool with nobody in it keeps its weight in suspense
(posting.py): it is never passed to the pools present; a self-publishing writer is listed in both pools.
"""

ROLE_GROUP: dict[str, str] = {
    "writer": "writer",
    "composer": "writer",
    "lyricist": "writer",
    "arranger": "writer",
    "publisher": "publisher",
    "sub-publisher": "publisher",
    "artist": "performer",
    "performer": "performer",
    "label": "label",
}
"""Role as written on a split sheet → the pool its share is counted in."""

GROUP_WEIGHT: dict[str, int] = {"writer": 50, "publisher": 50, "performer": 50, "label": 50}
"""Weight of each pool in a play's money (relative within a subject's pools present)."""

SUBJECT_GROUPS: dict[str, frozenset[str]] = {
    "work": frozenset({"writer", "publisher"}),
    "recording": frozenset({"performer", "label"}),
}
"""Which pools a split of a work or of a recording may use."""

FULL_SHARE_BP = 10_000
