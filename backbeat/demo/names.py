"""Word lists and name builders for fictional artists, titles, people and companies.

A few names carry diacritics on purpose, so every reader downstream is exercised with UTF-8.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import numpy as np

FIRST_NAMES = (
    "Anouk",
    "Bram",
    "Chloé",
    "Daan",
    "Elif",
    "Finn",
    "Greta",
    "Hugo",
    "Ines",
    "Jasper",
    "Kiki",
    "Lars",
    "Mila",
    "Noah",
    "Olga",
    "Pim",
    "Quinten",
    "Roos",
    "Sem",
    "Tess",
    "Umut",
    "Vera",
    "Wout",
    "Yara",
    "Zoë",
    "José",
    "Björn",
    "Amara",
    "Luca",
    "Nadia",
    "Timo",
    "Iris",
    "Jonas",
    "Lotte",
    "Mats",
    "Sanne",
)
LAST_NAMES = (
    "de Vries",
    "Jansen",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "Mulder",
    "de Boer",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "Dekker",
    "Brouwer",
    "Kaya",
    "Lindqvist",
    "Moreau",
    "Okafor",
    "Novak",
    "Santos",
    "Schäfer",
    "Ibáñez",
    "Kowalski",
    "Haddad",
    "Nguyen",
    "Larsen",
)
ADJECTIVES = (
    "Velvet",
    "Neon",
    "Quiet",
    "Golden",
    "Electric",
    "Paper",
    "Silver",
    "Hollow",
    "Midnight",
    "Amber",
    "Crystal",
    "Distant",
    "Slow",
    "Wild",
    "Lunar",
    "Northern",
    "Faded",
    "Bright",
    "Salt",
    "Open",
)
NOUNS = (
    "Harbour",
    "Tide",
    "River",
    "Signal",
    "Garden",
    "Engine",
    "Lantern",
    "Orbit",
    "Canal",
    "Meadow",
    "Comet",
    "Window",
    "Shadow",
    "Island",
    "Polder",
    "Satellite",
    "Echo",
    "Horizon",
    "Bridge",
    "Season",
    "Pulse",
    "Dune",
)
COUNTRIES = ("NL", "NL", "NL", "BE", "DE", "GB", "FR", "SE", "US", "ES", "DK", "NG")


def pick(rng: np.random.Generator, words: tuple[str, ...]) -> str:
    return words[int(rng.integers(len(words)))]


def person(rng: np.random.Generator) -> str:
    return f"{pick(rng, FIRST_NAMES)} {pick(rng, LAST_NAMES)}"


def band(rng: np.random.Generator) -> str:
    return f"The {pick(rng, ADJECTIVES)} {pick(rng, NOUNS)}s"


def title(rng: np.random.Generator) -> str:
    """A song or album title such as "Neon Tide", "Canal of the Comet" or "Slow Satellite"."""
    form = int(rng.integers(3))
    if form == 0:
        return f"{pick(rng, ADJECTIVES)} {pick(rng, NOUNS)}"
    if form == 1:
        return f"{pick(rng, NOUNS)} of the {pick(rng, NOUNS)}"
    return f"{pick(rng, ADJECTIVES)} {pick(rng, ADJECTIVES)} {pick(rng, NOUNS)}"


def ascii_slug(text: str, separator: str = ".") -> str:
    """`Zoë de Vries` → `zoe.de.vries`: ASCII, lowercase, words joined by `separator`."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return separator.join("".join(c for c in word if c.isalnum()) for word in folded.lower().split())


def unique(draw: Callable[[], str], taken: set[str], attempts: int = 50) -> str:
    """Call `draw()` until it returns a name not in `taken`, then record it; numbered as a last resort."""
    name = draw()
    for _ in range(attempts):
        if name not in taken:
            break
        name = draw()
    else:
        base, n = name, 2
        while name in taken:
            name, n = f"{base} {n}", n + 1
    taken.add(name)
    return name
