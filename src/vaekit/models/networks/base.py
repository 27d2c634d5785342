"""The registries of network families and activations, and the contract a family meets.

A family is a class with a ``name`` and ``build(config, out_dim) -> (encoder, decoder)``:
the encoder maps (B, D) inputs to (B, 2L) — the posterior's mean and raw scale, one matmul
of width 2L rather than two, measurably faster on a CPU — and the decoder maps (..., L)
latents to (..., out_dim) likelihood parameters. Networks output numbers; nothing
probabilistic happens in them. A new family is one file here that registers itself.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch
from torch import nn

from ...registry import Registry

NETWORKS: Registry = Registry("architecture")
ACTIVATIONS: Registry = Registry("activation")
for _name, _cls in (("relu", nn.ReLU), ("tanh", nn.Tanh), ("elu", nn.ELU),
                    ("softplus", nn.Softplus)):  # fmt: skip
    ACTIVATIONS.register(_cls, _name)


class NetworkFamily(Protocol):
    name: str

    @staticmethod
    def build(config: Any, out_dim: int) -> tuple[nn.Module, nn.Module]: ...


def build_networks(config: Any, out_dim: int) -> tuple[nn.Module, nn.Module]:
    """(encoder: D -> 2L, decoder: L -> out_dim) of the family ``config.arch`` names."""
    family: NetworkFamily = NETWORKS.lookup(config.arch)
    return family.build(config, out_dim)


@torch.no_grad()
def widest_activation(network: nn.Module, in_dim: int, cond_dim: int = 0) -> int:
    """Elements per example of the largest tensor any part of ``network`` outputs, measured on
    one probe input (and condition features, if ``cond_dim``). Loops that push many inputs through at once size their chunks by it: a
    conv decoder's 32x28x28 feature maps are 32 times its 784 outputs."""
    sizes: list[int] = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: sizes.append(_numel(out)))
             for m in network.modules()]  # fmt: skip
    try:
        p = next(network.parameters(), None)
        kw = {"device": getattr(p, "device", None), "dtype": getattr(p, "dtype", None)}
        probe = [torch.zeros(1, d, **kw) for d in (in_dim, cond_dim) if d]
        network(*probe)
    finally:
        for h in hooks:
            h.remove()
    return max(sizes)


def _numel(out: object) -> int:
    return out.numel() if isinstance(out, torch.Tensor) else 0
