"""vaekit: variational autoencoders on PyTorch — exact, fast on a CPU, hard to break.

The package is layered (``docs/architecture.md``; checked by import-linter):
``cli`` → ``training`` → ``inference`` | ``viz`` → ``models`` | ``data`` → ``runtime`` →
``configuration`` | ``registry`` → ``errors``. Everything public is re-exported here.
"""

from __future__ import annotations

from .data import DataConfig, Dataset, load_dataset
from .errors import (
    ConfigError,
    DataError,
    DataNotFoundError,
    ModelFileError,
    NumericalError,
    RunDirError,
    VaekitError,
)
from .inference import (
    ELBO,
    IWAE,
    OBJECTIVES,
    EvalConfig,
    ObjectiveTerms,
    elbo_terms,
    evaluate,
    log_likelihood,
    log_weights,
    make_objective,
)
from .models import (
    LIKELIHOODS,
    NETWORKS,
    PRIORS,
    VAE,
    BernoulliLikelihood,
    DecodedGaussianLikelihood,
    DiagGaussianLikelihood,
    FixedGaussianLikelihood,
    Likelihood,
    LogJoint,
    ModelConfig,
    SharedGaussianLikelihood,
    StandardNormalPrior,
    VampPrior,
    kl_per_dim,
    kl_to_prior,
    make_likelihood,
    rsample,
)
from .training import Run, RunConfig, TrainConfig, load, load_run, save_model, train

__version__ = "0.1.0"

__all__ = [
    "ELBO", "IWAE", "LIKELIHOODS", "NETWORKS", "OBJECTIVES", "PRIORS", "VAE",
    "BernoulliLikelihood", "ConfigError", "DataConfig", "DataError", "DataNotFoundError",
    "Dataset", "DecodedGaussianLikelihood", "DiagGaussianLikelihood", "EvalConfig",
    "FixedGaussianLikelihood", "Likelihood", "LogJoint", "ModelConfig", "ModelFileError",
    "NumericalError", "ObjectiveTerms", "Run", "RunConfig", "RunDirError",
    "SharedGaussianLikelihood", "StandardNormalPrior", "TrainConfig", "VaekitError",
    "VampPrior", "__version__", "elbo_terms", "evaluate", "kl_per_dim", "kl_to_prior", "load",
    "load_dataset", "load_run", "log_likelihood", "log_weights", "make_likelihood",
    "make_objective", "rsample", "save_model", "train",
]  # fmt: skip
