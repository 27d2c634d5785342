"""uint8 data is held as read (4x less memory) and converted a batch at a time, to the very
numbers the float32 path gives (issue 15)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

import vaekit
from vaekit.data import DataConfig
from vaekit.data.sources import from_memory
from vaekit.data.transform import Transform
from vaekit.training.checkpoint import data_fingerprint


def _images(n=60, shape=(6, 5), seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, *shape), dtype=np.uint8)


@pytest.mark.parametrize("kind", ["8-bit", "standardize", None])
def test_reads_of_held_uint8_equal_the_float32_path(kind):
    x = _images()
    ds = from_memory({"train": x}, DataConfig())
    assert ds.held["train"].dtype == np.uint8 and ds.held["train"].shape[1] == 30
    flat = ds.held["train"].astype(np.float32)  # what float32 holding kept before
    t = {"8-bit": Transform.eight_bit(), "standardize": Transform.standardize(flat),
         None: None}[kind]  # fmt: skip
    ds = ds.with_transform(t)
    want = flat if t is None else t.apply(flat)
    np.testing.assert_array_equal(ds.train, want)  # bit for bit
    assert ds.train.dtype == np.float32 and ds.held["train"].dtype == np.uint8
    idx = np.array([5, 0, 17, 17, 3])
    batch = ds.to_model(torch.from_numpy(ds.held["train"]).index_select(0, torch.from_numpy(idx)))
    np.testing.assert_array_equal(batch.numpy(), want[idx])
    np.testing.assert_array_equal(np.concatenate(list(ds.chunks("train", elements=7 * 30))), want)
    assert ds.model_range == (float(want.min()), float(want.max()))


def test_the_fingerprint_is_the_one_float32_holding_gave():
    """Checkpoints written before uint8 was held must still resume."""
    ds = from_memory({"train": _images()}, DataConfig()).with_transform(Transform.eight_bit())
    h = hashlib.blake2b(digest_size=16)
    for a in (ds.train, ds.valid):  # the old digest: the float32 arrays, whole
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(np.ascontiguousarray(a).data)
    assert data_fingerprint(ds) == h.hexdigest()


def test_mixed_dtypes_across_splits_are_all_float32():
    x = _images()
    ds = from_memory({"train": x, "valid": x[:5].astype(np.float64),
                      "test": x[:5]}, DataConfig())  # fmt: skip
    assert {a.dtype for a in ds.held.values()} == {np.dtype(np.float32)}


def test_training_on_uint8_equals_training_on_float32(tmp_path):
    x = (np.random.default_rng(1).random((300, 12)) > 0.6).astype(np.uint8)
    for name, data in (("u8", x), ("f32", x.astype(np.float32))):
        vaekit.train(data=data, epochs=2, hidden="8", latent_dim=2, seed=3,
                     out=tmp_path / name, quiet=True)  # fmt: skip
    a, b = (load_file(tmp_path / n / "model.safetensors") for n in ("u8", "f32"))
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    metrics = [(tmp_path / n / "metrics.jsonl").read_text() for n in ("u8", "f32")]
    strip = [[{k: v for k, v in json.loads(r).items() if "seconds" not in k}
              for r in m.splitlines()] for m in metrics]  # fmt: skip
    assert strip[0] == strip[1]


_PEAK = """
import resource, sys
from vaekit.cli.app import main
try:
    main(sys.argv[1:], own_process=True)
finally:
    print("peak_kb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def test_peak_memory_of_2000_images_of_256x256(tmp_path):
    """The issue's bound: a 2-epoch run on 2,000 1x256x256 uint8 images under 2 GB. Held as
    float32 the data alone were 524 MB, plus a float64 temporary of 1 GB while scaling."""
    x = np.random.default_rng(0).integers(0, 256, size=(2000, 256, 256), dtype=np.uint8)
    np.save(tmp_path / "big.npy", x)
    del x
    args = ["train", "--data", str(tmp_path / "big.npy"), "--arch", "conv", "--channels", "4,8",
            "--hidden", "", "--latent-dim", "8", "--epochs", "2", "--batch-size", "32",
            "--out", str(tmp_path / "r"), "--quiet"]  # fmt: skip
    done = subprocess.run([sys.executable, "-c", _PEAK, *args], capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    peak_mb = int(done.stdout.split("peak_kb")[-1]) / 1024
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["epochs_run"] == 2
    assert peak_mb < 2048, f"peak RSS {peak_mb:.0f} MB"
    print(f"peak RSS {peak_mb:.0f} MB")


def test_a_dataset_built_by_hand_from_uint8_converts_on_read():
    x = _images(30).reshape(30, -1)
    ds = vaekit.Dataset("mine", x[:20], x[20:25], x[25:], transform=Transform.eight_bit())
    assert not ds.applied and ds.value_range == (float(x[:20].min()), float(x[:20].max()))
    np.testing.assert_array_equal(ds.test, Transform.eight_bit().apply(x[25:]))
    with pytest.raises(ValueError, match="build a new Dataset"):
        ds.replaced(train=ds.train[:5])  # would be scaled twice


def test_settings_equal_to_rounding_are_not_other_settings():
    from vaekit.training.config import RunConfig

    cfg = RunConfig(model=vaekit.ModelConfig(input_dim=4, sigma=0.28984336944280714,
                                             likelihood="gaussian-shared"))  # fmt: skip
    near = RunConfig.from_dict(json.loads(cfg.to_json().replace("0.28984336944280714",
                                                                "0.2898433694428072")))  # fmt: skip
    far = RunConfig.from_dict(json.loads(cfg.to_json().replace("0.28984336944280714", "0.29")))
    assert cfg.differences(near) == [] and len(cfg.differences(far)) == 1
