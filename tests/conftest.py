from __future__ import annotations

from pathlib import Path

import pytest
import torch

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    """No test reads the user's cache or reaches a network; the global RNG is pinned."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("VAEKIT_MNIST_URL", (tmp_path / "no-such-mirror").as_uri())
    monkeypatch.delenv("VAEKIT_DATA_DIR", raising=False)
    torch.manual_seed(1234)


@pytest.fixture
def mnist_dir() -> Path:
    if not (SHARED_DATA / "binarized_mnist.npz").is_file():
        pytest.skip(f"binarized MNIST not at {SHARED_DATA}")
    return SHARED_DATA
