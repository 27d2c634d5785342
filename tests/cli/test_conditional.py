"""Conditional runs from the command line: train, evaluate, sample by class or vector,
complete images; and each bad input of issue 21 as one line, exit 2, nothing changed."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import vaekit

from ..cli_runner import run_cli


def _snapshot(d):
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    """An .npz of 4x4 binary images whose class decides its top row: a learnable condition."""
    root = tmp_path_factory.mktemp("cond")
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 600)
    x = (rng.random((600, 4, 4)) < 0.15).astype(np.uint8)
    x[:, 0, :] = 0
    x[np.arange(600), 0, y] = 1  # class c lights pixel (0, c)
    path = root / "lab.npz"
    np.savez(path, train=x[:400], valid=x[400:500], test=x[500:], train_labels=y[:400],
             valid_labels=y[400:500], test_labels=y[500:])  # fmt: skip
    return root, path, x, y


@pytest.fixture(scope="module")
def class_run(labelled):
    root, path, _, _ = labelled
    return vaekit.train(data=str(path), condition="labels", prior="learned", hidden="32",
                        latent_dim=2, epochs=40, out=root / "run", quiet=True)  # fmt: skip


def test_class_conditional_samples_show_their_class(class_run, tmp_path, capsys):
    out = tmp_path / "s.npy"
    code, said, _ = run_cli(["sample", class_run.run_dir, "--class", "2,0", "-n", "50", "--out",
                             out], capsys)  # fmt: skip
    assert code == 0 and "100 samples" in said
    s = np.load(out)  # (100, 4, 4) decoder means: rows of class 2, then of class 0
    assert s.shape == (100, 4, 4)
    assert (s[:50, 0].argmax(-1) == 2).mean() > 0.95 and (s[50:, 0].argmax(-1) == 0).mean() > 0.95
    png = tmp_path / "s.png"
    assert run_cli(["sample", class_run.run_dir, "--class", "0,1,2", "-n", "5", "--out", png],
                   capsys)[0] == 0  # fmt: skip
    w, h = Image.open(png).size
    assert w > h  # 3 rows of 5: wider than tall


def test_expost_sampling_fits_one_mixture_per_class(class_run, labelled, tmp_path, capsys):
    from vaekit.inference.expost import class_latents, fit_class_mixtures, posterior_means

    _, path, x, y = labelled
    out = tmp_path / "g.npy"
    code, said, err = run_cli(["sample", class_run.run_dir, "--class", "2,0", "-n", "50",
                               "--sampler", "gmm:2", "--out", out], capsys)  # fmt: skip
    assert code == 0 and "100 samples" in said, err
    s = np.load(out)  # (100, 4, 4): class 2, then class 0
    assert (s[:50, 0].argmax(-1) == 2).mean() > 0.95 and (s[50:, 0].argmax(-1) == 0).mean() > 0.95
    # each class's latents come from a mixture fitted to that class's codes alone
    model = class_run.model
    rows = np.hstack([x[:400].reshape(400, 16), y[:400, None]]).astype(np.float32)
    mixtures = fit_class_mixtures(model, rows, 1)
    z = posterior_means(model, rows)
    for c in range(3):
        np.testing.assert_allclose(mixtures[c].gm.means_[0], z[y[:400] == c].mean(0), atol=1e-6)
    drawn = class_latents(mixtures, np.array([1] * 2000))
    np.testing.assert_allclose(drawn.mean(0), z[y[:400] == 1].mean(0), atol=0.1)


def test_decode_takes_the_class_of_a_conditional_run(class_run, tmp_path, capsys):
    import torch

    z = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    np.save(tmp_path / "z.npy", z)
    code, _, err = run_cli(["decode", class_run.run_dir, "--latents", tmp_path / "z.npy",
                            "--class", "2", "--out", tmp_path / "d.npy"], capsys)  # fmt: skip
    assert code == 0, err
    m = class_run.model
    f = m.condition.features_of(None, torch.from_numpy(m.condition.index(["2"] * 5)))
    with torch.no_grad():
        want = m.decode(torch.from_numpy(z), f).mean.numpy()
    np.testing.assert_allclose(np.load(tmp_path / "d.npy").reshape(5, -1), want, atol=1e-6)
    with pytest.raises(vaekit.ConfigError, match="decodes given its condition"):
        m.decode(torch.from_numpy(z))


def test_embedded_labels_train_and_sample_their_class(labelled, tmp_path, capsys):
    _, path, _, _ = labelled
    run = tmp_path / "emb"
    code, _, err = run_cli(["train", "--data", path, "--condition", "labels",
                            "--condition-embedding", "2", "--prior", "learned", "--hidden", "32",
                            "--latent-dim", "2", "--epochs", "40", "--out", run, "--quiet"],
                           capsys)  # fmt: skip
    assert code == 0, err
    model = vaekit.load(run)
    assert model.condition.embed.weight.shape == (3, 2)  # trained, saved and reloaded
    code, _, _ = run_cli(["sample", run, "--class", "1", "-n", "40", "--out", tmp_path / "s.npy"],
                         capsys)  # fmt: skip
    assert code == 0 and (np.load(tmp_path / "s.npy")[:, 0].argmax(-1) == 1).mean() > 0.95


def test_csv_condition_columns_are_vectors_not_features(tmp_path, capsys):
    rng = np.random.default_rng(0)
    dose = rng.uniform(0, 10, 500)
    x = dose[:, None] * np.array([1.0, -1.0, 0.5]) + rng.normal(0, 0.3, (500, 3))
    rows = "\n".join(
        f"{a:.4f},{d:.4f},{b:.4f},{c:.4f}" for (a, b, c), d in zip(x, dose, strict=True)
    )
    (tmp_path / "t.csv").write_text("a,dose,b,c\n" + rows + "\n")
    run = tmp_path / "v"
    code, _, err = run_cli(["train", "--data", tmp_path / "t.csv", "--condition", "vector",
                            "--condition-columns", "dose", "--likelihood", "gaussian-diag",
                            "--hidden", "16", "--latent-dim", "1", "--epochs", "300", "--batch-size", "32",
                            "--out", run,
                            "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    model = vaekit.load(run)
    assert model.config.input_dim == 3  # dose is the condition, not a feature
    train = vaekit.load_dataset(vaekit.DataConfig(name=str(tmp_path / "t.csv"),
                                                  condition_columns=("dose",)))  # fmt: skip
    np.testing.assert_allclose(model.config.condition_mean, [train.attributes["train"].mean()],
                               rtol=1e-5)  # fmt: skip
    np.save(tmp_path / "c.npy", np.array([[2.0], [8.0]]))
    code, _, err = run_cli(["sample", run, "--condition", tmp_path / "c.npy", "-n", "200",
                            "--out", tmp_path / "s.npy"], capsys)  # fmt: skip
    assert code == 0, err
    s = np.load(tmp_path / "s.npy")  # (400, 3): 200 at dose 2, then 200 at dose 8
    assert abs(s[:200, 0].mean() - 2) < 0.3 and abs(s[200:, 0].mean() - 8) < 0.3


def test_evaluate_reports_the_conditional_likelihood(class_run, capsys):
    code, out, _ = run_cli(["evaluate", class_run.run_dir, "-k", "50", "--refine-steps", "0",
                            "--quiet"], capsys)  # fmt: skip
    assert code == 0 and "log p(x|c), IS k=50" in out and "condition" in out
    code, out, _ = run_cli(["evaluate", class_run.run_dir, "-k", "50", "--refine-steps", "0",
                            "--quiet", "--json"], capsys)  # fmt: skip
    res = json.loads(out)
    assert res["condition"] == "labels" and res["log_likelihood"] >= res["elbo"] - 0.5


def test_completion_of_quadrants(tmp_path, capsys):
    x = (np.random.default_rng(1).random((300, 6, 6)) < 0.3).astype(np.uint8)
    np.save(tmp_path / "x.npy", x)
    run = tmp_path / "q"
    code, _, err = run_cli(["train", "--data", tmp_path / "x.npy", "--condition", "quadrants:3",
                            "--prior", "learned", "--hidden", "16", "--epochs", "2", "--out", run,
                            "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    out = tmp_path / "c.png"
    code, said, _ = run_cli(["complete", run, "--quadrants", "3", "-n", "4", "--completions", "3",
                             "--out", out], capsys)  # fmt: skip
    assert code == 0 and "4 examples, 3 completions" in said and out.exists()
    model = vaekit.load(run)
    import torch

    xs = torch.from_numpy(x[:4].reshape(4, -1).astype(np.float32))
    filled = model.complete(xs, 2, torch.Generator().manual_seed(0))  # (2, 4, 36)
    seen = model.condition.observed.bool()
    assert torch.equal(filled[:, :, seen], xs[:, seen].expand(2, -1, -1))  # observed: kept
    assert ((filled[:, :, ~seen] > 0) & (filled[:, :, ~seen] < 1)).all()  # missing: means


@pytest.mark.parametrize(
    "case",
    ["missing labels", "unseen class", "class of unconditional run", "vector wrong length",
     "vector NaN", "mask nothing", "mask everything", "complete unconditional",
     "embedding without labels", "condition columns of a non-CSV", "decode without a class",
     "empty class list"],
)  # fmt: skip
def test_bad_conditional_input_is_one_line(case, labelled, class_run, tmp_path, capsys):
    root, path, x, y = labelled
    before = _snapshot(class_run.run_dir)
    plain = root / "plain"
    if not plain.exists():
        vaekit.train(data=str(path), hidden="8", epochs=1, out=plain, quiet=True)
    out = tmp_path / "run"
    if case == "missing labels":
        np.savez(tmp_path / "nl.npz", train=x[:400], valid=x[400:500], train_labels=y[:400])
        args = ["train", "--data", tmp_path / "nl.npz", "--condition", "labels", "--out", out]
        want = "no labels for its valid split"
    elif case == "unseen class":
        args = ["sample", class_run.run_dir, "--class", "7", "--out", tmp_path / "s.png"]
        want = "'7' is not one this run was trained on"
    elif case == "class of unconditional run":
        args = ["sample", plain, "--class", "1", "--out", tmp_path / "s.png"]
        want = "not a conditional run"
    elif case.startswith("vector"):
        a = np.ones((400, 2))
        if case == "vector NaN":
            a[5, 1] = np.nan
        v = {"train_cond": a, "valid_cond": np.ones((100, 3 if "length" in case else 2))}
        np.savez(tmp_path / "v.npz", train=x[:400], valid=x[400:500], **v)
        args = ["train", "--data", tmp_path / "v.npz", "--condition", "vector", "--out", out]
        want = "finite numbers" if "NaN" in case else "expected (100, 2)"
    elif case.startswith("mask"):
        np.save(tmp_path / "m.npy", np.full(16, 0 if "nothing" in case else 1))
        args = ["train", "--data", path, "--condition", f"mask:{tmp_path / 'm.npy'}", "--out", out]
        want = "observes " + ("nothing" if "nothing" in case else "everything")
    elif case == "decode without a class":
        np.save(tmp_path / "z.npy", np.zeros((3, 2), np.float32))
        args = [
            "decode",
            class_run.run_dir,
            "--latents",
            tmp_path / "z.npy",
            "--out",
            tmp_path / "d.npy",
        ]
        want = "give --class"
    elif case == "empty class list":
        args = ["sample", class_run.run_dir, "--class", ",", "--out", tmp_path / "s.png"]
        want = "no class given"
    elif case == "embedding without labels":
        args = ["train", "--data", path, "--condition-embedding", "2", "--out", out]
        want = "needs --condition labels"
    elif case == "condition columns of a non-CSV":
        args = ["train", "--data", path, "--condition", "vector", "--condition-columns", "a",
                "--out", out]  # fmt: skip
        want = "is not a .csv file"
    else:
        args = ["complete", plain, "--out", tmp_path / "c.png"]
        want = "not trained to complete"
    code, _, err = run_cli([*args, "--quiet"] if args[0] == "train" else args, capsys)
    assert code == 2 and want in err and err.count("\n") == 1, err
    assert "Traceback" not in err and not out.exists()
    assert _snapshot(class_run.run_dir) == before


def test_a_mask_runs_log_jacobian_covers_only_the_scored_columns(tmp_path, capsys):
    """Standardised columns, half observed: log p(x_missing | x_observed) in the data's units
    moves by −Σ log std over the *missing* columns only — in evaluate, score and ONNX alike."""
    from vaekit.inference.scores import anomaly_scores
    from vaekit.inference.units import model_log_jacobian

    rng = np.random.default_rng(0)
    x = (rng.normal(size=(300, 6)) * [1, 10, 100, 2, 20, 200]).astype(np.float32)
    np.savez(tmp_path / "d.npz", train=x)
    np.save(tmp_path / "m.npy", np.array([1, 1, 1, 0, 0, 0]))
    run = vaekit.train(data=str(tmp_path / "d.npz"), condition=f"mask:{tmp_path / 'm.npy'}",
                       likelihood="gaussian-shared", hidden="8", latent_dim=2, epochs=2,
                       out=tmp_path / "r", quiet=True)  # fmt: skip
    t = run.transform
    assert t is not None and len(t.scale) == 6  # standardised per column
    want = -float(np.log(np.asarray(t.scale)[3:]).sum())
    assert model_log_jacobian(run.model, t) == pytest.approx(want)
    xm = vaekit.load_dataset(run.config.data).test[:20]
    a = vaekit.evaluate(run.model, xm, importance_samples=10, repeats=1, refine_steps=0,
                        quiet=True)  # fmt: skip
    b = vaekit.evaluate(run.model, xm, importance_samples=10, repeats=1, refine_steps=0,
                        transform=t, quiet=True)  # fmt: skip
    assert b["elbo"] - a["elbo"] == pytest.approx(want, rel=1e-6)
    s0 = anomaly_scores(run.model, xm, importance_samples=0, refine_steps=0)
    s1 = anomaly_scores(run.model, xm, importance_samples=0, refine_steps=0, transform=t)
    np.testing.assert_allclose(s0["neg_elbo_nats"] - s1["neg_elbo_nats"], want, rtol=1e-6)
