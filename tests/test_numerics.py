import torch

from vaekit.numerics import flush_denormals


def _subnormal_survives() -> bool:
    x = torch.tensor([1e-30], dtype=torch.float32)
    return bool((x * 1e-10) != 0)  # 1e-40 is subnormal in float32


def test_flush_denormals_inside_the_block_only():
    if not torch.set_flush_denormal(False):  # not an x86 CPU with FTZ/DAZ: nothing to test
        return
    assert _subnormal_survives()
    with flush_denormals():
        assert not _subnormal_survives()
        with flush_denormals():  # nested: the inner exit must not switch it off
            pass
        assert not _subnormal_survives()
    assert _subnormal_survives()
