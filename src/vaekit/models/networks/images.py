"""What convolutional families share: flat rows <-> image tensors, the sizes of each level,
and an encoder/decoder pair built from one "level" recipe.

Images travel through vaekit as flat rows in (H, W, C) order (``vaekit.data``). Viewing a
row as (H, W, C) and permuting to (C, H, W) gives an NCHW tensor with channels-last strides
without a copy. Each level halves H and W with a stride-2 convolution, rounding up, so any
size works: 28 -> 14 -> 7 -> 4, 100 -> 50 -> 25 -> 13, 1 -> 1. The decoder retraces the
same sizes exactly with transposed convolutions whose ``output_padding`` is computed per
level (an odd size needs 0, an even one 1): nothing is padded, cropped or refused.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from ...errors import ConfigError
from ..conditions import feature_dim
from .base import ACTIVATIONS
from .mlp import network

# A level's extra layers at its resolution: (channels, activation class) -> module.
Blocks = Callable[[int, type[nn.Module]], nn.Module]


def image_hwc(config: Any) -> tuple[int, int, int]:
    """(H, W, C) of the model's images; a ConfigError for data that is not images."""
    shape = config.image_shape
    if shape is None:
        raise ConfigError(
            f"architecture {config.arch!r} needs images: image arrays (N, H, W[, C]), an "
            "image folder, or flat rows with an image shape (image_shape / --image-shape H,W[,C])"
        )
    h, w = int(shape[0]), int(shape[1])
    return h, w, int(math.prod(shape[2:]))


def level_sizes(h: int, w: int, levels: int) -> list[tuple[int, int]]:
    """[(H, W), (⌈H/2⌉, ⌈W/2⌉), …]: the size at the input and after each level."""
    sizes = [(h, w)]
    for _ in range(levels):
        h, w = (h + 1) // 2, (w + 1) // 2
        sizes.append((h, w))
    return sizes


def _no_blocks(channels: int, act: type[nn.Module]) -> nn.Module:
    return nn.Identity()


class ImageEncoder(nn.Module):
    """(..., H*W*C) rows -> (..., out_dim): stride-2 convolutions, then fully connected."""

    def __init__(self, config: Any, out_dim: int, blocks: Blocks = _no_blocks) -> None:
        super().__init__()
        self.h, self.w, self.c = image_hwc(config)
        act = ACTIVATIONS.lookup(config.activation)
        channels = tuple(config.channels)
        layers: list[nn.Module] = []
        c_in = self.c
        for c in channels:
            layers += [nn.Conv2d(c_in, c, 3, stride=2, padding=1), act(), blocks(c, act)]
            c_in = c
        self.features = nn.Sequential(*layers)
        fh, fw = level_sizes(self.h, self.w, len(channels))[-1]
        # A condition joins the features at the fully connected head (conditions.py).
        self.head = network(c_in * fh * fw, tuple(config.hidden), out_dim, config.activation,
                            feature_dim(config))  # fmt: skip

    def forward(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        lead = x.shape[:-1]
        img = x.reshape(-1, self.h, self.w, self.c).permute(0, 3, 1, 2)  # (B, C, H, W)
        h = self.features(img).flatten(1)  # (B, C_n*h_n*w_n)
        return (self.head(h) if c is None else self.head(h, c)).reshape(*lead, -1)


class ImageDecoder(nn.Module):
    """(..., L) latents -> (..., P*H*W*C): fully connected, then transposed convolutions back
    through the encoder's sizes, then a 3x3 convolution to P parameters per pixel and channel.
    The output is P blocks of H*W*C in (H, W, C) order, as the likelihoods read it."""

    def __init__(self, config: Any, out_dim: int, blocks: Blocks = _no_blocks) -> None:
        super().__init__()
        self.h, self.w, self.c = image_hwc(config)
        self.params = out_dim // (self.h * self.w * self.c)  # P: likelihood parameters a value
        act = ACTIVATIONS.lookup(config.activation)
        channels = tuple(config.channels)
        sizes = level_sizes(self.h, self.w, len(channels))
        self.top = (channels[-1], *sizes[-1])  # (C_n, h_n, w_n)
        hidden, f = tuple(reversed(config.hidden)), feature_dim(config)
        top = network(config.latent_dim, hidden, math.prod(self.top), config.activation, f)
        self.head = nn.Sequential(top, act()) if not f else top  # same keys as ever unconditioned
        self.head_act = act() if f else nn.Identity()
        layers: list[nn.Module] = []
        for i in reversed(range(len(channels))):
            c_out = channels[max(i - 1, 0)]
            (th, tw), (sh, sw) = sizes[i], sizes[i + 1]
            pad = (th - (2 * sh - 1), tw - (2 * sw - 1))  # 0 or 1: lands exactly on (th, tw)
            layers += [blocks(channels[i], act),
                       nn.ConvTranspose2d(channels[i], c_out, 3, stride=2, padding=1,
                                          output_padding=pad),
                       act()]  # fmt: skip
        layers.append(nn.Conv2d(channels[0], self.params * self.c, 3, padding=1))
        self.features = nn.Sequential(*layers)

    def forward(self, z: Tensor, c: Tensor | None = None) -> Tensor:
        lead = z.shape[:-1]
        h = self.head(z) if c is None else self.head_act(self.head(z, c))  # (..., C_n*h_n*w_n)
        # (B, C_n, h_n, w_n), channels last: the transposed convolutions run 1.6-2x faster so
        # on a CPU (benchmarks/is_speed.py); a training step 0.91-1.0x
        f = h.reshape(-1, *self.top).contiguous(memory_format=torch.channels_last)
        out = self.features(f)  # (B, P*C, H, W)
        out = out.reshape(-1, self.params, self.c, self.h, self.w).permute(0, 1, 3, 4, 2)
        return out.reshape(*lead, -1)  # (..., P*H*W*C)
