"""The registries of network families and activations, and the contract a family meets.

A family is a class with a ``name`` and ``build(config, out_dim) -> (encoder, decoder)``:
the encoder maps (B, D) inputs to (B, 2L) — the posterior's mean and raw scale, one matmul
of width 2L rather than two, measurably faster on a CPU — and the decoder maps (..., L)
latents to (..., out_dim) likelihood parameters. Networks output numbers; nothing
probabilistic happens in them. A new family is one file here that registers itself.
"""

from __future__ import annotations

from typing import Any, Protocol

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
