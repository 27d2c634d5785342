"""Lazy data (issue 15): a .npy read from disk as needed trains to the very numbers an
in-memory run gets, without ever holding the file in memory."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import load_file

import vaekit
from tests.cli_runner import run_cli
from vaekit.data.lazy import RowSubset


def _same_runs(a, b):
    wa, wb = (load_file(r / "model.safetensors") for r in (a, b))
    assert wa.keys() == wb.keys() and all(np.array_equal(wa[k], wb[k]) for k in wa)
    ma, mb = ([{k: v for k, v in json.loads(r).items() if "seconds" not in k}
               for r in (d / "metrics.jsonl").read_text().splitlines()] for d in (a, b))  # fmt: skip
    assert ma == mb


@pytest.mark.parametrize("kind", ["8-bit images", "float32 table"])
def test_a_lazy_run_equals_an_in_memory_one(tmp_path, kind):
    rng = np.random.default_rng(0)
    if kind == "8-bit images":
        x = rng.integers(0, 256, size=(300, 6, 5), dtype=np.uint8)
        kw = {"arch": "conv", "channels": "4", "hidden": ""}
    else:  # columns of very different scales: standardised, a chunk at a time when lazy
        x = (rng.normal(size=(300, 4)) * [1, 10, 100, 1000]).astype(np.float32)
        kw = {"hidden": "8"}
    np.save(tmp_path / "x.npy", x)
    for name, lazy in (("mem", False), ("lazy", True)):
        vaekit.train(data=str(tmp_path / "x.npy"), lazy=lazy, epochs=2, latent_dim=2,
                     out=tmp_path / name, quiet=True, **kw)  # fmt: skip
    _same_runs(tmp_path / "mem", tmp_path / "lazy")
    ds = vaekit.load_dataset(vaekit.DataConfig(name=str(tmp_path / "x.npy"), lazy=True))
    assert isinstance(ds.held["train"], RowSubset) and isinstance(ds.held["train"].base, np.memmap)
    assert ds.lazy and ds.size("train") + ds.size("valid") + ds.size("test") == 300


def test_lazy_evaluation_and_resume_need_no_lazy_flag_to_match(tmp_path, capsys):
    x = np.random.default_rng(1).integers(0, 2, size=(200, 12), dtype=np.uint8)
    np.save(tmp_path / "b.npy", x)
    base = ["train", "--data", tmp_path / "b.npy", "--hidden", "8", "--latent-dim", "2",
            "--epochs", "1", "--out", tmp_path / "r", "--quiet"]  # fmt: skip
    assert run_cli([*base, "--lazy"], capsys)[0] == 0
    # how the data is read is not a setting of the run: the same command without --lazy
    # finds it finished, and it evaluates either way to the same numbers
    code, out, err = run_cli(base, capsys)
    assert code == 0, err
    outs = []
    for extra in ([], ["--data", tmp_path / "b.npy"]):
        code, out, _ = run_cli(["evaluate", tmp_path / "r", "-k", "5", "--json", "--quiet",
                                *extra], capsys)  # fmt: skip
        assert code == 0
        outs.append(json.loads(out)["log_likelihood"])
    assert outs[0] == outs[1]


@pytest.mark.parametrize(
    ("array", "name", "said"),
    [
        (np.zeros((10, 3)), "x.npy", "lazy reading (--lazy) takes uint8 or float32"),
        (np.zeros((10, 3, 4, 4), dtype=np.uint8), "x.npy", "channels last"),
        (
            np.array([[0.0, 1.0], [np.nan, 2.0]] * 5, dtype=np.float32),
            "x.npy",
            "holds NaN or Inf (first at row 1, column 0)",
        ),
        (np.zeros((10, 3), dtype=np.float32), "x.npz", "lazy reading takes a .npy file"),
    ],
)
def test_what_lazy_reading_cannot_use_is_one_line(tmp_path, capsys, array, name, said):
    path = tmp_path / name
    np.savez(path, train=array) if name.endswith(".npz") else np.save(path, array)
    extra = ["--image-layout", "nchw"] if array.ndim == 4 else []
    code, _, err = run_cli(["train", "--data", path, "--lazy", *extra, "--out", tmp_path / "r",
                            "--quiet"], capsys)  # fmt: skip
    assert code == 2 and said in err and err.count("\n") == 1, err
    assert not (tmp_path / "r").exists()


def test_moments_beyond_one_chunk_agree_lazy_or_not(tmp_path):
    """Above CHUNK_ELEMENTS values a chunked sum differs from numpy's in the last bits: both
    holdings use the chunked one, so a lazy run's standardisation is the in-memory one."""
    x = np.random.default_rng(2).normal(3, 2, size=(5000, 1000)).astype(np.float32)
    np.save(tmp_path / "big.npy", x)
    cfg = vaekit.DataConfig(name=str(tmp_path / "big.npy"))
    mem, lazy = (vaekit.load_dataset(vaekit.DataConfig(name=cfg.name, lazy=flag))
                 for flag in (False, True))  # fmt: skip
    for axis in (None, 0):
        for a, b in zip(mem.train_moments(axis), lazy.train_moments(axis), strict=True):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(mem.train_moments(0)[1], mem.train.std(0, dtype=np.float64),
                               rtol=1e-12)  # fmt: skip


def test_a_lazy_run_takes_other_data_and_resume_says_how_to_read(tmp_path, capsys):
    x = np.random.default_rng(3).integers(0, 2, size=(200, 12), dtype=np.uint8)
    np.save(tmp_path / "b.npy", x)
    np.savez(tmp_path / "other.npz", train=x[:50])
    assert run_cli(["train", "--data", tmp_path / "b.npy", "--lazy", "--hidden", "4",
                    "--latent-dim", "2", "--epochs", "1", "--out", tmp_path / "r", "--quiet"],
                   capsys)[0] == 0  # fmt: skip
    code, _, err = run_cli(["evaluate", tmp_path / "r", "--data", tmp_path / "other.npz",
                            "-k", "3", "--quiet"], capsys)  # fmt: skip
    assert code == 0, err  # the run was lazy; the .npz is simply read
    code, _, err = run_cli(["train", "--out", tmp_path / "r", "--resume", "--no-lazy",
                            "--epochs", "2", "--quiet"], capsys)  # fmt: skip
    assert code == 0, err


def test_fortran_order_is_refused_lazily(tmp_path, capsys):
    np.save(tmp_path / "f.npy", np.asfortranarray(np.zeros((10, 3), dtype=np.float32)))
    code, _, err = run_cli(["train", "--data", tmp_path / "f.npy", "--lazy", "--out",
                            tmp_path / "r", "--quiet"], capsys)  # fmt: skip
    assert code == 2 and "Fortran" in err and err.count("\n") == 1


def _folder(root, n=40, size=(7, 6), rgb=False):
    from PIL import Image

    rng = np.random.default_rng(3)
    for c in ("a", "b"):
        (root / c).mkdir(parents=True)
        for i in range(n):
            a = rng.integers(0, 256, size=(*size, 3) if rgb else size, dtype=np.uint8)
            Image.fromarray(a).save(root / c / f"{i:03d}.png")
    return root


@pytest.mark.parametrize("rgb", [False, True])
def test_a_lazy_image_folder_equals_an_in_memory_one(tmp_path, rgb):
    """Files decoded as batches need them (by a thread pool) give the very run the in-memory
    folder gives, and no pixel array is held."""
    folder = _folder(tmp_path / "imgs", rgb=rgb)
    for name, lazy in (("mem", False), ("lazy", True)):
        vaekit.train(data=str(folder), lazy=lazy, epochs=2, latent_dim=2, hidden="8",
                     out=tmp_path / name, quiet=True)  # fmt: skip
    _same_runs(tmp_path / "mem", tmp_path / "lazy")
    from vaekit.data.lazy import DecodedRows

    lazy = vaekit.load_dataset(vaekit.DataConfig(name=str(folder), lazy=True))
    mem = vaekit.load_dataset(vaekit.DataConfig(name=str(folder)))
    assert isinstance(lazy.held["train"], RowSubset)
    assert isinstance(lazy.held["train"].base, DecodedRows)
    assert lazy.image_shape == mem.image_shape == ((7, 6, 3) if rgb else (7, 6, 1))
    for split in ("train", "valid", "test"):
        np.testing.assert_array_equal(lazy.rows(split), mem.rows(split))
        np.testing.assert_array_equal(lazy.labels[split], mem.labels[split])


def test_a_lazy_folder_is_checked_whole_before_training(tmp_path, capsys):
    folder = _folder(tmp_path / "imgs", n=10)
    (folder / "b" / "005.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    code, _, err = run_cli(["train", "--data", folder, "--lazy", "--out", tmp_path / "r",
                            "--quiet"], capsys)  # fmt: skip
    assert code == 2 and "005.png is not a readable image" in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


def test_decoded_rows_index_as_an_array_does():
    """Slices, index arrays (negative too), masks and out-of-range indices, as numpy's."""
    from vaekit.data.lazy import DecodedRows

    table = np.arange(30, dtype=np.float32).reshape(10, 3)
    rows = DecodedRows(table.shape, table.dtype, lambda index: table[index])
    for i in (slice(2, 7), slice(None, None, 3), slice(-4, None), np.array([9, 0, -1, 3]),
              np.arange(10) % 3 == 0, np.array([], dtype=np.int64)):  # fmt: skip
        np.testing.assert_array_equal(rows[i], table[i])
    for bad in (np.array([10]), np.array([-11]), np.array([1.0])):
        with pytest.raises(IndexError):
            rows[bad]


def test_a_lazy_folders_decoding_threads_end_with_its_rows(tmp_path):
    """Nothing but the rows holds the thread pool: its threads are not left behind."""
    import gc
    import threading

    from vaekit.data.folders import scan_image_folder

    folder = _folder(tmp_path / "imgs", n=6)
    before = set(threading.enumerate())
    scanned = scan_image_folder(folder, workers=3)
    assert scanned.images[np.array([0, 5])].shape == (2, scanned.images.shape[1])
    pool = set(threading.enumerate()) - before  # the pool's (others may come and go)
    assert pool
    del scanned
    gc.collect()
    for thread in pool:  # a collected pool wakes its idle threads to leave
        thread.join(timeout=5)
    assert not any(t.is_alive() for t in pool)
