"""Importance sampling with the conv VampPrior model: vaekit against its two earlier forms.

Run from the repository root, with nothing else running:

    python benchmarks/is_speed.py [--data-dir ../shared/data] [--repeats 3] [--k 100]

The model is the likelihood benchmark's conv VAE (binarized MNIST 28x28, channels 32,64, fc
512, latent 50, Bernoulli, VampPrior of 200 pseudo-inputs), freshly initialised: the time of
IS does not depend on the weights. Its decoder's widest feature map (28x28x32) makes each IS
chunk one draw of 100 rows, so what a chunk recomputes matters. The contenders, interleaved
within each repeat, each `vaekit.log_likelihood` of the same 100 validation digits with k
draws:
- vaekit as it is: p(z) once a batch, decoder feature maps channels-last;
- "NCHW decoder": the decoder's feature maps in the default contiguous format, as before;
- "p(z) every chunk": the VampPrior re-encodes its pseudo-inputs for every chunk, as before;
- "both, as before".
It prints medians, each contender's time over vaekit's, and the largest difference of its
estimates from vaekit's (the p(z) change alone gives the same bits). No time is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

import vaekit
from vaekit.models.networks.images import ImageDecoder

CONFIG = {"input_dim": 784, "latent_dim": 50, "arch": "conv", "channels": (32, 64),
          "hidden": (512,), "likelihood": "bernoulli", "image_shape": (28, 28, 1),
          "prior": "vamp", "prior_components": 200}  # fmt: skip


def nchw_forward(self: ImageDecoder, z: torch.Tensor, c: torch.Tensor | None = None
                 ) -> torch.Tensor:  # fmt: skip
    """The decoder's forward before channels-last: the same layers on (B, C, H, W) maps."""
    lead = z.shape[:-1]
    h = self.head(z) if c is None else self.head_act(self.head(z, c))
    out = self.features(h.reshape(-1, *self.top))  # (B, P*C, H, W), contiguous
    out = out.reshape(-1, self.params, self.c, self.h, self.w).permute(0, 1, 3, 4, 2)
    return out.reshape(*lead, -1)


@contextmanager
def patched(nchw: bool, prior_every_chunk: bool) -> Iterator[None]:
    forward, prior_of = ImageDecoder.forward, vaekit.VAE.prior_of
    if nchw:
        ImageDecoder.forward = nchw_forward
    if prior_every_chunk:  # LogJoint then computes p(z) itself, chunk by chunk
        vaekit.VAE.prior_of = lambda self, rows: None
    try:
        yield
    finally:
        ImageDecoder.forward, vaekit.VAE.prior_of = forward, prior_of


def timed(f: Callable[[], torch.Tensor]) -> tuple[float, torch.Tensor]:
    t = time.perf_counter()
    out = f()
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared/data"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--k", type=int, default=100, help="importance samples per digit")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = vaekit.VAE(vaekit.ModelConfig(**CONFIG)).eval()
    x = torch.from_numpy(
        vaekit.load_dataset("binarized-mnist", a.data_dir).rows("valid", slice(0, 100))
    )
    contenders = {"vaekit": (False, False), "NCHW decoder": (True, False),
                  "p(z) every chunk": (False, True), "both, as before": (True, True)}  # fmt: skip
    times: dict[str, list[float]] = {name: [] for name in contenders}
    values: dict[str, torch.Tensor] = {}
    with patched(False, False):
        vaekit.log_likelihood(model, x, 10, batch_size=100)  # warm
    for _ in range(a.repeats):
        for name, how in contenders.items():
            with patched(*how):
                t, values[name] = timed(
                    lambda: vaekit.log_likelihood(model, x, a.k, batch_size=100)
                )
            times[name].append(t)
    base = statistics.median(times["vaekit"])
    print(
        f"IS-{a.k} of 100 binarized MNIST digits, conv VampPrior model, {a.threads} thread(s),"
        f" medians of {a.repeats} interleaved repeats"
    )
    for name, ts in times.items():
        diff = (values[name] - values["vaekit"]).abs().max().item()
        print(
            f"{name:20}{statistics.median(ts):8.2f} s {statistics.median(ts) / base:6.2f}x"
            f"   largest difference {diff:.1e} nats"
        )


if __name__ == "__main__":
    main()
