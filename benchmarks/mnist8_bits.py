"""Bits/dim of 8-bit grey MNIST: a discretized-logistic conv VAE next to two exact baselines.

The data is the real MNIST test set in 8-bit grey levels (``../shared/data/mnist_test.npz``),
split by index 8,000 / 1,000 / 1,000 (train / valid / test, fixed). Run from the repository
root; every step can be rerun (training continues where it stopped: vaekit's own resume):

    python benchmarks/mnist8_bits.py baselines --data-dir ../shared/data
    python benchmarks/mnist8_bits.py vae --data-dir ../shared/data --epochs 100

Baselines, computed exactly on the test split:
- uniform over the 256 levels: 8 bits/dim;
- independent per-pixel categorical over the 256 levels, fitted on train with add-one
  (Laplace) smoothing, so no test level has probability 0.
Results go to benchmarks/results/mnist8.json.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "mnist8.json"
WORK = ROOT / "runs" / "mnist8"  # git-ignored: the split file and the run directory
SPLIT = (8000, 9000)  # train [:8000], valid [8000:9000], test [9000:]


def split_file(data_dir: str) -> Path:
    """The fixed split as an .npz of (N, 28, 28) uint8 arrays (made once, outside the repo)."""
    out = WORK / "mnist8_split.npz"
    if not out.exists():
        images = np.load(Path(data_dir) / "mnist_test.npz")["images"]  # (10000, 28, 28) uint8
        a, b = SPLIT
        WORK.mkdir(parents=True, exist_ok=True)
        np.savez(out, train=images[:a], valid=images[a:b], test=images[b:])
    return out


def baselines(data_dir: str) -> dict[str, float]:
    d = np.load(split_file(data_dir))
    train, test = d["train"].reshape(len(d["train"]), -1), d["test"].reshape(len(d["test"]), -1)
    counts = np.ones((train.shape[1], 256))  # (D, 256), add-one smoothing
    np.add.at(counts, (np.arange(train.shape[1])[None, :].repeat(len(train), 0), train), 1)
    log_p = np.log(counts / counts.sum(1, keepdims=True))  # (D, 256)
    ll = log_p[np.arange(test.shape[1])[None, :], test].sum(1)  # (N,) nats per image
    return {"uniform_bits_per_dim": 8.0,
            "categorical_bits_per_dim": float(-ll.mean() / (test.shape[1] * math.log(2)))}  # fmt: skip


def vae(data_dir: str, epochs: int, k: int) -> dict[str, object]:
    run = WORK / "conv-dlogistic"
    train = [sys.executable, "-m", "vaekit.cli", "train", "--data", str(split_file(data_dir)),
             "--arch", "conv", "--channels", "32,64", "--hidden", "", "--latent-dim", "32",
             "--likelihood", "discretized-logistic", "--batch-size", "100", "--seed", "0",
             "--epochs", str(epochs), "--out", str(run), "--quiet"]  # fmt: skip
    done = subprocess.run(train)
    if done.returncode != 0:  # rerun the same command to continue
        sys.exit(done.returncode)
    out = subprocess.run([sys.executable, "-m", "vaekit.cli", "evaluate", str(run), "--split",
                          "test", "-k", str(k), "--json", "--quiet"],
                         check=True, capture_output=True, text=True)  # fmt: skip
    res = json.loads(out.stdout)
    summary = json.loads((run / "summary.json").read_text())
    return {"command": " ".join(train), "epochs": summary["epochs_run"],
            "train_seconds": summary["seconds"], "importance_samples": k,
            "test_elbo_bits_per_dim": res["elbo_bits_per_dim"],
            "test_bits_per_dim": res["log_likelihood_bits_per_dim"]}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=["baselines", "vae"])
    p.add_argument("--data-dir", default="../shared/data")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("-k", type=int, default=1000, help="importance samples for the test score")
    args = p.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[args.what] = (baselines(args.data_dir) if args.what == "baselines"
                          else vae(args.data_dir, args.epochs, args.k))  # fmt: skip
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results[args.what], indent=2))


if __name__ == "__main__":
    main()
