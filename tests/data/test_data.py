import numpy as np
import pytest

from vaekit import ConfigError, DataError, load_dataset
from vaekit.data.mnist import content_sha256, download_amat, read_amat


def test_digits_default_is_split_scaled_and_reproducible():
    a, b = load_dataset("digits"), load_dataset("digits")
    assert a.dim == 64 and a.image_shape == (8, 8)
    assert a.train.dtype == np.float32 and a.train.min() >= 0 and a.train.max() <= 1
    assert a.train.shape[0] + a.valid.shape[0] + a.test.shape[0] == 1797
    np.testing.assert_array_equal(a.valid, b.valid)


def test_binarized_mnist_from_data_dir(mnist_dir):
    d = load_dataset("binarized-mnist", data_dir=str(mnist_dir))
    assert (d.train.shape, d.valid.shape, d.test.shape) == (
        (50000, 784),
        (10000, 784),
        (10000, 784),
    )
    assert d.train.mean() == pytest.approx(0.1306, abs=1e-4)
    assert d.image_shape == (28, 28)


def test_binarized_mnist_via_env_and_missing(mnist_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("VAEKIT_DATA_DIR", str(mnist_dir))
    assert load_dataset("binarized-mnist").test.shape == (10000, 784)
    monkeypatch.setenv("VAEKIT_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError, match="put binarized_mnist.npz") as e:
        load_dataset("binarized-mnist")
    # The download (to a mirror that does not exist, see conftest) failed: why is said.
    assert "download failed" in str(e.value) and "no-such-mirror" in str(e.value)


def test_carved_splits_belong_to_the_data_not_to_the_training_seed(tmp_path):
    import vaekit

    runs = [vaekit.train(data="digits", epochs=1, hidden="4", latent_dim=2, seed=s,
                         out=tmp_path / str(s), quiet=True) for s in (0, 5)]  # fmt: skip
    assert [r.config.data.split_seed for r in runs] == [0, 0]
    a, b = (load_dataset(r.config.data) for r in runs)
    np.testing.assert_array_equal(a.test, b.test)
    other = load_dataset(vaekit.DataConfig(name="digits", split_seed=5))
    assert not np.array_equal(other.test, a.test)  # the split seed is what moves it


def test_amat_reader_and_checked_download(tmp_path):
    rows = np.random.default_rng(0).integers(0, 2, size=(5, 784), dtype=np.uint8)
    src = tmp_path / "mirror"
    src.mkdir()
    sums = {}
    for split in ("train", "valid", "test"):
        (src / f"binarized_mnist_{split}.amat").write_text(
            "\n".join(" ".join(map(str, r)) for r in rows) + "\n"
        )
        sums[split] = content_sha256(rows)
    np.testing.assert_array_equal(read_amat(src / "binarized_mnist_train.amat"), rows)
    dest = tmp_path / "dest"
    download_amat(dest, url=src.as_uri(), checksums=sums)
    np.testing.assert_array_equal(read_amat(dest / "binarized_mnist_test.amat"), rows)
    bad = dict(sums, valid="0" * 64)
    with pytest.raises(DataError, match="checksum"):
        download_amat(tmp_path / "dest2", url=src.as_uri(), checksums=bad)
    assert not (tmp_path / "dest2" / "binarized_mnist_valid.amat").exists()


@pytest.mark.parametrize("content", ["0 1 0.5\n", "0 1 1\n0 1\n", "10 1\n"])
def test_bad_amat(tmp_path, content):
    p = tmp_path / "x.amat"
    p.write_text(content)
    with pytest.raises(DataError):
        read_amat(p, width=3)


def test_user_files(tmp_path):
    x = np.random.default_rng(0).random((50, 6))
    np.save(tmp_path / "a.npy", x)
    np.savetxt(tmp_path / "a.csv", x, delimiter=",", header="a,b,c,d,e,f", comments="")
    np.savez(tmp_path / "a.npz", train=x[:40], test=x[40:])
    for name in ("a.npy", "a.csv", "a.npz"):
        d = load_dataset(str(tmp_path / name))
        assert d.dim == 6 and d.image_shape is None
        total = d.train.shape[0] + d.valid.shape[0] + d.test.shape[0]
        assert total == 50
    imgs = np.random.default_rng(0).random((30, 5, 7))
    np.save(tmp_path / "img.npy", imgs)
    assert load_dataset(str(tmp_path / "img.npy")).image_shape == (5, 7)


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda p: p.write_bytes(b"PK\x03\x04garbage"), "not a readable .npz"),
        (lambda p: np.savez(p, other=np.ones((3, 2))), "no array named 'train'"),
        (lambda p: np.savez(p, train=np.array([[1.0, np.nan]] * 5)), "NaN or Inf"),
        (lambda p: np.savez(p, train=np.ones((0, 3))), "empty"),
        (lambda p: np.savez(p, train=np.ones(5)), "shape"),
        (lambda p: np.savez(p, train=np.array([["a", "b"]] * 5)), "dtype"),
        (lambda p: np.savez(p, train=np.ones((9, 3)), valid=np.ones((3, 4))), "differ"),
    ],
)
def test_bad_npz(tmp_path, make, match):
    p = tmp_path / "d.npz"
    make(p)
    with pytest.raises(DataError, match=match):
        load_dataset(str(p))


def test_bad_csv_and_missing(tmp_path):
    (tmp_path / "t.csv").write_text("a,b\n1,x\n")
    with pytest.raises(DataError, match="numeric CSV"):
        load_dataset(str(tmp_path / "t.csv"))
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(str(tmp_path / "nope.npy"))
    with pytest.raises(ConfigError, match="unknown dataset"):
        load_dataset("imagenet")


def test_the_readme_states_the_digits_split_the_code_makes():
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    m = re.search(r"8×8 digits scaled to \[0, 1\], split\s+(\d+)/(\d+)/(\d+)", readme)
    assert m, "README no longer states the digits split"
    d = load_dataset("digits")
    assert tuple(map(int, m.groups())) == (len(d.train), len(d.valid), len(d.test))
