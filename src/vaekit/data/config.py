"""Which data, and how validation/test splits are carved where the source has none."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..configuration import (
    Section,
    boolean,
    fraction,
    int_list,
    nonempty_str,
    nonneg_int,
    one_of,
    optional,
    setting,
    str_list,
)
from ..errors import ConfigError
from .transform import SCALE_RATIO, Transform

LAYOUTS = ("nhwc", "nchw")  # axis orders of 4-d image arrays; vaekit holds images as (N, H*W*C)


def _range(label: str, value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    if (not isinstance(value, list | tuple) or len(value) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)):  # fmt: skip
        raise ConfigError(f"value_range must be [low, high], got {value!r}")
    return (float(value[0]), float(value[1]))


def _transform(label: str, value: Any) -> dict[str, Any] | None:
    return None if value is None else Transform.from_dict(value).to_dict()


@dataclass
class DataConfig(Section):
    name: str = setting("digits", key="data", check=nonempty_str, label="data",
                        help="digits, binarized-mnist, or a .npz/.npy/.csv file.")  # fmt: skip
    data_dir: str | None = setting(None, check=optional(nonempty_str), label="data directory",
                                   help="Where binarized MNIST lives (looked for before "
                                   "$VAEKIT_DATA_DIR and ~/.cache/vaekit).")  # fmt: skip
    valid_fraction: float = setting(0.1, check=fraction,
                                    help="Share of train carved off for validation where the "
                                    "data has no valid split.")  # fmt: skip
    test_fraction: float = setting(0.2, check=fraction, user=False)
    # The carved splits belong to the data, not to a training run: runs with different
    # --seed are scored on the same test set. (Runs before format 2 recorded the training
    # seed here; they keep their split.)
    split_seed: int = setting(0, check=nonneg_int, label="split seed",
                              help="Seed of the permutation that carves missing splits.")  # fmt: skip
    columns: tuple[str, ...] | None = setting(
        None, check=str_list, label="columns",
        help="CSV: the columns to use, by header name or 0-based index, e.g. age,income.")  # fmt: skip
    drop_columns: tuple[str, ...] | None = setting(
        None, check=str_list, label="drop_columns", help="CSV: columns to leave out."
    )
    label_column: str | None = setting(
        None, check=optional(nonempty_str), label="label_column",
        help="CSV: the column of class labels (kept apart from the features).")  # fmt: skip
    condition_columns: tuple[str, ...] | None = setting(
        None, check=str_list, label="condition_columns",
        help="CSV: columns of real-valued attributes for --condition vector (kept apart from "
        "the features), e.g. age,dose.")  # fmt: skip
    impute: str | None = setting(
        None, check=one_of("mean"), label="impute",
        help="Fill missing values (empty, NaN, NA) with the training split's column mean; "
        "without it missing values are refused.")  # fmt: skip
    standardize: bool | None = setting(
        None, check=optional(boolean), label="standardize",
        default_text=f"on for Gaussian likelihoods on tabular data whose columns' stds differ "
        f"more than {SCALE_RATIO:g}x",
        help="Standardise each column (mean 0, std 1) before training; recorded in the run, "
        "undone on output.")  # fmt: skip
    image_shape: tuple[int, ...] | None = setting(
        None, check=optional(int_list), label="image shape",
        help="H,W or H,W,C: treat flat rows as images of this shape (pictures, outputs); "
        "flat data is never guessed to be images.")  # fmt: skip
    image_size: tuple[int, ...] | None = setting(
        None, check=optional(int_list), label="image_size",
        help="Image folders: resize each image to cover H,W (or H,H) and centre-crop to it.")  # fmt: skip
    image_layout: str | None = setting(
        None, check=optional(one_of(*LAYOUTS)), label="image_layout",
        default_text="from the shape: channels last unless only axis 1 has 1, 3 or 4 entries",
        help="Axis order of (N, ., ., .) image arrays: nhwc (channels last) or nchw.")  # fmt: skip
    lazy: bool | None = setting(
        None, check=optional(boolean), label="lazy", default_text="off; a resumed run keeps its own",
        help="Read the data from disk as it is needed instead of into memory: a .npy file "
        "memory-mapped (uint8 or float32, channels last), or an image folder's files decoded "
        "a batch at a time.")  # fmt: skip
    # What the run applies to the data, decided when it starts (``training.settings``), and
    # the training data's range in its own units (pictures and outputs use it).
    transform: dict[str, Any] | None = setting(None, check=_transform, user=False)
    value_range: tuple[float, float] | None = setting(None, check=_range, user=False)
    # A digest of the data file's bytes: a run whose file has moved can check what is passed.
    fingerprint: str | None = setting(None, check=optional(nonempty_str), user=False)

    def validate(self) -> None:
        csv_only = {"columns": self.columns, "drop_columns": self.drop_columns,
                    "label_column": self.label_column,
                    "condition_columns": self.condition_columns}  # fmt: skip
        given = [k for k, v in csv_only.items() if v is not None]
        if given and not self.name.lower().endswith(".csv"):
            raise ConfigError(
                f"{', '.join(given)} select(s) CSV columns; {self.name} is not a .csv file"
            )
        if self.image_size is not None and len(self.image_size) not in (1, 2):
            raise ConfigError(f"image_size is H or H,W, got {self.image_size}")
        if self.lazy and not (self.name.lower().endswith(".npy") or Path(self.name).is_dir()):
            raise ConfigError(
                f"lazy reading takes a .npy file (np.save) or an image folder, not {self.name}: "
                "a .npz is read whole, and CSV files are parsed"
            )
        if self.lazy and self.impute is not None:
            raise ConfigError("lazy data cannot be imputed (that would change the file)")
        if self.columns and self.drop_columns:
            raise ConfigError("give either columns or drop_columns, not both")
