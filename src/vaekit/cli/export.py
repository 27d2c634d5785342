"""``vaekit export``: the run's encoder, decoder and score as verified ONNX files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import numpy as np
import torch

from ..export import PARTS, export_onnx
from ..export.graphs import ImageRows
from .common import data_options, in_data_units, run_and_data

VERIFY_ROWS = 64  # real examples the exported graphs are checked on


@click.command()
@click.argument("run_dir")
@data_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["onnx"]),
    default="onnx",
    show_default=True,
    help="File format.",
)
@click.option(
    "--part",
    type=click.Choice([*PARTS, "all"]),
    default="all",
    show_default=True,
    help="encoder (x -> posterior mean, scale), decoder (z -> likelihood parameters, "
    "mean), score (x, noise -> ELBO per example), or all.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder for the files and model.json.",
)
@click.option("--opset", type=click.IntRange(min=7), help="ONNX opset (default: the exporter's).")
def export(run_dir: str, data: str | None, data_dir: str | None, split: str, fmt: str, part: str,
           out: Path, opset: int | None) -> None:  # fmt: skip
    """The run's encoder, decoder and score as ONNX files, verified with ONNX Runtime.

    Each file is run on real data from the run's data set and compared with PyTorch (at most
    1e-4 relative difference) before it is written; model.json names the inputs and outputs.
    """
    import vaekit

    run, ds = run_and_data(run_dir, data, data_dir)
    check = slice(0, VERIFY_ROWS)
    rows = in_data_units(run, ds.rows(split, check))  # the data as stored
    c = ds.inputs(split, check)[:, ds.dim :]  # (B, P): a conditional run's columns, or none
    # as the graphs take it: images (B, C, H, W), rows (B, D)
    x = ImageRows(run.config.model.image_shape).images(torch.from_numpy(rows.astype(np.float32)))
    x = x.contiguous()
    if x.shape[0] < 2:
        raise click.BadParameter("the data needs at least 2 examples to check the files on",
                                 param_hint="--data")  # fmt: skip
    cfg = run.config
    about = {
        "vaekit_version": vaekit.__version__, "run": str(Path(run_dir).resolve()),
        "likelihood": {"name": cfg.model.likelihood,
                       "params_per_value": run.model.likelihood.params_per_dim,
                       "discrete": run.model.likelihood.discrete},
        "latent_dim": cfg.model.latent_dim, "prior": cfg.model.prior,
        "data": {"units": "the data's own, as stored (the preprocessing below is inside the "
                          "graphs)",
                 "layout": "images (batch, C, H, W)" if cfg.model.image_shape else
                           "rows (batch, D)",
                 "image_shape_hwc": cfg.model.image_shape, "preprocessing": cfg.data.transform,
                 "value_range": cfg.data.value_range, "checked_on": f"{ds.name} ({split})"},
        "score": "ELBO per example in nats (data's own units), averaged over the noise draws "
                 "z = loc + scale * noise; higher is more probable",
        "condition": _condition_about(run),
    }  # fmt: skip
    parts = PARTS if part == "all" else (part,)
    meta = export_onnx(run.model, run.transform, x, out, parts, opset, about, c=c)
    for name in parts:
        p = meta["parts"][name]
        click.echo(f"wrote {out / p['file']} (verified: max difference {p['max_abs_diff']:.2g}, "
                   f"{p['max_rel_diff']:.2g} relative)")  # fmt: skip
    click.echo(f"wrote {out / 'model.json'} (opset {meta['opset']})")


def _condition_about(run: Any) -> dict[str, Any] | None:
    """What a conditional run's extra input means, for model.json."""
    m = run.config.model
    kind = m.condition_kind
    if kind is None:
        return None
    said = {"setting": m.condition, "kind": kind}
    if kind == "labels":
        return {**said, "input": "c (batch, 1): the class index as a float, 0-based, in the "
                "order of 'classes'", "classes": list(m.condition_classes)}  # fmt: skip
    if kind == "vector":
        return {**said, "input": "c (batch, C): the raw attribute vector (standardised inside "
                "the graphs)", "mean": list(m.condition_mean), "std": list(m.condition_std)}  # fmt: skip
    return {**said, "input": "none for the encoder and the score (the condition is x's observed "
            "part; the score is the ELBO of the unobserved part); the decoder takes x after z "
            "and reads only its observed values", "observed": list(m.condition_mask)}  # fmt: skip
