"""Training precision: float32, or bfloat16 autocast for the networks' matrix products where
the hardware runs them natively (CPUs with AVX512-BF16 or AMX, GPUs with bf16).

Only the networks run in bf16: their outputs are cast back to float32 in the model, so the
likelihood, the KL, the loss, the master weights and the optimiser state stay float32, and
evaluation (ELBO reports, importance sampling, diagnostics) never uses autocast.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import torch

from ..errors import ConfigError, opt

PRECISIONS = ("auto", "fp32", "bf16")
BF16_CPU_FLAGS = {"avx512_bf16", "amx_bf16"}


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The CPU's feature flags (Linux); empty where they cannot be read."""
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def native_bf16(device: torch.device, flags: set[str] | None = None) -> bool:
    """Whether ``device`` multiplies bf16 matrices in hardware."""
    if device.type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        return bool(BF16_CPU_FLAGS & (cpu_flags() if flags is None else flags))
    return False


def resolve_precision(name: str, device: torch.device, flags: set[str] | None = None) -> str:
    """``auto`` -> ``bf16`` where native (see :func:`native_bf16`), else ``fp32``; ``bf16``
    where it is not native is refused (emulated bf16 is slower than fp32, not faster)."""
    native = native_bf16(device, flags)
    if name == "auto":
        return "bf16" if native else "fp32"
    if name == "bf16" and not native:
        found = ("no avx512_bf16 or amx_bf16 among this CPU's flags" if device.type == "cpu"
                 else f"no native bf16 on {device}")  # fmt: skip
        raise ConfigError(f"{opt('precision', 'bf16')} needs hardware bf16 ({found}); "
                          f"{opt('precision', 'fp32')} works here, and "
                          f"{opt('precision', 'auto')} picks it")  # fmt: skip
    return name


@contextlib.contextmanager
def autocast(precision: str, device: torch.device) -> Iterator[None]:
    """bf16 autocast for the forward pass of a training step, or nothing for fp32."""
    if precision != "bf16":
        yield
        return
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
        yield
