"""Per-component randomness: one seed for the run, one `random.Random` per name.

Every component (a link, a client, a node's core, a fault kind) draws from its
own stream, derived from the run's seed and the component's name with a
cryptographic hash, so adding a client never reshuffles the faults and nothing
depends on ``PYTHONHASHSEED``.
"""

from __future__ import annotations

import hashlib
import random


def derive_seed(seed: int, name: str) -> int:
    """A 64-bit seed for `name`'s stream, the same in every process."""
    digest = hashlib.blake2b(f"{seed}/{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def derive(seed: int, name: str) -> random.Random:
    """The `random.Random` of component `name` in the run with `seed`."""
    return random.Random(derive_seed(seed, name))
