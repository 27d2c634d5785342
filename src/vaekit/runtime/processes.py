"""Which process this is, when training runs in several (torch.distributed): only the main
process writes the run directory. Decided here, once; ``RunFiles`` asks."""

from __future__ import annotations


def is_main_process() -> bool:
    """True unless torch.distributed is initialised and this is not rank 0."""
    import torch.distributed as dist

    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0
