"""Pictures: sample grids, reconstructions and heatmaps as PNG files (matplotlib, no pyplot)."""

from __future__ import annotations

from .grids import save_grid, save_reconstructions
from .roc import save_roc

__all__ = ["save_grid", "save_reconstructions", "save_roc"]
