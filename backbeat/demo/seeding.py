"""Per-item random generators: every artist, track, talk break or chunk draws from its own stream.

Seeding each item from (run seed, item kind, item key) keeps items independent of generation order, so
changing one size (say, more tracks) does not reshuffle everything else. String keys are hashed with
blake2b because Python's `hash()` is salted per process.
"""

from __future__ import annotations

import hashlib

import numpy as np


def _key_to_int(key: str | int) -> int:
    if isinstance(key, int):
        return key
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little")


def rng_for(seed: int, *keys: str | int) -> np.random.Generator:
    """A fresh numpy Generator for the item named by `keys` under the run `seed`."""
    return np.random.default_rng(np.random.SeedSequence([seed, *(_key_to_int(k) for k in keys)]))
