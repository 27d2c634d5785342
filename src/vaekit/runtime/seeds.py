"""Independent random streams from one user seed.

Seeds for sub-tasks (the r-th importance-sampling repeat, the posterior refinement) are
derived with NumPy's ``SeedSequence`` from (seed, stream name, index), so no two streams
share a seed whatever the number of repeats (``seed + 1 + r`` and ``seed + 1000`` collided at
the 1000th repeat).
"""

from __future__ import annotations

import zlib

import numpy as np


def derived_seed(seed: int, stream: str, index: int = 0) -> int:
    """A 63-bit seed for stream ``stream`` number ``index`` of the user's ``seed``."""
    key = (zlib.crc32(stream.encode()), int(index))
    ss = np.random.SeedSequence(int(seed), spawn_key=key)
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
