"""Networks: plain function approximators that output parameters, nothing probabilistic."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "softplus": nn.Softplus,
}


def mlp(
    in_dim: int, hidden: Sequence[int], out_dim: int, activation: str = "relu"
) -> nn.Sequential:
    """in_dim -> hidden[0] -> ... -> out_dim, activation between layers, none at the end."""
    layers: list[nn.Module] = []
    width = in_dim
    for h in hidden:
        layers += [nn.Linear(width, h), _ACTIVATIONS[activation]()]
        width = h
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


def build_networks(
    arch: str, in_dim: int, latent_dim: int, dec_out: int, hidden: Sequence[int], activation: str
) -> tuple[nn.Module, nn.Module]:
    """(encoder: D -> 2L, decoder: L -> dec_out).

    The encoder's mean and scale heads are one matmul of width 2L rather than two, which is
    measurably faster on a CPU at these sizes.
    """
    if arch == "linear":
        hidden = ()
    return (
        mlp(in_dim, hidden, 2 * latent_dim, activation),
        mlp(latent_dim, tuple(reversed(hidden)), dec_out, activation),
    )
