"""What the explorer page asks of a run, answered from the saved model: the latent map of a
split, decoded images at any latent or map position, interpolations, samples and the most
anomalous examples. Every request's values are checked here; a bad one is a
:class:`BadRequest` (HTTP 400), never an exception from deeper down."""

from __future__ import annotations

import base64
import io
import math
import re
from typing import Any

import numpy as np
import torch
from PIL import Image

from ..errors import ConfigError
from ..inference.evaluation import elbo_terms
from ..inference.explore import (
    condition_features,
    condition_path,
    dims_by_activity,
    lerp,
    project,
    slerp,
)
from ..inference.expost import posterior_means
from ..models.conditions import Labels, Mask
from ..training.rundir import Run

LIMIT = 1e3  # |z| and map coordinates beyond this are refused: nothing useful lives there
MAX_IMAGES = 64  # per request
PIXELS = 160  # the shown image's longer side, upscaled from the model's


class BadRequest(ValueError):
    """A request the explorer cannot answer as asked (HTTP 400, with this message)."""


def number(value: Any, name: str, lo: float = -LIMIT, hi: float = LIMIT) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f"{name} must be a number")
    try:
        v = float(value)
    except OverflowError:  # a JSON integer of hundreds of digits
        v = math.inf
    if not math.isfinite(v) or not lo <= v <= hi:
        raise BadRequest(f"{name} must be a finite number in [{lo:g}, {hi:g}]")
    return v


def whole(value: Any, name: str, lo: int, hi: int) -> int:
    """A whole number in [lo, hi], given as a JSON integer or a query string of digits."""
    if isinstance(value, int) and not isinstance(value, bool):
        v = value
    elif isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]{1,18}", value.strip()):
        v = int(value.strip())
    else:
        raise BadRequest(f"{name} must be a whole number")
    if not lo <= v <= hi:
        raise BadRequest(f"{name} must be between {lo} and {hi}")
    return v


class Explorer:
    """A loaded run and up to ``max_points`` rows (N, D [+ P]) of one split in model units."""

    def __init__(self, run: Run, rows: np.ndarray, labels: np.ndarray | None,
                 max_points: int = 5000, seed: int = 0) -> None:  # fmt: skip
        model = run.model.eval()
        if run.config.model.image_shape is None:
            raise ValueError("the explorer shows images: this run models flat rows")
        if isinstance(model.condition, Mask):
            raise ValueError("a mask run decodes only given an observed part: use vaekit complete")
        keep = np.sort(np.random.default_rng(seed).permutation(len(rows))[:max_points])
        self.run, self.model, self.rows = run, model, rows[keep].astype(np.float32)
        self.labels = None if labels is None else np.asarray(labels)[keep]
        self.classes: list[str] | None = None
        if isinstance(model.condition, Labels):
            self.classes = list(model.condition.classes)
            self.labels = self.rows[:, -1].astype(np.int64)
        self.z = posterior_means(model, self.rows)  # (N, L)
        self.xy, self.axis, self.pca = project(self.z, "pca", seed)
        self.order, self.activity, self.activity_name = dims_by_activity(model, self.rows)
        self._anomaly: np.ndarray | None = None

    # --- what the page shows first
    def info(self) -> dict[str, Any]:
        shape = self.run.config.model.image_shape
        return {"latent_dim": self.model.latent_dim, "image_shape": list(shape),
                "dims": [int(d) for d in self.order],
                "activity": [float(a) for a in self.activity], "activity_name": self.activity_name,
                "classes": self.classes, "points": len(self.rows), "axis": self.axis,
                "run": self.run.run_dir.name,
                "condition_mean": (None if self.classes is not None or self.model.condition is None
                                   else list(self.run.config.model.condition_mean))}  # fmt: skip

    def points(self) -> dict[str, Any]:
        return {"xy": np.round(self.xy, 5).tolist(),
                "labels": None if self.labels is None else [int(v) for v in self.labels],
                "label_names": self.classes}  # fmt: skip

    # --- requests
    def latent(self, body: dict[str, Any]) -> np.ndarray:
        """z (L,) from {"z": [...]} or a map position {"xy": [x, y]}."""
        if "z" in body:
            z = body["z"]
            if not isinstance(z, list) or len(z) != self.model.latent_dim:
                raise BadRequest(f"z must be a list of {self.model.latent_dim} numbers")
            return np.array([number(v, "z") for v in z])
        if "xy" in body:
            xy = body["xy"]
            if not isinstance(xy, list) or len(xy) != 2:
                raise BadRequest("xy must be a list of 2 numbers")
            p = np.array([[number(v, "xy") for v in xy]])
            if self.pca is not None:
                return self.pca.inverse_transform(p)[0]
            return p[0, : self.model.latent_dim]
        raise BadRequest("give z (a latent) or xy (a position on the map)")

    def features(self, klass: Any, n: int) -> torch.Tensor | None:
        """(n, F) features of a class name (labels), of a raw attribute vector (a list of
        numbers; default the training mean), or None for an unconditional run."""
        vector = None
        if self.model.condition is None and klass is not None:
            raise BadRequest("this run is not conditional")
        if self.classes is None and klass is not None:  # attribute vectors, checked here
            want = self.model.condition.packed if self.model.condition is not None else 0
            if not isinstance(klass, list) or len(klass) != want:
                raise BadRequest(f"condition must be a list of {want} numbers")
            klass, vector = None, [number(x, "condition") for x in klass]
        elif klass is not None and (not isinstance(klass, str) or klass not in self.classes):
            raise BadRequest(f"class must be one of {', '.join(self.classes or ())}")
        try:
            return condition_features(self.model, n, klass, vector)
        except ConfigError as e:
            raise BadRequest(str(e)) from None

    @torch.inference_mode()
    def decode(self, z: np.ndarray, klass: Any = None, f: torch.Tensor | None = None
               ) -> np.ndarray:  # fmt: skip
        """Decoder means (N, D) in the data's own units at latents z (N, L), with features f
        (N, F), or those of ``klass`` (default: the first class, or the training mean)."""
        f = self.features(klass, len(z)) if f is None else f
        out = self.model.decode(torch.from_numpy(z.astype(np.float32)), f).mean.numpy()
        t = self.run.transform
        return t.invert(out) if t is not None else out

    def png(self, x: np.ndarray) -> str:
        """One decoded row (D,) in data units -> a data: URL of a PNG."""
        shape = self.run.config.model.image_shape
        h, w = shape[0], shape[1]
        c = int(np.prod(shape[2:], dtype=np.int64))
        lo, hi = self.run.config.data.value_range or (0.0, 1.0)
        img = np.clip((x.reshape(h, w, c) - lo) / ((hi - lo) or 1.0), 0, 1)
        img = (img[..., :3] if c >= 3 else img[..., 0]) * 255
        pic = Image.fromarray(img.round().astype(np.uint8))
        scale = max(1, PIXELS // max(h, w))
        pic = pic.resize((w * scale, h * scale), Image.NEAREST)
        buf = io.BytesIO()
        pic.save(buf, format="PNG")
        return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()

    def decoded(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object")
        z = self.latent(body)
        x = self.decode(z[None], body.get("class", body.get("condition")))[0]
        return {"z": z.tolist(), "image": self.png(x), "values": x.tolist()}

    def interpolate(self, i: Any, j: Any, steps: Any, klass: Any = None) -> dict[str, Any]:
        n = len(self.rows)
        a, b = whole(i, "i", 0, n - 1), whole(j, "j", 0, n - 1)
        k = whole(steps, "steps", 2, MAX_IMAGES // 2)
        za, zb = self.z[a], self.z[b]
        paths = {"linear": lerp(za, zb, k), "spherical": slerp(za, zb, k)}
        # the path between the examples' own conditions, unless a class is asked for
        f = None if klass is not None else condition_path(self.model, self.rows[[a, b]], k)
        return {name: [self.png(x) for x in self.decode(z, klass, f)]
                for name, z in paths.items()}  # fmt: skip

    def samples(self, n: Any, seed: Any, klass: Any = None) -> dict[str, Any]:
        k = whole(n, "n", 1, MAX_IMAGES)
        gen = torch.Generator().manual_seed(whole(seed, "seed", 0, 2**31 - 1))
        f = self.features(klass, k)
        with torch.inference_mode():
            z = self.model.prior.sample(k, gen, f).numpy()
        return {"images": [self.png(x) for x in self.decode(z, klass)]}

    def anomalies(self, n: Any) -> dict[str, Any]:
        """The ``n`` points with the lowest ELBO (the −ELBO anomaly score of vaekit score,
        here with one posterior draw each, computed once)."""
        k = whole(n, "n", 1, MAX_IMAGES)
        if self._anomaly is None:
            self._anomaly = -elbo_terms(self.model, self.rows, seed=0)["elbo"].double().numpy()
        top = np.argsort(-self._anomaly, kind="stable")[:k]
        x = self.rows[top, : self.model.input_dim]
        t = self.run.transform
        x = t.invert(x) if t is not None else x
        return {"index": [int(i) for i in top], "score_nats": [float(self._anomaly[i]) for i in top],
                "images": [self.png(r) for r in x]}  # fmt: skip
