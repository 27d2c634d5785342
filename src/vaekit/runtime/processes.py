"""Which process this is, when training runs in several (torch.distributed, launched by
torchrun): only the main process writes the run directory, and what one process decides the
others are told. Decided here, once; ``RunFiles`` and the training loop ask."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import torch

from ..errors import PeerError
from ..launcher_env import launched, local_rank

TIMEOUT_ENV = "VAEKIT_DIST_TIMEOUT"  # seconds a collective waits for a lost peer (default 60)


def _dist() -> Any:
    import torch.distributed as dist

    return dist


def is_main_process() -> bool:
    """True unless torch.distributed is initialised and this is not rank 0."""
    dist = _dist()
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def rank_and_size() -> tuple[int, int]:
    """(rank, world size): (0, 1) for a single process."""
    dist = _dist()
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


@contextlib.contextmanager
def process_group() -> Iterator[None]:
    """Join the launcher's process group for the duration (gloo on CPUs, NCCL on GPUs), with
    a bounded wait for lost peers; nothing for a single process or an existing group."""
    dist = _dist()
    if not launched() or dist.is_initialized():
        yield
        return
    backend = "gloo"
    local = local_rank()
    if torch.cuda.is_available() and local < torch.cuda.device_count():
        # NCCL reduces on the current GPU: each process's own, or all would share cuda:0
        torch.cuda.set_device(local)
        backend = "nccl"
    seconds = float(os.environ.get(TIMEOUT_ENV, "60"))
    with _collective():  # a rendezvous that cannot be reached: one line after the timeout
        dist.init_process_group(backend, timeout=timedelta(seconds=seconds))
    try:
        yield
    finally:
        dist.destroy_process_group()


@contextlib.contextmanager
def _collective() -> Iterator[None]:
    """A lost peer (killed, or its machine gone) ends a collective with a RuntimeError after
    at most the timeout: one line instead."""
    try:
        yield
    except RuntimeError as e:
        raise PeerError(f"another training process stopped or cannot be reached "
                        f"({' '.join(str(e).split())[:160]}); rerun the same command to resume "
                        "from the last checkpoint") from None  # fmt: skip


def agree(value: Any) -> Any:
    """Rank 0's ``value`` on every rank (the value itself for a single process)."""
    if rank_and_size()[1] == 1:
        return value
    box = [value]
    with _collective():
        _dist().broadcast_object_list(box, src=0)
    return box[0]


def all_sum(t: torch.Tensor) -> torch.Tensor:
    """The sum of ``t`` over all ranks, in place (``t`` itself for a single process)."""
    if rank_and_size()[1] > 1:
        dist = _dist()
        nccl = dist.get_backend() == "nccl"  # NCCL reduces GPU tensors only, gloo CPU ones
        on = torch.device("cuda", torch.cuda.current_device()) if nccl else torch.device("cpu")
        u = t.to(on)
        with _collective():
            dist.all_reduce(u)
        if u is not t:
            t.copy_(u)
    return t
