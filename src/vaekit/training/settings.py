"""Flat user settings (CLI options, TOML keys, ``vaekit.train`` keywords) -> a RunConfig.

The flat names are those the settings dataclasses declare (``configuration.user_fields``):
``latent_dim``, ``data``, ``lr``…; nothing here lists them again.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..configuration import section_kwargs, user_fields, user_keys
from ..data import DataConfig, Dataset, canonical_name, fingerprint
from ..data.transform import Transform, is_8bit, scales_differ
from ..errors import ConfigError, flag
from ..models import AUTO, LIKELIHOODS, SIGMA_FLOOR, ModelConfig, auto_likelihood
from .conditioning import condition_settings
from .config import RunConfig, TrainConfig, default_epochs

SECTIONS = (DataConfig, ModelConfig, TrainConfig)
# Keys that are not settings of the run but a TOML file may hold: where the run goes.
RUN_KEYS = frozenset({"out"})


def setting_keys() -> set[str]:
    """Every key a user may set: CLI options (with '-' for '_'), TOML keys, API keywords."""
    return user_keys(*SECTIONS) | RUN_KEYS


def check_keys(settings: dict[str, Any], where: str = "") -> None:
    unknown = sorted(set(settings) - setting_keys())
    if unknown:
        raise ConfigError(
            f"unknown setting(s){where}: {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(sorted(setting_keys()))}"
        )


def _plain(settings: dict[str, Any]) -> dict[str, Any]:
    """Paths as strings, so configs hold JSON values."""
    return {k: os.fspath(v) if isinstance(v, os.PathLike) else v for k, v in settings.items()}


def data_config(settings: dict[str, Any]) -> DataConfig:
    """The data settings; a file is recorded by its absolute path (runs work from any folder)."""
    kw = section_kwargs(DataConfig, _plain(settings))
    if isinstance(kw.get("name"), str) and kw["name"]:
        kw["name"] = canonical_name(kw["name"])
    return DataConfig(**kw)


def resolve_likelihood(name: str | None, dataset: Dataset) -> str:
    """'auto' (the default): the likelihood registered for 0/1 data, for 8-bit images (uint8
    arrays or image files), or for other real data."""
    if name not in (None, AUTO):
        return name
    if all(np.isin(c, (0.0, 1.0)).all() for c in dataset.chunks("train")):
        return auto_likelihood("binary")
    if dataset.image_shape is not None and is_8bit(dataset.source_dtype, dataset.value_range):
        return auto_likelihood("8-bit")  # probabilities of its 256 levels, not a density
    return auto_likelihood("real")


def initial_sigma(dataset: Dataset, floor: float) -> float:
    """Start a learned σ at the data's std: the optimum of a model that ignores z.

    Starting at 1 on [0, 1]-valued data makes the KL term win before σ can shrink (Adam moves
    σ about lr per step), and the posterior collapses.
    """
    return float(max(dataset.train_moments()[1], 10 * floor))


def initial_sigmas(dataset: Dataset, floor: float) -> tuple[float, ...]:
    """Per-column starts of a per-dimension σ: each column's std (see :func:`initial_sigma`),
    so columns of different scales each start where a model that ignores z is optimal."""
    std = dataset.train_moments(axis=0)[1]  # (D,)
    return tuple(float(s) for s in np.maximum(std, 10 * floor))


def flat_settings(config: RunConfig) -> dict[str, Any]:
    """A run's own settings as flat keys (the inverse of :func:`run_config` for settings)."""
    sections = ((DataConfig, config.data), (ModelConfig, config.model), (TrainConfig, config.train))
    return {key: getattr(section, f.name) for cls, section in sections
            for key, f in user_fields(cls).items()}  # fmt: skip


def choose_transform(
    data: DataConfig, dataset: Dataset, has_sigma: bool
) -> tuple[Transform | None, str | None]:
    """The preprocessing of a new run, and a note saying what was chosen and why.

    8-bit data (uint8, 0–255) is scaled to [0, 1]; real-valued tabular data for a Gaussian
    likelihood is standardised per column when ``standardize`` says so, or, by default, when
    its columns' stds differ more than ``SCALE_RATIO``-fold. Images are never standardised
    per pixel by default.
    """
    if dataset.transform is not None:  # loaded with a run's recorded preprocessing
        return dataset.transform, None
    wants = data.standardize or (data.standardize is None and has_sigma
                                 and dataset.image_shape is None)  # fmt: skip
    moments = dataset.train_moments(axis=0) if wants else None  # one pass pair, used twice
    if data.standardize or (moments is not None and (ratio := scales_differ(moments[1]))):
        why = "" if data.standardize else f" (column stds differ {ratio:.3g}-fold)"
        t = Transform.from_moments(*moments)  # type: ignore[misc]
        return (
            t,
            f"{t.describe()}{why}; recorded in the run and undone on output; {flag('no_standardize')} keeps raw values",
        )
    if is_8bit(dataset.source_dtype, dataset.value_range):
        t = Transform.eight_bit()
        return t, f"{t.describe()}; recorded in the run and undone on output"
    return None, None


def run_config(
    settings: dict[str, Any], dataset: Dataset, preprocess: bool = True
) -> tuple[RunConfig, list[str]]:
    """The RunConfig of flat ``settings`` for ``dataset`` (which fixes sizes and defaults),
    and notes for the user about choices made from the data. ``preprocess=False`` keeps the
    raw values (runs of format 1 were trained so)."""
    check_keys(settings)
    settings = _plain(settings)
    model_kw = section_kwargs(ModelConfig, settings)
    model_kw["likelihood"] = resolve_likelihood(model_kw.get("likelihood"), dataset)
    lik = LIKELIHOODS.lookup(model_kw["likelihood"])
    model_kw.update(condition_settings(model_kw.get("condition"), dataset))
    data = data_config(settings)
    transform, note = (choose_transform(data, dataset, lik.has_sigma and not lik.discrete) if preprocess
                       else (dataset.transform, None))  # fmt: skip
    if "sigma" not in model_kw and lik.learns_sigma:
        scaled = dataset.with_transform(transform)  # in the model's units
        floor = model_kw.get("sigma_floor", SIGMA_FLOOR)
        model_kw["sigma"] = initial_sigma(scaled, floor)
        if lik.per_dimension and dataset.image_shape is None and preprocess:
            model_kw["sigma_start"] = initial_sigmas(scaled, floor)
    config = RunConfig(
        model=ModelConfig(input_dim=dataset.dim, image_shape=dataset.image_shape, **model_kw),
        data=replace(
            data,
            transform=None if transform is None else transform.to_dict(),
            value_range=dataset.value_range,
            fingerprint=fingerprint(data.name),
        ),
        train=TrainConfig(**_train_kw(settings, dataset.size("train"))),
    )
    return config, [*dataset.notes, *([note] if note else [])]


def _train_kw(settings: dict[str, Any], n_train: int) -> dict[str, Any]:
    """TrainConfig's settings; the default length comes from the data (``default_epochs``)."""
    kw = section_kwargs(TrainConfig, settings)
    if "epochs" not in kw:
        batch = kw.get("batch_size", TrainConfig.batch_size)
        kw["epochs"] = (
            default_epochs(n_train, batch) if isinstance(batch, int) and batch > 0 else 50
        )
    return kw


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a flat TOML file of training settings (keys as the CLI options, '-' or '_')."""
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {p} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read config file {p}: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {p} is not valid TOML: {e}") from None
    out = {k.replace("-", "_"): v for k, v in raw.items()}
    check_keys(out, f" in {p}")
    return out
