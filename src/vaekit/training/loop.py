"""The training loop: minibatch stochastic gradient ascent on an objective, checkpointed.

The default path is the fast path (no benchmark mode): data stay in one in-memory tensor and
batches are taken by permuted indexing (no DataLoader), Adam uses the fused kernel where torch
has it. The loop can stop at any step and continue bit for bit from its checkpoint. What
happens between epochs lives in :mod:`.epoch_end`; every file goes through :class:`RunFiles`.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from typing import Any

import torch
from tqdm.auto import tqdm

from ..data import Dataset
from ..errors import ConfigError, ModelFileError, NumericalError, RunDirError, flag, opt
from ..inference import make_objective
from ..models import VAE
from ..models.posterior import noise_window
from ..runtime import agree, all_sum, rank_and_size, uncompile_networks
from ..runtime.precision import autocast, resolve_precision
from .checkpoint import (
    CHECKPOINT_FILE,
    Checkpoint,
    Every,
    Position,
    checkpoint_bytes,
)
from .config import RunConfig, TrainConfig
from .epoch_end import (
    ModelSelection,
    epoch_pictures,
    summary,
    validation_row,
    write_metrics,
    write_pictures,
    write_summary,
)
from .epoch_log import CsvLog, TensorBoardLog, make_epoch_log
from .optim import make_optimizer, make_schedule, warmup_beta
from .rundir import WEIGHTS_FILE, Run, RunFiles, load_run, weights_bytes
from .stopping import StopRequests


class _Stopped(Exception):
    """A stop signal arrived; the checkpoint is written."""


class Trainer:
    def __init__(
        self, config: RunConfig, dataset: Dataset, files: RunFiles, quiet: bool, model: VAE,
        fingerprint: str, every: Every | None = None, tensorboard: bool = False,
        compiled: bool = False,
    ) -> None:  # fmt: skip
        self.config, self.dataset, self.files, self.quiet = config, dataset, files, quiet
        self.tensorboard, self.compiled = tensorboard, compiled
        self.precision = resolve_precision(config.train.precision, model.device)
        self.rank, self.world = rank_and_size()  # data-parallel under torchrun: see _shard
        if self.world > 1 and config.train.free_bits:
            raise ConfigError(f"{opt('free_bits')} clamps a batch's mean KL per dimension, which "
                              "no shard of the batch knows: train it in one process")  # fmt: skip
        self.epoch_log: TensorBoardLog | CsvLog | None = None
        self.model = model
        tc = config.train
        self.objective = make_objective(tc)
        self.selection = ModelSelection(files, self.objective.selected_by)
        self.device = model.device  # data, noise and accumulators follow the model
        # Rows stay as held (uint8 for 8-bit or binary data, or on disk) and become float32 a
        # batch at a time, for training and for validation alike.
        self.take_train = dataset.batches_from("train", self.device)  # idx -> (B, D) float32
        self.n_train = dataset.size("train")
        self.x_valid = dataset.reader("valid", self.device)
        self.fingerprint = fingerprint  # the data's digest: a resume must find the same
        self.steps_per_epoch = math.ceil(self.n_train / tc.batch_size)
        self.opt = make_optimizer(self.model, tc.lr, tc.weight_decay)
        self.schedule = make_schedule(self.opt, tc.lr_schedule, tc.epochs * self.steps_per_epoch)
        self.gen = torch.Generator(device=self.device).manual_seed(tc.seed)
        self.every = every or Every()
        self.pos = Position(processes=self.world)
        self.perm: torch.Tensor | None = None  # (N,) this epoch's data order
        self.loss_sum = self._zero()
        self.stops = StopRequests()
        self.pending: dict[str, Any] = {}  # fields for the next metrics row
        self.stopped_early = False

    def _zero(self) -> torch.Tensor:
        return torch.zeros((), dtype=torch.float64, device=self.device)

    def resume(self, ckpt: Checkpoint) -> None:
        try:
            same_stream = ckpt.restore(self.model, self.opt, self.schedule, self.gen)
        except (RuntimeError, KeyError, ValueError, TypeError) as e:
            raise ModelFileError(
                f"{self.files.path(CHECKPOINT_FILE)} does not fit this run ({e}); delete it or "
                f"pass {flag('overwrite')} to start again"
            ) from None
        self.pos, self.loss_sum = ckpt.position, ckpt.loss_sum.to(self.device)
        if self.pos.processes != self.world:
            raise RunDirError(
                f"{self.files.root} was checkpointed by {self.pos.processes} process(es); resume it "
                "with as many processes, or pass "
                f"{flag('overwrite')} to start again"
            )
        self.perm = None if ckpt.perm is None else ckpt.perm.to(self.device)
        if not same_stream and not self.quiet and self.files.writes:
            print(f"vaekit: note: resumed on {self.device.type} from a checkpoint taken on "
                  f"{ckpt.meta.get('rng_device')}: the noise continues from a seed drawn from the "
                  "saved state, so the run is reproducible but not bit-identical to one that "
                  "never moved", file=sys.stderr)  # fmt: skip

    def grow(self, before: TrainConfig) -> None:
        """Continue a resumed run past the length it had (``before``): the schedule is built
        for the new length (done in __init__, its step count restored by ``resume``), and the
        next metrics row says so. A cosine schedule then follows the new, longer curve from
        the current step: its learning rate, near 0 at the old end, rises to that curve."""
        done = self.pos.epoch - 1
        if self.config.train.epochs < done:
            raise ConfigError(
                f"{self.files.root} has already trained {done} epochs; {opt('epochs')} must be at "
                f"least that to continue it"
            )
        self.pending = {"grown_from_epochs": before.epochs, "epochs": self.config.train.epochs}

    def run(self) -> Run:
        tc = self.config.train
        self.run_t0 = time.perf_counter() - self.pos.seconds
        interrupted = False
        bar = tqdm(total=tc.epochs * self.steps_per_epoch, initial=self.pos.global_step,
                   desc="training", unit="step", disable=self.quiet or self.rank > 0,
                   dynamic_ncols=True)  # fmt: skip
        if self.tensorboard and self.pos.epoch <= tc.epochs:  # from the epoch this process writes
            self.epoch_log = make_epoch_log(self.files, self.pos.epoch)
        with self.stops:
            try:
                while self.pos.epoch <= tc.epochs and not self._out_of_patience():
                    self._steps(bar)
                    self._end_epoch(bar)
            except (_Stopped, KeyboardInterrupt):  # KeyboardInterrupt: a second signal, or no
                interrupted = True  # handler; either way the last checkpoint stays
            finally:
                bar.close()
                if self.epoch_log is not None:
                    self.epoch_log.close()
        return self._finish(interrupted)

    def _out_of_patience(self) -> bool:
        """``patience`` epochs have ended since the best one (early stopping)."""
        patience = self.config.train.patience
        done = self.pos.epoch - 1
        self.stopped_early = bool(patience and done - self.pos.best_epoch >= patience)
        return self.stopped_early

    def _steps(self, bar: tqdm) -> None:
        """The rest of the current epoch's optimiser steps."""
        tc = self.config.train
        if self.perm is None:  # a new epoch
            self.perm = torch.randperm(self.n_train, generator=self.gen,
                                       device=self.device)  # fmt: skip
            self.loss_sum = self._zero()
            self.pos.epoch_seconds = 0.0
        self.epoch_t0 = time.perf_counter() - self.pos.epoch_seconds
        params = [p for p in self.model.parameters() if p.requires_grad]
        for i in range(self.pos.step_in_epoch, self.steps_per_epoch):
            idx = self.perm[i * tc.batch_size : (i + 1) * tc.batch_size]
            mine, start, share = self._shard(idx)
            xb = self.take_train(mine)  # (b, D) float32: this process's rows of the batch
            beta = warmup_beta(
                tc.beta, tc.warmup_epochs, self.pos.global_step, self.steps_per_epoch
            )
            window = noise_window(len(idx), start) if self.world > 1 else contextlib.nullcontext()
            with autocast(self.precision, self.device), window:  # autocast: the networks only
                terms = self.objective(self.model, xb, self.gen, beta=beta)
            batch_loss, stop = self._agree_step(terms.loss.detach(), share, len(idx), i)
            self.opt.zero_grad(set_to_none=True)
            (terms.loss * share).backward()  # share = b/B: the batch mean once summed
            if self.world > 1:
                _sum_gradients(params)
            bad = _non_finite_gradient(self.model, params)
            if bad is not None:
                self._numerical_error(f"the gradient of {bad} became NaN or Inf", i)
            self.opt.step()
            if self.schedule is not None:
                self.schedule.step()
            self.loss_sum += batch_loss
            self.pos.step_in_epoch, self.pos.global_step = i + 1, self.pos.global_step + 1
            bar.update(1)
            if stop:
                self._checkpoint()
                raise _Stopped
            if self.every.due(self.pos.global_step):
                self._checkpoint()

    def _agree_step(self, loss: torch.Tensor, share: float, n: int, i: int
                    ) -> tuple[torch.Tensor, bool]:  # fmt: skip
        """(the batch's loss sum, whether to stop now), after the non-finite check. One
        process: the loss stays on its device, one sync for the check. Several: one collective
        carries the sum and whether any process saw a non-finite loss or was asked to stop,
        so all stop at the same step."""
        requested = self.stops.requested is not None
        if self.world == 1:
            if not torch.isfinite(loss):
                self._numerical_error(f"the loss became {loss.item()}", i)
            return loss * n, requested
        said = torch.stack([loss.double() * (share * n), (~torch.isfinite(loss)).double(),
                            torch.tensor(float(requested), dtype=torch.float64,
                                         device=loss.device)])  # fmt: skip
        all_sum(said)
        if said[1] > 0:
            self._numerical_error("the loss became NaN or Inf in a process", i)
        return said[0], bool(said[2] > 0)

    def _shard(self, idx: torch.Tensor) -> tuple[torch.Tensor, int, float]:
        """This process's rows of the batch ``idx`` (a contiguous part, the first at ``start``)
        and its share of the batch. A process left without rows (a last batch smaller than
        the number of processes) computes the first row with share 0, so its random stream
        and its collectives stay in step with the others."""
        if self.world == 1:
            return idx, 0, 1.0
        parts = torch.tensor_split(idx, self.world)
        start = sum(len(q) for q in parts[: self.rank])
        mine = parts[self.rank]
        if len(mine) == 0:
            return idx[:1], 0, 0.0
        return mine, start, len(mine) / len(idx)

    def _numerical_error(self, what: str, i: int) -> None:
        if self.files.exists(CHECKPOINT_FILE):
            kept = (
                f"the last good checkpoint and the best model so far are kept in {self.files.root}"
            )
        else:
            kept = "no checkpoint had been written yet"
        raise NumericalError(
            f"{what} at epoch {self.pos.epoch}, step {i + 1}: the likely cause is a learning rate "
            f"too high for this data (try a smaller {opt('lr')}) or unscaled data; {kept} (rerun "
            f"with other settings and {flag('overwrite')})"
        )

    def _end_epoch(self, bar: tqdm) -> None:
        tc = self.config.train
        train_seconds = time.perf_counter() - self.epoch_t0  # before validation
        row = {
            "epoch": self.pos.epoch,
            "train_loss": float(self.loss_sum) / self.n_train,
            **agree(
                validation_row(self.model, self.objective, self.x_valid, self.config)
                if self.rank == 0
                else None
            ),  # computed once, by the main process
            "beta": warmup_beta(
                tc.beta, tc.warmup_epochs, self.pos.global_step, self.steps_per_epoch
            ),
            "lr": self.opt.param_groups[0]["lr"],
            "train_seconds": train_seconds,
        }
        score = self.selection.update(self.pos, row, self.model)
        row["seconds"] = time.perf_counter() - self.epoch_t0
        row.update(self.pending)
        self.pending = {}
        self.pos.metrics.append(row)
        write_metrics(self.files, self.pos.metrics)
        if self.epoch_log is not None:
            self.epoch_log.write(row, self.pos.metrics,
                                 epoch_pictures(self.model, self.dataset, tc.seed))  # fmt: skip
        bar.set_postfix(epoch=row["epoch"], loss=f"{row['train_loss']:.2f}",
                        valid=f"{score:.2f}")  # fmt: skip
        self.pos.epoch, self.pos.step_in_epoch, self.perm = self.pos.epoch + 1, 0, None
        self._checkpoint()
        if self.stops.requested is not None:
            raise _Stopped

    def _checkpoint(self) -> None:
        now = time.perf_counter()
        self.pos.seconds = now - self.run_t0
        self.pos.epoch_seconds = 0.0 if self.perm is None else now - self.epoch_t0
        self.files.write(CHECKPOINT_FILE, checkpoint_bytes(
            model=self.model, opt=self.opt, schedule=self.schedule, gen=self.gen,
            position=self.pos, perm=self.perm, loss_sum=self.loss_sum,
            fingerprint=self.fingerprint))  # fmt: skip
        self.every.reset(self.pos.global_step)

    def _finish(self, interrupted: bool) -> Run:
        uncompile_networks(self.model)
        if not self.files.exists(WEIGHTS_FILE):  # stopped before any epoch ended
            self.files.write(WEIGHTS_FILE, weights_bytes(self.model))
        if self.files.writes:
            run = load_run(self.files.root)  # the best epoch's weights
        else:  # another process writes; this one returns its own (last) weights
            run = Run(self.files.root, self.config, self.model.eval(), list(self.pos.metrics))
        write_pictures(self.files, run.model, self.dataset, self.config)
        s = summary(self.pos, self.objective, time.perf_counter() - self.run_t0, interrupted)
        s["precision"] = self.precision  # what `auto` chose on this hardware
        s["device"], s["compiled"] = str(self.device), self.compiled
        s["stopped_early"] = self.stopped_early
        # Also for a stopped run ("interrupted" says so). The last checkpoint stays, also of a
        # finished run: it is the state a longer run (--resume --epochs N) continues from.
        write_summary(self.files, s)
        run.interrupted, run.summary = interrupted, s
        return run


def _sum_gradients(params: list[torch.Tensor]) -> None:
    """Sum every process's gradients (each already weighted by its share of the batch), in one
    collective over a flat buffer. The same parameters have gradients in every process."""
    have = [p for p in params if p.grad is not None]
    flat = torch._utils._flatten_dense_tensors([p.grad for p in have])
    all_sum(flat)
    for p, g in zip(have, torch._utils._unflatten_dense_tensors(flat, [p.grad for p in have]),
                    strict=True):  # fmt: skip
        p.grad.copy_(g)


def _non_finite_gradient(model: VAE, params: list[torch.Tensor]) -> str | None:
    """Name of the first parameter whose gradient holds NaN or Inf, else None (one sync)."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return None
    # One multi-tensor kernel where torch has it (clip_grad_norm_ uses the same), not one a tensor.
    foreach_norm = getattr(torch, "_foreach_norm", None)
    norms = torch.stack(foreach_norm(grads) if foreach_norm else [g.norm() for g in grads])
    if bool(torch.isfinite(norms).all()):
        return None
    names = {id(p): n for n, p in model.named_parameters()}
    for p in params:
        if p.grad is not None and not torch.isfinite(p.grad).all():
            return names.get(id(p), "a parameter")
    return None  # a norm overflowed float32, but every value is finite
