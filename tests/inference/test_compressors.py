"""The complexity-corrected score's code lengths (issue 16): each codec's content bits equal
Pillow's own file sizes less a blank image's, and a codec that cannot code the data says so."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from vaekit.errors import ConfigError
from vaekit.inference.compressors import check_compressor, compressed_bits

RNG = np.random.default_rng(0)
SAVE = {"png": {"format": "PNG", "optimize": True},
        "webp": {"format": "WEBP", "lossless": True, "quality": 100, "method": 6},
        "g4": {"format": "TIFF", "compression": "group4"}}  # fmt: skip


def _file_bits(im: Image.Image, codec: str) -> int:
    buf = io.BytesIO()
    im.save(buf, **SAVE[codec])
    return 8 * buf.tell()


@pytest.mark.parametrize("codec", ["png", "webp", "g4"])
def test_binary_images_cost_their_files_less_a_blank_one(codec):
    x = (RNG.random((6, 10 * 7)) < 0.3).astype(np.float32)  # (N, H*W) 0/1, 10x7 images
    bits = compressed_bits(x, (10, 7, 1), (0.0, 1.0), codec)
    blank = _file_bits(Image.fromarray(np.zeros((10, 7), bool)), codec)
    want = [_file_bits(Image.fromarray(r.reshape(10, 7).astype(bool)), codec) - blank for r in x]
    assert bits.tolist() == want


@pytest.mark.parametrize("codec", ["png", "webp"])
def test_grey_and_colour_images_are_coded_on_their_8_bit_levels(codec):
    rgb = RNG.integers(0, 256, (4, 5, 9, 3)).astype(np.float32)  # (N, H, W, C) in 0..255
    bits = compressed_bits(rgb.reshape(4, -1) / 255, (5, 9, 3), (0.0, 1.0), codec)
    blank = _file_bits(Image.fromarray(np.zeros((5, 9, 3), np.uint8)), codec)
    want = [_file_bits(Image.fromarray(im.astype(np.uint8)), codec) - blank for im in rgb]
    assert bits.tolist() == want


def test_group_4_refuses_what_is_not_bilevel():
    with pytest.raises(ConfigError, match="0/1 single-channel images only"):
        compressed_bits(RNG.random((2, 16)), (4, 4, 1), (0.0, 1.0), "g4")
    with pytest.raises(ConfigError, match="unknown compressor 'zip'"):
        check_compressor("zip", bilevel=True)
    check_compressor("g4", bilevel=True)  # what it codes: no error


def test_the_codecs_claims_hold_on_digits():
    """What the help says: on 0/1 digits Group 4 is the shortest code, and on 8-bit grey
    digits WebP is shorter than PNG (scikit-learn's digits, upscaled to 24x24)."""
    from sklearn.datasets import load_digits

    small = (load_digits().images[:200] * 16).clip(0, 255).astype(np.uint8)  # (200, 8, 8)
    grey = np.stack([np.asarray(Image.fromarray(im).resize((24, 24), Image.Resampling.BILINEAR))
                     for im in small]).reshape(200, -1) / 255.0  # fmt: skip
    binary = (grey > 0.5).astype(np.float32)
    bits = {c: compressed_bits(binary, (24, 24, 1), (0.0, 1.0), c).mean() for c in SAVE}
    assert bits["g4"] < min(bits["webp"], bits["png"]), bits
    bits = {c: compressed_bits(grey, (24, 24, 1), (0.0, 1.0), c).mean() for c in ("png", "webp")}
    assert bits["webp"] < bits["png"], bits


def test_an_image_a_codec_cannot_hold_is_a_data_error():
    from vaekit.errors import DataError

    with pytest.raises(DataError, match="cannot code these 2x17000 images"):
        compressed_bits(RNG.random((1, 2 * 17000)), (2, 17000, 1), (0.0, 1.0), "webp")


def test_images_of_more_channels_than_a_format_holds_are_a_data_error():
    from vaekit.errors import DataError

    with pytest.raises(DataError, match="5 channels"):
        compressed_bits(RNG.random((1, 4 * 4 * 5)), (4, 4, 5), (0.0, 1.0), "png")
