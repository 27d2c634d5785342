import math

import pytest
import torch

import vaekit
from vaekit.training import make_schedule, warmup_beta


def test_warmup_ramps_beta_linearly_per_step():
    assert warmup_beta(1.0, 0, 0, 10) == 1.0
    assert warmup_beta(1.0, 2, 0, 10) == 0.0
    assert warmup_beta(1.0, 2, 5, 10) == pytest.approx(0.25)
    assert warmup_beta(0.5, 2, 20, 10) == 0.5
    assert warmup_beta(0.5, 2, 200, 10) == 0.5


def test_cosine_schedule_decays_to_zero():
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = make_schedule(opt, "cosine", 10)
    lrs = []
    for _ in range(10):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs[4] == pytest.approx(0.5 * (1 + math.cos(math.pi * 5 / 10)))
    assert lrs[-1] == pytest.approx(0.0, abs=1e-12)
    assert lrs == sorted(lrs, reverse=True)


def test_warmup_is_recorded_and_best_model_is_by_true_elbo(tmp_path):
    run = vaekit.train(data="digits", epochs=4, warmup_epochs=2, out=tmp_path / "r",
                       progress=False, latent_dim=4)  # fmt: skip
    betas = [m["beta"] for m in run.metrics]
    assert betas[0] == pytest.approx(0.5) and betas[1:] == [1.0, 1.0, 1.0]
    best = max(run.metrics, key=lambda m: m["valid_elbo"])
    assert run.summary["best_epoch"] == best["epoch"]
    # the saved model is the best epoch's: its validation ELBO reproduces the recorded one
    ds = vaekit.load_dataset("digits")
    elbo = float(vaekit.elbo_terms(run.model, ds.valid, seed=0, batch_size=1000)["elbo"].mean())
    assert elbo == pytest.approx(best["valid_elbo"], abs=1e-4)
