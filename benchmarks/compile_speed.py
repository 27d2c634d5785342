"""What `vaekit train --compile` (torch.compile of the encoder and decoder) costs and gains.
Run from the repository root, with nothing else running:
    python benchmarks/compile_speed.py [--data-dir ../shared/data] [--repeats 3] [--epochs 3]
For the classic MLP (784-400-20, batch 128) and the likelihood benchmark's conv VAE (channels
32,64, fc 512, latent 50, batch 100) on static binarized MNIST (50,000 training images), eager
and compiled runs of `--epochs` epochs alternate within each repeat (2 threads, fp32, CPU).
From each run's metrics.jsonl: the first epoch's training seconds (it includes compiling, and
recompiling for the epoch's last, smaller batch) and the median of the later epochs. Printed
and written to benchmarks/results/compile_speed.json: the per-epoch speed-up (eager / compiled,
medians over repeats), the one-time cost (compiled first epoch − compiled later epochs), and
after how many epochs compiling has paid for itself. No wall-clock number is asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from cli_runs import replace_block

import vaekit

ROOT = Path(__file__).resolve().parents[1]
MODELS = {
    "classic MLP 784-400-20, batch 128": {"hidden": "400", "latent_dim": 20, "batch_size": 128},
    "conv 32,64 / fc 512 / latent 50, batch 100": {
        "arch": "conv", "channels": "32,64", "hidden": "512", "latent_dim": 50, "batch_size": 100},
}  # fmt: skip


def one_run(ds: vaekit.Dataset, model: dict, epochs: int, compiled: bool, out: Path) -> dict:
    run = vaekit.train(dataset=ds, data="binarized-mnist", out=out, overwrite=True, quiet=True,
                 epochs=epochs, likelihood="bernoulli", lr=1e-3, lr_schedule="constant",
                 seed=0, threads=2, compile=compiled, **model)  # fmt: skip
    rows = run.metrics
    seconds = [r["train_seconds"] for r in rows]
    return {"first": seconds[0], "later": statistics.median(seconds[1:]),
            "valid_elbo": rows[-1]["valid_elbo"]}  # fmt: skip


def measure(ds: vaekit.Dataset, name: str, model: dict, repeats: int, epochs: int,
            tmp: Path) -> dict:  # fmt: skip
    runs: dict[str, list[dict]] = {"eager": [], "compiled": []}
    for r in range(repeats):
        for kind in ("eager", "compiled") if r % 2 == 0 else ("compiled", "eager"):
            runs[kind].append(one_run(ds, model, epochs, kind == "compiled", tmp / kind))
            print(f"  {name} · repeat {r + 1} · {kind}: {runs[kind][-1]}", flush=True)

    def med(kind: str, key: str) -> float:
        return statistics.median(v[key] for v in runs[kind])

    eager, comp = med("eager", "later"), med("compiled", "later")
    cost = med("compiled", "first") - comp
    saved = eager - comp
    return {"model": name, "eager_epoch_seconds": eager, "compiled_epoch_seconds": comp,
            "speedup": eager / comp, "compile_seconds": cost,
            "pays_after_epochs": (cost / saved) if saved > 0 else None,
            "valid_elbo_eager": med("eager", "valid_elbo"),
            "valid_elbo_compiled": med("compiled", "valid_elbo"), "runs": runs}  # fmt: skip


def table(results: list[dict], meta: dict) -> str:
    lines = ["| model | eager s/epoch | compiled s/epoch | speed-up | one-time compile (s) | "
             "pays after | valid ELBO eager / compiled |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in results:
        pays = "never" if r["pays_after_epochs"] is None else f"{r['pays_after_epochs']:.1f} epochs"
        lines.append(f"| {r['model']} | {r['eager_epoch_seconds']:.2f} | "
                     f"{r['compiled_epoch_seconds']:.2f} | {r['speedup']:.2f}x | "
                     f"{r['compile_seconds']:.1f} | {pays} | {r['valid_elbo_eager']:.2f} / "
                     f"{r['valid_elbo_compiled']:.2f} |")  # fmt: skip
    lines.append(f"\nMedians of {meta['repeats']} interleaved repeats of {meta['epochs']} epochs "
                 f"each (training seconds, validation excluded; later epochs for the per-epoch "
                 f"columns), 2 threads, fp32, torch {meta['torch']}.")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--models", default=",".join(str(i) for i in range(len(MODELS))),
                    help="which models, by index: 0 the MLP, 1 the conv VAE")  # fmt: skip
    a = ap.parse_args()
    import torch

    ds = vaekit.load_dataset("binarized-mnist", a.data_dir)
    chosen = [list(MODELS.items())[int(i)] for i in a.models.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        results = [measure(ds, name, model, a.repeats, a.epochs, Path(tmp))
                   for name, model in chosen]  # fmt: skip
    meta = {"repeats": a.repeats, "epochs": a.epochs, "torch": torch.__version__}
    out = ROOT / "benchmarks" / "results" / "compile_speed.json"
    out.write_text(json.dumps({**meta, "results": results}, indent=2) + "\n")
    print(table(results, meta))
    print(f"wrote {out}")
    replace_block(ROOT / "docs" / "benchmarks.md", table(results, meta), "compile")


if __name__ == "__main__":
    main()
