"""Contracts every model satisfies, whatever its architecture and likelihood."""

import numpy as np
import pytest
import torch
from torch.distributions import Independent

import vaekit
from vaekit import LIKELIHOODS, VAE, ModelConfig, save_model
from vaekit.models.conditions import quadrant_mask

# From the registries: a new network, likelihood or prior is held to the contract unasked.
# Every network with every likelihood under the first prior; the other unconditional priors on
# the first network; conditional models (class labels, a quadrant mask) on every network.
NETS = list(vaekit.NETWORKS)
PRIOR_NAMES = [p for p in vaekit.PRIORS if not vaekit.PRIORS[p].conditional]
COND_PRIORS = [p for p in vaekit.PRIORS if vaekit.PRIORS[p].conditional]
CASES = [(arch, lik, PRIOR_NAMES[0], None) for arch in NETS for lik in LIKELIHOODS]
CASES += [(NETS[0], lik, prior, None) for prior in PRIOR_NAMES[1:] for lik in LIKELIHOODS]
CASES += [(arch, "bernoulli", prior, cond) for arch in NETS for prior in COND_PRIORS
          for cond in ("labels", "quadrants:1")]  # fmt: skip
CASES += [(NETS[0], lik, "standard", "quadrants:2") for lik in LIKELIHOODS]
CASES += [(NETS[0], "bernoulli", "standard", "labels")]
CASES += [(arch, "bernoulli", COND_PRIORS[0], "labels+embedding") for arch in NETS]
CLASSES = ("a", "b", "c")


def _model(arch, lik, prior="standard", seed=0, cond=None):
    """``cond`` is a --condition setting, or "labels+embedding": labels, embedded in 2-D."""
    torch.manual_seed(seed)
    mask, labels = None, cond is not None and cond.startswith("labels")
    if cond is not None and cond.startswith("quadrants"):
        mask = tuple(int(i) for i in np.flatnonzero(quadrant_mask((4, 4), int(cond[-1]))))
    return VAE(ModelConfig(input_dim=16, latent_dim=3, arch=arch, hidden=(8, 8), likelihood=lik,
                           image_shape=(4, 4), prior=prior, prior_components=4,
                           condition="labels" if labels else cond,
                           condition_classes=CLASSES if labels else None,
                           condition_embedding=2 if cond == "labels+embedding" else None,
                           condition_mask=mask))  # fmt: skip


def _x(lik, n=6, cond=None):
    """Input rows: x (n, 16), with a class column beside it for a label condition."""
    x = torch.rand(n, 16, generator=torch.Generator().manual_seed(0))
    x = (x > 0.5).float() if lik == "bernoulli" else x
    if cond is not None and cond.startswith("labels"):
        x = torch.cat([x, (torch.arange(n) % len(CLASSES)).float()[:, None]], 1)
    return x


def _samples(m, n, gen, noise=False):
    cond = m.condition
    if cond is None:
        return m.sample(n, gen, noise=noise)
    if cond.scored() is not None:  # a mask: completions of data
        return m.complete(_x(m.config.likelihood, n)[:, :16], 1, gen, noise=noise)[0]
    return m.sample(n, gen, noise=noise, condition=(torch.arange(n) % 3).float()[:, None])


@pytest.mark.parametrize("arch,lik,prior,cond", CASES)
def test_shapes(arch, lik, prior, cond):
    m, x = _model(arch, lik, prior, cond=cond), _x(lik, cond=cond)
    q = m.encode(x)
    assert isinstance(q, Independent) and q.batch_shape == (6,) and q.event_shape == (3,)
    p = m.decode(q.mean, m.parts(x)[1])
    assert p.batch_shape == (6,) and p.event_shape == (16,)
    assert _samples(m, 5, torch.Generator().manual_seed(0)).shape == (5, 16)
    assert _samples(m, 5, torch.Generator().manual_seed(0), noise=True).shape == (5, 16)
    assert m.reconstruct(x).shape == (6, 16)
    for objective in (vaekit.ELBO(), vaekit.IWAE(k=3)):
        t = objective(m, x)
        assert t.elbo.shape == (6,) and torch.isfinite(t.loss)


@pytest.mark.parametrize("arch,lik,prior,cond", CASES)
def test_save_load_round_trip_gives_identical_outputs(arch, lik, prior, cond, tmp_path):
    m, x = _model(arch, lik, prior, cond=cond), _x(lik, cond=cond)
    with torch.no_grad():  # move learned σ and pseudo-inputs away from their initial values
        for p in [*m.likelihood.parameters(), *m.prior.parameters()]:
            p.add_(0.3)
    save_model(m, tmp_path)
    m2 = vaekit.load(tmp_path)
    assert m2.config == m.config
    torch.testing.assert_close(m2.encode(x).mean, m.encode(x).mean, rtol=0, atol=0)
    g1, g2 = torch.Generator().manual_seed(4), torch.Generator().manual_seed(4)
    torch.testing.assert_close(_samples(m2, 4, g2), _samples(m, 4, g1), rtol=0, atol=0)
    z, f = torch.randn(3, 3), m.parts(_x(lik, 3, cond))[1]
    torch.testing.assert_close(m2.prior.log_prob(z, f), m.prior.log_prob(z, f), rtol=0, atol=0)
    x3 = _x(lik, 3)[:, :16]
    torch.testing.assert_close(m2.decode(z, f).log_prob(x3), m.decode(z, f).log_prob(x3),
                               rtol=0, atol=0)  # fmt: skip
    torch.testing.assert_close(m2(x, 2, torch.Generator().manual_seed(1)).log_weight(),
                               m(x, 2, torch.Generator().manual_seed(1)).log_weight(),
                               rtol=0, atol=0)  # fmt: skip


@pytest.mark.parametrize("arch,lik,prior,cond", CASES)
def test_same_seed_same_model(arch, lik, prior, cond):
    a, b = _model(arch, lik, prior, 5, cond), _model(arch, lik, prior, 5, cond)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)


def test_training_is_deterministic(tmp_path):
    r1 = vaekit.train(data="digits", epochs=2, out=tmp_path / "a", quiet=True, seed=3)
    r2 = vaekit.train(data="digits", epochs=2, out=tmp_path / "b", quiet=True, seed=3)
    assert (tmp_path / "a/model.safetensors").read_bytes() == (
        tmp_path / "b/model.safetensors"
    ).read_bytes()
    assert [m["valid_elbo"] for m in r1.metrics] == [m["valid_elbo"] for m in r2.metrics]
