"""``vaekit train``: its options are the settings dataclasses' (see ``options``)."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..data import DataConfig
from ..inference import make_objective
from ..launcher_env import launcher_rank
from ..models import ModelConfig
from ..runtime import DEVICE_HELP
from ..training import TrainConfig
from ..training import train as train_run
from ..training.checkpoint import DEFAULT_CHECKPOINT_EVERY
from ..training.run import DEFAULT_OUT
from .app import EXIT_INTERRUPTED
from .launch import check_processes, launch, per_process_threads
from .options import given, options_from


@click.command()
@options_from(DataConfig, ModelConfig, TrainConfig)
@click.option("--out", type=click.Path(), help=f"Run directory to write (default {DEFAULT_OUT}).")
@click.option("--config", "config_file", type=click.Path(), help="TOML file of these settings.")
@click.option("--overwrite", is_flag=True, help="Replace a run with other settings in --out.")
@click.option("--resume", is_flag=True,
              help="Continue the stopped run in --out with its own settings.")  # fmt: skip
@click.option("--checkpoint-every", default=DEFAULT_CHECKPOINT_EVERY, show_default=True,
              help="Checkpoint every N steps (500) or every S seconds (30s, 5m), besides each "
              "epoch's end and on Ctrl-C/SIGTERM.")  # fmt: skip
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--threads", type=int, help="CPU threads for torch (default: the cores it sees, "
              "shared out among --processes).")  # fmt: skip
@click.option("--device", default="auto", show_default=True,
              help=f"Where to train: {DEVICE_HELP}.")  # fmt: skip
@click.option("--compile", "compile_", is_flag=True,
              help="Compile the networks with torch.compile (seconds to start; measured no "
              "faster on a 2-core CPU: docs/benchmarks.md).")  # fmt: skip
@click.option("--processes", type=int, default=1, show_default=True,
              help="Train data-parallel in N processes on this machine (torch.distributed); "
              "for several machines use torchrun (docs/scaling.md).")  # fmt: skip
@click.option("--tensorboard", is_flag=True,
              help="Log each epoch's metrics, samples and reconstructions for TensorBoard in "
              "RUN/tensorboard (give it again when resuming).")  # fmt: skip
@click.pass_obj
def train(obj: dict[str, Any] | None, config_file: str | None, overwrite: bool, resume: bool,
          checkpoint_every: str, quiet: bool, threads: int | None, processes: int,
          tensorboard: bool, device: str, compile_: bool, **options: Any) -> None:  # fmt: skip
    """Train a VAE and write its run directory; rerun the same command to continue it."""
    if check_processes(processes):
        argv = (obj or {}).get("argv") or sys.argv[1:]
        if threads is None:
            argv = [*argv, "--threads", str(per_process_threads(processes))]
        sys.exit(launch(processes, argv))
    settings = given(options)
    run = train_run(config=config_file, overwrite=overwrite, resume=resume, checkpoint_every=checkpoint_every,
                    quiet=quiet, threads=threads, tensorboard=tensorboard, device=device,
                    compile=compile_, **settings)  # fmt: skip
    s = run.summary or {}
    if launcher_rank() > 0:  # one of several data-parallel processes: the first one speaks
        if run.interrupted:
            sys.exit(EXIT_INTERRUPTED)
        return
    if run.already_finished:
        click.echo(f"{run.run_dir} already holds this finished run ({s.get('epochs_run', 0)} "
                   "epochs): nothing to do; add --resume --epochs N to continue it for longer")  # fmt: skip
        return
    best = s.get("best_valid_score")
    label = make_objective(run.config.train).bound_label
    click.echo(
        f"{'interrupted' if run.interrupted else 'trained'}: {s.get('epochs_run', 0)} epoch(s) in "
        f"{s.get('seconds', 0):.1f} s; best validation {label} "
        f"{'n/a' if best is None else f'{best:.2f}'} nats at epoch {s.get('best_epoch')}\n"
        f"run directory: {run.run_dir} (model.safetensors, config.json, metrics.jsonl, "
        "samples.png, reconstructions.png)"
    )
    if run.interrupted:
        click.echo("checkpoint saved: rerun the same command (or add --resume) to continue",
                   err=True)  # fmt: skip
        sys.exit(EXIT_INTERRUPTED)
