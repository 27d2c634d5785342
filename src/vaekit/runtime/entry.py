"""The CPU settings that ``vaekit.train`` holds: the training entry point."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from .allocator import keep_freed_memory
from .numerics import flush_denormals
from .processes import process_group

F = TypeVar("F", bound=Callable[..., Any])


def entry_point(fn: F) -> F:
    """For ``vaekit.train``: flushes float32 subnormals (a trained Bernoulli decoder makes
    them; x86 runs them up to 100x slower) in this thread and torch's OpenMP team for the
    call, restored on return; keeps freed malloc memory for reuse from then on (glibc
    only, once per process, permanent: see ``allocator``); and, when a launcher (torchrun)
    started several processes, joins their process group for the call.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        keep_freed_memory()
        with flush_denormals(), process_group():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
