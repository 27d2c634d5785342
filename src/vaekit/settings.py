"""Flat user settings (CLI options, TOML keys, ``vaekit.train`` keywords) -> a RunConfig."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import numpy as np

from .config import TRAIN_KEYS, DataConfig, ModelConfig, RunConfig, TrainConfig
from .errors import ConfigError

DATA_KEYS = {"data": "name", "data_dir": "data_dir", "valid_fraction": "valid_fraction"}
MODEL_KEYS = ("latent_dim", "arch", "hidden", "activation", "likelihood", "sigma", "sigma_floor", "prior",
              "prior_components")  # fmt: skip
# Every TrainConfig field a user may set (all but eval_batch_size): one list, in config.py.
TRAIN_FIELDS = tuple(f.name for f in fields(TrainConfig) if f.name in TRAIN_KEYS)
AUTO_LIKELIHOOD = "auto"


def check_keys(settings: dict[str, Any]) -> None:
    unknown = sorted(set(settings) - TRAIN_KEYS)
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(map(repr, unknown))}")


def data_config(settings: dict[str, Any]) -> DataConfig:
    kw = {field: settings[key] for key, field in DATA_KEYS.items() if settings.get(key) is not None}
    if kw.get("data_dir") is not None:
        kw["data_dir"] = str(kw["data_dir"])
    return DataConfig(split_seed=settings.get("seed", 0) or 0, **kw)


def resolve_likelihood(name: str | None, train: np.ndarray) -> str:
    """'auto' (the default): bernoulli for 0/1 data, a Gaussian with a learned σ otherwise."""
    if name not in (None, AUTO_LIKELIHOOD):
        return name
    binary = bool(np.isin(train, (0.0, 1.0)).all())
    return "bernoulli" if binary else "gaussian-shared"


def initial_sigma(train: np.ndarray, floor: float) -> float:
    """Start a learned σ at the data's std: the optimum of a model that ignores z.

    Starting at 1 on [0, 1]-valued data makes the KL term win before σ can shrink (Adam moves
    σ about lr per step), and the posterior collapses.
    """
    return float(max(np.std(train, dtype=np.float64), 10 * floor))


def run_config(
    settings: dict[str, Any], input_dim: int, image_shape: tuple[int, ...] | None, train: np.ndarray
) -> RunConfig:
    check_keys(settings)
    model_kw = {k: settings[k] for k in MODEL_KEYS if settings.get(k) is not None}
    model_kw["likelihood"] = resolve_likelihood(model_kw.get("likelihood"), train)
    if "sigma" not in model_kw and model_kw["likelihood"] != "gaussian":
        model_kw["sigma"] = initial_sigma(train, model_kw.get("sigma_floor", 1e-3))
    train_kw = {k: settings[k] for k in TRAIN_FIELDS if settings.get(k) is not None}
    if train_kw.get("init_from") is not None:
        train_kw["init_from"] = str(train_kw["init_from"])
    return RunConfig(
        model=ModelConfig(input_dim=input_dim, image_shape=image_shape, **model_kw),
        data=data_config(settings),
        train=TrainConfig(**train_kw),
    )
