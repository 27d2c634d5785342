"""Contracts every model satisfies, whatever its architecture and likelihood."""

import pytest
import torch
from torch.distributions import Independent

import vaekit
from vaekit import LIKELIHOODS, VAE, ModelConfig, save_model

# From the registries: a new network, likelihood or prior is held to the contract unasked.
# Every network with every likelihood under the first prior; the other priors on the first network.
NETS, PRIOR_NAMES = list(vaekit.NETWORKS), list(vaekit.PRIORS)
CASES = [(arch, lik, PRIOR_NAMES[0]) for arch in NETS for lik in LIKELIHOODS]
CASES += [(NETS[0], lik, prior) for prior in PRIOR_NAMES[1:] for lik in LIKELIHOODS]


def _model(arch, lik, prior="standard", seed=0):
    torch.manual_seed(seed)
    return VAE(ModelConfig(input_dim=16, latent_dim=3, arch=arch, hidden=(8, 8), likelihood=lik,
                           image_shape=(4, 4), prior=prior, prior_components=4))  # fmt: skip


def _x(lik, n=6):
    x = torch.rand(n, 16, generator=torch.Generator().manual_seed(0))
    return (x > 0.5).float() if lik == "bernoulli" else x


@pytest.mark.parametrize("arch,lik,prior", CASES)
def test_shapes(arch, lik, prior):
    m, x = _model(arch, lik, prior), _x(lik)
    q = m.encode(x)
    assert isinstance(q, Independent) and q.batch_shape == (6,) and q.event_shape == (3,)
    p = m.decode(q.mean)
    assert p.batch_shape == (6,) and p.event_shape == (16,)
    assert m.sample(5, torch.Generator().manual_seed(0)).shape == (5, 16)
    assert m.sample(5, torch.Generator().manual_seed(0), noise=True).shape == (5, 16)
    assert m.reconstruct(x).shape == (6, 16)
    t = vaekit.ELBO()(m, x)
    assert t.elbo.shape == (6,) and torch.isfinite(t.loss)


@pytest.mark.parametrize("arch,lik,prior", CASES)
def test_save_load_round_trip_gives_identical_outputs(arch, lik, prior, tmp_path):
    m, x = _model(arch, lik, prior), _x(lik)
    with torch.no_grad():  # move learned σ and pseudo-inputs away from their initial values
        for p in [*m.likelihood.parameters(), *m.prior.parameters()]:
            p.add_(0.3)
    save_model(m, tmp_path)
    m2 = vaekit.load(tmp_path)
    assert m2.config == m.config
    torch.testing.assert_close(m2.encode(x).mean, m.encode(x).mean, rtol=0, atol=0)
    g1, g2 = torch.Generator().manual_seed(4), torch.Generator().manual_seed(4)
    torch.testing.assert_close(m2.sample(4, g2), m.sample(4, g1), rtol=0, atol=0)
    z = torch.randn(3, 3)
    torch.testing.assert_close(m2.prior.log_prob(z), m.prior.log_prob(z), rtol=0, atol=0)
    torch.testing.assert_close(m2.decode(z).log_prob(_x(lik, 3)), m.decode(z).log_prob(_x(lik, 3)),
                               rtol=0, atol=0)  # fmt: skip


@pytest.mark.parametrize("arch,lik,prior", CASES)
def test_same_seed_same_model(arch, lik, prior):
    a, b = _model(arch, lik, prior, seed=5), _model(arch, lik, prior, seed=5)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)


def test_training_is_deterministic(tmp_path):
    r1 = vaekit.train(data="digits", epochs=2, out=tmp_path / "a", quiet=True, seed=3)
    r2 = vaekit.train(data="digits", epochs=2, out=tmp_path / "b", quiet=True, seed=3)
    assert (tmp_path / "a/model.safetensors").read_bytes() == (
        tmp_path / "b/model.safetensors"
    ).read_bytes()
    assert [m["valid_elbo"] for m in r1.metrics] == [m["valid_elbo"] for m in r2.metrics]
