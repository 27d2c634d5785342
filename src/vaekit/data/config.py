"""Which data, and how validation/test splits are carved where the source has none."""

from __future__ import annotations

from dataclasses import dataclass

from ..configuration import (
    Section,
    fraction,
    nonempty_str,
    nonneg_int,
    optional,
    setting,
)


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
