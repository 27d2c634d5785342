"""What happens at the end of an epoch, each as a small part the loop calls: validation, model
selection, the metrics log, and — at the end of the run — pictures and the summary.

Files are written only through :class:`RunFiles`, which decides whether this process writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..data import Dataset
from ..data.lazy import Rows
from ..inference import Objective, elbo_terms
from ..models import VAE
from ..viz import save_grid, save_reconstructions
from ..viz.grids import tile_images
from .checkpoint import Position
from .config import RunConfig
from .rundir import METRICS_FILE, SUMMARY_FILE, WEIGHTS_FILE, RunFiles, weights_bytes

N_PICTURES = 64


def validation_row(
    model: VAE, objective: Objective, x_valid: torch.Tensor | Rows, config: RunConfig
) -> dict[str, float]:
    """The validation ELBO and its terms (β = 1), and the objective's own bound if it has one."""
    tc = config.train
    valid = elbo_terms(model, x_valid, batch_size=tc.eval_batch_size, seed=tc.seed)
    row = {
        "valid_elbo": float(valid["elbo"].mean()),
        "valid_reconstruction": float(valid["reconstruction"].mean()),
        "valid_kl": float(valid["kl"].mean()),
    }
    bound = objective.validation_bound(model, x_valid, tc.seed)
    if bound is not None:
        row["valid_bound"] = bound
    return row


@dataclass
class ModelSelection:
    """Keeps the weights of the best epoch by the objective's validation score."""

    files: RunFiles
    key: str  # the metrics key that scores an epoch: "valid_elbo" or "valid_bound"

    def update(self, pos: Position, row: dict[str, Any], model: VAE) -> float:
        score = row[self.key]
        if pos.best_score is None or score > pos.best_score:
            pos.best_score, pos.best_epoch = score, pos.epoch
            self.files.write(WEIGHTS_FILE, weights_bytes(model))
        return score


def write_metrics(files: RunFiles, rows: list[dict[str, Any]]) -> None:
    """metrics.jsonl rewritten whole (atomically): a kill never leaves a torn line."""
    files.write(METRICS_FILE, "".join(json.dumps(r) + "\n" for r in rows))


def write_pictures(files: RunFiles, model: VAE, dataset: Dataset, config: RunConfig) -> None:
    """samples.png (from the prior) and reconstructions.png (of validation examples)."""
    if not files.writes:
        return
    shape = config.model.image_shape
    gen = torch.Generator(device=model.device).manual_seed(config.train.seed)
    vr = dataset.model_range
    samples = pictured_samples(model, dataset, gen).cpu().numpy()
    files.draw("samples.png", lambda p: save_grid(samples, p, shape, value_range=vr))
    x = torch.from_numpy(dataset.inputs("valid", slice(0, 32))).to(model.device)
    recon = model.reconstruct(x).cpu().numpy()
    files.draw("reconstructions.png",
               lambda p: save_reconstructions(x[:, : model.input_dim].cpu().numpy(), recon, p, shape,
                                              value_range=vr))  # fmt: skip


def epoch_pictures(model: VAE, dataset: Dataset, seed: int) -> dict[str, np.ndarray]:
    """Mosaics in [0, 1] for a per-epoch log (TensorBoard): 64 samples (the same draws each
    epoch, so a picture shows the model change, not the noise), and 16 validation examples
    above their reconstructions. None for data that are not images."""
    shape = model.config.image_shape
    if shape is None:
        return {}
    lo, hi = dataset.model_range or (0.0, 1.0)

    def unit(x: torch.Tensor) -> np.ndarray:  # model units -> [0, 1]
        return np.clip((x.detach().cpu().numpy() - lo) / ((hi - lo) or 1.0), 0.0, 1.0)

    was = model.training
    model.eval()
    with torch.no_grad():
        gen = torch.Generator(device=model.device).manual_seed(seed)
        samples = unit(pictured_samples(model, dataset, gen))
        x = torch.from_numpy(dataset.inputs("valid", slice(0, 16))).to(model.device)
        pairs = np.concatenate([unit(x[:, : model.input_dim]), unit(model.reconstruct(x))])
    model.train(was)
    return {"samples": tile_images(samples, shape, 8),
            "reconstructions": tile_images(pairs, shape, max(1, len(pairs) // 2))}  # fmt: skip


def pictured_samples(model: VAE, dataset: Dataset, gen: torch.Generator) -> torch.Tensor:
    """(N_PICTURES, D): from the prior, or from p(z|c) at the validation examples' conditions
    (their classes; completions of their observed part for a mask)."""
    if model.condition is None:
        return model.sample(N_PICTURES, gen)
    rows = torch.from_numpy(dataset.inputs("valid", slice(0, N_PICTURES))).to(model.device)
    if model.condition.scored() is not None:  # a mask: complete what is observed
        return model.complete(rows, 1, gen)[0]
    c = rows[:, model.input_dim :]  # (n, P)
    return model.sample(c.shape[0], gen, condition=c)


def summary(
    pos: Position, objective: Objective, seconds: float, interrupted: bool
) -> dict[str, Any]:
    return {
        "epochs_run": len(pos.metrics),
        "best_epoch": pos.best_epoch,
        "best_valid_score": pos.best_score,
        "selected_by": objective.selected_by,
        "seconds": seconds,
        "interrupted": interrupted,
    }


def write_summary(files: RunFiles, s: dict[str, Any]) -> None:
    files.write(SUMMARY_FILE, json.dumps(s, indent=2) + "\n")
