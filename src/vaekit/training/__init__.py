"""Training: settings -> a run directory (``train``), the loop, and everything that keeps a
run safe to stop and continue.

- ``config``: TrainConfig and RunConfig (config.json); ``settings``: flat settings -> RunConfig;
- ``run``: ``train`` — fresh, resumed or finished, refused before anything is touched;
- ``loop``: the step loop; ``epoch_end``: validation, model selection, metrics, pictures,
  summary; ``optim``: Adam/AdamW, schedules, KL warm-up;
- ``checkpoint``, ``stopping``, ``rundir`` (run-directory files; ``RunFiles`` decides who writes).
"""

from __future__ import annotations

from .config import FORMAT_VERSION, RunConfig, TrainConfig
from .loop import Trainer
from .optim import SCHEDULES, make_optimizer, make_schedule, warmup_beta
from .run import build_model, train
from .rundir import Run, RunFiles, load, load_run, read_config, save_model
from .settings import read_toml, run_config, setting_keys

__all__ = [
    "FORMAT_VERSION", "SCHEDULES", "Run", "RunConfig", "RunFiles", "TrainConfig", "Trainer",
    "build_model", "load", "load_run", "make_optimizer", "make_schedule", "read_config",
    "read_toml", "run_config", "save_model", "setting_keys", "train", "warmup_beta",
]  # fmt: skip
