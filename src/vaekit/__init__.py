"""vaekit: variational autoencoders on PyTorch — exact, fast on a CPU, hard to break.

The package is layered (``docs/architecture.md``; checked by import-linter):
``cli`` → ``training`` → ``inference`` | ``viz`` → ``models`` | ``data`` → ``runtime`` →
``configuration`` | ``registry`` → ``errors``. Everything public is re-exported here, and
imported on first use (PEP 562), so that ``vaekit --help`` answers without loading torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what the names are, for type checkers and editors
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
    from .export import export_onnx
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
        DiscretizedLogisticLikelihood,
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

# module -> the public names it provides
_PUBLIC = {
    ".data": ("DataConfig", "Dataset", "load_dataset"),
    ".export": ("export_onnx",),
    ".errors": ("ConfigError", "DataError", "DataNotFoundError", "ModelFileError",
                "NumericalError", "RunDirError", "VaekitError"),
    ".inference": ("ELBO", "EvalConfig", "IWAE", "OBJECTIVES", "ObjectiveTerms", "elbo_terms",
                   "evaluate", "log_likelihood", "log_weights", "make_objective"),
    ".models": ("BernoulliLikelihood", "DecodedGaussianLikelihood", "DiagGaussianLikelihood",
                "DiscretizedLogisticLikelihood",
                "FixedGaussianLikelihood", "LIKELIHOODS", "Likelihood", "LogJoint", "ModelConfig",
                "NETWORKS", "PRIORS", "SharedGaussianLikelihood", "StandardNormalPrior", "VAE",
                "VampPrior", "kl_per_dim", "kl_to_prior", "make_likelihood", "rsample"),
    ".training": ("Run", "RunConfig", "TrainConfig", "load", "load_run", "save_model", "train"),
}  # fmt: skip
_WHERE = {name: module for module, names in _PUBLIC.items() for name in names}


__all__ = sorted([*_WHERE, "__version__"])


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'vaekit' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name], __name__), name)
    globals()[name] = value  # once: later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
