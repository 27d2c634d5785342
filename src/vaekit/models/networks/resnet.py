"""``resnet``: the ``conv`` family with ``blocks`` residual blocks at every level.

A block is x + conv(act(norm(conv(act(norm(x)))))) at constant size (pre-activation, He et
al. 2016). Normalisation is ``none`` or ``group`` (GroupNorm): it must not depend on the
batch, because BatchNorm's train/eval difference changes log p(x) between training and
evaluation, and its batch statistics couple the examples an importance sampler scores.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from ...registry import Registry
from .base import NETWORKS
from .images import ImageDecoder, ImageEncoder

NORMS: Registry = Registry("normalisation")
NORMS.register(lambda channels: nn.Identity(), "none")
# GroupNorm with the most groups, up to Wu & He's (2018) 32, that divide the channels.
NORMS.register(
    lambda channels: nn.GroupNorm(max(d for d in range(1, 33) if channels % d == 0), channels),
    "group",
)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, act: type[nn.Module], norm: str) -> None:
        super().__init__()
        make_norm = NORMS.lookup(norm)
        self.body = nn.Sequential(
            make_norm(channels), act(), nn.Conv2d(channels, channels, 3, padding=1),
            make_norm(channels), act(), nn.Conv2d(channels, channels, 3, padding=1),
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:  # (B, C, h, w) -> same
        return x + self.body(x)


@NETWORKS.register
class ResNet:
    name = "resnet"
    needs_images = True

    @staticmethod
    def build(config: Any, out_dim: int) -> tuple[nn.Module, nn.Module]:
        def blocks(channels: int, act: type[nn.Module]) -> nn.Module:
            return nn.Sequential(
                *(ResidualBlock(channels, act, config.norm) for _ in range(config.blocks))
            )

        return (
            ImageEncoder(config, 2 * config.latent_dim, blocks),
            ImageDecoder(config, out_dim, blocks),
        )
