"""How many CPU threads torch uses: the one knob that makes a busy machine's epochs steady
(measured in issue 14: 0.5–14 s epochs at 2 threads beside other work, a steady 0.28 s at 1)."""

from __future__ import annotations

import torch

from ..errors import ConfigError


def use_threads(n: int | None) -> int:
    """Set torch's intra-op threads to ``n`` (process-wide) if given; return the count in use."""
    if n is not None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError(f"threads must be a whole number >= 1, got {n!r}")
        torch.set_num_threads(n)
    return torch.get_num_threads()
