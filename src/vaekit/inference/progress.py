"""Progress of a long importance-sampled evaluation, on disk, so that an interrupted one
continues where it stopped and ends with the numbers an uninterrupted one gives.

IS-5000 of 10,000 images with a convolutional decoder takes hours on a CPU. After each batch
of examples the per-example estimates so far and the state of the repeat's generator are
kept; every ``every`` seconds (and on Ctrl-C) they are written, atomically, as one
safetensors file. Resuming restores the estimates and the generator and goes on with the next
batch, so the draws are the very ones an uninterrupted run makes. The file names what it
belongs to (``key``: the weights, the data, the settings and the batch rows); a file with
another key is not used. It also keeps the seconds spent so far (up to the last save), so the
time an evaluation reports is its whole cost, not its last sitting's. It is deleted when the
evaluation finishes; one of an evaluation that is never rerun stays, and may be deleted by
hand.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import Tensor

FORMAT = "vaekit-is-progress-1"


def evaluation_key(*parts: object, arrays: tuple[np.ndarray, ...] = ()) -> str:
    """A digest of what an evaluation's numbers depend on: settings (the weights' digest
    among them) and the bytes of the data."""
    h = hashlib.blake2b(repr(parts).encode(), digest_size=16)
    for a in arrays:
        h.update(np.ascontiguousarray(a).data)
    return h.hexdigest()


class Progress:
    """Finished batches of each IS repeat: (rows,) float64 estimates and the generator's
    state after the last of them."""

    def __init__(self, path: str | os.PathLike, key: str, every: float = 30.0) -> None:
        self.path, self.key, self.every = Path(path), key, every
        self.values: dict[int, Tensor] = {}  # repeat -> (rows done,) float64
        self.states: dict[int, Tensor] = {}  # repeat -> generator state after those rows
        self.restored_rows = 0  # summed over repeats, as found on disk
        self.earlier_seconds = 0.0  # spent by earlier sittings, up to their last save
        self._saved = self._started = time.monotonic()
        self._load()

    def _load(self) -> None:
        if not self.path.is_file():
            return
        try:
            with safe_open(self.path, "pt") as f:
                meta = f.metadata() or {}
            if meta.get("format") != FORMAT or meta.get("key") != self.key:
                return  # another evaluation's: ignored, replaced at the next save
            tensors = load_file(self.path)
        except (OSError, SafetensorError):
            return  # unreadable: started afresh (writes are atomic, so not from a crash)
        self.earlier_seconds = _seconds(meta.get("seconds"))
        for name, t in tensors.items():
            kind, r = name.split(".")
            (self.values if kind == "values" else self.states)[int(r)] = t
        self.restored_rows = sum(int(v.numel()) for v in self.values.values())

    def resume(self, repeat: int) -> tuple[Tensor | None, Tensor | None]:
        """(estimates done, generator state after them) of ``repeat``, or (None, None)."""
        return self.values.get(repeat), self.states.get(repeat)

    def record(self, repeat: int, values: Tensor, gen_state: Tensor) -> None:
        done = self.values.get(repeat)
        v = values.detach().to("cpu", torch.float64)
        both = (v if done is None else torch.cat([done, v]), gen_state.detach().cpu().clone())
        self.values[repeat], self.states[repeat] = both  # together: a save never mixes them
        if time.monotonic() - self._saved >= self.every:
            self.save()

    @property
    def seconds(self) -> float:
        """Seconds this evaluation has taken: earlier sittings' and this one's so far."""
        return self.earlier_seconds + time.monotonic() - self._started

    def save(self) -> None:
        if not self.values:
            return
        tensors = {f"values.{r}": v.contiguous() for r, v in self.values.items()}
        tensors |= {f"state.{r}": s.contiguous() for r, s in self.states.items()}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
        os.close(fd)
        try:
            meta = {"format": FORMAT, "key": self.key, "seconds": repr(self.seconds)}
            save_file(tensors, tmp, metadata=meta)
            os.replace(tmp, self.path)
        finally:
            Path(tmp).unlink(missing_ok=True)
        self._saved = time.monotonic()

    def finish(self) -> None:
        self.path.unlink(missing_ok=True)


def _seconds(text: str | None) -> float:
    """The seconds a progress file records, or 0 where it has none (older files) or a
    malformed one: the time is a report, and never worth the estimates it sits beside."""
    try:
        seconds = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return seconds if math.isfinite(seconds) and seconds >= 0 else 0.0
