"""The infinite mixture beside finite ones on 2-D data: a VAE and Gaussian mixtures of 3, 10
and 50 components on two noisy rings, scored on held-out points, densities drawn side by side.

Run from the repository root (a few minutes on a 2-core CPU):

    python benchmarks/mixtures_2d.py          # writes docs/mixtures.md's table and docs/mixtures.png

The VAE (latent 2, hidden 64,64, decoder-predicted σ: a Gaussian whose mean and scale both
depend on z, so p(x) = ∫ N(x; μ(z), σ(z)²) N(z; 0, I) dz is an infinite Gaussian mixture) is
scored by importance sampling (k = 2000); the mixtures exactly. Model choice used the
validation split only; the test split is read once, at the end.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.datasets import make_circles

import vaekit
from vaekit.data import DataConfig
from vaekit.training.baseline import fit_baseline

ROOT = Path(__file__).resolve().parent.parent
DOC, PICTURE = ROOT / "docs" / "mixtures.md", ROOT / "docs" / "mixtures.png"
GRID = 120


def rings(n: int, seed: int) -> np.ndarray:
    x, _ = make_circles(n, noise=0.06, factor=0.45, random_state=seed)
    return (2 * x).astype(np.float32)


def main() -> None:
    splits = {"train": rings(4000, 0), "valid": rings(1000, 1), "test": rings(2000, 2)}
    lo, hi = -3.0, 3.0
    g = np.linspace(lo, hi, GRID, dtype=np.float32)
    grid = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)  # (GRID², 2)
    rows, maps = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rings.npz"
        np.savez(path, **splits)
        # Two VAEs, told apart on validation only: the plain ELBO lets the decoder's σ(z)
        # cover both rings with one broad Gaussian and ignore z (posterior collapse); free
        # bits keep 1 nat per latent dimension from being squeezed out early.
        for label, extra in (("ELBO", {}), ("free bits 1 nat/dim", {"free_bits": 1.0})):
            run = vaekit.train(data=str(path), latent_dim=2, hidden="64,64",
                               likelihood="gaussian-decoded", epochs=300, batch_size=128,
                               lr_schedule="cosine", seed=0, out=Path(tmp) / label, quiet=True,
                               **extra)  # fmt: skip
            test_ll = vaekit.log_likelihood(run.model, splits["test"], 2000, seed=0).numpy()
            valid_elbo = max(m["valid_elbo"] for m in run.metrics)
            rows.append((f"VAE (latent 2, hidden 64,64, decoder-predicted σ), {label}; IS k = 2000",
                         float(test_ll.mean()), float(test_ll.std(ddof=1) / math.sqrt(len(test_ll))),
                         f"best validation ELBO {valid_elbo:.3f}, KL {run.metrics[-1]['valid_kl']:.2f}"))  # fmt: skip
            maps[f"VAE, {label}"] = vaekit.log_likelihood(run.model, grid, 500, seed=1).numpy()
        for k in (3, 10, 50):
            b = fit_baseline("gmm", DataConfig(name=str(path)), Path(tmp) / f"gmm{k}",
                             components=k, restarts=3, seed=0)  # fmt: skip
            ll = b.model.log_prob(splits["test"])
            rows.append((f"Gaussian mixture, K = {k} (EM, full covariances), exact",
                         float(ll.mean()), float(ll.std(ddof=1) / math.sqrt(len(ll))),
                         f"validation {b.summary['valid_log_likelihood']:.3f}"))  # fmt: skip
            maps[f"GMM K={k}"] = b.model.log_prob(grid)
    draw(maps, splits["test"], (lo, hi))
    write_doc(rows)
    print(json.dumps(rows, indent=2))


def draw(maps: dict[str, np.ndarray], test: np.ndarray, span: tuple[float, float]) -> None:
    fig = Figure(figsize=(4 * (len(maps) + 1), 4.2))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, len(maps) + 1, 1)
    ax.scatter(test[:, 0], test[:, 1], s=1, color="black")
    ax.set(title="test points", xlim=span, ylim=span, aspect="equal")
    for i, (name, logp) in enumerate(maps.items(), start=2):
        ax = fig.add_subplot(1, len(maps) + 1, i)
        ax.imshow(np.exp(logp).reshape(GRID, GRID), origin="lower", extent=(*span, *span),
                  cmap="viridis")  # fmt: skip
        ax.set(title=f"{name}: p(x)", aspect="equal")
    fig.tight_layout()
    fig.savefig(PICTURE, dpi=80)


def write_doc(rows: list[tuple[str, float, float, str]]) -> None:
    table = "\n".join(
        f"| {name} | **{ll:.3f}** ± {se:.3f} | {note} |" for name, ll, se, note in rows
    )
    DOC.write_text(f"""# The infinite mixture beside finite ones

A VAE with a Gaussian decoder is an infinite mixture of Gaussians,
p(x) = ∫ N(x; μ_θ(z), σ_θ(z)²) N(z; 0, I) dz; a Gaussian mixture fitted by EM is a finite one.
Here both are fitted to two noisy concentric rings (scikit-learn's `make_circles`, noise 0.06,
scaled by 2: 4,000 training, 1,000 validation and 2,000 test points) and scored on the test
points in nats per point (higher is better; "±" is the standard error over the points). The
VAE's log-likelihood is importance-sampled (k = 2,000), the mixtures' is exact. Reproduce with
`python benchmarks/mixtures_2d.py`.

| model | test log-likelihood (nats per point) | model selection |
|---|---|---|
{table}

![densities](mixtures.png)

A few components cannot follow a ring: they cover it with blobs and put mass in the hole; fifty
components trace the rings. The VAE trained on the plain ELBO collapses: its decoder predicts a
σ broad enough to cover both rings with one Gaussian whatever z is, the KL term pushes q(z|x)
onto the prior, and the result is a single blob, worse than three components. With free bits
(the first nat of KL per latent dimension costs nothing) the latent space is used and the
decoder bends it onto the rings; its validation ELBO is the better one, so it is the VAE one
would choose. Its number is an IS estimate (a lower bound in expectation) where the mixtures'
is exact.
""")
    print(f"wrote {DOC} and {PICTURE}")


if __name__ == "__main__":
    torch.set_num_threads(2)
    main()
