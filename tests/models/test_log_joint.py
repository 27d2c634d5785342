"""The model's one log-joint: its terms against an independent computation, and every
objective and estimator computing through it (so a conditional model changes one place)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

import vaekit
from vaekit.inference import latent_statistics, refined_estimates


def _model(prior="standard"):
    torch.manual_seed(0)
    return vaekit.VAE(vaekit.ModelConfig(input_dim=7, latent_dim=3, hidden=(5,), prior=prior,
                                         prior_components=4))  # fmt: skip


def test_terms_match_scipy_at_given_draws():
    m = _model()
    x = (torch.rand(4, 7, generator=torch.Generator().manual_seed(1)) > 0.5).float()
    q = m.encode(x)
    z = torch.randn(6, 4, 3, generator=torch.Generator().manual_seed(2))  # (S, B, L)
    lj = m.log_joint(x, z, q)
    with torch.no_grad():
        loc, raw = m.encoder(x).chunk(2, dim=-1)
        scale = np.logaddexp(0, raw.double().numpy()) + 1e-5  # softplus + the floor
        p = torch.sigmoid(m.decoder(z)).double().numpy()  # (S, B, D)
    zn = z.double().numpy()
    log_q = stats.norm.logpdf(zn, loc.double().numpy(), scale).sum(-1)
    log_p = stats.norm.logpdf(zn).sum(-1)
    log_px = stats.bernoulli.logpmf(np.broadcast_to(x.numpy(), p.shape), p).sum(-1)
    for got, want in [
        (lj.log_posterior, log_q),
        (lj.log_prior, log_p),
        (lj.log_likelihood, log_px),
        (lj.log_weight(), log_px + log_p - log_q),
    ]:
        assert got.shape == (6, 4)
        np.testing.assert_allclose(got.detach().double().numpy(), want, rtol=1e-5, atol=1e-4)


def test_forward_draws_and_scores():
    m, x = _model(), (torch.rand(4, 7) > 0.5).float()
    one = m(x, generator=torch.Generator().manual_seed(0))
    many = m(x, 5, torch.Generator().manual_seed(0))
    assert one.z.shape == (4, 3) and one.log_likelihood.shape == (4,)
    assert many.z.shape == (5, 4, 3) and many.log_weight().shape == (5, 4)
    assert one.kl().shape == many.kl().shape == (4,)


def test_dreg_weight_has_the_same_value_without_the_posterior_gradient():
    m, x = _model(), (torch.rand(4, 7) > 0.5).float()
    lj = m(x, 3, torch.Generator().manual_seed(0))
    torch.testing.assert_close(lj.log_weight(stop_posterior_gradient=True), lj.log_weight())
    loc = lj.q.base_dist.loc
    (g_plain,) = torch.autograd.grad(lj.log_weight().sum(), loc, retain_graph=True)
    (g_stop,) = torch.autograd.grad(lj.log_weight(stop_posterior_gradient=True).sum(), loc)
    # Through z only: the term −∂log q/∂μ at fixed z, −(z−μ)/σ², is gone.
    score = -((lj.z - loc) / lj.q.base_dist.scale.square()).sum(0)
    torch.testing.assert_close(g_plain - g_stop, score.detach(), rtol=1e-4, atol=1e-4)


CALLERS = {
    "ELBO": lambda m, x: vaekit.ELBO()(m, x),
    "ELBO with free bits": lambda m, x: vaekit.ELBO(free_bits=0.1)(m, x),
    "IWAE": lambda m, x: vaekit.IWAE(k=3, dreg=True)(m, x),
    "log_likelihood": lambda m, x: vaekit.log_likelihood(m, x, 5),
    "log_weights": lambda m, x: vaekit.log_weights(m, x, 5),
    "elbo_terms": lambda m, x: vaekit.elbo_terms(m, x),
    "refined estimates": lambda m, x: refined_estimates(m, x, steps=1, importance_samples=3),
}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("prior", ["standard", "vamp"])
def test_every_objective_and_estimator_goes_through_log_joint(monkeypatch, caller, prior):
    m, x = _model(prior), (torch.rand(4, 7) > 0.5).float()
    if caller == "ELBO with free bits" and prior == "vamp":
        pytest.skip("free bits need a factorised prior")
    calls = []
    real = vaekit.VAE.log_joint

    def counted(self, *args, **kwargs):
        calls.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(vaekit.VAE, "log_joint", counted)
    monkeypatch.setattr(vaekit.VAE, "decoder_output", _forbidden)  # no side door to p(x|z)
    CALLERS[caller](m, x)
    assert calls


def _forbidden(self, z):
    raise AssertionError("estimators compute log p(x|z) through log_joint only")


def test_latent_statistics_need_no_decoder():
    m, x = _model(), (torch.rand(4, 7) > 0.5).float()
    assert latent_statistics(m, x)["active_units"] >= 0
