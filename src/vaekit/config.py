"""Configuration as data: typed dataclasses that validate themselves and round-trip through JSON.

A run directory's ``config.json`` holds a :class:`RunConfig`; it is everything needed to rebuild
the model and the data handling.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

ARCHS = ("mlp", "linear")
PRIORS = ("standard", "vamp")
ACTIVATIONS = ("relu", "tanh", "elu", "softplus")
LR_SCHEDULES = ("constant", "cosine")
OBJECTIVE_NAMES = ("elbo", "iwae")


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{name} must be a positive whole number, got {value!r}")
    return value


def _nonneg_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{name} must be a whole number >= 0, got {value!r}")
    return value


def _positive_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{name} must be a positive number, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def _nonneg_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{name} must be a number >= 0, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(f"unknown {name} {value!r}; choose one of: {', '.join(choices)}")
    return value


def parse_hidden(value: Any) -> tuple[int, ...]:
    """``"200,200"``, ``400``, ``[200, 200]`` -> ``(200, 200)``; an empty string means no layer."""
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",") if p.strip()]
        try:
            value = [int(p) for p in parts]
        except ValueError:
            raise ConfigError(
                f"hidden sizes must be whole numbers like 400 or 200,200, got {value!r}"
            ) from None
    elif isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list | tuple):
        raise ConfigError(f"hidden sizes must be a list of whole numbers, got {value!r}")
    return tuple(_positive_int("each hidden size", v) for v in value)


@dataclass
class ModelConfig:
    """Everything that fixes the model's structure (not its weights)."""

    input_dim: int
    latent_dim: int = 20
    arch: str = "mlp"
    hidden: tuple[int, ...] = (400,)
    activation: str = "relu"
    likelihood: str = "bernoulli"
    sigma: float = 1.0  # fixed decoder std for the `gaussian` likelihood, initial one otherwise
    sigma_floor: float = 1e-3  # learned decoder stds never go below this
    image_shape: tuple[int, ...] | None = None  # for pictures only; the model sees (B, input_dim)
    prior: str = "standard"  # N(0, I), or "vamp": a mixture of the posteriors of pseudo-inputs
    prior_components: int = 500  # pseudo-inputs of the vamp prior

    def __post_init__(self) -> None:
        from .likelihoods import LIKELIHOODS  # late: likelihoods import torch

        _positive_int("input_dim", self.input_dim)
        _positive_int("latent_dim", self.latent_dim)
        _choice("architecture", self.arch, ARCHS)
        self.hidden = parse_hidden(self.hidden)
        _choice("activation", self.activation, ACTIVATIONS)
        _choice("likelihood", self.likelihood, tuple(LIKELIHOODS))
        self.sigma = _positive_float("sigma", self.sigma)
        self.sigma_floor = _positive_float("sigma_floor", self.sigma_floor)
        _choice("prior", self.prior, PRIORS)
        _positive_int("prior_components", self.prior_components)
        if self.sigma <= self.sigma_floor and self.likelihood != "gaussian":
            raise ConfigError(
                f"sigma ({self.sigma}) must be above sigma_floor ({self.sigma_floor})"
            )
        if self.image_shape is not None:
            shape = tuple(_positive_int("image_shape entry", s) for s in self.image_shape)
            if math.prod(shape) != self.input_dim:
                raise ConfigError(f"image_shape {shape} does not hold {self.input_dim} values")
            self.image_shape = shape


@dataclass
class DataConfig:
    """Which data, and how validation/test splits are carved when the source has none."""

    name: str = "digits"  # a dataset name or a file path
    data_dir: str | None = None
    valid_fraction: float = 0.1
    test_fraction: float = 0.2  # only used where the source has no test split
    split_seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"data must be a dataset name or a file path, got {self.name!r}")
        for name in ("valid_fraction", "test_fraction"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v < 0.9:
                raise ConfigError(f"{name} must be a number between 0 and 0.9, got {v!r}")
        _nonneg_int("split_seed", self.split_seed)


@dataclass
class TrainConfig:
    """How the model is fitted."""

    epochs: int = 50
    batch_size: int = 128
    lr: float = 1e-3
    lr_schedule: str = "constant"
    beta: float = 1.0
    warmup_epochs: int = 0
    seed: int = 0
    eval_batch_size: int = 1000
    objective: str = "elbo"  # or "iwae"
    k: int = 50  # samples per example of the iwae objective
    dreg: bool = False  # doubly reparameterised encoder gradient (iwae only)
    free_bits: float = 0.0  # nats per latent dimension (elbo only)
    weight_decay: float = 0.0  # decoupled (AdamW) decay of the networks' weight matrices
    init_from: str | None = None  # run directory whose best weights start this run

    def __post_init__(self) -> None:
        _positive_int("epochs", self.epochs)
        _positive_int("batch size", self.batch_size)
        self.lr = _positive_float("learning rate", self.lr)
        _choice("learning-rate schedule", self.lr_schedule, LR_SCHEDULES)
        self.beta = _nonneg_float("beta", self.beta)
        _nonneg_int("warm-up epochs", self.warmup_epochs)
        _nonneg_int("seed", self.seed)
        _positive_int("evaluation batch size", self.eval_batch_size)
        _choice("objective", self.objective, OBJECTIVE_NAMES)
        _positive_int("k (importance samples per example)", self.k)
        if not isinstance(self.dreg, bool):
            raise ConfigError(f"dreg must be true or false, got {self.dreg!r}")
        self.free_bits = _nonneg_float("free bits", self.free_bits)
        self.weight_decay = _nonneg_float("weight decay", self.weight_decay)
        if self.init_from is not None and (
            not isinstance(self.init_from, str) or not self.init_from
        ):
            raise ConfigError(f"init_from must be a run directory, got {self.init_from!r}")
        if self.objective == "iwae" and (self.beta != 1 or self.warmup_epochs or self.free_bits):
            raise ConfigError(
                "beta, KL warm-up and free bits apply to the elbo objective only; "
                "drop them or use --objective elbo"
            )
        if self.dreg and self.objective != "iwae":
            raise ConfigError(
                "--dreg is a gradient estimator of the iwae objective; add --objective iwae"
            )


@dataclass
class RunConfig:
    """What ``config.json`` in a run directory holds."""

    model: ModelConfig
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    format_version: int = 1

    def __post_init__(self) -> None:
        if self.train.free_bits and self.model.prior != "standard":
            raise ConfigError(
                "free bits need a prior that factorises over latent dimensions; "
                "use --prior standard or drop --free-bits"
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, d: Any) -> RunConfig:
        if not isinstance(d, dict):
            raise ConfigError("config must be a JSON object")
        try:
            return cls(
                model=_build(ModelConfig, d.get("model")),
                data=_build(DataConfig, d.get("data", {})),
                train=_build(TrainConfig, d.get("train", {})),
                format_version=_positive_int("format_version", d.get("format_version", 1)),
            )
        except ConfigError:
            raise
        except (TypeError, ValueError) as e:  # e.g. a list where a number belongs
            raise ConfigError(f"invalid config: {e}") from None

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        try:
            d = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"config is not valid JSON ({e})") from None
        return cls.from_dict(d)


def _build(kind: type, d: Any) -> Any:
    if not isinstance(d, dict):
        raise ConfigError(f"config section for {kind.__name__} must be an object, got {d!r}")
    names = {f.name for f in dataclasses.fields(kind)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise ConfigError(f"unknown {kind.__name__} setting(s): {', '.join(map(repr, unknown))}")
    return kind(**d)


# Settings a TOML file may hold (flat, named as the CLI options with '_' for '-').
TRAIN_KEYS = {
    "data", "data_dir", "out", "epochs", "batch_size", "lr", "lr_schedule", "latent_dim", "arch",
    "hidden", "activation", "likelihood", "sigma", "sigma_floor", "beta", "warmup_epochs", "seed",
    "valid_fraction", "objective", "k", "dreg", "free_bits", "init_from", "prior", "prior_components",
    "weight_decay",
}  # fmt: skip


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
    unknown = sorted(set(out) - TRAIN_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown setting(s) in {p}: {', '.join(map(repr, unknown))}; known: {', '.join(sorted(TRAIN_KEYS))}"
        )
    return out
