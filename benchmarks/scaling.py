"""Data-parallel cost on this machine: seconds per epoch of the classic MNIST MLP (784-400-20,
batch 128) trained by one process with 2 threads and by two processes (torchrun, gloo) with
1 thread each — processes × threads = the 2 cores — interleaved, medians. Writes the table
into docs/scaling.md.

    python benchmarks/scaling.py [--repeats 3] [--epochs 3] [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from cli_runs import replace_block

ROOT = Path(__file__).resolve().parent.parent
NET = ["--hidden", "400", "--latent-dim", "20", "--likelihood", "bernoulli", "--batch-size",
       "128", "--seed", "0", "--quiet"]  # fmt: skip


def _port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as s:
        return s.getsockname()[1]


def epoch_seconds(processes: int, threads: int, out: Path, data_dir: str, epochs: int) -> float:
    args = ["train", "--data", "binarized-mnist", "--data-dir", data_dir, *NET, "--epochs",
            str(epochs), "--out", str(out)]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    if processes == 1:
        cmd = [sys.executable, "-m", "vaekit", *args, "--threads", str(threads)]
    else:
        cmd = [str(Path(sys.executable).with_name("torchrun")), "--nproc-per-node",
               str(processes), "--master-port", str(_port()), "-m", "vaekit", *args]  # fmt: skip
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    rows = [json.loads(r) for r in (out / "metrics.jsonl").read_text().splitlines()]
    return statistics.median(r["train_seconds"] for r in rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=3)
    a = ap.parse_args()
    setups = [(1, 2), (2, 1), (1, 1)]  # (processes, threads each)
    times: dict[tuple[int, int], list[float]] = {s: [] for s in setups}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(a.repeats):
            for p, t in setups:
                times[(p, t)].append(epoch_seconds(p, t, Path(tmp) / f"{p}x{t}-{r}", a.data_dir,
                                                   a.epochs))  # fmt: skip
    med = {s: statistics.median(v) for s, v in times.items()}
    base = med[(1, 2)]
    lines = ["| processes × threads | seconds per epoch (median) | relative to 1 × 2 |",
             "|---|---|---|"]  # fmt: skip
    lines += [f"| {p} × {t} | {med[(p, t)]:.2f} | {med[(p, t)] / base:.2f} |" for p, t in setups]
    block = "\n".join(lines) + (f"\n\n{a.repeats} interleaved repeats of {a.epochs} epochs each; "
                                "training seconds only (validation excluded).")  # fmt: skip
    print(block)
    replace_block(ROOT / "docs" / "scaling.md", block, "measured")


if __name__ == "__main__":
    main()
