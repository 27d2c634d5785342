"""Baseline runs: a finite mixture fitted by EM, in a run directory of the same form as a VAE's
(config.json, model.safetensors, summary.json, samples.png), so ``vaekit evaluate``,
``sample`` and ``score`` take either. config.json says ``"kind": "baseline"``.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from ..data import DataConfig, fingerprint, load_dataset
from ..errors import ConfigError, DataError, ModelFileError, RunDirError
from ..models.mixtures import MIXTURES, BernoulliMixture, GaussianMixtureModel, independent
from ..registry import Registry
from ..viz import save_grid
from .rundir import (
    BASELINE_KIND,
    CONFIG_FILE,
    SUMMARY_FILE,
    WEIGHTS_FILE,
    atomic_write,
    config_kind,
)

KIND = BASELINE_KIND
# family -> fit(train split (N, D) float64, dataset, K, seed, restarts, covariance)
#   -> (model, EM report, components)
FITS: Registry = Registry("baseline")


@FITS.add("bernoulli-mixture")
def _fit_bernoulli(train: np.ndarray, ds: Any, k: int, seed: int, restarts: int,
                   covariance: str) -> tuple[Any, Any, int]:  # fmt: skip
    for chunk in ds.chunks("train"):
        require_binary(chunk, ds.name)
    return (*BernoulliMixture.fit(train, k, seed, restarts), k)


@FITS.add("gmm")
def _fit_gmm(train: np.ndarray, ds: Any, k: int, seed: int, restarts: int,
             covariance: str) -> tuple[Any, Any, int]:  # fmt: skip
    return (*GaussianMixtureModel.fit(train, k, seed, restarts, covariance), k)


@FITS.add("independent")
def _fit_independent(train: np.ndarray, ds: Any, k: int, seed: int, restarts: int,
                     covariance: str) -> tuple[Any, Any, int]:  # fmt: skip
    return (*independent(train, seed), 1)


FAMILIES = tuple(FITS)


@dataclass
class BaselineRun:
    run_dir: Path
    family: str  # the fitted class's name (independent -> bernoulli-mixture or gmm, K = 1)
    settings: dict[str, Any]
    data: DataConfig
    model: BernoulliMixture | GaussianMixtureModel
    summary: dict[str, Any]


def is_baseline(run_dir: str | os.PathLike) -> bool:
    return config_kind(run_dir) == KIND


def fit_baseline(family: str, data: DataConfig, out: str | os.PathLike, components: int = 10,
                 restarts: int = 3, seed: int = 0, covariance: str = "full") -> BaselineRun:  # fmt: skip
    """Fit on the training split (the data's own units), score the validation split, write."""
    fit = FITS.lookup(family)
    if covariance not in ("full", "diag"):
        raise ConfigError(f"covariance must be full or diag, not {covariance!r}")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise RunDirError(f"{out} already holds files; give an empty or new --out")
    ds = load_dataset(data)
    train = ds.train.astype(np.float64)
    t0 = time.perf_counter()
    model, report, fitted = fit(train, ds, components, seed, restarts, covariance)
    seconds = time.perf_counter() - t0
    settings = {"family": family, "components": fitted,
                "restarts": restarts, "seed": seed, "covariance": covariance}  # fmt: skip
    recorded = replace(data, value_range=ds.value_range, fingerprint=fingerprint(data.name),
                       image_shape=ds.image_shape)  # fmt: skip
    summary = {"train_log_likelihood": report.log_likelihood, "iterations": report.iterations,
               "valid_log_likelihood": float(model.log_prob(ds.valid).mean()),
               "seconds": seconds, "exact": True}  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / WEIGHTS_FILE, st_save({k: np.ascontiguousarray(v)
                                              for k, v in model.params().items()}))  # fmt: skip
    config = {"kind": KIND, "format_version": 1, "baseline": settings,
              "fitted": model.name, "data": recorded.to_dict()}  # fmt: skip
    atomic_write(out / CONFIG_FILE, json.dumps(config, indent=2, sort_keys=True) + "\n")
    atomic_write(out / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")
    save_grid(model.sample(64, seed), out / "samples.png", ds.image_shape,
              value_range=ds.value_range)  # fmt: skip
    return BaselineRun(out, model.name, settings, recorded, model, summary)


def require_binary(x: np.ndarray, what: str) -> None:
    """A Bernoulli mixture fits and scores 0/1 data only (other values have no probability)."""
    if not np.isin(x, (0.0, 1.0)).all():
        raise DataError(f"{what} is not 0/1 data, which a bernoulli-mixture needs (gmm takes "
                        "other values)")  # fmt: skip


def check_data(run: BaselineRun, x: np.ndarray, what: str) -> None:
    """Raise DataError if ``x`` cannot be scored by the run's mixture."""
    if run.model.name == BernoulliMixture.name:
        require_binary(x, what)


def load_baseline(run_dir: str | os.PathLike) -> BaselineRun:
    run_dir = Path(run_dir)
    try:
        config = json.loads((run_dir / CONFIG_FILE).read_text())
        settings, fitted = dict(config["baseline"]), str(config["fitted"])
        data = DataConfig.from_dict(config["data"])
        params = st_load((run_dir / WEIGHTS_FILE).read_bytes())
        model = MIXTURES.lookup(fitted).from_params(params)
        summary = json.loads((run_dir / SUMMARY_FILE).read_text())
    except (OSError, ValueError, KeyError, TypeError, SafetensorError, ConfigError) as e:
        raise ModelFileError(f"{run_dir} is not a readable baseline run ({e})") from None
    return BaselineRun(run_dir, fitted, settings, data, model, summary)
