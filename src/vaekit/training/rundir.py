"""Run directories: config.json + model.safetensors + metrics.jsonl, reloaded with one call.

Nothing here unpickles: weights are safetensors, everything else is JSON. Every file is written
atomically (temporary file, fsync, rename), so a kill at any instant leaves the old or the new
file, never a torn one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from ..data.transform import Transform
from ..errors import ConfigError, ModelFileError, RunDirError
from ..models import VAE
from ..runtime import is_main_process
from .config import RunConfig

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
METRICS_FILE = "metrics.jsonl"
SUMMARY_FILE = "summary.json"


def atomic_write(path: str | os.PathLike, data: bytes | str) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new file, never a mix."""
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # as open() would make it, not mkstemp's 0600
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


@functools.cache
def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it: put it straight back
    os.umask(mask)
    return mask


class RunFiles:
    """The files of one run directory as training writes them: atomically, and only from the
    main process. Every file a training run writes goes through here, so "who writes" is
    decided in this one place (``writes=False`` on the other ranks of a multi-process run)."""

    def __init__(self, root: Path, writes: bool | None = None) -> None:
        self.root = Path(root)
        self.writes = is_main_process() if writes is None else writes

    def path(self, name: str) -> Path:
        return self.root / name

    def exists(self, name: str) -> bool:
        return (self.root / name).exists()

    def write(self, name: str, data: bytes | str) -> None:
        if self.writes:
            atomic_write(self.root / name, data)

    def remove(self, *names: str) -> None:
        if self.writes:
            for name in names:
                (self.root / name).unlink(missing_ok=True)

    def draw(self, name: str, draw: Callable[[Path], None]) -> None:
        """Let ``draw`` write a picture to its path (pictures come from matplotlib)."""
        if self.writes:
            draw(self.root / name)


LOCK_FILE = ".vaekit.lock"


@contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``run_dir`` (released by the OS even on SIGKILL)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, as before
        yield
        return
    fd = os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunDirError(
                f"another vaekit process is training in {run_dir}; wait for it to finish or "
                "stop it (its checkpoint lets this command continue afterwards)"
            ) from None
        yield
    finally:
        os.close(fd)


def _fsync_dir(d: Path) -> None:
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def weights_bytes(model: VAE) -> bytes:
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    return st_save(state, metadata={"format": "vaekit"})


def save_model(model: VAE, run_dir: str | os.PathLike) -> None:
    """Write config.json (model part from ``model.config`` if no run config exists) and weights."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if not (run_dir / CONFIG_FILE).exists():
        atomic_write(run_dir / CONFIG_FILE, RunConfig(model=model.config).to_json())
    atomic_write(run_dir / WEIGHTS_FILE, weights_bytes(model))


BASELINE_KIND = "baseline"  # config.json's "kind" of a finite mixture's run (training.baseline)


def _kind(config_text: str) -> str | None:
    """config.json's "kind" (None for a VAE's, which has none, or for unreadable text)."""
    try:
        d = json.loads(config_text)
    except ValueError:
        return None
    return d.get("kind") if isinstance(d, dict) else None


def config_kind(run_dir: str | os.PathLike) -> str | None:
    try:
        return _kind((Path(run_dir) / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None


def weights_digest(run_dir: str | os.PathLike) -> str:
    """A digest of a run's weights file: what its thresholds and evaluation progress belong to."""
    return hashlib.blake2b(_run_file(run_dir, WEIGHTS_FILE).read_bytes(),
                           digest_size=16).hexdigest()  # fmt: skip


def read_config(run_dir: str | os.PathLike) -> RunConfig:
    path = _run_file(run_dir, CONFIG_FILE)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ModelFileError(f"cannot read {path}: {e}") from None
    if _kind(text) == BASELINE_KIND:
        raise RunDirError(f"{run_dir} is a baseline run (a finite mixture): evaluate, sample and "
                          "score take it; this needs a VAE's run directory")  # fmt: skip
    try:
        return RunConfig.from_json(text)
    except ConfigError as e:
        raise ModelFileError(f"{path} is invalid: {e}") from None


def _run_file(run_dir: str | os.PathLike, name: str) -> Path:
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise RunDirError(f"run directory {run_dir} does not exist")
    if not run_dir.is_dir():
        raise RunDirError(f"{run_dir} is not a directory (expected a run directory)")
    path = run_dir / name
    if not path.is_file():
        raise RunDirError(f"{run_dir} is not a complete run directory: {name} is missing")
    return path


def load_weights(model: VAE, path: Path) -> None:
    try:
        state = st_load(path.read_bytes())
    except (SafetensorError, OSError, ValueError) as e:
        raise ModelFileError(
            f"{path} is corrupt or truncated ({e}); retrain or restore it"
        ) from None
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise ModelFileError(
            f"{path} does not match config.json (missing: {missing[:3]}, unexpected: {unexpected[:3]})"
        )
    for k, v in state.items():
        if v.shape != own[k].shape:
            raise ModelFileError(
                f"{path}: weight {k} has shape {tuple(v.shape)} but config.json implies "
                f"{tuple(own[k].shape)}"
            )
        if v.is_floating_point() and not torch.isfinite(v).all():
            raise ModelFileError(f"{path}: weight {k} holds NaN or Inf")
    model.load_state_dict(state)


def read_metrics(run_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """The rows of metrics.jsonl. Only a torn last line (a crash mid-write, before writes were
    atomic) is dropped; a bad line anywhere else is a :class:`ModelFileError`."""
    path = Path(run_dir) / METRICS_FILE
    if not path.is_file():
        return []
    try:
        lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    except (OSError, UnicodeDecodeError) as e:
        raise ModelFileError(f"cannot read {path}: {e}") from None
    rows = []
    for i, line in enumerate(lines, 1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            if i == len(lines):
                break
            raise ModelFileError(
                f"{path} line {i} is not JSON; the file is damaged (restore it or retrain)"
            ) from None
        if not isinstance(row, dict):
            raise ModelFileError(f"{path} line {i} is not a JSON object")
        rows.append(row)
    return rows


def read_summary(run_dir: str | os.PathLike) -> dict[str, Any] | None:
    """summary.json (None for a run that has not finished); damaged is a ModelFileError."""
    path = Path(run_dir) / SUMMARY_FILE
    if not path.is_file():
        return None
    advice = ("the weights in model.safetensors are intact: move summary.json aside to load them "
              "(rerunning training in this directory would then start afresh)")  # fmt: skip
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFileError(f"{path} is damaged ({e}); {advice}") from None
    if not isinstance(summary, dict):
        raise ModelFileError(f"{path} is not a JSON object; {advice}")
    return summary


@dataclass
class Run:
    """A trained model with its configuration and training history."""

    run_dir: Path
    config: RunConfig
    model: VAE
    metrics: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    interrupted: bool = False
    already_finished: bool = False  # train() found it finished and did nothing

    @property
    def transform(self) -> Transform | None:
        """The preprocessing the model's data went through (for ``vaekit.evaluate``)."""
        t = self.config.data.transform
        return None if t is None else Transform.from_dict(t)


def load_run(run_dir: str | os.PathLike) -> Run:
    config = read_config(run_dir)
    # Initial weights, overwritten below: drawn without touching the caller's RNG, on an
    # explicit device (not the default one a caller's torch.device context sets).
    with torch.random.fork_rng(devices=[]), torch.device("cpu"):
        model = VAE(config.model)
    load_weights(model, _run_file(run_dir, WEIGHTS_FILE))
    model.eval()
    summary = read_summary(run_dir)
    interrupted = bool(summary and summary.get("interrupted"))
    return Run(Path(run_dir), config, model, read_metrics(run_dir), summary, interrupted)


def load(run_dir: str | os.PathLike) -> VAE:
    """The trained model of a run directory, in eval mode; ``model.config`` holds its settings."""
    return load_run(run_dir).model
