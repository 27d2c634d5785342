"""``--tensorboard``: each epoch's metrics and pictures for TensorBoard, in the run directory.

With the ``tensorboard`` package, :class:`TensorBoardLog` writes event files to
``RUN/tensorboard`` with ``torch.utils.tensorboard``: every number of the epoch's metrics row
as a scalar (grouped ``valid/``, ``train/``, ``schedule/``), and the samples and
reconstructions as images, the epoch as the step. A resumed run purges whatever a killed
process wrote past its last checkpoint, so no step appears twice. Without the package,
:class:`CsvLog` writes ``RUN/tensorboard/scalars.csv`` (rewritten whole each epoch) and the
pictures as PNG files per epoch instead, and says so once.
"""

from __future__ import annotations

import csv
import io
import sys
from typing import Any

import numpy as np
from matplotlib.image import imsave

from .rundir import RunFiles

FOLDER = "tensorboard"
GROUPS = {"valid": "valid", "train": "train", "beta": "schedule", "lr": "schedule"}


def tag(key: str) -> str:
    """metrics key -> TensorBoard tag: valid_elbo -> valid/elbo, lr -> schedule/lr."""
    head, _, rest = key.partition("_")
    group = GROUPS.get(head, "other")
    return f"{group}/{rest or head}" if head in ("valid", "train") else f"{group}/{key}"


def numbers(row: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in row.items()
            if k != "epoch" and isinstance(v, int | float) and not isinstance(v, bool)}  # fmt: skip


class TensorBoardLog:
    def __init__(self, files: RunFiles, first_epoch: int) -> None:
        from torch.utils.tensorboard import SummaryWriter

        # purge_step: events at or after the epoch this process starts with are hidden, so
        # a resumed run never shows a step twice
        self.writer = SummaryWriter(str(files.path(FOLDER)), purge_step=first_epoch)

    def write(self, row: dict[str, Any], rows: list[dict[str, Any]],
              pictures: dict[str, np.ndarray]) -> None:  # fmt: skip
        epoch = int(row["epoch"])
        for key, value in numbers(row).items():
            self.writer.add_scalar(tag(key), value, epoch)
        for name, img in pictures.items():  # (H, W) or (H, W, 3) in [0, 1]
            self.writer.add_image(name, img, epoch, dataformats="HWC" if img.ndim == 3 else "HW")
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class CsvLog:
    def __init__(self, files: RunFiles, first_epoch: int) -> None:
        self.files = files
        print("vaekit: note: the tensorboard package is not installed (pip install tensorboard);"
              f" writing {files.path(FOLDER)}/scalars.csv and pictures instead", file=sys.stderr)  # fmt: skip

    def write(self, row: dict[str, Any], rows: list[dict[str, Any]],
              pictures: dict[str, np.ndarray]) -> None:  # fmt: skip
        keys = sorted({k for r in rows for k in numbers(r)})
        buf = io.StringIO()
        out = csv.writer(buf)
        out.writerow(["epoch", *keys])
        for r in rows:
            nums = numbers(r)
            out.writerow([r["epoch"], *(nums.get(k, "") for k in keys)])
        self.files.path(FOLDER).mkdir(exist_ok=True)
        self.files.write(f"{FOLDER}/scalars.csv", buf.getvalue())
        for name, img in pictures.items():
            self.files.draw(f"{FOLDER}/{name}-epoch{int(row['epoch']):04d}.png",
                            lambda p, img=img: imsave(p, img, cmap="gray", vmin=0, vmax=1))  # fmt: skip

    def close(self) -> None:
        pass


def make_epoch_log(files: RunFiles, first_epoch: int) -> TensorBoardLog | CsvLog | None:
    """The log of this process (None where it does not write the run directory)."""
    if not files.writes:
        return None
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return CsvLog(files, first_epoch)
    return TensorBoardLog(files, first_epoch)
