"""Fully connected networks: ``mlp`` (hidden layers, the decoder mirrors the encoder) and
``linear`` (affine maps both ways: the linear VAE, whose optimum is probabilistic PCA)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn

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


@NETWORKS.register
class MLP:
    name = "mlp"

    @staticmethod
    def build(config: Any, out_dim: int) -> tuple[nn.Module, nn.Module]:
        hidden = tuple(config.hidden)
        return (
            mlp(config.input_dim, hidden, 2 * config.latent_dim, config.activation),
            mlp(config.latent_dim, tuple(reversed(hidden)), out_dim, config.activation),
        )


@NETWORKS.register
class Linear:
    name = "linear"

    @staticmethod
    def build(config: Any, out_dim: int) -> tuple[nn.Module, nn.Module]:
        return (
            mlp(config.input_dim, (), 2 * config.latent_dim),
            mlp(config.latent_dim, (), out_dim),
        )
