"""The allocator settings: the IS loop stops faulting in fresh pages, with the same numbers."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest
import torch

import vaekit
from vaekit.runtime.allocator import keep_freed_memory

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# A fresh process each time: the settings are once per process. Prints the page faults of a
# second IS run (the first warms up), whose 38 chunks each allocate two 16 MB tensors.
_CHILD = """
import json, resource, torch, vaekit
from vaekit.runtime import keep_freed_memory
keep_freed_memory()  # as the vaekit command and vaekit.train/evaluate do; log_likelihood does not
torch.manual_seed(0)
model = vaekit.VAE(vaekit.ModelConfig(input_dim=784, latent_dim=20, hidden=(400,)))
x = (torch.rand(100, 784) < 0.2).float()
vaekit.log_likelihood(model, x, 500)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
ll = vaekit.log_likelihood(model, x, 2000)
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(json.dumps({"faults": faults, "applied": keep_freed_memory(), "ll": ll.tolist()}))
"""


def _child(keep: bool) -> dict:
    env = {"VAEKIT_KEEP_FREED_MEMORY": "1" if keep else "0", "OMP_NUM_THREADS": "1",
           "PATH": "/usr/bin:/bin"}  # fmt: skip
    out = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.skipif(not GLIBC, reason="the settings exist on glibc only")
def test_chunks_reuse_freed_memory_instead_of_faulting_pages_in():
    kept, default = _child(keep=True), _child(keep=False)
    assert kept["applied"] and not default["applied"]
    # Default glibc: up to two fresh 16 MB blocks a chunk, ~8,000 faults; at least 3,000 a
    # chunk seen. Kept: only when the heap grows (0, ~1,600, ~4,000, ~8,000 seen), not again.
    assert default["faults"] > 60_000, default["faults"]
    assert kept["faults"] < 20_000, kept["faults"]
    assert kept["ll"] == default["ll"]  # memory reuse changes no number


def test_keep_freed_memory_is_idempotent_and_reports_its_state():
    first = keep_freed_memory()
    assert keep_freed_memory() is first
    assert first is (GLIBC and os.environ.get("VAEKIT_KEEP_FREED_MEMORY", "1") != "0")
    model = vaekit.VAE(vaekit.ModelConfig(input_dim=6, latent_dim=2, hidden=(4,)))
    ll = vaekit.log_likelihood(model, (torch.rand(5, 6) < 0.5).float(), 10)
    assert ll.shape == (5,) and torch.isfinite(ll).all()


def test_estimators_leave_malloc_alone_and_training_sets_it(tmp_path):
    # Process-wide settings belong to the entry points that own the work (the vaekit command
    # and vaekit.train), not to log_likelihood or evaluate called from someone's program.
    code = (
        "import sys, torch, vaekit\n"
        "from vaekit.runtime import allocator\n"
        "m = vaekit.VAE(vaekit.ModelConfig(input_dim=6, latent_dim=2, hidden=(4,)))\n"
        "x = (torch.rand(5, 6) < 0.5).float()\n"
        "vaekit.log_likelihood(m, x, 10)\n"
        "vaekit.evaluate(m, x, importance_samples=10)\n"
        "before = allocator._applied\n"
        "vaekit.train(data='digits', epochs=1, hidden='4', latent_dim=2, quiet=True,\n"
        "             out=sys.argv[1])\n"
        "print(before, allocator._applied is not None)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "r")], capture_output=True,
                         text=True, check=True)  # fmt: skip
    assert out.stdout.split() == ["None", "True"]
