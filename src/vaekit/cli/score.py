"""``vaekit score``: anomaly scores per example, how well they separate labelled anomalies,
and thresholds calibrated on the run's validation split."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import click
import numpy as np

from ..data import check_array, read_npy
from ..errors import DataError, RunDirError
from ..inference.compressors import COMPRESSOR_CHOICES, DEFAULT_COMPRESSOR, compressed_bits
from ..inference.scores import (
    SCORES,
    anomaly_scores,
    complexity_corrected,
    separation,
    thresholds,
)
from ..training import Run, load_run
from ..training.baseline import BaselineRun, is_baseline, load_baseline
from ..training.rundir import atomic_write, weights_digest
from ..viz import save_roc
from .common import _hwc, check_baseline_data, check_output, data_of, data_options

THRESHOLDS_FILE = "thresholds.json"


@click.command()
@click.argument("run_dir")
@data_options
@click.option("--out", type=click.Path(path_type=Path), help="CSV of the scores per example.")
@click.option(
    "-k",
    "--importance-samples",
    "k",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="Draws of the IS estimate of −log p(x); 0 skips it.",
)
@click.option(
    "--draws",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="Posterior draws of the −ELBO and reconstruction scores.",
)
@click.option(
    "--refine-steps",
    type=click.IntRange(min=0),
    default=50,
    show_default=True,
    help="Steps of per-example refinement of q for the amortisation gap; 0 skips it.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every draw.")
@click.option(
    "--compressor",
    type=click.Choice(COMPRESSOR_CHOICES),
    default=DEFAULT_COMPRESSOR,
    show_default=True,
    help="Lossless codec of the complexity-corrected score (computed with -k > 0): png, "
    "lossless webp, or g4 (CCITT Group 4, 0/1 single-channel images only).",
)
@click.option(
    "--labels",
    type=click.Path(path_type=Path),
    help=".npy of 0 (normal) / 1 (anomaly), one per example: adds AUROC, AUPRC, FPR@95.",
)
@click.option("--normal-data", type=click.Path(path_type=Path), help=".npy of normal examples.")
@click.option("--anomaly-data", type=click.Path(path_type=Path), help=".npy of anomalies.")
@click.option(
    "--roc", type=click.Path(path_type=Path), help="PNG of the ROC curves (needs labels)."
)
@click.option(
    "--calibrate",
    is_flag=True,
    help=f"Thresholds for --target-fpr from the run's validation split, saved as "
    f"RUN/{THRESHOLDS_FILE}.",
)
@click.option(
    "--target-fpr",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.05,
    show_default=True,
    help="False-positive rate of --calibrate.",
)
@click.option(
    "--threshold-from",
    type=click.Path(path_type=Path),
    help=f"A run whose {THRESHOLDS_FILE} flags examples (flag_* columns).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the separation metrics as JSON.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def score(run_dir: str, data: str | None, data_dir: str | None, split: str, out: Path | None,
          labels: Path | None, normal_data: Path | None, anomaly_data: Path | None,
          roc: Path | None, calibrate: bool, target_fpr: float, threshold_from: Path | None,
          as_json: bool, quiet: bool, **settings: Any) -> None:  # fmt: skip
    """Anomaly scores per example (larger = more anomalous), with AUROC when labelled."""
    if out is None and not calibrate:
        raise click.UsageError("give --out FILE.csv for the scores (or --calibrate)")
    if out is not None:
        check_output(out, (".csv",))
    if roc is not None:
        check_output(roc, (".png",))
    if (normal_data is None) != (anomaly_data is None):
        raise click.UsageError("--normal-data and --anomaly-data go together")
    if roc is not None and labels is None and normal_data is None:
        raise click.UsageError("--roc needs labels (--labels, or --normal-data/--anomaly-data)")
    if normal_data is not None and (labels is not None or data is not None):
        raise click.UsageError("--normal-data/--anomaly-data are the data and its labels: "
                               "drop --data and --labels")  # fmt: skip
    run = load_baseline(run_dir) if is_baseline(run_dir) else load_run(run_dir)
    if calibrate:
        _calibrate(run, data, data_dir, target_fpr, quiet, settings)
        if out is None:
            return
    limits = _thresholds_of(threshold_from, run, settings) if threshold_from is not None else None
    x, y = _scored_rows(run, data, data_dir, split, labels, normal_data, anomaly_data)
    s = _scores(run, x, quiet, settings)
    _write_csv(out, s, y, limits)  # type: ignore[arg-type]
    click.echo(f"wrote {x.shape[0]} examples' scores to {out}", err=as_json)
    if y is None:
        return
    metrics = separation(s, y)
    if roc is not None:
        save_roc({n: v for n, v in s.items() if n in SCORES}, y, roc)
    if as_json:
        click.echo(json.dumps(metrics))
        return
    click.echo(f"{'score':<28}{'AUROC':>8}{'AUPRC':>8}{'FPR@95%TPR':>12}")
    for name, m in metrics.items():
        click.echo(f"{name:<28}{m['auroc']:8.4f}{m['auprc']:8.4f}{m['fpr_at_95_tpr']:12.4f}")


def _scores(
    run: Run | BaselineRun, x: np.ndarray, quiet: bool, settings: dict[str, Any]
) -> dict[str, np.ndarray]:
    if isinstance(run, BaselineRun):  # exact −log p(x); nothing to sample or refine
        out = {"nll_nats": -run.model.log_prob(x)}
        if run.model.binary and run.data.image_shape is not None:
            bits = compressed_bits(x, run.data.image_shape, (0.0, 1.0), settings["compressor"])
            out |= complexity_corrected(out["nll_nats"], bits)
        return out
    cfg = run.config
    return anomaly_scores(run.model, x, importance_samples=settings["k"],
                          draws=settings["draws"], refine_steps=settings["refine_steps"],
                          seed=settings["seed"], transform=run.transform,
                          image_shape=cfg.model.image_shape, value_range=cfg.data.value_range,
                          compressor=settings["compressor"], quiet=quiet)  # fmt: skip


def _scored_rows(run: Run | BaselineRun, data: str | None, data_dir: str | None, split: str,
                 labels: Path | None, normal: Path | None, anomaly: Path | None
                 ) -> tuple[np.ndarray, np.ndarray | None]:  # fmt: skip
    """Model-unit rows to score and their labels (None if unlabelled)."""
    if normal is not None and anomaly is not None:
        parts = [_file_rows(run, p) for p in (normal, anomaly)]
        y = np.repeat([0, 1], [parts[0].shape[0], parts[1].shape[0]])
        return np.concatenate(parts), y
    x = data_of(run, data, data_dir).inputs(split)  # with c beside x for a conditional run
    if labels is None:
        return x, None
    y = read_npy(labels)
    if y.ndim != 1 or y.shape[0] != x.shape[0] or not np.isin(y, (0, 1)).all():
        raise DataError(
            f"{labels} must hold one 0 (normal) or 1 (anomaly) per example: {x.shape[0]} "
            f"values, got shape {y.shape}"
            + ("" if y.ndim != 1 or y.shape[0] != x.shape[0] else " with other values")
        )
    if len(np.unique(y)) < 2:
        raise DataError(f"{labels} holds only {int(y[0])}s: AUROC needs normal (0) and anomalous "
                        "(1) examples both")  # fmt: skip
    return x, y.astype(np.int64)


def _file_rows(run: Run | BaselineRun, path: Path) -> np.ndarray:
    """All rows of a .npy file, checked against the run and put in its model's units."""
    base = isinstance(run, BaselineRun)
    if not base and run.model.row_dim != run.model.input_dim:  # type: ignore[union-attr]
        raise DataError(f"{path}: a .npy file carries no conditions, which this conditional "
                        "run needs; score it with --data (an .npz with its labels or vectors)")  # fmt: skip
    rows, shape = check_array(read_npy(path), str(path))
    want = run.model.dim if base else run.model.input_dim  # type: ignore[union-attr]
    mine = _hwc(run.data.image_shape if base else run.config.model.image_shape)  # type: ignore[union-attr]
    if rows.shape[1] != want or (shape is not None and mine and _hwc(shape) != mine):
        got = "x".join(map(str, _hwc(shape))) if shape else f"rows of {rows.shape[1]} values"
        took = "x".join(map(str, mine)) if mine else f"rows of {want} values"
        raise DataError(f"{path} holds {got} (HxWxC); the run's model takes {took}")
    if base:
        check_baseline_data(run, rows, str(path))  # type: ignore[arg-type]
        return rows
    t = run.transform  # type: ignore[union-attr]
    rows = t.apply(rows) if t is not None else rows
    run.model.likelihood.check_data(rows, str(path))  # type: ignore[union-attr]
    return rows


def _calibrate(run: Run | BaselineRun, data: str | None, data_dir: str | None,
               target_fpr: float, quiet: bool, settings: dict[str, Any]) -> None:  # fmt: skip
    ds = data_of(run, data, data_dir)
    s = _scores(run, ds.inputs("valid"), quiet, settings)
    run_dir = run.run_dir
    record = {"weights": weights_digest(run_dir), "target_fpr": target_fpr,
              "n_valid": ds.size("valid"), "settings": settings,
              "thresholds": thresholds(s, target_fpr)}  # fmt: skip
    atomic_write(Path(run_dir) / THRESHOLDS_FILE, (json.dumps(record, indent=2) + "\n").encode())
    click.echo(f"wrote {Path(run_dir) / THRESHOLDS_FILE}: thresholds for a {target_fpr:g} "
               f"false-positive rate on {record['n_valid']} validation examples", err=True)  # fmt: skip


def _thresholds_of(source: Path, run: Run | BaselineRun, settings: dict[str, Any]
                   ) -> dict[str, float]:  # fmt: skip
    path = source / THRESHOLDS_FILE if source.is_dir() else source
    if not path.is_file():
        raise RunDirError(f"{path} does not exist: calibrate with vaekit score RUN --calibrate")
    try:
        record = json.loads(path.read_text())
        limits = {str(k): float(v) for k, v in record["thresholds"].items()}
        weights, calibrated = record["weights"], record.get("settings")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise RunDirError(f"{path} is not a thresholds file written by vaekit score --calibrate"
                          ) from None  # fmt: skip
    if weights != weights_digest(run.run_dir):
        raise RunDirError(f"{path} holds thresholds of another model than {run.run_dir}'s; "
                          "calibrate this run with --calibrate")  # fmt: skip
    if isinstance(calibrated, dict):  # files from before --compressor used the default
        calibrated = {"compressor": DEFAULT_COMPRESSOR, **calibrated}
        codec = calibrated["compressor"]
        if "complexity_corrected_bits" in limits and codec != settings["compressor"]:
            raise RunDirError(f"{path} holds thresholds of --compressor {codec} scores; score "
                              f"with --compressor {codec}, or calibrate again")  # fmt: skip
    if calibrated != settings:  # other draws or refinement move the scores the limits are for
        click.echo(f"vaekit: note: {path} was calibrated with {calibrated}, these scores use "
                   f"{settings}: flags may not keep the target rate", err=True)  # fmt: skip
    return limits


def _write_csv(out: Path, s: dict[str, np.ndarray], y: np.ndarray | None,
               limits: dict[str, float] | None) -> None:  # fmt: skip
    names = [n for n in (*SCORES, "compressed_bits") if n in s]
    flagged = [n for n in names if limits and n in limits]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["index", *(["label"] if y is not None else []), *names,
                *(f"flag_{n}" for n in flagged)])  # fmt: skip
    for i in range(len(s[names[0]])):
        w.writerow([i, *([int(y[i])] if y is not None else []),
                    *(f"{s[n][i]:.6f}" for n in names),
                    *(int(s[n][i] > limits[n]) for n in flagged)])  # type: ignore[index]  # fmt: skip
    atomic_write(out, buf.getvalue().encode())
