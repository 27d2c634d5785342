import pytest
import torch

from vaekit.runtime.numerics import flush_denormals


def _subnormal_survives() -> bool:
    x = torch.tensor([1e-30], dtype=torch.float32)
    return bool((x * 1e-10) != 0)  # 1e-40 is subnormal in float32


def test_flush_denormals_inside_the_block_only():
    if not torch.set_flush_denormal(False):
        pytest.skip("this CPU has no flush-to-zero mode (FTZ/DAZ) for torch to set")
    assert _subnormal_survives()
    with flush_denormals():
        assert not _subnormal_survives()
        with flush_denormals():  # nested: the inner exit must not switch it off
            pass
        assert not _subnormal_survives()
    assert _subnormal_survives()


def test_process_wide_flush_reaches_the_worker_threads():
    # Per-thread flags: only a process that flushes before torch starts its OpenMP workers gets
    # them all. A fresh interpreter, as the CLI is.
    import subprocess
    import sys

    code = (
        "import torch\n"
        "from vaekit.runtime.numerics import flush_process_wide\n"
        "if not torch.set_flush_denormal(False): print('skip'); raise SystemExit\n"
        "flush_process_wide(); torch.set_num_threads(2)\n"
        "x = torch.full((4_000_000,), 1e-30)\n"
        "print(float(((x * 1e-10) == 0).float().mean()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    if out.stdout.strip() == "skip":
        pytest.skip("this CPU has no flush-to-zero mode (FTZ/DAZ) for torch to set")
    assert float(out.stdout) == 1.0


def test_scoped_flush_reaches_workers_started_before_it_and_is_undone():
    # The library case: torch's OpenMP workers exist (unflushed) before vaekit is called.
    import subprocess
    import sys

    code = (
        "import torch\n"
        "from vaekit.runtime.numerics import _libgomp, flush_denormals\n"
        "if not torch.set_flush_denormal(False) or not _libgomp(): print('skip'); raise SystemExit\n"
        "torch.set_num_threads(2)\n"
        "x = torch.full((4_000_000,), 1e-30)\n"
        "frac = lambda: float(((x * 1e-10) == 0).float().mean())\n"
        "before = frac()\n"
        "with flush_denormals(): inside = frac()\n"
        "print(before, inside, frac())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    if out.stdout.strip() == "skip":
        pytest.skip("no flush-to-zero mode, or torch does not run on GNU OpenMP here")
    assert [float(v) for v in out.stdout.split()] == [0.0, 1.0, 0.0]
