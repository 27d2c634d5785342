"""The numbers behind vaekit plot, against closed forms and independent computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import norm

from vaekit import VAE, ModelConfig
from vaekit.errors import ConfigError, DataError
from vaekit.inference.explore import (
    condition_features,
    dims_by_activity,
    latent_grid,
    lerp,
    prior_quantiles,
    project,
    slerp,
    traversal,
)


def _model(**kw):
    torch.manual_seed(0)
    return VAE(ModelConfig(input_dim=6, latent_dim=3, hidden=(8,), likelihood="gaussian", **kw))


def test_prior_quantiles_are_the_normal_inverse_cdf():
    q = prior_quantiles(_model(), 7)  # (7, 3)
    want = norm.ppf((np.arange(7) + 0.5) / 7)
    np.testing.assert_allclose(q, np.repeat(want[:, None], 3, 1), atol=1e-12)


def test_learned_prior_quantiles_follow_its_location_and_scale():
    m = VAE(ModelConfig(input_dim=6, latent_dim=3, hidden=(8,), likelihood="gaussian",
                        prior="learned", condition="labels", condition_classes=("a", "b")))  # fmt: skip
    f = m.condition.features_of(None, torch.tensor([[1.0]]))
    p = m.prior.distribution(f).base_dist
    q = prior_quantiles(m, 5, f)
    want = (
        p.loc.detach().double().numpy()
        + p.scale.detach().double().numpy() * norm.ppf((np.arange(5) + 0.5) / 5)[:, None]
    )
    np.testing.assert_allclose(q, want, rtol=1e-6)


def test_latent_grid_sweeps_two_dimensions_over_rows_and_columns():
    q = np.arange(12.0).reshape(4, 3)  # 4 quantiles of 3 dimensions
    base = np.array([-1.0, -2.0, -3.0])
    z = latent_grid(q, (2, 0), base).reshape(4, 4, 3)  # (row, col, L)
    np.testing.assert_array_equal(z[0, :, 2], q[:, 2])  # left to right: dims[0] rises
    np.testing.assert_array_equal(z[:, 0, 0], q[::-1, 0])  # top row: dims[1] largest
    assert (z[..., 1] == -2.0).all()  # the other dimension stays at the base


def test_slerp_keeps_the_radius_and_ends_where_asked():
    a, b = np.array([2.0, 0.0, 0.0]), np.array([0.0, 2.0, 0.0])
    path = slerp(a, b, 5)
    np.testing.assert_allclose(path[[0, -1]], [a, b], atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 2.0, atol=1e-12)
    np.testing.assert_allclose(path[2], [np.sqrt(2), np.sqrt(2), 0.0], atol=1e-12)  # 45°
    c = np.array([1.0, 0.0, 0.0]) * 4  # parallel to a, twice as long: the straight line
    np.testing.assert_allclose(slerp(a, c, 3), lerp(a, c, 3), atol=1e-12)
    np.testing.assert_allclose(lerp(a, b, 3)[1], (a + b) / 2)
    # opposite codes (always so in one dimension): no sphere path is defined; the line
    np.testing.assert_allclose(
        slerp(np.array([-1.0]), np.array([2.0]), 4), [[-1], [0], [1], [2]], atol=1e-12
    )
    # the norm moves linearly between unequal radii
    np.testing.assert_allclose(np.linalg.norm(slerp(a, 3 * b, 3), axis=1), [2.0, 4.0, 6.0])


def test_traversal_sets_one_dimension_a_row():
    z = traversal(np.array([5.0, 6.0, 7.0]), np.array([2, 0]), np.array([-1.0, 1.0]))
    np.testing.assert_array_equal(z, [[5, 6, -1], [5, 6, 1], [-1, 6, 7], [1, 6, 7]])


def test_projection_is_the_codes_or_their_principal_components():
    rng = np.random.default_rng(0)
    z2 = rng.normal(size=(50, 2))
    np.testing.assert_array_equal(project(z2)[0], z2)
    z = rng.normal(size=(50, 4)) * [5.0, 2.0, 0.5, 0.1]
    xy, axis, pca = project(z)
    centred = z - z.mean(0)
    vt = np.linalg.svd(centred, full_matrices=False)[2]
    want = centred @ vt[:2].T  # independent: the SVD's first two directions
    np.testing.assert_allclose(np.abs(xy), np.abs(want), atol=1e-8)
    assert axis == "principal component"
    np.testing.assert_allclose(pca.inverse_transform(xy[:3]), z.mean(0) + (want @ vt[:2])[:3],
                               atol=1e-8)  # a map position back to its code  # fmt: skip
    assert project(z2)[2] is None and project(z, "tsne")[2] is None
    assert project(z, "tsne")[0].shape == (50, 2)
    with pytest.raises(Exception, match="projection"):
        project(z, "umap")


def test_dimensions_are_ordered_by_their_mean_kl():
    m = _model()
    x = torch.randn(40, 6, generator=torch.Generator().manual_seed(1))
    order, score, name = dims_by_activity(m, x)
    with torch.no_grad():
        q = m.encode(x).base_dist
        kl = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).mean(0)
    np.testing.assert_allclose(score, kl.double().numpy(), rtol=1e-5)
    assert list(order) == list(np.argsort(-kl.numpy())) and name == "KL (nats)"


def test_condition_features_name_a_class_or_a_vector_and_refuse_what_does_not_apply():
    labels = _model(condition="labels", condition_classes=("a", "b", "c"))
    np.testing.assert_array_equal(condition_features(labels, 2, "c"), [[0, 0, 1], [0, 0, 1]])
    np.testing.assert_array_equal(condition_features(labels, 1), [[1, 0, 0]])  # the first
    with pytest.raises(DataError, match="'d' is not one"):
        condition_features(labels, 1, "d")
    with pytest.raises(ConfigError, match="classes, not on vectors"):
        condition_features(labels, 1, vector=[1.0])
    vector = _model(condition="vector", condition_mean=(1.0, 2.0), condition_std=(2.0, 4.0))
    np.testing.assert_array_equal(condition_features(vector, 3), np.zeros((3, 2)))  # the mean
    np.testing.assert_allclose(condition_features(vector, 1, vector=[3.0, 0.0]), [[1.0, -0.5]])
    for bad in ([1.0], [1.0, float("nan")]):
        with pytest.raises(ConfigError, match="2 finite numbers"):
            condition_features(vector, 1, vector=bad)
    assert condition_features(_model(), 4) is None
    with pytest.raises(ConfigError, match="not conditional"):
        condition_features(_model(), 1, "a")
    mask = _model(condition="mask:m.npy", condition_mask=(0, 1))
    with pytest.raises(ConfigError, match="observed part"):
        condition_features(mask, 1)
