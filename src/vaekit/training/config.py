"""TrainConfig (how a model is fitted) and RunConfig: what a run directory's config.json holds.

RunConfig is everything needed to rebuild the model and the data handling of a run.
Format 1 (before the package layout of issue 13) recorded the training seed as the data's
split seed and a σ for Bernoulli runs; such files still load, and keep their split.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from ..configuration import (
    Section,
    boolean,
    nonempty_str,
    nonneg_float,
    nonneg_int,
    optional,
    positive_float,
    positive_int,
    setting,
)
from ..data import DataConfig
from ..errors import ConfigError, opt
from ..inference import IWAE, OBJECTIVES
from ..models import PRIORS, ModelConfig
from ..runtime.precision import PRECISIONS
from .optim import SCHEDULES

FORMAT_VERSION = 2
# The default length of a run: at least this many epochs and this many optimiser steps. On
# small data 50 epochs are few steps (409 rows, batch 128: 200 steps), far from trained.
MIN_EPOCHS, MIN_STEPS = 50, 2000


def default_epochs(n_train: int, batch_size: int) -> int:
    """At least MIN_EPOCHS epochs and MIN_STEPS optimiser steps."""
    steps_per_epoch = -(-n_train // batch_size)
    return max(MIN_EPOCHS, -(-MIN_STEPS // steps_per_epoch))


# Recorded from the data when a run starts; runs of format 1 have neither.
DERIVED = {("data", "transform"), ("data", "value_range"), ("data", "fingerprint"),
           ("model", "sigma_start")}  # fmt: skip
# Settings that only say how long a run goes: `--resume` may change them (a run that grows).
GROWABLE = {("train", "epochs"), ("train", "patience")}
# Settings that only say how the data is read, never what the numbers are: free to differ.
READING = {("data", "lazy")}


def _same(a: Any, b: Any) -> bool:
    """Equal, floats to rounding: a σ started at the data's std comes out in its last bits by
    the order of a sum (chunked or not), which makes it no other setting."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9)
    return a == b


@dataclass
class TrainConfig(Section):
    epochs: int = setting(50, check=positive_int, help="Passes over the training data.",
                          default_text=f"{MIN_EPOCHS}, or more to make at least {MIN_STEPS:,} "
                          "optimiser steps on small data")  # fmt: skip
    batch_size: int = setting(128, check=positive_int, label="batch size",
                              help="Examples per step.")  # fmt: skip
    lr: float = setting(1e-3, check=positive_float, label="learning rate",
                        help="Adam's learning rate.")  # fmt: skip
    lr_schedule: str = setting("constant", choices=lambda: SCHEDULES,
                               label="learning-rate schedule",
                               help="constant, or cosine decay to 0 over the run.")  # fmt: skip
    beta: float = setting(1.0, check=nonneg_float, help="Weight of the KL term (elbo).")
    warmup_epochs: int = setting(0, check=nonneg_int, label="warm-up epochs",
                                 help="Ramp beta from 0 over this many epochs.")  # fmt: skip
    seed: int = setting(0, check=nonneg_int,
                        help="Seed for the weights, the data order and the noise.")  # fmt: skip
    eval_batch_size: int = setting(1000, check=positive_int, label="evaluation batch size",
                                   user=False)  # fmt: skip
    objective: str = setting("elbo", choices=lambda: OBJECTIVES,
                             help="elbo (β-ELBO) or iwae (importance-weighted bound).")  # fmt: skip
    k: int = setting(IWAE.DEFAULT_K, check=positive_int, label="k (importance samples per example)",
                     help="Samples per example of the iwae objective.")  # fmt: skip
    dreg: bool = setting(False, check=boolean,
                         help="Doubly reparameterised encoder gradient (iwae).")  # fmt: skip
    free_bits: float = setting(0.0, check=nonneg_float, label="free bits",
                               help="Nats per latent dimension that cost nothing (elbo).")  # fmt: skip
    weight_decay: float = setting(0.0, check=nonneg_float, label="weight decay",
                                  help="Decoupled weight decay (AdamW) of the networks' "
                                  "weight matrices.")  # fmt: skip
    patience: int | None = setting(None, check=optional(positive_int), label="patience",
                                   help="Stop when the validation score has not improved for "
                                   "this many epochs (default: off).")  # fmt: skip
    init_from: str | None = setting(None, check=optional(nonempty_str), label="init_from",
                                    help="Start from this run directory's best weights.")  # fmt: skip
    precision: str = setting("fp32", choices=lambda: PRECISIONS,
                             help="Training arithmetic of the networks: fp32, bf16 autocast "
                             "(float32 weights, optimiser, likelihood, KL and loss), or auto: "
                             "bf16 where the hardware has it (AVX512-BF16/AMX, GPU). Evaluation "
                             "is always float32.")  # fmt: skip

    def validate(self) -> None:
        OBJECTIVES[self.objective].check_settings(self)


@dataclass
class RunConfig:
    """What ``config.json`` in a run directory holds."""

    model: ModelConfig
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if self.train.free_bits and not PRIORS[self.model.prior].factorised:
            raise ConfigError(
                "free bits need a prior that factorises over latent dimensions; "
                f"use {opt('prior', 'standard')} or drop {opt('free_bits')}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model.to_dict(), "data": self.data.to_dict(),
                "train": self.train.to_dict(), "format_version": self.format_version}  # fmt: skip

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def differences(self, other: RunConfig, growing: bool = False) -> list[str]:
        """The settings that differ, as 'section.name old -> new'. What is derived from the
        data (its preprocessing and value range) is not a setting: the checkpoint's data
        fingerprint guards it. The format version is not either; with ``growing``, neither
        are the settings that only say how long the run goes (GROWABLE)."""
        mine, theirs = self.to_dict(), other.to_dict()
        ignored = DERIVED | READING | (GROWABLE if growing else set())
        return [
            f"{section}.{name} {value!r} -> {theirs[section].get(name)!r}"
            for section in ("model", "data", "train")
            for name, value in mine[section].items()
            if not _same(theirs[section].get(name), value) and (section, name) not in ignored
        ]

    @classmethod
    def from_dict(cls, d: Any) -> RunConfig:
        if not isinstance(d, dict):
            raise ConfigError("config must be a JSON object")
        version = positive_int("format_version", d.get("format_version", 1))
        if version > FORMAT_VERSION:
            raise ConfigError(
                f"config format {version} was written by a newer vaekit (this one reads up to "
                f"{FORMAT_VERSION}); upgrade vaekit"
            )
        return cls(
            model=ModelConfig.from_dict(d.get("model")),
            data=DataConfig.from_dict(d.get("data", {})),
            train=TrainConfig.from_dict(d.get("train", {})),
            format_version=version,
        )

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        try:
            d = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"config is not valid JSON ({e})") from None
        return cls.from_dict(d)
