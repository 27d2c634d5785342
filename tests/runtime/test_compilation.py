"""--compile (issue 17): the networks really are compiled, the weights keep their names, a
compiled run trains as the eager one does, and a missing compiler is one line."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import torch
import torch._dynamo.utils as dynamo_utils
from safetensors.numpy import load_file

import vaekit
from vaekit.runtime import compile_networks


def test_the_networks_are_compiled_in_place_and_keep_their_parameter_names():
    torch._dynamo.reset()
    dynamo_utils.counters.clear()
    torch.manual_seed(0)
    m = vaekit.VAE(vaekit.ModelConfig(input_dim=16, latent_dim=2, hidden=(8,), arch="conv",
                                      channels=(4,), image_shape=(4, 4)))  # fmt: skip
    x = (torch.rand(5, 16) > 0.5).float()
    names = list(m.state_dict())
    with torch.no_grad():
        want_q, want_d = m.encode(x).mean, m.decoder_output(torch.ones(5, 2))
    compile_networks(m)
    with torch.no_grad():
        got_q, got_d = m.encode(x).mean, m.decoder_output(torch.ones(5, 2))
    assert dynamo_utils.counters["stats"]["unique_graphs"] >= 2  # encoder and decoder traced
    assert list(m.state_dict()) == names  # checkpoints and weights files read as before
    torch.testing.assert_close(got_q, want_q, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(got_d, want_d, rtol=1e-5, atol=1e-6)


def test_a_compiled_run_trains_as_the_eager_one_and_resumes(tmp_path):
    small = dict(data="digits", hidden="16", latent_dim=3, seed=1, quiet=True)
    eager = vaekit.train(**small, epochs=3, out=tmp_path / "eager")
    torch._dynamo.reset()
    dynamo_utils.counters.clear()
    vaekit.train(**small, epochs=2, out=tmp_path / "comp", compile=True)
    assert dynamo_utils.counters["stats"]["unique_graphs"] >= 2  # it did compile
    done = vaekit.train(**small, epochs=3, out=tmp_path / "comp", compile=True, resume=True)
    assert done.summary["compiled"] and not eager.summary["compiled"]
    assert "forward" not in vars(done.model.encoder)  # the model handed back is eager
    a, b = load_file(tmp_path / "eager" / "model.safetensors"), load_file(
        tmp_path / "comp" / "model.safetensors")  # fmt: skip
    for k in a:  # the same arithmetic up to the order of float sums in fused kernels
        np.testing.assert_allclose(b[k], a[k], rtol=1e-3, atol=1e-4, err_msg=k)


def test_a_missing_compiler_is_one_line_before_anything_is_written(tmp_path):
    env = dict(
        os.environ,
        CXX=str(tmp_path / "no-such-g++"),
        TORCHINDUCTOR_CACHE_DIR=str(tmp_path / "cache"),
    )  # no cached kernels to reuse
    done = subprocess.run([sys.executable, "-m", "vaekit", "train", "--data", "digits",
                           "--compile", "--epochs", "1", "--out", tmp_path / "r"], env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "--compile needs torch.compile's compiler" in done.stderr
    assert "train without --compile" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "r").exists()
