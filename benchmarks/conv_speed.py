"""Training speed of the conv model against its own floor, and channels-last against not.

Run from the repository root, with nothing else running:

    python benchmarks/conv_speed.py [--data-dir ../shared/data] [--repeats 3] [--threads 2]

The model is the likelihood benchmark's conv VAE on binarized MNIST (28x28, channels 32,64, a
fully connected layer of 512, latent 50, Bernoulli, batch 100, Adam). The floor of an epoch
is the work no implementation of that model avoids: for each convolution, transposed
convolution and linear layer, its forward, its weight gradient and (except at the data) its
input gradient, at the shapes of a real training batch, on fixed operands — no activations,
likelihood, KL, sampling, optimiser or data handling. Contenders are interleaved within each
repeat; the script prints medians and the ratio vaekit / floor (issue 15's goal: <= 1.5),
then the floor in channels-last memory format against the default (NCHW contiguous), to
decide whether vaekit should use it. No wall-clock number is asserted anywhere.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

import vaekit

ARCH = {"arch": "conv", "channels": "32,64", "hidden": "512", "latent_dim": 50,
        "likelihood": "bernoulli", "batch_size": 100}  # fmt: skip
LAYERS = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


def layer_inputs(model: vaekit.VAE, x: torch.Tensor) -> list[tuple[nn.Module, torch.Size]]:
    """Each conv/linear layer of the model with the shape of its input in one training step."""
    seen: list[tuple[nn.Module, torch.Size]] = []
    hooks = [m.register_forward_hook(lambda m, i, o: seen.append((m, i[0].shape)))
             for m in model.modules() if isinstance(m, LAYERS)]  # fmt: skip
    with torch.no_grad():
        model.decoder(model.encode(x).rsample())
    for h in hooks:
        h.remove()
    return seen


def floor_step(layers: list[tuple[nn.Module, torch.Size]], channels_last: bool = False
               ) -> Callable[[], None]:  # fmt: skip
    """One step's unavoidable work: forward, weight gradient and input gradient per layer."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    work = []
    for i, (m, shape) in enumerate(layers):
        layer = type(m).__new__(type(m))
        layer.__dict__ = dict(m.__dict__)  # the same shapes and settings, fresh parameters
        layer._parameters = {k: nn.Parameter(p.detach().clone()) for k, p in m._parameters.items()
                             if p is not None}  # fmt: skip
        x = torch.randn(shape)
        if x.dim() == 4:
            x = x.contiguous(memory_format=fmt)
            layer = layer.to(memory_format=fmt)
        x.requires_grad_(i > 0)  # the data needs no gradient
        g = torch.randn_like(layer(x))
        work.append((layer, x, g))

    def step() -> None:
        for layer, x, g in work:
            layer(x).backward(g)

    return step


def time_steps(step: Callable[[], None], n: int) -> float:
    step()  # warm
    t = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - t) / n


def vaekit_epoch(ds: vaekit.Dataset, out: Path, seed: int) -> tuple[float, vaekit.VAE]:
    run = vaekit.train(dataset=ds, data="binarized-mnist", out=out, overwrite=True, quiet=True,
                       epochs=1, seed=seed, **ARCH)  # fmt: skip
    return run.metrics[0]["train_seconds"], run.model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared/data"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--floor-steps", type=int, default=50, help="steps per floor measurement")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    ds = vaekit.load_dataset("binarized-mnist", a.data_dir)
    steps = -(-ds.size("train") // ARCH["batch_size"])
    ours, floor, nchw, nhwc = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(a.repeats):
            t, model = vaekit_epoch(ds, Path(tmp) / "run", seed=r)
            ours.append(t)
            x = torch.from_numpy(ds.rows("train", slice(0, ARCH["batch_size"])))
            layers = layer_inputs(model, x)
            plain, last = floor_step(layers), floor_step(layers, channels_last=True)
            for _ in range(3):
                floor.append(time_steps(plain, a.floor_steps) * steps)
                nchw.append(time_steps(plain, a.floor_steps))
                nhwc.append(time_steps(last, a.floor_steps))
    o, f = statistics.median(ours), statistics.median(floor)
    print(
        f"conv VAE on binarized MNIST, {steps} steps an epoch, {a.threads} thread(s), "
        f"{a.repeats} repeats (medians)"
    )
    print(f"{'vaekit epoch':28}{o:9.2f} s")
    print(f"{'floor epoch':28}{f:9.2f} s")
    print(f"{'vaekit / floor':28}{o / f:9.2f}   (goal <= 1.5)")
    cl = statistics.median(nhwc) / statistics.median(nchw)
    print(f"{'floor step, channels-last':28}{cl:9.2f} x the default format's time")


if __name__ == "__main__":
    main()
