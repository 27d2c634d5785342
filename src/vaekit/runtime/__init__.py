"""How vaekit uses the CPU and randomness: subnormal flushing, malloc settings, seed streams.

Process-wide changes are made only by entry points that own the work: the ``vaekit`` command
flushes subnormals and keeps freed memory for its whole process; ``vaekit.train``
(:func:`entry_point`) flushes for the call and restores, and keeps freed memory from then on
(a malloc setting, once per process); ``vaekit.evaluate`` only flushes for the call.
Lower-level library functions (``log_likelihood``, objectives, models) change no global
state.
"""

from __future__ import annotations

from .allocator import keep_freed_memory
from .compilation import check_compiler, compile_networks, uncompile_networks
from .device import DEVICE_HELP, resolve_device
from .entry import entry_point
from .numerics import flush_denormals, flush_process_wide, flushing_denormals
from .processes import agree, all_sum, is_main_process, launched, process_group, rank_and_size
from .seeds import derived_seed
from .threads import use_threads

__all__ = ["DEVICE_HELP", "agree", "all_sum", "check_compiler", "compile_networks",
           "derived_seed", "entry_point", "flush_denormals", "flush_process_wide",
           "flushing_denormals", "is_main_process", "keep_freed_memory", "launched",
           "process_group", "rank_and_size", "resolve_device", "uncompile_networks",
           "use_threads"]  # fmt: skip
