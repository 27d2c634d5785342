"""``vaekit export --format onnx``: a run's encoder, decoder and score as ONNX files, each
verified with ONNX Runtime against PyTorch on real data before it is kept.

The files go to a scratch folder beside ``out`` first; only when every part's outputs agree
with PyTorch to 1e-4 (relative to the output's largest magnitude) are they moved into
``out`` with ``model.json``, which names the inputs and outputs, their shapes, the likelihood,
the preprocessing and the differences measured. A failed export leaves ``out`` as it was.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..data.transform import Transform
from ..errors import ConfigError, VaekitError
from ..models import VAE
from ..training.rundir import atomic_write
from .graphs import DecoderGraph, EncoderGraph, ScoreGraph

PARTS = ("encoder", "decoder", "score")
TOLERANCE = 1e-4  # relative to the largest magnitude of each output
FORMAT = "vaekit-onnx-1"


@dataclass
class Part:
    graph: nn.Module
    inputs: dict[str, Tensor]  # name -> an example, for tracing and for the check
    outputs: tuple[str, ...]
    dynamic: dict[str, tuple[str, ...]]  # input name -> the name of each axis


def require_onnx() -> Any:
    """onnxruntime, or a one-line error naming the extra to install."""
    try:
        import onnx  # noqa: F401
        import onnxruntime
        import onnxscript  # noqa: F401  (torch's exporter needs it)
    except ImportError as e:
        raise ConfigError(
            f"ONNX export needs the optional packages of the onnx extra ({e.name} is missing): "
            "pip install 'vaekit[onnx]'"
        ) from None
    return onnxruntime


def parts_for(model: VAE, transform: Transform | None, x: Tensor, c: Tensor | None = None,
              seed: int = 0) -> dict[str, Part]:  # fmt: skip
    """The three graphs with example inputs from real data ``x`` (data's own units, (B, C, H, W)
    for images, else (B, D)) and, for a conditional run, its condition columns ``c`` (B, P):
    z at the posterior means, 8 noise draws a row."""
    enc = EncoderGraph(model, transform).eval()
    cond: dict[str, Tensor] = {}
    if model.condition is not None and model.condition.packed:
        if c is None:
            raise ConfigError("a conditional run's graphs need its condition columns to check")
        cond = {"c": c}
    with torch.no_grad():
        z = enc(x, *cond.values())[0]
    noise = torch.randn(
        8, x.shape[0], model.latent_dim, generator=torch.Generator().manual_seed(seed)
    )
    data_axes = ("batch", *[f"d{i}" for i in range(1, x.dim())])
    axes = {"x": data_axes, "c": ("batch", "condition"), "z": ("batch", "latent"),
            "noise": ("samples", "batch", "latent")}  # fmt: skip
    given = cond if cond or model.condition is None else {"x": x}  # a mask: x conditions

    def part(graph: nn.Module, inputs: dict[str, Tensor], outputs: tuple[str, ...]) -> Part:
        return Part(graph.eval(), inputs, outputs, {k: axes[k] for k in inputs})

    return {
        "encoder": part(enc, {"x": x, **cond}, ("loc", "scale")),
        "decoder": part(DecoderGraph(model, transform), {"z": z, **given}, ("params", "mean")),
        "score": part(ScoreGraph(model, transform), {"x": x, "noise": noise, **cond}, ("elbo",)),
    }


def _export(part: Part, path: Path, opset: int | None) -> None:
    dims: dict[str, torch.export.Dim] = {}
    shapes = []
    for name in part.inputs:
        axes = part.dynamic[name]
        spec = {i: dims.setdefault(a, torch.export.Dim(a)) for i, a in enumerate(axes)
                if a in ("batch", "samples")}  # fmt: skip
        shapes.append(spec)
    # torch's exporter reports its progress on stdout and through logging and warnings
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            torch.onnx.export(part.graph, tuple(part.inputs.values()), str(path),
                              input_names=list(part.inputs), output_names=list(part.outputs),
                              dynamic_shapes=tuple(shapes), opset_version=opset, dynamo=True,
                              external_data=False, verbose=False)  # fmt: skip
        finally:
            logging.disable(logging.NOTSET)


def _verify(ort: Any, part: Part, path: Path, name: str) -> dict[str, float]:
    """Run the file on the example inputs at another batch size (and number of draws), so
    the dynamic axes are exercised too; the largest differences."""
    feeds = {k: v[:-1, :-1] if k == "noise" else v[:-1] for k, v in part.inputs.items()}
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {k: v.numpy() for k, v in feeds.items()})
    with torch.no_grad():
        want = part.graph(*feeds.values())
    want = want if isinstance(want, tuple) else (want,)
    worst_abs, worst_rel = 0.0, 0.0
    for out, g, w in zip(part.outputs, got, want, strict=True):
        w = w.numpy()
        if g.shape != w.shape:
            raise VaekitError(f"ONNX {name} output {out} has shape {g.shape}, PyTorch {w.shape}")
        diff = float(np.abs(g - w).max())
        worst_abs = max(worst_abs, diff)
        worst_rel = max(worst_rel, diff / max(float(np.abs(w).max()), 1e-30))
    if not worst_rel <= TOLERANCE:  # also catches NaN
        raise VaekitError(
            f"the exported {name} differs from PyTorch by {worst_rel:.2g} (relative; the limit is "
            f"{TOLERANCE:g}): not written"
        )
    return {"max_abs_diff": worst_abs, "max_rel_diff": worst_rel}


def _opset(path: Path) -> int:
    import onnx

    m = onnx.load(str(path), load_external_data=False)
    return next(o.version for o in m.opset_import if o.domain in ("", "ai.onnx"))


def _io(part: Part, graph_out: tuple[Tensor, ...]) -> dict[str, Any]:
    def spec(name: str, t: Tensor, axes: Sequence[str] | None) -> dict[str, Any]:
        shape = [axes[i] if axes and axes[i] in ("batch", "samples") else int(s)
                 for i, s in enumerate(t.shape)]  # fmt: skip
        return {"name": name, "shape": shape, "dtype": "float32"}

    outs = [spec(n, t, ("batch",) * 1 + ("",) * (t.dim() - 1))
            for n, t in zip(part.outputs, graph_out, strict=True)]  # fmt: skip
    return {"inputs": [spec(n, t, part.dynamic[n]) for n, t in part.inputs.items()],
            "outputs": outs}  # fmt: skip


def export_onnx(
    model: VAE,
    transform: Transform | None,
    x: np.ndarray | Tensor,
    out: str | os.PathLike,
    parts: Sequence[str] = PARTS,
    opset: int | None = None,
    about: dict[str, Any] | None = None,
    c: np.ndarray | Tensor | None = None,
) -> dict[str, Any]:
    """Export ``parts`` of ``model`` to ``out`` (a folder), verified on the real data ``x``
    (and its condition columns ``c``, for a conditional run); returns model.json's content.
    ``about``: more to record there (the run, the data)."""
    ort = require_onnx()
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} exists and is not a folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    built = parts_for(model, transform, torch.as_tensor(x, dtype=torch.float32),
                      None if c is None else torch.as_tensor(c, dtype=torch.float32))  # fmt: skip
    meta: dict[str, Any] = {"format": FORMAT, **(about or {}), "parts": {}}
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}-") as tmp:
        for name in parts:
            part, path = built[name], Path(tmp) / f"{name}.onnx"
            _export(part, path, opset)
            with torch.no_grad():
                example = part.graph(*part.inputs.values())
            example = example if isinstance(example, tuple) else (example,)
            meta["parts"][name] = {"file": path.name, **_io(part, example),
                                   **_verify(ort, part, path, name)}  # fmt: skip
            meta["opset"] = _opset(path)
        out.mkdir(exist_ok=True)
        for name in parts:
            shutil.move(str(Path(tmp) / f"{name}.onnx"), out / f"{name}.onnx")
    atomic_write(out / "model.json", json.dumps(meta, indent=2) + "\n")
    return meta
