"""ONNX export (issue 20): every network family and likelihood, the VampPrior and the run's
preprocessing, checked with ONNX Runtime against independent computations."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import vaekit
from tests.cli_runner import run_cli
from tests.missing import hide_package

ort = pytest.importorskip("onnxruntime")
RNG = np.random.default_rng(0)

CASES = {
    # name: (data, training settings)
    "mlp-bernoulli-vamp": (lambda: (RNG.random((120, 12)) > 0.5).astype(np.uint8),
                           {"hidden": "8", "prior": "vamp", "prior_components": 4}),
    "conv-dlogistic-8bit": (lambda: RNG.integers(0, 256, (120, 6, 5), dtype=np.uint8),
                            {"arch": "conv", "channels": "4,8", "hidden": ""}),
    "resnet-decoded-rgb": (lambda: RNG.random((120, 6, 5, 3)).astype(np.float32),
                           {"arch": "resnet", "channels": "4", "hidden": "",
                            "likelihood": "gaussian-decoded"}),
    "mlp-diag-standardised": (lambda: (RNG.normal(size=(120, 3)) * [1, 50, 900]).astype(np.float32),
                              {"hidden": "8", "likelihood": "gaussian-diag"}),
    "linear-fixed": (lambda: RNG.normal(size=(120, 5)).astype(np.float32),
                     {"arch": "linear", "likelihood": "gaussian", "sigma": 0.5}),
    "conv-shared-gray": (lambda: RNG.random((120, 7, 9)).astype(np.float32),
                         {"arch": "conv", "channels": "4", "hidden": "6",
                          "likelihood": "gaussian-shared"}),
}  # fmt: skip


def _stored(ds, run, n=10):
    """The first n test rows as the data is stored (and as the ONNX inputs take it)."""
    rows = ds.rows("test", slice(0, n))
    t = run.transform
    raw = (t.invert(rows) if t else rows).astype(np.float32)
    shape = run.config.model.image_shape
    if shape is None:
        return rows, raw
    h, w = shape[:2]
    return rows, raw.reshape(n, h, w, -1).transpose(0, 3, 1, 2).copy()


@pytest.mark.parametrize("case", list(CASES))
def test_exported_graphs_agree_with_vaekit(case, tmp_path, capsys):
    make, settings = CASES[case]
    np.save(tmp_path / "x.npy", make())
    run = vaekit.train(data=str(tmp_path / "x.npy"), epochs=1, latent_dim=2, quiet=True,
                       out=tmp_path / "r", **settings)  # fmt: skip
    code, out, err = run_cli(["export", tmp_path / "r", "--out", tmp_path / "onnx"], capsys)
    assert code == 0, err
    meta = json.loads((tmp_path / "onnx" / "model.json").read_text())
    assert set(meta["parts"]) == {"encoder", "decoder", "score"} and meta["opset"] >= 7
    assert all(p["max_rel_diff"] <= 1e-4 for p in meta["parts"].values())
    model, ds = run.model, vaekit.load_dataset(run.config.data)
    rows, stored = _stored(ds, run)
    sess = {p: ort.InferenceSession(str(tmp_path / "onnx" / f"{p}.onnx")) for p in meta["parts"]}

    # encoder: the posterior of the model-unit rows, fed the data as stored
    loc, scale = sess["encoder"].run(None, {"x": stored})
    q = model.encode(torch.from_numpy(rows)).base_dist
    np.testing.assert_allclose(loc, q.loc.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(scale, q.scale.detach().numpy(), rtol=1e-4, atol=1e-5)

    # decoder: equal to `vaekit decode` on the same latents
    z = RNG.normal(size=(7, 2)).astype(np.float32)
    np.save(tmp_path / "z.npy", z)
    assert run_cli(["decode", tmp_path / "r", "--latents", tmp_path / "z.npy", "--out",
                    tmp_path / "dec.npy"], capsys)[0] == 0  # fmt: skip
    decoded = np.load(tmp_path / "dec.npy").reshape(7, -1)  # rows in (H, W, C) order
    mean = sess["decoder"].run(None, {"z": z})[1]
    if run.config.model.image_shape is not None:
        mean = mean.transpose(0, 2, 3, 1)  # (B, C, H, W) -> (B, H, W, C)
    np.testing.assert_allclose(mean.reshape(7, -1), decoded, rtol=1e-4, atol=1e-4)

    # score: the ELBO at z = μ + σ·noise, computed here term by term, in the data's units
    noise = RNG.normal(size=(5, 10, 2)).astype(np.float32)
    (elbo,) = sess["score"].run(None, {"x": stored, "noise": noise})
    with torch.no_grad():
        xm = torch.from_numpy(rows)
        q = model.encode(xm)
        zs = q.base_dist.loc + q.base_dist.scale * torch.from_numpy(noise)
        rec = model.likelihood.log_prob(model.decoder_output(zs), xm).mean(0)
        lq, lp = q.log_prob(zs), model.prior.distribution().log_prob(zs)
        kl = torch.distributions.kl_divergence(q, model.prior.distribution()) if (
            run.config.model.prior == "standard") else (lq - lp).mean(0)  # fmt: skip
        jac = 0.0 if model.likelihood.discrete or run.transform is None else (
            run.transform.log_jacobian(model.input_dim))  # fmt: skip
        want = (rec - kl).numpy() + jac
    np.testing.assert_allclose(elbo, want, rtol=1e-4, atol=1e-3)


def test_export_failures_are_one_line_and_leave_nothing(tmp_path, capsys, monkeypatch):
    vaekit.train(epochs=1, hidden="4", latent_dim=2, out=tmp_path / "r", quiet=True)
    code, _, err = run_cli(["export", tmp_path, "--out", tmp_path / "o"], capsys)
    assert code == 2 and err.count("\n") == 1 and not (tmp_path / "o").exists()  # not a run

    import vaekit.export.onnx as ex

    monkeypatch.setattr(ex, "TOLERANCE", 0.0)  # every graph then "differs"
    code, _, err = run_cli(["export", tmp_path / "r", "--out", tmp_path / "o"], capsys)
    assert code == 2 and "differs from PyTorch" in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists() and not list(tmp_path.glob(".o-*"))
    monkeypatch.undo()

    hide_package(monkeypatch, "onnxruntime")
    code, _, err = run_cli(["export", tmp_path / "r", "--out", tmp_path / "o"], capsys)
    assert code == 2 and "pip install 'vaekit[onnx]'" in err and err.count("\n") == 1


def test_one_part_alone(tmp_path, capsys):
    vaekit.train(epochs=1, hidden="4", latent_dim=2, out=tmp_path / "r", quiet=True)
    code, out, _ = run_cli(["export", tmp_path / "r", "--part", "decoder", "--out",
                            tmp_path / "o"], capsys)  # fmt: skip
    assert code == 0 and sorted(p.name for p in (tmp_path / "o").iterdir()) == [
        "decoder.onnx",
        "model.json",
    ]


@pytest.mark.parametrize(
    "cond",
    ["labels", "labels+embedding", "vector", "quadrants:1", "labels@conv", "quadrants:2@resnet"],
)
def test_conditional_graphs_take_the_condition(cond, tmp_path, capsys):
    """Labels and vectors are an input ``c`` of every graph; a mask's condition is x itself (the
    decoder takes x); each output equals the model's own, computed here term by term."""
    rng = np.random.default_rng(1)
    x = (rng.random((150, 4, 4)) > 0.5).astype(np.uint8)
    y, v = rng.integers(0, 3, 150), rng.normal(size=(150, 2)) * [1.0, 10.0]
    np.savez(tmp_path / "d.npz", train=x[:100], valid=x[100:120], test=x[120:],
             **{f"{s}_labels": y[i] for s, i in (("train", slice(0, 100)),
                                                 ("valid", slice(100, 120)),
                                                 ("test", slice(120, None)))},
             **{f"{s}_cond": v[i] for s, i in (("train", slice(0, 100)),
                                               ("valid", slice(100, 120)),
                                               ("test", slice(120, None)))})  # fmt: skip
    cond, _, arch = cond.partition("@")
    settings = {"condition": cond.split("+")[0], "prior": "learned", "hidden": "8"}
    if arch:  # image networks: the condition joins at their fully connected head
        settings.update(arch=arch, channels="4", hidden="")
    if cond.endswith("embedding"):
        settings["condition_embedding"] = 2
    run = vaekit.train(data=str(tmp_path / "d.npz"), epochs=2, latent_dim=2, quiet=True,
                       out=tmp_path / "r", **settings)  # fmt: skip
    code, _, err = run_cli(["export", tmp_path / "r", "--out", tmp_path / "onnx"], capsys)
    assert code == 0, err
    meta = json.loads((tmp_path / "onnx" / "model.json").read_text())
    model = run.model
    assert meta["condition"]["kind"] == model.config.condition_kind
    sess = {p: ort.InferenceSession(str(tmp_path / "onnx" / f"{p}.onnx")) for p in meta["parts"]}
    xt = x[120:130].reshape(10, 16).astype(np.float32)
    stored = xt.reshape(10, 1, 4, 4)  # images (B, C, H, W)
    kind, c = model.config.condition_kind, None
    if kind == "labels":
        c = model.condition.index([str(k) for k in y[120:130]])  # (10, 1) class indices
    elif kind == "vector":
        c = v[120:130].astype(np.float32)  # (10, 2) raw: the graphs standardise
    given = {} if c is None else {"c": c}
    rows = torch.from_numpy(xt if c is None else np.hstack([xt, c]))
    with torch.no_grad():
        _, f = model.parts(rows)
        loc, scale = sess["encoder"].run(None, {"x": stored, **given})
        q = model.encode(rows)
        np.testing.assert_allclose(loc, q.base_dist.loc.numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(scale, q.base_dist.scale.numpy(), rtol=1e-4, atol=1e-5)

        z = rng.normal(size=(10, 2)).astype(np.float32)
        mean = sess["decoder"].run(None, {"z": z, **(given or {"x": stored})})[1]
        want = model.decode(torch.from_numpy(z), f).mean.numpy()
        np.testing.assert_allclose(mean.reshape(10, 16), want, rtol=1e-4, atol=1e-5)

        noise = rng.normal(size=(5, 10, 2)).astype(np.float32)
        (elbo,) = sess["score"].run(None, {"x": stored, "noise": noise, **given})
        zs = q.base_dist.loc + q.base_dist.scale * torch.from_numpy(noise)  # (5, 10, 2)
        scored = model.condition.scored()  # a mask scores the unobserved pixels only
        rec = model.likelihood.log_prob(model.decoder_output(zs, f), torch.from_numpy(xt),
                                        scored).mean(0)  # fmt: skip
        kl = torch.distributions.kl_divergence(q, model.prior.distribution(f))
        np.testing.assert_allclose(elbo, (rec - kl).numpy(), rtol=1e-4, atol=1e-3)
