"""Importance-sampled log-likelihood: the honest score of a latent-variable model.

    log p(x) ≈ log (1/k) Σ_k p(x, z_k) / q(z_k|x),   z_k ~ q(z|x),

which is the IWAE bound: a lower bound on log p(x) in expectation, tightening as k grows and
equal in expectation to the ELBO at k = 1. Work is chunked over k so memory stays bounded at
any k, and the log-sum-exp is accumulated in float64. Everything follows the model's device.

Library functions here change no process-wide state: the CPU settings that make this loop
fast (subnormal flushing, malloc reuse; ``vaekit.runtime``) are held by the entry points
(``vaekit.evaluate``, ``vaekit.train``, the ``vaekit`` command).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import Tensor
from torch.distributions import Distribution, Independent
from tqdm.auto import tqdm

from ..data.lazy import Rows
from ..models import VAE, rsample
from .config import EvalConfig
from .progress import Progress

# Elements of the decoder's widest tensor per chunk (16 MB in float32): bounds memory whatever
# k and the batch size are, and stays under the 32 MiB below which glibc reuses freed blocks
# (runtime/allocator.py). Sizing by the output alone let a 32-channel conv decoder allocate
# 540 MB feature maps a chunk, each one fresh pages from the kernel: measured on IS-200 of 500
# MNIST images, 16.6 s with 9 million page faults against 7.3 s and none.
CHUNK_ELEMENTS = 1 << 22


def as_input(model: VAE, x: Tensor | np.ndarray | Rows) -> Tensor | Rows:
    """Data as the model takes it: (N, D) — (N, D + P) for a conditional model, c beside x —
    on its device, in its dtype; :class:`Rows` as they are (each batch is converted as it is
    read)."""
    width = model.row_dim
    if isinstance(x, Rows):
        if x.shape[1] != width:
            raise ValueError(f"data must have shape (N, {width}), got {x.shape}")
        return x
    t = torch.as_tensor(x, device=model.device)
    if t.ndim != 2 or t.shape[1] != width:
        raise ValueError(f"data must have shape (N, {width}), got {tuple(t.shape)}")
    return t.to(dtype=model.dtype)


def fitting_rows(model: VAE, batch_size: int, draws: int = 1) -> int:
    """At most ``batch_size`` rows; fewer where ``draws`` decoder passes of each would make a
    tensor wider than CHUNK_ELEMENTS (large images: 1,000 rows of 256x256 feature maps with
    16 channels would be 4 GB)."""
    return max(1, min(batch_size, CHUNK_ELEMENTS // (draws * model.decoder_width)))


def batches(x: Tensor | Rows, batch_size: int, start: int = 0) -> Iterator[Tensor]:
    for i in range(start, x.shape[0], batch_size):
        yield x[i : i + batch_size]


def generator_for(
    model: VAE, seed: int | None, generator: torch.Generator | None = None
) -> torch.Generator:
    """``generator`` if given, else a new one seeded with ``seed`` (0) on the model's device."""
    if generator is not None:
        return generator
    return torch.Generator(device=model.device).manual_seed(0 if seed is None else seed)


@torch.inference_mode()
def log_weights(
    model: VAE,
    x: Tensor,
    k: int,
    generator: torch.Generator | None = None,
    proposal: Independent | None = None,
    prior: Distribution | None = None,
) -> Tensor:
    """log p(x, z_k) − log q(z_k|x) for k draws from q (the encoder's unless ``proposal``): (k, B).
    ``prior``: ``model.prior_of(x)``, passed by a caller that has it."""
    q = model.encode(x) if proposal is None else proposal
    return model.log_joint(x, rsample(q, k, generator), q, prior).log_weight()  # (k, B)


@torch.inference_mode()
def log_likelihood_batch(
    model: VAE,
    xb: Tensor,
    k: int,
    gen: torch.Generator,
    proposal: Independent | None = None,
    done: Callable[[int], object] | None = None,
) -> Tensor:
    """IS log p(x) of one batch, (B,) float64, chunked over k so memory stays bounded.
    ``done(n)`` is told of every n importance weights computed (progress within a batch)."""
    chunk = max(1, min(k, CHUNK_ELEMENTS // (xb.shape[0] * model.decoder_width)))
    acc = torch.full((xb.shape[0],), -math.inf, dtype=torch.float64, device=xb.device)
    # Once, not once a chunk: a conv decoder's chunk can be a single draw, and a VampPrior's
    # p(z) an encoder pass over 200 pseudo-inputs, costlier than decoding 100 rows.
    q = model.encode(xb) if proposal is None else proposal
    p = model.prior_of(xb)
    for start in range(0, k, chunk):
        lw = log_weights(model, xb, min(chunk, k - start), gen, q, p)  # (c, B)
        acc = torch.logaddexp(acc, torch.logsumexp(lw.double(), dim=0))
        if done is not None:
            done(lw.numel())
    return acc - math.log(k)


@torch.inference_mode()
def log_likelihood(
    model: VAE,
    x: Tensor | np.ndarray | Rows,
    k: int = EvalConfig.importance_samples,
    *,
    batch_size: int = EvalConfig.batch_size,
    seed: int | None = 0,
    generator: torch.Generator | None = None,
    quiet: bool = True,
    progress: Progress | None = None,
    repeat: int = 0,
) -> Tensor:
    """Importance-sampled log p(x) per example, (N,) float64, with k samples each.
    ``quiet=False`` shows a progress bar that advances with every chunk of samples.
    ``progress`` keeps finished batches (as ``repeat``) on disk and resumes from them, with
    the same draws as an uninterrupted call."""
    if k < 1:
        raise ValueError(f"importance samples must be >= 1, got {k}")
    model.eval()
    x = as_input(model, x)
    gen = generator_for(model, seed, generator)
    done, state = progress.resume(repeat) if progress is not None else (None, None)
    results = [] if done is None else [done.to(x.device)]
    start = 0 if done is None else int(done.numel())
    if state is not None:
        gen.set_state(state.to(gen.get_state().device))
    # Counted in importance weights (examples × k), so small data still moves the bar.
    bar = tqdm(total=x.shape[0] * k, initial=start * k, desc=f"log p(x), k={k}", unit="w",
               unit_scale=True, disable=quiet, leave=False)  # fmt: skip
    for xb in batches(x, fitting_rows(model, batch_size), start):
        results.append(log_likelihood_batch(model, xb, k, gen, done=bar.update))
        if progress is not None:
            progress.record(repeat, results[-1], gen.get_state())
    bar.close()
    return torch.cat(results)
