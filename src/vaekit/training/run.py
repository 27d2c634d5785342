"""``vaekit.train``: settings -> run directory, fresh, resumed or already finished.

The loop itself is :mod:`.loop`; this module decides what a run directory holds and refuses,
before touching it, anything that would mix two runs.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from ..configuration import quiet_from
from ..data import Dataset, canonical_name, from_memory, load_dataset, locate
from ..data.transform import Transform
from ..errors import ConfigError, RunDirError, VaekitError, flag, opt, render
from ..models import VAE
from ..runtime import (
    agree,
    all_sum,
    check_compiler,
    compile_networks,
    entry_point,
    rank_and_size,
    resolve_device,
    use_threads,
)
from .checkpoint import (
    CHECKPOINT_FILE,
    DEFAULT_CHECKPOINT_EVERY,
    data_fingerprint,
    parse_every,
    read_checkpoint,
)
from .conditioning import conditioned
from .config import GROWABLE, RunConfig
from .loop import Trainer
from .rundir import (
    CONFIG_FILE,
    METRICS_FILE,
    SUMMARY_FILE,
    WEIGHTS_FILE,
    Run,
    RunFiles,
    load_run,
    load_weights,
    read_config,
    read_summary,
    run_lock,
)  # fmt: skip
from .settings import data_config, flat_settings, read_toml, run_config

DEFAULT_OUT = "runs/latest"


def build_model(config: RunConfig) -> VAE:
    """Initial weights: the seed's (not the caller's global RNG), or those of ``init_from``."""
    # On an explicit device, not the default one (which a caller's torch.device context sets).
    with torch.random.fork_rng(devices=[]), torch.device("cpu"):
        torch.manual_seed(config.train.seed)
        model = VAE(config.model)
    if config.train.init_from is not None:
        src = Path(config.train.init_from)
        other = read_config(src).model
        if other != config.model:
            here = config.model.to_dict()
            diff = ", ".join(
                f"{name} {v!r} there, {here[name]!r} here"
                for name, v in other.to_dict().items()
                if v != here[name]
            )
            raise ConfigError(
                f"{opt('init_from', src)} holds a model of another shape or likelihood ({diff}); "
                "give this run the same model settings"
            )
        load_weights(model, src / WEIGHTS_FILE)
    return model


FRESH, RESUME, FINISHED = "fresh", "resume", "finished"


def _writable_dir(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise RunDirError(f"{opt('out', out)} is a file, not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".vaekit-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise RunDirError(f"cannot write to run directory {out}: {e.strerror or e}") from None


def _finished(out: Path) -> bool:
    """A summary that does not say "interrupted" (a stopped run's summary does)."""
    if not (out / SUMMARY_FILE).exists():
        return False
    summary = read_summary(out)
    return not (summary or {}).get("interrupted", False)


def _dir_state(out: Path, config: RunConfig, overwrite: bool, growing: bool = False) -> str:
    """What ``out`` holds: this run finished, this run to resume, or nothing to keep."""
    if (out / CONFIG_FILE).exists() and not overwrite:
        try:
            differ = read_config(out).differences(config, growing)
        except RunDirError as e:  # config.json unreadable: say so, not "other settings"
            raise RunDirError(
                f"{e}; pass {flag('overwrite')} to replace the run in {out} or choose another {opt('out')}"
            ) from None
        if differ:
            grow = all(d.split(" ")[0] in {".".join(g) for g in GROWABLE} for d in differ)
            hint = f"; to continue this run for longer, add {flag('resume')}" if grow else ""
            raise RunDirError(
                f"{out} already holds a run with other settings ({'; '.join(differ)}); pass "
                f"{flag('overwrite')} to replace it or choose another {opt('out')}{hint}"
            )
        if _finished(out):
            return FINISHED
        if (out / CHECKPOINT_FILE).exists():
            return RESUME
    return FRESH


def _check_processes(config: RunConfig, dataset: Dataset, fingerprint: str) -> None:
    """Data-parallel processes must train one run: the same settings and data, and at least
    one training example each. A disagreement is refused by every process alike."""
    rank, size = rank_and_size()
    if size == 1:
        return
    mine = config.to_json() + fingerprint
    differ = torch.tensor([float(agree(mine) != mine)], dtype=torch.float64, device="cpu")
    if all_sum(differ)[0] > 0:
        raise ConfigError(f"the {size} processes were started with different settings or data "
                          "(config.json and the data's digest differ); start them with one "
                          "command")  # fmt: skip
    n = dataset.size("train")
    if size > n:
        raise ConfigError(f"{size} processes for {n} training example(s): each process needs "
                          "at least one; use fewer processes")  # fmt: skip


def _agreed_state(files: RunFiles, out: Path, config: RunConfig, overwrite: bool, resume: bool
                  ) -> tuple[str | None, bool, VaekitError | None]:  # fmt: skip
    """(state of ``out``, whether the run grows, the refusal if any), read by the main process
    and agreed by all: data-parallel processes must not each read a directory that the main
    one is about to write."""
    state, grown, refused = None, False, None
    if files.writes:
        try:
            state = _dir_state(out, config, overwrite, growing=resume)
            grown = resume and read_config(out).train != config.train
        except VaekitError as e:
            refused = e
    state, grown, said = agree((state, grown, None if refused is None else str(refused)))
    if refused is None and said is not None:  # the main process's refusal, as one line
        refused = RunDirError(said)
    return state, grown, refused


def _resume_config(
    out: Path, settings: dict[str, Any], dataset: Dataset | None
) -> tuple[RunConfig, Dataset]:
    """--resume: the settings are the run's own; any given must agree with config.json.

    ``--data-dir`` only says where to find the data now; it is not a setting of the run.
    """
    if not (out / CONFIG_FILE).exists():
        raise RunDirError(f"nothing to resume in {out}: it holds no config.json")
    saved = read_config(out)
    data_dir, moved = settings.get("data_dir"), settings.get("data")
    where, same = locate(saved.data, None if moved is None else str(moved))
    if settings.get("lazy") is not None:  # how to read the data now, not a setting of the run
        where = replace(where, lazy=bool(settings["lazy"]))
    if dataset is None:
        where = where if data_dir is None else replace(where, data_dir=str(data_dir))
        dataset = load_dataset(where)
    # --data-dir says where built-in data lives now, and --data where a moved file is: not
    # settings, as long as the file is the run's own (the checkpoint checks that too).
    location = {"data_dir"} | ({"data"} if same else set())
    given = {k: v for k, v in settings.items() if v is not None and k not in location}
    if given:  # the run's own settings, with the given ones on top, must be the run's
        mine, _ = run_config({**flat_settings(saved), **given}, dataset,
                             preprocess=saved.format_version > 1)  # fmt: skip
        differ = saved.differences(mine, growing=True)
        grown = {f: getattr(mine.train, f) for s, f in GROWABLE if s == "train"}
        saved = replace(saved, train=replace(saved.train, **grown))
        if differ:
            raise RunDirError(
                f"{opt('resume')} continues {out} with its own settings (config.json); these "
                f"differ: {'; '.join(differ)}; drop the other options or pass {flag('overwrite')} "
                "to start again"
            )
    return saved, dataset


def _in_memory(
    settings: dict[str, Any], dataset: Dataset | None
) -> tuple[dict[str, Any], Dataset | None]:
    """``data=`` an array, a dict of arrays or a Dataset (or ``dataset=``): the Dataset, and
    its name as the ``data`` setting, so the run records what it was trained on."""
    data = settings.get("data")
    if dataset is None and data is not None and not isinstance(data, str | os.PathLike):
        without = {k: v for k, v in settings.items() if k != "data"}
        dataset = from_memory(data, data_config(without))
    elif dataset is not None:
        dataset = from_memory(dataset, data_config(settings))
    if dataset is not None:
        settings = {**settings, "data": dataset.name}
    return settings, dataset


def _format1(out: Path, settings: dict[str, Any], overwrite: bool) -> dict[str, Any] | None:
    """The settings that the same command means for a run written before format 2, or None
    if ``out`` holds no such run. Those runs carved their splits with the training seed and
    trained on raw values (no preprocessing)."""
    if overwrite or not (out / CONFIG_FILE).is_file():
        return None
    try:
        saved = read_config(out)
    except RunDirError:
        return None  # reported, with its reason, when the directory's state is read
    if saved.format_version != 1:
        return None
    if settings.get("split_seed") is None and saved.data.split_seed == (settings.get("seed") or 0):
        settings = {**settings, "split_seed": saved.data.split_seed}
    if settings.get("epochs") is None:  # their default was 50 epochs, whatever the data
        settings = {**settings, "epochs": 50}
    given = settings.get("data")  # they recorded a file as given; the same file is the same data
    if given is not None and canonical_name(str(given)) == canonical_name(saved.data.name):
        settings = {**settings, "data": saved.data.name}
    return settings


@entry_point
def train(
    *,
    out: str | os.PathLike | None = None,
    config: str | os.PathLike | None = None,
    dataset: Dataset | None = None,
    overwrite: bool = False,
    resume: bool = False,
    checkpoint_every: str | int | None = DEFAULT_CHECKPOINT_EVERY,
    quiet: bool = False,
    threads: int | None = None,
    tensorboard: bool = False,
    device: str = "auto",
    compile: bool = False,  # noqa: A002 - the command line's --compile
    **settings: Any,
) -> Run:
    """Train a VAE and write its run directory; returns the run with its best model loaded.

    ``settings`` are the command line's options by their Python names (``epochs=10``,
    ``latent_dim=20``, ``hidden="200,200"``, ``likelihood="bernoulli"``, ``data="digits"``…),
    on top of those of a TOML file ``config`` if given (as ``--config``).
    A run directory holding the same settings and a checkpoint is continued where it stopped
    (``resume=True`` insists on that and may omit the settings); a finished one is returned
    as it is. ``threads`` sets torch's threads for the process (default: as they are, which
    is the cores torch sees); ``quiet=True`` hides the progress bar and notes;
    ``tensorboard=True`` logs each epoch for TensorBoard in ``out/tensorboard`` (also when
    resuming: pass it again). ``device`` is where it trains (``auto``: a GPU if there is one,
    else the CPU; a checkpoint resumes on any device); ``compile=True`` compiles the networks
    with ``torch.compile`` (docs/benchmarks.md says when it pays). Neither is a setting of the
    run: the summary records both.
    """
    quiet = quiet_from(settings, quiet)
    settings = {**(read_toml(config) if config is not None else {}), **settings}
    n_threads = use_threads(threads)  # process-wide, like the CLI's --threads
    on = resolve_device(device)  # refused in one line before anything is read or written
    if compile:
        check_compiler(on)
    out = Path(out or settings.pop("out", None) or DEFAULT_OUT)
    settings.pop("out", None)
    every = parse_every(checkpoint_every)
    if resume and overwrite:
        raise ConfigError(
            f"{opt('resume')} and {opt('overwrite')} contradict each other; choose one"
        )
    notes: list[str] = []
    if resume:
        config, dataset = _resume_config(out, settings, dataset)
    else:
        legacy = _format1(out, settings, overwrite)
        settings = settings if legacy is None else legacy
        settings, dataset = _in_memory(settings, dataset)
        dataset = dataset or load_dataset(data_config(settings))
        config, notes = run_config(settings, dataset, preprocess=legacy is None)
    transform = config.data.transform
    dataset = dataset.with_transform(Transform.from_dict(transform) if transform else None)
    dataset = conditioned(dataset, config.model)  # c beside x in a conditional model's inputs
    fingerprint = data_fingerprint(dataset)  # one pass over the data: checks and checkpoints
    _check_processes(config, dataset, fingerprint)
    model = build_model(config).to(on)  # before touching the run directory: --init-from may fail
    if compile:
        compile_networks(model)
    model.likelihood.check_dataset(dataset)
    files = RunFiles(out)  # decides whether this process writes (only the main one does)
    if files.writes:
        _writable_dir(out)
    # Two processes training one directory would interleave checkpoints.
    with run_lock(out) if files.writes else contextlib.nullcontext():
        # the main process reads the directory; the others (data-parallel) are told
        state, grown, refused = _agreed_state(files, out, config, overwrite, resume)
        if refused is not None:
            raise refused
        if state == FINISHED and not grown:
            run = load_run(out)
            run.already_finished = True
            return run
        if resume and not (out / CHECKPOINT_FILE).exists():
            raise RunDirError(
                f"nothing to resume in {out}: it holds no checkpoint"
                + (" (it finished before vaekit kept a finished run's final state; start a "
                   f"new run from its weights with {opt('init_from')})" if state == FINISHED else "")
            )  # fmt: skip
        if not quiet and files.writes:  # said once the run is sure to start (one line if not)
            lines = [
                f"{n_threads} thread(s) ({opt('threads', 'N')} to change)",
                *(f"note: {n}" for n in notes),
            ]
            print("".join(f"vaekit: {render(line)}\n" for line in lines), end="", file=sys.stderr)
        trainer = Trainer(config, dataset, files, quiet, model, fingerprint, every, tensorboard,
                          compiled=compile)  # fmt: skip
        if state in (RESUME, FINISHED):
            trainer.resume(read_checkpoint(out / CHECKPOINT_FILE, trainer.fingerprint))
            if grown:
                trainer.grow(read_config(out).train)
                files.write(CONFIG_FILE, config.to_json())  # the run's new length, recorded
        else:
            files.remove(METRICS_FILE, SUMMARY_FILE, CHECKPOINT_FILE, WEIGHTS_FILE)
            files.write(CONFIG_FILE, config.to_json())
        return trainer.run()
