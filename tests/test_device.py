"""Everything follows the model's device: no tensor is created on a default device.

CI has no GPU, so the check is done on the CPU with the default device set to ``meta``: a
tensor created without ``device=`` (a sample's noise, an accumulator, a generator's output)
lands on ``meta``, and computing with it beside the model's CPU tensors fails. The same
code on a GPU would otherwise mix CPU and GPU tensors.
"""

from __future__ import annotations

import pytest
import torch

import vaekit
from vaekit.inference import latent_statistics, refined_estimates

PRIORS = ["standard", "vamp"]


def _model(prior, likelihood):
    torch.manual_seed(0)
    return vaekit.VAE(vaekit.ModelConfig(input_dim=6, latent_dim=2, hidden=(4,),
                                         likelihood=likelihood, prior=prior,
                                         prior_components=3))  # fmt: skip


CALLS = {
    "log_likelihood": lambda m, x, g: vaekit.log_likelihood(m, x, 10),
    "sample": lambda m, x, g: m.sample(3, g),
    "sample with noise": lambda m, x, g: m.sample(3, g, noise=True),
    "reconstruct": lambda m, x, g: m.reconstruct(x),
    "ELBO": lambda m, x, g: vaekit.ELBO()(m, x, g).loss,
    "IWAE with DReG": lambda m, x, g: vaekit.IWAE(k=3, dreg=True)(m, x, g).loss,
    "refined estimates": lambda m, x, g: refined_estimates(m, x, steps=2, importance_samples=4)[
        "log_likelihood"
    ],
    "latent statistics of one example": lambda m, x, g: latent_statistics(m, x[:1]),
    "evaluate": lambda m, x, g: vaekit.evaluate(
        m, x, importance_samples=5, refine_steps=2, refined_proposal=True, repeats=2
    ),  # fmt: skip
}


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("prior", PRIORS)
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian-decoded"])
def test_no_tensor_on_a_default_device(call, prior, likelihood):
    m, x = _model(prior, likelihood), torch.rand(5, 6)
    if likelihood == "bernoulli":
        x = (x > 0.5).float()
    g = torch.Generator().manual_seed(0)
    with torch.device("meta"):
        out = CALLS[call](m, x, g)
    for t in out.values() if isinstance(out, dict) else [out]:
        if isinstance(t, torch.Tensor):
            assert t.device.type == "cpu" and torch.isfinite(t).all()


def test_the_check_can_fail():
    m, x = _model("standard", "bernoulli"), torch.rand(5, 6)
    with torch.device("meta"), pytest.raises((RuntimeError, NotImplementedError)):
        m.encode(x).mean + torch.zeros(2)  # a tensor made without device=


@pytest.mark.parametrize(
    "settings", [{}, {"objective": "iwae", "k": 3}, {"prior": "vamp", "prior_components": 3}]
)
def test_training_creates_nothing_on_a_default_device(tmp_path, settings):
    with torch.device("meta"):
        run = vaekit.train(data="digits", epochs=2, hidden="4", latent_dim=2, quiet=True,
                           out=tmp_path / "r", checkpoint_every="3", **settings)  # fmt: skip
    assert run.summary["epochs_run"] == 2 and run.model.device.type == "cpu"


def test_resuming_creates_nothing_on_a_default_device(tmp_path):
    import shutil
    from pathlib import Path

    src = Path(__file__).parent / "fixtures" / "v0.1-runs" / "unfinished"
    shutil.copytree(src, tmp_path / "r")
    with torch.device("meta"):
        run = vaekit.train(out=tmp_path / "r", resume=True, quiet=True)
    assert run.summary["epochs_run"] == 3
