"""Models: the VAE and its parts — likelihoods p(x|z), priors p(z), networks, q(z|x).

Where a new part goes: a likelihood is a class in ``likelihoods`` registered in
``LIKELIHOODS``; a prior, one in ``priors`` registered in ``PRIORS``; a network family, one
file in ``networks/`` registered in ``NETWORKS``. ``ModelConfig`` validates names against
these registries. Nothing here imports training, inference or the command line.
"""

from __future__ import annotations

from .config import AUTO, ModelConfig
from .kl import kl_per_dim, kl_to_prior
from .likelihoods import (
    LIKELIHOODS,
    SIGMA_DEFAULT,
    SIGMA_FLOOR,
    BernoulliLikelihood,
    DecodedGaussianLikelihood,
    DiagGaussianLikelihood,
    FixedGaussianLikelihood,
    Likelihood,
    SharedGaussianLikelihood,
    auto_likelihood,
    make_likelihood,
)
from .networks import ACTIVATIONS, NETWORKS, build_networks
from .pixel_likelihoods import DiscretizedLogisticLikelihood
from .posterior import POSTERIOR_SCALE_FLOOR, detached, posterior, raw_scale, rsample
from .priors import PRIORS, GaussianMixture, StandardNormalPrior, VampPrior, make_prior
from .vae import VAE, LogJoint

__all__ = [
    "ACTIVATIONS", "AUTO", "LIKELIHOODS", "NETWORKS", "POSTERIOR_SCALE_FLOOR", "PRIORS",
    "SIGMA_DEFAULT", "SIGMA_FLOOR", "VAE", "BernoulliLikelihood", "DecodedGaussianLikelihood",
    "DiagGaussianLikelihood", "DiscretizedLogisticLikelihood", "FixedGaussianLikelihood", "GaussianMixture", "Likelihood",
    "LogJoint", "ModelConfig", "SharedGaussianLikelihood", "StandardNormalPrior", "VampPrior",
    "auto_likelihood", "build_networks", "detached", "kl_per_dim", "kl_to_prior", "make_likelihood", "make_prior",
    "posterior", "raw_scale", "rsample",
]  # fmt: skip
