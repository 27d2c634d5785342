"""The convolutional families: images of any size, and pixels where the likelihood reads them."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import vaekit
from vaekit.models.networks.images import ImageDecoder, ImageEncoder, level_sizes


def _config(shape, arch="conv", **kw):
    kw = {"latent_dim": 3, "hidden": (), "channels": (4, 8), "likelihood": "gaussian-decoded",
          **kw}  # fmt: skip
    return vaekit.ModelConfig(input_dim=math.prod(shape), image_shape=shape, arch=arch, **kw)


def test_sizes_halve_rounding_up():
    assert level_sizes(28, 28, 3) == [(28, 28), (14, 14), (7, 7), (4, 4)]
    assert level_sizes(100, 1, 2) == [(100, 1), (50, 1), (25, 1)]


def test_the_encoder_sees_pixel_h_w_c_where_the_flat_row_has_it():
    cfg = _config((5, 7, 3))
    enc = ImageEncoder(cfg, 6)
    seen = {}
    enc.features[0].register_forward_hook(lambda m, inp, out: seen.update(img=inp[0]))
    x = torch.zeros(1, cfg.input_dim)
    h, w, c = 3, 5, 2
    x[0, (h * 7 + w) * 3 + c] = 1.0  # rows are flattened in (H, W, C) order
    enc(x)
    img = seen["img"]  # (1, C, H, W)
    assert img.shape == (1, 3, 5, 7) and img[0, c, h, w] == 1.0 and img.sum() == 1.0


def test_the_decoder_puts_each_parameter_block_in_the_rows_order():
    cfg = _config((5, 7, 3))  # gaussian-decoded: P = 2 parameters a value (mean, raw σ)
    dec = ImageDecoder(cfg, 2 * cfg.input_dim)
    code = torch.arange(2 * 3 * 5 * 7, dtype=torch.float32).reshape(1, 2 * 3, 5, 7)

    def replace(module, inp, out):
        return code.expand_as(out)  # channel p*C + c at (h, w) holds its own index

    dec.features[-1].register_forward_hook(replace)
    out = dec(torch.zeros(2, 4, 3))  # (S, B, L) latents keep their leading dims
    assert out.shape == (2, 4, 2 * cfg.input_dim)
    flat = out[0, 0].reshape(2, 5, 7, 3)  # (P, H, W, C): what the likelihood reads
    for p, h, w, c in [(0, 0, 0, 0), (1, 4, 6, 2), (0, 2, 3, 1), (1, 0, 5, 0)]:
        assert flat[p, h, w, c] == code[0, p * 3 + c, h, w]


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3), (64, 48, 3), (100, 100, 1),
                                   (256, 256, 1)])  # fmt: skip
@pytest.mark.parametrize("arch", ["conv", "resnet"])
def test_any_size_trains_a_step_and_evaluates(shape, arch, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(12, *shape), dtype=np.uint8)
    run = vaekit.train(data=x, arch=arch, channels="4,8", hidden="", latent_dim=4, epochs=1,
                       batch_size=12, valid_fraction=0.25, likelihood="gaussian-shared",
                       norm="group", out=tmp_path / "r", quiet=True)  # fmt: skip
    assert run.config.model.image_shape == shape and run.summary["epochs_run"] == 1
    res = vaekit.evaluate(run.model, torch.rand(3, math.prod(shape)), importance_samples=4,
                          quiet=True)  # fmt: skip
    assert np.isfinite(res["log_likelihood"])
    assert run.model.sample(2).shape == (2, math.prod(shape))


def test_image_networks_refuse_flat_data():
    with pytest.raises(vaekit.ConfigError, match="needs images"):
        vaekit.ModelConfig(input_dim=30, arch="conv")
    with pytest.raises(vaekit.ConfigError, match="channels"):
        _config((4, 4), channels=())


def test_decoder_width_is_its_widest_feature_map_not_its_output():
    """The IS loop sizes its chunks by it: by the output alone a conv decoder's feature maps
    were 540 MB a chunk, fresh pages each time (issue 15)."""
    from vaekit.inference.importance import CHUNK_ELEMENTS, log_likelihood_batch

    cfg = _config((28, 28, 1), channels=(32, 64), likelihood="bernoulli")
    m = vaekit.VAE(cfg)
    assert m.decoder_width == 32 * 28 * 28  # the transposed conv back to 28x28, 32 channels
    mlp = vaekit.VAE(vaekit.ModelConfig(input_dim=784, hidden=(1000, 300), latent_dim=3))
    assert mlp.decoder_width == 1000
    seen: list[int] = []
    m.decoder.features[-2].register_forward_hook(lambda _m, _i, out: seen.append(out.numel()))
    log_likelihood_batch(m, torch.zeros(100, 784), 200, torch.Generator().manual_seed(0))
    assert max(seen) <= CHUNK_ELEMENTS and len(seen) == 200  # 4M // (100 x 25,088): 1 draw a chunk


def test_evaluation_batches_shrink_for_wide_decoders():
    from vaekit.inference.importance import CHUNK_ELEMENTS, fitting_rows

    conv = vaekit.VAE(_config((28, 28, 1), channels=(32, 64), likelihood="bernoulli"))
    assert fitting_rows(conv, 1000) == CHUNK_ELEMENTS // (32 * 28 * 28) == 167
    assert fitting_rows(conv, 1000, draws=4) == 41
    mlp = vaekit.VAE(vaekit.ModelConfig(input_dim=784, hidden=(512, 512), latent_dim=3))
    assert fitting_rows(mlp, 1000) == 1000  # MLPs keep their batches, and so their numbers
    big = vaekit.VAE(_config((256, 256, 1), channels=(16, 32), likelihood="bernoulli"))
    assert fitting_rows(big, 1000) == 4  # not 1,000 rows of 4 MB feature maps
