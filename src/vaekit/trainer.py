"""The training loop: minibatch stochastic gradient ascent on an objective, checkpointed.

The default path is the fast path (no benchmark mode): data stay in one in-memory tensor and
batches are taken by permuted indexing (no DataLoader), Adam uses the fused kernel where torch
has it. The loop can stop at any step and continue bit for bit from its checkpoint.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from .allocator import keep_freed_memory
from .checkpoint import (
    CHECKPOINT_FILE,
    Checkpoint,
    Every,
    Position,
    data_fingerprint,
    save_checkpoint,
)
from .config import RunConfig
from .data import Dataset
from .errors import ModelFileError, NumericalError
from .evaluation import elbo_terms, log_likelihood
from .model import VAE
from .numerics import flushing_denormals
from .objectives import make_objective
from .plotting import save_grid, save_reconstructions
from .runs import METRICS_FILE, WEIGHTS_FILE, Run, atomic_write, load_run, weights_bytes
from .stopping import StopRequests

SUMMARY_FILE = "summary.json"
N_PICTURES = 64


def make_optimizer(model: VAE, lr: float, weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """Adam, fused where this torch build supports it (about 3x cheaper a step on a CPU).

    With ``weight_decay`` > 0, AdamW's decoupled decay (Loshchilov & Hutter 2019) shrinks the
    encoder's and decoder's weight matrices only: biases, a likelihood's σ and the VampPrior's
    pseudo-inputs (which are images, not weights) are left alone.
    """
    params = list(model.parameters())
    if weight_decay > 0:
        nets = (model.encoder, model.decoder)
        decayed = [p for net in nets for p in net.parameters() if p.dim() >= 2]
        rest = [p for p in params if all(p is not w for w in decayed)]
        groups = [{"params": decayed, "weight_decay": weight_decay},
                  {"params": rest, "weight_decay": 0.0}]  # fmt: skip
        kind: type[torch.optim.Optimizer] = torch.optim.AdamW
    else:
        groups, kind = [{"params": params}], torch.optim.Adam
    try:
        return kind(groups, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return kind(groups, lr=lr)


def make_schedule(opt: torch.optim.Optimizer, kind: str, total_steps: int) -> Any:
    if kind == "cosine":
        return torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: 0.5 * (1.0 + math.cos(math.pi * min(s, total_steps) / total_steps))
        )
    return None


def warmup_beta(beta: float, warmup_epochs: int, step: int, steps_per_epoch: int) -> float:
    """β ramps linearly from 0 to its value over the warm-up epochs, step by step."""
    if warmup_epochs <= 0:
        return beta
    return beta * min(1.0, step / (warmup_epochs * steps_per_epoch))


class _Stopped(Exception):
    """A stop signal arrived; the checkpoint is written."""


class Trainer:
    def __init__(
        self, config: RunConfig, dataset: Dataset, out: Path, progress: bool, model: VAE,
        every: Every | None = None,
    ) -> None:  # fmt: skip
        self.config, self.dataset, self.out, self.progress = config, dataset, out, progress
        self.model = model
        tc = config.train
        self.objective = make_objective(tc)
        self.x_train = torch.from_numpy(dataset.train)
        self.x_valid = torch.from_numpy(dataset.valid)
        self.fingerprint = data_fingerprint(dataset.train, dataset.valid)
        self.steps_per_epoch = math.ceil(self.x_train.shape[0] / tc.batch_size)
        self.opt = make_optimizer(self.model, tc.lr, tc.weight_decay)
        self.schedule = make_schedule(self.opt, tc.lr_schedule, tc.epochs * self.steps_per_epoch)
        self.gen = torch.Generator().manual_seed(tc.seed)
        self.every = every or Every()
        self.pos = Position()
        self.perm: torch.Tensor | None = None  # (N,) this epoch's data order
        self.loss_sum = torch.zeros((), dtype=torch.float64)
        self.stops = StopRequests()

    def resume(self, ckpt: Checkpoint) -> None:
        try:
            ckpt.restore(self.model, self.opt, self.schedule, self.gen)
        except (RuntimeError, KeyError, ValueError, TypeError) as e:
            raise ModelFileError(
                f"{self.out / CHECKPOINT_FILE} does not fit this run ({e}); delete it or pass "
                "--overwrite to start again"
            ) from None
        self.pos, self.perm, self.loss_sum = ckpt.position, ckpt.perm, ckpt.loss_sum

    @flushing_denormals
    def run(self) -> Run:
        tc = self.config.train
        keep_freed_memory()  # IWAE steps and validation allocate 16 MB blocks step after step
        self.run_t0 = time.perf_counter() - self.pos.seconds
        interrupted = False
        bar = tqdm(total=tc.epochs * self.steps_per_epoch, initial=self.pos.global_step,
                   desc="training", unit="step", disable=not self.progress, dynamic_ncols=True)  # fmt: skip
        with self.stops:
            try:
                while self.pos.epoch <= tc.epochs:
                    self._steps(bar)
                    self._end_epoch(bar)
            except _Stopped:
                interrupted = True
            except KeyboardInterrupt:  # a second signal, or no handler: the last checkpoint stays
                interrupted = True
            finally:
                bar.close()
        if not (self.out / WEIGHTS_FILE).exists():  # stopped before any epoch ended
            atomic_write(self.out / WEIGHTS_FILE, weights_bytes(self.model))
        run = load_run(self.out)
        self._pictures(run.model)
        summary = self._summary(time.perf_counter() - self.run_t0, interrupted)
        if not interrupted:
            atomic_write(self.out / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")
            (self.out / CHECKPOINT_FILE).unlink(missing_ok=True)
        run.interrupted, run.summary = interrupted, summary
        return run

    def _steps(self, bar: tqdm) -> None:
        """The rest of the current epoch's optimiser steps."""
        tc = self.config.train
        if self.perm is None:  # a new epoch
            self.perm = torch.randperm(self.x_train.shape[0], generator=self.gen)
            self.loss_sum = torch.zeros((), dtype=torch.float64)
            self.pos.epoch_seconds = 0.0
        self.epoch_t0 = time.perf_counter() - self.pos.epoch_seconds
        params = [p for p in self.model.parameters() if p.requires_grad]
        for i in range(self.pos.step_in_epoch, self.steps_per_epoch):
            idx = self.perm[i * tc.batch_size : (i + 1) * tc.batch_size]
            xb = self.x_train.index_select(0, idx)
            beta = warmup_beta(
                tc.beta, tc.warmup_epochs, self.pos.global_step, self.steps_per_epoch
            )
            terms = self.objective(self.model, xb, self.gen, beta=beta)
            if not torch.isfinite(terms.loss):
                self._numerical_error(f"the loss became {terms.loss.item()}", i)
            self.opt.zero_grad(set_to_none=True)
            terms.loss.backward()
            bad = _non_finite_gradient(self.model, params)
            if bad is not None:
                self._numerical_error(f"the gradient of {bad} became NaN or Inf", i)
            self.opt.step()
            if self.schedule is not None:
                self.schedule.step()
            self.loss_sum += terms.loss.detach() * xb.shape[0]
            self.pos.step_in_epoch, self.pos.global_step = i + 1, self.pos.global_step + 1
            bar.update(1)
            if self.stops.requested is not None:
                self._checkpoint()
                raise _Stopped
            if self.every.due(self.pos.global_step):
                self._checkpoint()

    def _numerical_error(self, what: str, i: int) -> None:
        if (self.out / CHECKPOINT_FILE).exists():
            kept = f"the last good checkpoint and the best model so far are kept in {self.out}"
        else:
            kept = "no checkpoint had been written yet"
        raise NumericalError(
            f"{what} at epoch {self.pos.epoch}, step {i + 1}: the likely cause is a learning rate "
            f"too high for this data (try a smaller --lr) or unscaled data; {kept} (rerun with "
            "other settings and --overwrite)"
        )

    def _end_epoch(self, bar: tqdm) -> None:
        tc = self.config.train
        train_seconds = time.perf_counter() - self.epoch_t0
        valid = elbo_terms(self.model, self.x_valid, batch_size=tc.eval_batch_size, seed=tc.seed)
        row = {
            "epoch": self.pos.epoch,
            "train_loss": float(self.loss_sum) / self.x_train.shape[0],
            "valid_elbo": float(valid["elbo"].mean()),
            "valid_reconstruction": float(valid["reconstruction"].mean()),
            "valid_kl": float(valid["kl"].mean()),
            "beta": warmup_beta(
                tc.beta, tc.warmup_epochs, self.pos.global_step, self.steps_per_epoch
            ),
            "lr": self.opt.param_groups[0]["lr"],
            "train_seconds": train_seconds,
        }
        if tc.objective == "iwae":  # select by the bound being trained: IWAE-k on valid
            row["valid_bound"] = float(
                log_likelihood(self.model, self.x_valid, tc.k, seed=tc.seed).mean()
            )
        score = row.get("valid_bound", row["valid_elbo"])  # true ELBO, whatever β trains with
        if self.pos.best_score is None or score > self.pos.best_score:
            self.pos.best_score, self.pos.best_epoch = score, self.pos.epoch
            atomic_write(self.out / WEIGHTS_FILE, weights_bytes(self.model))
        row["seconds"] = time.perf_counter() - self.epoch_t0
        self.pos.metrics.append(row)
        atomic_write(
            self.out / METRICS_FILE, "".join(json.dumps(r) + "\n" for r in self.pos.metrics)
        )
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
        save_checkpoint(self.out / CHECKPOINT_FILE, model=self.model, opt=self.opt,
                        schedule=self.schedule, gen=self.gen, position=self.pos, perm=self.perm,
                        loss_sum=self.loss_sum, fingerprint=self.fingerprint)  # fmt: skip
        self.every.reset(self.pos.global_step)

    def _pictures(self, model: VAE) -> None:
        shape = self.config.model.image_shape
        gen = torch.Generator().manual_seed(self.config.train.seed)
        vr = (float(self.dataset.train.min()), float(self.dataset.train.max()))
        save_grid(model.sample(N_PICTURES, gen).numpy(), self.out / "samples.png", shape,
                  value_range=vr)  # fmt: skip
        x = torch.from_numpy(self.dataset.valid[:32])
        save_reconstructions(x.numpy(), model.reconstruct(x).numpy(),
                             self.out / "reconstructions.png", shape, value_range=vr)  # fmt: skip

    def _summary(self, seconds: float, interrupted: bool) -> dict[str, Any]:
        return {
            "epochs_run": len(self.pos.metrics),
            "best_epoch": self.pos.best_epoch,
            "best_valid_score": self.pos.best_score,
            "selected_by": "valid_bound" if self.config.train.objective == "iwae" else "valid_elbo",
            "seconds": seconds,
            "interrupted": interrupted,
        }


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
