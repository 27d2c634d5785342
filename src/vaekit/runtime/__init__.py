"""How vaekit uses the CPU and randomness: subnormal flushing, malloc settings, seed streams.

Process-wide changes (malloc settings, flush-to-zero) are made only by entry points that own
the work: the ``vaekit`` command (for its whole process), ``vaekit.train`` and
``vaekit.evaluate`` (for the duration of the call, see :func:`cpu_settings`). Lower-level
library functions (``log_likelihood``, objectives, models) change no global state.
"""

from __future__ import annotations

from .allocator import keep_freed_memory
from .entry import entry_point
from .numerics import flush_denormals, flush_process_wide, flushing_denormals
from .seeds import derived_seed

__all__ = ["derived_seed", "entry_point", "flush_denormals", "flush_process_wide",
           "flushing_denormals", "keep_freed_memory"]  # fmt: skip
