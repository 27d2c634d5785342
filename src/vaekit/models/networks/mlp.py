"""Fully connected networks: ``mlp`` (hidden layers, the decoder mirrors the encoder) and
``linear`` (affine maps both ways: the linear VAE, whose optimum is probabilistic PCA)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor, nn

from ..conditions import feature_dim
from .base import ACTIVATIONS, NETWORKS


def mlp(
    in_dim: int, hidden: Sequence[int], out_dim: int, activation: str = "relu"
) -> nn.Sequential:
    """in_dim -> hidden[0] -> ... -> out_dim, activation between layers, none at the end."""
    act = ACTIVATIONS.lookup(activation)
    layers: list[nn.Module] = []
    width = in_dim
    for h in hidden:
        layers += [nn.Linear(width, h), act()]
        width = h
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


class Conditioned(nn.Module):
    """An MLP on [a, c] whose first layer is W_a a + W_c c: a (..., B, A), c (B, C). The S
    latent draws of one example share c, so its part is computed once an example, not once
    a draw (importance sampling pushes thousands of draws through the decoder)."""

    def __init__(self, in_dim: int, cond_dim: int, hidden: Sequence[int], out_dim: int,
                 activation: str = "relu") -> None:  # fmt: skip
        super().__init__()
        width = hidden[0] if hidden else out_dim
        self.first = nn.Linear(in_dim, width)
        self.cond = nn.Linear(cond_dim, width, bias=False)
        self.rest = (nn.Sequential(ACTIVATIONS.lookup(activation)(),
                                   mlp(width, hidden[1:], out_dim, activation))
                     if hidden else nn.Identity())  # fmt: skip

    def forward(self, a: Tensor, c: Tensor) -> Tensor:
        return self.rest(self.first(a) + self.cond(c))  # (..., B, out_dim)


def network(in_dim: int, hidden: Sequence[int], out_dim: int, activation: str = "relu",
            cond_dim: int = 0) -> nn.Module:  # fmt: skip
    """``mlp``, or with ``cond_dim`` a :class:`Conditioned` one, called as net(a, c)."""
    if cond_dim:
        return Conditioned(in_dim, cond_dim, tuple(hidden), out_dim, activation)
    return mlp(in_dim, hidden, out_dim, activation)


@NETWORKS.register
class MLP:
    name = "mlp"

    @staticmethod
    def build(config: Any, out_dim: int) -> tuple[nn.Module, nn.Module]:
        hidden, f = tuple(config.hidden), feature_dim(config)
        return (
            network(config.input_dim, hidden, 2 * config.latent_dim, config.activation, f),
            network(config.latent_dim, tuple(reversed(hidden)), out_dim, config.activation, f),
        )


@NETWORKS.register
class Linear:
    name = "linear"

    @staticmethod
    def build(config: Any, out_dim: int) -> tuple[nn.Module, nn.Module]:
        f = feature_dim(config)
        return (
            network(config.input_dim, (), 2 * config.latent_dim, cond_dim=f),
            network(config.latent_dim, (), out_dim, cond_dim=f),
        )
