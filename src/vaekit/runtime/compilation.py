"""``--compile``: the networks' forward and backward compiled by ``torch.compile`` (inductor:
C++/OpenMP kernels on CPUs, Triton on GPUs) for long runs. The likelihood, the KL and the
optimiser stay eager. What it gains and costs is measured by benchmarks/compile_speed.py."""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError, flag


def check_compiler(device: torch.device | None = None) -> None:
    """Compile and run a one-line function on ``device`` (default the CPU), so a missing
    compiler (no C++ compiler for a CPU, no Triton for a GPU, an unsupported Python) is one
    line before any work, not a traceback mid-run."""
    try:
        fn = torch.compile(lambda t: torch.relu(t) * 3.0 + 1.0, dynamic=False)
        got = fn(torch.tensor([-1.0, 2.0], device=device)).cpu()
        ok = bool(torch.equal(got, torch.tensor([1.0, 7.0])))
    except Exception as e:  # noqa: BLE001 - the compiler's failures are many and unnamed
        reason = " ".join(str(e).split()).split(" Set TORCHDYNAMO_VERBOSE")[0][:200]
        reason = reason or type(e).__name__
        raise ConfigError(f"{flag('compile')} needs torch.compile's compiler, which failed here "
                          f"({reason}); train without {flag('compile')}") from None  # fmt: skip
    if not ok:
        raise ConfigError(f"{flag('compile')}: torch.compile computed a wrong result here; train "
                          f"without {flag('compile')}")  # fmt: skip


def uncompile_networks(model: nn.Module) -> None:
    """Back to the eager ``forward`` (a compiled one cannot be pickled, and a deep copy would
    share it, computing with the original's weights)."""
    for name in ("encoder", "decoder"):
        net = getattr(model, name, None)
        if isinstance(net, nn.Module) and "forward" in net.__dict__:
            del net.forward


def compile_networks(model: nn.Module) -> None:
    """Compile the encoder's and decoder's ``forward`` in place: parameter names, and so the
    weights and checkpoints, stay those of the eager model. (``Module.compile()`` would be the
    obvious call, but in torch 2.13 it compiles nothing: dynamo skips the frame of
    ``Module._call_impl`` it wraps — checked in tests/runtime/test_compilation.py.)"""
    for name in ("encoder", "decoder"):
        net = getattr(model, name, None)
        if isinstance(net, nn.Module):
            net.forward = torch.compile(net.forward)  # type: ignore[method-assign]
