"""Image folders: exact pixels, labels from subfolders, resize + centre crop, one-line errors."""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vaekit.data.folders import read_image_folder
from vaekit.errors import DataError, DataNotFoundError, speaking_cli

RNG = np.random.default_rng(0)


def _save(path: Path, a: np.ndarray, mode: str | None = None) -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(a) if mode is None else Image.fromarray(a).convert(mode)
    im.save(path)
    return a


def _noise(*shape: int, dtype=np.uint8) -> np.ndarray:
    return RNG.integers(0, np.iinfo(dtype).max + 1, size=shape, dtype=dtype)


@pytest.mark.parametrize(
    ("shape", "dtype"),
    [((6, 5), np.uint8), ((6, 5, 3), np.uint8), ((6, 5), np.uint16)],
    ids=["gray", "rgb", "gray16"],
)
def test_png_pixels_round_trip_exactly(tmp_path, shape, dtype):
    a = [_save(tmp_path / f"{i}.png", _noise(*shape, dtype=dtype)) for i in range(3)]
    out = read_image_folder(tmp_path)
    expected = np.stack(a).reshape(3, 6, 5, -1)
    assert out.images.dtype == dtype and out.images.shape == expected.shape
    np.testing.assert_array_equal(out.images, expected)
    assert out.labels is None and out.classes == ()
    assert out.files == ("0.png", "1.png", "2.png")


def test_labels_come_from_sorted_subfolders_and_files_are_sorted(tmp_path):
    pixels = {}
    for rel in ["dog/b.png", "cat/z.PNG", "dog/a.png", "cat/sub/c.jpg.png", "ant/x.bmp"]:
        pixels[rel] = _save(tmp_path / rel, _noise(4, 4, 3))
    _save(tmp_path / ".hidden/h.png", _noise(4, 4, 3))
    _save(tmp_path / "dog/.h.png", _noise(4, 4, 3))
    (tmp_path / "dog/notes.txt").write_text("not an image")
    out = read_image_folder(tmp_path)
    assert out.classes == ("ant", "cat", "dog")
    assert out.files == ("ant/x.bmp", "cat/sub/c.jpg.png", "cat/z.PNG", "dog/a.png", "dog/b.png")
    assert out.labels.dtype == np.int64
    np.testing.assert_array_equal(out.labels, [0, 1, 1, 2, 2])
    for i, rel in enumerate(out.files):
        np.testing.assert_array_equal(out.images[i], pixels[rel])


def test_rgba_palette_la_and_bilevel_become_rgb_or_gray(tmp_path):
    rgba = _noise(4, 4, 4)
    _save(tmp_path / "a.png", rgba)
    np.testing.assert_array_equal(read_image_folder(tmp_path).images[0], rgba[:, :, :3])
    pal = Image.fromarray(_noise(4, 4, 3)).quantize(8)
    pal.save(tmp_path / "b.png", transparency=bytes([0, 128] + [255] * 6))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Pillow warns converting P with alpha bytes to RGB
        out = read_image_folder(tmp_path)
    np.testing.assert_array_equal(out.images[1], np.asarray(pal.convert("RGB")))
    assert out.images.shape == (2, 4, 4, 3) and out.images.dtype == np.uint8

    bits = RNG.integers(0, 2, size=(5, 7)).astype(bool)
    _save(tmp_path / "g/one.png", bits)
    la = np.stack([_noise(5, 7), _noise(5, 7)], axis=-1)
    _save(tmp_path / "g/two.png", la)
    out = read_image_folder(tmp_path / "g")
    assert out.images.shape == (2, 5, 7, 1) and out.images.dtype == np.uint8
    np.testing.assert_array_equal(out.images[0, :, :, 0], bits * 255)
    np.testing.assert_array_equal(out.images[1, :, :, 0], la[:, :, 0])


def test_jpeg_and_tiff_are_read(tmp_path):
    _save(tmp_path / "a.jpg", _noise(8, 6, 3))
    _save(tmp_path / "b.JPEG", _noise(8, 6, 3))
    _save(tmp_path / "c.tif", _noise(8, 6, 3))
    out = read_image_folder(tmp_path)
    assert out.images.shape == (3, 8, 6, 3) and out.images.dtype == np.uint8
    assert out.files == ("a.jpg", "b.JPEG", "c.tif")


def test_resize_covers_then_centre_crops(tmp_path):
    wide = np.zeros((20, 40, 3), np.uint8)  # H=20, W=40
    wide[:, :8] = (0, 255, 0)  # a green left edge, cropped away
    wide[:, 19:21] = 255  # a white centre column, kept in the centre
    _save(tmp_path / "wide.png", wide)
    _save(tmp_path / "tall.png", np.full((40, 20, 3), 80, np.uint8))
    _save(tmp_path / "tiny.png", np.full((3, 5, 3), 200, np.uint8))  # upscaled
    out = read_image_folder(tmp_path, image_size=(10, 10))
    assert out.images.shape == (3, 10, 10, 3)
    assert out.files == ("tall.png", "tiny.png", "wide.png")
    w = out.images[2].astype(int)
    brightness = w.sum(axis=(0, 2))  # (10,) per column
    assert set(np.argsort(brightness)[-2:]) == {4, 5}
    assert brightness[4] > 3 * brightness[0]
    assert (w[:, :, 1] - w[:, :, 0]).max() < 40  # no green left
    np.testing.assert_array_equal(out.images[0], 80)
    assert np.abs(out.images[1].astype(int) - 200).max() <= 1


def test_resize_to_a_rectangle_keeps_16_bit(tmp_path):
    _save(tmp_path / "a.png", np.full((30, 30), 40000, np.uint16))
    _save(tmp_path / "b.png", np.full((7, 9), 65535, np.uint16))
    out = read_image_folder(tmp_path, image_size=(12, 6))
    assert out.images.shape == (2, 12, 6, 1) and out.images.dtype == np.uint16
    assert np.abs(out.images[0].astype(int) - 40000).max() <= 1
    np.testing.assert_array_equal(out.images[1], 65535)


def test_16_bit_overshoot_is_clipped_not_wrapped(tmp_path):
    step = np.zeros((7, 9), np.uint16)
    step[:, 5:] = 65535  # bicubic upscaling overshoots both ends of this edge
    _save(tmp_path / "a.png", step)
    row = read_image_folder(tmp_path, image_size=(14, 18)).images[0, 7, :, 0].astype(int)
    assert row[0] == 0 and row[-1] == 65535
    assert (np.diff(row) >= 0).all(), row  # wrapped values would break the rise


def test_mixed_sizes_are_refused_naming_the_option(tmp_path):
    _save(tmp_path / "a.png", _noise(28, 28))
    _save(tmp_path / "b.png", _noise(32, 40))
    msg = re.escape("b.png is 32x40 (HxW) but ") + ".*" + re.escape("a.png is 28x28; pass ")
    with pytest.raises(DataError, match=msg + re.escape("image_size=H[,W] to resize")):
        read_image_folder(tmp_path)
    with speaking_cli(), pytest.raises(DataError, match=re.escape("pass --image-size H[,W] to")):
        read_image_folder(tmp_path)
    assert read_image_folder(tmp_path, image_size=(16, 16)).images.shape == (2, 16, 16, 1)


@pytest.mark.parametrize(
    ("second", "said"),
    [
        (_noise(4, 4, 3), r"b\.png is RGB \(3 channels\) but .*a\.png is grayscale \(1 channel\)"),
        (
            _noise(4, 4, dtype=np.uint16),
            r"b\.png is 16-bit grayscale \(1 channel\) but .*a\.png is grayscale \(1 channel\)",
        ),
    ],
    ids=["rgb", "16-bit"],
)
def test_images_of_different_kinds_are_refused(tmp_path, second, said):
    _save(tmp_path / "a.png", _noise(4, 4))
    _save(tmp_path / "b.png", second)
    with pytest.raises(DataError, match=said + "; convert them to one kind"):
        read_image_folder(tmp_path)


def test_a_truncated_or_corrupt_file_is_named(tmp_path):
    _save(tmp_path / "a.png", _noise(32, 32, 3))
    data = (tmp_path / "a.png").read_bytes()
    (tmp_path / "a.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"a\.png is not a readable image \(.*truncated"):
        read_image_folder(tmp_path)
    (tmp_path / "a.png").write_bytes(b"just text, no picture")
    with pytest.raises(DataError, match=r"a\.png is not a readable image \(") as e:
        read_image_folder(tmp_path)
    assert "\n" not in str(e.value)


def test_a_decompression_bomb_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    _save(tmp_path / "a.png", _noise(12, 12))  # 144 pixels: over the limit, Pillow only warns
    with pytest.raises(DataError, match=r"a\.png is too large to read safely"):
        read_image_folder(tmp_path)
    _save(tmp_path / "a.png", _noise(20, 20))  # over twice the limit: Pillow raises
    with pytest.raises(DataError, match=r"a\.png is too large to read safely"):
        read_image_folder(tmp_path)


def test_32_bit_values_beyond_16_bits_are_refused(tmp_path):
    Image.fromarray(np.full((4, 4), 70000, np.int32)).save(tmp_path / "a.tif")
    with pytest.raises(DataError, match=r"a\.tif holds 32-bit values \(70000\.\.70000\)"):
        read_image_folder(tmp_path)


def test_images_both_at_the_top_and_in_subfolders_are_refused(tmp_path):
    _save(tmp_path / "top.png", _noise(4, 4))
    _save(tmp_path / "cls/in.png", _noise(4, 4))
    with pytest.raises(DataError, match=r"both directly \(top\.png\) and in subfolders \(cls"):
        read_image_folder(tmp_path)


def test_missing_empty_and_non_folders_are_refused(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"image folder .*nowhere does not exist"):
        read_image_folder(tmp_path / "nowhere")
    (tmp_path / "f.png").write_bytes(b"")
    with pytest.raises(DataError, match=r"f\.png is not a folder"):
        read_image_folder(tmp_path / "f.png")
    (tmp_path / "empty" / ".hidden").mkdir(parents=True)
    _save(tmp_path / "empty/.hidden/x.png", _noise(4, 4))
    (tmp_path / "empty/readme.txt").write_text("no images here")
    with pytest.raises(DataError, match=r"empty holds no image files \(looked for \.png, \.jpg"):
        read_image_folder(tmp_path / "empty")


def test_a_folder_trains_as_images_with_its_classes(tmp_path, capsys):
    """End to end: --data FOLDER --image-size 8,6 through the command line."""
    import vaekit
    from vaekit.cli import main

    from ..cli_runner import run_cli

    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        (tmp_path / "pics" / cls).mkdir(parents=True)
        for i in range(10):
            size = (12 + i, 9)  # (W, H): mixed sizes, made one by --image-size
            arr = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
            Image.fromarray(arr).save(tmp_path / "pics" / cls / f"{i}.png")
    ds = vaekit.load_dataset(vaekit.DataConfig(name=str(tmp_path / "pics"), image_size=(8, 6)))
    assert ds.image_shape == (8, 6, 3)
    assert (
        sorted(np.concatenate([ds.labels[s] for s in ("train", "valid", "test")]))
        == [0] * 10 + [1] * 10
    )
    code, _, err = run_cli(["train", "--data", tmp_path / "pics", "--out", tmp_path / "r"], capsys)
    assert code == 2 and "--image-size H[,W]" in err  # mixed sizes, said as a flag
    main(["train", "--data", str(tmp_path / "pics"), "--image-size", "8,6", "--arch", "conv",
          "--channels", "4", "--hidden", "", "--epochs", "1", "--out", str(tmp_path / "r"),
          "--quiet"])  # fmt: skip
    run = vaekit.load_run(tmp_path / "r")
    assert run.config.model.image_shape == (8, 6, 3)
    assert run.config.model.likelihood == "discretized-logistic"
    # A moved folder is the same data by content; an edited image makes it other data.
    fp = run.config.data.fingerprint
    assert fp is not None
    os.rename(tmp_path / "pics", tmp_path / "moved")
    code, _, err = run_cli(["evaluate", tmp_path / "r", "--data", tmp_path / "moved", "-k", "2",
                            "--quiet"], capsys)  # fmt: skip
    assert code == 0 and "not the file this run was trained on" not in err
    Image.fromarray(np.zeros((9, 14, 3), dtype=np.uint8)).save(tmp_path / "moved" / "dog" / "2.png")
    code, _, err = run_cli(["evaluate", tmp_path / "r", "--data", tmp_path / "moved", "-k", "2",
                            "--quiet"], capsys)  # fmt: skip
    assert code == 0 and "not the file this run was trained on" in err
