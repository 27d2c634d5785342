"""Every bad input of issue 5, through the CLI: one line on stderr, exit 2, no traceback, and no
file of an existing run directory changed (not even by --overwrite, which must validate first).
"""

import io
import json
import os
import re
import warnings
import zipfile

import numpy as np
import pytest

from vaekit.cli import main

from ..cli_runner import run_cli

RNG = np.random.default_rng(0)


def _snapshot(d):
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(d.iterdir())}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    rd = tmp_path_factory.mktemp("bad") / "run"
    main(
        [
            "train",
            "--epochs",
            "2",
            "--latent-dim",
            "4",
            "--hidden",
            "16",
            "--out",
            str(rd),
            "--quiet",
        ]
    )
    return rd


def refused(args, capsys, run_dir, match):
    before = _snapshot(run_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning would be a second line on a user's terminal
        code, _, err = run_cli(args, capsys)
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vaekit: error: "), err
    assert re.search(match, err, re.IGNORECASE), err
    assert _snapshot(run_dir) == before, "a file of the run directory changed"
    return err


def train(data, run_dir, *extra):
    return ["train", "--data", data, "--out", run_dir, "--overwrite", "--quiet", *extra]


def _npz_bytes(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _npy_bytes(a):
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


GOOD = RNG.random((60, 64)).astype(np.float32)
DATA_FILES = {  # name: (file contents, what the message must say)
    "missing.npz": (None, "not found|does not exist|no such"),
    "random-bytes.npz": (RNG.bytes(300), "not a readable .npz"),
    "truncated.npz": (_npz_bytes(train=GOOD)[:500], "corrupt|truncated|cannot read"),
    "random-bytes.npy": (RNG.bytes(300), "not a readable .npy"),
    "truncated.npy": (_npy_bytes(GOOD)[:1000], "corrupt|truncated|cannot read"),
    "text.csv": (b"a,b,c\n1,2,x\n", "number|numeric"),
    "ragged.csv": (b"1,2,3\n4,5\n", "row|column|number|numeric"),
    "strings.npy": (_npy_bytes(np.array([["a", "b"], ["c", "d"]])), "dtype"),
    "complex.npy": (_npy_bytes(np.ones((5, 4), dtype=np.complex64)), "dtype"),
    "one-d.npy": (_npy_bytes(np.ones(10)), "shape"),
    "five-d.npy": (_npy_bytes(np.ones((2, 2, 2, 2, 2))), "shape"),
    "nan.npy": (_npy_bytes(np.where(GOOD > 0.99, np.nan, GOOD)), "NaN"),
    "inf.csv": (b"1,2\n3,inf\n5,6\n", "Inf"),
    "empty.npy": (_npy_bytes(np.zeros((0, 5), dtype=np.float32)), "empty"),
    "no-train-key.npz": (_npz_bytes(valid=GOOD), "train"),
    "huge.npy": (_npy_bytes(GOOD.astype(np.float64) * 1e20), "out of range|standardise"),
    "too-large-for-float32.npy": (_npy_bytes(GOOD.astype(np.float64) * 1e300), "float32"),
}


@pytest.mark.parametrize("name", DATA_FILES)
def test_bad_data_file(name, tmp_path, capsys, run_dir):
    contents, match = DATA_FILES[name]
    path = tmp_path / name
    if contents is not None:
        path.write_bytes(contents)
    refused(train(path, run_dir), capsys, run_dir, match)


def test_pickled_npy_is_refused_not_loaded(tmp_path, capsys, run_dir):
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    refused(train(tmp_path / "objects.npy", run_dir), capsys, run_dir, "pickle|dtype|object")


def test_corrupt_and_truncated_amat(tmp_path, capsys, run_dir):
    rows = "\n".join(" ".join("1" if v > 0.5 else "0" for v in r) for r in RNG.random((5, 784)))
    for split in ("train", "valid", "test"):
        (tmp_path / f"binarized_mnist_{split}.amat").write_text(rows)
    (tmp_path / "binarized_mnist_train.amat").write_text(rows[:2000])  # cut mid-row
    args = train("binarized-mnist", run_dir, "--data-dir", tmp_path)
    refused(args, capsys, run_dir, "amat")
    (tmp_path / "binarized_mnist_train.amat").write_text(rows.replace("1", "7", 3))
    refused(args, capsys, run_dir, "amat")


def test_non_binary_data_with_bernoulli(capsys, run_dir):
    refused(train("digits", run_dir, "--likelihood", "bernoulli"), capsys, run_dir, "not binary")


def test_evaluating_on_data_of_another_dimension(tmp_path, capsys, run_dir):
    np.save(tmp_path / "ten.npy", RNG.random((40, 10)))
    err = refused(["evaluate", run_dir, "--data", tmp_path / "ten.npy"], capsys, run_dir, "10")
    assert "64" in err


def test_evaluating_images_of_another_size_or_shape(tmp_path, capsys, run_dir):
    """The run holds 8x8 digits: 32x32 images and 4x16 ones (64 values too) are refused."""
    np.save(tmp_path / "big.npy", RNG.random((20, 32, 32)))
    err = refused(["evaluate", run_dir, "--data", tmp_path / "big.npy"], capsys, run_dir, "32x32x1")
    assert "8x8x1" in err
    np.save(tmp_path / "flat.npy", RNG.random((20, 4, 16)))
    refused(["evaluate", run_dir, "--data", tmp_path / "flat.npy"], capsys, run_dir, "4x16x1")


@pytest.fixture
def damaged(run_dir, tmp_path):
    """A copy of the run, to damage."""
    copy = tmp_path / "copy"
    copy.mkdir()
    for p in run_dir.iterdir():
        (copy / p.name).write_bytes(p.read_bytes())
    return copy


@pytest.mark.parametrize("damage", ["truncated", "random-bytes", "empty", "nan-weights"])
def test_damaged_weights(damage, damaged, capsys):
    w = damaged / "model.safetensors"
    raw = w.read_bytes()
    if damage == "nan-weights":
        from safetensors.numpy import load, save

        state = load(raw)
        first = sorted(state)[0]
        state[first] = np.full_like(state[first], np.nan)
        raw = save(state)
    else:
        raw = {
            "truncated": raw[: len(raw) // 2],
            "random-bytes": RNG.bytes(len(raw)),
            "empty": b"",
        }[damage]
    w.write_bytes(raw)
    for cmd in (["evaluate", damaged], ["sample", damaged, "--out", damaged / "s.png"]):
        refused(cmd, capsys, damaged, "model.safetensors")


CONFIG_EDITS = {
    "negative latent size": (lambda c: c["model"].update(latent_dim=-3), "latent"),
    "unknown likelihood": (lambda c: c["model"].update(likelihood="poisson"), "likelihood"),
    "hidden not numbers": (lambda c: c["model"].update(hidden="x"), "hidden"),
    "latent size of other weights": (lambda c: c["model"].update(latent_dim=7), "shape|match"),
    "unknown key": (lambda c: c["train"].update(epochz=3), "epochz"),
    "string for a number": (lambda c: c["train"].update(lr="fast"), "learning rate|lr"),
}


@pytest.mark.parametrize("edit", [*CONFIG_EDITS, "not json"])
def test_edited_config(edit, damaged, capsys):
    cfg_path = damaged / "config.json"
    if edit == "not json":
        cfg_path.write_text("{ this is not json")
        match = "JSON"
    else:
        cfg = json.loads(cfg_path.read_text())
        change, match = CONFIG_EDITS[edit]
        change(cfg)
        cfg_path.write_text(json.dumps(cfg))
    refused(["evaluate", damaged], capsys, damaged, match)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--data", "no-such-dataset"], "unknown dataset"),
        (["--likelihood", "poisson"], "likelihood"),
        (["--epochs", "0"], "epochs"),
        (["--epochs", "-2"], "epochs"),
        (["--batch-size", "0"], "batch size"),
        (["--batch-size", "-16"], "batch size"),
        (["--latent-dim", "0"], "latent"),
        (["--latent-dim", "-1"], "latent"),
        (["--lr", "0"], "learning rate"),
        (["--lr", "-0.001"], "learning rate"),
        (["--lr", "nan"], "learning rate"),
        (["--weight-decay", "-0.1"], "weight decay"),
        (["--weight-decay", "inf"], "weight decay"),
        (["--checkpoint-every", "soon"], "checkpoint-every"),
        (["--epochs", "ten"], "epochs"),
    ],
)
def test_bad_settings(args, match, capsys, run_dir):
    refused(["train", "--out", run_dir, "--overwrite", "--quiet", *args], capsys, run_dir, match)


def test_run_dir_that_is_a_file(tmp_path, capsys, run_dir):
    f = tmp_path / "a-file"
    f.write_text("keep me")
    refused(["train", "--out", f, "--quiet"], capsys, run_dir, "is a file")
    assert f.read_text() == "keep me"
    refused(["evaluate", f], capsys, run_dir, "config.json|not a run|directory")


def test_run_dir_not_writable(tmp_path, capsys, run_dir):
    if os.geteuid() == 0:  # root writes anywhere it may chmod; /proc refuses even root
        target = "/proc/vaekit-test-run"
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        target = locked / "run"
    refused(["train", "--out", target, "--epochs", "1", "--quiet"], capsys, run_dir, "cannot write")


def test_zip_bomb_like_npz_member_is_not_a_crash(tmp_path, capsys, run_dir):
    # A .npz whose 'train' member is not an .npy at all.
    with zipfile.ZipFile(tmp_path / "odd.npz", "w") as z:
        z.writestr("train.npy", b"not an npy header")
    refused(train(tmp_path / "odd.npz", run_dir), capsys, run_dir, "corrupt|cannot read|npz")


def test_diverging_training_stops_with_epoch_and_step(tmp_path, capsys, run_dir):
    out = tmp_path / "nan"
    err = refused(
        ["train", "--lr", "1e6", "--out", out, "--quiet"], capsys, run_dir, "epoch 1, step"
    )
    assert "became" in err and "--lr" in err
    assert not (out / "summary.json").exists()


# Damage that used to be swallowed: each now gets its own message.
def test_damaged_summary_is_named(damaged, capsys):
    (damaged / "summary.json").write_text("{ torn")
    err = refused(["evaluate", damaged], capsys, damaged, "summary.json")
    assert "model.safetensors" in err  # says the weights are fine


def test_a_bad_metrics_line_before_the_last_is_an_error(damaged, capsys):
    lines = (damaged / "metrics.jsonl").read_text().splitlines()
    (damaged / "metrics.jsonl").write_text("\n".join(["not json", *lines[1:]]) + "\n")
    refused(["evaluate", damaged], capsys, damaged, r"metrics.jsonl line 1")


def test_a_torn_last_metrics_line_is_dropped(damaged, capsys):
    text = (damaged / "metrics.jsonl").read_text()
    (damaged / "metrics.jsonl").write_text(text + '{"epoch": 3, "train_lo')
    import vaekit

    assert len(vaekit.load_run(damaged).metrics) == len(text.splitlines())


def test_unreadable_config_is_reported_as_such_not_as_other_settings(damaged, capsys):
    (damaged / "config.json").write_text("{ this is not json")
    args = ["train", "--epochs", "2", "--latent-dim", "4", "--hidden", "16", "--out", damaged,
            "--quiet"]  # fmt: skip
    err = refused(args, capsys, damaged, "not valid JSON")
    assert "other settings" not in err and "--overwrite" in err


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--refined-proposal"], "refine-steps"),
        (["--repeats", "0"], "repeats"),
        (["--importance-samples", "-5"], "importance samples"),
        (["--refine-steps", "x"], "refine-steps|integer"),
    ],
)
def test_bad_evaluate_settings(args, match, capsys, run_dir):
    refused(["evaluate", run_dir, *args], capsys, run_dir, match)
