"""ModelConfig: everything that fixes a model's structure (not its weights)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..configuration import (
    Section,
    int_list,
    nonneg_int,
    optional,
    positive_float,
    positive_int,
    setting,
    str_list,
)
from ..errors import ConfigError, opt
from .conditions import SPECS, kind_of, parse_spec
from .likelihoods import LIKELIHOODS, SIGMA_DEFAULT, SIGMA_FLOOR, auto_likelihood
from .networks import ACTIVATIONS, NETWORKS, NORMS
from .priors import PRIORS

AUTO = "auto"  # the likelihood setting's "choose from the data" value (resolved before here)


def _image_shape(label: str, value: object) -> tuple[int, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple):
        raise ConfigError(f"{label} must be a list of whole numbers, got {value!r}")
    return tuple(positive_int(f"{label} entry", s) for s in value)


def _sigma_start(label: str, value: object) -> tuple[float, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple):
        raise ConfigError(f"{label} must be a list of positive numbers, got {value!r}")
    return tuple(positive_float(f"{label} entry", s) for s in value)


def _floats(label: str, value: object) -> tuple[float, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple) or not value:
        raise ConfigError(f"{label} must be a non-empty list of numbers, got {value!r}")
    out = tuple(float(v) for v in value if isinstance(v, int | float) and not isinstance(v, bool))
    if len(out) != len(value) or not all(math.isfinite(v) for v in out):
        raise ConfigError(f"{label} must hold finite numbers")
    return out


def _indices(label: str, value: object) -> tuple[int, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value
    ):
        raise ConfigError(f"{label} must be a list of indices, got {value!r}")
    return tuple(value)


@dataclass
class ModelConfig(Section):
    input_dim: int = setting(check=positive_int, label="input_dim", user=False)
    latent_dim: int = setting(20, check=positive_int, label="latent_dim", help="Size of z.")
    arch: str = setting("mlp", choices=lambda: NETWORKS, label="architecture",
                        help="Network family.")  # fmt: skip
    hidden: tuple[int, ...] = setting((400,), check=int_list, label="hidden sizes",
                                      help="Hidden layer sizes, e.g. 400 or 200,200 (the "
                                      "decoder mirrors the encoder).")  # fmt: skip
    activation: str = setting("relu", choices=lambda: ACTIVATIONS, help="Between layers.")
    channels: tuple[int, ...] = setting((32, 64), check=int_list, label="channels",
                                        help="conv/resnet: channels of each level; each level "
                                        "halves height and width, e.g. 32,64.")  # fmt: skip
    blocks: int = setting(1, check=nonneg_int, label="blocks",
                          help="resnet: residual blocks at each level.")  # fmt: skip
    norm: str = setting("none", choices=lambda: NORMS, label="norm",
                        help="resnet: normalisation in its blocks (never one that depends on "
                        "the batch).")  # fmt: skip
    likelihood: str = setting(
        "bernoulli", choices=lambda: LIKELIHOODS, cli_choices=lambda: (AUTO, *LIKELIHOODS),
        default_text=f"{AUTO}: {auto_likelihood('binary')} for 0/1 data, "
        f"discretized-logistic for 8-bit images, else {auto_likelihood('real')}",
        help="p(x|z).",
    )  # fmt: skip
    # The fixed σ of `gaussian`, the initial σ of the learned ones; None where the likelihood
    # has no σ (bernoulli).
    sigma: float | None = setting(SIGMA_DEFAULT, check=optional(positive_float), label="sigma",
                                  default_text="the data's std where σ is learned, 1 where fixed",
                                  help="Decoder std: fixed for gaussian, initial otherwise.")  # fmt: skip
    # Learned decoder stds never go below this; None where σ is not learned.
    sigma_floor: float | None = setting(SIGMA_FLOOR, check=optional(positive_float),
                                        label="sigma_floor",
                                        help="Learned decoder stds never go below this.")  # fmt: skip
    # gaussian-diag's starting σ of each data dimension (the training data's column stds),
    # chosen when a run starts on tabular data without a given ``sigma``; None: all ``sigma``.
    sigma_start: tuple[float, ...] | None = setting(None, check=_sigma_start, user=False,
                                                    label="sigma_start")  # fmt: skip
    image_shape: tuple[int, ...] | None = setting(None, check=_image_shape, user=False,
                                                  label="image_shape")  # fmt: skip
    prior: str = setting("standard", choices=lambda: PRIORS,
                         help="p(z): standard N(0, I), vamp (Tomczak & Welling 2018), or for "
                         "a conditional model learned: p(z|c) from a network of c.")  # fmt: skip
    prior_components: int = setting(500, check=positive_int, label="prior_components",
                                    help="Pseudo-inputs of the vamp prior.")  # fmt: skip
    condition: str | None = setting(None, check=optional(parse_spec), label="condition",
                                    help=f"Train p(x|c) given c: {SPECS} (1 = observed).")  # fmt: skip
    condition_embedding: int | None = setting(
        None, check=optional(positive_int), label="condition_embedding",
        default_text="one-hot",
        help="--condition labels: a learned embedding of this width instead of one-hot "
        "features (for many classes).")  # fmt: skip
    # Recorded from the data when a run starts: the classes (as the data names them), the
    # training split's condition statistics, the observed dimensions of a mask.
    condition_classes: tuple[str, ...] | None = setting(None, check=str_list, user=False,
                                                        label="condition_classes")  # fmt: skip
    condition_mean: tuple[float, ...] | None = setting(None, check=_floats, user=False,
                                                       label="condition_mean")  # fmt: skip
    condition_std: tuple[float, ...] | None = setting(None, check=_floats, user=False,
                                                      label="condition_std")  # fmt: skip
    condition_mask: tuple[int, ...] | None = setting(None, check=_indices, user=False,
                                                     label="condition_mask")  # fmt: skip

    @property
    def condition_kind(self) -> str | None:
        """The registered condition (labels, vector, mask), or None: unconditional."""
        return kind_of(self.condition)

    def validate(self) -> None:
        lik = LIKELIHOODS[self.likelihood]
        # Settings the likelihood has no use for are not stored: a Bernoulli run has no σ.
        if not lik.has_sigma:
            self.sigma = None
        elif self.sigma is None:
            self.sigma = SIGMA_DEFAULT
        if not lik.learns_sigma:
            self.sigma_floor = None
        elif self.sigma_floor is None:
            self.sigma_floor = SIGMA_FLOOR
        if lik.learns_sigma and self.sigma <= self.sigma_floor:
            raise ConfigError(
                f"sigma ({self.sigma}) must be above sigma_floor ({self.sigma_floor})"
            )
        if not lik.per_dimension:
            self.sigma_start = None
        elif self.sigma_start is not None:
            if len(self.sigma_start) != self.input_dim:
                raise ConfigError(f"sigma_start has {len(self.sigma_start)} entries for "
                                  f"{self.input_dim} data dimensions")  # fmt: skip
            if min(self.sigma_start) <= self.sigma_floor:
                raise ConfigError(f"sigma_start {min(self.sigma_start)} must be above "
                                  f"sigma_floor ({self.sigma_floor})")  # fmt: skip
        if getattr(NETWORKS.lookup(self.arch), "needs_images", False):
            if self.image_shape is None:
                raise ConfigError(
                    f"architecture {self.arch!r} needs images: arrays (N, H, W[, C]), an image "
                    f"folder, or flat rows with {opt('image_shape', 'H,W[,C]')}"
                )
            if not self.channels:
                raise ConfigError(f"architecture {self.arch!r} needs {opt('channels')}, e.g. 32,64")
        self._validate_condition()
        if self.image_shape is not None and math.prod(self.image_shape) != self.input_dim:
            raise ConfigError(
                f"image_shape {self.image_shape} does not hold {self.input_dim} values"
            )

    def _validate_condition(self) -> None:
        kind, prior = self.condition_kind, PRIORS[self.prior]
        if prior.conditional and kind is None:
            raise ConfigError(f"{opt('prior', self.prior)} is p(z|c): it needs "
                              f"{opt('condition')}")  # fmt: skip
        if kind is not None and not prior.serves_conditional:
            takes = " or ".join(opt("prior", n) for n, p in PRIORS.items() if p.serves_conditional)
            raise ConfigError(f"{opt('prior', self.prior)} is not conditional; a conditional "
                              f"run takes {takes}")  # fmt: skip
        missing = {"labels": self.condition_classes is None,
                   "vector": self.condition_mean is None or self.condition_std is None,
                   "mask": self.condition_mask is None}.get(kind or "", False)  # fmt: skip
        if missing:
            raise ConfigError(f"condition {self.condition!r} is missing what the data gives "
                              "it (classes, statistics or mask) when a run starts")  # fmt: skip
        if self.condition_embedding is not None and kind != "labels":
            raise ConfigError(f"{opt('condition_embedding')} embeds class labels: it needs "
                              f"{opt('condition', 'labels')}")  # fmt: skip
        if kind == "vector" and (len(self.condition_mean) != len(self.condition_std)
                                 or min(self.condition_std) <= 0):  # fmt: skip
            raise ConfigError("condition_std must be positive, one per condition_mean entry")
        if kind == "mask":
            seen = set(self.condition_mask)
            if not seen or len(seen) >= self.input_dim or max(seen) >= self.input_dim:
                raise ConfigError(f"a mask condition must observe some but not all of the "
                                  f"{self.input_dim} data dimensions")  # fmt: skip
