"""The classic setting on statically binarized MNIST (slow: ~30 s an epoch-set on 2 cores)."""

import pytest

import vaekit


@pytest.mark.slow
def test_classic_mlp_reaches_published_elbo(mnist_dir, tmp_path):
    run = vaekit.train(data="binarized-mnist", data_dir=str(mnist_dir), out=tmp_path / "r",
                       epochs=10, hidden="400", latent_dim=20, likelihood="bernoulli",
                       batch_size=128, lr=1e-3, seed=0, quiet=True)  # fmt: skip
    test = vaekit.load_dataset("binarized-mnist", data_dir=str(mnist_dir)).test
    elbo = float(vaekit.elbo_terms(run.model, test)["elbo"].mean())
    assert elbo >= -103.7
