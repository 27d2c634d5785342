"""--precision (issue 17): bf16 autocast for the networks only; float32 everywhere else."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

import vaekit
from vaekit import VAE, ModelConfig
from vaekit.runtime.precision import autocast, cpu_flags, native_bf16, resolve_precision

CPU = torch.device("cpu")
NATIVE = pytest.mark.skipif(not native_bf16(CPU), reason="this CPU has no native bf16")
SMALL = dict(data="digits", hidden="16", latent_dim=3, seed=1, quiet=True, lr_schedule="constant")


def test_auto_takes_bf16_only_where_the_hardware_has_it(tmp_path):
    assert resolve_precision("auto", CPU, {"avx512f", "avx512_bf16"}) == "bf16"
    assert resolve_precision("auto", CPU, {"amx_bf16"}) == "bf16"
    assert resolve_precision("auto", CPU, {"avx2", "avx512f"}) == "fp32"
    assert resolve_precision("fp32", CPU, {"avx512_bf16"}) == "fp32"
    assert resolve_precision("bf16", CPU, {"avx512_bf16"}) == "bf16"
    with pytest.raises(vaekit.ConfigError, match="needs hardware bf16.*fp32.* works here"):
        resolve_precision("bf16", CPU, {"avx2"})  # emulated bf16 is slower, not faster
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512_bf16 avx2\n\n")
    assert cpu_flags(info) == {"fpu", "sse2", "avx512_bf16", "avx2"}
    assert cpu_flags(tmp_path / "missing") == set()


@pytest.mark.parametrize("arch,cond", [("mlp", None), ("mlp", "labels"), ("conv", None),
                                       ("resnet", "labels")])  # fmt: skip
def test_networks_run_in_bf16_and_the_terms_in_float32(arch, cond):
    torch.manual_seed(0)
    cfg = dict(condition="labels", condition_classes=("a", "b"), prior="learned") if cond else {}
    if arch != "mlp":
        cfg.update(arch=arch, channels=(4,), image_shape=(4, 4))
    m = VAE(ModelConfig(input_dim=16, latent_dim=2, hidden=(8,), likelihood="bernoulli", **cfg))
    x = (torch.rand(5, 16) > 0.5).float()
    rows = torch.cat([x, torch.zeros(5, 1)], 1) if cond else x
    seen = []
    first = next(l for l in m.decoder.modules() if isinstance(l, torch.nn.Linear))  # noqa: E741
    first.register_forward_hook(lambda mod, args, out: seen.append(out.dtype))
    with autocast("bf16", CPU):
        lj = m(rows, 3)
        kl = lj.kl(lj.z)
    assert seen == [torch.bfloat16]  # the network's products ran in bf16
    for t in (lj.decoder_output, lj.log_likelihood, lj.z, kl, lj.log_prior):
        assert t.dtype == torch.float32
    with autocast("fp32", CPU):
        m(rows, 1)
    assert seen[-1] == torch.float32


@NATIVE
def test_bf16_training_keeps_float32_weights_and_learns_like_fp32(tmp_path):
    fp32 = vaekit.train(out=tmp_path / "fp32", epochs=30, precision="fp32", **SMALL)
    bf16 = vaekit.train(out=tmp_path / "bf16", epochs=30, precision="bf16", **SMALL)
    assert bf16.summary["precision"] == "bf16" and fp32.summary["precision"] == "fp32"
    assert all(
        t.dtype == torch.float32 for t in load_file(tmp_path / "bf16/model.safetensors").values()
    )
    a, b = fp32.summary["best_valid_score"], bf16.summary["best_valid_score"]
    assert abs(a - b) < 0.1, (a, b)  # measured 0.004 nats: the same model, to bf16 rounding
    same = vaekit.train(out=tmp_path / "again", epochs=30, precision="bf16", **SMALL)
    assert same.summary["best_valid_score"] == b  # deterministic in bf16 too


@NATIVE
def test_a_bf16_run_resumes_to_the_same_weights(tmp_path):
    vaekit.train(out=tmp_path / "six", epochs=6, precision="bf16", **SMALL)
    vaekit.train(out=tmp_path / "grown", epochs=3, precision="bf16", **SMALL)
    vaekit.train(out=tmp_path / "grown", epochs=6, resume=True, precision="bf16", **SMALL)
    a, b = (
        load_file(tmp_path / "six/model.safetensors"),
        load_file(tmp_path / "grown/model.safetensors"),
    )
    assert all(torch.equal(a[k], b[k]) for k in a)
