"""Finite mixtures and anomaly scores on statically binarized MNIST: the numbers of
docs/mixtures.md (MNIST part) and docs/anomaly.md.

Run from the repository root (resumable: finished results are not redone):

    python benchmarks/mnist_anomaly.py mixtures   # independent + Bernoulli mixtures, exact NLL
    python benchmarks/mnist_anomaly.py oneclass   # one digit normal, the others anomalous
    python benchmarks/mnist_anomaly.py ood        # MNIST test vs noise, inverted, flipped, 8x8
    python benchmarks/mnist_anomaly.py table      # rewrite the docs' tables

**mixtures**: `vaekit baseline independent` and `bernoulli-mixture` with K = 10, 50, 200, 500
components (EM, 3 restarts) on the 50,000 training images; exact test log-likelihood.

**oneclass**: the 10,000 static test images with their classes, split 8,000 / 2,000 by the
permutation with seed 0 of benchmarks/conditional_mnist.py (the split is ordered by class:
split by raw index, the last 2,000 would hold only sevens, eights and nines). For each digit d:
a VAE and a 10-component Bernoulli mixture fitted to the class-d images of the 8,000
(validation carved from them), and `vaekit score` on the 2,000 with label 1 for every other
digit: AUROC per score, the complexity correction with each codec (png, webp, g4).

**ood**: a VAE trained on the 50,000 training images; 2,000 test images (in distribution)
against 2,000 of each of: uniform noise (grey levels U(0, 1), binarised as MNIST was, i.e.
each pixel 1 with probability its grey level), the same test images inverted (1 − x) and
flipped left-right, and scikit-learn's 8×8 digits scaled to [0, 1], upscaled to 20×20 and
centred in 28×28 as MNIST's digits are, binarised by the same rule.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from cli_runs import Results, command, fit, replace_block, train, vaekit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Results(ROOT / "benchmarks" / "results" / "anomaly")
MIXTURES_DOC, ANOMALY_DOC = ROOT / "docs" / "mixtures.md", ROOT / "docs" / "anomaly.md"
MIXTURES = [("independent", 1), *(("bernoulli-mixture", k) for k in (10, 50, 200, 500))]
ONECLASS_NET = ["--hidden", "400,400", "--latent-dim", "20", "--batch-size", "64", "--seed", "0",
                "--epochs", "500", "--patience", "30", "--warmup-epochs", "5"]  # fmt: skip
OOD_NET = ["--hidden", "500,500", "--latent-dim", "32", "--batch-size", "100", "--seed", "0",
           "--epochs", "50", "--lr-schedule", "cosine", "--warmup-epochs", "5"]  # fmt: skip
SCORE = ["-k", "1000", "--refine-steps", "50", "--json", "--quiet"]
CODECS = ("png", "webp", "g4")  # of the complexity-corrected score, PNG's with every score
# Published exact or IS test NLLs on this data (Uria et al. 2016, table 2, and Larochelle &
# Murray 2011) for context.
ANCHORS = {"mixture of Bernoullis, K = 500": 137.64, "RBM (500 hidden, AIS)": 86.34,
           "NADE": 88.33}  # fmt: skip


def mixtures(data_dir: str, runs: Path, threads: int) -> None:
    for kind, k in MIXTURES:
        name = f"mixture-{k}"
        if RESULTS.done(name):
            continue
        out = runs / name
        line = fit([kind, "--data", "binarized-mnist", "--data-dir", data_dir, "-K", str(k),
                    "--restarts", "3", "--seed", "0"], out, threads)  # fmt: skip
        test = json.loads(vaekit("evaluate", str(out), "--data-dir", data_dir, "--split", "test",
                                 "--json", "--quiet", threads=threads))  # fmt: skip
        summary = json.loads((out / "summary.json").read_text())
        RESULTS.save(name, {
            "kind": kind, "components": k, "fit_seconds": summary["seconds"], "threads": threads,
            "em_iterations": summary["iterations"],
            "train_log_likelihood": summary["train_log_likelihood"],
            "valid_log_likelihood": summary["valid_log_likelihood"],
            "test_log_likelihood": test["log_likelihood"],
            "test_log_likelihood_stderr": test.get("log_likelihood_stderr"),
            "commands": [line],
        })  # fmt: skip


def _pool(data_dir: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train images, train classes, held-out images, held-out classes): 8000 / 2000."""
    x = np.load(Path(data_dir) / "binarized_mnist.npz")["test"]
    y = np.load(Path(data_dir) / "binarized_mnist_test_labels.npy")
    p = np.random.default_rng(0).permutation(len(x))
    return x[p[:8000]], y[p[:8000]], x[p[8000:]], y[p[8000:]]


def _separation(out: str) -> dict:
    """The JSON metrics `vaekit score --json` prints last: {score: {auroc, auprc, ...}}."""
    return json.loads(out.strip().splitlines()[-1])


def _finished(name: str) -> bool:
    """A result scored with every codec (earlier results had PNG's only)."""
    return (
        RESULTS.done(name)
        and f"complexity_corrected_bits_{CODECS[-1]}" in RESULTS.load(name)["vae"]
    )


def _scored(run: Path, target: list[str], out: str, threads: int) -> tuple[dict, list[str]]:
    """{score: metrics} of ``vaekit score RUN TARGET`` (PNG-corrected), with the complexity
    correction of each other codec beside it as ``complexity_corrected_bits_CODEC`` (the same
    IS draws: seed 0), and the commands."""
    metrics, commands = {}, []
    for codec in CODECS:
        extra = [] if codec == CODECS[0] else ["--refine-steps", "0", "--draws", "1"]
        score = ["score", str(run), *target, "--out", f"{out}-{codec}.csv", *SCORE, *extra,
                 "--compressor", codec]  # fmt: skip
        got = _separation(vaekit(*score, threads=threads))
        if codec == CODECS[0]:
            metrics |= got
        elif "complexity_corrected_bits" in got:
            metrics[f"complexity_corrected_bits_{codec}"] = got["complexity_corrected_bits"]
        commands.append(command(*score))
    return metrics, commands


def oneclass(data_dir: str, runs: Path, threads: int) -> None:
    xs, ys, xh, yh = _pool(data_dir)
    for d in range(10):
        name = f"oneclass-{d}"
        if _finished(name):
            continue
        data, labels = runs / f"oneclass-{d}.npz", runs / f"oneclass-{d}-labels.npy"
        runs.mkdir(parents=True, exist_ok=True)
        np.savez(data, train=xs[ys == d], test=xh)
        np.save(labels, (yh != d).astype(np.uint8))
        # flat rows read as 28x28 images: the runs know their shape, so the score can code it
        vae, bmm = runs / f"oneclass-{d}-vae-images", runs / f"oneclass-{d}-bmm10-images"
        given = ["--data", str(data), "--image-shape", "28,28"]
        commands = [train([*given, *ONECLASS_NET, "--quiet"], vae, threads),
                    fit(["bernoulli-mixture", *given, "-K", "10"], bmm, threads)]  # fmt: skip
        scored = {}
        for run in (vae, bmm):
            scored[run], lines = _scored(run, ["--labels", str(labels)], str(run / "scores"),
                                         threads)  # fmt: skip
            commands += lines
        RESULTS.save(name, {
            "digit": d, "train_images": int((ys == d).sum()), "test_normal": int((yh == d).sum()),
            "test_anomalies": int((yh != d).sum()), "vae": scored[vae],
            "bernoulli_mixture_10": scored[bmm], "commands": commands,
        })  # fmt: skip


def outliers(data_dir: str, n: int = 2000, seed: int = 0) -> dict[str, np.ndarray]:
    """The in-distribution test images and the four outlier sets, (n, 784) uint8 each."""
    from PIL import Image
    from sklearn.datasets import load_digits

    rng = np.random.default_rng(seed)
    test = np.load(Path(data_dir) / "binarized_mnist.npz")["test"]
    x = test[rng.permutation(len(test))[:n]]  # the test split is ordered by class

    def binarise(grey: np.ndarray) -> np.ndarray:  # (n, 784) in [0, 1] -> 0/1
        return (rng.random(grey.shape) < grey).astype(np.uint8)

    small = load_digits().images / 16.0  # (1797, 8, 8) in [0, 1]
    small = small[rng.integers(0, len(small), n)]
    up = np.stack([np.asarray(Image.fromarray((im * 255).astype(np.uint8)).resize(
        (20, 20), Image.BILINEAR)) / 255.0 for im in small])  # fmt: skip
    framed = np.zeros((n, 28, 28))
    framed[:, 4:24, 4:24] = up
    return {
        "mnist": x,
        "noise": binarise(rng.random((n, 784))),
        "inverted": 1 - x,
        "flipped": x.reshape(n, 28, 28)[:, :, ::-1].reshape(n, 784).copy(),
        "digits-8x8": binarise(framed.reshape(n, 784)),
    }


def ood(data_dir: str, runs: Path, threads: int) -> None:
    run = runs / "ood-vae"
    sets = outliers(data_dir)
    runs.mkdir(parents=True, exist_ok=True)
    for name, x in sets.items():
        np.save(runs / f"ood-{name}.npy", x)
    for name in sets:
        if name == "mnist" or _finished(f"ood-{name}"):
            continue
        line = train(["--data", "binarized-mnist", "--data-dir", data_dir, *OOD_NET, "--quiet"],
                     run, threads)  # fmt: skip
        bmm = runs / "mixture-200"  # the mixtures part's, fitted here if that has not run
        res, commands = {}, [line, fit(["bernoulli-mixture", "--data", "binarized-mnist",
                                        "--data-dir", data_dir, "-K", "200", "--restarts", "3",
                                        "--seed", "0"], bmm, threads)]  # fmt: skip
        target = ["--normal-data", str(runs / "ood-mnist.npy"), "--anomaly-data",
                  str(runs / f"ood-{name}.npy")]  # fmt: skip
        for model in (run, bmm):
            res[model.name], lines = _scored(model, target, str(runs / f"ood-{name}-{model.name}"),
                                             threads)  # fmt: skip
            commands += lines
        RESULTS.save(f"ood-{name}", {"outliers": name, "n": len(sets[name]), "vae": res[run.name],
                                     "bernoulli_mixture_200": res[bmm.name],
                                     "commands": commands})  # fmt: skip


def _label(score: str) -> str:
    """A column's name: the score's, and for the complexity correction its codec."""
    if score.startswith("complexity_corrected_bits"):
        codec = score.removeprefix("complexity_corrected_bits").lstrip("_") or CODECS[0]
        return f"complexity_corrected_bits, {codec}"
    return score


def _auroc_table(rows: list[tuple[str, dict]], first: str) -> str:
    """Markdown: one row per (label, {model: {score: metrics}}), one column per model's score,
    and the mean AUROC of each column (the best in bold)."""
    cols = [(m, s) for m, scores in rows[0][1].items() for s in scores]
    head = " | ".join(f"{m.replace('_', ' ')}: {_label(s)}" for m, s in cols)
    lines = [f"| {first} | {head} |", "|---" * (len(cols) + 1) + "|"]
    for label, res in rows:
        lines.append(f"| {label} | " + " | ".join(f"{res[m][s]['auroc']:.3f}" for m, s in cols)
                     + " |")  # fmt: skip
    means = [float(np.mean([res[m][s]["auroc"] for _, res in rows])) for m, s in cols]
    best = max(means)
    lines.append("| **mean** | " + " | ".join(f"**{v:.3f}**" if v == best else f"{v:.3f}"
                                             for v in means) + " |")  # fmt: skip
    return "\n".join(lines)


def write_tables() -> None:
    done = [RESULTS.load(f"mixture-{k}") for _, k in MIXTURES if RESULTS.done(f"mixture-{k}")]
    lines = ["| model | test log-likelihood (nats), exact | validation | EM iterations (best restart) | fit "
             "seconds (1 thread) |", "|---|---|---|---|---|"]  # fmt: skip
    for r in done:
        title = ("independent Bernoulli (K = 1)" if r["kind"] == "independent"
                 else f"mixture of Bernoullis, K = {r['components']} (3 restarts)")  # fmt: skip
        lines.append(f"| {title} | **{r['test_log_likelihood']:.2f}** | "
                     f"{r['valid_log_likelihood']:.2f} | {r['em_iterations']} | "
                     f"{r['fit_seconds']:.0f} |")  # fmt: skip
    for name in ("vae", "iwae", "vamp", "vamp-iwae", "vamp-iwae-wd"):
        path = ROOT / "benchmarks" / "results" / f"{name}.json"
        if path.exists():
            r = json.loads(path.read_text())
            lines.append(f"| {r['title']} (docs/likelihood.md), IS-5000 | "
                         f"**{r['test']['log_likelihood']:.2f}** | | | |")  # fmt: skip
    lines += [f"| {k} (published) | −{v} | | | |" for k, v in ANCHORS.items()]
    replace_block(MIXTURES_DOC, "\n".join(lines), "mnist")
    oc = [RESULTS.load(f"oneclass-{d}") for d in range(10) if RESULTS.done(f"oneclass-{d}")]
    if oc:
        replace_block(ANOMALY_DOC, _auroc_table(
            [(str(r["digit"]), {"VAE": r["vae"], "mixture K=10": r["bernoulli_mixture_10"]})
             for r in oc], "normal digit"), "oneclass")  # fmt: skip
    names = ("noise", "inverted", "flipped", "digits-8x8")
    od = [RESULTS.load(f"ood-{n}") for n in names if RESULTS.done(f"ood-{n}")]
    if od:
        replace_block(ANOMALY_DOC, _auroc_table(
            [(r["outliers"], {"VAE": r["vae"], "mixture K=200": r["bernoulli_mixture_200"]})
             for r in od], "outliers"), "ood")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("part", choices=["mixtures", "oneclass", "ood", "table"])
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--runs", default=str(ROOT / "runs" / "anomaly"), help="run dirs")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    parts = {"mixtures": mixtures, "oneclass": oneclass, "ood": ood}
    if a.part == "table":
        write_tables()
    else:
        parts[a.part](a.data_dir, Path(a.runs), a.threads)


if __name__ == "__main__":
    main()
