"""Pictures: sample grids, reconstructions and heatmaps as PNG files (matplotlib, no pyplot)."""

from __future__ import annotations

from .grids import save_grid, save_reconstructions

__all__ = ["save_grid", "save_reconstructions"]
