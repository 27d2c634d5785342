"""vaekit: variational autoencoders on PyTorch — exact, fast on a CPU, hard to break."""

from __future__ import annotations

from .config import DataConfig, ModelConfig, RunConfig, TrainConfig
from .data import Dataset, load_dataset
from .errors import (
    ConfigError,
    DataError,
    DataNotFoundError,
    ModelFileError,
    NumericalError,
    RunDirError,
    VaekitError,
)
from .evaluation import elbo_terms, evaluate, log_likelihood, log_weights
from .likelihoods import (
    LIKELIHOODS,
    BernoulliLikelihood,
    DecodedGaussianLikelihood,
    DiagGaussianLikelihood,
    FixedGaussianLikelihood,
    Likelihood,
    SharedGaussianLikelihood,
    make_likelihood,
)
from .model import VAE, rsample
from .objectives import (
    ELBO,
    IWAE,
    OBJECTIVES,
    ObjectiveTerms,
    kl_per_dim,
    kl_to_prior,
    make_objective,
)
from .priors import StandardNormalPrior
from .runs import Run, load, load_run, save_model
from .training import train

__version__ = "0.1.0"

__all__ = [
    "ELBO", "IWAE", "LIKELIHOODS", "OBJECTIVES", "VAE", "BernoulliLikelihood", "ConfigError", "DataConfig", "DataError",
    "DataNotFoundError", "Dataset", "DecodedGaussianLikelihood", "DiagGaussianLikelihood",
    "FixedGaussianLikelihood", "Likelihood", "ModelConfig", "ModelFileError", "NumericalError",
    "ObjectiveTerms", "Run", "RunConfig", "RunDirError", "SharedGaussianLikelihood",
    "StandardNormalPrior", "TrainConfig", "VaekitError", "__version__", "elbo_terms", "evaluate",
    "kl_per_dim", "kl_to_prior", "load", "load_dataset", "load_run", "log_likelihood", "log_weights",
    "make_likelihood", "make_objective", "rsample", "save_model", "train",
]  # fmt: skip
