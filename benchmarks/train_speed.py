"""Training speed: vaekit vs the matmul floor and a PyTorch-examples-style reference loop.

Run from the repository root:

    python benchmarks/train_speed.py [--epochs 10] [--repeats 3] [--threads 1,2] [--scaling]
                                     [--memory] [--precision fp32,bf16]

Contenders are interleaved within each repeat; the script prints median seconds per epoch, the
ratios vaekit/floor and reference/vaekit, and the test ELBO both reach after the same epochs;
then IS-5000 throughput of ``vaekit.log_likelihood`` against the GEMMs it cannot avoid (the
decoder at n·k latents); with ``--scaling``, seconds per epoch against hidden width, batch size
and latent size. ``--threads 1,2`` repeats everything at each thread count.
No wall-clock number is asserted anywhere: machines are noisy, ratios in one run are not.
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import vaekit
from vaekit.inference import CHUNK_ELEMENTS as _CHUNK_ELEMENTS
from vaekit.runtime import flush_denormals, keep_freed_memory

D, H, L, B = 784, 400, 20, 128
IS_BATCH = 100  # vaekit.log_likelihood's default batch of images
# Latents vaekit's IS loop decodes at once: its chunk of k times the batch.
IS_CHUNK_ROWS = _CHUNK_ELEMENTS // (IS_BATCH * D) * IS_BATCH


def _layers(h: int, latent: int) -> list[tuple[int, int]]:
    """(in, out) of the model's four linear layers: encoder with merged μ/σ head, decoder."""
    return [(D, h), (h, 2 * latent), (latent, h), (h, D)]


def floor_step(h: int = H, latent: int = L, batch: int = B) -> Callable[[], None]:
    """One step's GEMMs (forward, grad-weight, grad-input) at the model's shapes, on fixed
    operands: the work no training loop avoids."""
    layers = _layers(h, latent)
    ws = [torch.randn(o, i) for i, o in layers]
    xs = [torch.randn(batch, i) for i, _ in layers]
    gs = [torch.randn(batch, o) for _, o in layers]

    def step() -> None:
        for j, (w, x, g) in enumerate(zip(ws, xs, gs, strict=True)):
            x @ w.T  # forward
            g.T @ x  # grad weight
            if j:  # no grad for the data
                g @ w

    return step


def matmul_floor(n: int, h: int = H, latent: int = L, batch: int = B) -> float:
    """Only the GEMMs of one epoch at the model's shapes: seconds."""
    step = floor_step(h, latent, batch)
    t0 = time.perf_counter()
    for _ in range(-(-n // batch)):
        step()
    return time.perf_counter() - t0


def adam_floor(n: int, h: int = H, latent: int = L, batch: int = B) -> float:
    """Only the fused Adam steps of one epoch on parameters of the model's shapes.

    Adam reads and writes every parameter and both moment buffers each step: memory traffic
    that no training loop avoids, and that the GEMM floor leaves out.
    """
    shapes = [s for i, o in _layers(h, latent) for s in ((o, i), (o,))]
    params = [torch.zeros(s, requires_grad=True) for s in shapes]
    for p in params:
        p.grad = torch.randn(p.shape) * 1e-3
    opt = torch.optim.Adam(params, lr=1e-3, fused=True)
    opt.step()  # allocate the moment buffers outside the timing
    t0 = time.perf_counter()
    for _ in range(-(-n // batch)):
        opt.step()
    return time.perf_counter() - t0


def eager_limit(train: torch.Tensor, epochs: int) -> list[float]:
    """The same model and step as vaekit's written as one plain function: merged μ/σ head,
    Bernoulli log-likelihood from logits, analytic KL, fused Adam, permuted in-memory batches,
    no distributions, no checks, no bookkeeping. What any restructuring of vaekit's eager code
    could reach at best."""
    torch.manual_seed(0)
    enc = nn.Sequential(nn.Linear(D, H), nn.ReLU(), nn.Linear(H, 2 * L))
    dec = nn.Sequential(nn.Linear(L, H), nn.ReLU(), nn.Linear(H, D))
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=1e-3, fused=True)
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(train.shape[0])
        for i in range(0, train.shape[0], B):
            x = train.index_select(0, perm[i : i + B])
            loc, raw = enc(x).chunk(2, -1)
            scale = F.softplus(raw) + 1e-5
            logits = dec(loc + scale * torch.randn_like(loc))
            rec = (logits * x).sum(-1) - F.softplus(logits).sum(-1)
            kl = 0.5 * (loc.square() + scale.square() - 1).sum(-1) - scale.log().sum(-1)
            loss = (kl - rec).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    return times


def is_floor(n: int, k: int) -> float:
    """Only the GEMMs of IS-k on n images: decode n·k latents, in vaekit's chunk size."""
    w1, w2 = torch.randn(H, L), torch.randn(D, H)
    z, h = torch.randn(IS_CHUNK_ROWS, L), torch.randn(IS_CHUNK_ROWS, H)
    t0 = time.perf_counter()
    for _ in range(-(-n * k // IS_CHUNK_ROWS)):
        z @ w1.T
        h @ w2.T
    return time.perf_counter() - t0


class RefVAE(nn.Module):
    """As in the PyTorch examples: separate μ / log σ² layers, sigmoid + BCE."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc21, self.fc22 = nn.Linear(D, H), nn.Linear(H, L), nn.Linear(H, L)
        self.fc3, self.fc4 = nn.Linear(L, H), nn.Linear(H, D)

    def forward(self, x):
        h = F.relu(self.fc1(x))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z)))), mu, logvar


def ref_loss(recon, mu, logvar, x):
    bce = F.binary_cross_entropy(recon, x, reduction="sum")
    return bce - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


def reference(
    train: torch.Tensor, test: torch.Tensor, epochs: int, seed: int = 0
) -> tuple[list[float], float]:
    torch.manual_seed(seed)
    model = RefVAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(train), batch_size=B, shuffle=True)
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        model.train()
        for (x,) in loader:
            opt.zero_grad()
            loss = ref_loss(*model(x), x)
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    with torch.no_grad():
        model.eval()
        elbo = -sum(float(ref_loss(*model(x), x)) for x in test.split(1000)) / test.shape[0]
    return times, elbo


def ours(ds: vaekit.Dataset, epochs: int, out: Path, h: int = H, latent: int = L,
         batch: int = B, seed: int = 0, precision: str = "fp32"
         ) -> tuple[list[float], vaekit.Run]:  # fmt: skip
    run = vaekit.train(dataset=ds, data="binarized-mnist", out=out, overwrite=True, quiet=True,
                       epochs=epochs, hidden=str(h), latent_dim=latent, likelihood="bernoulli",
                       batch_size=batch, lr=1e-3, seed=seed, precision=precision)  # fmt: skip
    return [m["train_seconds"] for m in run.metrics], run


def compare(ds: vaekit.Dataset, a: argparse.Namespace, tmp: Path) -> vaekit.VAE:
    """Floor, reference and vaekit, interleaved; prints the table; returns vaekit's model."""
    train, test = torch.from_numpy(ds.train), torch.from_numpy(ds.test)
    floor, adam, lim_t, ref_t, our_t, ref_e, our_e = [], [], [], [], [], [], []
    extra = [p for p in a.precision.split(",") if p != "fp32"]
    low_t: dict[str, list[float]] = {p: [] for p in extra}
    low_e: dict[str, list[float]] = {p: [] for p in extra}
    for r in range(a.repeats):
        floor += [matmul_floor(train.shape[0]) for _ in range(3)]
        adam += [adam_floor(train.shape[0]) for _ in range(3)]
        lim_t += eager_limit(train, min(a.epochs, 3))
        t, e = reference(train, test, a.epochs, seed=r)  # repeat r: seed r for both
        ref_t += t
        ref_e.append(e)
        t, run = ours(ds, a.epochs, tmp / f"run{r}", seed=r)
        our_t += t
        our_e.append(float(vaekit.elbo_terms(run.model, ds.test)["elbo"].mean()))
        for p in extra:  # interleaved with the rest; evaluation is float32 whatever trained
            t, low = ours(ds, a.epochs, tmp / f"run{r}-{p}", seed=r, precision=p)
            low_t[p] += t
            low_e[p].append(float(vaekit.elbo_terms(low.model, ds.test)["elbo"].mean()))
    f, ad, lim, rt, ot = (statistics.median(v) for v in (floor, adam, lim_t, ref_t, our_t))
    print(f"{'':28}{'s/epoch':>10}")
    print(f"{'matmul floor':28}{f:10.3f}")
    print(f"{'fused Adam steps alone':28}{ad:10.3f}")
    print(f"{'floor + Adam':28}{f + ad:10.3f}")
    print(f"{'eager limit (plain loop)':28}{lim:10.3f}")
    print(f"{'reference (PyTorch example)':28}{rt:10.3f}")
    print(f"{'vaekit.train':28}{ot:10.3f}")
    print(f"vaekit / floor = {ot / f:.2f}   reference / vaekit = {rt / ot:.2f}   "
          f"(floor + Adam) / floor = {(f + ad) / f:.2f}   vaekit / eager limit = {ot / lim:.2f}")  # fmt: skip
    print(f"test ELBO after {a.epochs} epochs, seeds 0..{a.repeats - 1}: reference "
          f"{_mean_sd(ref_e)}, vaekit {_mean_sd(our_e)} nats; per seed "
          f"{[round(e, 2) for e in ref_e]} / {[round(e, 2) for e in our_e]}")  # fmt: skip
    for p in extra:
        pt = statistics.median(low_t[p])
        print(f"vaekit.train --precision {p}: {pt:.3f} s/epoch = {pt / f:.2f} x the float32 "
              f"floor, reference / vaekit-{p} = {rt / pt:.2f}; test ELBO {_mean_sd(low_e[p])} "
              f"(fp32 {_mean_sd(our_e)}), per seed {[round(e, 2) for e in low_e[p]]}")  # fmt: skip
    return run.model


def _mean_sd(v: list[float]) -> str:
    return f"{statistics.mean(v):.2f}" + (f" ± {statistics.stdev(v):.2f}" if len(v) > 1 else "")


# Runs the CLI in this child and reports the child's own peak RSS (KiB on Linux) last on stderr.
_RSS_CHILD = """import resource, runpy, sys
sys.argv = ["vaekit", *sys.argv[1:]]
try:
    runpy.run_module("vaekit", run_name="__main__")
finally:
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def peak_rss(data_dir: str, tmp: Path) -> None:
    """Peak resident memory of `vaekit train` on binarized MNIST, one epoch, measured in a child
    process (so this process's tensors do not count): the issue's model, and the largest one
    the likelihood benchmark trains."""
    models = {"784-400-20": ["--hidden", "400", "--latent-dim", "20"],
              "784-512-512-50, VampPrior 200": ["--hidden", "512,512", "--latent-dim", "50",
                                                "--prior", "vamp", "--prior-components", "200"]}  # fmt: skip
    for name, args in models.items():
        r = subprocess.run([sys.executable, "-c", _RSS_CHILD, "train", "--data", "binarized-mnist",
                            "--data-dir", data_dir, "--out", str(tmp / "rss"), "--overwrite",
                            "--epochs", "1", "--quiet", *args],
                           check=True, capture_output=True, text=True)  # fmt: skip
        kib = int(r.stderr.strip().splitlines()[-1])
        print(f"peak RSS of `vaekit train` ({name}, 1 epoch): {kib / 1024:.0f} MB", flush=True)


@contextlib.contextmanager
def entry_settings() -> Iterator[None]:
    keep_freed_memory()
    with flush_denormals():
        yield


def evaluation(model: vaekit.VAE, test: torch.Tensor, n: int, k: int) -> None:
    """IS-k throughput of vaekit.log_likelihood on n test images against its GEMM floor."""
    x = test[:n]
    floor, ours_t = [], []
    for _ in range(3):
        floor.append(is_floor(n, k))
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t0 = time.perf_counter()
        with entry_settings():  # what vaekit.evaluate and the vaekit command hold around it
            vaekit.log_likelihood(model, x, k, seed=0)
        ours_t.append(time.perf_counter() - t0)
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    f, o = statistics.median(floor), statistics.median(ours_t)
    scale = 10_000 / n
    print(
        f"IS-{k} on {n} test images: floor {f:.2f} s, vaekit.log_likelihood {o:.2f} s, "
        f"ratio {o / f:.2f}; the 10k test set at this rate: {o * scale / 60:.1f} min; "
        f"page faults in vaekit's last run: {faults}"
    )


SCALING = {  # one factor at a time around the 784-400-20, batch-128 model
    "h": (200, 400, 800, 1600),
    "batch": (32, 64, 128, 256, 512, 1024),
    "latent": (10, 20, 50, 100),
}


def scaling(ds: vaekit.Dataset, tmp: Path) -> None:
    """Seconds per epoch (2nd of 2, so warm) and the floor, one factor varied at a time."""
    n = ds.train.shape[0]
    print("| varied | value | floor s/epoch | vaekit s/epoch | vaekit / floor |")
    print("|---|---:|---:|---:|---:|")
    for factor, values in SCALING.items():
        for v in values:
            shape = {"h": H, "latent": L, "batch": B} | {factor: v}
            f = statistics.median(matmul_floor(n, **shape) for _ in range(3))
            t, _ = ours(ds, 2, tmp / "scaling", **shape)
            print(
                f"| {'hidden' if factor == 'h' else factor} | {v} | {f:.3f} | {t[-1]:.3f} | {t[-1] / f:.2f} |",
                flush=True,
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared/data"))
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--threads", default=str(torch.get_num_threads()),
                    help="comma-separated thread counts to run everything at, e.g. 1,2")  # fmt: skip
    ap.add_argument("--eval-images", type=int, default=200, help="test images for IS (0: skip)")
    ap.add_argument("--eval-k", type=int, default=5000)
    ap.add_argument("--scaling", action="store_true", help="also the cost-growth table")
    ap.add_argument("--memory", action="store_true", help="also peak RSS of `vaekit train`")
    ap.add_argument("--precision", default="fp32",
                    help="comma-separated training precisions of vaekit, e.g. fp32,bf16")  # fmt: skip
    a = ap.parse_args()
    ds = vaekit.load_dataset("binarized-mnist", data_dir=a.data_dir)
    with tempfile.TemporaryDirectory() as tmp:
        if a.memory:
            peak_rss(a.data_dir, Path(tmp))
        for threads in map(int, a.threads.split(",")):
            torch.set_num_threads(threads)
            print(f"\n## torch {torch.__version__}, {threads} thread(s), "
                  f"{ds.train.shape[0]} training images", flush=True)  # fmt: skip
            model = compare(ds, a, Path(tmp))
            if a.eval_images:
                evaluation(model, torch.from_numpy(ds.test), a.eval_images, a.eval_k)
            if a.scaling:
                scaling(ds, Path(tmp))


if __name__ == "__main__":
    main()
