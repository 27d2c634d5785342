"""Which device a command computes on: ``--device auto|cpu|cuda|cuda:N|mps``. The model is
moved there and everything else follows the model (data batches, generators, accumulators),
so a device is chosen once, here. A device that is not there is refused in one line, never
replaced by the CPU behind the user's back."""

from __future__ import annotations

import re

import torch

from ..errors import ConfigError, opt
from ..launcher_env import launched, local_rank

DEVICE_HELP = "auto (a CUDA GPU if there is one, else the CPU), cpu, cuda or cuda:N"
_FORM = re.compile(r"(auto|cpu|mps|cuda)(?::(\d+))?$")


def _cuda_count() -> int:
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """The device ``name`` means here; a ConfigError if it is malformed or absent. Under a
    launcher (torchrun) ``auto`` and ``cuda`` take the process's own GPU (LOCAL_RANK), and a
    named ``cuda:N`` is refused (every process would take the same one). Apple's MPS is
    refused: vaekit sums log-likelihoods in float64, which MPS does not have."""
    if isinstance(name, torch.device):
        name = str(name)
    name = "auto" if name is None else str(name).strip().lower()
    m = _FORM.match(name)
    if m is None or (m.group(2) is not None and m.group(1) != "cuda"):
        raise ConfigError(f"{opt('device', name)}: use {DEVICE_HELP}")
    kind, index = m.group(1), m.group(2)
    if kind == "auto":
        kind = "cuda" if _cuda_count() else "cpu"
    if kind == "cpu":
        return torch.device("cpu")
    if kind == "mps":
        raise ConfigError(f"{opt('device', 'mps')} is not supported: vaekit accumulates "
                          f"log-likelihoods in float64, which MPS lacks; {opt('device', 'cpu')} "
                          "works")  # fmt: skip
    count = _cuda_count()
    if count == 0:
        build = "a CPU-only build" if torch.version.cuda is None else f"CUDA {torch.version.cuda}"
        raise ConfigError(f"{opt('device', name)}: no CUDA GPU found (torch {torch.__version__}, "
                          f"{build}); {opt('device', 'cpu')} works")  # fmt: skip
    if launched() and index is not None:
        raise ConfigError(f"{opt('device', name)} names one GPU for several processes: give "
                          f"{opt('device', 'cuda')} and each process takes its own")  # fmt: skip
    if index is not None:
        if int(index) >= count:
            raise ConfigError(f"{opt('device', name)}: this machine has {count} CUDA GPU(s), "
                              f"cuda:0…cuda:{count - 1}")  # fmt: skip
        return torch.device("cuda", int(index))
    local = local_rank()
    if local >= count:
        raise ConfigError(f"process {local} on this machine needs a GPU of its own and there are "
                          f"{count}: start at most {count} processes a machine")  # fmt: skip
    return torch.device("cuda", local)
