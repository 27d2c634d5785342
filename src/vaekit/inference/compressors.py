"""Lossless image compressors: the generic code length L(x) of the complexity-corrected
anomaly score (Serrà et al. 2020), S(x) = −log₂ P(x) − L(x).

L(x) stands in for a universal model of images. Each compressor is a codec Pillow ships:

- ``png`` (the default): PNG at its highest effort, 1-bit for 0/1 data: Serrà et al.'s
  baseline codec;
- ``webp``: lossless WebP (method 6), any 8-bit image, gray or colour: shorter than PNG on
  8-bit digits and on photographs;
- ``g4``: CCITT Group 4 (fax) in TIFF, 0/1 single-channel images only: the shortest code for
  binarized digits (about 200 content bits for an MNIST digit against PNG's 520).

A shorter code is not always the better correction (docs/anomaly.md): Group 4 makes one digit
against the others far easier to tell (mean AUROC 0.98 against PNG's 0.94), but it codes
speckle so dearly that stochastically binarised outliers look normal under it, and on clean
8×8 bars PNG corrects where Group 4 does not. So the codec is a choice the user makes and
the default stays the baseline's.

Each size is the content's: the file of a blank image of the same shape and kind is taken
off, so a container's fixed cost (PNG's 552 bits for a 28×28 bilevel image) is not counted as
information about x. That moves every score by the same constant; rankings are unchanged.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, features

from ..errors import ConfigError, DataError, opt
from ..registry import Registry

COMPRESSORS: Registry = Registry("compressor")


@dataclass(frozen=True)
class Codec:
    """A lossless format of Pillow's: how to save, and what it can code."""

    name: str
    save_args: dict[str, Any]  # Image.save keywords
    bilevel_only: bool = False  # codes 0/1 single-channel images only
    feature: str | None = None  # the Pillow feature it needs (None: always there)

    def save(self, im: Image.Image, buf: io.BytesIO) -> None:
        im.save(buf, **self.save_args)

    def available(self) -> bool:
        return self.feature is None or bool(features.check(self.feature))


COMPRESSORS.register(Codec("png", {"format": "PNG", "optimize": True}))
COMPRESSORS.register(Codec("webp", {"format": "WEBP", "lossless": True, "quality": 100,
                                    "method": 6}, feature="webp"))  # fmt: skip
COMPRESSORS.register(Codec("g4", {"format": "TIFF", "compression": "group4"},
                           bilevel_only=True, feature="libtiff"))  # fmt: skip
COMPRESSOR_CHOICES = tuple(COMPRESSORS)
DEFAULT_COMPRESSOR = "png"  # Serrà et al.'s baseline: no codec wins everywhere


def check_compressor(name: str, bilevel: bool) -> Codec:
    """The codec called ``name``; a ConfigError where it cannot code images that are (or
    not) 0/1 single-channel, or Pillow was built without it."""
    codec: Codec = COMPRESSORS.lookup(name)
    if codec.bilevel_only and not bilevel:
        raise ConfigError(f"{opt('compressor', name)} codes 0/1 single-channel images only; "
                          f"{opt('compressor', DEFAULT_COMPRESSOR)} codes any")  # fmt: skip
    if not codec.available():
        raise ConfigError(f"{opt('compressor', name)}: this Pillow was built without it; "
                          f"{opt('compressor', DEFAULT_COMPRESSOR)} works")  # fmt: skip
    return codec


def compressed_bits(x_data: np.ndarray, image_shape: tuple[int, ...],
                    value_range: tuple[float, float], compressor: str = DEFAULT_COMPRESSOR
                    ) -> np.ndarray:  # fmt: skip
    """Content bits (N,) of each row (N, D) as a losslessly compressed image of its own
    levels: 1-bit for 0/1 single-channel data, 0/255 for 0/1 colour, else 8-bit (values
    mapped from ``value_range`` to 0–255 and rounded); 1 to 4 channels."""
    h, w = image_shape[:2]
    c = math.prod(image_shape[2:])
    lo, hi = value_range
    binary = lo == 0 and hi == 1 and bool(np.isin(x_data, (0, 1)).all())
    if not 1 <= c <= 4:
        raise DataError(f"images of {c} channels have no lossless image format; the "
                        "complexity-corrected score codes 1 to 4 channels")  # fmt: skip
    codec = check_compressor(compressor, binary and c == 1)

    def image(row: np.ndarray) -> Image.Image:  # (D,) -> Pillow image (H, W[, C])
        img = row.reshape(h, w, c)
        if binary:
            return Image.fromarray(img[..., 0].astype(bool)) if c == 1 else Image.fromarray(
                (img * 255).astype(np.uint8))  # fmt: skip
        levels = np.clip(np.rint((img - lo) / max(hi - lo, 1e-12) * 255), 0, 255)
        levels = levels.astype(np.uint8)
        return Image.fromarray(levels[..., 0] if c == 1 else levels)

    def bits(row: np.ndarray) -> int:
        buf = io.BytesIO()
        try:
            codec.save(image(row), buf)
        except (OSError, ValueError, TypeError) as e:  # e.g. WebP's 16383-pixel side
            raise DataError(f"{opt('compressor', compressor)} cannot code these {h}x{w} "
                            f"images ({e}); {opt('compressor', DEFAULT_COMPRESSOR)} codes "
                            "any size") from None  # fmt: skip
        return 8 * buf.tell()

    blank = bits(np.full(h * w * c, lo, dtype=np.float64))  # the container's fixed cost
    return np.asarray([bits(row) - blank for row in x_data], dtype=np.float64)
