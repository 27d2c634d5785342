"""vaekit plot: every kind writes a picture whose decoded part is the model's own, and each
misuse is one line, exit 2."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import vaekit

from ..cli_runner import run_cli


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("plot")
    a = vaekit.train(data="digits", epochs=3, latent_dim=3, hidden="16", out=root / "a",
                     quiet=True)  # fmt: skip
    b = vaekit.train(data="digits", epochs=2, latent_dim=2, hidden="16", out=root / "b",
                     quiet=True)  # fmt: skip
    return root, a, b


@pytest.mark.parametrize("kind", ["latents", "manifold", "interpolate", "traverse"])
def test_each_kind_writes_a_picture(kind, runs, tmp_path, capsys):
    _, a, b = runs
    for run in (a, b):  # latent 3 (PCA, two most used dims) and latent 2 (the codes)
        out = tmp_path / f"{kind}-{run.run_dir.name}.png"
        code, said, err = run_cli(["plot", run.run_dir, "--kind", kind, "--out", out,
                                   "--steps", "5", "--grid", "6"], capsys)  # fmt: skip
        assert code == 0 and f"wrote {out}" in said, err
        w, h = Image.open(out).size
        assert w > 300 and h > 200


def test_curves_compare_runs(runs, tmp_path, capsys):
    _, a, b = runs
    out = tmp_path / "c.png"
    code, _, err = run_cli(["plot", a.run_dir, b.run_dir, "--kind", "curves", "--out", out],
                           capsys)  # fmt: skip
    assert code == 0 and Image.open(out).size[0] > 600, err


def test_manifold_decodes_the_prior_quantiles(runs, tmp_path, monkeypatch, capsys):
    """The images handed to the picture are the decoder means at the grid of quantiles."""
    import vaekit.cli.plot as plot

    _, _, b = runs
    seen = {}
    monkeypatch.setattr(plot, "save_image_panel", lambda images, *a, **k: seen.update(x=images))
    assert run_cli(["plot", b.run_dir, "--kind", "manifold", "--grid", "3", "--out",
                    tmp_path / "m.png"], capsys)[0] == 0  # fmt: skip
    import torch
    from scipy.stats import norm

    q = norm.ppf([1 / 6, 1 / 2, 5 / 6])
    z = np.array([[q[c], q[2 - r]] for r in range(3) for c in range(3)], np.float32)
    with torch.no_grad():
        want = b.model.decode(torch.from_numpy(z)).mean.numpy()
    t = b.transform
    want = t.invert(want) if t else want
    np.testing.assert_allclose(seen["x"], want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", ["two runs", "pair out of range", "not png", "not a run",
                                  "no metrics", "class for plain run", "flat rows", "mask run"])  # fmt: skip
def test_bad_plot_input_is_one_line(case, runs, tmp_path, capsys):
    root, a, b = runs
    out = tmp_path / "p.png"
    args, want = ["plot", a.run_dir, "--kind", "manifold", "--out", out], ""
    if case == "two runs":
        args, want = ["plot", a.run_dir, b.run_dir, "--kind", "latents", "--out", out], "one run"
    elif case == "pair out of range":
        args, want = [*args[:3], "interpolate", "--pair", "0,99999", "--out", out], "outside"
    elif case == "not png":
        args, want = [*args[:4], "--out", tmp_path / "p.jpg"], ".png"
    elif case == "not a run":
        args, want = ["plot", tmp_path, "--kind", "latents", "--out", out], ""
    elif case == "no metrics":
        args, want = ["plot", tmp_path, "--kind", "curves", "--out", out], "no training metrics"
    elif case == "class for plain run":
        args, want = [*args, "--class", "3"], "is not conditional"
    elif case == "flat rows":
        x = np.random.default_rng(0).normal(size=(100, 3)).astype(np.float32)
        np.save(tmp_path / "t.npy", x)
        run = vaekit.train(data=str(tmp_path / "t.npy"), epochs=1, hidden="4", latent_dim=2,
                           out=tmp_path / "flat", quiet=True)  # fmt: skip
        args, want = ["plot", run.run_dir, "--kind", "traverse", "--out", out], "not images"
    else:
        x = (np.random.default_rng(0).random((100, 4, 4)) < 0.3).astype(np.uint8)
        np.save(tmp_path / "m.npy", x)
        run = vaekit.train(data=str(tmp_path / "m.npy"), condition="quadrants:1", epochs=1,
                           hidden="4", latent_dim=2, out=tmp_path / "mask", quiet=True)  # fmt: skip
        args, want = ["plot", run.run_dir, "--kind", "manifold", "--out", out], "vaekit complete"
    code, _, err = run_cli(args, capsys)
    assert code == 2 and want in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert not out.exists()


def test_a_conditional_interpolation_starts_and_ends_at_the_examples(tmp_path, monkeypatch,
                                                                     capsys):  # fmt: skip
    """Each end is decoded with its own example's class: the ends are the reconstructions."""
    import torch

    import vaekit.cli.plot as plot

    run = vaekit.train(data="digits", condition="labels", prior="learned", epochs=2,
                       latent_dim=2, hidden="16", out=tmp_path / "c", quiet=True)  # fmt: skip
    seen = {}
    monkeypatch.setattr(plot, "save_image_panel", lambda images, *a, **k: seen.update(x=images))
    assert run_cli(["plot", run.run_dir, "--kind", "interpolate", "--pair", "3,40", "--steps",
                    "4", "--out", tmp_path / "i.png"], capsys)[0] == 0  # fmt: skip
    ds = vaekit.load_dataset(run.config.data)
    rows = torch.from_numpy(
        np.hstack([ds.test[[3, 40]], run.model.condition.index([str(v) for v in
                                                                 ds.labels["test"][[3, 40]]])])
    )  # fmt: skip
    with torch.no_grad():
        want = run.model.reconstruct(rows).numpy()
    t = run.transform
    want = t.invert(want) if t else want
    np.testing.assert_allclose(seen["x"][[0, 3]], want, rtol=1e-5, atol=1e-4)
