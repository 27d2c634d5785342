"""Generating and mapping: ``sample``, ``reconstruct``, ``encode`` and ``decode``."""

from __future__ import annotations

import re
from pathlib import Path

import click
import numpy as np
import torch

from ..data import check_array, read_npy
from ..errors import DataError
from ..inference.expost import (
    class_latents,
    fit_class_mixtures,
    fit_latent_mixture,
    posterior_means,
)
from ..models.conditions import Labels
from ..training import load_run
from ..training.baseline import is_baseline, load_baseline
from ..viz import save_grid, save_reconstructions
from .common import (
    check_output,
    data_options,
    data_range,
    in_data_units,
    run_and_data,
    save_examples,
    save_npy,
)
from .conditional import condition_rows


@click.command()
@click.argument("run_dir")
@click.option("-n", "n", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default="samples.png", show_default=True,
              help="FILE.png (a picture) or FILE.npy (an array in the data's units and shape).")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--noise", is_flag=True, help="Draw x ~ p(x|z) instead of the decoder mean.")
@click.option(
    "--sampler",
    default="prior",
    show_default=True,
    metavar="prior|gmm:K",
    help="Where latents come from: the prior, or a K-component Gaussian mixture fitted "
    "to the training data's posterior means (ex-post density estimation; one mixture per "
    "class for a class-conditional run).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    help="Where built-in data sets live (for --sampler gmm:K; default: the run's).",
)
@click.option("--class", "classes", metavar="C[,C…]",
              help="Class-conditional runs: n samples of each class, one grid row a class.")  # fmt: skip
@click.option("--condition", "vectors", type=click.Path(dir_okay=False), metavar="FILE.npy",
              help="Vector-conditional runs: n samples for each row of FILE.npy.")  # fmt: skip
def sample(run_dir: str, n: int, out: str, seed: int, noise: bool, sampler: str,
           data_dir: str | None, classes: str | None, vectors: str | None) -> None:  # fmt: skip
    """Generate from the prior: decoder means at z ~ p(z)."""
    check_output(Path(out), (".png", ".npy"))  # before any work
    gen = torch.Generator().manual_seed(seed)
    if is_baseline(run_dir):
        _sample_baseline(run_dir, n, Path(out), seed, sampler)
        return
    if sampler == "prior":
        run = load_run(run_dir)
        c = condition_rows(run, classes, vectors, n)  # (M * n, P) or None
        m = n if c is None else c.shape[0]
        x = run.model.sample(m, gen, noise=noise,
                             condition=None if c is None else torch.from_numpy(c)).numpy()  # fmt: skip
        save_examples(run, x, Path(out), ncol=None if c is None else n)
        click.echo(f"wrote {m} samples to {out}")
        return
    run, ds = run_and_data(run_dir, None, data_dir)
    c = condition_rows(run, classes, vectors, n)  # (M * n, P) or None
    if c is not None and not isinstance(run.model.condition, Labels):
        raise click.BadParameter("ex-post sampling (gmm:K) is for unconditional and "
                                 "class-conditional runs", param_hint="--sampler")  # fmt: skip
    train = ds.reader("train", torch.device("cpu"))
    if c is None:
        mixture = fit_latent_mixture(run.model, train, _components(sampler), seed)
        z = mixture.sample(n, seed)  # (n, L)
    else:  # one mixture per class, fitted to that class's codes: p(z|c) ex post
        mixtures = fit_class_mixtures(run.model, train, _components(sampler), seed)
        z = class_latents(mixtures, c[:, 0].astype(np.int64), seed)  # (M * n, L)
    with torch.inference_mode():
        f = None if c is None else run.model.condition.features_of(None, torch.from_numpy(c))
        out_params = run.model.decoder_output(torch.from_numpy(z.astype(np.float32)), f)
        lik = run.model.likelihood
        x = (lik.sample(out_params, gen) if noise else lik.mean(out_params)).numpy()
    save_examples(run, x, Path(out), ncol=None if c is None else n)
    click.echo(f"wrote {x.shape[0]} samples to {out}")


def _sample_baseline(run_dir: str, n: int, out: Path, seed: int, sampler: str) -> None:
    if sampler != "prior":
        raise click.BadParameter("a baseline run samples from its own mixture; --sampler is for "
                                 "VAEs", param_hint="--sampler")  # fmt: skip
    run = load_baseline(run_dir)
    x, shape = run.model.sample(n, seed), run.data.image_shape
    if out.suffix.lower() == ".npy":
        save_npy(x.reshape(n, *shape) if shape else x, out)
    else:
        save_grid(x, out, shape, value_range=run.data.value_range)
    click.echo(f"wrote {n} samples to {out}")


def _components(sampler: str) -> int:
    form = re.fullmatch(r"gmm:(\d+)", sampler)  # the --sampler syntax, not a baseline's name
    if form is None or int(form.group(1)) < 1:
        raise click.BadParameter(f"{sampler!r}: use prior or gmm:K with K a positive whole "
                                 "number, e.g. gmm:10", param_hint="--sampler")  # fmt: skip
    return int(form.group(1))


@click.command()
@click.argument("run_dir")
@data_options
@click.option("-n", "n", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default="reconstructions.png",
              show_default=True)  # fmt: skip
def reconstruct(run_dir: str, data: str | None, data_dir: str | None, split: str, n: int,
                out: str) -> None:  # fmt: skip
    """Originals and their reconstructions (decoder mean at the posterior mean), as a PNG."""
    check_output(Path(out), (".png",))
    run, ds = run_and_data(run_dir, data, data_dir)
    x = torch.from_numpy(ds.inputs(split, slice(0, n)))  # (n, D), c beside x if conditional
    originals, recon = (
        in_data_units(run, a)
        for a in (x[:, : run.model.input_dim].numpy(), run.model.reconstruct(x).numpy())
    )
    save_reconstructions(originals, recon, out, run.config.model.image_shape,
                         value_range=data_range(run))  # fmt: skip
    click.echo(f"wrote {x.shape[0]} originals and reconstructions to {out}")


@click.command()
@click.argument("run_dir")
@data_options
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Z.npy")
def encode(run_dir: str, data: str | None, data_dir: str | None, split: str, out: str) -> None:
    """Posterior means E_q[z|x] of a split, saved as an (N, latent_dim) .npy array."""
    check_output(Path(out), (".npy",))
    run, ds = run_and_data(run_dir, data, data_dir)
    # float32 as the model computes them (posterior_means widens exactly to float64)
    z = posterior_means(run.model, ds.reader(split, run.model.device)).astype(np.float32)
    save_npy(z, Path(out))
    click.echo(f"wrote {z.shape[0]} latent means of dimension {z.shape[1]} to {out}")


@click.command()
@click.argument("run_dir")
@click.option("--latents", type=click.Path(), required=True, help="Z.npy of shape (N, latent_dim).")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="X.npy or X.png")
@click.option("--class", "classes", metavar="C",
              help="Class-conditional runs: decode every latent as this class.")  # fmt: skip
@click.option("--condition", "vectors", type=click.Path(dir_okay=False), metavar="FILE.npy",
              help="Vector-conditional runs: one condition row for all latents, or one each.")  # fmt: skip
def decode(run_dir: str, latents: str, out: str, classes: str | None, vectors: str | None) -> None:
    """Decoder means at given latents, in the data's units and shape."""
    check_output(Path(out), (".png", ".npy"))
    run = load_run(run_dir)
    raw = read_npy(Path(latents))
    L = run.model.latent_dim
    if raw.ndim == 1 and raw.shape[0] == L:
        raw = raw[None]
    if raw.ndim != 2 or raw.shape[1] != L:
        raise DataError(f"{latents} has shape {raw.shape}; this model needs (N, {L}) latents")
    z, _ = check_array(raw, str(latents))  # numeric, non-empty, finite -> float32
    c = condition_rows(run, classes, vectors, 1)  # (M, P) or None
    if c is not None and len(c) not in (1, len(z)):
        raise DataError(f"{vectors or classes}: {len(c)} conditions for {len(z)} latents; give "
                        "one, or one per latent")  # fmt: skip
    cond = run.model.condition
    with torch.inference_mode():
        f = (
            None
            if c is None
            else cond.features_of(  # type: ignore[union-attr]
                None, torch.from_numpy(np.repeat(c, len(z), 0) if len(c) == 1 else c)
            )
        )
        x = run.model.likelihood.mean(run.model.decoder_output(torch.from_numpy(z), f)).numpy()
    save_examples(run, x, Path(out))
    click.echo(f"wrote {x.shape[0]} decoded examples to {out}")
