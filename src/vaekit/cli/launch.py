"""``vaekit train --processes N``: data-parallel training in N local processes, started by
torch's own elastic launcher (the engine behind ``torchrun``), with vaekit's exits: a stop
signal to the launcher checkpoints the run and exits 130, a refused setting exits 2 with the
processes' one line, a lost process exits 1 with one line — never torchrun's traceback.
``torchrun`` itself remains the way to several machines (docs/scaling.md)."""

from __future__ import annotations

import logging
import os
import signal
import sys
import uuid

import click

from ..errors import ConfigError
from ..launcher_env import world_size
from .app import EXIT_INTERRUPTED

EXIT_LOST = 1  # a process died of a signal: not the user's input, not a clean stop
# How long a stopped process may take to write its checkpoint before it is killed (torch's
# default, 30 s, is shorter than a first compiled step or a long validation).
SHUTDOWN_SECONDS = 300


def check_processes(n: int) -> bool:
    """Whether this command must start the processes itself (False: already one of them)."""
    size = world_size()
    if n < 1:
        raise ConfigError(f"--processes {n}: give 1 or more")
    if size > 1 and n not in (1, size):
        raise ConfigError(f"--processes {n} under a launcher that started {size} processes: "
                          "give one or the other")  # fmt: skip
    return n > 1 and size == 1


def per_process_threads(n: int) -> int:
    """Cores shared out: processes × threads = the cores this process may use."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) // n)


def launch(n: int, argv: list[str]) -> int:
    """Run ``vaekit ARGV`` (which still holds ``--processes n``: each process checks it
    against its launcher) in ``n`` processes on this machine; their exit code, as vaekit's."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    # The launcher's own log lines (worker started, failed with a table) repeat what the
    # processes said in one line.
    for name in list(logging.root.manager.loggerDict):  # each has its own level (LOGLEVEL)
        if name.startswith("torch.distributed.elastic"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    config = LaunchConfig(
        min_nodes=1, max_nodes=1, nproc_per_node=n, run_id=uuid.uuid4().hex,
        rdzv_backend="c10d", rdzv_endpoint="127.0.0.1:0",  # a free port, as torchrun --standalone
        max_restarts=0, monitor_interval=0.1, start_method="spawn",
        shutdown_timeout=SHUTDOWN_SECONDS,
    )  # fmt: skip
    try:
        elastic_launch(config, sys.executable)("-m", "vaekit", *argv)
    except SignalException:
        # The launcher has passed the signal on and waited: the first process saved the
        # checkpoint and said so.
        return EXIT_INTERRUPTED
    except ChildFailedError as e:
        return _failed({rank: f.exitcode for rank, f in e.failures.items()})
    return 0


def _failed(codes: dict[int, int]) -> int:
    """vaekit's exit code for processes that ended with ``codes`` (rank -> exit code, minus
    the signal for a process a signal ended). When one process fails, the launcher stops the
    others with SIGTERM: those are consequences, not the cause. A process killed by another
    signal is the cause (one line, exit 1); else the processes' own code, a refusal (2) before
    a stop (130)."""
    term = -signal.SIGTERM
    killed = sorted((r, c) for r, c in codes.items() if c < 0 and c != term)
    if killed:
        rank, code = killed[0]
        click.echo(f"vaekit: error: training process {rank} was ended by "
                   f"{signal.Signals(-code).name}; rerun the same command to resume from the "
                   "last checkpoint", err=True)  # fmt: skip
        return EXIT_LOST
    said = [c for c in codes.values() if c > 0]  # they said why, in one line
    if not said:
        return EXIT_INTERRUPTED  # all were stopped by SIGTERM: a stop
    return min(said, key=lambda c: (c == EXIT_INTERRUPTED, c))
