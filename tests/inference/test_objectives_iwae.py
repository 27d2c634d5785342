"""IWAE (plain and DReG gradients) and free bits, against the ELBO and independent computations."""

import math

import pytest
import torch

from vaekit import ELBO, IWAE, VAE, ModelConfig, kl_per_dim, log_likelihood, rsample


def _model(likelihood="bernoulli", seed=0, **kw):
    torch.manual_seed(seed)
    cfg = dict(input_dim=12, latent_dim=3, hidden=(16,), likelihood=likelihood) | kw
    return VAE(ModelConfig(**cfg))


def _binary(n, d=12, seed=0):
    return (torch.rand(n, d, generator=torch.Generator().manual_seed(seed)) > 0.5).float()


def test_iwae_with_one_sample_is_the_elbo():
    m, x = _model(), _binary(9)
    iw = IWAE(k=1)(m, x, torch.Generator().manual_seed(3))
    el = ELBO()(m, x, torch.Generator().manual_seed(3))  # same draw z
    assert iw.bound.shape == (9,)
    # k = 1: the bound is the ELBO with a one-sample KL, log q(z|x) − log p(z) at that z…
    q, z = m.encode(x), rsample(m.encode(x), generator=torch.Generator().manual_seed(3))
    one_sample = el.reconstruction - (q.log_prob(z) - m.prior.log_prob(z))
    torch.testing.assert_close(iw.bound, one_sample.detach(), atol=1e-5, rtol=1e-5)
    # …so it equals the (analytic-KL) ELBO in expectation.
    xs = x.repeat(4000, 1)  # 4000 independent draws for each of the 9 points
    with torch.no_grad():
        a = IWAE(k=1)(m, xs, torch.Generator().manual_seed(5)).bound.view(4000, 9)
        b = ELBO()(m, xs, torch.Generator().manual_seed(6)).elbo.view(4000, 9)
    se = torch.sqrt((a.var(0) + b.var(0)) / a.shape[0])
    assert ((a.mean(0) - b.mean(0)).abs() < 5 * se).all()


def test_iwae_bound_is_the_importance_sampled_log_likelihood():
    m, x = _model(), _binary(5)
    bound = IWAE(k=64)(m, x, torch.Generator().manual_seed(4)).bound
    ll = log_likelihood(m, x, 64, generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(bound.double(), ll, atol=1e-4, rtol=1e-5)


def test_iwae_bound_increases_with_k_on_average():
    m, x = _model(), _binary(200)
    means = []
    for k in (1, 5, 50):
        with torch.no_grad():
            b = [IWAE(k)(m, x, torch.Generator().manual_seed(s)).bound.mean() for s in range(10)]
        means.append(float(torch.stack(b).mean()))
    assert means[0] < means[1] < means[2], means


def _grads(model, objective, x, seed):
    model.zero_grad()
    objective(model, x, torch.Generator().manual_seed(seed)).loss.backward()
    enc = torch.cat([p.grad.flatten() for p in model.encoder.parameters()])
    dec = torch.cat([p.grad.flatten() for p in model.decoder.parameters()])
    return enc, dec


def test_dreg_has_the_iwae_value_and_decoder_gradient():
    m, x = _model(), _binary(16)
    plain = IWAE(k=8)(m, x, torch.Generator().manual_seed(1))
    dreg = IWAE(k=8, dreg=True)(m, x, torch.Generator().manual_seed(1))
    torch.testing.assert_close(plain.loss, dreg.loss)
    (enc_p, dec_p), (enc_d, dec_d) = _grads(m, IWAE(8), x, 1), _grads(m, IWAE(8, True), x, 1)
    torch.testing.assert_close(dec_p, dec_d, atol=1e-5, rtol=1e-4)  # same draws: exactly equal
    assert not torch.allclose(enc_p, enc_d)  # a different estimator of the encoder gradient…


@pytest.mark.parametrize("prior", ["standard", "vamp"])
def test_dreg_and_plain_encoder_gradients_agree_in_expectation(prior):
    # …with the same expectation. Many copies of a few points average out the noise.
    # Under a VampPrior the encoder also enters log p(z) directly (at the pseudo-inputs), a
    # path DReG must leave weighted by w̃, not w̃²; the pseudo-inputs' gradient is compared too.
    m = _model("gaussian", latent_dim=2, hidden=(8,), input_dim=4, prior=prior,
               prior_components=3)  # fmt: skip
    x = torch.randn(4, 4, generator=torch.Generator().manual_seed(0)).repeat(5000, 1)
    runs = {False: [], True: []}
    for seed in range(6):
        for dreg in runs:
            enc, _ = _grads(m, IWAE(k=5, dreg=dreg), x, seed)
            prior_grads = [p.grad.flatten() for p in m.prior.parameters()]
            runs[dreg].append(torch.cat([enc, *prior_grads]))
    plain, dreg = torch.stack(runs[False]), torch.stack(runs[True])  # (R, P)
    se = torch.sqrt((plain.var(0) + dreg.var(0)) / plain.shape[0])
    diff = (plain.mean(0) - dreg.mean(0)).abs()
    assert (diff < 5 * se + 1e-3).all(), (diff / se).max()
    if prior == "standard":  # DReG's point: a smaller variance for the encoder. (Under the
        # VampPrior the encoder's gradient through log p(z), the same in both, dominates it.)
        assert dreg.var(0).sum() < plain.var(0).sum()


def test_kl_per_dim_sums_to_the_kl():
    m, x = _model(), _binary(6)
    q = m.encode(x)
    per_dim = kl_per_dim(q, m.prior.distribution())
    assert per_dim.shape == (6, 3)
    torch.testing.assert_close(
        per_dim.sum(-1), torch.distributions.kl_divergence(q, m.prior.distribution())
    )


def test_free_bits_below_the_kl_change_nothing():
    m, x = _model(), _binary(32)
    plain = ELBO()(m, x, torch.Generator().manual_seed(0))
    fb = ELBO(free_bits=1e-6)(m, x, torch.Generator().manual_seed(0))
    torch.testing.assert_close(plain.loss, fb.loss)


def test_free_bits_above_the_kl_cut_the_encoder_pull_to_the_prior():
    m, x = _model(), _binary(32)
    lam = 50.0  # far above any dimension's KL
    t = ELBO(free_bits=lam)(m, x, torch.Generator().manual_seed(0))
    assert t.loss.item() == pytest.approx(-t.reconstruction.mean().item() + 3 * lam, rel=1e-6)
    # The reported ELBO is still the true one.
    torch.testing.assert_close(t.elbo, t.reconstruction - t.kl)


def test_iwae_rejects_a_kl_weight():
    with pytest.raises(ValueError, match="no KL weight"):
        IWAE(4)(_model(), _binary(2), beta=0.5)
    with pytest.raises(ValueError, match="k >= 1"):
        IWAE(0)
    assert math.isfinite(IWAE(4)(_model(), _binary(2), beta=1.0).loss.item())
