"""``conv``: strided convolutions down, transposed convolutions up, for images of any size.

Levels are set by ``channels`` (e.g. 32,64: two levels, each halving H and W); ``hidden``
gives the fully connected layers between the last level and the latent code.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from .base import NETWORKS
from .images import ImageDecoder, ImageEncoder


@NETWORKS.register
class Conv:
    name = "conv"
    needs_images = True

    @staticmethod
    def build(config: Any, out_dim: int) -> tuple[nn.Module, nn.Module]:
        return (ImageEncoder(config, 2 * config.latent_dim), ImageDecoder(config, out_dim))
