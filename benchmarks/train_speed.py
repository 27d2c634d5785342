"""Training speed: vaekit vs the matmul floor and a PyTorch-examples-style reference loop.

Run from the repository root:  python benchmarks/train_speed.py [--epochs 10] [--repeats 2]
Contenders are interleaved within each repeat; the script prints median seconds per epoch, the
ratios vaekit/floor and reference/vaekit, and the test ELBO both reach after the same epochs.
No wall-clock number is asserted anywhere: machines are noisy, ratios in one run are not.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import vaekit

D, H, L, B = 784, 400, 20, 128


def matmul_floor(n: int) -> float:
    """Only the GEMMs of one epoch (forward, grad-input, grad-weight) at the model's shapes."""
    layers = [(D, H), (H, 2 * L), (L, H), (H, D)]
    ws = [torch.randn(o, i) for i, o in layers]
    xs = [torch.randn(B, i) for i, _ in layers]
    gs = [torch.randn(B, o) for _, o in layers]
    t0 = time.perf_counter()
    for _ in range(-(-n // B)):
        for j, (w, x, g) in enumerate(zip(ws, xs, gs, strict=True)):
            x @ w.T  # forward
            g.T @ x  # grad weight
            if j:  # no grad for the data
                g @ w
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


def reference(train: torch.Tensor, test: torch.Tensor, epochs: int) -> tuple[list[float], float]:
    torch.manual_seed(0)
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


def ours(ds: vaekit.Dataset, epochs: int, out: Path) -> tuple[list[float], float]:
    run = vaekit.train(dataset=ds, data="binarized-mnist", out=out, overwrite=True, progress=False,
                       epochs=epochs, hidden="400", latent_dim=L, likelihood="bernoulli",
                       batch_size=B, lr=1e-3, seed=0)  # fmt: skip
    elbo = float(vaekit.elbo_terms(run.model, ds.test)["elbo"].mean())
    return [m["train_seconds"] for m in run.metrics], elbo


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared/data"))
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=1)
    a = ap.parse_args()
    ds = vaekit.load_dataset("binarized-mnist", data_dir=a.data_dir)
    train, test = torch.from_numpy(ds.train), torch.from_numpy(ds.test)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {train.shape[0]} images")
    floor, ref_t, our_t, ref_e, our_e = [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(a.repeats):
            floor += [matmul_floor(train.shape[0]) for _ in range(3)]
            t, e = reference(train, test, a.epochs)
            ref_t += t
            ref_e.append(e)
            t, e = ours(ds, a.epochs, Path(tmp) / f"run{r}")
            our_t += t
            our_e.append(e)
    f, rt, ot = (statistics.median(v) for v in (floor, ref_t, our_t))
    print(f"{'':28}{'s/epoch':>10}")
    print(f"{'matmul floor':28}{f:10.3f}")
    print(f"{'reference (PyTorch example)':28}{rt:10.3f}")
    print(f"{'vaekit.train':28}{ot:10.3f}")
    print(f"vaekit / floor = {ot / f:.2f}   reference / vaekit = {rt / ot:.2f}")
    print(f"test ELBO after {a.epochs} epochs: reference {statistics.mean(ref_e):.2f}, "
          f"vaekit {statistics.mean(our_e):.2f} nats")  # fmt: skip


if __name__ == "__main__":
    main()
