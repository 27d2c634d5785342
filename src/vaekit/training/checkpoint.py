"""Training checkpoints: everything a run needs to continue bit for bit, in one safetensors file.

Tensors (model weights, Adam moments, the trainer's RNG state, the epoch's data order) are
safetensors entries; the rest (position, metrics, schedule) is JSON in the file's metadata.
One file written atomically means a kill at any instant leaves the old or the new
checkpoint, never a torn or a mixed one. Nothing is unpickled.

Training draws every random number from its own generator, so a checkpoint holds that
generator's state and nothing of the process-wide RNGs (torch's, NumPy's, Python's): resuming
leaves them alone. Format 1 files also hold those; they are read and the extra state ignored.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from ..errors import ConfigError, ModelFileError, flag, opt

if TYPE_CHECKING:
    from ..data import Dataset

CHECKPOINT_FILE = "checkpoint.safetensors"
FORMAT = "vaekit-checkpoint-2"
READABLE_FORMATS = ("vaekit-checkpoint-1", FORMAT)


@dataclass
class Position:
    """Where training stands: the next step is step ``step_in_epoch`` of epoch ``epoch``."""

    epoch: int = 1
    step_in_epoch: int = 0
    global_step: int = 0
    best_score: float | None = None
    best_epoch: int = 0
    seconds: float = 0.0  # training wall time before this process
    epoch_seconds: float = 0.0  # of the current epoch, before this process
    metrics: list[dict[str, Any]] = field(default_factory=list)
    processes: int = 1  # data-parallel processes that wrote it (resume under as many)

    def __post_init__(self) -> None:  # read back from a file: check, never trust
        def number(v: Any) -> bool:
            return isinstance(v, int | float) and not isinstance(v, bool)

        for name in ("epoch", "step_in_epoch", "global_step", "best_epoch", "processes"):
            v = getattr(self, name)
            if not (number(v) and isinstance(v, int) and v >= 0):
                raise ValueError(f"position.{name} is {v!r}")
        for name in ("seconds", "epoch_seconds", "best_score"):
            v = getattr(self, name)
            if not (number(v) or (name == "best_score" and v is None)):
                raise ValueError(f"position.{name} is {v!r}")
        if not isinstance(self.metrics, list) or not all(isinstance(r, dict) for r in self.metrics):
            raise ValueError("position.metrics is not a list of rows")


def data_fingerprint(dataset: Dataset) -> str:
    """A digest of the training and validation splits in the model's units (float32, as they
    were held before uint8 data stayed uint8, so older checkpoints still match): resuming on
    other data would not be a resumption."""
    h = hashlib.blake2b(digest_size=16)
    for split in ("train", "valid"):
        a = dataset.held[split]
        h.update(str((a.shape, np.dtype(np.float32).str)).encode())
        for chunk in dataset.chunks(split):
            h.update(np.ascontiguousarray(chunk).data)
        if dataset.conditions is not None:  # a conditional run's c is data too (unconditional
            h.update(np.ascontiguousarray(dataset.conditions[split], np.float32).data)  # as before)
    return h.hexdigest()


def checkpoint_bytes(
    *,
    model: torch.nn.Module,
    opt: torch.optim.Optimizer,
    schedule: Any,
    gen: torch.Generator,
    position: Position,
    perm: torch.Tensor | None,
    loss_sum: torch.Tensor,
    fingerprint: str,
) -> bytes:
    """The checkpoint file's bytes (tensors on the CPU, whatever device they train on)."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    opt_state = opt.state_dict()
    for idx, s in opt_state["state"].items():
        for name, v in s.items():
            tensors[f"optim.{idx}.{name}"] = v.detach().cpu().contiguous()
    tensors["rng.trainer"] = gen.get_state()
    tensors["loss_sum"] = loss_sum.reshape(1).cpu().clone()
    if perm is not None:
        tensors["perm"] = perm.cpu().contiguous()
    meta = {
        "format": FORMAT,
        "fingerprint": fingerprint,
        "position": position.__dict__,
        "param_groups": opt_state["param_groups"],
        "schedule": None if schedule is None else _schedule_state(schedule),
        "rng_device": gen.device.type,  # a generator's state fits only its own kind of device
    }
    return st_save(tensors, metadata={"vaekit": json.dumps(meta)})


def _schedule_state(schedule: Any) -> dict[str, Any]:
    return {k: v for k, v in schedule.state_dict().items() if k != "lr_lambdas"}


@dataclass
class Checkpoint:
    tensors: dict[str, torch.Tensor]
    meta: dict[str, Any]

    @property
    def position(self) -> Position:
        return Position(**self.meta["position"])

    @property
    def perm(self) -> torch.Tensor | None:
        return self.tensors.get("perm")

    @property
    def loss_sum(self) -> torch.Tensor:
        return self.tensors["loss_sum"].reshape(())

    def restore(
        self, model: torch.nn.Module, opt: torch.optim.Optimizer, schedule: Any,
        gen: torch.Generator,
    ) -> bool:  # fmt: skip
        """Put model, optimiser, schedule and the trainer's RNG back where they were; False
        when the checkpoint was taken on another kind of device, whose generator state does
        not fit this one's: the generator is then seeded from the saved state instead (the
        run goes on reproducibly, but not bit-identically to an uninterrupted one)."""
        t = self.tensors
        model.load_state_dict({k[6:]: v for k, v in t.items() if k.startswith("model.")})
        state: dict[int, dict[str, torch.Tensor]] = {}
        for k, v in t.items():
            if k.startswith("optim."):
                _, idx, name = k.split(".", 2)
                state.setdefault(int(idx), {})[name] = v
        opt.load_state_dict({"state": state, "param_groups": self.meta["param_groups"]})
        if schedule is not None and self.meta["schedule"] is not None:
            schedule.load_state_dict(dict(self.meta["schedule"], lr_lambdas=[None]))
        if self.meta.get("rng_device", "cpu") == gen.device.type:
            gen.set_state(t["rng.trainer"])
            return True
        digest = hashlib.blake2b(t["rng.trainer"].numpy().tobytes(), digest_size=8).digest()
        gen.manual_seed(int.from_bytes(digest, "little") >> 1)
        return False


def read_checkpoint(path: Path, fingerprint: str) -> Checkpoint:
    """Read a checkpoint; a corrupt one, or one of other data, is a :class:`ModelFileError`."""
    try:
        raw = path.read_bytes()
        tensors = st_load(raw)
        meta = json.loads(_metadata(raw))
        if not isinstance(meta, dict) or meta.get("format") not in READABLE_FORMATS:
            raise ValueError("not a vaekit checkpoint")
        Position(**meta["position"])  # the fields this version knows
        meta["param_groups"]  # noqa: B018 (KeyError if absent)
        tensors["rng.trainer"]  # noqa: B018
    except (OSError, SafetensorError, ValueError, KeyError, TypeError) as e:
        raise ModelFileError(
            f"{path} is corrupt or truncated ({e}); delete it to restart the run from scratch "
            f"(or pass {flag('overwrite')})"
        ) from None
    if meta.get("fingerprint") != fingerprint:
        raise ModelFileError(
            f"{path} was written while training on other data; pass {flag('overwrite')} to restart "
            "the run on this data"
        )
    return Checkpoint(tensors, meta)


def _metadata(raw: bytes) -> str:
    """The JSON metadata of a safetensors blob (an 8-byte header length, then the header)."""
    n = int.from_bytes(raw[:8], "little")
    if n <= 0 or 8 + n > len(raw):
        raise ValueError("bad safetensors header")
    header = json.loads(raw[8 : 8 + n])
    return header["__metadata__"]["vaekit"]


DEFAULT_CHECKPOINT_EVERY = "60s"


class Every:
    """When to checkpoint besides the end of each epoch: every N steps or every S seconds."""

    def __init__(self, steps: int | None = None, seconds: float | None = None) -> None:
        self.steps, self.seconds = steps, seconds
        self.reset(0)

    def reset(self, step: int) -> None:
        self._last_step, self._last_time = step, time.monotonic()

    def due(self, step: int) -> bool:
        if self.steps is not None and step - self._last_step >= self.steps:
            return True
        return self.seconds is not None and time.monotonic() - self._last_time >= self.seconds


def parse_every(value: str | int | None) -> Every:
    """'500' (steps), '30s', '5m' (wall time), or None/'epoch' (end of epochs only)."""
    if value is None or value == "epoch":
        return Every()
    text = str(value).strip().lower()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(s|m|min)?", text)
    if m is None or float(m.group(1)) <= 0 or (m.group(2) is None and "." in m.group(1)):
        raise ConfigError(
            f"{opt('checkpoint_every')} must be a number of steps (500) or of seconds or minutes "
            f"(30s, 5m), got {value!r}"
        )
    number, unit = float(m.group(1)), m.group(2)
    if unit is None:
        return Every(steps=int(number))
    return Every(seconds=number * (60 if unit.startswith("m") else 1))
