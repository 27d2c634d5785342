import math

import pytest
import torch

import vaekit
from vaekit import VAE, ModelConfig
from vaekit.training import make_optimizer, make_schedule, warmup_beta


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
                       quiet=True, latent_dim=4)  # fmt: skip
    betas = [m["beta"] for m in run.metrics]
    assert betas[0] == pytest.approx(0.5) and betas[1:] == [1.0, 1.0, 1.0]
    best = max(run.metrics, key=lambda m: m["valid_elbo"])
    assert run.summary["best_epoch"] == best["epoch"]
    # the saved model is the best epoch's: its validation ELBO reproduces the recorded one
    ds = vaekit.load_dataset("digits")
    elbo = float(vaekit.elbo_terms(run.model, ds.valid, seed=0, batch_size=1000)["elbo"].mean())
    assert elbo == pytest.approx(best["valid_elbo"], abs=1e-4)


def test_init_from_starts_at_the_source_runs_weights(tmp_path):
    from vaekit.training import build_model

    src = vaekit.train(out=tmp_path / "a", epochs=2, latent_dim=3, hidden=16, quiet=True)
    cfg = vaekit.RunConfig.from_dict(src.config.to_dict())
    cfg.train.init_from = str(tmp_path / "a")
    started = build_model(cfg).state_dict()
    for name, v in src.model.state_dict().items():
        assert torch.equal(started[name], v), name
    fresh = vaekit.train(out=tmp_path / "b", epochs=1, latent_dim=3, hidden=16, quiet=True,
                         objective="iwae", k=4)  # fmt: skip
    tuned = vaekit.train(out=tmp_path / "c", epochs=1, latent_dim=3, hidden=16, quiet=True,
                         objective="iwae", k=4, init_from=tmp_path / "a")  # fmt: skip
    assert tuned.summary["best_valid_score"] > fresh.summary["best_valid_score"]


def test_init_from_another_shape_is_refused_before_writing(tmp_path):
    vaekit.train(out=tmp_path / "a", epochs=1, latent_dim=3, hidden=16, quiet=True)
    with pytest.raises(vaekit.ConfigError, match="another shape") as e:
        vaekit.train(out=tmp_path / "b", epochs=1, latent_dim=4, hidden=16, quiet=True,
                     init_from=tmp_path / "a")  # fmt: skip
    assert not (tmp_path / "b").exists()
    # The message names what differs, so the user knows which flag to add.
    assert "latent_dim 3 there, 4 here" in str(e.value) and "hidden" not in str(e.value)


def test_gradient_check_names_nan_and_inf_but_not_large_finite_values():
    from vaekit.training.loop import _non_finite_gradient

    m = VAE(ModelConfig(input_dim=6, latent_dim=2, hidden=(4,)))
    params = list(m.parameters())
    for p in params:
        p.grad = torch.zeros_like(p)
    assert _non_finite_gradient(m, params) is None
    m.encoder[0].weight.grad.fill_(1e30)  # its float32 norm overflows; every value is finite
    assert _non_finite_gradient(m, params) is None
    m.decoder[2].bias.grad[1] = float("nan")
    assert _non_finite_gradient(m, params) == "decoder.2.bias"
    m.decoder[2].bias.grad[1] = -float("inf")
    assert _non_finite_gradient(m, params) == "decoder.2.bias"


@pytest.mark.parametrize("prior", ["standard", "vamp"])
def test_weight_decay_shrinks_network_weights_only(prior):
    model = VAE(ModelConfig(input_dim=6, latent_dim=2, hidden=(5,), prior=prior,
                            prior_components=3))  # fmt: skip
    lr, wd = 0.1, 0.5
    opt = make_optimizer(model, lr, weight_decay=wd)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = torch.zeros_like(p)  # no gradient: only the decay can move a parameter
    opt.step()
    decayed = set()
    for n, p in model.named_parameters():
        if torch.equal(p, before[n]):
            continue
        torch.testing.assert_close(p, before[n] * (1 - lr * wd))  # AdamW: p ← p − lr·λ·p
        decayed.add(n)
    nets = {f"{net}.{n}" for net in ("encoder", "decoder")
            for n, p in getattr(model, net).named_parameters() if p.dim() == 2}  # fmt: skip
    assert decayed == nets  # weight matrices yes; biases, pseudo-inputs no
    assert type(make_optimizer(model, lr)) is torch.optim.Adam  # no decay: plain Adam as before


def test_weight_decay_is_recorded_and_trains(tmp_path):
    kw = dict(data="digits", epochs=2, latent_dim=3, hidden=16, quiet=True)
    plain = vaekit.train(out=tmp_path / "a", **kw)
    decayed = vaekit.train(out=tmp_path / "b", weight_decay=1.0, **kw)
    assert decayed.config.train.weight_decay == 1.0
    assert vaekit.load_run(tmp_path / "b").config.train.weight_decay == 1.0
    w_plain, w_decayed = (r.model.decoder[-1].weight.norm().item() for r in (plain, decayed))
    assert w_decayed < w_plain


def test_loading_a_run_leaves_the_global_rng_alone(tmp_path):
    vaekit.train(data="digits", epochs=1, hidden="4", latent_dim=2, out=tmp_path / "r",
                 quiet=True)  # fmt: skip
    state = torch.get_rng_state()
    vaekit.load_run(tmp_path / "r")
    assert torch.equal(torch.get_rng_state(), state)


def test_a_process_that_is_not_the_main_one_writes_nothing(tmp_path, monkeypatch):
    # Multi-process training: RunFiles asks runtime.is_main_process, in one place.
    import vaekit.training.rundir as rundir

    monkeypatch.setattr(rundir, "is_main_process", lambda: False)
    out = tmp_path / "r"
    run = vaekit.train(data="digits", epochs=2, hidden="4", latent_dim=2, out=out,
                       checkpoint_every="2", quiet=True)  # fmt: skip
    assert run.summary["epochs_run"] == 2 and len(run.metrics) == 2
    assert not out.exists()
