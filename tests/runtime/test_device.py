"""--device (issue 17): a device is resolved once, and one that is not there is refused in
one line naming what was found and that the CPU works; never a silent CPU fallback."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

import vaekit
from vaekit.runtime import device as dev
from vaekit.runtime import resolve_device


def test_auto_and_cpu_are_the_cpu_without_a_gpu(monkeypatch):
    monkeypatch.setattr(dev, "_cuda_count", lambda: 0)
    assert resolve_device("auto") == resolve_device(None) == torch.device("cpu")
    assert resolve_device(" CPU ") == resolve_device(torch.device("cpu")) == torch.device("cpu")


def test_auto_prefers_a_gpu_and_a_launched_process_takes_its_own(monkeypatch):
    monkeypatch.setattr(dev, "_cuda_count", lambda: 2)
    for var in ("LOCAL_RANK", "WORLD_SIZE"):
        monkeypatch.delenv(var, raising=False)
    assert resolve_device("auto") == torch.device("cuda", 0)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(vaekit.ConfigError, match=r"has 2 CUDA GPU\(s\), cuda:0…cuda:1"):
        resolve_device("cuda:2")
    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")  # torchrun's second process on this machine
    assert resolve_device("cuda") == resolve_device("auto") == torch.device("cuda", 1)
    with pytest.raises(vaekit.ConfigError, match="names one GPU for several processes"):
        resolve_device("cuda:1")  # every process would take that one
    monkeypatch.setenv("LOCAL_RANK", "2")
    with pytest.raises(vaekit.ConfigError, match="process 2 on this machine needs a GPU"):
        resolve_device("cuda")


@pytest.mark.parametrize("name,says", [
    ("cuda", "no CUDA GPU found (torch"), ("cuda:0", "no CUDA GPU found"),
    ("mps", "MPS lacks"), ("gpu", "use auto (a CUDA GPU if there is one"),
    ("cpu:1", "use auto"), ("cuda:-1", "use auto"),
])  # fmt: skip
def test_absent_or_malformed_devices_are_refused_saying_cpu_works(monkeypatch, name, says):
    monkeypatch.setattr(dev, "_cuda_count", lambda: 0)
    with pytest.raises(vaekit.ConfigError) as e:
        resolve_device(name)
    assert says in str(e.value)
    assert "device='cpu' works" in str(e.value) or "use auto" in says  # as Python names it


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_train_on_an_absent_gpu_is_one_line_exit_2_and_writes_nothing(tmp_path):
    done = subprocess.run([sys.executable, "-m", "vaekit", "train", "--data", "digits",
                           "--device", "cuda", "--out", tmp_path / "r"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "--device cuda: no CUDA GPU found" in done.stderr and "--device cpu works" in done.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here (CI has none)")
def test_a_gpu_run_resumes_on_the_cpu(tmp_path):
    a = vaekit.train(data="digits", hidden="16", latent_dim=3, epochs=2, device="cuda",
                     out=tmp_path / "r", quiet=True)  # fmt: skip
    assert a.summary["device"].startswith("cuda")
    b = vaekit.train(out=tmp_path / "r", resume=True, epochs=3, device="cpu", quiet=True)
    assert b.summary["device"] == "cpu" and b.summary["epochs_run"] == 3


def _as_if_taken_on_a_gpu(path, state):
    """Rewrite a checkpoint as a GPU run writes it: a CUDA generator's 16-byte state."""
    import json

    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    with safe_open(path, "pt") as f:
        meta = json.loads(f.metadata()["vaekit"])
    tensors = load_file(path)
    tensors["rng.trainer"] = state
    save_file(tensors, path, metadata={"vaekit": json.dumps(dict(meta, rng_device="cuda"))})


def test_a_checkpoint_of_another_device_resumes_reproducibly_saying_so(tmp_path, capsys):
    small = dict(data="digits", hidden="16", latent_dim=3, seed=1, lr_schedule="constant")
    ends = []
    for name, first in (("a", 0), ("b", 0), ("c", 1)):
        vaekit.train(**small, epochs=2, out=tmp_path / name, quiet=True)
        state = torch.arange(first, first + 16, dtype=torch.uint8)
        _as_if_taken_on_a_gpu(tmp_path / name / "checkpoint.safetensors", state)
        capsys.readouterr()
        run = vaekit.train(out=tmp_path / name, resume=True, epochs=4, quiet=False)
        assert "resumed on cpu from a checkpoint taken on cuda" in capsys.readouterr().err
        assert run.summary["epochs_run"] == 4 and run.summary["device"] == "cpu"
        ends.append(run.model.state_dict())
    for k in ends[0]:  # the new noise stream is drawn from the saved state: the same twice
        torch.testing.assert_close(ends[0][k], ends[1][k], rtol=0, atol=0)
    assert any(not torch.equal(ends[0][k], ends[2][k]) for k in ends[0])  # another state: other
