"""Image arrays: (N, H, W), (N, H, W, C) and (N, C, H, W), the layout said and overridable."""

from __future__ import annotations

import numpy as np
import pytest

import vaekit
from vaekit.data.dataset import image_layout
from vaekit.errors import render, speaking_cli

RNG = np.random.default_rng(0)


def test_channels_first_and_last_give_the_same_rows(tmp_path):
    nhwc = RNG.integers(0, 256, size=(20, 6, 5, 3), dtype=np.uint8)
    np.save(tmp_path / "last.npy", nhwc)
    np.save(tmp_path / "first.npy", nhwc.transpose(0, 3, 1, 2))
    last = vaekit.load_dataset(str(tmp_path / "last.npy"))
    first = vaekit.load_dataset(str(tmp_path / "first.npy"))
    assert last.image_shape == first.image_shape == (6, 5, 3)
    np.testing.assert_array_equal(last.train, first.train)
    assert "channels last" in last.notes[0] and "channels first" in first.notes[0]
    # rows are (H, W, C)-ordered: pixel (h, w, c) of example i is train[i, (h*W + w)*C + c]
    np.savez(tmp_path / "s.npz", train=nhwc[:10], valid=nhwc[10:15], test=nhwc[15:])  # no carving
    rows = vaekit.load_dataset(str(tmp_path / "s.npz")).train
    for i, h, w, c in [(7, 4, 2, 1), (0, 0, 0, 2), (9, 5, 4, 0)]:
        assert rows[i, (h * 5 + w) * 3 + c] == nhwc[i, h, w, c]


def test_the_guess_and_its_override():
    assert image_layout((10, 3, 32, 32), None)[0] == "nchw"
    assert image_layout((10, 32, 32, 3), None)[0] == "nhwc"
    layout, note = image_layout((10, 3, 4, 3), None)  # both ends could be channels
    assert layout == "nhwc" and "image_layout='nchw'" in render(note)
    with speaking_cli():
        assert "--image-layout nchw" in render(note)
    assert image_layout((10, 3, 4, 3), "nchw") == ("nchw", None)


def test_override_reads_the_other_layout(tmp_path):
    x = RNG.random((8, 3, 4, 3)).astype(np.float32)  # ambiguous: read as NHWC unless told
    np.save(tmp_path / "x.npy", x)
    cfg = vaekit.DataConfig(name=str(tmp_path / "x.npy"), image_layout="nchw")
    ds = vaekit.load_dataset(cfg)
    assert ds.image_shape == (4, 3, 3) and not ds.notes
    with pytest.raises(vaekit.ConfigError, match="image_layout"):
        vaekit.DataConfig(image_layout="hwcn")


def test_a_run_keeps_the_image_shape_and_outputs_come_out_as_images(tmp_path):
    x = RNG.integers(0, 256, size=(40, 3, 6, 5), dtype=np.uint8)  # NCHW, RGB
    np.save(tmp_path / "x.npy", x)
    run = vaekit.train(data=str(tmp_path / "x.npy"), arch="conv", channels="4", hidden="",
                       epochs=1, out=tmp_path / "r", quiet=True)  # fmt: skip
    assert run.config.model.image_shape == (6, 5, 3)
    assert run.config.data.transform["kind"] == "8-bit"
    from vaekit.cli import main

    main(["sample", str(tmp_path / "r"), "-n", "4", "--out", str(tmp_path / "s.npy")])
    assert np.load(tmp_path / "s.npy").shape == (4, 6, 5, 3)
    from matplotlib.image import imread

    assert imread(tmp_path / "r" / "samples.png").shape[-1] in (3, 4)  # in colour
